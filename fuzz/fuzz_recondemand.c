/* libFuzzer target for the OnDemandUrl reply: le_rec_ondemand_parse, then
 * le_rec_ondemand_apply to a config recording every format, and the
 * publish argument check (le_rec_ondemand_arg) on the same bytes. Checks:
 * a refused reply leaves the struct zeroed; an accepted one has only known
 * format bits and intervals 0 or within 5..21600; apply keeps a subset of
 * the formats, each cycle the config's or the reply's, and says 1 exactly
 * when one is left (always 0 for NeedRecord false). Only the pure part is linked: the request side's
 * outside functions are stubs here.
 *   clang -g -fsanitize=fuzzer,address,undefined -I../src fuzz_recondemand.c \
 *     ../src/record/ondemand.c ../src/core/json.c ../src/core/util.c ../src/core/err.c -lm */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/notify.h"
#include "core/err.h"
#include "net/httpc.h"
#include "record/ondemand.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* stubs: never called by the pure functions */
void le_notify_pct(le_buf *out, const char *s, size_t n) { le_buf_append(out, s, n); }
void le_notify_target(le_buf *out, const char *path, const char *url_query, const char *params)
{
    (void)out, (void)path, (void)url_query, (void)params;
}
int le_httpc_url_parts(const char *url, char **path, char **query)
{
    (void)url, (void)path, (void)query;
    return LE_EINVAL;
}
int le_httpc_request(const le_httpc_opts *o, le_httpc_cb cb, void *arg, le_httpc_req **out)
{
    (void)o, (void)cb, (void)arg, (void)out;
    return LE_EINVAL;
}
void le_httpc_cancel(le_httpc_req *rq) { (void)rq; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    le_rec_ondemand_reply r, zero;
    memset(&r, 0x5a, sizeof(r));
    memset(&zero, 0, sizeof(zero));
    int rc = le_rec_ondemand_parse(text, size, &r);
    if (rc != LE_OK) {
        if (rc != LE_EPROTO || memcmp(&r, &zero, sizeof(r)) != 0)
            abort();
    } else {
        if ((r.need_record != 0 && r.need_record != 1) || (r.formats & ~7u) || (!r.has_formats && r.formats))
            abort();
        for (int i = 0; i < LE_REC_NFMT; i++)
            if (r.interval_s[i] != 0 && (r.interval_s[i] < LE_REC_CYCLE_MIN_S || r.interval_s[i] > LE_REC_CYCLE_MAX_S))
                abort();
        le_rec_config c;
        memset(&c, 0, sizeof(c));
        c.nformats = LE_REC_NFMT;
        for (int i = 0; i < LE_REC_NFMT; i++) {
            c.formats[i].fmt = i;
            c.formats[i].cycle_s = 3600;
        }
        int yes = le_rec_ondemand_apply(&r, &c);
        if (!r.need_record) {
            if (yes)
                abort();
            goto arg;
        }
        if (yes != (c.nformats > 0) || c.nformats < 0 || c.nformats > LE_REC_NFMT)
            abort();
        for (int i = 0; i < c.nformats; i++) {
            int f = c.formats[i].fmt;
            if (f < 0 || f >= LE_REC_NFMT || (r.has_formats && !(r.formats & (1u << f))))
                abort();
            if (c.formats[i].cycle_s != (r.interval_s[f] ? r.interval_s[f] : 3600))
                abort();
        }
    }
arg:;
    int a = le_rec_ondemand_arg(text);
    if (a != 0 && a != 1)
        abort();
    free(text);
    return 0;
}
