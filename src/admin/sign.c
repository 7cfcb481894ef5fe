/* POP signature v1 (sign.h). */
#include "admin/sign.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

void le_sign_pct_encode(le_buf *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    le_buf_reserve(out, n);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            le_buf_u8(out, c);
        } else {
            uint8_t t[3] = { '%', (uint8_t)hex[c >> 4], (uint8_t)hex[c & 15] };
            le_buf_append(out, t, 3);
        }
    }
}

/* memcmp order with the shorter string first on a common prefix: the byte
 * order the SDKs get from sorting their (ASCII) parameter names. */
static int bytes_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    int r = memcmp(a, b, an < bn ? an : bn);
    if (r)
        return r;
    return an < bn ? -1 : an > bn ? 1 : 0;
}

static int param_cmp(const void *x, const void *y)
{
    const le_sign_param *a = *(const le_sign_param *const *)x;
    const le_sign_param *b = *(const le_sign_param *const *)y;
    int r = bytes_cmp(a->name, a->nlen, b->name, b->nlen);
    return r ? r : bytes_cmp(a->value, a->vlen, b->value, b->vlen);
}

static int is_signature(const le_sign_param *p)
{
    return p->nlen == 9 && memcmp(p->name, "Signature", 9) == 0;
}

void le_sign_canonical(le_buf *out, const le_sign_param *p, size_t n)
{
    /* Sort pointers: the caller's array stays as it is. */
    const le_sign_param **v = le_xmalloc((n ? n : 1) * sizeof(*v));
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!is_signature(&p[i]))
            v[m++] = &p[i];
    qsort(v, m, sizeof(*v), param_cmp);
    for (size_t i = 0; i < m; i++) {
        if (i)
            le_buf_u8(out, '&');
        le_sign_pct_encode(out, v[i]->name, v[i]->nlen);
        le_buf_u8(out, '=');
        le_sign_pct_encode(out, v[i]->value, v[i]->vlen);
    }
    free(v);
}

void le_sign_string_to_sign(le_buf *out, const char *method, const le_sign_param *p, size_t n)
{
    le_buf canon = { 0 };
    le_sign_canonical(&canon, p, n);
    le_buf_append(out, method, strlen(method));
    le_buf_append(out, "&%2F&", 5);
    le_sign_pct_encode(out, (const char *)canon.p, canon.len);
    le_buf_free(&canon);
}

int le_sign_hmac(const char *secret, const char *msg, size_t len, char out[LE_SIGN_B64_LEN + 1])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    size_t slen = strlen(secret);
    char *key = le_xmalloc(slen + 2);
    memcpy(key, secret, slen);
    key[slen] = '&';
    key[slen + 1] = '\0';
    out[0] = '\0';
    /* HMAC() (unlike HMAC_CTX) is not deprecated in OpenSSL 3. */
    unsigned char *r = HMAC(EVP_sha1(), key, (int)(slen + 1), (const unsigned char *)msg, len,
                            mac, &maclen);
    OPENSSL_cleanse(key, slen + 1);
    free(key);
    if (!r || maclen != 20)
        return LE_EINVAL;
    if (EVP_EncodeBlock((unsigned char *)out, mac, 20) != LE_SIGN_B64_LEN) {
        out[0] = '\0';
        return LE_EINVAL;
    }
    return LE_OK;
}

int le_sign_compute(const char *secret, const char *method, const le_sign_param *p, size_t n,
                    char out[LE_SIGN_B64_LEN + 1])
{
    le_buf sts = { 0 };
    le_sign_string_to_sign(&sts, method, p, n);
    int rc = le_sign_hmac(secret, (const char *)sts.p, sts.len, out);
    le_buf_free(&sts);
    return rc;
}

int le_sign_verify(const char *secret, const char *method, const le_sign_param *p, size_t n,
                   const char *sig, size_t siglen, le_buf *sts_out)
{
    char want[LE_SIGN_B64_LEN + 1];
    le_buf sts = { 0 };
    le_sign_string_to_sign(&sts, method, p, n);
    int rc = le_sign_hmac(secret, (const char *)sts.p, sts.len, want);
    if (sts_out)
        le_buf_append(sts_out, sts.p, sts.len);
    le_buf_free(&sts);
    if (rc != LE_OK)
        return LE_EDENIED;
    /* The length is public (always 28); only the bytes are compared in
     * constant time. */
    if (siglen != LE_SIGN_B64_LEN || CRYPTO_memcmp(want, sig, LE_SIGN_B64_LEN) != 0)
        return LE_EDENIED;
    return LE_OK;
}
