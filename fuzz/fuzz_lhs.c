/* libFuzzer target for the lhs_ time-shift argument parser: the whole input
 * as a query string, and its first "key=value" as one time argument. An
 * accepted window must satisfy what lhs.h promises.
 *   clang -g -fsanitize=fuzzer,address,undefined -I../src fuzz_lhs.c \
 *     ../src/timeshift/lhs.c ../src/core/util.c ../src/core/err.c */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "timeshift/lhs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1508832300000LL             /* 2017-10-24T08:05:00Z */
#define RET (15LL * 86400 * 1000)       /* the longest retention */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *q = malloc(size ? size : 1);
    memcpy(q, data, size);
    char err[128];
    le_lhs l;
    int rc = le_lhs_parse(q, size, NOW, RET, &l, err, sizeof err);
    if (rc == 0) {
        switch (l.mode) {
        case LE_LHS_NONE:
            break;
        case LE_LHS_SLIDING:
            if (l.offset_ms < 0 || l.offset_ms > RET)
                abort();
            break;
        case LE_LHS_EVENT:
        case LE_LHS_EVENT_END:
        case LE_LHS_VOD:
            if (l.start_ms < NOW - RET || l.start_ms > NOW + 60000)
                abort();
            if ((l.mode == LE_LHS_EVENT) != (l.end_ms == 0) ||
                (l.end_ms && l.end_ms < l.start_ms) || l.end_ms > LE_LHS_MAX_S * 1000)
                abort();
            break;
        default:
            abort();
        }
    } else if (rc != LE_EINVAL || !memchr(err, '\0', sizeof err) || !err[0]) {
        abort();
    }

    /* The first pair as NUL-terminated key and value (timeline query path). */
    const char *eq = memchr(q, '=', size);
    if (eq) {
        size_t kl = (size_t)(eq - q), vl = size - kl - 1;
        const char *amp = memchr(eq + 1, '&', vl);
        if (amp)
            vl = (size_t)(amp - (eq + 1));
        char *key = malloc(kl + 1), *val = malloc(vl + 1);
        memcpy(key, q, kl);
        key[kl] = '\0';
        memcpy(val, eq + 1, vl);
        val[vl] = '\0';
        char type[8];   /* "vodend" and "offset" just fit */
        int64_t ms;
        rc = le_lhs_time(key, val, type, sizeof type, &ms, err, sizeof err);
        if (rc != 0 && rc != LE_EINVAL)
            abort();
        /* Every accepted value leaves headroom for later sums. */
        if (rc == 0 && (ms > LE_LHS_MAX_S * 1000 || ms < -10LL * 3600 * 1000))
            abort();
        free(key);
        free(val);
    }
    free(q);
    return 0;
}
