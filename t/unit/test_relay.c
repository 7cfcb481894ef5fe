/* relay/relay: the backoff (1 s doubling to 30 s, jitter within 3/4..5/4
 * of the step, reset after a stable run), the registry the listing action
 * and /metrics read, and failure accounting. */
#include <stdlib.h>
#include <string.h>

#include "core/metrics.h"
#include "core/util.h"
#include "relay/relay.h"
#include "tap.h"

typedef struct seen {
    int n;
    const le_relay *last;
} seen;

static void count(const le_relay *r, void *arg)
{
    seen *s = arg;
    s->n++;
    s->last = r;
}

int main(void)
{
    /* Backoff steps: 1, 2, 4, 8, 16, 30, 30 s at the middle of the jitter. */
    const int64_t want[] = { 1000, 2000, 4000, 8000, 16000, 30000, 30000 };
    for (uint32_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        is_int((int)le_relay_backoff_ms(i + 1, 0.5), (int)want[i], "backoff step after %u failures", i + 1);
    is_int((int)le_relay_backoff_ms(1000000, 0.5), 30000, "a long outage stays at 30 s");
    is_int((int)le_relay_backoff_ms(1, 0.0), 750, "jitter low end: 3/4 of the step");
    is_int((int)le_relay_backoff_ms(9, 0.99), 30000, "jitter never takes a wait over 30 s");
    is_int((int)le_relay_backoff_ms(9, 0.0), 22500, "the longest step jitters downwards");
    ok(le_relay_backoff_ms(3, 0.999999) < 5000 && le_relay_backoff_ms(3, 0.999999) >= 4999,
       "jitter high end: just under 5/4 of the step");

    /* Registry. */
    le_relay a, b;
    memset(&a, 0xff, sizeof(a));   /* add must not trust what was there */
    a.registered = 0;
    le_relay_add(&a, LE_RELAY_PULL, "play.example.com/live/a");
    le_relay_add(&b, LE_RELAY_PUSH, "play.example.com/live/b");
    seen s = { 0 };
    le_relay_foreach(count, &s);
    is_int(s.n, 2, "two relays listed");
    is_int((int)le_relay_count(LE_RELAY_PULL), 1, "one pull");
    is_int((int)le_relay_count(LE_RELAY_EDGE), 0, "no edge");
    is_str(le_relay_state_name(a.state), "idle", "a new relay is idle");

    /* URL masked when set; a failure backs off, logs, counts. */
    le_relay_set_url(&b, "rtmp://user:pw@cdn.example.com/live/b?txSecret=abc123&txTime=5f5e1000");
    ok(strstr(b.url, "abc123") == NULL && strstr(b.url, "pw@") == NULL, "secret and password masked: %s", b.url);
    ok(strstr(b.url, "txTime=5f5e1000") != NULL, "other query parameters kept");
    le_relay_set_state(&b, LE_RELAY_CONNECTING);
    is_int((int)b.attempts, 1, "an attempt is counted");
    int64_t w1 = le_relay_failed(&b, "refused", "NetStream.Publish.BadName");
    ok(w1 >= 750 && w1 < 1250, "first failure waits about 1 s (%lld)", (long long)w1);
    int64_t w2 = le_relay_failed(&b, "refused", "NetStream.Publish.BadName");
    ok(w2 >= 1500 && w2 < 2500, "second about 2 s (%lld)", (long long)w2);
    is_str(le_relay_state_name(b.state), "backoff", "state backoff");
    is_str(b.last_error, "NetStream.Publish.BadName", "last error kept");
    /* Up for less than LE_RELAY_STABLE_MS: the backoff goes on. */
    le_relay_up(&b);
    int64_t w3 = le_relay_failed(&b, "connect", "connection refused");
    ok(w3 >= 3000 && w3 < 5000, "a short run does not reset the backoff (%lld)", (long long)w3);
    /* Up for longer: it starts again from 1 s. */
    le_relay_up(&b);
    b.since_ms -= LE_RELAY_STABLE_MS + 1;
    int64_t w4 = le_relay_failed(&b, "connect", "connection refused");
    ok(w4 >= 750 && w4 < 1250, "after a stable run the backoff restarts at 1 s (%lld)", (long long)w4);

    /* /metrics: counters by reason, a line per relay with its bytes. */
    b.bytes = 12345;
    le_buf m = { 0 };
    le_metrics_write(&m);
    le_buf_u8(&m, 0);
    const char *t = (const char *)m.p;
    ok(strstr(t, "livedge_relay_failures_total{kind=\"push\",reason=\"refused\"} 2") != NULL,
       "failures counted by kind and reason");
    ok(strstr(t, "livedge_relay_failures_total{kind=\"push\",reason=\"connect\"} 2") != NULL, "second reason");
    ok(strstr(t, "livedge_relays{kind=\"pull\",state=\"idle\"} 1") != NULL, "relays by state");
    ok(strstr(t, "stream=\"play.example.com/live/b\"") != NULL && strstr(t, "} 12345\n") != NULL,
       "bytes per relay");
    ok(strstr(t, "abc123") == NULL, "no secret in /metrics");
    free(m.p);

    /* Many distinct reasons: the table stays bounded ("other"). */
    char reasons[40][16];
    for (int i = 0; i < 40; i++) {
        snprintf(reasons[i], sizeof(reasons[i]), "r%d", i);
        le_relay_failed(&a, reasons[i], "x");
    }
    le_buf m2 = { 0 };
    le_metrics_write(&m2);
    le_buf_u8(&m2, 0);
    ok(strstr((const char *)m2.p, "reason=\"other\"") != NULL, "reasons past the bound count as other");
    free(m2.p);

    le_relay_remove(&a);
    le_relay_remove(&a);   /* twice: nothing */
    s.n = 0;
    le_relay_foreach(count, &s);
    ok(s.n == 1 && s.last == &b, "removed relay unlisted");
    le_relay_remove(&b);
    is_int((int)le_relay_count(LE_RELAY_PUSH), 0, "empty");
    le_metrics_reset();
    return done_testing();
}
