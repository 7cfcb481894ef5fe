/* libFuzzer target for the TC3-HMAC-SHA256 Authorization parser and the
 * verifier (admin/tc3.h). The input is an Authorization value; whatever
 * parses must hold a consistent result (a SecretId, a 10-byte date, 64
 * lower-case hex digits, ascending lower-case names including content-type
 * and host), must re-parse to the same result once rebuilt from its fields,
 * and is then verified against a fixed request (values for its signed
 * headers taken from the input), which must not match by chance.
 *   clang -g -fsanitize=fuzzer,address,undefined -I../src fuzz_tc3.c \
 *     ../src/admin/tc3.c ../src/core/util.c ../src/core/err.c -lcrypto */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/tc3.h"
#include "core/err.h"
#include "core/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const le_tc3_auth *a)
{
    if (!a->secret_id[0] || strlen(a->date) != 10 || !a->service[0] || a->nsigned < 2 ||
        a->nsigned > LE_TC3_MAX_SIGNED || strlen(a->signature) != LE_TC3_HEX_LEN)
        abort();
    int ct = 0, host = 0;
    for (size_t i = 0; i < a->nsigned; i++) {
        if (i && strcmp(a->names[i - 1], a->names[i]) >= 0)
            abort();
        for (const char *c = a->names[i]; *c; c++)
            if (*c >= 'A' && *c <= 'Z')
                abort();
        ct |= strcmp(a->names[i], "content-type") == 0;
        host |= strcmp(a->names[i], "host") == 0;
    }
    if (!ct || !host)
        abort();
    for (const char *c = a->signature; *c; c++)
        if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    le_tc3_auth a, b;
    int rc = le_tc3_parse_auth((const char *)data, size, &a);
    if (rc != LE_OK) {
        if (rc != LE_EPROTO && rc != LE_ETOOBIG)
            abort();
        if (a.secret_id[0] || a.nsigned)
            abort();
        return 0;
    }
    check(&a);
    /* Rebuilt canonically, it parses to the same fields. */
    le_buf s = { 0 };
    le_buf_printf(&s, "TC3-HMAC-SHA256 Credential=%s/%s/%s/tc3_request, SignedHeaders=", a.secret_id, a.date,
                  a.service);
    for (size_t i = 0; i < a.nsigned; i++)
        le_buf_printf(&s, "%s%s", i ? ";" : "", a.names[i]);
    le_buf_printf(&s, ", Signature=%s", a.signature);
    if (le_tc3_parse_auth((const char *)s.p, s.len, &b) != LE_OK || memcmp(&a, &b, sizeof(a)) != 0)
        abort();
    le_buf_free(&s);
    /* Verify against a request whose header values come from the input. */
    const char *vals[LE_TC3_MAX_SIGNED];
    size_t lens[LE_TC3_MAX_SIGNED];
    for (size_t i = 0; i < a.nsigned; i++) {
        vals[i] = (const char *)data + (i % (size ? size : 1));
        lens[i] = size > i ? (size - i) % 40 : 0;
    }
    le_tc3_req q = { .method = "POST", .path = "/", .path_len = 1, .query = "", .auth = &a,
                     .values = vals, .value_lens = lens, .payload = data, .payload_len = size,
                     .timestamp = 1551113065 };
    if (strcmp(a.date, "2019-02-25") == 0 && le_tc3_verify("fuzz-secret", &q, NULL) == LE_OK)
        abort();
    le_buf dbg = { 0 };
    q.timestamp = 0;
    if (le_tc3_verify("fuzz-secret", &q, &dbg) == LE_OK && strcmp(a.date, "1970-01-01") == 0)
        abort();
    le_buf_free(&dbg);
    return 0;
}
