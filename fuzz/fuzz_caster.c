/* libFuzzer target for the caster objects (src/studio/config.c): the input is
 * request parameters, one "Name=Value" a line; every parser runs on them
 * (Add, and Modify over the Add's result). An accepted object must come back
 * from its own JSON (studio/config.h), and a refusal must carry a Code.
 *   clang -g -fsanitize=fuzzer,address,undefined -I../src fuzz_caster.c \
 *     ../src/studio/config.c ../src/core/json.c ../src/core/util.c ../src/core/err.c -lm */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"
#include "fuzz_params.h"
#include "studio/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int rc, le_jv *o, const le_cst_err *e)
{
    if (rc != LE_OK) {
        if (!e->code[0] || e->status < 400)
            abort();
        return;
    }
    le_buf b = { 0 };
    le_jv_to_json(o, &b);
    le_jv *back = le_cst_decode((const char *)b.p, b.len);
    if (!back)
        abort();
    le_buf c = { 0 };
    le_jv_to_json(back, &c);
    if (c.len != b.len || memcmp(c.p, b.p, b.len))
        abort();
    le_buf_free(&b);
    le_buf_free(&c);
    le_jv_free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 16384)
        return 0;
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = 0;
    fuzz_params q;
    fuzz_params_split(s, &q);
    le_cst_err e;
    le_jv *o = NULL;
    memset(&e, 0, sizeof(e));
    int rc = le_cst_caster_parse(fuzz_params_get, &q, &o, &e);
    check(rc, o, &e);
    le_jv_free(o);
    o = NULL;
    rc = le_cst_config_parse(fuzz_params_get, &q, &o, &e);
    check(rc, o, &e);
    le_jv_free(o);
    o = NULL;
    le_cst_parse_fn parsers[] = { le_cst_resource_parse, le_cst_component_parse };
    for (int i = 0; i < 2; i++) {
        rc = parsers[i](fuzz_params_get, &q, &o, &e);
        check(rc, o, &e);
        if (rc == LE_OK) {   /* Modify with the same request over the result */
            le_cst_merge m = { .g = fuzz_params_get, .ctx = &q, .old = o };
            le_jv *o2 = NULL;
            check(parsers[i](le_cst_merge_get, &m, &o2, &e), o2, &e);
            le_cst_merge_free(&m);
            le_jv_free(o2);
        }
        le_jv_free(o);
        o = NULL;
    }
    rc = le_cst_layout_parse(fuzz_params_get, &q, NULL, &o, &e);
    check(rc, o, &e);
    if (rc == LE_OK) {
        le_jv *o2 = NULL;
        check(le_cst_layout_parse(fuzz_params_get, &q, o, &o2, &e), o2, &e);
        le_jv_free(o2);
    }
    le_jv_free(o);
    free(s);
    return 0;
}
