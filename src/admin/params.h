/* Parameter checks shared by the actions. Each answers the error itself
 * (MissingParameter, InvalidParameter, InvalidDomain.NotFound, 503, and for
 * StartTime/EndTime the codes of the API reference: InvalidStartTime.Malformed,
 * InvalidEndTime.Malformed, InvalidEndTime.Mismatch,
 * InvalidStartTime.ValueNotSupported, InvalidEndTime.BeyondCurrent) and
 * returns a negative LE_* code, or returns 0 with the value. */
#ifndef LE_ADMIN_PARAMS_H
#define LE_ADMIN_PARAMS_H
#include <stddef.h>
#include <stdint.h>
#include "admin/admin.h"
#include "control/domains.h"
#include "store/store.h"

#define LE_DAY_MS (86400LL * 1000)

int le_params_domain(le_admin_req *r, const char *name, le_domain **out);
/* The play domain whose streams and settings d stands for: d itself
 * for a play domain, the one a push domain maps to, NULL for a push domain
 * not mapped onto a play domain. Answers nothing. */
le_domain *le_params_play_domain(le_domain *d);
/* DomainName, required, as the play domain its streams and settings live
 * on (le_params_play_domain); a push domain mapped to none answers 400
 * InvalidParameter. */
int le_params_domain_play(le_admin_req *r, le_domain **out);
/* AppName and StreamName, both required and valid stream names. */
int le_params_app_stream(le_admin_req *r, const char **app, const char **stream);
int le_params_store(le_admin_req *r);                     /* 503 if Redis is down */
/* Answers 503 ServiceUnavailable (the state store did not take or answer a
 * command). */
void le_params_unavailable(le_admin_req *r);
/* A per-domain config hash with a quota and an index set of its domains:
 * le_params_quota_hset stores field = value in the hash at key unless that
 * would put it over max fields (a field that exists is replaced), and adds
 * member to the set at dkey; cb gets integer 1 stored, 0 over quota.
 * le_params_quota_hdel removes field, and member from the set with the
 * hash's last field; cb gets the number removed. 0, or LE_EIO with 503
 * answered on r when the store does not take the command (cb is not
 * called then: the caller frees arg). */
int le_params_quota_hset(le_admin_req *r, le_store_cb cb, void *arg, const char *key, const char *dkey,
                         const char *field, const char *value, size_t vlen, int max, const char *member);
/* For le_params_quota_hset's callback: 1 when stored (nothing answered),
 * else 0 with the error answered: 503, or 400 code ("The number of {what}
 * of the domain exceeds the limit of {max}."). */
int le_params_quota_stored(le_admin_req *r, const struct redisReply *rep, const char *code, const char *what,
                           int max);
int le_params_quota_hdel(le_admin_req *r, le_store_cb cb, void *arg, const char *key, const char *dkey,
                         const char *field, const char *member);
void le_params_invalid(le_admin_req *r, const char *name);
/* 400 InvalidParameter naming name, with why (a phrase) in the message. */
void le_params_invalid_why(le_admin_req *r, const char *name, const char *why);
/* A decimal integer in lo..hi (the whole string): LE_OK, else LE_EINVAL. */
int le_params_int_range(const char *s, int64_t lo, int64_t hi, int64_t *out);
/* OSS bucket names: 3-63 of [a-z0-9-], no '-' first or last. */
int le_params_bucket_ok(const char *b);
/* An endpoint host (optionally with scheme and port): 1-255 of [A-Za-z0-9.:/_-]. */
int le_params_endpoint_ok(const char *e);
/* The node holding a publisher: one HSCAN step (cursor "0" first) over the
 * cluster online list for the entries of dask ("domain/app/stream") on any
 * node; cb gets the reply ([cursor, [field, value, ...]]). Callers stop
 * after LE_PARAMS_ONLINE_SCAN_MAX steps. */
#define LE_PARAMS_ONLINE_SCAN_MAX 100000
int le_params_scan_online(le_store_cb cb, void *arg, const char *dask, const char *cursor);
/* PageNum (alias PageNumber) 1..max_num (0: no practical bound), default 1;
 * PageSize 1..max, default def. */
int le_params_page(le_admin_req *r, int64_t max_num, int64_t max, int64_t def, int64_t *num,
                   int64_t *size);
/* Order ("asc" or "desc"; absent: dflt), then le_params_page with PageSize
 * at least min_size. */
int le_params_order_page(le_admin_req *r, const char *dflt, int64_t min_size, int64_t max, int64_t def,
                         const char **order, int64_t *num, int64_t *size);
/* UTC time; absent: *ms = dflt (required: MissingParameter). */
int le_params_time(le_admin_req *r, const char *name, int required, int64_t dflt, int64_t *ms);
/* StartTime/EndTime with end >= start and end - start <= max_ms. */
int le_params_window(le_admin_req *r, int required, int64_t max_ms, int64_t dflt_span,
                     int64_t *start, int64_t *end);
/* InvalidEndTime.BeyondCurrent when end is after now. */
int le_params_end_not_future(le_admin_req *r, int64_t end);
/* One of the listed values (NULL-terminated); absent: dflt. */
int le_params_enum(le_admin_req *r, const char *name, const char *const *values, const char *dflt,
                   const char **out);
/* Adds PageNum, PageSize, TotalNum, TotalPage to body. */
/* A secret as the Describe actions echo it: "" if unset, else "****" and,
 * for one of 8 bytes or more, its last 2 characters; the length stays
 * hidden. Returns out. */
const char *le_params_mask_secret(const char *secret, char *out, size_t outsz);
void le_params_paging_reply(le_jv *body, int64_t num, int64_t size, int64_t total);

#endif
