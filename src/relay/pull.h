/* Scheduled pulls (AddLivePullStreamInfoConfig, DeleteLivePullStreamInfoConfig,
 * DescribeLivePullStreamConfig; livedge(8)): a config names a stream of a
 * play domain, its origins and a time window. Between StartTime and EndTime
 * exactly one node of the cluster pulls it, through an ingest
 * (relay/ingest.h), and publishes it there like any stream.
 *
 * Redis (docs/CONTRACT.md):
 *   {prefix}pull:{domain}       hash "app/stream" -> JSON config {DomainName,
 *                               AppName, StreamName, SourceUrl (as given),
 *                               StartTime, EndTime}
 *   {prefix}pull:domains        set of the domains with at least one config
 *   {prefix}pull:lease:{d/a/s}  the puller's lease: "node/pid/n", PX
 *                               LE_PULL_LEASE_MS, renewed every
 *                               LE_PULL_RENEW_MS by its holder only
 *   events channel "pull {domain}": a config of domain changed; every node
 *                               reads the domain's configs again; on
 *                               "dropdomain {domain}" (DeleteLiveDomain) the
 *                               domain's configs are deleted.
 *
 * The scheduler runs on the node's 1 s tick and never blocks: it reads the
 * configs every LE_PULL_SCAN_MS (and at once on an event), tries SET NX on
 * the lease of each config in its window that nobody pulls, and while it
 * holds a lease keeps the ingest running. A lease it cannot renew (Redis
 * unreachable) is kept only while it cannot expire in Redis before the next
 * tick with LE_PULL_LEASE_MARGIN_MS to spare (counted from when the last
 * successful renewal was sent), so two nodes never pull one config at once:
 * the pull stops 6-7 s after the last renewal and another node can take
 * the lease 9 s after it, so a dead puller's configs move within 10 s
 * (the lease, then one tick). */
#ifndef LE_RELAY_PULL_H
#define LE_RELAY_PULL_H
#include <stddef.h>
#include <stdint.h>

#define LE_PULL_MAX_SOURCES 8            /* origins in one SourceUrl */
#define LE_PULL_URL_MAX 1024             /* bytes of one origin URL, expanded */
#define LE_PULL_SOURCE_MAX 4096          /* bytes of the whole SourceUrl */
#define LE_PULL_MAX_SPAN_MS (7LL * 86400 * 1000)
#define LE_PULL_MAX_PER_DOMAIN 1000      /* configs of one domain */
#define LE_PULL_LEASE_MS 9000
#define LE_PULL_RENEW_MS 2000
#define LE_PULL_LEASE_MARGIN_MS 1000
#define LE_PULL_SCAN_MS 2000

/* A refused parameter: the Alibaba-style code and message the admin API
 * answers (HTTP 400). */
typedef struct le_pull_err {
    const char *code;
    const char *message;
} le_pull_err;

typedef struct le_pull_sources {
    size_t n;
    char url[LE_PULL_MAX_SOURCES][LE_PULL_URL_MAX];
} le_pull_sources;

/* SourceUrl: origins separated by ';' (blanks around each and empty items
 * ignored). A bare host or host:port means rtmp://{host}/{app}/{name};
 * otherwise rtmp[s]://host[:port]/app/stream[?query] or
 * http[s]://host[:port]/path[?query] (HTTP-FLV). Pure. LE_OK with out
 * filled, or LE_EINVAL with *err: InvalidSourceUrl.Malformed (syntax, empty,
 * too long, more than LE_PULL_MAX_SOURCES) or
 * InvalidSourceUrl.ValueNotSupported (another scheme). */
int le_pull_parse_sources(const char *list, const char *app, const char *name, le_pull_sources *out,
                          le_pull_err *err);

/* StartTime/EndTime of a new config: EndTime after StartTime
 * (InvalidEndTime.Mismatch), at most LE_PULL_MAX_SPAN_MS apart
 * (InvalidStartTime.ValueNotSupported), EndTime after now
 * (InvalidEndTime.ValueNotSupported). Pure. LE_OK or LE_EINVAL with *err. */
int le_pull_check_window(int64_t start_ms, int64_t end_ms, int64_t now_ms, le_pull_err *err);

/* The Redis keys above (with redis_prefix). */
char *le_pull_key(char *out, size_t n, const char *domain);
char *le_pull_domains_key(char *out, size_t n);

/* The scheduler: init after the store and domains, tick every second. */
void le_pull_init(void);
void le_pull_tick(void);
/* Reads the configs again at the next tick (an admin call changed domain's;
 * NULL: all). */
void le_pull_rescan(const char *domain);
/* Node stop: every pull ends (publish_done) and its lease is released so
 * another node takes over at once; the scheduler then stays idle. */
void le_pull_shutdown(void);
void le_pull_free(void);
/* Configs this node pulls now (holds the lease of). */
size_t le_pull_active(void);

#endif
