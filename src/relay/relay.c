/* The relay registry, failure accounting and backoff (relay/relay.h). */
#include "relay/relay.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/util.h"
#include "relay/client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MOD "relay"

/* Failure reasons counted in /metrics: the literal pointers given to
 * le_relay_failed, at most REASONS_MAX distinct ones (more share "other"). */
#define REASONS_MAX 32

static struct {
    le_relay *head;
    int metrics_added;
    struct {
        const char *reason;
        uint64_t count[LE_RELAY_KINDS];
    } fail[REASONS_MAX];
    size_t nfail;
    uint64_t attempts[LE_RELAY_KINDS];
} R;

const char *le_relay_kind_name(le_relay_kind k)
{
    switch (k) {
    case LE_RELAY_PULL: return "pull";
    case LE_RELAY_PUSH: return "push";
    case LE_RELAY_EDGE: return "edge";
    default: return "unknown";
    }
}

const char *le_relay_state_name(le_relay_state s)
{
    switch (s) {
    case LE_RELAY_IDLE: return "idle";
    case LE_RELAY_CONNECTING: return "connecting";
    case LE_RELAY_ACTIVE: return "active";
    case LE_RELAY_BACKOFF: return "backoff";
    case LE_RELAY_STOPPING: return "stopping";
    }
    return "unknown";
}

int64_t le_relay_backoff_ms(uint32_t failures, double rnd)
{
    int64_t step = LE_RELAY_BACKOFF_MIN_MS;
    for (uint32_t i = 1; i < failures && step < LE_RELAY_BACKOFF_MAX_MS; i++)
        step *= 2;
    if (step > LE_RELAY_BACKOFF_MAX_MS)
        step = LE_RELAY_BACKOFF_MAX_MS;
    if (rnd < 0 || rnd >= 1)
        rnd = 0.5;
    int64_t wait = (int64_t)((double)step * (0.75 + 0.5 * rnd));
    return wait > LE_RELAY_BACKOFF_MAX_MS ? LE_RELAY_BACKOFF_MAX_MS : wait;
}

static void metrics(le_buf *out);

void le_relay_add(le_relay *r, le_relay_kind kind, const char *stream)
{
    if (!R.metrics_added) {
        le_metrics_add(metrics);
        R.metrics_added = 1;
    }
    if (r->registered)
        le_relay_remove(r);
    memset(r, 0, sizeof(*r));
    r->kind = kind < LE_RELAY_KINDS ? kind : LE_RELAY_PULL;
    snprintf(r->stream, sizeof(r->stream), "%s", stream ? stream : "");
    r->since_ms = (uint64_t)le_wall_ms();
    r->next = R.head;
    if (R.head)
        R.head->prev = r;
    R.head = r;
    r->registered = 1;
}

void le_relay_remove(le_relay *r)
{
    if (!r->registered)
        return;
    if (r->prev)
        r->prev->next = r->next;
    else
        R.head = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->prev = r->next = NULL;
    r->registered = 0;
}

void le_relay_set_state(le_relay *r, le_relay_state s)
{
    if (s == LE_RELAY_CONNECTING) {
        r->attempts++;
        R.attempts[r->kind]++;
    }
    if (r->state != s)
        r->since_ms = (uint64_t)le_wall_ms();
    r->state = s;
}

void le_relay_set_url(le_relay *r, const char *url)
{
    le_relay_mask_url(url ? url : "", r->url, sizeof(r->url));
}

static void count_failure(le_relay_kind kind, const char *reason)
{
    size_t i;
    for (i = 0; i < R.nfail; i++)
        if (strcmp(R.fail[i].reason, reason) == 0)
            break;
    if (i == R.nfail) {
        if (R.nfail < REASONS_MAX - 1) {
            R.fail[R.nfail++].reason = reason;
        } else {
            i = REASONS_MAX - 1;   /* past the bound: one "other" slot */
            R.fail[i].reason = "other";
            R.nfail = REASONS_MAX;
        }
    }
    R.fail[i].count[kind]++;
}

int64_t le_relay_failed(le_relay *r, const char *reason, const char *why)
{
    uint64_t now = (uint64_t)le_wall_ms();
    /* A relay that had been up for a while starts its backoff again. */
    if (r->state == LE_RELAY_ACTIVE && now - r->since_ms >= LE_RELAY_STABLE_MS)
        r->failures = 0;
    r->failures++;
    snprintf(r->last_error, sizeof(r->last_error), "%s", why && *why ? why : reason);
    count_failure(r->kind, reason ? reason : "other");
    int64_t wait = le_relay_backoff_ms(r->failures, (double)arc4random() / 4294967296.0);
    le_warn(MOD, "%s %s %s: %s (retry in %lld ms)", le_relay_kind_name(r->kind), r->stream, r->url,
            r->last_error, (long long)wait);
    le_relay_set_state(r, LE_RELAY_BACKOFF);
    return wait;
}

void le_relay_up(le_relay *r)
{
    le_relay_set_state(r, LE_RELAY_ACTIVE);
}

void le_relay_foreach(le_relay_iter_fn fn, void *arg)
{
    for (le_relay *r = R.head, *next; r; r = next) {
        next = r->next;
        fn(r, arg);
    }
}

size_t le_relay_count(le_relay_kind k)
{
    size_t n = 0;
    for (le_relay *r = R.head; r; r = r->next)
        n += r->kind == k;
    return n;
}

/* A Prometheus label value: backslash, quote and newline escaped. */
static void put_label(le_buf *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            le_buf_printf(out, "\\%c", *s);
        else if (*s == '\n')
            le_buf_printf(out, "\\n");
        else
            le_buf_printf(out, "%c", *s);
    }
}

static void metrics(le_buf *out)
{
    le_buf_printf(out, "# HELP livedge_relays Relays (pull, push, edge) by state.\n"
                       "# TYPE livedge_relays gauge\n");
    for (int k = 0; k < LE_RELAY_KINDS; k++)
        for (int s = LE_RELAY_IDLE; s <= LE_RELAY_STOPPING; s++) {
            size_t n = 0;
            for (le_relay *r = R.head; r; r = r->next)
                n += r->kind == (le_relay_kind)k && r->state == (le_relay_state)s;
            le_buf_printf(out, "livedge_relays{kind=\"%s\",state=\"%s\"} %zu\n", le_relay_kind_name(k),
                          le_relay_state_name(s), n);
        }
    le_buf_printf(out, "# HELP livedge_relay_attempts_total Relay connection attempts.\n"
                       "# TYPE livedge_relay_attempts_total counter\n");
    for (int k = 0; k < LE_RELAY_KINDS; k++)
        le_buf_printf(out, "livedge_relay_attempts_total{kind=\"%s\"} %llu\n", le_relay_kind_name(k),
                      (unsigned long long)R.attempts[k]);
    le_buf_printf(out, "# HELP livedge_relay_failures_total Relay failures by reason.\n"
                       "# TYPE livedge_relay_failures_total counter\n");
    for (size_t i = 0; i < R.nfail; i++)
        for (int k = 0; k < LE_RELAY_KINDS; k++)
            if (R.fail[i].count[k])
                le_buf_printf(out, "livedge_relay_failures_total{kind=\"%s\",reason=\"%s\"} %llu\n",
                              le_relay_kind_name(k), R.fail[i].reason, (unsigned long long)R.fail[i].count[k]);
    le_buf_printf(out, "# HELP livedge_relay_bytes_total Bytes moved by each relay (in for pull/edge, out for push).\n"
                       "# TYPE livedge_relay_bytes_total counter\n");
    for (le_relay *r = R.head; r; r = r->next) {
        le_buf_printf(out, "livedge_relay_bytes_total{kind=\"%s\",stream=\"", le_relay_kind_name(r->kind));
        put_label(out, r->stream);
        le_buf_printf(out, "\",url=\"");
        put_label(out, r->url);
        le_buf_printf(out, "\",state=\"%s\"} %llu\n", le_relay_state_name(r->state), (unsigned long long)r->bytes);
    }
}
