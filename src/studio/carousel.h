/* Carousels (AddCasterEpisodeGroup, docs/STUDIO.md "Carousels"): a list
 * of files played in order as one continuous live stream of the node,
 * pushed to a SideOutputUrl, on exactly one node of the cluster (a lease,
 * like a caster's). Everything here runs on the loop thread. */
#ifndef LE_STUDIO_CAROUSEL_H
#define LE_STUDIO_CAROUSEL_H
#include "pipeline/pool.h"
#include "studio/caster.h"

struct event_base;

/* After the store, domains and the pipeline pool; the caster options give
 * the material directory, the clock rate and caster_max (carousels count
 * with casters). */
int le_carousel_init(struct event_base *base, le_pipe_pool *pool, const le_caster_opts *o);
void le_carousel_set_opts(const le_caster_opts *o);   /* SIGHUP */
void le_carousel_tick(void);                           /* the node's 1 s tick */
void le_carousel_shutdown(void);                       /* node stop: leases released */
void le_carousel_free(void);

#endif
