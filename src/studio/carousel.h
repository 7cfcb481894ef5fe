/* Carousels (AddCasterEpisodeGroup, docs/STUDIO.md "Carousels"): a list
 * of files played in order as one continuous live stream of the node,
 * carousel/{ProgramId without dashes} of its DomainName, pushed to a
 * SideOutputUrl, its CallbackUrl told of the start, every item change and
 * the end; on exactly one node of the cluster (a lease, like a caster's).
 * Everything here runs on the loop thread. */
#ifndef LE_STUDIO_CAROUSEL_H
#define LE_STUDIO_CAROUSEL_H
#include <stddef.h>
#include <stdint.h>

#include "core/json.h"
#include "pipeline/pool.h"
#include "studio/caster.h"
#include "studio/config.h"

struct event_base;

#define LE_CRL_ITEMS_MAX 100      /* Items of one carousel */
#define LE_CRL_MAX 1000           /* carousels of the cluster */
#define LE_CRL_REPEAT_MAX 10000   /* RepeatNum, besides -1 (forever) */
#define LE_CRL_CONTENT_MAX (256 * 1024)   /* AddCasterEpisodeGroupContent's Content, bytes */
#define LE_CRL_WIDTH 854          /* the stream's size (lp_sd) */
#define LE_CRL_HEIGHT 480

/* ---- pure: the request and the order of play ---- */

/* AddCasterEpisodeGroup's parameters through a getter: DomainName,
 * Items.N.ItemName and Items.N.VodUrl (N from 1; or Items as a JSON array
 * of {ItemName, VodUrl}), StartTime (UTC "YYYY-MM-DDThh:mm:ssZ"), RepeatNum
 * (-1 forever, else 0..LE_CRL_REPEAT_MAX), SideOutputUrl (rtmp://),
 * CallbackUrl (http:// or https://). The stored object: {DomainName,
 * Items[]{ItemName, VodUrl}, StartTime ("" when not given), RepeatNum,
 * SideOutputUrl, CallbackUrl}. 0, or LE_EINVAL with e filled (400
 * MissingParameter / InvalidParameter / Invalid*.Malformed). */
int le_crl_parse(le_cst_get g, void *ctx, le_jv **out, le_cst_err *e);
/* The same from AddCasterEpisodeGroupContent's Content: a JSON object with
 * those names (Items a JSON array, RepeatNum a number), at most
 * LE_CRL_CONTENT_MAX bytes. */
int le_crl_parse_content(const char *json, size_t n, le_jv **out, le_cst_err *e);

/* The item played after item `*item` of loop `*loop` (both from 0) of a
 * list of n items played RepeatNum `repeat` times more (-1: forever): 0 and
 * the position moved on, or LE_ENOTFOUND after the last item of the last
 * loop (the position is left as it was). LE_EINVAL for n < 1 or a position
 * out of range. */
int le_crl_next(int n, int repeat, int *item, int *loop);

/* ---- the running carousels ---- */

/* After the store, domains, the HTTP client and the pipeline pool; the
 * caster options give the clock rate and caster_max (running casters and
 * carousels of this node together stay within it). */
int le_carousel_init(struct event_base *base, le_pipe_pool *pool, const le_caster_opts *o);
void le_carousel_set_opts(const le_caster_opts *o);   /* SIGHUP */
void le_carousel_tick(void);                           /* the node's 1 s tick */
void le_carousel_shutdown(void);                       /* node stop: leases released */
void le_carousel_free(void);
/* Carousels this node runs or claims (for caster_max). */
int le_carousel_running(void);

#endif
