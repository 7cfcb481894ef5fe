/* libFuzzer target for object-key templates (src/record/tmpl.c): the input
 * split at the first NUL bytes into template, app and stream; the check and
 * the expansion must agree on what they promise (record/tmpl.h).
 *   clang -g -fsanitize=fuzzer,address,undefined -I../src fuzz_rectmpl.c \
 *     ../src/record/tmpl.c ../src/core/util.c ../src/core/err.c */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "record/tmpl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int shape_ok(const char *k)
{
    size_t n = strlen(k);
    if (!n || n >= LE_REC_KEY_MAX || k[0] == '/' || strchr(k, '\\') || strstr(k, "//") || k[n - 1] == '/')
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)k[i] < 0x20 || k[i] == 0x7f)
            return 0;
    const char *s = k;
    for (;;) {
        const char *e = strchr(s, '/');
        size_t l = e ? (size_t)(e - s) : strlen(s);
        if ((l == 1 && s[0] == '.') || (l == 2 && s[0] == '.' && s[1] == '.'))
            return 0;
        if (!e)
            return 1;
        s = e + 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 3);
    memcpy(buf, data, size);
    buf[size] = buf[size + 1] = buf[size + 2] = '\0';
    const char *tmpl = buf;
    const char *app = tmpl + strlen(tmpl) + 1;
    if (app > buf + size)
        app = buf + size + 1;
    const char *stream = app + strlen(app) + 1;
    if (stream > buf + size + 1)
        stream = buf + size + 2;

    char why[96];
    int crc = le_rec_tmpl_check(tmpl, why, sizeof why);
    if (crc != LE_OK && (crc != LE_EINVAL || !memchr(why, '\0', sizeof why) || !why[0]))
        abort();
    if (crc == LE_OK && !shape_ok(tmpl))
        abort();

    int64_t start = 0;
    for (size_t i = 0; i < size && i < 8; i++)
        start = start << 8 | data[i];
    le_rec_vars v = { app, stream, (uint64_t)size, start, size & 1 ? start + 1000 : 0 };
    static const char *const exts[] = { "flv", "mp4", "m3u8", NULL };
    for (int i = 0; i < 4; i++) {
        char out[LE_REC_KEY_MAX + 8];
        memset(out, 'Z', sizeof out);
        int rc = le_rec_tmpl_expand(tmpl, &v, exts[i], out, sizeof out);
        if (!memchr(out, '\0', sizeof out))
            abort();
        if (rc == LE_OK) {
            if (!shape_ok(out))
                abort();
            size_t n = strlen(out), el = exts[i] ? strlen(exts[i]) : 0;
            if (el && (n <= el || out[n - el - 1] != '.' || strcmp(out + n - el, exts[i]) != 0))
                abort();
        } else if (rc == LE_EINVAL || rc == LE_ETOOBIG) {
            if (out[0])
                abort();
        } else {
            abort();
        }
        /* A template the check accepts and plain values always expand or are too long. */
        if (crc == LE_OK && rc == LE_EINVAL && strcmp(app, "a") == 0 && strcmp(stream, "b") == 0)
            abort();
    }
    free(buf);
    return 0;
}
