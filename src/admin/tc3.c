/* TC3-HMAC-SHA256 (tc3.h). */
#include "admin/tc3.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"

#define SCOPE_END "tc3_request"

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static int is_lhex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Copies s[0..n) into out (cap bytes with the NUL). LE_ETOOBIG if it does
 * not fit, LE_EPROTO if empty or holding a NUL. */
static int copy_field(char *out, size_t cap, const char *s, size_t n)
{
    if (n == 0 || memchr(s, '\0', n))
        return LE_EPROTO;
    if (n + 1 > cap)
        return LE_ETOOBIG;
    memcpy(out, s, n);
    out[n] = '\0';
    return LE_OK;
}

static int valid_date(const char *d)
{
    for (int i = 0; i < 10; i++) {
        if (i == 4 || i == 7) {
            if (d[i] != '-')
                return 0;
        } else if (!is_digit(d[i])) {
            return 0;
        }
    }
    int m = (d[5] - '0') * 10 + (d[6] - '0'), day = (d[8] - '0') * 10 + (d[9] - '0');
    return m >= 1 && m <= 12 && day >= 1 && day <= 31;
}

/* SecretId/date/service/tc3_request */
static int parse_credential(const char *s, size_t n, le_tc3_auth *a)
{
    const char *end = s + n, *p = s, *slash[3];
    for (int k = 0; k < 3; k++) {
        const char *q = memchr(p, '/', (size_t)(end - p));
        if (!q)
            return LE_EPROTO;
        slash[k] = q;
        p = q + 1;
    }
    if ((size_t)(end - p) != sizeof(SCOPE_END) - 1 || memcmp(p, SCOPE_END, sizeof(SCOPE_END) - 1) != 0)
        return LE_EPROTO;
    int rc = copy_field(a->secret_id, sizeof(a->secret_id), s, (size_t)(slash[0] - s));
    if (rc != LE_OK)
        return rc;
    for (const char *c = a->secret_id; *c; c++)
        if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
            return LE_EPROTO;
    if (slash[1] - slash[0] - 1 != 10)
        return LE_EPROTO;
    memcpy(a->date, slash[0] + 1, 10);
    a->date[10] = '\0';
    if (!valid_date(a->date))
        return LE_EPROTO;
    rc = copy_field(a->service, sizeof(a->service), slash[1] + 1, (size_t)(slash[2] - slash[1] - 1));
    if (rc != LE_OK)
        return rc;
    for (const char *c = a->service; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || is_digit(*c) || *c == '-' ||
              *c == '_' || *c == '.'))
            return LE_EPROTO;
    return LE_OK;
}

/* name;name;... lower case, strictly ascending, content-type and host among them. */
static int parse_signed(const char *s, size_t n, le_tc3_auth *a)
{
    const char *end = s + n, *p = s;
    int ct = 0, host = 0;
    if (n == 0)
        return LE_EPROTO;
    for (;;) {
        const char *q = memchr(p, ';', (size_t)(end - p));
        size_t len = (size_t)((q ? q : end) - p);
        if (a->nsigned == LE_TC3_MAX_SIGNED)
            return LE_ETOOBIG;
        char *name = a->names[a->nsigned];
        int rc = copy_field(name, LE_TC3_MAX_NAME + 1, p, len);
        if (rc != LE_OK)
            return rc;
        for (const char *c = name; *c; c++)
            if (!((*c >= 'a' && *c <= 'z') || is_digit(*c) || *c == '-' || *c == '_'))
                return LE_EPROTO;
        if (a->nsigned > 0 && strcmp(a->names[a->nsigned - 1], name) >= 0)
            return LE_EPROTO;
        ct |= strcmp(name, "content-type") == 0;
        host |= strcmp(name, "host") == 0;
        a->nsigned++;
        if (!q)
            break;
        p = q + 1;
    }
    return ct && host ? LE_OK : LE_EPROTO;
}

static int parse_auth(const char *s, size_t n, le_tc3_auth *a)
{
    size_t alen = sizeof(LE_TC3_ALGORITHM) - 1;
    if (n > LE_TC3_MAX_AUTH)
        return LE_ETOOBIG;
    if (n <= alen || memcmp(s, LE_TC3_ALGORITHM, alen) != 0 || !is_blank(s[alen]))
        return LE_EPROTO;
    const char *p = s + alen, *end = s + n;
    int seen_cred = 0, seen_sh = 0, seen_sig = 0;
    for (;;) {
        while (p < end && is_blank(*p))
            p++;
        const char *eq = memchr(p, '=', (size_t)(end - p));
        if (!eq)
            return LE_EPROTO;
        const char *comma = memchr(eq, ',', (size_t)(end - eq));
        const char *vend = comma ? comma : end;
        while (vend > eq + 1 && is_blank(vend[-1]))
            vend--;
        const char *v = eq + 1;
        size_t klen = (size_t)(eq - p), vlen = (size_t)(vend - v);
        int rc;
        if (klen == 10 && memcmp(p, "Credential", 10) == 0 && !seen_cred) {
            seen_cred = 1;
            rc = parse_credential(v, vlen, a);
        } else if (klen == 13 && memcmp(p, "SignedHeaders", 13) == 0 && !seen_sh) {
            seen_sh = 1;
            rc = parse_signed(v, vlen, a);
        } else if (klen == 9 && memcmp(p, "Signature", 9) == 0 && !seen_sig) {
            seen_sig = 1;
            rc = vlen == LE_TC3_HEX_LEN ? LE_OK : LE_EPROTO;
            for (size_t i = 0; rc == LE_OK && i < vlen; i++)
                if (!is_lhex(v[i]))
                    rc = LE_EPROTO;
            if (rc == LE_OK) {
                memcpy(a->signature, v, LE_TC3_HEX_LEN);
                a->signature[LE_TC3_HEX_LEN] = '\0';
            }
        } else {
            rc = LE_EPROTO;
        }
        if (rc != LE_OK)
            return rc;
        if (!comma)
            break;
        p = comma + 1;
    }
    return seen_cred && seen_sh && seen_sig ? LE_OK : LE_EPROTO;
}

int le_tc3_parse_auth(const char *s, size_t n, le_tc3_auth *out)
{
    memset(out, 0, sizeof(*out));
    int rc = s ? parse_auth(s, n, out) : LE_EPROTO;
    if (rc != LE_OK)
        memset(out, 0, sizeof(*out));
    return rc;
}

int le_tc3_date(int64_t t, char out[11])
{
    /* 10000-01-01T00:00:00Z */
    if (t < 0 || t >= 253402300800LL) {
        out[0] = '\0';
        return LE_EINVAL;
    }
    int64_t y;
    int m, d;
    le_civil_from_days(t / 86400, &y, &m, &d);
    int v[3] = { (int)y, m, d }, w[3] = { 4, 2, 2 }, o = 0;
    for (int k = 0; k < 3; k++) {
        if (k)
            out[o++] = '-';
        for (int i = w[k] - 1, x = v[k]; i >= 0; i--, x /= 10)
            out[o + i] = (char)('0' + x % 10);
        o += w[k];
    }
    out[o] = '\0';
    return LE_OK;
}

static void to_hex(const unsigned char *b, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 15];
    }
    out[2 * n] = '\0';
}

void le_tc3_sha256_hex(const void *p, size_t n, char out[LE_TC3_HEX_LEN + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_Digest(p ? p : "", n, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32) {
        memset(out, '0', LE_TC3_HEX_LEN);   /* never expected; matches nothing real */
        out[LE_TC3_HEX_LEN] = '\0';
        return;
    }
    to_hex(md, 32, out);
}

/* The value without blanks at either end. */
static void trimmed(const char *v, size_t n, const char **p, size_t *len)
{
    while (n && is_blank(*v)) {
        v++;
        n--;
    }
    while (n && is_blank(v[n - 1]))
        n--;
    *p = v;
    *len = n;
}

/* host "a.b:80" -> "a.b", "[::1]:80" -> "[::1]"; others unchanged. */
static size_t host_without_port(const char *v, size_t n)
{
    size_t i = n;
    while (i > 0 && is_digit(v[i - 1]))
        i--;
    if (i == n || i == 0 || v[i - 1] != ':')
        return n;
    const char *colon = memchr(v, ':', i - 1);
    if (colon && v[0] != '[')
        return n;   /* a bare IPv6 address: no port to strip */
    return i - 1;
}

void le_tc3_canonical_request(le_buf *out, const le_tc3_req *q, int lower_values, int strip_host_port)
{
    char hash[LE_TC3_HEX_LEN + 1];
    le_buf_printf(out, "%s\n", q->method);
    le_buf_append(out, q->path, q->path_len);
    le_buf_u8(out, '\n');
    le_buf_append(out, q->query ? q->query : "", q->query ? q->query_len : 0);
    le_buf_u8(out, '\n');
    for (size_t i = 0; i < q->auth->nsigned; i++) {
        const char *v;
        size_t n;
        trimmed(q->values[i], q->value_lens[i], &v, &n);
        if (strip_host_port && strcmp(q->auth->names[i], "host") == 0)
            n = host_without_port(v, n);
        le_buf_printf(out, "%s:", q->auth->names[i]);
        for (size_t k = 0; k < n; k++) {
            char c = v[k];
            le_buf_u8(out, (uint8_t)(lower_values && c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
        }
        le_buf_u8(out, '\n');
    }
    le_buf_u8(out, '\n');
    for (size_t i = 0; i < q->auth->nsigned; i++)
        le_buf_printf(out, "%s%s", i ? ";" : "", q->auth->names[i]);
    le_buf_u8(out, '\n');
    le_tc3_sha256_hex(q->payload, q->payload_len, hash);
    le_buf_append(out, hash, LE_TC3_HEX_LEN);
}

void le_tc3_string_to_sign(le_buf *out, int64_t timestamp, const char *date, const char *service,
                           const void *canonical, size_t len)
{
    char hash[LE_TC3_HEX_LEN + 1];
    le_tc3_sha256_hex(canonical, len, hash);
    le_buf_printf(out, "%s\n%lld\n%s/%s/%s\n%s", LE_TC3_ALGORITHM, (long long)timestamp, date, service,
                  SCOPE_END, hash);
}

static int hmac(const void *key, size_t klen, const void *msg, size_t mlen, unsigned char out[32])
{
    unsigned int n = 0;
    /* HMAC() (unlike HMAC_CTX) is not deprecated in OpenSSL 3. */
    if (!HMAC(EVP_sha256(), key, (int)klen, msg, mlen, out, &n) || n != 32)
        return LE_EINVAL;
    return LE_OK;
}

int le_tc3_signature(const char *secret, const char *date, const char *service, const void *sts, size_t len,
                     char out[LE_TC3_HEX_LEN + 1])
{
    le_buf k0 = { 0 };
    unsigned char kd[32], ks[32], kg[32], sig[32];
    out[0] = '\0';
    le_buf_printf(&k0, "TC3%s", secret);
    int rc = hmac(k0.p, k0.len, date, strlen(date), kd);
    OPENSSL_cleanse(k0.p, k0.len);
    le_buf_free(&k0);
    if (rc == LE_OK)
        rc = hmac(kd, 32, service, strlen(service), ks);
    if (rc == LE_OK)
        rc = hmac(ks, 32, SCOPE_END, sizeof(SCOPE_END) - 1, kg);
    if (rc == LE_OK)
        rc = hmac(kg, 32, sts, len, sig);
    OPENSSL_cleanse(kd, sizeof(kd));
    OPENSSL_cleanse(ks, sizeof(ks));
    OPENSSL_cleanse(kg, sizeof(kg));
    if (rc == LE_OK)
        to_hex(sig, 32, out);
    return rc;
}

static int has_upper(const le_tc3_req *q)
{
    for (size_t i = 0; i < q->auth->nsigned; i++)
        for (size_t k = 0; k < q->value_lens[i]; k++)
            if (q->values[i][k] >= 'A' && q->values[i][k] <= 'Z')
                return 1;
    return 0;
}

static int host_has_port(const le_tc3_req *q)
{
    for (size_t i = 0; i < q->auth->nsigned; i++) {
        if (strcmp(q->auth->names[i], "host") != 0)
            continue;
        const char *v;
        size_t n;
        trimmed(q->values[i], q->value_lens[i], &v, &n);
        return host_without_port(v, n) != n;
    }
    return 0;
}

int le_tc3_verify(const char *secret, const le_tc3_req *q, le_buf *sts_dbg)
{
    char date[11], sig[LE_TC3_HEX_LEN + 1];
    if (le_tc3_date(q->timestamp, date) != LE_OK || strcmp(date, q->auth->date) != 0)
        return LE_EDENIED;
    int nlower = has_upper(q) ? 2 : 1, nport = host_has_port(q) ? 2 : 1, ok = 0;
    /* Every form is computed, so the time taken does not tell which matched. */
    for (int lo = 0; lo < nlower; lo++) {
        for (int sp = 0; sp < nport; sp++) {
            le_buf cr = { 0 }, sts = { 0 };
            /* Tencent's reference form first: values lower-cased, host as sent. */
            le_tc3_canonical_request(&cr, q, lo == 0, sp);
            le_tc3_string_to_sign(&sts, q->timestamp, date, q->auth->service, cr.p, cr.len);
            if (sts_dbg && lo == 0 && sp == 0)
                le_buf_append(sts_dbg, sts.p, sts.len);
            if (le_tc3_signature(secret, date, q->auth->service, sts.p, sts.len, sig) == LE_OK &&
                CRYPTO_memcmp(sig, q->auth->signature, LE_TC3_HEX_LEN) == 0)
                ok = 1;
            le_buf_free(&cr);
            le_buf_free(&sts);
        }
    }
    return ok ? LE_OK : LE_EDENIED;
}
