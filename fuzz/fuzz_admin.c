/* libFuzzer target for the admin API parameter path, through the public
 * pure functions it is built from: form decoding (le_url_decode,
 * le_query_get), canonicalization and signature v1 (le_sign_*), and the
 * UTC time parameters (le_parse_utc, le_admin_parse_timestamp), with the
 * server's own form parser (le_admin_form_parse, admin/form.h).
 * First byte: bit 0 POST, bits 1-7 le_query_get's output size; the rest: a
 * query string or form body.
 *   clang -g -fsanitize=fuzzer,address,undefined -I../src fuzz_admin.c \
 *     ../src/admin/sign.c ../src/core/util.c ../src/core/err.c -lcrypto */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "admin/form.h"
#include "admin/sign.h"
#include "core/err.h"
#include "core/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PARAMS 64
#define SECRET "testsecret"

static int upper_hex(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

/* Only unreserved bytes, "%XY" with upper-case hex, and the given extras. */
static void check_encoded(const uint8_t *p, size_t n, const char *extra)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~' || (c && strchr(extra, c)))
            continue;
        if (c != '%' || i + 2 >= n || !upper_hex(p[i + 1]) || !upper_hex(p[i + 2]))
            abort();
        i += 2;
    }
}

static void check_query_get(const char *q, size_t n, const char *key, size_t outsz)
{
    char out[32];
    memset(out, 'x', sizeof out);
    int rc = le_query_get(q, n, key, out, outsz);
    if (rc >= 0 && ((size_t)rc >= outsz || out[rc] != '\0'))
        abort();
}

static int same(const le_buf *a, const le_buf *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *method = data[0] & 1 ? "POST" : "GET";
    size_t outsz = 1 + (data[0] >> 1) % 32;
    data++;
    size--;
    char *q = malloc(size ? size : 1);
    memcpy(q, data, size);

    check_query_get(q, size, "Format", outsz);
    check_query_get(q, size, "Signature", outsz);
    check_query_get(q, size, "", outsz);

    le_sign_param *p = NULL;
    size_t np = 0;
    const char *sig = NULL, *ts = NULL;
    size_t siglen = 0;
    char msg[128];
    if (le_admin_form_parse(q, size, &p, &np, MAX_PARAMS, msg, sizeof(msg)) != 0) {
        if (!msg[0])
            abort();              /* a refusal always says why */
        le_admin_form_free(p, np);
        free(q);
        return 0;
    }
    for (size_t k = 0; k < np; k++) {
        if (strlen(p[k].name) != p[k].nlen || strlen(p[k].value) != p[k].vlen)
            abort();              /* decoded and NUL-terminated, no embedded NUL */
        for (size_t j = 0; j < k; j++)
            if (strcmp(p[j].name, p[k].name) == 0)
                abort();          /* duplicates were refused */
        if (strcmp(p[k].name, "Signature") == 0) {
            sig = p[k].value;
            siglen = p[k].vlen;
        } else if (strcmp(p[k].name, "Timestamp") == 0) {
            ts = p[k].value;
        }
    }

    /* Canonical form: encoded pairs, one '&' between, order-independent. */
    le_buf c1 = { 0 }, c2 = { 0 }, sts = { 0 }, sts2 = { 0 };
    le_sign_canonical(&c1, p, np);
    check_encoded(c1.p, c1.len, "=&");
    le_sign_param rev[MAX_PARAMS + 1];
    for (size_t k = 0; k < np; k++)
        rev[k] = p[np - 1 - k];
    le_sign_canonical(&c2, rev, np);
    if (!same(&c1, &c2))
        abort();
    le_sign_string_to_sign(&sts, method, p, np);
    check_encoded(sts.p + strlen(method) + 1, sts.len - strlen(method) - 1, "&");

    char want[LE_SIGN_B64_LEN + 1];
    if (le_sign_compute(SECRET, method, p, np, want) != 0 || strlen(want) != LE_SIGN_B64_LEN)
        abort();
    if (le_sign_verify(SECRET, method, p, np, want, LE_SIGN_B64_LEN, &sts2) != 0)
        abort();
    if (!same(&sts, &sts2))
        abort();
    if (sig) {
        int rc = le_sign_verify(SECRET, method, p, np, sig, siglen, NULL);
        int match = siglen == LE_SIGN_B64_LEN && memcmp(sig, want, siglen) == 0;
        if (rc != (match ? 0 : LE_EDENIED))
            abort();
    }

    /* Timestamp: whatever le_parse_utc accepts prints back unchanged, and
     * the server's parser (fractions tolerated) agrees on the second. */
    if (ts) {
        int64_t ms, secs;
        char back[21];
        if (le_parse_utc(ts, &ms) == 0) {
            if (ms % 1000 || strcmp(le_fmt_utc(ms, back), ts) != 0)
                abort();
            if (le_admin_parse_timestamp(ts, &secs) != 0 || secs != ms / 1000)
                abort();
        }
    }

    le_buf_free(&c1);
    le_buf_free(&c2);
    le_buf_free(&sts);
    le_buf_free(&sts2);
    le_admin_form_free(p, np);
    free(q);
    return 0;
}
