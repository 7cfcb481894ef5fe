/* Triggered (lazy) pulls: SetLiveLazyPullStreamInfoConfig,
 * DescribeLiveLazyPullStreamConfig, DeleteLiveLazyPullStreamInfoConfig.
 * A record puts the app (or every app: ali_all_app) of a play domain in
 * edge mode (relay/edge.h); livedge(8) says which parameters are used. */
#include "admin/actions.h"
#include "admin/admin.h"
#include "admin/params.h"
#include "core/json.h"
#include "core/util.h"
#include "relay/edge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARG_MAX 1024   /* PullDomainName, PullArgs, PullAuthKey at most */

/* The play domain of DomainName, answered when there is none. */
static le_domain *play_domain(le_admin_req *r)
{
    le_domain *d;
    if (le_params_domain(r, "DomainName", &d) != 0)
        return NULL;
    le_domain *p = le_params_play_domain(d);
    if (!p || !p->cf) {
        le_admin_error(r, 404, "IllegalOperation", "Illegal domain operate is not permitted.");
        return NULL;
    }
    return p;
}

static int app_ok(const char *a)
{
    return strcmp(a, LE_EDGE_ALL_APPS) == 0 || le_name_valid(a, strlen(a));
}

static void set_lazy(le_admin_req *r)
{
    static const char *const protos[] = { "rtmp", NULL };
    static const char *const yesno[] = { "no", NULL };
    static const char *const auths[] = { "no_auth", "type_a", "type_b", "type_c", "tx_secret", NULL };
    const char *app, *pull_domain, *proto, *tl, *auth;
    le_domain *d = play_domain(r);
    if (!d || le_admin_require(r, "AppName", &app) != 0 || le_admin_require(r, "PullDomainName", &pull_domain) != 0 ||
        le_admin_require(r, "PullProtocol", &proto) != 0)
        return;
    if (!app_ok(app)) {
        le_params_invalid(r, "AppName");
        return;
    }
    /* Pulls go over RTMP to the ingesting node; a transcoded lazy pull
     * is not offered. */
    if (le_params_enum(r, "PullProtocol", protos, "rtmp", &proto) != 0 ||
        le_params_enum(r, "TranscodeLazy", yesno, "no", &tl) != 0 ||
        le_params_enum(r, "PullAuthType", auths, "no_auth", &auth) != 0 || le_params_store(r) != 0)
        return;
    const char *pull_app = le_admin_param(r, "PullAppName"), *args = le_admin_param(r, "PullArgs"),
               *key = le_admin_param(r, "PullAuthKey");
    if (pull_app && *pull_app && !le_name_valid(pull_app, strlen(pull_app))) {
        le_params_invalid(r, "PullAppName");
        return;
    }
    const char *too_long = strlen(pull_domain) > ARG_MAX ? "PullDomainName"
                         : args && (strlen(args) > ARG_MAX || strpbrk(args, " #\r\n")) ? "PullArgs"
                         : key && strlen(key) > ARG_MAX ? "PullAuthKey" : NULL;
    if (too_long) {
        le_params_invalid(r, too_long);
        return;
    }
    le_jv *rec = le_jv_obj();
    le_jv_set_str(rec, "DomainName", d->name);
    le_jv_set_str(rec, "AppName", app);
    le_jv_set_str(rec, "PullDomainName", pull_domain);
    le_jv_set_str(rec, "PullAppName", pull_app ? pull_app : "");
    le_jv_set_str(rec, "PullProtocol", proto);
    le_jv_set_str(rec, "PullArgs", args ? args : "");
    le_jv_set_str(rec, "TranscodeLazy", tl);
    le_jv_set_str(rec, "PullAuthType", auth);
    le_jv_set_str(rec, "PullAuthKey", key ? key : "");
    le_edge_lazy_set(d->name, app, rec);
    le_admin_reply(r, le_jv_obj());
}

static void describe_lazy(le_admin_req *r)
{
    le_domain *d = play_domain(r);
    if (!d)
        return;
    const char *app = le_admin_param(r, "AppName");
    le_jv *list = le_edge_lazy_list(d->name, app && *app ? app : NULL);
    for (le_jv *o = list->first; o; o = o->next) {   /* secrets are never echoed */
        const char *k = le_jv_get_str(o, "PullAuthKey");
        char masked[64];
        if (k && *k) {
            le_params_mask_secret(k, masked, sizeof(masked));
            for (le_jv *m = o->first; m; m = m->next)
                if (m->key && strcmp(m->key, "PullAuthKey") == 0) {
                    free(m->s);
                    m->s = le_xstrdup(masked);
                    m->slen = strlen(masked);
                }
        }
    }
    le_jv *body = le_jv_obj();
    le_jv_set(le_jv_set_obj(body, "LiveLazyPullConfigList"), "LiveLazyPullConfig", list);
    le_admin_reply(r, body);
}

static void delete_lazy(le_admin_req *r)
{
    const char *app;
    le_domain *d = play_domain(r);
    if (!d || le_admin_require(r, "AppName", &app) != 0)
        return;
    if (!app_ok(app)) {
        le_params_invalid(r, "AppName");
        return;
    }
    if (le_params_store(r) != 0)
        return;
    le_edge_lazy_delete(d->name, app);
    le_admin_reply(r, le_jv_obj());
}

void le_actions_edge_register(void)
{
    le_admin_register("SetLiveLazyPullStreamInfoConfig", set_lazy);
    le_admin_register("DescribeLiveLazyPullStreamConfig", describe_lazy);
    le_admin_register("DeleteLiveLazyPullStreamInfoConfig", delete_lazy);
}
