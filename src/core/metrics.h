/* The /metrics registry (livedge(8), METRICS): modules register a writer
 * that appends Prometheus text lines; whoever serves /metrics (the admin
 * port) calls le_metrics_write. No loop, no sockets. */
#ifndef LE_METRICS_H
#define LE_METRICS_H
#include "core/util.h"

typedef void (*le_metrics_fn)(le_buf *out);

/* Adds a writer; adding the same function again is a no-op. Writers run in
 * the order they were added. */
void le_metrics_add(le_metrics_fn fn);
/* Appends every writer's lines to out. */
void le_metrics_write(le_buf *out);
/* Forgets every writer (shutdown, tests). */
void le_metrics_reset(void);

#endif
