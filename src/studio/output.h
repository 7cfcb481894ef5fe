/* One studio engine output published as a live stream of the node
 * (docs/STUDIO.md, "Outputs"): the publish lifecycle (control/publish.h,
 * kind LE_PUB_STUDIO), the output's sequence headers, the onMetaData, and
 * the republish after a refusal or a kick. Casters (PVW, PGM and their
 * LiveTemplate outputs) and carousels publish through it. Loop thread
 * only. */
#ifndef LE_STUDIO_OUTPUT_H
#define LE_STUDIO_OUTPUT_H
#include <stdint.h>

#include "control/publish.h"
#include "media/pkt.h"

#define LE_SO_DOMAIN_MAX 256
#define LE_SO_APP_MAX 16
#define LE_SO_NAME_MAX 128
#define LE_SO_OWNER_MAX 160
#define LE_SO_REPUBLISH_MS 5000   /* a refused or kicked publish is tried again after this */

/* The owner fills app, owner, domain, name, w, h, kbps and fps (and may
 * change them after le_so_reset); the rest is the module's. A zeroed
 * le_so is a valid idle output. */
typedef struct le_so {
    le_publish pub;
    int live;                    /* the publish runs */
    char app[LE_SO_APP_MAX];     /* "caster", "carousel" */
    char owner[LE_SO_OWNER_MAX]; /* the publish's source URL ("caster://{CasterId}"), for logs and lists */
    char domain[LE_SO_DOMAIN_MAX], name[LE_SO_NAME_MAX];
    int w, h, kbps, fps;         /* for the onMetaData */
    le_pkt *vhdr, *ahdr;         /* the last sequence headers */
    uint64_t refused_at;         /* mono ms of a refused (or kicked) publish */
    uint64_t frames;             /* video frames pushed */
} le_so;

/* The play domain that serves outputs of DomainName name: name's own, or
 * the one a push domain maps to; NULL when there is none on this node. */
struct le_domain *le_so_play_domain(const char *name);

/* An output body into the stream (the reference is the callee's). The
 * publish begins at the first video keyframe once the video header is
 * known (not within LE_SO_REPUBLISH_MS of a refusal or kick) and sends the
 * headers first. 1 when a video frame went out, else 0. */
int le_so_deliver(le_so *o, le_pkt *p);
/* Keeps p as the output's sequence header (a header the caller drops
 * from a queue of its own); p stays the caller's. */
void le_so_keep_header(le_so *o, le_pkt *p);
/* Ends the publish (logged with reason); headers kept. */
void le_so_end(le_so *o, const char *reason);
/* le_so_end, then forgets the headers and the frame count (a new stream
 * follows: new name, domain or size). */
void le_so_reset(le_so *o, const char *reason);

#endif
