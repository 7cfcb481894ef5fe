/* libFuzzer target for the JSON parser and both renderers. First byte: the
 * parser's max_depth; the rest: the text. Whatever parses must render as
 * JSON that parses back and renders to the same bytes (json.h: the parser
 * keeps strings as valid UTF-8 without NUL, so nothing is replaced).
 *   clang -g -fsanitize=fuzzer,address,undefined -I../src fuzz_json.c \
 *     ../src/core/json.c ../src/core/util.c ../src/core/err.c -lm */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int max_depth = data[0];
    data++;
    size--;
    char *text = malloc(size ? size : 1);
    memcpy(text, data, size);
    char err[64];
    memset(err, 'x', sizeof err);
    le_jv *v = le_jv_parse(text, size, max_depth, err, sizeof err);
    if (!v) {
        if (!memchr(err, '\0', sizeof err) || !err[0])
            abort();
        if (le_jv_parse(text, size, max_depth, NULL, 0) != NULL)
            abort();
        free(text);
        return 0;
    }
    le_buf a = { 0 }, b = { 0 }, x = { 0 };
    le_jv_to_json(v, &a);
    le_jv *w = le_jv_parse((const char *)a.p, a.len, max_depth, err, sizeof err);
    if (!w)
        abort();
    le_jv_to_json(w, &b);
    if (a.len != b.len || memcmp(a.p, b.p, a.len) != 0)
        abort();
    le_jv_to_xml(v, "r", &x);
    int64_t i;
    (void)le_jv_get_str(v, "a");
    (void)le_jv_get_int(v, "a", &i);
    le_buf_free(&a);
    le_buf_free(&b);
    le_buf_free(&x);
    le_jv_free(v);
    le_jv_free(w);
    free(text);
    return 0;
}
