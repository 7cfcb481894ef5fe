/* URL signatures (livedge.conf(5), URL signatures): Alibaba Cloud aliauth types A, B and C and the
 * Tencent txSecret/txTime form. Pure: strings and a clock value in, a
 * verdict out; no domain lookup, no logging. MD5 through OpenSSL EVP, hash
 * comparison in constant time (CRYPTO_memcmp).
 *
 *   A  auth_key={ts}-{rand}-{uid}-{md5hex("{URI}-{ts}-{rand}-{uid}-{key}")}
 *      exactly four fields; ts decimal unix seconds; rand and uid 1-64 of
 *      [A-Za-z0-9].
 *   B  path  /{YYYYMMDDHHMM}/{md5hex(key + YYYYMMDDHHMM + URI)}/App/Stream...
 *      query ?KEY1={md5}&KEY2={YYYYMMDDHHMM} (livedge's form for RTMP, which
 *      cannot carry a path prefix); the minute is UTC+8.
 *   C  path  /{md5hex(key + URI + hexts)}/{hexts}/App/Stream...
 *      query ?KEY1={md5}&KEY2={hexts}; hexts unix seconds in hex.
 *   A request passes if it verifies with key1 or key2 (an empty key is
 *   skipped) and now <= timestamp + delta.
 *   tx_secret: txSecret=md5hex(key + StreamName + txTime), txTime the expiry
 *   in hex: passes if it verifies with either key and now <= txTime.
 *
 * Hex digests are accepted in either case (the hash is the same number);
 * timestamps are hashed exactly as sent. URI is the request path without
 * query and without a B/C path prefix: /App/Stream (RTMP), /App/Stream.flv,
 * /App/Stream.m3u8, /App/Stream-7.ts. */
#ifndef LE_ALIAUTH_H
#define LE_ALIAUTH_H
#include <stddef.h>
#include <stdint.h>

#define LE_MD5_HEX 33          /* 32 hex digits and a NUL */

typedef struct le_aliauth_keys {
    int type;                  /* LE_AUTH_* (conf/conf.h) */
    const char *key1, *key2;   /* NULL or "": not set */
    int64_t delta_s;           /* ali_auth_delta, seconds */
} le_aliauth_keys;

/* What a request offers; any field may be NULL when absent. */
typedef struct le_aliauth_req {
    const char *uri;           /* see above */
    const char *query;         /* raw query string, without '?' */
    const char *pre1, *pre2;   /* B/C path form: the two leading path segments */
    const char *stream;        /* tx_secret: the StreamName */
} le_aliauth_req;

enum {
    LE_AUTHF_NONE = 0,         /* no_auth: nothing to sign */
    LE_AUTHF_A,
    LE_AUTHF_B_PATH, LE_AUTHF_B_QUERY,
    LE_AUTHF_C_PATH, LE_AUTHF_C_QUERY,
    LE_AUTHF_TX
};

/* How a request passed: enough to sign other URIs (the segments of a
 * playlist) the same way, with the same key and the same expiry. */
typedef struct le_aliauth_grant {
    int form;                  /* LE_AUTHF_* */
    int key;                   /* 1 or 2: the key that verified */
    int64_t expires_s;         /* last second the token is valid */
    char ts[24];               /* the timestamp as sent (A decimal, B minute, C/TX hex) */
    char rand[65], uid[65];    /* A */
} le_aliauth_grant;

/* 0 if the request passes (g filled, may be NULL), else LE_EDENIED with a
 * static reason in *why ("missing token", "signature mismatch", "expired",
 * "malformed token"). A keyless domain of a signing type refuses. */
int le_aliauth_verify(const le_aliauth_keys *k, const le_aliauth_req *rq, int64_t now_s,
                      le_aliauth_grant *g, const char **why);

/* Signs uri the way g was granted. Query forms write "name=value&..." into
 * query and "" into prefix; path forms write "/{p1}/{p2}" into prefix (the
 * signed URL is prefix + uri) and "" into query. stream is the tx_secret
 * StreamName. 0, or LE_EINVAL (unknown form, key gone, no room). */
int le_aliauth_sign(const le_aliauth_keys *k, const le_aliauth_grant *g, const char *uri,
                    const char *stream, char *prefix, size_t prefixsz, char *query, size_t querysz);

/* md5 hex (lower case) of the concatenation of up to five strings (NULLs
 * skipped): the building block of every form above. */
void le_aliauth_md5hex(char out[LE_MD5_HEX], const char *a, const char *b, const char *c,
                       const char *d, const char *e);

/* Type B minutes: "YYYYMMDDHHMM" in UTC+8 <-> unix seconds. Parse returns
 * LE_EINVAL for anything but 12 digits naming a real minute. */
int le_aliauth_b_parse(const char *s, int64_t *unix_s);
void le_aliauth_b_format(int64_t unix_s, char out[13]);

#endif
