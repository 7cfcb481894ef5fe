/* HTTP request head parser: valid heads at every split point, the limits,
 * malformed request lines and headers, unknown methods. */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "http/parser.h"
#include "tap.h"

static int parse(const char *s, le_http_req *r)
{
    return le_http_parse(s, strlen(s), r);
}

static int slice_is(le_http_str s, const char *want)
{
    return s.p && s.n == strlen(want) && memcmp(s.p, want, s.n) == 0;
}

/* Every prefix of a valid head must be "need more", the whole must parse. */
static void split_everywhere(const char *head, const char *what)
{
    size_t n = strlen(head);
    int bad = 0;
    le_http_req r;
    for (size_t i = 0; i < n; i++) {
        char *copy = malloc(i ? i : 1);   /* exact size: ASan catches over-reads */
        memcpy(copy, head, i);
        int rc = le_http_parse(copy, i, &r);
        free(copy);
        if (rc != LE_EAGAIN) {
            if (!bad)
                printf("# %s: prefix %zu gave %d (status %d)\n", what, i, rc, r.status);
            bad++;
        }
    }
    ok(bad == 0, "%s: every proper prefix needs more", what);
    char *copy = malloc(n);
    memcpy(copy, head, n);
    int rc = le_http_parse(copy, n, &r);
    is_int(rc, LE_OK, "%s: complete head parses", what);
    is_int(r.head_len, n, "%s: head_len covers the blank line", what);
    free(copy);
}

static void expect_status(const char *head, int status, const char *what)
{
    le_http_req r;
    int rc = le_http_parse(head, strlen(head), &r);
    ok(rc != LE_OK && rc != LE_EAGAIN, "%s: refused", what);
    is_int(r.status, status, "%s: status %d", what, status);
}

/* If-None-Match against an entity-tag (le_http_etag_match). */
static void test_etag_match(void)
{
    struct {
        const char *h, *etag;
        int want;
    } c[] = {
        { "\"a1\"", "\"a1\"", 1 },
        { "\"a1\"", "\"a2\"", 0 },
        { "W/\"a1\"", "\"a1\"", 1 },              /* weak comparison */
        { "\"a1\"", "W/\"a1\"", 1 },
        { "\"x\", \"a1\"", "\"a1\"", 1 },          /* a list */
        { "\"x\",W/\"a1\" ,\"y\"", "\"a1\"", 1 },
        { "\"x\", \"y\"", "\"a1\"", 0 },
        { "*", "\"anything\"", 1 },
        { "* ", "\"anything\"", 1 },
        { "\"x\", *", "\"a1\"", 0 },               /* "*" only alone */
        { "a1", "\"a1\"", 0 },                     /* unquoted: malformed */
        { "\"a1", "\"a1\"", 0 },                   /* unterminated */
        { "\"a1\"x", "\"a1\"", 0 },
        { "\"a\"", "\"a1\"", 0 },                   /* a prefix is not equal */
        { "\"a1\"", "\"a\"", 0 },
        { "\"\"", "\"\"", 1 },                      /* the empty tag */
        { "", "\"a1\"", 0 },
        { "\"a1\"", "a1", 0 },                     /* our tag unquoted: never */
        { "\"A1\"", "\"a1\"", 0 },                  /* case matters */
    };
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        le_http_str h = { c[i].h, strlen(c[i].h) };
        is_int(le_http_etag_match(h, c[i].etag), c[i].want, "If-None-Match: %s vs %s", c[i].h, c[i].etag);
    }
    is_int(le_http_etag_match((le_http_str){ NULL, 0 }, "\"a\""), 0, "no If-None-Match");
    /* Through the parser: the header is found by name. */
    le_http_req r;
    const char *head = "GET /live/s-3.m4s HTTP/1.1\r\nHost: h\r\nif-none-match: \"s3-7\"\r\n\r\n";
    is_int(le_http_parse(head, strlen(head), &r), LE_OK, "head with If-None-Match parses");
    const le_http_hdr *h = le_http_find(&r, "If-None-Match");
    ok(h && le_http_etag_match(h->value, "\"s3-7\""), "If-None-Match found and matched");
}

int main(void)
{
    le_http_req r;
    const char *get = "GET /live/cam1.flv?vhost=a.example.com&x=1 HTTP/1.1\r\n"
                      "Host: play.example.com:8080\r\n"
                      "User-Agent: test/1.0\r\n"
                      "Range: bytes=0-99\r\n"
                      "Referer: http://site/\r\n"
                      "Origin: http://site\r\n"
                      "Connection: keep-alive\r\n"
                      "X-Empty:\r\n"
                      "\r\n";
    is_int(parse(get, &r), LE_OK, "GET parses");
    is_int(r.method, LE_HTTP_GET, "method GET");
    ok(slice_is(r.path, "/live/cam1.flv"), "path");
    ok(slice_is(r.query, "vhost=a.example.com&x=1"), "query");
    ok(slice_is(r.target, "/live/cam1.flv?vhost=a.example.com&x=1"), "target");
    is_int(r.version_minor, 1, "HTTP/1.1");
    ok(slice_is(r.host, "play.example.com:8080"), "Host");
    ok(slice_is(r.range, "bytes=0-99"), "Range");
    ok(slice_is(r.referer, "http://site/"), "Referer");
    ok(slice_is(r.origin, "http://site"), "Origin");
    ok(slice_is(r.user_agent, "test/1.0"), "User-Agent");
    is_int(r.keep_alive, 1, "keep-alive");
    is_int(r.nheaders, 7, "seven headers");
    ok(le_http_find(&r, "x-empty") && le_http_find(&r, "x-empty")->value.n == 0, "empty header value");
    ok(le_http_find(&r, "USER-AGENT") && slice_is(le_http_find(&r, "USER-AGENT")->value, "test/1.0"),
       "find is case-insensitive");
    ok(le_http_find(&r, "x-missing") == NULL, "find: absent header is NULL");
    ok(slice_is(r.connection, "keep-alive"), "Connection value kept");
    is_int(r.chunked_body, 0, "no Transfer-Encoding");
    is_int(r.head_len, strlen(get), "head_len is the whole head");
    is_int(r.content_length, -1, "no Content-Length");
    split_everywhere(get, "GET with headers");

    /* Pipelined: head_len stops at the first blank line. */
    const char *two = "HEAD /a/b.m3u8 HTTP/1.1\r\nHost: h\r\n\r\nGET /a/b.flv HTTP/1.1\r\nHost: h\r\n\r\n";
    is_int(parse(two, &r), LE_OK, "pipelined: first parses");
    is_int(r.method, LE_HTTP_HEAD, "pipelined: HEAD");
    is_int(r.head_len, strlen("HEAD /a/b.m3u8 HTTP/1.1\r\nHost: h\r\n\r\n"), "pipelined: head_len");
    is_int(le_http_parse(two + r.head_len, strlen(two) - r.head_len, &r), LE_OK, "pipelined: second parses");
    is_int(r.method, LE_HTTP_GET, "pipelined: GET");
    ok(slice_is(r.path, "/a/b.flv"), "pipelined: second path");
    ok(r.query.p == NULL, "no query: NULL");

    /* HTTP/1.0: no Host needed, close by default, keep-alive on request. */
    is_int(parse("GET /a/b.flv HTTP/1.0\r\n\r\n", &r), LE_OK, "1.0 without Host");
    is_int(r.keep_alive, 0, "1.0 closes by default");
    is_int(r.version_minor, 0, "HTTP/1.0");
    ok(r.host.p == NULL, "no Host: NULL");
    is_int(parse("GET /a/b.ts HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &r), LE_OK, "1.0 keep-alive");
    is_int(r.keep_alive, 1, "1.0 with Connection: keep-alive");
    is_int(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: foo, close\r\n\r\n", &r), LE_OK, "close token");
    is_int(r.keep_alive, 0, "1.1 with Connection: close");
    /* Bare LF line ends and a leading empty line are tolerated. */
    is_int(parse("\r\nGET /x HTTP/1.1\nHost: h\n\n", &r), LE_OK, "bare LF and leading CRLF");
    ok(slice_is(r.path, "/x") && slice_is(r.host, "h"), "bare LF: path and Host");
    is_int(r.head_len, strlen("\r\nGET /x HTTP/1.1\nHost: h\n\n"), "bare LF: head_len includes the leading CRLF");
    is_int(parse("GET /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", &r), LE_OK,
           "Transfer-Encoding parses");
    is_int(r.chunked_body, 1, "Transfer-Encoding: a body follows");
    is_int(parse("GET /x HTTP/1.1\r\nHost:  h \t\r\n\r\n", &r), LE_OK, "padded Host");
    ok(slice_is(r.host, "h"), "header value trimmed of blanks");
    split_everywhere("OPTIONS * HTTP/1.1\r\nHost: h\r\nAccess-Control-Request-Method: GET\r\n\r\n", "OPTIONS *");
    is_int(parse("OPTIONS * HTTP/1.1\r\nHost: h\r\nAccess-Control-Request-Method: GET\r\n\r\n", &r), LE_OK,
           "OPTIONS * parses");
    ok(slice_is(r.acr_method, "GET"), "Access-Control-Request-Method");
    is_int(parse("GET /x HTTP/1.1\r\nHost: h\r\nContent-Length: 12\r\n\r\n", &r), LE_OK, "Content-Length");
    is_int(r.content_length, 12, "Content-Length value");

    /* Methods. */
    const char *methods[] = { "POST", "PUT", "DELETE", "PATCH", "TRACE", "CONNECT" };
    for (int i = 0; i < 6; i++) {
        char buf[128];
        snprintf(buf, sizeof(buf), "%s /a/b HTTP/1.1\r\nHost: h\r\n\r\n", methods[i]);
        is_int(parse(buf, &r), LE_OK, "%s parses", methods[i]);
        is_int(r.method, LE_HTTP_POST + i, "%s known", methods[i]);
    }
    is_int(parse("BREW /pot HTTP/1.1\r\nHost: h\r\n\r\n", &r), LE_OK, "unknown token method parses");
    is_int(r.method, LE_HTTP_OTHER, "unknown method is OTHER");
    ok(slice_is(r.method_str, "BREW"), "method string kept");
    is_int(parse("get /x HTTP/1.1\r\nHost: h\r\n\r\n", &r), LE_OK, "lower-case method");
    is_int(r.method, LE_HTTP_OTHER, "methods are case-sensitive");

    /* Bad request lines. */
    expect_status("GET\r\n\r\n", 400, "no target");
    expect_status("GET /x\r\n\r\n", 400, "HTTP/0.9 style");
    expect_status("GET  /x HTTP/1.1\r\nHost: h\r\n\r\n", 400, "double space");
    expect_status("GET /x HTTP/1.1 \r\nHost: h\r\n\r\n", 400, "trailing space");
    expect_status("GET x HTTP/1.1\r\nHost: h\r\n\r\n", 400, "target not origin-form");
    expect_status("GET http://h/x HTTP/1.1\r\nHost: h\r\n\r\n", 400, "absolute-form");
    expect_status("GET /x HTTP/1.1x\r\nHost: h\r\n\r\n", 400, "bad version");
    expect_status("GET /x FTP/1.1\r\nHost: h\r\n\r\n", 400, "not HTTP");
    expect_status("GET /x HTTP/2.0\r\nHost: h\r\n\r\n", 505, "HTTP/2.0");
    expect_status("G(T /x HTTP/1.1\r\nHost: h\r\n\r\n", 400, "bad method char");
    expect_status("GET /a\x01 HTTP/1.1\r\nHost: h\r\n\r\n", 400, "control char in target");
    expect_status("GET /a\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n", 400, "raw UTF-8 in target");
    expect_status("GET /a#f HTTP/1.1\r\nHost: h\r\n\r\n", 400, "fragment");
    expect_status("GET /a\rb HTTP/1.1\r\nHost: h\r\n\r\n", 400, "bare CR");
    expect_status("\x16\x03\x01\x02\x00\x01", 400, "TLS hello fails at once");
    expect_status("GET /x HTTP/1.1\r\n\r\n", 400, "1.1 without Host");
    {
        const char nul[] = "GET /a\0b HTTP/1.1\r\nHost: h\r\n\r\n";
        int rc = le_http_parse(nul, sizeof(nul) - 1, &r);
        ok(rc != LE_OK && r.status == 400, "NUL in request line: 400");
    }

    /* Bad headers. */
    expect_status("GET /x HTTP/1.1\r\nHost: h\r\nBad Name: v\r\n\r\n", 400, "space in header name");
    expect_status("GET /x HTTP/1.1\r\nHost: h\r\nName : v\r\n\r\n", 400, "space before colon");
    expect_status("GET /x HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n", 400, "no colon");
    expect_status("GET /x HTTP/1.1\r\nHost: h\r\nA: b\r\n folded\r\n\r\n", 400, "obs-fold");
    expect_status("GET /x HTTP/1.1\r\nHost: h\r\nHost: i\r\n\r\n", 400, "two Host headers");
    expect_status("GET /x HTTP/1.1\r\nHost: h\r\nContent-Length: 1x\r\n\r\n", 400, "bad Content-Length");
    expect_status("GET /x HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400,
                  "conflicting Content-Length");
    expect_status("GET /x HTTP/1.1\r\nHost: h\r\nA: b\x01\r\n\r\n", 400, "control char in value");
    {
        const char nul[] = "GET /x HTTP/1.1\r\nHost: h\r\nA: b\0c\r\n\r\n";
        int rc = le_http_parse(nul, sizeof(nul) - 1, &r);
        ok(rc != LE_OK && r.status == 400, "NUL in header value: 400");
        rc = le_http_parse(nul, 31, &r);   /* partial, NUL already in */
        ok(rc != LE_OK && r.status == 400, "NUL in a partial header: 400 at once");
    }

    /* Limits. */
    size_t big = LE_HTTP_MAX_REQLINE + 100;
    char *line = malloc(big + 64);
    memcpy(line, "GET /", 5);
    memset(line + 5, 'a', big);
    line[5 + big] = '\0';
    is_int(le_http_parse(line, strlen(line), &r), LE_ETOOBIG, "request line over 8 KiB, partial: refused");
    is_int(r.status, 414, "... with 414");
    strcpy(line + 5 + big, " HTTP/1.1\r\nHost: h\r\n\r\n");
    is_int(le_http_parse(line, strlen(line), &r), LE_ETOOBIG, "request line over 8 KiB, complete: refused");
    is_int(r.status, 414, "... with 414");
    /* Exactly at the limit passes. */
    size_t at = LE_HTTP_MAX_REQLINE - strlen("GET / HTTP/1.1");
    memcpy(line, "GET /", 5);
    memset(line + 5, 'b', at);
    strcpy(line + 5 + at, " HTTP/1.1\r\nHost: h\r\n\r\n");
    is_int(le_http_parse(line, strlen(line), &r), LE_OK, "request line of exactly 8 KiB passes");
    free(line);

    char *hdrs = malloc(LE_HTTP_MAX_HEADERS * 2);
    strcpy(hdrs, "GET /x HTTP/1.1\r\nHost: h\r\nX-Big: ");
    size_t hl = strlen(hdrs);
    memset(hdrs + hl, 'v', LE_HTTP_MAX_HEADERS);
    hdrs[hl + LE_HTTP_MAX_HEADERS] = '\0';
    is_int(le_http_parse(hdrs, strlen(hdrs), &r), LE_ETOOBIG, "headers over 16 KiB, partial: refused");
    is_int(r.status, 431, "... with 431");
    strcpy(hdrs + hl + LE_HTTP_MAX_HEADERS, "\r\n\r\n");
    is_int(le_http_parse(hdrs, strlen(hdrs), &r), LE_ETOOBIG, "headers over 16 KiB, complete: refused");
    is_int(r.status, 431, "... with 431");
    /* Many small headers adding up to more than 16 KiB. */
    strcpy(hdrs, "GET /x HTTP/1.1\r\nHost: h\r\n");
    for (int i = 0; i < 60; i++) {
        char h[400];
        snprintf(h, sizeof(h), "X-%d: %0300d\r\n", i, 0);
        strcat(hdrs, h);
    }
    strcat(hdrs, "\r\n");
    is_int(le_http_parse(hdrs, strlen(hdrs), &r), LE_ETOOBIG, "60 x 300-byte headers: refused");
    is_int(r.status, 431, "... with 431");
    /* 64 headers pass, 65 do not. */
    strcpy(hdrs, "GET /x HTTP/1.1\r\nHost: h\r\n");
    for (int i = 0; i < 63; i++) {
        char h[32];
        snprintf(h, sizeof(h), "X-%d: v\r\n", i);
        strcat(hdrs, h);
    }
    size_t mark = strlen(hdrs);
    strcat(hdrs, "\r\n");
    is_int(le_http_parse(hdrs, strlen(hdrs), &r), LE_OK, "64 headers pass");
    is_int(r.nheaders, 64, "... all 64 kept");
    strcpy(hdrs + mark, "X-last: v\r\n\r\n");
    is_int(le_http_parse(hdrs, strlen(hdrs), &r), LE_ETOOBIG, "65 headers: refused");
    is_int(r.status, 431, "... with 431");
    free(hdrs);

    /* Endless leading CRLFs are not a way to hold the connection. */
    expect_status("\r\n\r\n\r\n\r\n\r\n\r\n", 400, "many empty lines");

    ok(le_http_str_eq((le_http_str){ "Keep-Alive", 10 }, "keep-alive"), "str_eq case-insensitive");
    ok(!le_http_str_eq((le_http_str){ "Keep-Alive", 4 }, "keep-alive"), "str_eq: a prefix is not equal");
    ok(!le_http_str_eq((le_http_str){ "close", 5 }, "clone"), "str_eq: other bytes differ");
    ok(!le_http_str_eq((le_http_str){ NULL, 0 }, ""), "str_eq: an absent slice equals nothing");
    is_str(le_http_method_name(LE_HTTP_OPTIONS), "OPTIONS", "method name");
    is_str(le_http_method_name(LE_HTTP_OTHER), "OTHER", "method name of an unknown method");
    is_str(le_http_method_name(-1), "OTHER", "method name out of range");
    /* Range (le_http_range) over a 1000-byte body. */
    struct {
        const char *h;
        int rc;
        int64_t from, to;
    } rg[] = {
        { "bytes=0-99", 1, 0, 99 },          { "BYTES=10-", 1, 10, 999 },
        { "bytes=-100", 1, 900, 999 },       { "bytes=-5000", 1, 0, 999 },
        { "bytes=990-5000", 1, 990, 999 },   { "bytes=5-2", 0, 0, 0 },
        { "bytes=1000-", LE_EINVAL, 0, 0 },  { "bytes=-0", LE_EINVAL, 0, 0 },
        { "bytes=0-1,5-6", 0, 0, 0 },        { "bytes=a-", 0, 0, 0 },
        { "items=0-1", 0, 0, 0 },            { "bytes=-", 0, 0, 0 },
        { "bytes=9999999999999999999-", LE_EINVAL, 0, 0 },
        { "bytes=5-9999999999999999999", 1, 5, 999 },
    };
    for (size_t i = 0; i < sizeof(rg) / sizeof(rg[0]); i++) {
        le_http_str h = { rg[i].h, strlen(rg[i].h) };
        int64_t from = 0, to = 0;
        int rc = le_http_range(h, 1000, &from, &to);
        ok(rc == rg[i].rc && (rc != 1 || (from == rg[i].from && to == rg[i].to)), "range %s: %d %lld-%lld", rg[i].h,
           rc, (long long)from, (long long)to);
    }
    int64_t f0, t0;
    is_int(le_http_range((le_http_str){ "bytes=-1", 8 }, 0, &f0, &t0), LE_EINVAL, "range of an empty body");
    is_int(le_http_range((le_http_str){ NULL, 0 }, 10, &f0, &t0), 0, "no Range header");
    test_etag_match();
    return done_testing();
}
