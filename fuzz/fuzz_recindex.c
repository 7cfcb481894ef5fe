/* libFuzzer target for the record index entry decoder (record/index.h).
 * The input is an index entry as Redis holds it; whatever decodes must hold
 * the decoder's promises (a key and a bucket, end >= start, sizes in range),
 * re-encode to JSON that decodes to the same entry, and go through the
 * playlist builder. The store and the format table are stubbed here: the
 * harness links index.c, json.c and playlist.c only.
 *   clang -g -fsanitize=fuzzer,address,undefined -I../src fuzz_recindex.c \
 *     ../src/record/index.c ../src/core/json.c ../src/hls/playlist.c \
 *     ../src/core/util.c ../src/core/err.c */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/util.h"
#include "record/config.h"
#include "record/index.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fmts[] = { "flv", "mp4", "m3u8" };
int le_rec_fmt_parse(const char *s)
{
    for (int i = 0; i < 3; i++)
        if (strcasecmp(s, fmts[i]) == 0)
            return i;
    return LE_EINVAL;
}
const char *le_rec_fmt_name(int fmt) { return fmt >= 0 && fmt < 3 ? fmts[fmt] : NULL; }
char *le_store_key(char *out, size_t outsz, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, outsz, fmt, ap);
    va_end(ap);
    return out;
}
int le_store_writeargv(int argc, const char **argv, const size_t *argvlen)
{
    (void)argc, (void)argv, (void)argvlen;
    return LE_EIO;
}
int le_store_cmdargv(le_store_cb cb, void *arg, int argc, const char **argv, const size_t *argvlen)
{
    (void)cb, (void)arg, (void)argc, (void)argv, (void)argvlen;
    return LE_EIO;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static le_rec_entry e, d;
    if (le_rec_entry_from_json((const char *)data, size, &e) != LE_OK)
        return 0;
    if (!e.key[0] || !e.bucket[0] || e.end_ms < e.start_ms || e.duration_ms < 0 || e.width < 0 ||
        e.width > 65535 || e.height < 0 || e.height > 65535 || e.fmt < 0 || e.fmt > 2)
        abort();
    le_buf b = { 0 };
    le_rec_entry_to_json(&b, &e);
    if (le_rec_entry_from_json((const char *)b.p, b.len, &d) != LE_OK || memcmp(&e, &d, sizeof(e)) != 0)
        abort();
    le_buf_free(&b);
    char uri[sizeof(e.url) + 8];
    le_rec_slice s[2] = { { e.start_ms, e.end_ms, e.duration_ms, e.width, e.height, uri },
                          { e.end_ms, e.end_ms + e.duration_ms, e.duration_ms, e.width, e.height, uri } };
    le_rec_slice_uri(&e, uri, sizeof(uri));
    le_buf m = { 0 };
    if (le_rec_m3u8_build(&m, s, 2) != 2 * e.duration_ms || m.len == 0)
        abort();
    le_buf_free(&m);
    return 0;
}
