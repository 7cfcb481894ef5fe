/* The admin port machinery (src/admin/server.c) over real loopback sockets:
 * a forked child runs the server with test-only Actions registered here, the
 * parent is the client. The child must exit 0 on SIGTERM, which under the
 * sanitizer build also means no leak and no use-after-free (a reply to a
 * client that went away included). Requests are signed with sign.c; sign.c
 * itself is checked against the API reference's vector in test_sign, and the whole
 * path against an independent signer (python) and the official SDK in
 * t/integration/40-admin-api.sh. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/metrics.h"
#include "admin/admin.h"
#include "admin/form.h"
#include "admin/sign.h"
#include "conf/conf.h"
#include "core/log.h"
#include "core/util.h"
#include "tap.h"

#define AK "testid"
#define SK "testsecret"

/* ---- server side (child) ---- */

static struct event_base *base;
static le_conf *open_conf, *keyed;   /* globals: still reachable when a child exits */

static void h_echo(le_admin_req *r)
{
    const char *name;
    if (le_admin_require(r, "Name", &name) != 0)
        return;
    le_jv *o = le_jv_obj();
    le_jv_set_str(o, "Name", name);
    le_jv *items = le_jv_set_arr(le_jv_set_obj(o, "Items"), "Item");
    le_jv_push_str(items, "a");
    le_jv_push_str(items, "b");
    le_admin_reply(r, o);
}

static void h_error(le_admin_req *r)
{
    le_admin_error(r, 409, "Test.Conflict", "conflict <&>");
}

static void later_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    le_admin_req *r = arg;
    le_jv *o = le_jv_obj();
    le_jv_set_str(o, "Later", le_admin_param(r, "Tag"));
    le_admin_reply(r, o);
}

static void reply_in(le_admin_req *r, int ms)
{
    struct timeval tv = { 0, ms * 1000 };
    event_base_once(base, -1, EV_TIMEOUT, later_cb, r, &tv);
}

static void h_async(le_admin_req *r) { reply_in(r, 100); }
static void h_slow(le_admin_req *r) { reply_in(r, 400); }

static void test_metrics(le_buf *out)
{
    le_buf_printf(out, "# TYPE test_metric gauge\ntest_metric 7\n");
}

static void term_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    le_admin_shutdown();
    /* Let the pending slow replies (dropped) fire and free their requests. */
    struct timeval tv = { 0, 600000 };
    event_base_loopexit(base, &tv);
}

/* Forks a server on 127.0.0.1:0 with conf c; returns the child's pid. The
 * child sets everything up itself (an event base must not be shared across
 * fork: the epoll instance would be) and reports its port through a pipe. */
static pid_t start_server(le_conf *c, int *port)
{
    int pfd[2];
    if (pipe(pfd) != 0) {
        printf("Bail out! pipe\n");
        exit(1);
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char err[256];
        close(pfd[0]);
        le_log_level = LE_LOG_DEBUG;
        base = event_base_new();
        le_admin_set_conf(c);
        le_admin_register("TestEcho", h_echo);
        le_admin_register("TestError", h_error);
        le_admin_register("TestAsync", h_async);
        le_admin_register("TestSlow", h_slow);
        le_metrics_add(test_metrics);
        int p = -1;
        if (le_admin_listen(base, "127.0.0.1:0", err, sizeof(err)) != 0)
            fprintf(stderr, "listen: %s\n", err);
        else
            p = le_admin_port();
        if (write(pfd[1], &p, sizeof(p)) != (ssize_t)sizeof(p))
            exit(2);
        close(pfd[1]);
        struct event *sig = evsignal_new(base, SIGTERM, term_cb, NULL);
        evsignal_add(sig, NULL);
        event_base_dispatch(base);
        event_free(sig);
        event_base_free(base);
        exit(0);
    }
    close(pfd[1]);
    *port = -1;
    if (read(pfd[0], port, sizeof(*port)) != (ssize_t)sizeof(*port) || *port <= 0) {
        printf("Bail out! the server did not start\n");
        exit(1);
    }
    close(pfd[0]);
    return pid;
}

static int stop_server(pid_t pid)
{
    int st = 0;
    kill(pid, SIGTERM);
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ---- client side (parent) ---- */

typedef struct client {
    int fd;
    char buf[256 * 1024];
    size_t len;
} client;

typedef struct resp {
    int status;
    char ctype[128];
    char conn[32];
    char rid[64];
    char body[64 * 1024];
    size_t blen;
} resp;

static int port_g;

static client *cl_open(void)
{
    client *c = calloc(1, sizeof(*c));
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port_g) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = { 5, 0 };
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        printf("Bail out! connect: %s\n", strerror(errno));
        exit(1);
    }
    return c;
}

static void cl_close(client *c)
{
    close(c->fd);
    free(c);
}

static void cl_send(client *c, const char *s, size_t n)
{
    while (n) {
        ssize_t k = write(c->fd, s, n);
        if (k <= 0)
            return;
        s += k;
        n -= (size_t)k;
    }
}

static int hdr(const char *head, const char *name, char *out, size_t outsz)
{
    size_t nl = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p && p[2] != '\r'; p = strstr(p + 2, "\r\n")) {
        if (strncasecmp(p + 2, name, nl) == 0 && p[2 + nl] == ':') {
            const char *v = p + 3 + nl;
            while (*v == ' ')
                v++;
            const char *e = strstr(v, "\r\n");
            snprintf(out, outsz, "%.*s", (int)(e - v), v);
            return 0;
        }
    }
    out[0] = '\0';
    return -1;
}

/* Reads one response; -1 on EOF/timeout before a whole one. */
static int cl_read(client *c, resp *r)
{
    memset(r, 0, sizeof(*r));
    for (;;) {
        c->buf[c->len] = '\0';
        char *end = strstr(c->buf, "\r\n\r\n");
        if (end) {
            size_t hl = (size_t)(end - c->buf) + 4;
            char cl[32];
            *end = '\0';
            hdr(c->buf, "Content-Length", cl, sizeof(cl));
            *end = '\r';
            size_t bl = (size_t)atol(cl);
            if (c->len >= hl + bl) {
                char save = c->buf[hl - 2];
                c->buf[hl - 2] = '\0';
                r->status = atoi(c->buf + 9);
                hdr(c->buf, "Content-Type", r->ctype, sizeof(r->ctype));
                hdr(c->buf, "Connection", r->conn, sizeof(r->conn));
                hdr(c->buf, "x-acs-request-id", r->rid, sizeof(r->rid));
                c->buf[hl - 2] = save;
                r->blen = bl < sizeof(r->body) - 1 ? bl : sizeof(r->body) - 1;
                memcpy(r->body, c->buf + hl, r->blen);
                r->body[r->blen] = '\0';
                memmove(c->buf, c->buf + hl + bl, c->len - hl - bl);
                c->len -= hl + bl;
                return 0;
            }
        }
        if (c->len + 1 >= sizeof(c->buf))
            return -1;
        ssize_t k = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
        if (k <= 0)
            return -1;
        c->len += (size_t)k;
    }
}

/* 1 if the server closed the connection (EOF) within the receive timeout. */
static int cl_eof(client *c)
{
    char t[64];
    return read(c->fd, t, sizeof(t)) == 0;
}

/* One request on a fresh connection. */
static int roundtrip(const char *req, resp *r)
{
    client *c = cl_open();
    cl_send(c, req, strlen(req));
    int rc = cl_read(c, r);
    cl_close(c);
    return rc;
}

static void utc(char out[32], int64_t offset_s)
{
    time_t t = time(NULL) + offset_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Builds a signed query from "k=v" words (NULL-terminated), adding the
 * common parameters unless one of the words names them. */
static char *signed_query(const char *method, const char *secret, const char *const *kv)
{
    static int nonce_n;
    char nonce[64], ts[32];
    snprintf(nonce, sizeof(nonce), "nonce-%d-%ld", ++nonce_n, (long)getpid());
    utc(ts, 0);
    const char *defaults[][2] = {
        { "AccessKeyId", AK }, { "SignatureMethod", "HMAC-SHA1" }, { "SignatureVersion", "1.0" },
        { "SignatureNonce", nonce }, { "Timestamp", ts }, { "Version", "2016-11-01" },
        { "Format", "JSON" },
    };
    le_sign_param p[32];
    size_t n = 0;
    for (size_t i = 0; kv[i]; i++) {
        const char *eq = strchr(kv[i], '=');
        p[n++] = (le_sign_param){ kv[i], (size_t)(eq - kv[i]), eq + 1, strlen(eq + 1) };
    }
    for (size_t d = 0; d < sizeof(defaults) / sizeof(defaults[0]); d++) {
        int given = 0;
        for (size_t i = 0; kv[i]; i++)
            if (strncmp(kv[i], defaults[d][0], strlen(defaults[d][0])) == 0 &&
                kv[i][strlen(defaults[d][0])] == '=')
                given = 1;
        if (!given)
            p[n++] = (le_sign_param){ defaults[d][0], strlen(defaults[d][0]), defaults[d][1],
                                      strlen(defaults[d][1]) };
    }
    char sig[LE_SIGN_B64_LEN + 1];
    le_sign_compute(secret, method, p, n, sig);
    le_buf q = { 0 };
    for (size_t i = 0; i < n; i++) {
        le_sign_pct_encode(&q, p[i].name, p[i].nlen);
        le_buf_u8(&q, '=');
        le_sign_pct_encode(&q, p[i].value, p[i].vlen);
        le_buf_u8(&q, '&');
    }
    le_buf_append(&q, "Signature=", 10);
    le_sign_pct_encode(&q, sig, strlen(sig));
    le_buf_u8(&q, 0);
    return (char *)q.p;
}

static char *get_req(const char *query)
{
    static char b[8192];
    snprintf(b, sizeof(b), "GET /?%s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", query);
    return b;
}

/* A signed GET with the given parameters. */
static int call(const char *secret, const char *const *kv, resp *r)
{
    char *q = signed_query("GET", secret, kv);
    int rc = roundtrip(get_req(q), r);
    free(q);
    return rc;
}

static int is_uuid(const char *s)
{
    if (strlen(s) != 36)
        return 0;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return 0;
        } else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'F'))) {
            return 0;
        }
    }
    return s[14] == '4';
}

#define KV(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* Sends a signed TestSlow (answered after 400 ms) and hangs up after
 * wait_us, before the answer. */
static void slow_and_leave(const char *tag_kv, useconds_t wait_us)
{
    client *c = cl_open();
    char *q = signed_query("GET", SK, KV("Action=TestSlow", tag_kv));
    cl_send(c, get_req(q), strlen(get_req(q)));
    free(q);
    usleep(wait_us);
    cl_close(c);
}

static void expect_error(resp *r, int status, const char *code, const char *what)
{
    char want[160];
    snprintf(want, sizeof(want), "\"Code\":\"%s\"", code);
    ok(r->status == status && strstr(r->body, want) != NULL, "%s: %d %s", what, status, code);
    if (!(r->status == status && strstr(r->body, want)))
        printf("#   got %d %s\n", r->status, r->body);
}

static void test_signed_server(void)
{
    resp r;
    char want[256];

    ok(call(SK, KV("Action=TestEcho", "Name=cam 1/\xe4\xb8\xad"), &r) == 0 && r.status == 200,
       "signed GET: 200");
    is_str(r.ctype, "application/json;charset=utf-8", "JSON content type");
    ok(strncmp(r.body, "{\"RequestId\":\"", 14) == 0 && r.body[50] == '"', "RequestId first");
    char rid[37];
    snprintf(rid, sizeof(rid), "%.36s", r.body + 14);
    ok(is_uuid(rid), "RequestId is a v4-shaped upper-case UUID (%s)", rid);
    is_str(r.rid, rid, "x-acs-request-id header carries the RequestId");
    snprintf(want, sizeof(want),
             "{\"RequestId\":\"%s\",\"Name\":\"cam 1/\xe4\xb8\xad\",\"Items\":{\"Item\":[\"a\",\"b\"]}}", rid);
    is_str(r.body, want, "JSON body: result fields beside RequestId, decoded value");
    is_str(r.conn, "keep-alive", "HTTP/1.1 stays keep-alive");

    call(SK, KV("Action=TestEcho", "Name=x", "Format=XML"), &r);
    is_str(r.ctype, "text/xml;charset=utf-8", "Format=XML: XML content type");
    snprintf(want, sizeof(want),
             "<?xml version='1.0' encoding='UTF-8'?><TestEchoResponse><RequestId>%.36s</RequestId>"
             "<Name>x</Name><Items><Item>a</Item><Item>b</Item></Items></TestEchoResponse>",
             strstr(r.body, "<RequestId>") ? strstr(r.body, "<RequestId>") + 11 : "");
    is_str(r.body, want, "XML body: root <ActionResponse>, list items repeated");

    char *q = signed_query("GET", SK, KV("Action=TestEcho", "Name=x", "Format=xml"));
    roundtrip(get_req(q), &r);
    free(q);
    ok(strncmp(r.body, "<?xml", 5) == 0, "Format=xml (any case) is XML");

    /* No Format at all: the default is XML (the API's common parameters). */
    le_sign_param p[] = {
        { "Action", 6, "TestEcho", 8 }, { "Name", 4, "d", 1 }, { "AccessKeyId", 11, AK, 6 },
        { "SignatureMethod", 15, "HMAC-SHA1", 9 }, { "SignatureVersion", 16, "1.0", 3 },
        { "SignatureNonce", 14, "no-format-nonce", 15 }, { "Timestamp", 9, NULL, 20 },
    };
    char ts[32], sig[LE_SIGN_B64_LEN + 1], req[1024];
    utc(ts, 0);
    p[6].value = ts;
    le_sign_compute(SK, "GET", p, 7, sig);
    le_buf e = { 0 };
    le_sign_pct_encode(&e, sig, strlen(sig));
    le_buf_u8(&e, 0);
    char ets[64];
    snprintf(ets, sizeof(ets), "%.4s-%.2s-%.2sT%.2s%%3A%.2s%%3A%.2sZ", ts, ts + 5, ts + 8, ts + 11, ts + 14, ts + 17);
    snprintf(req, sizeof(req),
             "GET /?Action=TestEcho&Name=d&AccessKeyId=" AK "&SignatureMethod=HMAC-SHA1&SignatureVersion=1.0"
             "&SignatureNonce=no-format-nonce&Timestamp=%s&Signature=%s HTTP/1.1\r\nHost: x\r\n\r\n",
             ets, (char *)e.p);
    le_buf_free(&e);
    roundtrip(req, &r);
    ok(r.status == 200 && strncmp(r.body, "<?xml version='1.0' encoding='UTF-8'?><TestEchoResponse>", 56) == 0,
       "no Format: XML (Version optional)");

    /* POST with a form body, signed with POST. */
    q = signed_query("POST", SK, KV("Action=TestEcho", "Name=post body"));
    char post[8192];
    snprintf(post, sizeof(post),
             "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
             "Content-Length: %zu\r\n\r\n%s", strlen(q), q);
    roundtrip(post, &r);
    ok(r.status == 200 && strstr(r.body, "\"Name\":\"post body\""), "signed POST form body: 200");
    snprintf(post, sizeof(post),
             "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n\r\n%s",
             strlen(q), q);
    roundtrip(post, &r);
    /* Format is in the unread body: the error is in the default XML. */
    ok(r.status == 415 && strstr(r.body, "<Code>UnsupportedMediaType</Code>"), "POST with another content type: 415");
    free(q);
    q = signed_query("GET", SK, KV("Action=TestEcho", "Name=x"));
    snprintf(post, sizeof(post),
             "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded; charset=UTF-8\r\n"
             "Content-Length: %zu\r\n\r\n%s", strlen(q), q);
    free(q);
    roundtrip(post, &r);
    expect_error(&r, 400, "SignatureDoesNotMatch", "POST body signed as GET");

    call("wrongsecret", KV("Action=TestEcho", "Name=x"), &r);
    expect_error(&r, 400, "SignatureDoesNotMatch", "wrong secret");
    ok(strstr(r.body, "\"Message\":\"Specified signature is not matched with our calculation.\"") != NULL,
       "SignatureDoesNotMatch message");
    ok(strstr(r.body, "\"HostId\":\"test-node\"") != NULL, "HostId is node_name");
    ok(strncmp(r.body, "{\"RequestId\":\"", 14) == 0 && strstr(r.body, "\",\"HostId\":\"test-node\",\"Code\":\""),
       "error body order: RequestId, HostId, Code, Message");
    is_str(r.ctype, "application/json;charset=utf-8", "error in JSON with Format=JSON");

    call(SK, KV("Action=TestEcho", "Name=x", "Format=XML", "AccessKeyId=nobody"), &r);
    ok(r.status == 404 && strstr(r.body, "<Error><RequestId>") &&
       strstr(r.body, "<Code>InvalidAccessKeyId.NotFound</Code>") && strstr(r.body, "<HostId>test-node</HostId>"),
       "unknown AccessKeyId: 404, XML error root <Error>");

    roundtrip(get_req("Format=JSON&Name=x"), &r);
    expect_error(&r, 400, "MissingParameter", "no Action");
    ok(strstr(r.body, "\"Message\":\"The input parameter \\\"Action\\\" that is mandatory for processing this request is not supplied.\"") != NULL,
       "MissingParameter message names Action");

    call(SK, KV("Action=NoSuchAction"), &r);
    expect_error(&r, 404, "InvalidAction.NotFound", "unknown Action");

    char old[32], fut[32], kvts[48];
    utc(old, -20 * 60);
    snprintf(kvts, sizeof(kvts), "Timestamp=%s", old);
    call(SK, KV("Action=TestEcho", "Name=x", kvts), &r);
    expect_error(&r, 400, "InvalidTimeStamp.Expired", "Timestamp 20 min old");
    utc(fut, 20 * 60);
    snprintf(kvts, sizeof(kvts), "Timestamp=%s", fut);
    call(SK, KV("Action=TestEcho", "Name=x", kvts), &r);
    expect_error(&r, 400, "InvalidTimeStamp.Expired", "Timestamp 20 min ahead");
    utc(old, -14 * 60);
    snprintf(kvts, sizeof(kvts), "Timestamp=%s", old);
    call(SK, KV("Action=TestEcho", "Name=x", kvts), &r);
    is_int(r.status, 200, "Timestamp 14 min old is accepted");
    call(SK, KV("Action=TestEcho", "Name=x", "Timestamp=2024-13-01T00:00:00Z"), &r);
    expect_error(&r, 400, "InvalidTimeStamp.Format", "month 13");
    call(SK, KV("Action=TestEcho", "Name=x", "Timestamp=1700000000"), &r);
    expect_error(&r, 400, "InvalidTimeStamp.Format", "unix seconds");

    q = signed_query("GET", SK, KV("Action=TestEcho", "Name=x", "SignatureNonce=fixed-nonce-1"));
    roundtrip(get_req(q), &r);
    is_int(r.status, 200, "first use of a nonce");
    roundtrip(get_req(q), &r);
    expect_error(&r, 400, "SignatureNonceUsed", "same request replayed");
    free(q);
    call(SK, KV("Action=TestEcho", "Name=y", "SignatureNonce=fixed-nonce-1"), &r);
    expect_error(&r, 400, "SignatureNonceUsed", "nonce reused in another request");
    call("bad", KV("Action=TestEcho", "Name=y", "SignatureNonce=fixed-nonce-2"), &r);
    expect_error(&r, 400, "SignatureDoesNotMatch", "a nonce under a wrong signature");
    call(SK, KV("Action=TestEcho", "Name=y", "SignatureNonce=fixed-nonce-2"), &r);
    is_int(r.status, 200, "a nonce from a refused signature is not remembered");

    q = signed_query("GET", SK, KV("Action=TestEcho", "Name=x"));
    *strstr(q, "&Signature=") = '\0';
    roundtrip(get_req(q), &r);
    free(q);
    expect_error(&r, 400, "MissingParameter", "no Signature");
    call(SK, KV("Action=TestEcho", "Name=x", "SignatureMethod=HMAC-SHA256"), &r);
    expect_error(&r, 400, "InvalidParameter", "SignatureMethod HMAC-SHA256");
    call(SK, KV("Action=TestEcho", "Name=x", "SignatureVersion=2.0"), &r);
    expect_error(&r, 400, "InvalidParameter", "SignatureVersion 2.0");
    call(SK, KV("Action=TestEcho", "Name=x", "Version=2017-01-01"), &r);
    expect_error(&r, 400, "InvalidVersion", "Version 2017-01-01");
    call(SK, KV("Action=TestEcho"), &r);
    expect_error(&r, 400, "MissingParameter", "le_admin_require");
    ok(strstr(r.body, "The input parameter \\\"Name\\\" that is mandatory") != NULL, "names the parameter");
    call(SK, KV("Action=TestError", "Format=XML"), &r);
    ok(r.status == 409 && strstr(r.body, "<Code>Test.Conflict</Code><Message>conflict &lt;&amp;&gt;</Message></Error>"),
       "handler error: its status and code, XML-escaped message");

    roundtrip(get_req("Action=TestEcho&Name=a&Name=b&Format=JSON"), &r);
    expect_error(&r, 400, "InvalidParameter", "duplicate parameter");
    roundtrip(get_req("Action=TestEcho&Name=%zz&Format=JSON"), &r);
    expect_error(&r, 400, "InvalidParameter", "bad percent-encoding");
    roundtrip(get_req("Action=TestEcho&Name=a%00b&Format=JSON"), &r);
    expect_error(&r, 400, "InvalidParameter", "NUL in a value");

    roundtrip("GET /nope?Format=JSON HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    expect_error(&r, 404, "NotFound", "another path");
    roundtrip("PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", &r);
    ok(r.status == 405, "PUT: 405");
    ok(strstr(r.body, "<Code>MethodNotAllowed</Code>") != NULL, "PUT: MethodNotAllowed error body");
    client *c = cl_open();
    cl_send(c, "GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 37);
    ok(cl_read(c, &r) == 0 && r.status == 400 && strstr(r.body, "<Code>BadRequest</Code>") &&
       strcmp(r.conn, "close") == 0 && cl_eof(c), "bad HTTP: 400 XML error, connection closed");
    cl_close(c);
    roundtrip("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\n\r\n", &r);
    ok(r.status == 413, "body over 64 KiB: 413 before reading it");
    ok(strstr(r.body, "<Code>RequestEntityTooLarge</Code>") && strcmp(r.conn, "close") == 0,
       "413: RequestEntityTooLarge, connection closed");
    roundtrip("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", &r);
    ok(r.status == 411, "chunked body: 411");
    ok(strstr(r.body, "<Code>LengthRequired</Code>") && strcmp(r.conn, "close") == 0,
       "411: LengthRequired, connection closed");

    /* Keep-alive and pipelining: three requests in one write, answered in
     * order on the same connection, the middle one asynchronously. */
    char *q1 = signed_query("GET", SK, KV("Action=TestEcho", "Name=one"));
    char *q2 = signed_query("GET", SK, KV("Action=TestAsync", "Tag=two"));
    char *q3 = signed_query("GET", SK, KV("Action=TestEcho", "Name=three"));
    char pipe3[16384];
    snprintf(pipe3, sizeof(pipe3),
             "GET /?%s HTTP/1.1\r\nHost: x\r\n\r\nGET /?%s HTTP/1.1\r\nHost: x\r\n\r\nGET /?%s HTTP/1.1\r\nHost: x\r\n\r\n",
             q1, q2, q3);
    free(q1);
    free(q2);
    free(q3);
    c = cl_open();
    cl_send(c, pipe3, strlen(pipe3));
    resp r1, r2, r3;
    int rc1 = cl_read(c, &r1), rc2 = cl_read(c, &r2), rc3 = cl_read(c, &r3);
    ok(rc1 == 0 && rc2 == 0 && rc3 == 0, "three pipelined requests answered on one connection");
    ok(strstr(r1.body, "\"Name\":\"one\"") && strstr(r2.body, "\"Later\":\"two\"") &&
       strstr(r3.body, "\"Name\":\"three\""), "in order, the asynchronous one in the middle");
    q = signed_query("GET", SK, KV("Action=TestEcho", "Name=four"));
    cl_send(c, get_req(q), strlen(get_req(q)));
    free(q);
    ok(cl_read(c, &r) == 0 && strstr(r.body, "\"Name\":\"four\""), "the connection is kept alive afterwards");
    cl_close(c);

    c = cl_open();
    q = signed_query("GET", SK, KV("Action=TestEcho", "Name=x"));
    snprintf(req, sizeof(req), "GET /?%s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", q);
    free(q);
    cl_send(c, req, strlen(req));
    ok(cl_read(c, &r) == 0 && strcmp(r.conn, "close") == 0 && cl_eof(c), "Connection: close honoured");
    cl_close(c);

    /* A client that leaves before the asynchronous reply. */
    slow_and_leave("Tag=gone", 50000);
    usleep(500000);
    ok(call(SK, KV("Action=TestEcho", "Name=after"), &r) == 0 && r.status == 200,
       "server fine after a reply to a departed client");
    ok(strstr(r.body, "\"Name\":\"after\"") != NULL, "... and answers the next call with its own body");

    /* Slowloris: a partial head is cut at http_header_timeout_ms (500). */
    c = cl_open();
    cl_send(c, "GET /?Action=x HTTP/1.1\r\nHost:", 30);
    struct timeval t0, t1;
    gettimeofday(&t0, NULL);
    int eof = cl_eof(c);
    gettimeofday(&t1, NULL);
    long el = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_usec - t0.tv_usec) / 1000;
    ok(eof && el >= 300 && el < 3000, "partial head closed by the header timeout (%ld ms)", el);
    cl_close(c);

    roundtrip("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    ok(r.status == 200 && strncmp(r.ctype, "text/plain", 10) == 0, "/metrics: 200 text/plain, unsigned");
    ok(strstr(r.body, "# TYPE test_metric gauge\ntest_metric 7\n") != NULL, "/metrics includes a registered callback");
    ok(strstr(r.body, "# TYPE livedge_admin_requests_total counter\n") &&
       strstr(r.body, "livedge_admin_requests_total{status=\"400\",code=\"SignatureDoesNotMatch\"} 3\n") &&
       strstr(r.body, "livedge_admin_requests_total{status=\"404\",code=\"InvalidAction.NotFound\"} 1\n"),
       "/metrics counts answers by status and code");

    /* A client that pipelines without reading: parsing pauses while its
     * answers pile up (over 1 MiB) and resumes as it reads; none is lost. */
    enum { FLOOD = 20000 };
    const char *one = "GET /x?Format=JSON HTTP/1.1\r\nHost: x\r\n\r\n";
    size_t ol = strlen(one), total = ol * FLOOD, sent = 0;
    char *all = malloc(total);
    for (int i = 0; i < FLOOD; i++)
        memcpy(all + (size_t)i * ol, one, ol);
    c = cl_open();
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    for (int idle = 0; sent < total && idle < 30;) {
        ssize_t k = send(c->fd, all + sent, total - sent, 0);
        if (k > 0) {
            sent += (size_t)k;
            idle = 0;
        } else {
            usleep(10000);
            idle++;
        }
    }
    int answers = 0, rounds = 0;
    char rb[65536 + 16];
    size_t carry = 0;
    while (answers < FLOOD && rounds < 2000) {
        struct pollfd pf = { c->fd, (short)(POLLIN | (sent < total ? POLLOUT : 0)), 0 };
        if (poll(&pf, 1, 5000) <= 0)
            break;
        rounds++;
        if ((pf.revents & POLLOUT) && sent < total) {
            ssize_t k = send(c->fd, all + sent, total - sent, 0);
            if (k > 0)
                sent += (size_t)k;
        }
        if (pf.revents & POLLIN) {
            ssize_t k = recv(c->fd, rb + carry, sizeof(rb) - 1 - carry, 0);
            if (k <= 0)
                break;
            size_t len = carry + (size_t)k;
            rb[len] = '\0';
            for (char *h = rb; (h = memchr(h, 'H', (size_t)(rb + len - h))) != NULL; h++)
                if ((size_t)(rb + len - h) >= 12 && memcmp(h, "HTTP/1.1 404", 12) == 0)
                    answers++;
            /* Keep a tail that might hold a split status line. */
            carry = len < 11 ? len : 11;
            memmove(rb, rb + len - carry, carry);
            if (carry && memchr(rb, 'H', carry) == NULL)
                carry = 0;
        }
    }
    is_int(answers, FLOOD, "%d pipelined requests from a client slow to read all answered", FLOOD);
    free(all);
    cl_close(c);

    /* Last: a request whose reply is still pending at shutdown (the child's
     * sanitizers check that the late reply is dropped and freed). */
    slow_and_leave("Tag=pending", 100000);
}

/* The Timestamp parser alone (form.c), against values from date -u -d. */
static void test_timestamp(void)
{
    int64_t t = 0;
    ok(le_admin_parse_timestamp("2017-06-14T09:51:14Z", &t) == 0 && t == 1497433874,
       "Timestamp: the seed's example is 1497433874");
    ok(le_admin_parse_timestamp("1970-01-01T00:00:00Z", &t) == 0 && t == 0, "Timestamp: the epoch is 0");
    ok(le_admin_parse_timestamp("2024-02-29T23:59:59.123Z", &t) == 0 && t == 1709251199,
       "Timestamp: fractional seconds tolerated, leap day");
    ok(le_admin_parse_timestamp("2016-12-31T23:59:60Z", &t) == 0 && t == 1483228800,
       "Timestamp: a leap second is the next second");
    static const char *const bad[] = {
        "2023-02-29T00:00:00Z", "2024-04-31T00:00:00Z", "2024-01-01T24:00:00Z", "2024-01-01T00:60:00Z",
        "1969-12-31T23:59:59Z", "2024-01-01T00:00:00", "2024-01-01T00:00:00.Z", "2024-01-01 00:00:00Z",
        "2024-01-01T00:00:00Zx", "2024-1-01T00:00:00Z",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ok(le_admin_parse_timestamp(bad[i], &t) != 0, "Timestamp refused: %s", bad[i]);
}

static void test_unsigned_server(void)
{
    resp r;
    roundtrip(get_req("Action=TestEcho&Name=open&Format=JSON"), &r);
    ok(r.status == 200 && strstr(r.body, "\"Name\":\"open\""), "no keys configured: unsigned call accepted");
    roundtrip(get_req("Action=TestEcho&Name=open+space&Format=JSON&Signature=whatever"), &r);
    ok(r.status == 200 && strstr(r.body, "\"Name\":\"open space\""), "'+' decodes to a space; a stray Signature is ignored");
    roundtrip(get_req("Action=Nope"), &r);
    ok(r.status == 404 && strstr(r.body, "<Code>InvalidAction.NotFound</Code>"), "unknown Action: 404 (XML default)");
    roundtrip(get_req(""), &r);
    ok(r.status == 400 && strstr(r.body, "<Code>MissingParameter</Code>"), "empty query: MissingParameter");
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    test_timestamp();
    char err[512];
    open_conf = le_conf_defaults();
    keyed = le_conf_defaults();
    free(keyed->node_name);
    keyed->node_name = le_xstrdup("test-node");
    keyed->access_key_id = le_xstrdup(AK);
    keyed->access_key_secret = le_xstrdup(SK);
    keyed->http_header_timeout_ms = 500;

    struct event_base *b = event_base_new();
    le_admin_set_conf(open_conf);
    ok(le_admin_listen(b, "0.0.0.0:0", err, sizeof(err)) != 0 && strstr(err, "loopback"),
       "no keys: 0.0.0.0 refused (%s)", err);
    ok(le_admin_listen(b, "[::]:0", err, sizeof(err)) != 0, "no keys: [::] refused");
    ok(le_admin_listen(b, "192.0.2.1:0", err, sizeof(err)) != 0, "no keys: another address refused");
    ok(le_admin_listen(b, "nonsense", err, sizeof(err)) != 0, "bad address refused");
    ok(le_admin_listen(b, "127.0.0.1:0", err, sizeof(err)) == 0 && le_admin_port() > 0,
       "no keys: loopback accepted");
    le_admin_shutdown();
    event_base_free(b);

    pid_t pid = start_server(keyed, &port_g);
    test_signed_server();
    is_int(stop_server(pid), 0, "signed server exits 0 on SIGTERM (sanitizers clean)");

    pid = start_server(open_conf, &port_g);
    test_unsigned_server();
    is_int(stop_server(pid), 0, "unsigned server exits 0 on SIGTERM");

    le_admin_set_conf(NULL);
    le_conf_free(keyed);
    le_conf_free(open_conf);
    return done_testing();
}
