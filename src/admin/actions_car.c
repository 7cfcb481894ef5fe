/* The Tencent Cloud CAR push actions (API version 2022-01-10):
 * StartPublishStream, StartPublishStreamWithURL, StopPublishStream
 * (livedge(8), "Tencent CAR actions"; the car { } block of livedge.conf(5)).
 *
 * UserId names the local stream car.domain/car.app/UserId and the one-off
 * push of it (relay/push.h, id = UserId). StartPublishStream pushes to
 * car.push_url with {UserId} expanded, signed with txSecret/txTime when
 * car.tx_secret_key is set, PublishStreamArgs appended to the query;
 * StartPublishStreamWithURL pushes to the URL given. The actions answer in
 * either form the admin port speaks (RPC, or Tencent API 3.0 when signed
 * with TC3-HMAC-SHA256), with the error codes of the CAR reference:
 * OperationDenied (no car block), InvalidParameter, FailedOperation (a push
 * for that UserId runs already: it is not restarted),
 * ResourceNotFound.SessionNotFound (StopPublishStream of an unknown UserId),
 * InternalError. */
#include "admin/actions.h"
#include "admin/admin.h"
#include "auth/aliauth.h"
#include "conf/conf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "node.h"
#include "relay/push.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MOD "car"
#define MAX_USER 128
#define MAX_ARGS 1024
#define MAX_URL 2048

/* UserId becomes a stream name and a URL path segment: letters, digits and
 * - _ . ~ only, not starting with '.'. */
static int user_ok(const char *u)
{
    size_t n = strlen(u);
    if (n < 1 || n > MAX_USER || u[0] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = u[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '_' || c == '.' || c == '~'))
            return 0;
    }
    return 1;
}

/* Printable ASCII without blanks, '#' or the quote characters. */
static int urlpart_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n > max)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f || c == '#' || c == '"' || c == '\'' || c == '<' || c == '>' || c == '\\')
            return 0;
    }
    return 1;
}

static int rtmp_url_ok(const char *u)
{
    return strncasecmp(u, "rtmp://", 7) == 0 && u[7] && u[7] != '/' && urlpart_ok(u, MAX_URL);
}

static void bad(le_admin_req *r, const char *name)
{
    char msg[160];
    snprintf(msg, sizeof(msg), "The parameter %s is not valid.", name);
    le_admin_error(r, 400, "InvalidParameter", msg);
}

/* The node's car block, or NULL after answering OperationDenied. */
static const le_conf *car_conf(le_admin_req *r)
{
    const le_conf *cf = le_node_conf();
    if (cf && cf->car && cf->car_push_url)
        return cf;
    le_admin_error(r, 403, "OperationDenied", "This node has no car { } block in livedge.conf.");
    return NULL;
}

static int user_param(le_admin_req *r, const char **user)
{
    if (le_admin_require(r, "UserId", user) != 0)
        return LE_EINVAL;
    if (!user_ok(*user)) {
        bad(r, "UserId");
        return LE_EINVAL;
    }
    return LE_OK;
}

/* Expands {UserId} and signs (le_push_sign: url?txSecret=..&txTime=..),
 * then appends the args. The StreamName of the signature is the URL's last
 * path segment. */
static int build_url(const le_conf *cf, const char *user, const char *args, int64_t now_s, char *out, size_t n)
{
    char base[MAX_URL + 1], sig[MAX_URL + 1];
    if (le_push_expand(cf->car_push_url, cf->car_app, user, "", base, sizeof(base)) != LE_OK)
        return LE_ETOOBIG;
    int keyed = cf->car_tx_key && *cf->car_tx_key;
    int rc = le_push_sign(base, keyed ? LE_AUTH_TX : LE_AUTH_NONE, cf->car_tx_key,
                          now_s + cf->car_tx_validity_s, sig, sizeof(sig));
    if (rc != LE_OK)
        return rc;
    int w = args && *args ? snprintf(out, n, "%s%c%s", sig, strchr(sig, '?') ? '&' : '?', args)
                          : snprintf(out, n, "%s", sig);
    return w >= 0 && (size_t)w < n ? LE_OK : LE_ETOOBIG;
}

static void start(le_admin_req *r, const le_conf *cf, const char *user, const char *url)
{
    const char *domain = cf->car_domain ? cf->car_domain : cf->default_domain;
    int rc = le_push_start_id(user, domain, cf->car_app, user, url);
    if (rc == LE_EEXIST) {
        le_admin_error(r, 409, "FailedOperation",
                       "A push for this UserId is running already; StopPublishStream it first.");
        return;
    }
    if (rc == LE_EINVAL) {
        bad(r, "PublishStreamURL");
        return;
    }
    if (rc != LE_OK) {
        le_admin_error(r, 500, "InternalError", "The push could not be started.");
        return;
    }
    /* The URL may carry a signature: log its host only. */
    size_t hl = strcspn(url + 7, "/?");
    le_info(MOD, "request %s: push %s/%s/%s to rtmp://%.*s/... started (UserId %s)", le_admin_request_id(r),
            domain, cf->car_app, user, (int)hl, url + 7, user);
    le_admin_reply(r, NULL);
}

static void start_publish_stream(le_admin_req *r)
{
    const le_conf *cf;
    const char *user, *args = le_admin_param(r, "PublishStreamArgs");
    char url[MAX_URL + 1];
    if (!(cf = car_conf(r)) || user_param(r, &user) != 0)
        return;
    if (args) {
        while (*args == '?' || *args == '&')
            args++;
        if (!urlpart_ok(args, MAX_ARGS)) {
            bad(r, "PublishStreamArgs");
            return;
        }
    }
    if (build_url(cf, user, args, le_wall_ms() / 1000, url, sizeof(url)) != LE_OK) {
        bad(r, "PublishStreamArgs");
        return;
    }
    start(r, cf, user, url);
}

static void start_publish_stream_with_url(le_admin_req *r)
{
    const le_conf *cf;
    const char *user, *url;
    if (!(cf = car_conf(r)) || user_param(r, &user) != 0 ||
        le_admin_require(r, "PublishStreamURL", &url) != 0)
        return;
    if (!rtmp_url_ok(url)) {
        bad(r, "PublishStreamURL");
        return;
    }
    start(r, cf, user, url);
}

/* Allowed without a car block too, so a push started before a reload that
 * removed the block can still be stopped. */
static void stop_publish_stream(le_admin_req *r)
{
    const char *user;
    if (user_param(r, &user) != 0)
        return;
    if (le_push_stop_id(user) != LE_OK) {
        le_admin_error(r, 404, "ResourceNotFound.SessionNotFound", "No push runs for this UserId.");
        return;
    }
    le_info(MOD, "request %s: push of UserId %s stopped", le_admin_request_id(r), user);
    le_admin_reply(r, NULL);
}

void le_actions_car_register(void)
{
    le_admin_register("StartPublishStream", start_publish_stream);
    le_admin_register("StartPublishStreamWithURL", start_publish_stream_with_url);
    le_admin_register("StopPublishStream", stop_publish_stream);
    le_admin_register_tc3("StartPublishStream");
    le_admin_register_tc3("StartPublishStreamWithURL");
    le_admin_register_tc3("StopPublishStream");
}
