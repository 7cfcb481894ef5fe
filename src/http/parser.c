/* HTTP/1.x request head parser (RFC 9112 section 2-5, request side only).
 *
 * Stateless by design: the server calls it again on the grown buffer after
 * each read. A head is at most LE_HTTP_MAX_REQLINE + LE_HTTP_MAX_HEADERS bytes,
 * so re-scanning costs little, and there is no half-parsed state to get wrong.
 * What makes it safe against a hostile peer is that every limit is checked on
 * partial input too: LE_EAGAIN is only returned while the bytes seen so far
 * could still become a valid head within the limits. */
#include "http/parser.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"

static const char *const method_names[] = {
    "GET", "HEAD", "OPTIONS", "POST", "PUT", "DELETE", "PATCH", "TRACE", "CONNECT",
};

const char *le_http_method_name(int m)
{
    if (m >= 0 && m < (int)(sizeof(method_names) / sizeof(method_names[0])))
        return method_names[m];
    return "OTHER";
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

int le_http_str_eq(le_http_str s, const char *lit)
{
    size_t n = strlen(lit);
    if (!s.p || s.n != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)s.p[i]) != lower((unsigned char)lit[i]))
            return 0;
    return 1;
}

const le_http_hdr *le_http_find(const le_http_req *req, const char *name)
{
    for (size_t i = 0; i < req->nheaders; i++)
        if (le_http_str_eq(req->headers[i].name, name))
            return &req->headers[i];
    return NULL;
}

/* RFC 9110 tchar. */
static int is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int fail(le_http_req *r, int status, int err)
{
    r->status = status;
    return err;
}

/* Finds the end of the line starting at buf[i] (index of '\n'), looking no
 * further than limit bytes; LE_EAGAIN if none yet. */
static long find_lf(const char *buf, size_t len, size_t i, size_t limit)
{
    size_t end = len - i > limit ? i + limit : len;
    const char *lf = memchr(buf + i, '\n', end - i);
    return lf ? (long)(lf - buf) : LE_EAGAIN;
}

/* Length of the line content [start, lf) without a trailing CR. */
static size_t line_len(const char *buf, size_t start, size_t lf)
{
    size_t n = lf - start;
    if (n && buf[start + n - 1] == '\r')
        n--;
    return n;
}

static int parse_method(le_http_req *r, const char *p, size_t n)
{
    r->method_str.p = p;
    r->method_str.n = n;
    for (int m = 0; m < LE_HTTP_OTHER; m++)
        if (strlen(method_names[m]) == n && memcmp(method_names[m], p, n) == 0)
            return m;   /* methods are case-sensitive (RFC 9110 9.1) */
    return LE_HTTP_OTHER;
}

static int parse_request_line(le_http_req *r, const char *p, size_t n)
{
    const char *sp1 = memchr(p, ' ', n);
    if (!sp1 || sp1 == p)
        return fail(r, 400, LE_EPROTO);
    for (const char *q = p; q < sp1; q++)
        if (!is_tchar((unsigned char)*q))
            return fail(r, 400, LE_EPROTO);
    r->method = parse_method(r, p, (size_t)(sp1 - p));

    const char *t = sp1 + 1, *end = p + n;
    const char *sp2 = memchr(t, ' ', (size_t)(end - t));
    if (!sp2 || sp2 == t)
        return fail(r, 400, LE_EPROTO);
    for (const char *q = t; q < sp2; q++) {
        unsigned char c = (unsigned char)*q;
        /* Only visible ASCII: raw bytes >= 0x80 must be percent-encoded. */
        if (c <= 0x20 || c >= 0x7f)
            return fail(r, 400, LE_EPROTO);
    }
    r->target.p = t;
    r->target.n = (size_t)(sp2 - t);
    /* origin-form, or "*" for OPTIONS; absolute-form is for proxies. */
    if (!(t[0] == '/' || (r->target.n == 1 && t[0] == '*' && r->method == LE_HTTP_OPTIONS)))
        return fail(r, 400, LE_EPROTO);
    const char *qm = memchr(t, '?', r->target.n);
    r->path.p = t;
    r->path.n = qm ? (size_t)(qm - t) : r->target.n;
    if (qm) {
        r->query.p = qm + 1;
        r->query.n = (size_t)(sp2 - (qm + 1));
    }
    /* A fragment is never sent by a client (RFC 9112 3.2). */
    if (memchr(t, '#', r->target.n))
        return fail(r, 400, LE_EPROTO);

    const char *v = sp2 + 1;
    size_t vn = (size_t)(end - v);
    if (vn != 8 || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' || v[6] != '.' ||
        v[7] < '0' || v[7] > '9')
        return fail(r, 400, LE_EPROTO);
    if (v[5] != '1')
        return fail(r, 505, LE_EPROTO);
    r->version_minor = v[7] - '0';
    return LE_OK;
}

static int parse_content_length(le_http_req *r, le_http_str v)
{
    int64_t cl = 0;
    if (v.n == 0 || v.n > 15)
        return fail(r, 400, LE_EPROTO);
    for (size_t i = 0; i < v.n; i++) {
        if (v.p[i] < '0' || v.p[i] > '9')
            return fail(r, 400, LE_EPROTO);
        cl = cl * 10 + (v.p[i] - '0');
    }
    if (r->content_length >= 0 && r->content_length != cl)
        return fail(r, 400, LE_EPROTO);   /* request smuggling guard */
    r->content_length = cl;
    return LE_OK;
}

/* Sets keep_alive from the Connection tokens. */
static void parse_connection(le_http_req *r, le_http_str v)
{
    size_t i = 0;
    while (i < v.n) {
        while (i < v.n && (v.p[i] == ' ' || v.p[i] == '\t' || v.p[i] == ','))
            i++;
        size_t s = i;
        while (i < v.n && v.p[i] != ',' && v.p[i] != ' ' && v.p[i] != '\t')
            i++;
        le_http_str tok = { v.p + s, i - s };
        if (le_http_str_eq(tok, "close"))
            r->keep_alive = 0;
        else if (le_http_str_eq(tok, "keep-alive"))
            r->keep_alive = 1;
    }
}

static int parse_header(le_http_req *r, const char *p, size_t n)
{
    const char *colon = memchr(p, ':', n);
    if (p[0] == ' ' || p[0] == '\t')
        return fail(r, 400, LE_EPROTO);   /* obs-fold: refused (RFC 9112 5.2) */
    if (!colon || colon == p)
        return fail(r, 400, LE_EPROTO);
    for (const char *q = p; q < colon; q++)
        if (!is_tchar((unsigned char)*q))
            return fail(r, 400, LE_EPROTO);   /* also "Name :" */
    const char *v = colon + 1, *e = p + n;
    for (const char *q = v; q < e; q++) {
        unsigned char c = (unsigned char)*q;
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return fail(r, 400, LE_EPROTO);   /* NUL, CR, other controls */
    }
    while (v < e && (*v == ' ' || *v == '\t'))
        v++;
    while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    if (r->nheaders >= LE_HTTP_MAX_NHEADERS)
        return fail(r, 431, LE_ETOOBIG);
    le_http_hdr *h = &r->headers[r->nheaders++];
    h->name.p = p;
    h->name.n = (size_t)(colon - p);
    h->value.p = v;
    h->value.n = (size_t)(e - v);

    if (le_http_str_eq(h->name, "host")) {
        if (r->host.p)
            return fail(r, 400, LE_EPROTO);   /* RFC 9112 3.2 */
        r->host = h->value;
    } else if (le_http_str_eq(h->name, "content-length")) {
        return parse_content_length(r, h->value);
    } else if (le_http_str_eq(h->name, "transfer-encoding")) {
        r->chunked_body = 1;
    } else if (le_http_str_eq(h->name, "connection")) {
        r->connection = h->value;
        parse_connection(r, h->value);
    } else if (le_http_str_eq(h->name, "range")) {
        r->range = h->value;
    } else if (le_http_str_eq(h->name, "referer")) {
        r->referer = h->value;
    } else if (le_http_str_eq(h->name, "origin")) {
        r->origin = h->value;
    } else if (le_http_str_eq(h->name, "user-agent")) {
        r->user_agent = h->value;
    } else if (le_http_str_eq(h->name, "access-control-request-method")) {
        r->acr_method = h->value;
    }
    return LE_OK;
}

int le_http_parse(const char *buf, size_t len, le_http_req *r)
{
    memset(r, 0, sizeof(*r));
    r->content_length = -1;

    /* RFC 9112 2.2: ignore empty lines before the request line (clients that
     * send an extra CRLF after a previous request). */
    size_t i = 0;
    while (i < len && (buf[i] == '\r' || buf[i] == '\n')) {
        if (i >= 8)
            return fail(r, 400, LE_EPROTO);
        i++;
    }
    size_t start = i;

    long lf = find_lf(buf, len, start, LE_HTTP_MAX_REQLINE + 2);
    if (lf < 0) {
        /* Judge what we have so far, so garbage fails now, not at the limit. */
        size_t have = len - start;
        for (size_t k = start; k < len && buf[k] != ' '; k++)
            if (!is_tchar((unsigned char)buf[k]) && buf[k] != '\r')
                return fail(r, 400, LE_EPROTO);
        for (size_t k = start; k < len; k++)
            if (buf[k] == '\0')
                return fail(r, 400, LE_EPROTO);
        if (have > LE_HTTP_MAX_REQLINE + 1)
            return fail(r, 414, LE_ETOOBIG);
        return LE_EAGAIN;
    }
    size_t rl = line_len(buf, start, (size_t)lf);
    if (rl > LE_HTTP_MAX_REQLINE)
        return fail(r, 414, LE_ETOOBIG);
    if (memchr(buf + start, '\r', rl))
        return fail(r, 400, LE_EPROTO);   /* bare CR inside the line */
    int rc = parse_request_line(r, buf + start, rl);
    if (rc != LE_OK)
        return rc;
    r->keep_alive = r->version_minor >= 1;

    size_t hstart = (size_t)lf + 1;
    i = hstart;
    for (;;) {
        size_t used = i - hstart;
        if (used > LE_HTTP_MAX_HEADERS)
            return fail(r, 431, LE_ETOOBIG);
        lf = find_lf(buf, len, i, LE_HTTP_MAX_HEADERS - used + 2);
        if (lf < 0) {
            if (len - hstart > LE_HTTP_MAX_HEADERS + 1)
                return fail(r, 431, LE_ETOOBIG);
            if (memchr(buf + i, '\0', len - i))
                return fail(r, 400, LE_EPROTO);
            return LE_EAGAIN;
        }
        size_t n = line_len(buf, i, (size_t)lf);
        if ((size_t)lf + 1 - hstart > LE_HTTP_MAX_HEADERS + 2)
            return fail(r, 431, LE_ETOOBIG);
        if (n == 0) {
            r->head_len = (size_t)lf + 1;
            break;
        }
        rc = parse_header(r, buf + i, n);
        if (rc != LE_OK)
            return rc;
        i = (size_t)lf + 1;
    }
    /* RFC 9112 3.2: a 1.1 request without Host is a 400. */
    if (r->version_minor >= 1 && !r->host.p)
        return fail(r, 400, LE_EPROTO);
    return LE_OK;
}

int le_http_range(le_http_str h, int64_t size, int64_t *from, int64_t *to)
{
    char v[65];
    if (!h.p || h.n < 7 || h.n > 64 || strncasecmp(h.p, "bytes=", 6) != 0)
        return 0;
    memcpy(v, h.p + 6, h.n - 6);
    v[h.n - 6] = '\0';
    if (strchr(v, ','))
        return 0;
    char *dash = strchr(v, '-');
    if (!dash)
        return 0;
    *dash = '\0';
    const char *a = v, *b = dash + 1;
    for (const char *q = a; *q; q++)
        if (*q < '0' || *q > '9')
            return 0;
    for (const char *q = b; *q; q++)
        if (*q < '0' || *q > '9')
            return 0;
    if (!*a && !*b)
        return 0;
    /* Over 18 digits is more than any size here. */
    int64_t last = !*b ? INT64_MAX : strlen(b) > 18 ? INT64_MAX : strtoll(b, NULL, 10);
    if (!*a) {   /* the last n bytes */
        if (last == 0 || size <= 0)
            return LE_EINVAL;
        *from = last >= size ? 0 : size - last;
        *to = size - 1;
        return 1;
    }
    if (strlen(a) > 18)
        return LE_EINVAL;
    int64_t first = strtoll(a, NULL, 10);
    if (*b && last < first)
        return 0;
    if (first >= size)
        return LE_EINVAL;
    *from = first;
    *to = last >= size ? size - 1 : last;
    return 1;
}

/* RFC 9110 8.8.3 and 13.1.2: If-None-Match = "*" / #entity-tag, entity-tag =
 * [ "W/" ] DQUOTE *etagc DQUOTE, compared weakly (the W/ prefixes are
 * ignored, the opaque tags must be equal byte for byte). */
int le_http_etag_match(le_http_str h, const char *etag)
{
    if (!h.p || !etag)
        return 0;
    const char *e = etag;
    size_t en = strlen(e);
    if (en >= 2 && e[0] == 'W' && e[1] == '/') {
        e += 2;
        en -= 2;
    }
    if (en < 2 || e[0] != '"' || e[en - 1] != '"')
        return 0;
    size_t i = 0, n = h.n, seen = 0;
    const char *p = h.p;
    while (i < n) {
        while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == ','))
            i++;
        if (i == n)
            break;
        if (p[i] == '*') {
            /* "*" alone matches any current representation; inside a list it
             * is malformed, and a malformed field is ignored. */
            size_t j = i + 1;
            while (j < n && (p[j] == ' ' || p[j] == '\t'))
                j++;
            return !seen && j == n;
        }
        seen++;
        if (n - i >= 2 && p[i] == 'W' && p[i + 1] == '/')
            i += 2;
        if (i >= n || p[i] != '"')
            return 0;   /* not an entity-tag: the whole field is ignored */
        size_t s = i++;
        while (i < n && p[i] != '"')
            i++;
        if (i == n)
            return 0;
        size_t tl = ++i - s;
        while (i < n && (p[i] == ' ' || p[i] == '\t'))
            i++;
        if (i < n && p[i] != ',')
            return 0;
        if (tl == en && memcmp(p + s, e, en) == 0)
            return 1;
    }
    return 0;
}
