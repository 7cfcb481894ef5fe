/* Streams made on demand: a play of a stream that is not live here may
 * start one, an edge pull of a stream published on another node
 * (relay/edge.h) or a rendition of a live stream (transcode/rendition.h).
 * Players call this instead of each module. */
#ifndef LE_CONTROL_WANT_H
#define LE_CONTROL_WANT_H
#include <stdint.h>
#include "conf/conf.h"

/* 1: app/name on dom is (or is about to be) made here; when it is not live
 * yet its stream is held and the caller attaches and waits for the publish.
 * 0: nothing makes it; the caller goes on as before. Every call counts as
 * activity for the maker's idle timer. */
int le_want_stream(const le_conf_domain *dom, const char *app, const char *name);
/* How long a held request may wait for the first media, ms. */
int64_t le_want_wait_ms(const le_conf_domain *dom);

#endif
