/* The stream block list (ForbidLiveStream / ResumeLiveStream, man
 * livedge.8): an in-memory mirror consulted on every publish, kept in Redis
 * ({prefix}blocklist, field "domain/app/stream" -> "resume_ms since_ms")
 * and synchronised across nodes over the events channel. Every forbid,
 * resume and expiry is a control-history entry ({prefix}ctlhist:{domain},
 * trimmed on write, see control/cluster.h). */
#ifndef LE_BLOCKLIST_H
#define LE_BLOCKLIST_H
#include <stddef.h>
#include <stdint.h>

#define LE_BLOCKLIST_MAX_PER_DOMAIN 10000

typedef struct le_block {
    char *key;                 /* "domain/app/stream" */
    int64_t resume_ms;         /* 0: until ResumeLiveStream */
    int64_t since_ms;
} le_block;

void le_blocklist_init(void);
void le_blocklist_free(void);
void le_blocklist_tick(void);          /* ResumeTime expiry, once a second */

int le_blocklist_blocked(const char *domain, const char *app, const char *stream);
/* Forbids (oneshot: only cuts the current publisher, nothing is stored).
 * LE_ETOOBIG past the per-domain cap. Cuts the publisher on every node. */
int le_blocklist_forbid(const char *domain, const char *app, const char *stream,
                        int64_t resume_ms, int oneshot, const char *client_ip);
/* LE_ENOTFOUND if the stream was not forbidden. */
int le_blocklist_resume(const char *domain, const char *app, const char *stream,
                        const char *client_ip);
size_t le_blocklist_count(const char *domain);
/* DeleteLiveDomain: removes every entry of domain, here, in Redis and on
 * the other nodes, without control-history lines. Returns how many. */
size_t le_blocklist_drop_domain(const char *domain);
/* The domain's entries sorted by key; the array is the caller's to free
 * (entries stay owned by the mirror; use before the next loop turn). */
size_t le_blocklist_list(const char *domain, le_block ***out);

/* Control history entry (also used for expiry). */
void le_blocklist_history(const char *domain, const char *app, const char *stream,
                          const char *action, const char *client_ip);

#endif
