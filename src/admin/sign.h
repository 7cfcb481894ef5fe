/* Alibaba Cloud POP RPC signature v1 (HMAC-SHA1, SignatureVersion 1.0), as
 * the API reference's "signature" section describes it (man livedge.8,
 * ADMIN API). Pure: strings in, strings out; OpenSSL for the
 * HMAC, Base64 and the constant-time comparison.
 *
 *   canonical     = sorted "enc(name)=enc(value)" joined by '&', Signature left out
 *   StringToSign  = METHOD "&%2F&" enc(canonical)
 *   Signature     = base64(HMAC-SHA1(AccessKeySecret "&", StringToSign))
 *
 * enc() is RFC 3986 percent-encoding: A-Z a-z 0-9 - _ . ~ kept, every other
 * byte %XY with upper-case hex (so space is %20, '*' is %2A, '~' stays). */
#ifndef LE_ADMIN_SIGN_H
#define LE_ADMIN_SIGN_H
#include <stddef.h>
#include "core/util.h"

#define LE_SIGN_B64_LEN 28      /* base64 of a 20-byte HMAC-SHA1, no NUL */

/* One decoded request parameter; the bytes may hold anything, NUL included. */
typedef struct le_sign_param {
    const char *name;
    size_t nlen;
    const char *value;
    size_t vlen;
} le_sign_param;

/* Appends enc(s) to out. */
void le_sign_pct_encode(le_buf *out, const char *s, size_t n);
/* Appends the canonical query: parameters sorted by name in byte order
 * (equal names by value), every one named exactly "Signature" left out. */
void le_sign_canonical(le_buf *out, const le_sign_param *p, size_t n);
/* Appends the StringToSign for this HTTP method ("GET", "POST"). */
void le_sign_string_to_sign(le_buf *out, const char *method, const le_sign_param *p, size_t n);
/* Base64(HMAC-SHA1(secret "&", msg)) into out, NUL-terminated. 0, or
 * LE_EINVAL if OpenSSL fails (out is then ""). */
int le_sign_hmac(const char *secret, const char *msg, size_t len, char out[LE_SIGN_B64_LEN + 1]);
/* The Signature of a request's parameters. 0 or LE_EINVAL. */
int le_sign_compute(const char *secret, const char *method, const le_sign_param *p, size_t n,
                    char out[LE_SIGN_B64_LEN + 1]);
/* Checks sig (the decoded Signature value) in constant time. Returns 0 on a
 * match, LE_EDENIED otherwise. If sts is not NULL the StringToSign the check
 * used is appended to it (for a debug log). */
int le_sign_verify(const char *secret, const char *method, const le_sign_param *p, size_t n,
                   const char *sig, size_t siglen, le_buf *sts);

#endif
