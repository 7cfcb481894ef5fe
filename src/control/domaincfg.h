/* Domain functions (BatchSetLiveDomainConfigs and friends, livedge(8)):
 * per domain, function name -> {ConfigId, Args}. Stored in Redis
 * ({prefix}domaincfg:{domain}: hash function -> JSON record), mirrored on
 * the domain, and laid over the file's settings: the API wins.
 *
 * The node enforces aliauth, alilive, the IP lists, the referer lists,
 * live_push (a push rule added after the file's, relay/push.h) and
 * https_force (plaintext HTTP plays get a 301 to https_listen), with their
 * args checked exactly. Any other well-formed function (the API's CDN
 * functions such as set_req_host_header) is stored and echoed as given,
 * with a "stored, not enforced" log line. */
#ifndef LE_DOMAINCFG_H
#define LE_DOMAINCFG_H
#include <stdint.h>
#include "auth/aliauth.h"
#include "conf/conf.h"
#include "control/domains.h"
#include "core/json.h"

enum { LE_DCFG_OK = 0, LE_DCFG_BAD_FUNCTION, LE_DCFG_BAD_ARG, LE_DCFG_BAD_VALUE };

#define LE_DCFG_NAME_MAX 64      /* function and arg names */
#define LE_DCFG_VALUE_MAX 8191   /* bytes in one arg value */

/* Checks a function and its args (an object argName -> string). On error
 * *bad names the offending function, arg or value. */
int le_domaincfg_validate(const char *function, const le_jv *args, const char **bad);
/* A well-formed function name (1..64 of [A-Za-z0-9_.-]): one that can be
 * stored. */
int le_domaincfg_known(const char *function);
/* One the node acts on. */
int le_domaincfg_enforced(const char *function);

/* Sets (replacing the domain's record of that function); args adopted.
 * config_id 0 allocates one. Returns the ConfigId. Persists, notifies. */
int64_t le_domaincfg_set(le_domain *d, const char *function, le_jv *args, int64_t config_id);
/* 1 if removed. */
int le_domaincfg_delete(le_domain *d, const char *function);
int le_domaincfg_delete_id(le_domain *d, int64_t config_id);
/* The domain's records: an object function -> {"ConfigId":N,"Args":{...}}. */
const le_jv *le_domaincfg_records(const le_domain *d);

/* The keys of a publish through push_domain onto the play settings cf, laid
 * over *k (which holds cf's own): the file's push_aliauth block, then the
 * push domain's own aliauth record. Returns 1 if either exists (*k
 * changed), 0 if cf's keys apply. */
int le_domaincfg_push_keys(const le_conf_domain *cf, const char *push_domain, le_aliauth_keys *k);

/* Lays the records over cf (settings rebuild, see domains.c). */
void le_domaincfg_overlay(le_conf_domain *cf, const le_jv *records);

void le_domaincfg_init(void);
/* Loads one domain's records from Redis (after a connect or an event). */
void le_domaincfg_load(const char *domain);

#endif
