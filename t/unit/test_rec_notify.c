/* record/notify: the callback bodies exactly, then delivery on a loop
 * against an in-process evhttp server on loopback: a file callback that
 * meets 500, 500, 200 (exactly one success, the body and the signature the
 * server got), the next event of the same stream only after it, another
 * stream not held back, one given up after 1 + 5 attempts, a bad URL, and
 * the queue bound. */
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/notify.h"
#include "core/err.h"
#include "core/util.h"
#include "record/notify.h"
#include "http_helpers.h"
#include "tap.h"

#define FILE_BODY \
    "{\"domain\":\"live.example.com\",\"app\":\"app\",\"stream\":\"s1\",\"uri\":\"record/app/s1/a.flv\"," \
    "\"duration\":12.345,\"start_time\":1700000000,\"stop_time\":1700000012}"

static void test_json(void)
{
    le_buf b = { 0 };
    le_recn_file_json(&b, "live.example.com", "app", "s1", "record/app/s1/a.flv", 12345, 1700000000, 1700000012);
    le_buf_u8(&b, 0);
    is_str((const char *)b.p, FILE_BODY, "file body");
    b.len = 0;
    le_recn_file_json(&b, "d", "a", "s", "k.mp4", 5, 1, 2);
    le_buf_u8(&b, 0);
    is_str((const char *)b.p,
           "{\"domain\":\"d\",\"app\":\"a\",\"stream\":\"s\",\"uri\":\"k.mp4\",\"duration\":0.005,"
           "\"start_time\":1,\"stop_time\":2}", "5 ms -> 0.005");
    b.len = 0;
    le_recn_file_json(&b, "d", "a", "s", "k.mp4", 3600000, 0, 3600);
    le_buf_u8(&b, 0);
    is_str((const char *)b.p,
           "{\"domain\":\"d\",\"app\":\"a\",\"stream\":\"s\",\"uri\":\"k.mp4\",\"duration\":3600.000,"
           "\"start_time\":0,\"stop_time\":3600}", "one hour -> 3600.000");
    b.len = 0;
    le_recn_file_json(&b, "d", "a", "s\"q\\", "k", -7, 10, 10);
    le_buf_u8(&b, 0);
    is_str((const char *)b.p,
           "{\"domain\":\"d\",\"app\":\"a\",\"stream\":\"s\\\"q\\\\\",\"uri\":\"k\",\"duration\":0.000,"
           "\"start_time\":10,\"stop_time\":10}", "escaped strings, negative duration -> 0.000");
    b.len = 0;
    le_recn_status_json(&b, "live.example.com", "app", "s1", "record_paused");
    le_buf_u8(&b, 0);
    is_str((const char *)b.p,
           "{\"domain\":\"live.example.com\",\"app\":\"app\",\"stream\":\"s1\",\"event\":\"record_paused\"}",
           "status body");
    le_buf_free(&b);
}

/* ---- delivery ---- */

#define MAXHITS 64
typedef struct {
    char path[32];
    char body[512];
    char sig[40], ts[24], ctype[64];
    int status;
} hit;

static struct event_base *base;
static hit hits[MAXHITS];
static int nhits, flaky_n;

static void srv_cb(struct evhttp_request *req, void *arg)
{
    (void)arg;
    const char *uri = evhttp_request_get_uri(req);
    struct evkeyvalq *h = evhttp_request_get_input_headers(req);
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    int status = 200;
    if (strncmp(uri, "/flaky", 6) == 0 && ++flaky_n <= 2)
        status = 500;
    if (strncmp(uri, "/fail", 5) == 0)
        status = 500;
    if (nhits < MAXHITS) {
        hit *x = &hits[nhits++];
        const char *s = evhttp_find_header(h, "ALI-LIVE-SIGNATURE"), *t = evhttp_find_header(h, "ALI-LIVE-TIMESTAMP"),
                   *c = evhttp_find_header(h, "Content-Type");
        snprintf(x->path, sizeof(x->path), "%s", uri);
        size_t n = evbuffer_get_length(in);
        if (n >= sizeof(x->body))
            n = sizeof(x->body) - 1;
        evbuffer_copyout(in, x->body, n);
        x->body[n] = '\0';
        snprintf(x->sig, sizeof(x->sig), "%s", s ? s : "");
        snprintf(x->ts, sizeof(x->ts), "%s", t ? t : "");
        snprintf(x->ctype, sizeof(x->ctype), "%s", c ? c : "");
        x->status = evhttp_request_get_command(req) == EVHTTP_REQ_POST ? status : -1;
    }
    struct evbuffer *out = evbuffer_new();
    evhttp_send_reply(req, status, status == 200 ? "OK" : "Oops", out);
    evbuffer_free(out);
}

static void poll_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    if (le_recn_pending() == 0)
        event_base_loopexit(base, NULL);
    else
    {
        struct timeval tv = { 0, 50000 };
        evtimer_add((struct event *)arg, &tv);
    }
}

static int find(const char *path_prefix, const char *body_part, int from)
{
    for (int i = from; i < nhits; i++)
        if (strncmp(hits[i].path, path_prefix, strlen(path_prefix)) == 0 && strstr(hits[i].body, body_part))
            return i;
    return -1;
}

static void test_delivery(void)
{
    signal(SIGPIPE, SIG_IGN);
    base = event_base_new();
    int port;
    struct evhttp *http = test_http_server(base, srv_cb, &port);
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
    le_recn_init(base);

    char flaky[128], okurl[128], fail[128];
    snprintf(flaky, sizeof(flaky), "http://127.0.0.1:%d/flaky?x=1", port);
    snprintf(okurl, sizeof(okurl), "http://127.0.0.1:%d/ok", port);
    snprintf(fail, sizeof(fail), "http://127.0.0.1:%d/fail", port);

    /* stream s1: a file (500, 500, 200), then an event that must wait for it */
    is_int(le_recn_file(flaky, "k1", "live.example.com", "app", "s1", "record/app/s1/a.flv", 12345, 1700000000,
                        1700000012), LE_OK, "file callback queued");
    is_int(le_recn_status(okurl, "k1", "live.example.com", "app", "s1", "record_paused"), LE_OK,
           "status event of the same stream queued");
    /* stream s2: not held back by s1 */
    is_int(le_recn_status(okurl, NULL, "live.example.com", "app", "s2", "record_started"), LE_OK,
           "status event of another stream queued");
    /* stream s3: never answered 200 */
    is_int(le_recn_status(fail, NULL, "live.example.com", "app", "s3", "record_started"), LE_OK,
           "callback to a failing server queued");
    is_int(le_recn_file("ftp://127.0.0.1/", NULL, "d", "a", "s", "k", 1, 1, 1), LE_EINVAL, "ftp:// URL: LE_EINVAL");
    is_int(le_recn_status("", NULL, "d", "a", "s", "record_started"), LE_EINVAL, "empty URL: LE_EINVAL");
    is_int((long long)le_recn_pending(), 4, "4 pending");

    struct event *poll = event_new(base, -1, 0, poll_cb, NULL);
    event_assign(poll, base, -1, 0, poll_cb, poll);
    struct timeval tv0 = { 0, 50000 };
    evtimer_add(poll, &tv0);
    uint64_t t0 = le_mono_ms();
    struct timeval tv = { 20, 0 };
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
    uint64_t took = le_mono_ms() - t0;
    event_free(poll);

    is_int((long long)le_recn_pending(), 0, "nothing pending after %llu ms", (unsigned long long)took);
    int f1 = find("/flaky", "a.flv", 0), f2 = f1 >= 0 ? find("/flaky", "a.flv", f1 + 1) : -1,
        f3 = f2 >= 0 ? find("/flaky", "a.flv", f2 + 1) : -1, f4 = f3 >= 0 ? find("/flaky", "", f3 + 1) : -1;
    ok(f1 >= 0 && f2 >= 0 && f3 >= 0 && f4 < 0, "file callback: three attempts, no fourth");
    ok(f1 >= 0 && f2 >= 0 && f3 >= 0 && hits[f1].status == 500 && hits[f2].status == 500 && hits[f3].status == 200,
       "  500, 500, then one 200");
    if (f3 >= 0) {
        hit *x = &hits[f3];
        is_str(x->body, FILE_BODY, "  the body received exactly");
        is_str(x->path, "/flaky?x=1", "  to the URL's path and query");
        is_str(x->ctype, "application/json", "  Content-Type: application/json");
        int64_t ts = strtoll(x->ts, NULL, 10), now = le_wall_ms() / 1000;
        ok(ts > now - 60 && ts <= now, "  ALI-LIVE-TIMESTAMP is now (%s)", x->ts);
        char want[33];
        le_notify_sign("live.example.com", ts, "k1", want);
        is_str(x->sig, want, "  ALI-LIVE-SIGNATURE = md5hex(domain|timestamp|key)");
        char again[33];
        le_notify_sign("live.example.com", strtoll(hits[f1].ts, NULL, 10), "k1", again);
        is_str(hits[f1].sig, again, "  the first attempt signed too");
    }
    int p1 = find("/ok", "record_paused", 0), s2 = find("/ok", "\"s2\"", 0);
    ok(p1 >= 0 && f3 >= 0 && p1 > f3, "the stream's next event arrives after the file callback succeeded");
    ok(p1 >= 0 && find("/ok", "record_paused", p1 + 1) < 0, "  exactly once");
    if (p1 >= 0)
        is_str(hits[p1].body,
               "{\"domain\":\"live.example.com\",\"app\":\"app\",\"stream\":\"s1\",\"event\":\"record_paused\"}",
               "  its body");
    ok(s2 >= 0 && f2 >= 0 && s2 < f2, "another stream's event is not held back (before the first retry)");
    ok(s2 >= 0 && hits[s2].sig[0] == 0 && hits[s2].ts[0] == 0, "  no key: not signed");
    int nfail = 0;
    for (int i = 0; i < nhits; i++)
        nfail += strncmp(hits[i].path, "/fail", 5) == 0;
    is_int(nfail, 1 + LE_NOTIFY_RETRIES, "a failing server gets 1 + 5 attempts");
    ok(took >= 4500 && took < 15000, "  given up after the retries, 1 s apart (%llu ms)", (unsigned long long)took);
    le_recn_stats st;
    le_recn_get_stats(&st);
    ok(st.sent == 3 && st.failed == 1 && st.dropped == 0, "stats: 3 sent, 1 failed, 0 dropped");

    /* the bound: one stream, LE_RECN_MAX_QUEUED + 1 callbacks (none can go
     * out: the loop does not run) */
    for (int i = 0; i <= LE_RECN_MAX_QUEUED; i++)
        le_recn_status(okurl, NULL, "d", "a", "bound", "record_started");
    le_recn_get_stats(&st);
    is_int(st.dropped, 1, "queue bound: the oldest unsent dropped");
    is_int((long long)le_recn_pending(), LE_RECN_MAX_QUEUED, "  LE_RECN_MAX_QUEUED pending");
    le_recn_free();
    is_int((long long)le_recn_pending(), 0, "free: nothing pending");
    evhttp_free(http);
    event_base_free(base);
}

int main(void)
{
    test_json();
    test_delivery();
    return done_testing();
}
