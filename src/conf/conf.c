/* The configuration file parser (livedge.conf(5)). Pure except le_conf_load, which
 * reads the file, and le_conf_defaults, which asks for the host name.
 *
 * The structs themselves (defaults, copies, frees) are conf/model.c's.
 *
 * Grammar, nginx-like:
 *   file      := stmt*
 *   stmt      := word+ ';' | word+ '{' stmt* '}'
 *   word      := bare | "double" | 'single'     (backslash takes the next
 *                                               character literally)
 *   '#' at the start of a token comments to the end of the line.
 * Blocks: top level admin { }, car { } and domain NAME { }; inside a domain,
 * aliauth { }, push_aliauth { } and push { } (several). Nothing nests deeper
 * than two levels, so the parser keeps an explicit three-entry context stack
 * and never recurses: a file of 10,000 '{' is one error, not a stack overflow. */
#include "conf/conf.h"
#include "auth/acl.h"
#include "core/err.h"
#include "core/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Limits on what a file may make us allocate. The file is trusted (root
 * wrote it), but a typo such as a missing quote must still fail fast. */
#define TOKEN_MAX (64 * 1024)   /* bytes in one word */
#define WORDS_MAX 4096          /* words in one statement (long IP lists) */
#define DOMAINS_MAX 4096        /* duplicate checks are quadratic */
#define FILE_MAX (16 * 1024 * 1024)
#define TLS_SKIP_MAX 256        /* tls_verify_skip entries */
#define TLS_SECRET_MIN 16       /* tls_key_secret characters */


/* ---- value syntax -------------------------------------------------------- */

/* Decimal port, 0-65535, nothing else. */
static int parse_port(const char *s, unsigned *port)
{
    size_t n = strlen(s);
    if (n < 1 || n > 5)
        return LE_EINVAL;
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return LE_EINVAL;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > 65535)
        return LE_EINVAL;
    *port = v;
    return 0;
}

int le_conf_listen_addr(const char *s, struct sockaddr_storage *ss, socklen_t *sslen)
{
    char host[INET6_ADDRSTRLEN + 1];
    const char *portp;
    size_t hlen;
    int v6 = 0;
    unsigned port;

    if (!s)
        return LE_EINVAL;
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':')
            return LE_EINVAL;
        hlen = (size_t)(rb - s - 1);
        if (hlen >= sizeof(host))
            return LE_EINVAL;
        memcpy(host, s + 1, hlen);
        portp = rb + 2;
        v6 = 1;
    } else {
        const char *colon = strchr(s, ':');
        if (!colon || strchr(colon + 1, ':'))
            return LE_EINVAL;      /* a bare IPv6 address needs brackets */
        hlen = (size_t)(colon - s);
        if (hlen >= sizeof(host))
            return LE_EINVAL;
        memcpy(host, s, hlen);
        portp = colon + 1;
    }
    host[hlen] = '\0';
    if (parse_port(portp, &port) != 0)
        return LE_EINVAL;

    struct sockaddr_storage tmp;
    memset(&tmp, 0, sizeof(tmp));
    socklen_t len;
    if (v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&tmp;
        if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
            return LE_EINVAL;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        len = sizeof(*a);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&tmp;
        if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
            return LE_EINVAL;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        len = sizeof(*a);
    }
    if (ss)
        *ss = tmp;
    if (sslen)
        *sslen = len;
    return 0;
}

/* A DNS-style name: letters, digits, '-', '_', '.', no empty label. */
static int host_valid(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 253 || s[0] == '.' || s[n - 1] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '.' && s[i + 1] == '.')
            return 0;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return 0;
    }
    return 1;
}

/* "embedded", "unix:/path", or HOST:PORT with a name, IPv4 or [IPv6]. */
static int redis_valid(const char *s)
{
    if (strcmp(s, "embedded") == 0)
        return 1;
    if (strncmp(s, "unix:", 5) == 0)
        return s[5] != '\0';
    unsigned port;
    const char *colon;
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':')
            return 0;
        char h[INET6_ADDRSTRLEN + 1];
        size_t hl = (size_t)(rb - s - 1);
        struct in6_addr a;
        if (hl >= sizeof(h))
            return 0;
        memcpy(h, s + 1, hl);
        h[hl] = '\0';
        if (inet_pton(AF_INET6, h, &a) != 1)
            return 0;
        colon = rb + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || colon == s)
            return 0;
        char h[254];
        size_t hl = (size_t)(colon - s);
        if (hl >= sizeof(h))
            return 0;
        memcpy(h, s, hl);
        h[hl] = '\0';
        if (!host_valid(h))
            return 0;
    }
    return parse_port(colon + 1, &port) == 0 && port != 0;
}

/* One IP list entry: an IPv4 or IPv6 address, optionally "/prefix". */
static int cidr_valid(const char *s, size_t n)
{
    char buf[INET6_ADDRSTRLEN + 8];
    if (n == 0 || n >= sizeof(buf))
        return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *slash = strchr(buf, '/');
    int maxbits;
    unsigned char a[16];
    if (slash)
        *slash = '\0';
    if (inet_pton(AF_INET, buf, a) == 1)
        maxbits = 32;
    else if (inet_pton(AF_INET6, buf, a) == 1)
        maxbits = 128;
    else
        return 0;
    if (slash) {
        const char *p = slash + 1;
        size_t pl = strlen(p);
        if (pl < 1 || pl > 3)
            return 0;
        int bits = 0;
        for (size_t i = 0; i < pl; i++) {
            if (p[i] < '0' || p[i] > '9')
                return 0;
            bits = bits * 10 + (p[i] - '0');
        }
        if (bits > maxbits)
            return 0;
    }
    return 1;
}

/* One referer list entry, as auth/acl.h will match it. */
static int referer_valid(const char *s, size_t n)
{
    char buf[300], bad[2];
    if (n == 0 || n >= sizeof(buf))
        return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return le_acl_domain_list_check(buf, bad, sizeof(bad)) == 0;
}

/* Plain decimal integer, no sign. */
static int parse_uint(const char *s, int64_t *out)
{
    if (!*s)
        return LE_EINVAL;
    int64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return LE_EINVAL;
        v = v * 10 + (*p - '0');
        if (v > 1000000000000LL)
            return LE_EINVAL;
    }
    *out = v;
    return 0;
}

/* Bytes: a decimal integer with an optional binary k, m or g suffix. */
static int parse_size(const char *s, int64_t *out)
{
    size_t n = strlen(s);
    int64_t mul = 1;
    if (n > 1) {
        switch (s[n - 1]) {
        case 'k': case 'K': mul = 1LL << 10; break;
        case 'm': case 'M': mul = 1LL << 20; break;
        case 'g': case 'G': mul = 1LL << 30; break;
        default: break;
        }
    }
    char buf[32];
    size_t dl = mul == 1 ? n : n - 1;
    if (dl == 0 || dl >= sizeof(buf))
        return LE_EINVAL;
    memcpy(buf, s, dl);
    buf[dl] = '\0';
    int64_t v;
    if (parse_uint(buf, &v) != 0 || v > (1LL << 40))
        return LE_EINVAL;
    *out = v * mul;
    return 0;
}

/* ---- the key table ------------------------------------------------------- */

enum { C_MAIN, C_ADMIN, C_DOMAIN, C_AUTH, C_PUSHAUTH, C_PUSH, C_CAR, C_S3 };
static const char *const ctx_names[] = { "top level", "admin", "domain", "aliauth", "push_aliauth", "push", "car", "s3" };

enum {
    V_BLOCK,    /* opens a block */
    V_STR,      /* any non-empty string */
    V_OPTSTR,   /* string, "" means unset (NULL) */
    V_EMPTYOK,  /* string, "" kept as "" (never NULL) */
    V_HOST,     /* domain name, stored in lower case */
    V_LISTEN,   /* IPv4:PORT or [IPv6]:PORT */
    V_REDIS,
    V_URL,      /* http:// or https:// */
    V_DUR,      /* duration, stored in ms */
    V_SECS,     /* duration, stored in whole seconds */
    V_BOOL,     /* on|off */
    V_INT,
    V_SIZE,     /* bytes with optional k/m/g */
    V_ENUM,     /* one of names[]; F_STR stores the word, else the index */
    V_IPLIST,   /* addresses/CIDRs, comma and/or space separated */
    V_REFLIST,  /* referer host patterns (auth/acl.h), same separators */
    V_TARGETS,  /* push targets: rtmp:// URL templates, one or more a statement, repeatable */
    V_SKIPLIST  /* tls_verify_skip: HOST[:PORT] words, one or more a statement, repeatable */
};
enum { F_NONE, F_STR, F_I64, F_INT, F_U32, F_SIZE };

typedef struct keydef {
    const char *name;
    unsigned char ctx, vt, ft;
    size_t off;                 /* into le_conf (C_MAIN, C_ADMIN, C_CAR, C_S3) or le_conf_domain */
    int64_t min, max;           /* for numbers, in the stored unit */
    const char *const *names;   /* V_ENUM */
    const char *what;           /* V_ENUM: the allowed words, for the message */
} keydef;

static const char *const takeover_names[] = { "idle", "always", "never", NULL };
static const char *const auth_names[] = { "no_auth", "type_a", "type_b", "type_c", "tx_secret", NULL };
static const char *const hls_variant_names[] = { "mpegts", "fmp4", "lowlatency", NULL };
static const char *const level_names[] = { "debug", "info", "warn", "error", NULL };
/* Indexes are LE_AUTH_* values: type_b and type_c cannot sign a push. */
static const char *const sign_names[] = { "none", "type_a", "", "", "tx_secret", NULL };

#define N(f) offsetof(le_conf, f)
#define D(f) offsetof(le_conf_domain, f)
#define P(f) offsetof(le_conf_push, f)
#define SEC 1000LL
#define DAY (86400LL * SEC)
#define KIB 1024LL
#define MIB (1024LL * KIB)
#define GIB (1024LL * MIB)

/* Order does not matter; index = bit in the per-block "seen" mask. */
static const keydef keys[] = {
    { "node_name", C_MAIN, V_STR, F_STR, N(node_name), 0, 0, NULL, NULL },
    { "rtmp_listen", C_MAIN, V_LISTEN, F_STR, N(rtmp_listen), 0, 0, NULL, NULL },
    { "rtmp_advertise", C_MAIN, V_STR, F_STR, N(rtmp_advertise), 0, 0, NULL, NULL },
    { "http_listen", C_MAIN, V_LISTEN, F_STR, N(http_listen), 0, 0, NULL, NULL },
    { "admin_listen", C_MAIN, V_LISTEN, F_STR, N(admin_listen), 0, 0, NULL, NULL },
    { "data_dir", C_MAIN, V_STR, F_STR, N(data_dir), 0, 0, NULL, NULL },
    { "redis", C_MAIN, V_REDIS, F_STR, N(redis), 0, 0, NULL, NULL },
    { "redis_prefix", C_MAIN, V_EMPTYOK, F_STR, N(redis_prefix), 0, 0, NULL, NULL },
    { "admin", C_MAIN, V_BLOCK, F_NONE, 0, 0, 0, NULL, NULL },
    { "default_domain", C_MAIN, V_HOST, F_STR, N(default_domain), 0, 0, NULL, NULL },
    { "log_level", C_MAIN, V_ENUM, F_STR, N(log_level), 0, 0, level_names, "debug, info, warn or error" },
    { "publish_takeover", C_MAIN, V_ENUM, F_INT, N(publish_takeover), 0, 0, takeover_names, "idle, always or never" },
    { "publish_idle_timeout", C_MAIN, V_DUR, F_I64, N(publish_idle_ms), 100, DAY, NULL, NULL },
    { "publish_reconnect_grace", C_MAIN, V_DUR, F_I64, N(publish_reconnect_grace_ms), 0, 3600 * SEC, NULL, NULL },
    { "handshake_timeout", C_MAIN, V_DUR, F_I64, N(handshake_timeout_ms), 100, DAY, NULL, NULL },
    { "idle_timeout", C_MAIN, V_DUR, F_I64, N(idle_timeout_ms), 100, DAY, NULL, NULL },
    { "http_header_timeout", C_MAIN, V_DUR, F_I64, N(http_header_timeout_ms), 100, DAY, NULL, NULL },
    { "rtmp_chunk_size", C_MAIN, V_SIZE, F_U32, N(rtmp_chunk_size), 128, 65536, NULL, NULL },
    { "rtmp_max_message", C_MAIN, V_SIZE, F_U32, N(rtmp_max_message), KIB, 64 * MIB, NULL, NULL },
    { "gop_cache_max", C_MAIN, V_DUR, F_I64, N(gop_cache_max_ms), 100, 3600 * SEC, NULL, NULL },
    { "gop_cache_max_bytes", C_MAIN, V_SIZE, F_SIZE, N(gop_cache_max_bytes), 4 * KIB, GIB, NULL, NULL },
    { "viewer_queue_bytes", C_MAIN, V_SIZE, F_SIZE, N(viewer_queue_bytes), 4 * KIB, GIB, NULL, NULL },
    { "write_tick", C_MAIN, V_DUR, F_I64, N(write_tick_ms), 0, 350, NULL, NULL },
    { "viewer_drop_timeout", C_MAIN, V_DUR, F_I64, N(viewer_drop_ms), 100, DAY, NULL, NULL },
    { "max_connections", C_MAIN, V_INT, F_INT, N(max_connections), 1, 1000000, NULL, NULL },
    { "rtmp_input_budget", C_MAIN, V_SIZE, F_SIZE, N(rtmp_input_budget), 64 * KIB, 64 * GIB, NULL, NULL },
    { "admin_max_connections_per_ip", C_MAIN, V_INT, F_INT, N(admin_max_conns_per_ip), 1, 100000, NULL, NULL },
    { "rtmps_listen", C_MAIN, V_LISTEN, F_STR, N(rtmps_listen), 0, 0, NULL, NULL },
    { "https_listen", C_MAIN, V_LISTEN, F_STR, N(https_listen), 0, 0, NULL, NULL },
    { "admin_tls", C_MAIN, V_BOOL, F_INT, N(admin_tls), 0, 0, NULL, NULL },
    { "tls_certificate", C_MAIN, V_STR, F_STR, N(tls_certificate), 0, 0, NULL, NULL },
    { "tls_certificate_key", C_MAIN, V_STR, F_STR, N(tls_certificate_key), 0, 0, NULL, NULL },
    { "tls_ciphers", C_MAIN, V_STR, F_STR, N(tls_ciphers), 0, 0, NULL, NULL },
    { "tls_ciphersuites", C_MAIN, V_STR, F_STR, N(tls_ciphersuites), 0, 0, NULL, NULL },
    { "tls_key_secret", C_MAIN, V_STR, F_STR, N(tls_key_secret), 0, 0, NULL, NULL },
    { "tls_ca_file", C_MAIN, V_STR, F_STR, N(tls_ca_file), 0, 0, NULL, NULL },
    { "tls_verify_skip", C_MAIN, V_SKIPLIST, F_NONE, N(tls_verify_skip), 0, 0, NULL, NULL },
    { "domain", C_MAIN, V_BLOCK, F_NONE, 0, 0, 0, NULL, NULL },

    { "access_key_id", C_ADMIN, V_STR, F_STR, N(access_key_id), 0, 0, NULL, NULL },
    { "access_key_secret", C_ADMIN, V_STR, F_STR, N(access_key_secret), 0, 0, NULL, NULL },

    { "push_domain", C_DOMAIN, V_HOST, F_STR, D(push_domain), 0, 0, NULL, NULL },
    { "hls", C_DOMAIN, V_BOOL, F_INT, D(hls), 0, 0, NULL, NULL },
    { "hls_fragment", C_DOMAIN, V_DUR, F_I64, D(hls_fragment_ms), SEC, 60 * SEC, NULL, NULL },
    { "hls_window", C_DOMAIN, V_INT, F_INT, D(hls_window), 1, 100, NULL, NULL },
    { "hls_variant", C_DOMAIN, V_ENUM, F_INT, D(hls_variant), 0, 0, hls_variant_names, "mpegts, fmp4 or lowlatency" },
    { "hls_part", C_DOMAIN, V_DUR, F_I64, D(hls_part_ms), 50, 2 * SEC, NULL, NULL },
    { "timeshift", C_DOMAIN, V_BOOL, F_INT, D(timeshift), 0, 0, NULL, NULL },
    { "timeshift_retention", C_DOMAIN, V_DUR, F_I64, D(timeshift_retention_ms), SEC, 15 * DAY, NULL, NULL },
    { "aliauth", C_DOMAIN, V_BLOCK, F_NONE, 0, 0, 0, NULL, NULL },
    { "notify_url", C_DOMAIN, V_URL, F_STR, D(notify_url), 0, 0, NULL, NULL },
    { "notify_auth_key", C_DOMAIN, V_OPTSTR, F_STR, D(notify_auth_key), 0, 0, NULL, NULL },
    { "ip_black_list", C_DOMAIN, V_IPLIST, F_STR, D(ip_black_list), 0, 0, NULL, NULL },
    { "ip_white_list", C_DOMAIN, V_IPLIST, F_STR, D(ip_white_list), 0, 0, NULL, NULL },
    { "cors_origin", C_DOMAIN, V_STR, F_STR, D(cors_origin), 0, 0, NULL, NULL },
    { "referer_white_list", C_DOMAIN, V_REFLIST, F_STR, D(referer_white_list), 0, 0, NULL, NULL },
    { "referer_black_list", C_DOMAIN, V_REFLIST, F_STR, D(referer_black_list), 0, 0, NULL, NULL },
    /* referer_allow_empty sets both lists' allow_empty (close_domain). */
    { "referer_allow_empty", C_DOMAIN, V_BOOL, F_INT, D(referer_white_allow_empty), 0, 0, NULL, NULL },
    { "referer_white_allow_empty", C_DOMAIN, V_BOOL, F_INT, D(referer_white_allow_empty), 0, 0, NULL, NULL },
    { "referer_black_allow_empty", C_DOMAIN, V_BOOL, F_INT, D(referer_black_allow_empty), 0, 0, NULL, NULL },
    { "hls_count_viewers", C_DOMAIN, V_BOOL, F_INT, D(hls_count_viewers), 0, 0, NULL, NULL },
    { "push_aliauth", C_DOMAIN, V_BLOCK, F_NONE, 0, 0, 0, NULL, NULL },
    { "edge", C_DOMAIN, V_BOOL, F_INT, D(edge), 0, 0, NULL, NULL },
    { "edge_wait", C_DOMAIN, V_DUR, F_I64, D(edge_wait_ms), 100, 60 * SEC, NULL, NULL },
    { "edge_idle", C_DOMAIN, V_DUR, F_I64, D(edge_idle_ms), SEC, DAY, NULL, NULL },
    { "ssl_certificate", C_DOMAIN, V_STR, F_STR, D(ssl_certificate), 0, 0, NULL, NULL },
    { "ssl_certificate_key", C_DOMAIN, V_STR, F_STR, D(ssl_certificate_key), 0, 0, NULL, NULL },
    { "push", C_DOMAIN, V_BLOCK, F_NONE, 0, 0, 0, NULL, NULL },

    { "auth_type", C_AUTH, V_ENUM, F_INT, D(auth_type), 0, 0, auth_names, "no_auth, type_a, type_b, type_c or tx_secret" },
    { "auth_key1", C_AUTH, V_OPTSTR, F_STR, D(auth_key1), 0, 0, NULL, NULL },
    { "auth_key2", C_AUTH, V_OPTSTR, F_STR, D(auth_key2), 0, 0, NULL, NULL },
    { "ali_auth_delta", C_AUTH, V_SECS, F_I64, D(auth_delta_s), 0, 365LL * 86400, NULL, NULL },

    { "auth_type", C_PUSHAUTH, V_ENUM, F_INT, D(push_auth_type), 0, 0, auth_names, "no_auth, type_a, type_b, type_c or tx_secret" },
    { "auth_key1", C_PUSHAUTH, V_OPTSTR, F_STR, D(push_auth_key1), 0, 0, NULL, NULL },
    { "auth_key2", C_PUSHAUTH, V_OPTSTR, F_STR, D(push_auth_key2), 0, 0, NULL, NULL },
    { "ali_auth_delta", C_PUSHAUTH, V_SECS, F_I64, D(push_auth_delta_s), 0, 365LL * 86400, NULL, NULL },

    { "target", C_PUSH, V_TARGETS, F_NONE, 0, 0, 0, NULL, NULL },
    { "app", C_PUSH, V_STR, F_STR, P(app), 0, 0, NULL, NULL },
    { "sign_type", C_PUSH, V_ENUM, F_INT, P(sign_type), 0, 0, sign_names, "none, type_a or tx_secret" },
    { "sign_key", C_PUSH, V_OPTSTR, F_STR, P(sign_key), 0, 0, NULL, NULL },
    { "sign_validity", C_PUSH, V_SECS, F_I64, P(sign_validity_s), 1, 365LL * 86400, NULL, NULL },

    { "car", C_MAIN, V_BLOCK, F_NONE, 0, 0, 0, NULL, NULL },
    { "domain", C_CAR, V_HOST, F_STR, N(car_domain), 0, 0, NULL, NULL },
    { "app", C_CAR, V_STR, F_STR, N(car_app), 0, 0, NULL, NULL },
    { "push_url", C_CAR, V_STR, F_STR, N(car_push_url), 0, 0, NULL, NULL },
    { "tx_secret_key", C_CAR, V_OPTSTR, F_STR, N(car_tx_key), 0, 0, NULL, NULL },
    { "tx_secret_validity", C_CAR, V_SECS, F_I64, N(car_tx_validity_s), 1, 365LL * 86400, NULL, NULL },

    { "record_root", C_MAIN, V_STR, F_STR, N(record_root), 0, 0, NULL, NULL },
    { "console_root", C_MAIN, V_STR, F_STR, N(console_root), 0, 0, NULL, NULL },
    { "record_url_base", C_MAIN, V_URL, F_STR, N(record_url_base), 0, 0, NULL, NULL },
    { "record_min_free", C_MAIN, V_SIZE, F_SIZE, N(record_min_free), 0, 1024 * GIB, NULL, NULL },
    { "record_stitch", C_MAIN, V_DUR, F_I64, N(record_stitch_ms), 0, 3600 * SEC, NULL, NULL },
    { "record_queue_bytes", C_MAIN, V_SIZE, F_SIZE, N(record_queue_bytes), 64 * KIB, GIB, NULL, NULL },
    { "record_threads", C_MAIN, V_INT, F_INT, N(record_threads), 1, 64, NULL, NULL },
    { "pipeline_threads", C_MAIN, V_INT, F_INT, N(pipeline_threads), 0, 64, NULL, NULL },
    { "record_fragment", C_MAIN, V_DUR, F_I64, N(record_fragment_ms), 500, 60 * SEC, NULL, NULL },
    { "s3", C_MAIN, V_BLOCK, F_NONE, 0, 0, 0, NULL, NULL },
    { "endpoint", C_S3, V_URL, F_STR, N(s3_endpoint), 0, 0, NULL, NULL },
    { "region", C_S3, V_STR, F_STR, N(s3_region), 0, 0, NULL, NULL },
    { "access_key", C_S3, V_STR, F_STR, N(s3_access_key), 0, 0, NULL, NULL },
    { "secret_key", C_S3, V_STR, F_STR, N(s3_secret_key), 0, 0, NULL, NULL },
    { "keep_local", C_S3, V_BOOL, F_INT, N(s3_keep_local), 0, 0, NULL, NULL },

    { "transcode_idle", C_MAIN, V_DUR, F_I64, N(transcode_idle_ms), 0, 3600 * SEC, NULL, NULL },
    { "transcode_wait", C_MAIN, V_DUR, F_I64, N(transcode_wait_ms), 1 * SEC, 60 * SEC, NULL, NULL },
    { "caster_material_dir", C_MAIN, V_STR, F_STR, N(caster_material_dir), 0, 0, NULL, NULL },
    { "caster_fps", C_MAIN, V_INT, F_INT, N(caster_fps), 1, 60, NULL, NULL },
    { "caster_source_timeout", C_MAIN, V_DUR, F_I64, N(caster_source_timeout_ms), 100, 60 * SEC, NULL, NULL },
    { "caster_max", C_MAIN, V_INT, F_INT, N(caster_max), 0, 64, NULL, NULL },
    { "caster_urgent_after", C_MAIN, V_DUR, F_I64, N(caster_urgent_after_ms), 0, 3600 * SEC, NULL, NULL },
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

#define SEEN_WORDS 2
_Static_assert(NKEYS <= 64 * SEEN_WORDS, "the seen mask is SEEN_WORDS uint64_t");

static const keydef *key_find(int ctx, const char *name, int *idx)
{
    for (size_t i = 0; i < NKEYS; i++) {
        if (keys[i].ctx == ctx && strcmp(keys[i].name, name) == 0) {
            if (idx)
                *idx = (int)i;
            return &keys[i];
        }
    }
    return NULL;
}

static const keydef *key_any_ctx(const char *name)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

/* ---- lexer --------------------------------------------------------------- */

enum { T_WORD, T_SEMI, T_OPEN, T_CLOSE, T_EOF, T_ERR };

typedef struct word {
    char *s;        /* NUL-terminated, owned */
    size_t n;
    int line;
} word;

typedef struct parser {
    const char *p, *end;
    int line;
    int last_line;                  /* where the last token ended */
    char *err;
    size_t errlen;

    le_conf *c;
    le_conf_domain *tail;           /* last domain in c->domains */
    le_conf_push *push;             /* the push block being read */
    int ndomains;

    struct {
        int ctx;
        int line;                   /* where the block opened */
        uint64_t seen[SEEN_WORDS];  /* keys[] already set in this block */
    } stack[3];
    int depth;

    word *w;                        /* the statement being read */
    int nw, capw;

    /* Facts about the open domain, checked when it closes. */
    int dom_line, push_line, auth_line, push_auth_line;
    int default_line;               /* 0: default_domain not in the file */
    int car_line;                   /* where car { opened, 0: none */
    int tls_line;                   /* the first TLS listener key, 0: none */
    int nskip;                      /* tls_verify_skip entries so far */
} parser;

static int perr(parser *ps, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int perr(parser *ps, int line, const char *fmt, ...)
{
    if (!ps->err || ps->errlen == 0)
        return LE_EINVAL;
    int n = snprintf(ps->err, ps->errlen, "line %d: ", line);
    if (n >= 0 && (size_t)n < ps->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ps->err + n, ps->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return LE_EINVAL;
}

/* A word for an error message: printable ASCII kept, the rest as \xNN,
 * truncated so that a 1 MB token makes a one-line message. */
static const char *esc(const char *s, size_t n, char *buf, size_t bufsz)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (o + 8 >= bufsz) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        if (ch >= 0x20 && ch < 0x7f && ch != '\\' && ch != '\'') {
            buf[o++] = (char)ch;
        } else {
            snprintf(buf + o, bufsz - o, "\\x%02x", ch);
            o += 4;
        }
    }
    buf[o] = '\0';
    return buf;
}
#define ESC(wd, buf) esc((wd)->s, (wd)->n, (buf), sizeof(buf))

static int is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '\f' || ch == '\v';
}

static int is_punct(char ch)
{
    return ch == ';' || ch == '{' || ch == '}';
}

/* Reads the next token; a word goes into *out (owned by the caller). */
static int lex(parser *ps, word *out)
{
    for (;;) {
        while (ps->p < ps->end && is_space(*ps->p)) {
            if (*ps->p == '\n')
                ps->line++;
            ps->p++;
        }
        if (ps->p < ps->end && *ps->p == '#') {
            while (ps->p < ps->end && *ps->p != '\n')
                ps->p++;
            continue;
        }
        break;
    }
    if (ps->p >= ps->end)
        return T_EOF;

    char ch = *ps->p;
    ps->last_line = ps->line;
    if (ch == ';') { ps->p++; return T_SEMI; }
    if (ch == '{') { ps->p++; return T_OPEN; }
    if (ch == '}') { ps->p++; return T_CLOSE; }

    le_buf b = { 0 };
    int start = ps->line;
    char quote = (ch == '"' || ch == '\'') ? ch : 0;
    if (quote)
        ps->p++;
    for (;;) {
        if (ps->p >= ps->end) {
            if (quote) {
                le_buf_free(&b);
                perr(ps, start, "unterminated string");
                return T_ERR;
            }
            break;
        }
        ch = *ps->p;
        if (ch == '\0') {
            le_buf_free(&b);
            perr(ps, ps->line, "NUL byte in file");
            return T_ERR;
        }
        if (quote && ch == quote) {
            ps->p++;
            if (ps->p < ps->end && !is_space(*ps->p) && !is_punct(*ps->p) && *ps->p != '#') {
                char e[16];
                le_buf_free(&b);
                perr(ps, ps->line, "unexpected '%s' after quoted string", esc(ps->p, 1, e, sizeof(e)));
                return T_ERR;
            }
            break;
        }
        if (!quote && (is_space(ch) || is_punct(ch)))
            break;
        if (ch == '\\' && ps->p + 1 < ps->end) {
            ps->p++;
            ch = *ps->p;
            if (ch == '\0')
                continue;   /* reported as a NUL byte on the next turn */
        }
        if (ch == '\n')
            ps->line++;
        if (b.len >= TOKEN_MAX) {
            le_buf_free(&b);
            perr(ps, start, "value longer than %d bytes", TOKEN_MAX);
            return T_ERR;
        }
        le_buf_u8(&b, (uint8_t)ch);
        ps->p++;
    }
    ps->last_line = ps->line;
    out->n = b.len;
    le_buf_u8(&b, 0);
    out->s = (char *)b.p;
    out->line = start;
    return T_WORD;
}

static void words_clear(parser *ps)
{
    for (int i = 0; i < ps->nw; i++)
        free(ps->w[i].s);
    ps->nw = 0;
}

/* ---- applying a statement ------------------------------------------------ */

static void set_str(char **field, const char *v)
{
    free(*field);
    *field = v ? le_xstrdup(v) : NULL;
}

static void set_num(void *base, const keydef *k, int64_t v)
{
    char *f = (char *)base + k->off;
    switch (k->ft) {
    case F_I64: *(int64_t *)(void *)f = v; break;
    case F_INT: *(int *)(void *)f = (int)v; break;
    case F_U32: *(uint32_t *)(void *)f = (uint32_t)v; break;
    case F_SIZE: *(size_t *)(void *)f = (size_t)v; break;
    default: break;
    }
}

/* Words in the unit a key's bounds are written in, for messages. */
static void fmt_bound(const keydef *k, int64_t v, char *buf, size_t sz)
{
    if (k->vt == V_DUR) {
        if (v % DAY == 0) snprintf(buf, sz, "%lldd", (long long)(v / DAY));
        else if (v % (3600 * SEC) == 0) snprintf(buf, sz, "%lldh", (long long)(v / (3600 * SEC)));
        else if (v % (60 * SEC) == 0) snprintf(buf, sz, "%lldm", (long long)(v / (60 * SEC)));
        else if (v % SEC == 0) snprintf(buf, sz, "%llds", (long long)(v / SEC));
        else snprintf(buf, sz, "%lldms", (long long)v);
    } else if (k->vt == V_SIZE && v >= KIB) {
        if (v % GIB == 0) snprintf(buf, sz, "%lldg", (long long)(v / GIB));
        else if (v % MIB == 0) snprintf(buf, sz, "%lldm", (long long)(v / MIB));
        else if (v % KIB == 0) snprintf(buf, sz, "%lldk", (long long)(v / KIB));
        else snprintf(buf, sz, "%lld", (long long)v);
    } else if (k->vt == V_SECS) {
        snprintf(buf, sz, "%llds", (long long)v);
    } else {
        snprintf(buf, sz, "%lld", (long long)v);
    }
}

static int has_ctl(const word *wd)
{
    for (size_t i = 0; i < wd->n; i++) {
        unsigned char ch = (unsigned char)wd->s[i];
        if (ch < 0x20 || ch == 0x7f)
            return 1;
    }
    return 0;
}

/* Joins every value word into "a,b,c", checking each entry. */
static int apply_iplist(parser *ps, void *base, const keydef *k)
{
    le_buf out = { 0 };
    char e[80];
    for (int i = 1; i < ps->nw; i++) {
        const char *s = ps->w[i].s;
        size_t n = ps->w[i].n, j = 0;
        while (j < n) {
            while (j < n && (s[j] == ',' || s[j] == ' ' || s[j] == '\t'))
                j++;
            size_t st = j;
            while (j < n && s[j] != ',' && s[j] != ' ' && s[j] != '\t')
                j++;
            if (j == st)
                continue;
            if (k->vt == V_REFLIST ? !referer_valid(s + st, j - st) : !cidr_valid(s + st, j - st)) {
                le_buf_free(&out);
                return perr(ps, ps->w[i].line, k->vt == V_REFLIST
                                ? "invalid host pattern '%s' in %s (want host, *.host or *)"
                                : "invalid address '%s' in %s (want IP or IP/prefix)",
                            esc(s + st, j - st, e, sizeof(e)), k->name);
            }
            if (out.len)
                le_buf_u8(&out, ',');
            le_buf_append(&out, s + st, j - st);
        }
    }
    char **field = (char **)(void *)((char *)base + k->off);
    free(*field);
    *field = NULL;
    if (out.len) {
        le_buf_u8(&out, 0);
        *field = (char *)out.p;
    } else {
        le_buf_free(&out);
    }
    return 0;
}

/* rtmp_advertise: "name:port", "IPv4:port" or "[IPv6]:port", port 1-65535. */
static int advertise_valid(const char *s)
{
    const char *colon = strrchr(s, ':');
    unsigned port;
    if (!colon || colon == s || parse_port(colon + 1, &port) != 0 || port == 0)
        return 0;
    char host[300];
    size_t hn = (size_t)(colon - s);
    if (hn >= sizeof(host))
        return 0;
    memcpy(host, s, hn);
    host[hn] = '\0';
    if (host[0] == '[') {
        struct sockaddr_storage ss;
        socklen_t sl;
        return le_conf_listen_addr(s, &ss, &sl) == 0;
    }
    return host_valid(host);
}

/* A tls_verify_skip entry: a host name or IPv4 address, or [IPv6], with an
 * optional :PORT (1-65535). */
static int skip_valid(const char *s)
{
    unsigned port = 1;
    char host[300];
    const char *colon = NULL;
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        struct in6_addr a6;
        size_t hn = rb ? (size_t)(rb - s - 1) : 0;
        if (!rb || hn == 0 || hn >= sizeof(host) || (rb[1] && rb[1] != ':'))
            return 0;
        memcpy(host, s + 1, hn);
        host[hn] = '\0';
        if (inet_pton(AF_INET6, host, &a6) != 1)
            return 0;
        colon = rb[1] ? rb + 1 : NULL;
    } else {
        colon = strchr(s, ':');
        size_t hn = colon ? (size_t)(colon - s) : strlen(s);
        if (hn == 0 || hn >= sizeof(host) || (colon && strchr(colon + 1, ':')))
            return 0;
        memcpy(host, s, hn);
        host[hn] = '\0';
        if (!host_valid(host))
            return 0;
    }
    return !colon || (parse_port(colon + 1, &port) == 0 && port != 0);
}

/* "tls_verify_skip HOST[:PORT]...;": appended to the NULL-terminated list. */
static int apply_skip(parser *ps, le_conf *c)
{
    char e[80];
    for (int i = 1; i < ps->nw; i++) {
        const word *v = &ps->w[i];
        if (has_ctl(v) || !skip_valid(v->s))
            return perr(ps, v->line, "invalid tls_verify_skip entry '%s' (want HOST or HOST:PORT)", ESC(v, e));
        if (ps->nskip >= TLS_SKIP_MAX)
            return perr(ps, v->line, "more than %d tls_verify_skip entries", TLS_SKIP_MAX);
        c->tls_verify_skip = le_xrealloc(c->tls_verify_skip, (size_t)(ps->nskip + 2) * sizeof(char *));
        c->tls_verify_skip[ps->nskip++] = le_xstrdup(v->s);
        c->tls_verify_skip[ps->nskip] = NULL;
    }
    return 0;
}

/* "target URL...;": each word an rtmp:// or rtmps:// URL template. */
static int apply_targets(parser *ps, le_conf_push *r)
{
    char e[80];
    for (int i = 1; i < ps->nw; i++) {
        const word *v = &ps->w[i];
        size_t sl = strncasecmp(v->s, "rtmp://", 7) == 0 ? 7 : strncasecmp(v->s, "rtmps://", 8) == 0 ? 8 : 0;
        if (has_ctl(v) || !sl || !v->s[sl] || v->s[sl] == '/' || strchr(v->s, ' '))
            return perr(ps, v->line, "invalid push target '%s' (want rtmp://HOST/... or rtmps://HOST/...)",
                        ESC(v, e));
        if (r->ntargets >= LE_CONF_PUSH_TARGETS_MAX)
            return perr(ps, v->line, "more than %d targets in one push block", LE_CONF_PUSH_TARGETS_MAX);
        r->targets[r->ntargets++] = le_xstrdup(v->s);
    }
    return 0;
}

static int apply_value(parser *ps, void *base, const keydef *k)
{
    const word *v = &ps->w[1];
    char e[80], b1[32], b2[32];
    int64_t num = 0;

    if (k->vt == V_IPLIST || k->vt == V_REFLIST)
        return apply_iplist(ps, base, k);
    if (k->vt == V_TARGETS)
        return apply_targets(ps, base);
    if (k->vt == V_SKIPLIST)
        return apply_skip(ps, base);
    if (ps->nw != 2) {
        if (ps->w[2].line > v->line)
            return perr(ps, v->line, "missing ';'");
        return perr(ps, ps->w[2].line, "'%s' takes exactly one value", k->name);
    }
    if (has_ctl(v))
        return perr(ps, v->line, "control character in value of '%s'", k->name);
    if (v->n == 0 && k->vt != V_OPTSTR && k->vt != V_EMPTYOK)
        return perr(ps, v->line, "empty value for '%s'", k->name);

    char **sfield = (char **)(void *)((char *)base + k->off);
    switch (k->vt) {
    case V_STR:
    case V_EMPTYOK:
        if (k->ctx == C_MAIN && k->off == N(rtmp_advertise) && !advertise_valid(v->s))
            return perr(ps, v->line, "rtmp_advertise wants HOST:PORT (port 1-65535), not '%s'", ESC(v, e));
        if (k->ctx == C_MAIN && k->off == N(tls_key_secret) && v->n < TLS_SECRET_MIN)
            return perr(ps, v->line, "tls_key_secret must be at least %d characters", TLS_SECRET_MIN);
        set_str(sfield, v->s);
        return 0;
    case V_OPTSTR:
        set_str(sfield, v->n ? v->s : NULL);
        return 0;
    case V_HOST:
        if (!host_valid(v->s))
            return perr(ps, v->line, "invalid domain name '%s'", ESC(v, e));
        set_str(sfield, v->s);
        /* DNS names are case-insensitive; one spelling keeps Redis keys and
         * callback arguments stable. */
        for (char *p = *sfield; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
        return 0;
    case V_LISTEN:
        if (le_conf_listen_addr(v->s, NULL, NULL) != 0)
            return perr(ps, v->line, "invalid listen address '%s' (want IPv4:PORT or [IPv6]:PORT)",
                        ESC(v, e));
        set_str(sfield, v->s);
        return 0;
    case V_REDIS:
        if (!redis_valid(v->s))
            return perr(ps, v->line, "invalid redis '%s' (want embedded, HOST:PORT or unix:/path)",
                        ESC(v, e));
        set_str(sfield, v->s);
        return 0;
    case V_URL: {
        const char *rest = NULL;
        if (strncasecmp(v->s, "http://", 7) == 0)
            rest = v->s + 7;
        else if (strncasecmp(v->s, "https://", 8) == 0)
            rest = v->s + 8;
        if (!rest || !*rest || *rest == '/' || strchr(v->s, ' '))
            return perr(ps, v->line, "invalid URL '%s' (want http://HOST/...)", ESC(v, e));
        set_str(sfield, v->s);
        return 0;
    }
    case V_BOOL:
        if (strcmp(v->s, "on") == 0) num = 1;
        else if (strcmp(v->s, "off") == 0) num = 0;
        else return perr(ps, v->line, "invalid value '%s' for '%s' (want on or off)", ESC(v, e), k->name);
        set_num(base, k, num);
        return 0;
    case V_ENUM:
        for (int i = 0; k->names[i]; i++) {
            if (strcmp(v->s, k->names[i]) == 0) {
                if (k->ft == F_STR)
                    set_str(sfield, v->s);
                else
                    set_num(base, k, i);
                return 0;
            }
        }
        return perr(ps, v->line, "invalid value '%s' for '%s' (want %s)", ESC(v, e), k->name, k->what);
    case V_DUR:
    case V_SECS:
        if (le_parse_duration_ms(v->s, &num) != 0)
            return perr(ps, v->line, "invalid duration '%s'", ESC(v, e));
        if (k->vt == V_SECS) {
            if (num % 1000 != 0)
                return perr(ps, v->line, "'%s' takes whole seconds, not '%s'", k->name, ESC(v, e));
            num /= 1000;
        }
        break;
    case V_INT:
        if (parse_uint(v->s, &num) != 0)
            return perr(ps, v->line, "invalid number '%s'", ESC(v, e));
        break;
    case V_SIZE:
        if (parse_size(v->s, &num) != 0)
            return perr(ps, v->line, "invalid size '%s' (want bytes, optional k, m or g)", ESC(v, e));
        break;
    default:
        return perr(ps, v->line, "internal: bad key type");
    }
    if (num < k->min || num > k->max) {
        fmt_bound(k, k->min, b1, sizeof(b1));
        fmt_bound(k, k->max, b2, sizeof(b2));
        return perr(ps, v->line, "'%s' %s out of range %s..%s", k->name, ESC(v, e), b1, b2);
    }
    set_num(base, k, num);
    return 0;
}

/* The base struct the current context's keys live in. */
static void *ctx_base(parser *ps)
{
    int ctx = ps->stack[ps->depth].ctx;
    if (ctx == C_PUSH)
        return ps->push;
    return (ctx == C_MAIN || ctx == C_ADMIN || ctx == C_CAR || ctx == C_S3) ? (void *)ps->c : (void *)ps->tail;
}

/* A line break before a word that is itself a key of this block means the
 * previous statement lost its ';' - say that, not "too many values". */
static int check_missing_semi(parser *ps)
{
    int ctx = ps->stack[ps->depth].ctx;
    for (int i = 1; i < ps->nw; i++) {
        if (ps->w[i].line > ps->w[i - 1].line && key_find(ctx, ps->w[i].s, NULL))
            return perr(ps, ps->w[i - 1].line, "missing ';'");
    }
    return 0;
}

static int lookup_key(parser *ps, const keydef **kp, int *idx)
{
    int ctx = ps->stack[ps->depth].ctx;
    const word *kw = &ps->w[0];
    char e[80];
    *kp = key_find(ctx, kw->s, idx);
    if (*kp)
        return 0;
    const keydef *other = key_any_ctx(kw->s);
    if (other)
        return perr(ps, kw->line, "'%s' is not allowed in %s (it belongs in %s%s)", kw->s,
                    ps->depth ? ctx_names[ctx] : "the top level",
                    other->ctx == C_MAIN ? "the top level" : ctx_names[other->ctx],
                    other->ctx == C_MAIN ? "" : " { }");
    return perr(ps, kw->line, "unknown key '%s'", ESC(kw, e));
}

static int was_seen(const parser *ps, int idx)
{
    return (int)(ps->stack[ps->depth].seen[idx / 64] >> (idx % 64) & 1);
}

static int mark_seen(parser *ps, int idx, int line)
{
    if (was_seen(ps, idx))
        return perr(ps, line, "duplicate '%s'", keys[idx].name);
    ps->stack[ps->depth].seen[idx / 64] |= (uint64_t)1 << (idx % 64);
    return 0;
}

/* "key value...;" */
static int end_statement(parser *ps)
{
    const keydef *k;
    int idx;
    if (ps->nw == 0)
        return perr(ps, ps->line, "unexpected ';'");
    if (check_missing_semi(ps) != 0 || lookup_key(ps, &k, &idx) != 0)
        return LE_EINVAL;
    if (k->vt == V_BLOCK)
        return perr(ps, ps->w[0].line, "'%s' is a block: %s { ... }", k->name,
                    strcmp(k->name, "domain") == 0 ? "domain NAME" : k->name);
    if (ps->nw < 2)
        return perr(ps, ps->w[0].line, "'%s' needs a value", k->name);
    if (k->vt != V_TARGETS && k->vt != V_SKIPLIST && mark_seen(ps, idx, ps->w[0].line) != 0)
        return LE_EINVAL;
    if (apply_value(ps, ctx_base(ps), k) != 0)
        return LE_EINVAL;
    if (k->off == D(push_domain) && k->ctx == C_DOMAIN)
        ps->push_line = ps->w[0].line;
    if (k->off == D(auth_type) && k->ctx == C_AUTH)
        ps->auth_line = ps->w[0].line;
    if (k->off == D(push_auth_type) && k->ctx == C_PUSHAUTH)
        ps->push_auth_line = ps->w[0].line;
    if (k->off == N(default_domain) && k->ctx == C_MAIN)
        ps->default_line = ps->w[1].line;
    if (k->ctx == C_MAIN && !ps->tls_line &&
        (k->off == N(rtmps_listen) || k->off == N(https_listen) || (k->off == N(admin_tls) && ps->c->admin_tls)))
        ps->tls_line = ps->w[0].line;
    return 0;
}

/* "name [arg] {" */
static int open_block(parser *ps)
{
    const keydef *k;
    int idx;
    char e[80];
    if (ps->nw == 0)
        return perr(ps, ps->line, "unexpected '{'");
    if (check_missing_semi(ps) != 0 || lookup_key(ps, &k, &idx) != 0)
        return LE_EINVAL;
    if (k->vt == V_TARGETS)
        return perr(ps, ps->w[0].line, "quote a target with {names}: target \"rtmp://HOST/{AppName}/{StreamName}\";");
    if (k->vt != V_BLOCK)
        return perr(ps, ps->w[0].line, "'%s' takes a value, not a block", k->name);
    /* Blocks open only at the top level and in a domain, so depth 2 is the ceiling by construction. */
    if (ps->depth >= 2)
        return perr(ps, ps->w[0].line, "blocks nest at most 2 deep");

    int ctx;
    if (strcmp(k->name, "domain") == 0) {
        if (ps->nw != 2)
            return perr(ps, ps->w[0].line, "domain takes exactly one name: domain NAME { ... }");
        const word *nm = &ps->w[1];
        if (!host_valid(nm->s))
            return perr(ps, nm->line, "invalid domain name '%s'", ESC(nm, e));
        if (ps->ndomains >= DOMAINS_MAX)
            return perr(ps, nm->line, "more than %d domains", DOMAINS_MAX);
        le_conf_domain *d = le_conf_domain_new(nm->s);
        for (char *p = d->name; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
        if (ps->tail)
            ps->tail->next = d;
        else
            ps->c->domains = d;
        ps->tail = d;
        ps->ndomains++;
        ps->dom_line = nm->line;
        ps->push_line = ps->auth_line = ps->push_auth_line = 0;
        ctx = C_DOMAIN;
    } else {
        if (ps->nw != 1)
            return perr(ps, ps->w[1].line, "'%s' takes no argument: %s { ... }", k->name, k->name);
        if (strcmp(k->name, "push") == 0) {
            /* Several push blocks: rules in file order. */
            int n = 0;
            le_conf_push **tail = &ps->tail->push;
            for (; *tail; tail = &(*tail)->next)
                n++;
            if (n >= LE_CONF_PUSH_RULES_MAX)
                return perr(ps, ps->w[0].line, "more than %d push blocks in one domain", LE_CONF_PUSH_RULES_MAX);
            ps->push = *tail = le_conf_push_new();
            ctx = C_PUSH;
        } else {
            if (mark_seen(ps, idx, ps->w[0].line) != 0)
                return LE_EINVAL;
            ctx = strcmp(k->name, "admin") == 0     ? C_ADMIN
                  : strcmp(k->name, "car") == 0     ? C_CAR
                  : strcmp(k->name, "s3") == 0      ? C_S3
                  : strcmp(k->name, "aliauth") == 0 ? C_AUTH
                                                    : C_PUSHAUTH;
            if (ctx == C_S3)
                ps->c->s3 = 1;
            if (ctx == C_CAR) {
                ps->c->car = 1;
                ps->car_line = ps->w[0].line;
            }
            if (ctx == C_PUSHAUTH)
                ps->tail->push_auth_set = 1;
        }
    }
    ps->depth++;
    ps->stack[ps->depth].ctx = ctx;
    ps->stack[ps->depth].line = ps->w[0].line;
    memset(ps->stack[ps->depth].seen, 0, sizeof(ps->stack[ps->depth].seen));
    return 0;
}

/* A domain is complete: its name and push name must be unique across every
 * name and push name, or le_conf_find_domain would be ambiguous. */
static int close_domain(parser *ps, int close_line)
{
    le_conf_domain *d = ps->tail;
    for (le_conf_domain *o = ps->c->domains; o != d; o = o->next) {
        if (strcmp(o->name, d->name) == 0)
            return perr(ps, ps->dom_line, "duplicate domain '%s'", d->name);
        if (o->push_domain && strcmp(o->push_domain, d->name) == 0)
            return perr(ps, ps->dom_line, "domain '%s' is already the push_domain of '%s'", d->name, o->name);
        if (d->push_domain && strcmp(d->push_domain, o->name) == 0)
            return perr(ps, ps->push_line, "push_domain '%s' is already a domain", d->push_domain);
        if (d->push_domain && o->push_domain && strcmp(d->push_domain, o->push_domain) == 0)
            return perr(ps, ps->push_line, "push_domain '%s' already belongs to '%s'", d->push_domain, o->name);
    }
    if (d->push_domain && strcmp(d->push_domain, d->name) == 0)
        return perr(ps, ps->push_line, "push_domain equals the domain name");
    if (!d->ssl_certificate != !d->ssl_certificate_key)
        return perr(ps, close_line, "domain %s: ssl_certificate and ssl_certificate_key go together", d->name);
    if (d->auth_type != LE_AUTH_NONE && !d->auth_key1 && !d->auth_key2)
        return perr(ps, ps->auth_line ? ps->auth_line : close_line,
                    "auth_type %s needs auth_key1 or auth_key2", auth_names[d->auth_type]);
    if (d->push_auth_type != LE_AUTH_NONE && !d->push_auth_key1 && !d->push_auth_key2)
        return perr(ps, ps->push_auth_line ? ps->push_auth_line : close_line,
                    "push_aliauth: auth_type %s needs auth_key1 or auth_key2", auth_names[d->push_auth_type]);
    /* referer_allow_empty is both lists' allow_empty, so not with either
     * list's own key. */
    int both = 0, white = 0, black = 0;
    key_find(C_DOMAIN, "referer_allow_empty", &both);
    key_find(C_DOMAIN, "referer_white_allow_empty", &white);
    key_find(C_DOMAIN, "referer_black_allow_empty", &black);
    if (was_seen(ps, both)) {
        if (was_seen(ps, white) || was_seen(ps, black))
            return perr(ps, close_line, "referer_allow_empty sets both lists' allow_empty: use it or "
                        "referer_white_allow_empty/referer_black_allow_empty, not both");
        d->referer_black_allow_empty = d->referer_white_allow_empty;
    }
    return 0;
}

/* A push block is complete: a target at least, a key to sign with. */
static int close_push(parser *ps)
{
    const le_conf_push *r = ps->push;
    int line = ps->stack[ps->depth].line;
    if (r->ntargets == 0)
        return perr(ps, line, "push needs a target");
    if (r->sign_type != LE_AUTH_NONE && (!r->sign_key || !*r->sign_key))
        return perr(ps, line, "push: sign_type %s needs sign_key", sign_names[r->sign_type]);
    return 0;
}

/* push_url: rtmp://HOST/..., with {UserId}, no blank; app: one path segment. */
static int close_car(parser *ps)
{
    const le_conf *c = ps->c;
    int line = ps->stack[ps->depth].line;
    const char *u = c->car_push_url;
    if (!u)
        return perr(ps, line, "car needs push_url (rtmp://HOST/APP/{UserId})");
    if (strncasecmp(u, "rtmp://", 7) != 0 || !u[7] || u[7] == '/' || !strstr(u, "{UserId}") ||
        strpbrk(u, " \t"))
        return perr(ps, line, "car push_url must be rtmp://HOST/... with {UserId} in it");
    if (strchr(c->car_app, '/') || strpbrk(c->car_app, " \t?"))
        return perr(ps, line, "car app must be one path segment");
    return 0;
}

static int close_block(parser *ps)
{
    int line = ps->line;
    if (ps->nw > 0)
        return perr(ps, ps->w[ps->nw - 1].line, "missing ';'");
    if (ps->depth == 0)
        return perr(ps, line, "unexpected '}'");
    int ctx = ps->stack[ps->depth].ctx;
    if (ctx == C_ADMIN && (!ps->c->access_key_id) != (!ps->c->access_key_secret))
        return perr(ps, ps->stack[ps->depth].line, "admin needs both access_key_id and access_key_secret");
    if (ctx == C_DOMAIN && close_domain(ps, line) != 0)
        return LE_EINVAL;
    if (ctx == C_PUSH && close_push(ps) != 0)
        return LE_EINVAL;
    if (ctx == C_CAR && close_car(ps) != 0)
        return LE_EINVAL;
    if (ctx == C_S3 && (!ps->c->s3_endpoint || !ps->c->s3_access_key || !ps->c->s3_secret_key))
        return perr(ps, ps->stack[ps->depth].line, "s3 needs endpoint, access_key and secret_key");
    ps->depth--;
    return 0;
}

/* After the last token: the domain list and default_domain rules (see
 * livedge.conf(5), "Domains"). */
static int finish(parser *ps)
{
    le_conf *c = ps->c;
    if (!c->tls_certificate != !c->tls_certificate_key)
        return perr(ps, ps->last_line, "tls_certificate and tls_certificate_key go together");
    if (ps->tls_line && !c->tls_certificate)
        return perr(ps, ps->tls_line, "%s needs the default certificate: set tls_certificate and "
                    "tls_certificate_key", c->rtmps_listen ? "rtmps_listen" : c->https_listen ? "https_listen"
                                                                                       : "admin_tls on");
    if (c->car_domain) {
        int found = 0;
        for (le_conf_domain *d = c->domains; d && !found; d = d->next)
            found = strcmp(d->name, c->car_domain) == 0;
        if (!found && !(!c->domains && strcmp(c->car_domain, c->default_domain) == 0))
            return perr(ps, ps->car_line, "car domain '%s' matches no domain block", c->car_domain);
    }
    if (!c->domains) {
        c->domains = le_conf_domain_new(c->default_domain);
        return 0;
    }
    if (!ps->default_line) {
        set_str(&c->default_domain, c->domains->name);
        return 0;
    }
    for (le_conf_domain *d = c->domains; d; d = d->next)
        if (strcmp(d->name, c->default_domain) == 0)
            return 0;
    return perr(ps, ps->default_line, "default_domain '%s' matches no domain block", c->default_domain);
}

le_conf *le_conf_parse(const char *text, size_t len, char *err, size_t errlen)
{
    parser ps;
    memset(&ps, 0, sizeof(ps));
    ps.p = text ? text : "";
    ps.end = ps.p + (text ? len : 0);
    ps.line = 1;
    ps.err = err;
    ps.errlen = errlen;
    ps.c = le_conf_defaults();   /* node keys; the domains come from the file (finish) */
    le_conf_domain_free(ps.c->domains);
    ps.c->domains = NULL;
    ps.stack[0].ctx = C_MAIN;
    if (err && errlen)
        err[0] = '\0';
    /* A UTF-8 byte order mark from a Windows editor. */
    if (ps.end - ps.p >= 3 && memcmp(ps.p, "\xEF\xBB\xBF", 3) == 0)
        ps.p += 3;

    int rc = 0;
    for (;;) {
        word wd;
        int t = lex(&ps, &wd);
        if (t == T_ERR) {
            rc = LE_EINVAL;
            break;
        }
        if (t == T_WORD) {
            if (ps.nw >= WORDS_MAX) {
                free(wd.s);
                rc = perr(&ps, wd.line, "more than %d values in one statement", WORDS_MAX);
                break;
            }
            if (ps.nw == ps.capw) {
                ps.capw = ps.capw ? ps.capw * 2 : 8;
                ps.w = le_xrealloc(ps.w, (size_t)ps.capw * sizeof(*ps.w));
            }
            ps.w[ps.nw++] = wd;
            continue;
        }
        if (t == T_EOF) {
            /* The last line with a token, not the empty one a trailing
             * newline starts or a closing comment. */
            if (ps.nw > 0)
                rc = perr(&ps, ps.w[ps.nw - 1].line, "missing ';'");
            else if (ps.depth > 0)
                rc = perr(&ps, ps.last_line, "unexpected end of file, missing '}'");
            else
                rc = finish(&ps);
            break;
        }
        if (t == T_SEMI)
            rc = end_statement(&ps);
        else if (t == T_OPEN)
            rc = open_block(&ps);
        else
            rc = close_block(&ps);
        words_clear(&ps);
        if (rc != 0)
            break;
    }
    words_clear(&ps);
    free(ps.w);
    if (rc != 0) {
        if (err && errlen && !err[0])
            snprintf(err, errlen, "line %d: invalid configuration", ps.line);
        le_conf_free(ps.c);
        return NULL;
    }
    return ps.c;
}

le_conf *le_conf_load(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    le_buf b = { 0 };
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (b.len + n > FILE_MAX) {
            fclose(f);
            le_buf_free(&b);
            snprintf(err, errlen, "cannot read %s: larger than %d bytes", path, FILE_MAX);
            return NULL;
        }
        le_buf_append(&b, chunk, n);
    }
    int bad = ferror(f);
    int saved = errno;
    fclose(f);
    if (bad) {
        le_buf_free(&b);
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(saved));
        return NULL;
    }
    le_conf *c = le_conf_parse((const char *)b.p, b.len, err, errlen);
    le_buf_free(&b);
    if (!c)
        return NULL;

    if (c->data_dir[0] != '/') {
        char cwd[PATH_MAX];
        if (getcwd(cwd, sizeof(cwd))) {
            const char *rel = c->data_dir;
            while (rel[0] == '.' && rel[1] == '/')
                rel += 2;
            size_t need = strlen(cwd) + 1 + strlen(rel) + 1;
            char *abs = le_xmalloc(need);
            if (strcmp(rel, ".") == 0 || rel[0] == '\0')
                snprintf(abs, need, "%s", cwd);
            else
                snprintf(abs, need, "%s/%s", strcmp(cwd, "/") == 0 ? "" : cwd, rel);
            free(c->data_dir);
            c->data_dir = abs;
        }
    }
    return c;
}
