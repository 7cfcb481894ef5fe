/* Domains: every play (liveVideo) and push (liveEdge) domain the node
 * serves. The file's domain blocks seed the set; the admin API changes it;
 * Redis keeps it and shares it with the other nodes (a change is published
 * on the events channel and every node reloads that domain). The in-memory
 * mirror answers every data-plane lookup, so a Redis outage never stalls a
 * publish or a play. */
#ifndef LE_DOMAINS_H
#define LE_DOMAINS_H
#include <stdint.h>
#include "conf/conf.h"

typedef struct le_domain {
    char *name;
    int edge;                  /* liveEdge (push) domain; else liveVideo (play) */
    int online;                /* StartLiveDomain/StopLiveDomain */
    char *region, *scope, *check_url, *description;
    int64_t created_ms, modified_ms;
    char *play;                /* edge: the play domain it maps to (NULL: unmapped) */
    le_conf_domain *cf;        /* play: settings (a copy of the file block, or defaults) */
    int from_file;
    struct le_jv *functions;   /* domain functions (control/domaincfg.h), NULL if none */
    struct le_domain *next;
} le_domain;

void le_domains_init(const le_conf *conf);
void le_domains_reload_conf(const le_conf *conf);    /* SIGHUP */
void le_domains_free(void);

le_domain *le_domain_get(const char *name);          /* case-insensitive */
/* The domain serving host: the domain of that exact name, else the wildcard
 * domain (".a.com" serves x.a.com and x.y.a.com, not a.com) with the longest
 * suffix; NULL if none. */
le_domain *le_domain_match(const char *host);
/* Resolution of a publish or play (man livedge.8, URLS SERVED), through
 * le_domain_match. Returns the play domain's settings or NULL (unknown).
 * *offline is set when the domain exists but is stopped. */
const le_conf_domain *le_domains_resolve(const char *vhost, const char *host, int *is_push,
                                         int *offline);

/* Mutations persist to Redis and notify the other nodes. */
le_domain *le_domain_add(const char *name, int edge, const char *region, const char *scope,
                         const char *check_url);
void le_domain_delete(le_domain *d);
void le_domain_set_online(le_domain *d, int online);
void le_domain_set_play(le_domain *push, const char *play);   /* NULL unmaps */
/* Recomputes a play domain's settings: the file block (or defaults) with
 * the domain functions laid over it. */
void le_domain_rebuild(le_domain *d);

typedef void (*le_domain_iter_fn)(le_domain *d, void *arg);
void le_domains_foreach(le_domain_iter_fn fn, void *arg);

/* The events channel ("{prefix}events") shared by the control modules. */
void le_control_publish_event(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
typedef void (*le_control_event_fn)(const char *kind, const char *arg);
void le_control_on_event(const char *kind, le_control_event_fn fn);

#endif
