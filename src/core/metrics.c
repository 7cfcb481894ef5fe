/* The /metrics registry, see metrics.h. */
#include "core/metrics.h"

#include <stdlib.h>

static struct {
    le_metrics_fn *fns;
    size_t n;
} M;

void le_metrics_add(le_metrics_fn fn)
{
    for (size_t i = 0; i < M.n; i++)
        if (M.fns[i] == fn)
            return;
    M.fns = le_xrealloc(M.fns, (M.n + 1) * sizeof(*M.fns));
    M.fns[M.n++] = fn;
}

void le_metrics_write(le_buf *out)
{
    for (size_t i = 0; i < M.n; i++)
        M.fns[i](out);
}

void le_metrics_reset(void)
{
    free(M.fns);
    M.fns = NULL;
    M.n = 0;
}
