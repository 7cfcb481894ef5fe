/* Conditional GET through the real HTTP server (le_http_fresh): a route
 * that serves one object with a strong ETag on a loopback listener, and a
 * client socket that sends requests with and without If-None-Match, on
 * one keep-alive connection (pipelined too). Checks status, ETag, the
 * absent body and length of a 304, and that the connection goes on. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "core/err.h"
#include "http/server.h"
#include "tap.h"

#define ETAG "\"obj-7\""
#define BODY "hello, object\n"

static int served, fresh_hits;

static void serve_obj(le_http_conn *c, const le_http_route *rt)
{
    served++;
    if (le_http_fresh(c, rt, ETAG)) {
        fresh_hits++;
        return;
    }
    le_http_reply_head(c, 200, "text/plain", (int64_t)strlen(BODY), "ETag: " ETAG "\r\n");
    if (!rt->head)
        evbuffer_add(le_http_conn_output(c), BODY, strlen(BODY));
    le_http_conn_done(c);
}

static const le_http_route_def obj_route = {
    .name = "obj", .path = "/t/obj", .serve = serve_obj, .prio = 10, .flags = LE_HTTP_ROUTE_OPEN,
};

static struct event_base *base;
static int cfd = -1;

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void client_connect(void)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)le_http_port()) };
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    cfd = socket(AF_INET, SOCK_STREAM, 0);
    if (cfd < 0 || connect(cfd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        abort();
    fcntl(cfd, F_SETFL, O_NONBLOCK);
}

/* Sends req, runs the loop until want complete responses (heads ending in a
 * blank line, bodies by Content-Length) have arrived or 3 s pass; the raw
 * bytes in out. */
static size_t exchange(const char *req, int want, char *out, size_t cap)
{
    if (write(cfd, req, strlen(req)) != (ssize_t)strlen(req))
        abort();
    size_t n = 0;
    double end = mono_ms() + 3000;
    while (mono_ms() < end) {
        event_base_loop(base, EVLOOP_NONBLOCK);
        ssize_t r = read(cfd, out + n, cap - 1 - n);
        if (r > 0)
            n += (size_t)r;
        else if (r == 0)
            break;
        out[n] = 0;
        /* count complete responses */
        int got = 0;
        const char *p = out;
        while ((p = strstr(p, "HTTP/1.1 ")) != NULL) {
            const char *e = strstr(p, "\r\n\r\n");
            if (!e)
                break;
            const char *cl = strstr(p, "Content-Length: ");
            long len = cl && cl < e ? atol(cl + 16) : 0;
            if ((size_t)(e + 4 + len - out) > n)
                break;
            got++;
            p = e + 4 + len;
        }
        if (got >= want)
            break;
        if (r < 0)
            usleep(1000);
    }
    out[n] = 0;
    return n;
}

int main(void)
{
    char err[256], buf[8192];
    base = event_base_new();
    le_http_route_add(&obj_route);
    is_int(le_http_listen(base, "127.0.0.1:0", err, sizeof(err)), LE_OK, "listening on loopback");
    ok(le_http_port() > 0, "an ephemeral port (%d)", le_http_port());
    client_connect();

    exchange("GET /t/obj HTTP/1.1\r\nHost: x\r\n\r\n", 1, buf, sizeof(buf));
    ok(strncmp(buf, "HTTP/1.1 200 ", 13) == 0, "no condition: 200");
    ok(strstr(buf, "\r\nETag: " ETAG "\r\n") != NULL, "200 carries the ETag");
    ok(strstr(buf, "\r\n\r\n" BODY) != NULL, "200 carries the body");

    exchange("GET /t/obj HTTP/1.1\r\nHost: x\r\nIf-None-Match: " ETAG "\r\n\r\n", 1, buf, sizeof(buf));
    ok(strncmp(buf, "HTTP/1.1 304 Not Modified\r\n", 27) == 0, "If-None-Match with the ETag: 304");
    ok(strstr(buf, "\r\nETag: " ETAG "\r\n") != NULL, "304 carries the ETag");
    ok(!strstr(buf, "Content-Length") && !strstr(buf, "Transfer-Encoding"), "304: no length, no chunking");
    ok(strstr(buf, "Connection: keep-alive\r\n") != NULL, "304: the connection is kept");
    const char *e = strstr(buf, "\r\n\r\n");
    ok(e && e[4] == 0, "304: no body");

    exchange("GET /t/obj HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"obj-6\"\r\n\r\n", 1, buf, sizeof(buf));
    ok(strncmp(buf, "HTTP/1.1 200 ", 13) == 0, "another ETag: 200, on the same connection");

    exchange("HEAD /t/obj HTTP/1.1\r\nHost: x\r\nIf-None-Match: W/" ETAG "\r\n\r\n", 1, buf, sizeof(buf));
    ok(strncmp(buf, "HTTP/1.1 304 ", 13) == 0, "HEAD with a weak match: 304");

    exchange("GET /t/obj HTTP/1.1\r\nHost: x\r\nIf-None-Match: *\r\n\r\n", 1, buf, sizeof(buf));
    ok(strncmp(buf, "HTTP/1.1 304 ", 13) == 0, "If-None-Match: * : 304");

    exchange("GET /t/obj HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"a\"\r\nIf-None-Match: \"b\", " ETAG
             "\r\n\r\n", 1, buf, sizeof(buf));
    ok(strncmp(buf, "HTTP/1.1 304 ", 13) == 0, "the list split over two fields: 304");

    /* Pipelined: a 304, then a 200, answered in order on one connection. */
    size_t n = exchange("GET /t/obj HTTP/1.1\r\nHost: x\r\nIf-None-Match: " ETAG "\r\n\r\n"
                        "GET /t/obj HTTP/1.1\r\nHost: x\r\n\r\n", 2, buf, sizeof(buf));
    const char *second = strstr(buf + 1, "HTTP/1.1 200 ");
    ok(strncmp(buf, "HTTP/1.1 304 ", 13) == 0 && second && strstr(second, BODY), "pipelined: 304 then 200 (%zu bytes)",
       n);

    is_int(served, 8, "every request reached the route");
    is_int(fresh_hits, 5, "five answered 304 by le_http_fresh");

    close(cfd);
    for (int i = 0; i < 20; i++)
        event_base_loop(base, EVLOOP_NONBLOCK);
    le_http_shutdown();
    for (int i = 0; i < 20; i++)
        event_base_loop(base, EVLOOP_NONBLOCK);
    le_http_route_reset();
    event_base_free(base);
    return done_testing();
}
