#include "auth/aliauth.h"
#include "conf/conf.h"
#include "core/err.h"
#include "core/util.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#define B_TZ_S (8 * 3600)      /* type B minutes are Beijing time, UTC+8 */
#define MAX_TS_DIGITS 12       /* keeps ts + delta far inside int64 */

void le_aliauth_md5hex(char out[LE_MD5_HEX], const char *a, const char *b, const char *c,
                       const char *d, const char *e)
{
    static const char hex[] = "0123456789abcdef";
    const char *parts[5] = { a, b, c, d, e };
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int okd = ctx && EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1;
    for (int i = 0; okd && i < 5; i++)
        if (parts[i])
            okd = EVP_DigestUpdate(ctx, parts[i], strlen(parts[i])) == 1;
    okd = okd && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == 16;
    EVP_MD_CTX_free(ctx);
    if (!okd) {
        /* Only if the default provider is missing: a digest nobody matches. */
        memset(out, 'x', 32);
        out[32] = '\0';
        return;
    }
    for (int i = 0; i < 16; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[32] = '\0';
}

/* ---- field syntax ---- */

static int is_hexc(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* 32 hex digits, copied in lower case (case carries no information). */
static int md5_field(const char *s, char out[LE_MD5_HEX])
{
    if (!s || strlen(s) != 32)
        return LE_EINVAL;
    for (int i = 0; i < 32; i++) {
        if (!is_hexc(s[i]))
            return LE_EINVAL;
        out[i] = (s[i] >= 'A' && s[i] <= 'F') ? (char)(s[i] - 'A' + 'a') : s[i];
    }
    out[32] = '\0';
    return 0;
}

static int dec_field(const char *s, int64_t *v)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > MAX_TS_DIGITS)
        return LE_EINVAL;
    int64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return LE_EINVAL;
        x = x * 10 + (s[i] - '0');
    }
    *v = x;
    return 0;
}

static int hex_field(const char *s, int64_t *v)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > MAX_TS_DIGITS - 2)   /* 10 hex digits: year 36812 */
        return LE_EINVAL;
    int64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!is_hexc(c))
            return LE_EINVAL;
        x = x * 16 + (c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    *v = x;
    return 0;
}

static int alnum_field(const char *s, size_t n)
{
    if (n < 1 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
            return 0;
    }
    return 1;
}

/* Copies a field already checked to fit (truncates otherwise). */
static void copy_field(char *dst, size_t dstsz, const char *src)
{
    size_t n = strlen(src);
    if (n >= dstsz)
        n = dstsz - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* ---- type B minutes ---- */

int le_aliauth_b_parse(const char *s, int64_t *unix_s)
{
    int v[12];
    if (!s || strlen(s) != 12)
        return LE_EINVAL;
    for (int i = 0; i < 12; i++) {
        if (s[i] < '0' || s[i] > '9')
            return LE_EINVAL;
        v[i] = s[i] - '0';
    }
    int y = v[0] * 1000 + v[1] * 100 + v[2] * 10 + v[3];
    int mo = v[4] * 10 + v[5], d = v[6] * 10 + v[7], h = v[8] * 10 + v[9], mi = v[10] * 10 + v[11];
    static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (y < 1970 || mo < 1 || mo > 12 || h > 23 || mi > 59 || d < 1)
        return LE_EINVAL;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[mo - 1] + (mo == 2 && leap))
        return LE_EINVAL;
    *unix_s = le_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 - B_TZ_S;
    return 0;
}

void le_aliauth_b_format(int64_t unix_s, char out[13])
{
    int64_t t = unix_s + B_TZ_S;
    int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
    int64_t sod = t - days * 86400;
    int64_t y;
    int m, d;
    le_civil_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999) {
        snprintf(out, 13, "000000000000");
        return;
    }
    char tmp[64];
    snprintf(tmp, sizeof(tmp), "%04d%02d%02d%02d%02d", (int)y, m, d, (int)(sod / 3600),
             (int)(sod / 60 % 60));
    memcpy(out, tmp, 12);
    out[12] = '\0';
}

/* ---- verification ---- */

static int key_set(const char *k) { return k && *k; }

static const char *key_n(const le_aliauth_keys *k, int n) { return n == 1 ? k->key1 : k->key2; }

/* The expected digest for one key, per form. */
static void expected(const le_aliauth_keys *k, int key, int form, const le_aliauth_grant *g,
                     const char *uri, const char *stream, char out[LE_MD5_HEX])
{
    const char *key_s = key_n(k, key);
    switch (form) {
    case LE_AUTHF_A: {
        char mid[24 + 65 + 65 + 4];
        snprintf(mid, sizeof(mid), "-%s-%s-%s-", g->ts, g->rand, g->uid);
        le_aliauth_md5hex(out, uri, mid, key_s, NULL, NULL);
        break;
    }
    case LE_AUTHF_B_PATH:
    case LE_AUTHF_B_QUERY:
        le_aliauth_md5hex(out, key_s, g->ts, uri, NULL, NULL);
        break;
    case LE_AUTHF_C_PATH:
    case LE_AUTHF_C_QUERY:
        le_aliauth_md5hex(out, key_s, uri, g->ts, NULL, NULL);
        break;
    default:   /* LE_AUTHF_TX */
        le_aliauth_md5hex(out, key_s, stream, g->ts, NULL, NULL);
        break;
    }
}

static int qget(const char *query, const char *name, char *out, size_t outsz)
{
    if (!query || !*query)
        return LE_ENOTFOUND;
    int n = le_query_get(query, strlen(query), name, out, outsz);
    return n >= 0 ? n : LE_ENOTFOUND;   /* absent or too long */
}

/* The parameter is present (perhaps with a value too long to decode). */
static int qhas(const char *query, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = query; p && *p;) {
        size_t l = strcspn(p, "&=");
        if (l == nl && memcmp(p, name, nl) == 0)
            return 1;
        p += strcspn(p, "&");
        if (*p)
            p++;
    }
    return 0;
}

/* Reads a token parameter: 0, or LE_EINVAL with the reason. */
static int token_param(const char *query, const char *name, char *out, size_t outsz, const char **why)
{
    int n = qget(query, name, out, outsz);
    if (n >= 0 && (size_t)n == strlen(out))   /* a %00 inside is no token */
        return 0;
    *why = qhas(query, name) ? "malformed token" : "missing token";
    return LE_EINVAL;
}

int le_aliauth_verify(const le_aliauth_keys *k, const le_aliauth_req *rq, int64_t now_s,
                      le_aliauth_grant *gout, const char **why)
{
    le_aliauth_grant g;
    char hash[LE_MD5_HEX];
    char given_hash[80], given_ts[80];
    int64_t ts = 0, expires;
    memset(&g, 0, sizeof(g));

    if (k->type == LE_AUTH_NONE) {
        if (gout)
            *gout = g;
        return 0;
    }
    if (!key_set(k->key1) && !key_set(k->key2)) {
        *why = "no auth key configured";
        return LE_EDENIED;
    }
    const char *uri = rq->uri ? rq->uri : "";
    given_hash[0] = given_ts[0] = '\0';

    switch (k->type) {
    case LE_AUTH_A: {
        char tok[256];
        if (token_param(rq->query, "auth_key", tok, sizeof(tok), why) < 0)
            return LE_EDENIED;
        /* Exactly four '-' separated fields. */
        char *f[4];
        int nf = 0;
        char *p = tok;
        f[nf++] = p;
        for (; *p; p++)
            if (*p == '-') {
                if (nf == 4) {
                    nf = 5;
                    break;
                }
                *p = '\0';
                f[nf++] = p + 1;
            }
        if (nf != 4 || dec_field(f[0], &ts) < 0 || !alnum_field(f[1], strlen(f[1])) ||
            !alnum_field(f[2], strlen(f[2])) || md5_field(f[3], hash) < 0) {
            *why = "malformed token";
            return LE_EDENIED;
        }
        g.form = LE_AUTHF_A;
        copy_field(g.ts, sizeof(g.ts), f[0]);
        copy_field(g.rand, sizeof(g.rand), f[1]);
        copy_field(g.uid, sizeof(g.uid), f[2]);
        expires = ts + k->delta_s;
        break;
    }
    case LE_AUTH_B:
    case LE_AUTH_C: {
        int is_b = k->type == LE_AUTH_B;
        if (rq->pre1 && rq->pre2) {
            snprintf(given_hash, sizeof(given_hash), "%s", is_b ? rq->pre2 : rq->pre1);
            snprintf(given_ts, sizeof(given_ts), "%s", is_b ? rq->pre1 : rq->pre2);
            g.form = is_b ? LE_AUTHF_B_PATH : LE_AUTHF_C_PATH;
        } else {
            if (!qhas(rq->query, "KEY1") && !qhas(rq->query, "KEY2")) {
                *why = "missing token";
                return LE_EDENIED;
            }
            if (token_param(rq->query, "KEY1", given_hash, sizeof(given_hash), why) < 0 ||
                token_param(rq->query, "KEY2", given_ts, sizeof(given_ts), why) < 0) {
                *why = "malformed token";
                return LE_EDENIED;
            }
            g.form = is_b ? LE_AUTHF_B_QUERY : LE_AUTHF_C_QUERY;
        }
        int bad = md5_field(given_hash, hash) < 0 ||
                  (is_b ? le_aliauth_b_parse(given_ts, &ts) : hex_field(given_ts, &ts)) < 0;
        if (bad) {
            *why = "malformed token";
            return LE_EDENIED;
        }
        copy_field(g.ts, sizeof(g.ts), given_ts);
        expires = ts + k->delta_s;
        break;
    }
    case LE_AUTH_TX: {
        if (!qhas(rq->query, "txSecret") && !qhas(rq->query, "txTime")) {
            *why = "missing token";
            return LE_EDENIED;
        }
        if (token_param(rq->query, "txSecret", given_hash, sizeof(given_hash), why) < 0 ||
            token_param(rq->query, "txTime", given_ts, sizeof(given_ts), why) < 0 ||
            md5_field(given_hash, hash) < 0 || hex_field(given_ts, &ts) < 0 || !rq->stream) {
            *why = "malformed token";
            return LE_EDENIED;
        }
        g.form = LE_AUTHF_TX;
        copy_field(g.ts, sizeof(g.ts), given_ts);
        expires = ts;   /* txTime is the expiry itself */
        break;
    }
    default:
        *why = "unknown auth type";
        return LE_EDENIED;
    }

    /* Both keys are always computed: the time taken does not say which
     * (if either) matched. */
    int matched = 0;
    for (int n = 2; n >= 1; n--) {
        char want[LE_MD5_HEX];
        if (!key_set(key_n(k, n)))
            continue;
        expected(k, n, g.form, &g, uri, rq->stream, want);
        if (CRYPTO_memcmp(want, hash, 32) == 0)
            matched = n;
    }
    if (!matched) {
        *why = "signature mismatch";
        return LE_EDENIED;
    }
    if (now_s > expires) {
        *why = "expired";
        return LE_EDENIED;
    }
    g.key = matched;
    g.expires_s = expires;
    if (gout)
        *gout = g;
    return 0;
}

int le_aliauth_sign(const le_aliauth_keys *k, const le_aliauth_grant *g, const char *uri,
                    const char *stream, char *prefix, size_t prefixsz, char *query, size_t querysz)
{
    char h[LE_MD5_HEX];
    int n;
    if (prefixsz < 1 || querysz < 1)
        return LE_EINVAL;
    prefix[0] = query[0] = '\0';
    if (g->form == LE_AUTHF_NONE)
        return 0;
    if ((g->key != 1 && g->key != 2) || !key_set(key_n(k, g->key)) || g->form > LE_AUTHF_TX)
        return LE_EINVAL;
    if (g->form == LE_AUTHF_TX && !stream)
        return LE_EINVAL;
    expected(k, g->key, g->form, g, uri ? uri : "", stream, h);
    switch (g->form) {
    case LE_AUTHF_A:
        n = snprintf(query, querysz, "auth_key=%s-%s-%s-%s", g->ts, g->rand, g->uid, h);
        break;
    case LE_AUTHF_B_PATH:
        n = snprintf(prefix, prefixsz, "/%s/%s", g->ts, h);
        break;
    case LE_AUTHF_C_PATH:
        n = snprintf(prefix, prefixsz, "/%s/%s", h, g->ts);
        break;
    case LE_AUTHF_B_QUERY:
    case LE_AUTHF_C_QUERY:
        n = snprintf(query, querysz, "KEY1=%s&KEY2=%s", h, g->ts);
        break;
    default:
        n = snprintf(query, querysz, "txSecret=%s&txTime=%s", h, g->ts);
        break;
    }
    int path = g->form == LE_AUTHF_B_PATH || g->form == LE_AUTHF_C_PATH;
    if (n < 0 || (size_t)n >= (path ? prefixsz : querysz)) {
        prefix[0] = query[0] = '\0';
        return LE_EINVAL;
    }
    return 0;
}
