/* Domain functions (BatchSetLiveDomainConfigs and friends, SPEC 4, seed
 * 4.10): per domain, function name -> {ConfigId, Args}. Stored in Redis
 * ({prefix}domaincfg:{domain}: hash function -> JSON record), mirrored on
 * the domain, and laid over the file's settings: the API wins (SPEC 1).
 * Only the functions the node enforces are accepted. */
#ifndef LE_DOMAINCFG_H
#define LE_DOMAINCFG_H
#include <stdint.h>
#include "conf/conf.h"
#include "control/domains.h"
#include "core/json.h"

enum { LE_DCFG_OK = 0, LE_DCFG_BAD_FUNCTION, LE_DCFG_BAD_ARG, LE_DCFG_BAD_VALUE };

/* Checks a function and its args (an object argName -> string). On error
 * *bad names the offending function, arg or value. */
int le_domaincfg_validate(const char *function, const le_jv *args, const char **bad);
int le_domaincfg_known(const char *function);

/* Sets (replacing the domain's record of that function); args adopted.
 * config_id 0 allocates one. Returns the ConfigId. Persists, notifies. */
int64_t le_domaincfg_set(le_domain *d, const char *function, le_jv *args, int64_t config_id);
/* 1 if removed. */
int le_domaincfg_delete(le_domain *d, const char *function);
int le_domaincfg_delete_id(le_domain *d, int64_t config_id);
/* The domain's records: an object function -> {"ConfigId":N,"Args":{...}}. */
const le_jv *le_domaincfg_records(const le_domain *d);

/* Lays the records over cf (settings rebuild, see domains.c). */
void le_domaincfg_overlay(le_conf_domain *cf, const le_jv *records);

void le_domaincfg_init(void);
/* Loads one domain's records from Redis (after a connect or an event). */
void le_domaincfg_load(const char *domain);

#endif
