/* Recordings over the HTTP port (record/rec_http.h). The route is a prefix
 * route: the server resolves the domain (vhost argument, Host header,
 * default_domain) and its CORS origin, and this handler decodes the path,
 * runs the domain's access checks (IP lists, referer lists, URL signature
 * on the URI "/record/{bucket}/{key}", query forms only) and sends the file.
 * On the loop it only opens and fstats the file; the bytes go out with
 * sendfile (evbuffer_add_file). */
#include "record/rec_http.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "auth/access.h"
#include "conf/conf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "http/parser.h"
#include "http/server.h"
#include "node.h"
#include "record/recorder.h"
#include "record/tmpl.h"

#define MOD "record"
#define PREFIX "/record/"

static void not_found(le_http_conn *c, const char *why)
{
    le_info(MOD, "#%llu %s: 404 %s", (unsigned long long)le_http_conn_id(c), le_http_conn_peer(c), why);
    le_http_reply_error(c, 404, "NotFound", "no such recording");
}

/* The decoded "{bucket}/{key}" of a raw path below PREFIX into out, with
 * *key pointing at the key: LE_OK, or LE_EINVAL for an empty, ".", ".."
 * segment, a bad escape, an encoded '/', a backslash, NUL or control byte,
 * a bucket outside the name charset, or a key that is too long. */
static int decode_path(const char *p, size_t n, char *out, size_t outsz, const char **key)
{
    size_t o = 0, i = 0;
    int nseg = 0;
    *key = NULL;
    while (i < n) {
        size_t e = i;
        while (e < n && p[e] != '/')
            e++;
        char seg[LE_REC_KEY_MAX + 8];
        int len = e > i ? le_url_decode(p + i, e - i, seg, sizeof(seg), 0) : LE_EINVAL;
        if (len <= 0 || strcmp(seg, ".") == 0 || strcmp(seg, "..") == 0)
            return LE_EINVAL;
        for (int k = 0; k < len; k++)
            if ((unsigned char)seg[k] < 0x20 || seg[k] == 0x7f || seg[k] == '/' || seg[k] == '\\')
                return LE_EINVAL;
        if (nseg == 0 && (!le_name_valid(seg, (size_t)len) || len >= 64))
            return LE_EINVAL;
        if (o + (size_t)len + 2 > outsz)
            return LE_EINVAL;
        if (nseg > 0)
            out[o++] = '/';
        if (nseg == 1)
            *key = out + o;
        memcpy(out + o, seg, (size_t)len);
        o += (size_t)len;
        nseg++;
        i = e + 1;
        if (e == n - 1)   /* a trailing '/': a directory */
            return LE_EINVAL;
    }
    out[o] = '\0';
    if (nseg < 2 || strlen(*key) > LE_REC_KEY_MAX)
        return LE_EINVAL;
    return LE_OK;
}

static const char *ctype_of(const char *key)
{
    const char *dot = strrchr(key, '.');
    if (!dot || strchr(dot, '/'))
        return "application/octet-stream";
    if (strcasecmp(dot, ".flv") == 0)
        return "video/x-flv";
    if (strcasecmp(dot, ".mp4") == 0)
        return "video/mp4";
    if (strcasecmp(dot, ".m3u8") == 0)
        return "application/vnd.apple.mpegurl";
    if (strcasecmp(dot, ".ts") == 0)
        return "video/mp2t";
    if (strcasecmp(dot, ".jpg") == 0)
        return "image/jpeg";   /* snapshots (docs/SNAPSHOT.md) */
    return "application/octet-stream";
}

static void serve(le_http_conn *c, const le_http_route *rt)
{
    const le_http_req *r = rt->req;
    if (!rt->dom) {
        le_info(MOD, "#%llu %s: 403 unknown domain", (unsigned long long)le_http_conn_id(c), le_http_conn_peer(c));
        le_http_reply_error(c, 403, "InvalidDomain.NotFound", "the domain is not served here");
        return;
    }
    char rel[LE_REC_KEY_MAX + 80];
    const char *key;
    size_t pl = strlen(PREFIX);
    if (r->path.n <= pl || decode_path(r->path.p + pl, r->path.n - pl, rel, sizeof(rel), &key) != LE_OK) {
        not_found(c, "bad recording path");
        return;
    }
    size_t kl = strlen(key);
    if (kl >= 4 && strcmp(key + kl - 4, ".tmp") == 0) {
        not_found(c, "unfinished file");
        return;
    }

    /* Access: the signed URI is the decoded path; tx_secret signs the file
     * name without its extension. */
    char uri[sizeof(rel) + 16], name[LE_REC_KEY_MAX + 8], query[LE_HTTP_MAX_REQLINE + 1], referer[1024], why[256];
    snprintf(uri, sizeof(uri), PREFIX "%s", rel);
    const char *base = strrchr(key, '/') ? strrchr(key, '/') + 1 : key;
    snprintf(name, sizeof(name), "%s", base);
    char *dot = strrchr(name, '.');
    if (dot && dot != name)
        *dot = '\0';
    snprintf(query, sizeof(query), "%.*s", r->query.p ? (int)r->query.n : 0, r->query.p ? r->query.p : "");
    snprintf(referer, sizeof(referer), "%.*s", r->referer.p ? (int)r->referer.n : 0,
             r->referer.p ? r->referer.p : "");
    if (le_access_check_http(rt->dom, le_http_conn_peer_ip(c), r->referer.p ? referer : NULL, name, uri, query,
                             NULL, NULL, le_wall_ms() / 1000, NULL, why, sizeof(why)) != 0) {
        le_info(MOD, "#%llu %s: 403 %s", (unsigned long long)le_http_conn_id(c), le_http_conn_peer(c), why);
        le_http_reply_error(c, 403, "AccessDenied", "Access denied.");
        return;
    }

    const char *root = le_record_root();
    char path[PATH_MAX];
    if (!root || (size_t)snprintf(path, sizeof(path), "%s/%s", root, rel) >= sizeof(path)) {
        not_found(c, "path too long");
        return;
    }
    /* A regular file on a local disk: open and fstat only, never a read. */
    int64_t size, from = 0, to;
    int fd = le_http_open_file(path, &size);
    if (fd < 0) {
        not_found(c, "no such file");
        return;
    }
    to = size - 1;
    int rg = le_http_range(r->range, size, &from, &to);
    char extra[256];
    if (rg < 0) {
        close(fd);
        snprintf(extra, sizeof(extra), "Content-Range: bytes */%" PRId64 "\r\n", size);
        le_http_reply_head(c, 416, NULL, 0, extra);
        le_http_conn_done(c);
        return;
    }
    int64_t len = rg > 0 ? to - from + 1 : size;
    /* Exposed so that a page's script player reading ranges across origins
     * learns the file's size (docs/RECORD.md, "Playing recordings"). */
#define EXPOSE "Access-Control-Expose-Headers: Content-Range, Accept-Ranges\r\n"
    if (rg > 0)
        snprintf(extra, sizeof(extra),
                 "Accept-Ranges: bytes\r\nContent-Range: bytes %" PRId64 "-%" PRId64 "/%" PRId64 "\r\n"
                 "Cache-Control: max-age=3600\r\n" EXPOSE,
                 from, to, size);
    else
        snprintf(extra, sizeof(extra), "Accept-Ranges: bytes\r\nCache-Control: max-age=3600\r\n" EXPOSE);
#undef EXPOSE
    le_http_reply_head(c, rg > 0 ? 206 : 200, ctype_of(key), len, extra);
    le_http_send_file(c, fd, from, len, rt->head, path);
}

static const le_http_route_def record_route = { "record", PREFIX, NULL, serve, 20,
                                                LE_HTTP_ROUTE_OPEN | LE_HTTP_ROUTE_PREFIX };

void le_rec_http_init(void)
{
    le_http_route_add(&record_route);
}
