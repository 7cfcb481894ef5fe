/* HTTP/1.x request heads: request line and header fields, nothing else (we
 * serve no request bodies). Pure: bytes in, a description out; no sockets, no
 * logging. The caller keeps the bytes alive: every string in le_http_req
 * points into the buffer it parsed. */
#ifndef LE_HTTP_PARSER_H
#define LE_HTTP_PARSER_H
#include <stddef.h>
#include <stdint.h>

/* Limits on what a peer may send before we answer (over them: 414 or 431). */
#define LE_HTTP_MAX_REQLINE  8192    /* request line, CRLF excluded */
#define LE_HTTP_MAX_HEADERS  16384   /* header block after the request line */
#define LE_HTTP_MAX_NHEADERS 64

enum {
    LE_HTTP_GET = 0, LE_HTTP_HEAD, LE_HTTP_OPTIONS,
    /* Known but never served here: answered 405. */
    LE_HTTP_POST, LE_HTTP_PUT, LE_HTTP_DELETE, LE_HTTP_PATCH, LE_HTTP_TRACE, LE_HTTP_CONNECT,
    LE_HTTP_OTHER   /* a syntactically valid token we do not know: 405 too */
};

/* A slice of the parsed buffer; p is NULL when absent. Not NUL-terminated. */
typedef struct le_http_str {
    const char *p;
    size_t n;
} le_http_str;

typedef struct le_http_hdr {
    le_http_str name, value;    /* value with surrounding blanks trimmed */
} le_http_hdr;

typedef struct le_http_req {
    int method;                 /* LE_HTTP_* */
    le_http_str method_str;
    le_http_str target;         /* raw request-target, e.g. "/a/b.flv?x=1" */
    le_http_str path;           /* target up to '?', still percent-encoded */
    le_http_str query;          /* after '?', without it; p NULL if no '?' */
    int version_minor;          /* HTTP/1.x: x */
    /* Header fields the server acts on (last one wins, except Host). */
    le_http_str host, range, referer, origin, connection, user_agent;
    le_http_str acr_method;     /* Access-Control-Request-Method */
    int64_t content_length;     /* -1 if absent */
    int chunked_body;           /* Transfer-Encoding present */
    int keep_alive;             /* HTTP/1.1 unless "close"; 1.0 only with "keep-alive" */
    size_t nheaders;
    le_http_hdr headers[LE_HTTP_MAX_NHEADERS];
    size_t head_len;            /* bytes consumed, blank line included */
    int status;                 /* on error: the HTTP status to answer */
} le_http_req;

/* Parses the head at the start of buf. Returns LE_OK (head_len set),
 * LE_EAGAIN (no blank line yet and no limit crossed: read more), or
 * LE_EPROTO / LE_ETOOBIG with req->status set (400, 414, 431, 505). Stateless:
 * call again with the grown buffer; limits are enforced on partial input, so a
 * peer cannot make the caller buffer more than the limits. */
int le_http_parse(const char *buf, size_t len, le_http_req *req);

/* Case-insensitive comparison of a slice with a C string. */
int le_http_str_eq(le_http_str s, const char *lit);
/* Finds a header by name (case-insensitive); NULL if absent. */
const le_http_hdr *le_http_find(const le_http_req *req, const char *name);
const char *le_http_method_name(int method);
/* A Range header h for a body of size bytes: one "bytes=a-b", "bytes=a-"
 * or "bytes=-n" range. 1 with [*from, *to] (inclusive, *to clipped to the
 * end), 0 to ignore the header and send the whole body (absent, malformed,
 * several ranges, b < a: RFC 9110 14.2), LE_EINVAL if unsatisfiable (a at
 * or past the end, a suffix of 0, an empty body). */
int le_http_range(le_http_str h, int64_t size, int64_t *from, int64_t *to);
/* An If-None-Match field value h against a response's entity-tag etag
 * ("\"…\"", or W/"…"): 1 when it names etag (weak comparison, RFC 9110
 * 8.8.3.2) or is "*", 0 otherwise (absent, malformed: the condition is then
 * ignored and the full response is sent). */
int le_http_etag_match(le_http_str h, const char *etag);

#endif
