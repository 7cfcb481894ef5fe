/* libFuzzer target for the AMF0 decoder: decode, walk every value, and
 * re-encode the strings found (a crude use of every pointer).
 *   clang -g -fsanitize=fuzzer,address,undefined -I../src fuzz_amf.c \
 *     ../src/media/amf.c ../src/core/util.c ../src/core/err.c */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "media/amf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t walk(const le_amf_val *v, int depth)
{
    if (!v || depth > LE_AMF_MAX_DEPTH + 1)
        abort();
    uint64_t h = v->type;
    for (size_t i = 0; i < v->str_len; i++)
        h = h * 31 + (uint8_t)v->str[i];
    for (size_t i = 0; i < v->nprops; i++) {
        for (size_t j = 0; j < v->props[i].name_len; j++)
            h = h * 31 + (uint8_t)v->props[i].name[j];
        h += walk(v->props[i].val, depth + 1);
    }
    for (size_t i = 0; i < v->nitems; i++)
        h += walk(v->items[i], depth + 1);
    return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy so ASan sees reads past the end. */
    uint8_t *copy = malloc(size ? size : 1);
    memcpy(copy, data, size);
    le_amf_doc doc;
    int rc = le_amf_decode(copy, size, &doc);
    if (rc != 0 && rc != LE_EPROTO && rc != LE_EDEPTH && rc != LE_ETOOBIG)
        abort();
    if (rc == 0) {
        volatile uint64_t h = 0;
        char out[64];
        for (size_t i = 0; i < doc.nvals; i++) {
            h += walk(doc.vals[i], 0);
            le_amf_str_copy(doc.vals[i], out, sizeof out);
            le_amf_str_eq(doc.vals[i], "connect");
            le_amf_prop_get(doc.vals[i], "app");
        }
        (void)h;
    } else if (doc.nvals || doc.vals) {
        abort();
    }
    le_amf_doc_free(&doc);
    free(copy);
    return 0;
}
