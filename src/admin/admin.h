/* The admin port (admin_listen): the Alibaba Cloud ApsaraVideo Live OpenAPI
 * (2016-11-01) RPC style (docs/CONTRACT.md, livedge(8)). This module owns HTTP framing,
 * common parameters, signature v1, timestamp and nonce checks, JSON/XML
 * rendering, error bodies and serving /metrics (core/metrics.h); actions
 * register handlers.
 *
 * A handler may answer at once or later (after a Redis reply): the request
 * stays valid until exactly one of le_admin_reply / le_admin_error is called,
 * even if the client went away meanwhile. */
#ifndef LE_ADMIN_H
#define LE_ADMIN_H
#include <stddef.h>
#include "core/json.h"
#include "core/metrics.h"

struct event_base;
struct le_conf;
typedef struct le_admin_req le_admin_req;
typedef void (*le_admin_handler)(le_admin_req *r);

/* Refuses (-1, err filled) a non-loopback addr when no access_key_id/secret
 * is configured: unsigned calls are only ever served on loopback. */
int le_admin_listen(struct event_base *base, const char *addr, char *err, size_t errlen);
int le_admin_port(void);
/* Closes the listener and every connection, forgets nonces and action
 * registrations (metrics writers stay in core/metrics.h). Requests still out with a handler stay valid; their
 * replies are dropped. Idempotent. */
void le_admin_shutdown(void);
/* Tests and tools: read keys, node_name and http_header_timeout_ms from c
 * instead of le_node_conf() (NULL: back to the node's). */
void le_admin_set_conf(const struct le_conf *c);

void le_admin_register(const char *action, le_admin_handler h);
/* Also serves a registered action in the Tencent Cloud API 3.0 form (POST
 * JSON or GET, X-TC-Action, X-TC-Version 2022-01-10, TC3-HMAC-SHA256 with
 * the admin keys as SecretId/SecretKey); its handler answers the same way,
 * rendered as {"Response":{...,"RequestId"}} or {"Response":{"Error":{"Code",
 * "Message"},"RequestId"}} with HTTP 200. */
void le_admin_register_tc3(const char *action);

/* Parameter value (decoded), NULL if absent. */
const char *le_admin_param(const le_admin_req *r, const char *name);
const char *le_admin_request_id(const le_admin_req *r);
/* The calling client's address (for control history), "" if unknown. */
const char *le_admin_client_ip(const le_admin_req *r);

/* 200 with body (adopted; RequestId is added first). */
void le_admin_reply(le_admin_req *r, le_jv *body);
/* An error body {RequestId, HostId, Code, Message} with this HTTP status. */
void le_admin_error(le_admin_req *r, int status, const char *code, const char *message);

/* Common validations answering the error themselves; return 0 if fine. */
int le_admin_require(le_admin_req *r, const char *name, const char **out);   /* MissingParameter */

#endif
