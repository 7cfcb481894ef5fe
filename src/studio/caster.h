/* Running casters (docs/STUDIO.md, "Running a caster"): the loop side of
 * the production studio. A caster whose hash says status 1 (StartCaster)
 * runs on exactly one node of the cluster, the one holding its lease
 * ({prefix}caster:lease:{CasterId}, like a scheduled pull's: SET NX PX
 * LE_CASTER_LEASE_MS, renewed every LE_CASTER_RENEW_MS by its holder only);
 * any node's admin port drives it through Redis and the events channel:
 * every caster action that writes publishes "caster {CasterId}" after its
 * write (le_control_publish_event); every node, the writer's included,
 * re-reads that caster; the holder applies the change to the running
 * engine, a node without a running copy may take the lease of a started
 * caster.
 *
 * The holder keeps one studio engine (studio/engine.h) per caster:
 *  - its slots' sources: a LiveStreamUrl naming a stream of this node's
 *    domains is read through a tap (media/tap.h, the players' slow-consumer
 *    policy); another rtmp:// or http:// URL is pulled by an ingest
 *    (relay/ingest.h) into the hidden local stream caster/{CasterId}_RVnn of
 *    the caster's domain, then tapped; files are read by the engine;
 *  - its scenes: PVW (at most lp_sd) and PGM (CasterTemplate's size, plus
 *    one output per LiveTemplate at that template's size and bitrate), each
 *    output published through the publish lifecycle (control/publish.h,
 *    kind LE_PUB_STUDIO) as the stream caster/{name} of the caster's
 *    DomainName (studio/scene.h names it), so RTMP, HTTP-FLV, HLS,
 *    time-shift and recording serve it.
 * StopCaster (status 0) ends the publishes, stops the engine and releases
 * the lease. A node that dies leaves its lease to expire; another node
 * starts the caster within about 10 s.
 *
 * Everything here runs on the loop thread. */
#ifndef LE_STUDIO_CASTER_H
#define LE_STUDIO_CASTER_H
#include <stddef.h>
#include <stdint.h>
#include "pipeline/pool.h"

struct event_base;

#define LE_CASTER_LEASE_MS 9000
#define LE_CASTER_RENEW_MS 2000
#define LE_CASTER_SCAN_MS 2000

typedef struct le_caster_opts {
    const char *material_dir;     /* caster_material_dir: MaterialId files; NULL/"": none */
    int fps;                      /* caster_fps */
    int64_t source_timeout_ms;    /* caster_source_timeout: a stalled source's picture is held this long */
    int max_running;              /* caster_max: casters this node runs at most */
    int64_t urgent_after_ms;      /* caster_urgent_after: automatic standby after every PGM source was
                                     lost this long; 0: off */
} le_caster_opts;

/* After the store, domains and the pipeline pool. */
int le_caster_init(struct event_base *base, le_pipe_pool *pool, const le_caster_opts *o);
void le_caster_set_opts(const le_caster_opts *o);   /* SIGHUP */
/* The node's 1 s tick: leases, rescans. */
void le_caster_tick(void);
/* Node stop: every caster this node runs ends and its lease is released. */
void le_caster_shutdown(void);
void le_caster_free(void);

typedef struct le_caster_stats {
    uint64_t running;             /* casters this node runs now */
    uint64_t started, stopped;
    uint64_t ticks, dropped_ticks;   /* summed over the running engines */
    uint64_t rebuilds, commands;
    uint64_t frames_out;
    uint64_t delay_dropped;       /* bodies dropped by the delay bounds (slots, PGM) */
} le_caster_stats;
void le_caster_get_stats(le_caster_stats *out);

#endif
