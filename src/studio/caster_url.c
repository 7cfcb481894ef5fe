/* A caster's LiveStreamUrl split into scheme, host, port, app and stream
 * (studio/caster_url.h). Pure. */
#include "studio/caster_url.h"

#include <string.h>

#include "core/err.h"
#include "core/util.h"

int le_cst_url_split(const char *url, le_cst_url *u)
{
    memset(u, 0, sizeof(*u));
    const char *sep = strstr(url, "://");
    if (!sep || (size_t)(sep - url) >= sizeof(u->scheme))
        return LE_EINVAL;
    memcpy(u->scheme, url, (size_t)(sep - url));
    for (char *p = u->scheme; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    const char *a = sep + 3, *ae = a;
    while (*ae && *ae != '/' && *ae != '?' && *ae != '#')
        ae++;
    const char *at = NULL;
    for (const char *p = a; p < ae; p++)
        if (*p == '@')
            at = p;
    if (at)
        a = at + 1;
    const char *hend = ae, *colon = NULL;
    if (*a == '[') {
        const char *rb = memchr(a, ']', (size_t)(ae - a));
        if (!rb)
            return LE_EINVAL;
        a++;
        hend = rb;
        if (rb + 1 < ae && rb[1] != ':')
            return LE_EINVAL;
        if (rb + 1 < ae)
            colon = rb + 1;
    } else {
        colon = memchr(a, ':', (size_t)(ae - a));
        if (colon)
            hend = colon;
    }
    if (hend <= a || (size_t)(hend - a) >= sizeof(u->host))
        return LE_EINVAL;
    memcpy(u->host, a, (size_t)(hend - a));
    if (colon) {
        long port = 0;
        const char *d = colon + 1;
        if (d == ae || ae - d > 5)
            return LE_EINVAL;
        for (; d < ae; d++) {
            if (*d < '0' || *d > '9')
                return LE_EINVAL;
            port = port * 10 + (*d - '0');
        }
        if (port < 1 || port > 65535)
            return LE_EINVAL;
        u->port = (int)port;
    }
    /* /app/name[.flv|.m3u8][?...] */
    const char *p = ae;
    if (*p != '/')
        return LE_EINVAL;
    p++;
    const char *sl = strchr(p, '/');
    if (!sl || sl == p || (size_t)(sl - p) >= sizeof(u->app))
        return LE_EINVAL;
    memcpy(u->app, p, (size_t)(sl - p));
    p = sl + 1;
    size_t n = strcspn(p, "?#");
    if (n == 0 || n >= sizeof(u->name) || memchr(p, '/', n))
        return LE_EINVAL;
    memcpy(u->name, p, n);
    size_t nl = strlen(u->name);
    if (nl > 4 && strcmp(u->name + nl - 4, ".flv") == 0)
        u->name[nl - 4] = '\0';
    else if (nl > 5 && strcmp(u->name + nl - 5, ".m3u8") == 0)
        u->name[nl - 5] = '\0';
    if (!le_name_valid(u->app, strlen(u->app)) || !le_name_valid(u->name, strlen(u->name)))
        return LE_EINVAL;
    return LE_OK;
}

