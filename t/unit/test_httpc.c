/* net/httpc: the outbound HTTP client against an in-process evhttp server
 * on loopback: a 200 with its body, headers and a POST body sent, retries
 * until the wanted status, the body bound, a timeout with its retry, a
 * refused connection, a bad URL, cancel (no callback). */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"
#include "net/httpc.h"
#include "tap.h"

static struct event_base *base;
static int flaky_hits, outstanding, cancelled_called;

static void srv_cb(struct evhttp_request *req, void *arg)
{
    (void)arg;
    const char *uri = evhttp_request_get_uri(req);
    struct evbuffer *out = evbuffer_new();
    if (strcmp(uri, "/ok?a=1") == 0) {
        evbuffer_add_printf(out, "hello");
        evhttp_send_reply(req, 200, "OK", out);
    } else if (strcmp(uri, "/echo") == 0) {
        const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "X-Test");
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        evbuffer_add_printf(out, "%s %s|", evhttp_request_get_command(req) == EVHTTP_REQ_POST ? "POST" : "other",
                            h ? h : "-");
        evbuffer_add_buffer(out, in);
        evhttp_send_reply(req, 201, "Created", out);
    } else if (strcmp(uri, "/flaky") == 0) {
        if (++flaky_hits < 3)
            evhttp_send_reply(req, 503, "Busy", out);
        else
            evhttp_send_reply(req, 200, "OK", out);
    } else if (strcmp(uri, "/big") == 0) {
        char *b = calloc(1, 100000);
        evbuffer_add(out, b, 100000);
        free(b);
        evhttp_send_reply(req, 200, "OK", out);
    } else if (strcmp(uri, "/slow") == 0) {
        evbuffer_free(out);
        return;   /* never answered; freed with the connection */
    } else {
        evhttp_send_reply(req, 404, "Not Found", out);
    }
    evbuffer_free(out);
}

typedef struct {
    int called, status, attempts;
    char why[128];
    char body[256];
    size_t body_len;
} outcome;

static void done_cb(const le_httpc_resp *r, void *arg)
{
    outcome *o = arg;
    o->called++;
    o->status = r->status;
    o->attempts = r->attempts;
    snprintf(o->why, sizeof(o->why), "%s", r->why);
    o->body_len = r->body_len;
    size_t n = r->body_len < sizeof(o->body) - 1 ? r->body_len : sizeof(o->body) - 1;
    memcpy(o->body, r->body ? (const char *)r->body : "", n);
    o->body[n] = '\0';
    if (--outstanding == 0)
        event_base_loopexit(base, NULL);
}

static void cancelled_cb(const le_httpc_resp *r, void *arg)
{
    (void)r;
    (void)arg;
    cancelled_called++;
}

static void run(void)
{
    struct timeval tv = { 15, 0 };
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);   /* the server writes to clients that gave up */
    base = event_base_new();
    struct evhttp *http = evhttp_new(base);
    struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0);
    evhttp_set_gencb(http, srv_cb, NULL);
    evutil_socket_t fd = evhttp_bound_socket_get_fd(bs);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    int port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    le_httpc_init(base);

    char url[128];
    outcome ok1 = { 0 }, echo = { 0 }, flaky = { 0 }, big = { 0 }, slow = { 0 }, refused = { 0 }, c404 = { 0 };
    le_httpc_req *rq;
    le_httpc_opts o = { 0 };

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/ok?a=1", port);
    o.url = url;
    ok(le_httpc_request(&o, done_cb, &ok1, &rq) == 0, "GET queued");
    outstanding++;

    static const char *const hdrs[] = { "X-Test: yes", NULL };
    le_httpc_opts e = { 0 };
    char eurl[128];
    snprintf(eurl, sizeof(eurl), "http://127.0.0.1:%d/echo", port);
    e.url = eurl;
    e.method = "POST";
    e.headers = hdrs;
    e.body = "payload";
    e.body_len = 7;
    ok(le_httpc_request(&e, done_cb, &echo, &rq) == 0, "POST queued");
    outstanding++;

    le_httpc_opts f = { 0 };
    char furl[128];
    snprintf(furl, sizeof(furl), "http://127.0.0.1:%d/flaky", port);
    f.url = furl;
    f.retries = 5;
    f.retry_gap_ms = 50;
    f.ok_status = 200;
    le_httpc_request(&f, done_cb, &flaky, &rq);
    outstanding++;

    le_httpc_opts b = { 0 };
    char burl[128];
    snprintf(burl, sizeof(burl), "http://127.0.0.1:%d/big", port);
    b.url = burl;
    b.max_body = 1000;
    le_httpc_request(&b, done_cb, &big, &rq);
    outstanding++;

    le_httpc_opts s = { 0 };
    char surl[128];
    snprintf(surl, sizeof(surl), "http://127.0.0.1:%d/slow", port);
    s.url = surl;
    s.timeout_ms = 300;
    s.retries = 1;
    s.retry_gap_ms = 50;
    le_httpc_request(&s, done_cb, &slow, &rq);
    outstanding++;

    le_httpc_opts r = { 0 };
    r.url = "http://127.0.0.1:1/";
    le_httpc_request(&r, done_cb, &refused, &rq);
    outstanding++;

    le_httpc_opts n4 = { 0 };
    char nurl[128];
    snprintf(nurl, sizeof(nurl), "http://127.0.0.1:%d/nothing", port);
    n4.url = nurl;
    n4.retries = 3;
    le_httpc_request(&n4, done_cb, &c404, &rq);
    outstanding++;

    le_httpc_opts x = { 0 };
    x.url = url;
    le_httpc_req *cq;
    le_httpc_request(&x, cancelled_cb, NULL, &cq);
    le_httpc_cancel(cq);

    le_httpc_opts bad = { 0 };
    bad.url = "ftp://127.0.0.1/";
    ok(le_httpc_request(&bad, done_cb, NULL, &rq) == LE_EINVAL, "ftp:// URL: LE_EINVAL");
    bad.url = url;
    bad.method = "BREW";
    ok(le_httpc_request(&bad, done_cb, NULL, &rq) == LE_EINVAL, "unknown method: LE_EINVAL");
    static const char *const badh[] = { "NoColon", NULL };
    bad.method = NULL;
    bad.headers = badh;
    ok(le_httpc_request(&bad, done_cb, NULL, &rq) == LE_EINVAL, "malformed header: LE_EINVAL");

    run();
    ok(outstanding == 0, "every callback ran");
    ok(ok1.called == 1 && ok1.status == 200 && strcmp(ok1.body, "hello") == 0 && ok1.attempts == 1,
       "GET: 200 with its body, one attempt");
    is_str(echo.body, "POST yes|payload", "POST: method, header and body arrive");
    ok(echo.status == 201, "POST: the server's status");
    ok(flaky.status == 200 && flaky.attempts == 3 && flaky_hits == 3, "503, 503, 200: three attempts, 200");
    ok(big.status == 0 && big.called == 1 && strstr(big.why, "too large") != NULL, "body over max_body: failed");
    ok(slow.status == 0 && slow.attempts == 2 && strstr(slow.why, "no answer") != NULL,
       "no answer: timeout, retried once");
    ok(refused.status == 0 && refused.called == 1 && refused.why[0], "refused connection: status 0 with a reason");
    ok(c404.status == 404 && c404.attempts == 1, "404 without ok_status: final, not retried");
    ok(cancelled_called == 0, "a cancelled request gets no callback");
    le_httpc_stats st;
    le_httpc_get_stats(&st);
    ok(st.inflight == 0 && st.queued == 0, "nothing left in flight or queued");

    le_httpc_free();
    evhttp_free(http);
    event_base_free(base);
    return done_testing();
}
