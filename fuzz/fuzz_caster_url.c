/* libFuzzer target for le_cst_url_split (src/studio/caster_url.c): any
 * string; an accepted URL has non-empty, NUL-terminated parts and a port in
 * 0..65535.
 *   clang -g -fsanitize=fuzzer,address,undefined -I../src fuzz_caster_url.c \
 *     ../src/studio/caster_url.c ../src/core/util.c ../src/core/err.c */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "studio/caster_url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    le_cst_url u;
    if (le_cst_url_split(s, &u) == LE_OK) {
        if (!u.host[0] || !u.app[0] || !u.name[0] || u.port < 0 || u.port > 65535 ||
            strnlen(u.host, sizeof(u.host)) == sizeof(u.host) || strnlen(u.app, sizeof(u.app)) == sizeof(u.app) ||
            strnlen(u.name, sizeof(u.name)) == sizeof(u.name))
            abort();
    }
    free(s);
    return 0;
}
