#include "relay/url.h"
#include "relay/client.h"
#include "core/err.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int copy_n(char *out, size_t outsz, const char *s, size_t n)
{
    if (n >= outsz)
        return LE_EINVAL;
    memcpy(out, s, n);
    out[n] = 0;
    return LE_OK;
}

int le_relay_hostport(const char *s, char *host, size_t hostsz, int *port)
{
    const char *colon;
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb == s + 1 || copy_n(host, hostsz, s + 1, (size_t)(rb - s - 1)) != LE_OK)
            return LE_EINVAL;
        colon = rb[1] == ':' ? rb + 1 : NULL;
        if (!colon && rb[1])
            return LE_EINVAL;
    } else {
        colon = strrchr(s, ':');
        size_t hl = colon ? (size_t)(colon - s) : strlen(s);
        if (hl == 0 || copy_n(host, hostsz, s, hl) != LE_OK || memchr(s, ':', hl))
            return LE_EINVAL;
    }
    if (!colon)
        return LE_OK;   /* port left as the caller set it */
    char *e;
    if (!isdigit((unsigned char)colon[1]))
        return LE_EINVAL;
    long p = strtol(colon + 1, &e, 10);
    if (*e || p < 1 || p > 65535)
        return LE_EINVAL;
    *port = (int)p;
    return LE_OK;
}

int le_relay_url_parse(const char *url, le_relay_url *u)
{
    memset(u, 0, sizeof(*u));
    const char *s;
    if (!url)
        return LE_EINVAL;
    if (strncasecmp(url, "rtmp://", 7) == 0) {
        u->scheme = LE_URL_RTMP;
        u->port = 1935;
        s = url + 7;
    } else if (strncasecmp(url, "rtmps://", 8) == 0) {
        u->scheme = LE_URL_RTMPS;
        u->port = 443;
        s = url + 8;
    } else if (strncasecmp(url, "http://", 7) == 0) {
        u->scheme = LE_URL_HTTP;
        u->port = 80;
        s = url + 7;
    } else if (strncasecmp(url, "https://", 8) == 0) {
        u->scheme = LE_URL_HTTPS;
        u->port = 443;
        s = url + 8;
    } else {
        return LE_EINVAL;
    }
    for (const char *q = url; *q; q++)
        if ((unsigned char)*q <= 0x20 || *q == 0x7f)
            return LE_EINVAL;   /* no spaces or controls: they would end a header or a log line */
    size_t al = strcspn(s, "/?#");
    const char *rest = s + al;
    /* Credentials (user:pass@) are dropped. */
    const char *at = memchr(s, '@', al);
    const char *auth = at ? at + 1 : s;
    size_t authl = al - (size_t)(auth - s);
    if (authl == 0 || copy_n(u->authority, sizeof(u->authority), auth, authl) != LE_OK)
        return LE_EINVAL;
    if (le_relay_hostport(u->authority, u->host, sizeof(u->host), &u->port) != LE_OK)
        return LE_EINVAL;
    if (!LE_URL_IS_RTMP(u->scheme)) {
        size_t fl = strcspn(rest, "#");
        if (fl == 0)
            return copy_n(u->target, sizeof(u->target), "/", 1);
        if (rest[0] == '?') {   /* "http://h?q": path "/" */
            u->target[0] = '/';
            return copy_n(u->target + 1, sizeof(u->target) - 1, rest, fl);
        }
        return copy_n(u->target, sizeof(u->target), rest, fl);
    }
    if (rest[0] != '/')
        return LE_EINVAL;
    const char *path = rest + 1;
    size_t pl = strcspn(path, "?#");
    const char *slash = NULL;
    for (size_t i = 0; i < pl; i++)
        if (path[i] == '/')
            slash = path + i;
    if (!slash)
        return LE_EINVAL;   /* rtmp://host/stream: no app */
    size_t appl = (size_t)(slash - path);
    const char *st = slash + 1;
    size_t stl = strcspn(st, "#");
    if (appl == 0 || (size_t)(path + pl - st) == 0)
        return LE_EINVAL;   /* no app or no stream name */
    if (copy_n(u->app, sizeof(u->app), path, appl) != LE_OK ||
        copy_n(u->stream, sizeof(u->stream), st, stl) != LE_OK)
        return LE_EINVAL;
    int w = snprintf(u->tcurl, sizeof(u->tcurl), "%s://%s/%s", u->scheme == LE_URL_RTMPS ? "rtmps" : "rtmp",
                     u->authority, u->app);
    return w < 0 || (size_t)w >= sizeof(u->tcurl) ? LE_EINVAL : LE_OK;
}

int le_relay_url_resolve(const char *base, const char *loc, char *out, size_t n)
{
    int w;
    if (strstr(loc, "://")) {
        w = snprintf(out, n, "%s", loc);
    } else if (loc[0] == '/' && loc[1] == '/') {
        const char *c = strchr(base, ':');
        w = snprintf(out, n, "%.*s:%s", c ? (int)(c - base) : 4, c ? base : "http", loc);
    } else {
        const char *sch = strstr(base, "://");
        const char *hs = sch ? sch + 3 : base;
        size_t hl = strcspn(hs, "/?#");
        if (loc[0] == '/') {
            w = snprintf(out, n, "%.*s%s", (int)(hs + hl - base), base, loc);
        } else {
            /* Relative: replaces the last path segment (and the query). */
            const char *p = hs + hl;
            size_t pl = strcspn(p, "?#");
            const char *last = NULL;
            for (size_t i = 0; i < pl; i++)
                if (p[i] == '/')
                    last = p + i;
            if (!last)
                w = snprintf(out, n, "%.*s/%s", (int)(hs + hl - base), base, loc);
            else
                w = snprintf(out, n, "%.*s%s", (int)(last + 1 - base), base, loc);
        }
    }
    return w < 0 || (size_t)w >= n ? LE_EINVAL : LE_OK;
}

/* Query parameter names whose values are secrets. */
static int secret_name(const char *k, size_t n)
{
    static const char *const names[] = { "txSecret", "auth_key", "sign", "token", "secret", "key" };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strlen(names[i]) == n && strncasecmp(k, names[i], n) == 0)
            return 1;
    for (size_t i = 0; i + 9 <= n; i++)
        if (strncasecmp(k + i, "signature", 9) == 0)
            return 1;
    return 0;
}

char *le_relay_mask_url(const char *url, char *out, size_t n)
{
    if (!out || n == 0)
        return out;
    out[0] = 0;
    if (!url)
        return out;
    size_t o = 0;
#define PUT(p, len) do { size_t l_ = (len); if (l_ > n - 1 - o) l_ = n - 1 - o; memcpy(out + o, (p), l_); o += l_; } while (0)
    const char *s = url;
    const char *sch = strstr(url, "://");
    if (sch && (size_t)(sch - url) < strcspn(url, "/?#")) {
        PUT(url, (size_t)(sch + 3 - url));
        s = sch + 3;
        size_t al = strcspn(s, "/?#");
        const char *at = NULL;
        for (size_t i = 0; i < al; i++)
            if (s[i] == '@')
                at = s + i;
        if (at) {
            PUT("***@", 4);
            s = at + 1;
        }
    }
    size_t pl = strcspn(s, "?#");
    PUT(s, pl);
    s += pl;
    if (*s == '?') {
        PUT("?", 1);
        s++;
        while (*s && *s != '#') {
            size_t fl = strcspn(s, "&#");
            size_t kl = strcspn(s, "=&#");
            PUT(s, kl);
            if (kl < fl) {   /* has a value */
                PUT("=", 1);
                if (secret_name(s, kl))
                    PUT("***", 3);
                else
                    PUT(s + kl + 1, fl - kl - 1);
            }
            s += fl;
            if (*s == '&') {
                PUT("&", 1);
                s++;
            }
        }
    }
    if (*s == '#')
        PUT(s, strlen(s));
#undef PUT
    out[o] = 0;
    return out;
}
