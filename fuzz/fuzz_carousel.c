/* libFuzzer target for le_crl_parse_content (src/studio/carousel_list.c):
 * any bytes as AddCasterEpisodeGroupContent's Content; an accepted one has
 * 1..LE_CRL_ITEMS_MAX items, each with ItemName and VodUrl, and a RepeatNum
 * in range; the order of play from its first item ends (RepeatNum -1 is
 * cut after a few loops).
 *   clang -g -fsanitize=fuzzer,address,undefined -I../src fuzz_carousel.c \
 *     ../src/studio/carousel_list.c ../src/core/json.c ../src/core/util.c ../src/core/err.c */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/json.h"
#include "studio/carousel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > LE_CRL_CONTENT_MAX + 16)
        return 0;
    le_jv *o = NULL;
    le_cst_err e;
    if (le_crl_parse_content((const char *)data, size, &o, &e) != LE_OK) {
        if (o || e.status != 400 || !e.code[0])
            abort();
        return 0;
    }
    int n = 0;
    const le_jv *items = le_jv_get(o, "Items");
    for (const le_jv *x = items ? items->first : NULL; x; x = x->next) {
        const char *nm = le_jv_get_str(x, "ItemName"), *v = le_jv_get_str(x, "VodUrl");
        if (!nm || !*nm || !v || !*v)
            abort();
        n++;
    }
    int64_t rep = 0;
    if (n < 1 || n > LE_CRL_ITEMS_MAX || le_jv_get_int(o, "RepeatNum", &rep) != LE_OK || rep < -1 ||
        rep > LE_CRL_REPEAT_MAX || !le_jv_get_str(o, "DomainName"))
        abort();
    int item = 0, loop = 0, steps = 0, r = rep < 0 ? -1 : (int)(rep > 3 ? 3 : rep);
    while (le_crl_next(n, r, &item, &loop) == LE_OK && loop < 5)
        if (++steps > n * 6)
            abort();
    le_jv_free(o);
    return 0;
}
