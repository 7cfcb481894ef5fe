#include "auth/acl.h"
#include "core/err.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define SEPS ", \t\r\n"

/* Iterates the entries of a list: *pos advances; returns the entry length
 * (0 at the end) with *ent pointing at it. */
static size_t next_entry(const char **pos, const char **ent)
{
    const char *p = *pos;
    p += strspn(p, SEPS);
    size_t n = strcspn(p, SEPS);
    *ent = p;
    *pos = p + n;
    return n;
}

static void copy_bad(const char *s, size_t n, char *bad, size_t badsz)
{
    if (badsz)
        snprintf(bad, badsz, "%.*s", (int)(n < badsz ? n : badsz - 1), s);
}

/* ---- IP lists ---- */

/* ::ffff:a.b.c.d -> IPv4 (prefix lengths shift by 96). */
static void unmap(le_acl_ip *a)
{
    static const uint8_t pre[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    if (a->v6 && a->bits >= 96 && memcmp(a->addr, pre, 12) == 0) {
        memmove(a->addr, a->addr + 12, 4);
        memset(a->addr + 4, 0, 12);
        a->v6 = 0;
        a->bits -= 96;
    }
}

int le_acl_ip_parse(const char *s, size_t n, le_acl_ip *out)
{
    char buf[INET6_ADDRSTRLEN + 8];
    if (n == 0 || n >= sizeof(buf))
        return LE_EINVAL;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *slash = strchr(buf, '/');
    if (slash)
        *slash = '\0';
    memset(out, 0, sizeof(*out));
    int maxbits;
    if (inet_pton(AF_INET, buf, out->addr) == 1) {
        maxbits = 32;
    } else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
        out->v6 = 1;
        maxbits = 128;
    } else {
        return LE_EINVAL;
    }
    out->bits = maxbits;
    if (slash) {
        const char *p = slash + 1;
        size_t pl = strlen(p);
        if (pl < 1 || pl > 3)
            return LE_EINVAL;
        int bits = 0;
        for (size_t i = 0; i < pl; i++) {
            if (p[i] < '0' || p[i] > '9')
                return LE_EINVAL;
            bits = bits * 10 + (p[i] - '0');
        }
        if (bits > maxbits)
            return LE_EINVAL;
        out->bits = bits;
    }
    unmap(out);
    return 0;
}

int le_acl_ip_list_check(const char *list, char *bad, size_t badsz)
{
    const char *pos = list ? list : "", *e;
    size_t n;
    le_acl_ip a;
    while ((n = next_entry(&pos, &e)) > 0)
        if (le_acl_ip_parse(e, n, &a) != 0) {
            copy_bad(e, n, bad, badsz);
            return LE_EINVAL;
        }
    return 0;
}

static int in_block(const le_acl_ip *net, const le_acl_ip *ip)
{
    if (net->v6 != ip->v6)
        return 0;
    int full = net->bits / 8, rest = net->bits % 8;
    if (memcmp(net->addr, ip->addr, (size_t)full) != 0)
        return 0;
    if (rest) {
        uint8_t mask = (uint8_t)(0xff << (8 - rest));
        if ((net->addr[full] & mask) != (ip->addr[full] & mask))
            return 0;
    }
    return 1;
}

int le_acl_ip_list_match(const char *list, const char *client_ip)
{
    le_acl_ip ip, net;
    if (!list || !client_ip || le_acl_ip_parse(client_ip, strlen(client_ip), &ip) != 0 ||
        strchr(client_ip, '/'))
        return 0;
    const char *pos = list, *e;
    size_t n;
    while ((n = next_entry(&pos, &e)) > 0)
        if (le_acl_ip_parse(e, n, &net) == 0 && in_block(&net, &ip))
            return 1;
    return 0;
}

/* ---- referer lists ---- */

static int host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_';
}

/* Reduces a URL or host (n bytes) to its lower-case host: scheme, userinfo,
 * port, path, query and a trailing dot dropped, IPv6 brackets removed.
 * 0, or LE_EINVAL if nothing host-like remains or it does not fit. */
static int url_host(const char *s, size_t n, char *out, size_t outsz)
{
    const char *end = s + n;
    const char *p = s;
    for (const char *q = s; q + 2 < end; q++) {
        if (q[0] == ':' && q[1] == '/' && q[2] == '/') {
            p = q + 3;
            break;
        }
        if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || *q == '+' || *q == '.' ||
              *q == '-' || (q > s && *q >= '0' && *q <= '9')))
            break;
    }
    if (p == s && n >= 2 && s[0] == '/' && s[1] == '/')   /* scheme-relative */
        p = s + 2;
    const char *auth_end = p;
    while (auth_end < end && *auth_end != '/' && *auth_end != '?' && *auth_end != '#')
        auth_end++;
    const char *at = NULL;
    for (const char *q = p; q < auth_end; q++)
        if (*q == '@')
            at = q;
    if (at)
        p = at + 1;
    const char *h = p, *he;
    if (h < auth_end && *h == '[') {
        he = memchr(h, ']', (size_t)(auth_end - h));
        if (!he)
            return LE_EINVAL;
        h++;
    } else {
        he = memchr(h, ':', (size_t)(auth_end - h));
        if (!he)
            he = auth_end;
    }
    size_t hl = (size_t)(he - h);
    if (hl > 0 && h[hl - 1] == '.')
        hl--;
    if (hl == 0 || hl >= outsz)
        return LE_EINVAL;
    for (size_t i = 0; i < hl; i++) {
        char c = h[i];
        if (!host_char(c) && c != ':' && c != '*')
            return LE_EINVAL;
        out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    out[hl] = '\0';
    return 0;
}

int le_acl_referer_host(const char *referer, char *host, size_t hostsz)
{
    if (!referer)
        return LE_EINVAL;
    size_t n = strlen(referer);
    while (n && (referer[n - 1] == ' ' || referer[n - 1] == '\t'))
        n--;
    while (n && (*referer == ' ' || *referer == '\t')) {
        referer++;
        n--;
    }
    if (url_host(referer, n, host, hostsz) != 0 || strchr(host, '*'))
        return LE_EINVAL;
    return 0;
}

/* A list entry: "*", "*.suffix" or a host. */
static int pattern_ok(const char *h)
{
    if (strcmp(h, "*") == 0)
        return 1;
    if (strncmp(h, "*.", 2) == 0)
        h += 2;
    if (!*h || *h == '.' || strchr(h, '*') || strstr(h, ".."))
        return 0;
    return 1;
}

int le_acl_domain_list_check(const char *list, char *bad, size_t badsz)
{
    const char *pos = list ? list : "", *e;
    size_t n;
    char h[256];
    while ((n = next_entry(&pos, &e)) > 0)
        if (url_host(e, n, h, sizeof(h)) != 0 || !pattern_ok(h)) {
            copy_bad(e, n, bad, badsz);
            return LE_EINVAL;
        }
    return 0;
}

/* host ends with "." + suffix. */
static int label_suffix(const char *host, const char *suffix)
{
    size_t hl = strlen(host), sl = strlen(suffix);
    return hl > sl && host[hl - sl - 1] == '.' && strcasecmp(host + hl - sl, suffix) == 0;
}

int le_acl_domain_list_match(const char *list, const char *host)
{
    if (!list || !host || !*host)
        return 0;
    const char *pos = list, *e;
    size_t n;
    char pat[256];
    while ((n = next_entry(&pos, &e)) > 0) {
        if (url_host(e, n, pat, sizeof(pat)) != 0 || !pattern_ok(pat))
            continue;
        if (strcmp(pat, "*") == 0)
            return 1;
        if (strncmp(pat, "*.", 2) == 0) {
            if (label_suffix(host, pat + 2))
                return 1;
        } else if (strcasecmp(host, pat) == 0 || label_suffix(host, pat)) {
            return 1;
        }
    }
    return 0;
}
