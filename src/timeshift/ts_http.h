/* Time-shift over HTTP (docs/CONTRACT.md, "Time-shift"): the playlists, their segments and
 * the timeline query, routes added to the HTTP server by le_ts_http_init:
 *   GET /App/Stream.m3u8?aliyunols=on|lhs_start=1|lhs_*...   le_ts_http_playlist
 *   GET /App/Stream.lhs.{start}-{seq}-{dur}-{dseq}[-d].ts    le_ts_http_segment
 *   GET /openapi/timeline/query?app=&stream=&format=ts&...   le_ts_http_timeline
 * Playlists and the timeline wait for one Redis answer; while they wait the
 * connection is held with le_http_conn_stream (so it closes after the
 * answer: no keep-alive for these two). Segments are files, sent with
 * evbuffer_add_file (sendfile). */
#ifndef LE_TS_HTTP_H
#define LE_TS_HTTP_H
#include <stddef.h>
#include "http/server.h"

/* Whether a `.m3u8` query asks for time-shift: an `aliyunols` or any
 * `lhs_` argument (a malformed one then gets its 400 from the playlist). */
int le_ts_http_wanted(const char *query, size_t n);

/* Whether the last path segment is a time-shift segment,
 * "{Stream}.lhs.{start}-{seq}-{dur}-{dseq}[-d].ts"; *stem is then the
 * length of Stream. */
int le_ts_http_segment_file(const char *file, size_t n, size_t *stem);

void le_ts_http_playlist(le_http_conn *c, const le_http_route *rt);
void le_ts_http_segment(le_http_conn *c, const le_http_route *rt);
/* rt->dom may be NULL (unknown domain): answered in the timeline envelope. */
void le_ts_http_timeline(le_http_conn *c, const le_http_route *rt);

/* Adds the three routes (http/server.h), ahead of live HLS's. */
void le_ts_http_init(void);

#endif
