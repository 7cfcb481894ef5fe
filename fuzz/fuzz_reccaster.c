/* libFuzzer target for a caster's RecordConfig (le_rec_config_from_caster,
 * record/config.h): the input is the JSON SetCasterConfig stores. Whatever
 * is accepted must hold the reader's promises: one to three formats, each
 * known and at most once, cycles within 5..21600, prefixes that the
 * template check accepts (no {StartTime}/{EndTime} left), a slice prefix
 * only on m3u8, a bucket of 3..63 of a-z 0-9 -; a refusal has a reason.
 * The store and the log are stubbed: the harness links config.c, tmpl.c
 * and json.c only.
 *   clang -g -fsanitize=fuzzer,address,undefined -I../src fuzz_reccaster.c \
 *     ../src/record/config.c ../src/record/tmpl.c ../src/core/json.c \
 *     ../src/core/util.c ../src/core/err.c -lm */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/json.h"
#include "core/log.h"
#include "record/config.h"
#include "record/tmpl.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* stubs: the lookup side is never called */
int le_log_level = LE_LOG_ERROR + 1;
void le_log_write(int level, const char *module, const char *fmt, ...)
{
    (void)level, (void)module, (void)fmt;
}
char *le_store_key(char *out, size_t outsz, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, outsz, fmt, ap);
    va_end(ap);
    return out;
}
int le_store_cmd(le_store_cb cb, void *arg, const char *fmt, ...)
{
    (void)cb, (void)arg, (void)fmt;
    return LE_EIO;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static le_rec_config c;
    char why[128];
    le_jv *o = le_jv_parse((const char *)data, size, 8, NULL, 0);
    int rc = le_rec_config_from_caster(o, &c, why, sizeof(why));
    le_jv_free(o);
    if (rc == LE_EINVAL) {
        if (!why[0])
            abort();
        return 0;
    }
    if (rc == LE_ENOTFOUND)
        return 0;
    if (rc != LE_OK || c.nformats < 1 || c.nformats > LE_REC_NFMT || c.on_demand != LE_REC_ONDEMAND_OFF)
        abort();
    size_t bl = strlen(c.oss_bucket);
    if (bl && (bl < 3 || bl > 63 || strspn(c.oss_bucket, "abcdefghijklmnopqrstuvwxyz0123456789-") != bl))
        abort();
    unsigned seen = 0;
    for (int i = 0; i < c.nformats; i++) {
        const le_rec_format *f = &c.formats[i];
        if (f->fmt < 0 || f->fmt >= LE_REC_NFMT || (seen & (1u << f->fmt)) || f->cycle_s < LE_REC_CYCLE_MIN_S ||
            f->cycle_s > LE_REC_CYCLE_MAX_S)
            abort();
        seen |= 1u << f->fmt;
        if ((f->prefix[0] && le_rec_tmpl_check(f->prefix, NULL, 0) != LE_OK) ||
            (f->slice_prefix[0] && le_rec_tmpl_check(f->slice_prefix, NULL, 0) != LE_OK) ||
            strstr(f->prefix, "{StartTime}") || strstr(f->prefix, "{EndTime}") ||
            (f->slice_prefix[0] && f->fmt != LE_REC_M3U8))
            abort();
    }
    return 0;
}
