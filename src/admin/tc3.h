/* Tencent Cloud API 3.0 signature, TC3-HMAC-SHA256 (livedge(8), ADMIN API,
 * "Tencent Cloud API 3.0 form"). Pure: strings in, strings out; OpenSSL for
 * SHA-256, HMAC and the constant-time comparison.
 *
 *   CanonicalRequest = METHOD "\n" path "\n" query "\n"
 *                      name ":" value "\n" ... (each signed header)  "\n"
 *                      SignedHeaders "\n" hex(SHA256(body))
 *   StringToSign     = "TC3-HMAC-SHA256\n" timestamp "\n"
 *                      date "/" service "/tc3_request\n" hex(SHA256(CanonicalRequest))
 *   kDate    = HMAC("TC3" SecretKey, date)       date = YYYY-MM-DD (UTC) of timestamp
 *   kService = HMAC(kDate, service)
 *   kSigning = HMAC(kService, "tc3_request")
 *   Signature = hex(HMAC(kSigning, StringToSign))
 *
 *   Authorization: TC3-HMAC-SHA256 Credential=SecretId/date/service/tc3_request,
 *                  SignedHeaders=content-type;host[;...], Signature=<64 hex>
 *
 * Header names are lower case, sorted, and at least content-type and host
 * are signed. Tencent's reference lower-cases header values too, while the
 * SDKs sign them as sent and sign host without the port: le_tc3_verify
 * accepts any of those forms. */
#ifndef LE_ADMIN_TC3_H
#define LE_ADMIN_TC3_H
#include <stddef.h>
#include <stdint.h>
#include "core/util.h"

#define LE_TC3_ALGORITHM "TC3-HMAC-SHA256"
#define LE_TC3_HEX_LEN 64
#define LE_TC3_MAX_SIGNED 16         /* signed headers */
#define LE_TC3_MAX_NAME 64           /* one header name */
#define LE_TC3_MAX_ID 128            /* SecretId */
#define LE_TC3_MAX_SERVICE 64
#define LE_TC3_MAX_AUTH 4096         /* the whole Authorization value */

/* A parsed Authorization value. */
typedef struct le_tc3_auth {
    char secret_id[LE_TC3_MAX_ID + 1];
    char date[11];                                    /* YYYY-MM-DD */
    char service[LE_TC3_MAX_SERVICE + 1];
    size_t nsigned;
    char names[LE_TC3_MAX_SIGNED][LE_TC3_MAX_NAME + 1];   /* lower case, ascending */
    char signature[LE_TC3_HEX_LEN + 1];               /* lower-case hex */
} le_tc3_auth;

/* Parses an Authorization value (s, n bytes, need not be NUL-terminated):
 * the algorithm, one blank or more, then Credential, SignedHeaders and
 * Signature once each in any order, separated by ',' and optional blanks.
 * LE_OK, or LE_EPROTO for anything else (unknown or repeated fields, a scope
 * not ending in tc3_request, a bad date, unsorted or duplicate names,
 * content-type or host not signed, a signature that is not 64 hex digits),
 * LE_ETOOBIG past the limits above. *out is zeroed on error. */
int le_tc3_parse_auth(const char *s, size_t n, le_tc3_auth *out);

/* The UTC date of a UNIX time as YYYY-MM-DD. LE_OK, or LE_EINVAL outside
 * years 1970-9999. */
int le_tc3_date(int64_t t, char out[11]);

/* Lower-case hex SHA-256 of n bytes, NUL-terminated. */
void le_tc3_sha256_hex(const void *p, size_t n, char out[LE_TC3_HEX_LEN + 1]);

/* A request as it is signed. values[i] is the value of the header
 * auth->names[i] (already trimmed or not; blanks at either end are dropped). */
typedef struct le_tc3_req {
    const char *method;          /* "POST", "GET" */
    const char *path;            /* "/" */
    size_t path_len;
    const char *query;           /* raw query string, "" for none */
    size_t query_len;
    const le_tc3_auth *auth;
    const char *const *values;
    const size_t *value_lens;
    const void *payload;
    size_t payload_len;
    int64_t timestamp;           /* X-TC-Timestamp */
} le_tc3_req;

/* Appends the CanonicalRequest. lower_values: header values lower-cased;
 * strip_host_port: host's ":port" suffix left out. */
void le_tc3_canonical_request(le_buf *out, const le_tc3_req *q, int lower_values, int strip_host_port);
/* Appends the StringToSign for a CanonicalRequest. */
void le_tc3_string_to_sign(le_buf *out, int64_t timestamp, const char *date, const char *service,
                           const void *canonical, size_t len);
/* hex(HMAC(kSigning, sts)) into out. LE_OK, or LE_EINVAL if OpenSSL fails. */
int le_tc3_signature(const char *secret, const char *date, const char *service, const void *sts, size_t len,
                     char out[LE_TC3_HEX_LEN + 1]);
/* The whole check of q against q->auth with this secret: the credential
 * date must be the timestamp's UTC date, then the signature must match one
 * of the accepted canonical forms (constant-time comparisons). LE_OK or
 * LE_EDENIED. If sts is not NULL the first StringToSign tried is appended
 * (for a debug log). */
int le_tc3_verify(const char *secret, const le_tc3_req *q, le_buf *sts);

#endif
