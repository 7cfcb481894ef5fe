/* Publish callback configuration (API reference chapter 7):
 * SetLiveStreamsNotifyUrlConfig, DescribeLiveStreamsNotifyUrlConfig,
 * DeleteLiveStreamsNotifyUrlConfig (the callback metrics are notify.c's).
 *
 * One setting: the `alilive` domain function's notify_url (plus
 * notify_auth_key), stored through control/domaincfg.h, so it lives in
 * Redis, reaches every node on the events channel and applies to the next
 * callback without a restart. A push (liveEdge) domain's callbacks are its
 * play domain's: the calls accept a mapped push domain and act on the play
 * domain it maps to. */
#include "admin/actions.h"
#include "admin/admin.h"
#include "admin/params.h"
#include "control/domaincfg.h"
#include "control/domains.h"
#include "control/notify.h"
#include "core/err.h"
#include "core/json.h"
#include "core/util.h"
#include "node.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_URL 2048
#define MAX_KEY 256

/* http:// or https://, a host, no blank or control character. */
static int url_ok(const char *u)
{
    size_t n = strlen(u), skip;
    if (strncasecmp(u, "http://", 7) == 0)
        skip = 7;
    else if (strncasecmp(u, "https://", 8) == 0)
        skip = 8;
    else
        return 0;
    if (n <= skip || n > MAX_URL || u[skip] == '/' || u[skip] == '?' || u[skip] == '#')
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)u[i] <= 0x20 || (unsigned char)u[i] == 0x7f)
            return 0;
    return 1;
}

static int key_ok(const char *k)
{
    size_t n = strlen(k);
    if (n < 1 || n > MAX_KEY)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)k[i] <= 0x20 || (unsigned char)k[i] >= 0x7f)
            return 0;
    return 1;
}

/* A copy of the domain's alilive args without the names listed; its
 * ConfigId in *id (0 if none). */
static le_jv *alilive_args_without(const le_domain *d, const char *drop1, const char *drop2, int64_t *id)
{
    const le_jv *rec = le_jv_get(le_domaincfg_records(d), "alilive");
    le_jv *args = le_jv_obj();
    *id = 0;
    if (!rec)
        return args;
    if (le_jv_get_int(rec, "ConfigId", id) != 0)
        *id = 0;
    const le_jv *old = le_jv_get(rec, "Args");
    for (const le_jv *a = old ? old->first : NULL; a; a = a->next) {
        if (a->type != LE_JV_STR || (drop1 && strcmp(a->key, drop1) == 0) ||
            (drop2 && strcmp(a->key, drop2) == 0))
            continue;
        le_jv_set_str(args, a->key, a->s);
    }
    return args;
}

static void set_notify(le_admin_req *r)
{
    le_domain *d;
    const char *url, *key = le_admin_param(r, "NotifyAuthKey"), *req_auth = le_admin_param(r, "NotifyReqAuth");
    if (le_params_domain_play(r, &d) != 0 || le_admin_require(r, "NotifyUrl", &url) != 0)
        return;
    if (!url_ok(url)) {
        le_params_invalid(r, "NotifyUrl");
        return;
    }
    /* Newer API versions: NotifyReqAuth yes|no with NotifyAuthKey. */
    int set_key = 0, clear_key = 0;
    if (req_auth && *req_auth) {
        if (strcasecmp(req_auth, "yes") == 0) {
            if (le_admin_require(r, "NotifyAuthKey", &key) != 0)
                return;
            set_key = 1;
        } else if (strcasecmp(req_auth, "no") == 0) {
            clear_key = 1;
        } else {
            le_params_invalid(r, "NotifyReqAuth");
            return;
        }
    } else if (key && *key) {
        set_key = 1;
    }
    if (set_key && !key_ok(key)) {
        le_params_invalid(r, "NotifyAuthKey");
        return;
    }
    if (le_params_store(r) != 0)
        return;
    int64_t id;
    le_jv *args = alilive_args_without(d, "notify_url", set_key || clear_key ? "notify_auth_key" : NULL, &id);
    le_jv_set_str(args, "notify_url", url);
    if (set_key)
        le_jv_set_str(args, "notify_auth_key", key);
    /* "no": also overrides a notify_auth_key of the file's domain block. */
    if (clear_key)
        le_jv_set_str(args, "notify_auth_key", "");
    le_domaincfg_set(d, "alilive", args, id);
    le_admin_reply(r, le_jv_obj());
}

static void describe_notify(le_admin_req *r)
{
    le_domain *d;
    const char *asked;
    if (le_params_domain_play(r, &d) != 0 || le_admin_require(r, "DomainName", &asked) != 0)
        return;
    /* The setting in force: the API's over the file's. */
    const le_conf_domain *cf = le_node_domain(d->name);
    const char *url = cf && cf->notify_url ? cf->notify_url : "";
    const char *key = cf && cf->notify_auth_key ? cf->notify_auth_key : "";
    le_jv *body = le_jv_obj();
    /* The API reference's response table names the object
     * LiveStreamsNotifyConfig, its JSON example NotifyUrlConfig; clients
     * read one or the other. The key is masked (le_params_mask_secret):
     * NotifyReqAuth says whether one is set. */
    const char *wrappers[] = { "LiveStreamsNotifyConfig", "NotifyUrlConfig" };
    for (size_t i = 0; i < 2; i++) {
        le_jv *o = le_jv_set_obj(body, wrappers[i]);
        le_jv_set_str(o, "DomainName", asked);
        le_jv_set_str(o, "NotifyUrl", url);
        if (i == 0) {
            le_jv_set_str(o, "NotifyReqAuth", *key ? "yes" : "no");
            char masked[16];
            le_jv_set_str(o, "NotifyAuthKey", le_params_mask_secret(key, masked, sizeof(masked)));
        }
    }
    le_admin_reply(r, body);
}

static int file_has_url(const char *domain)
{
    const le_conf *c = le_node_conf();
    int is_push = 0;
    const le_conf_domain *f = c ? le_conf_find_domain(c, domain, &is_push) : NULL;
    return f && !is_push && f->notify_url && *f->notify_url;
}

static void delete_notify(le_admin_req *r)
{
    le_domain *d;
    if (le_params_domain_play(r, &d) != 0 || le_params_store(r) != 0)
        return;
    int64_t id;
    le_jv *args = alilive_args_without(d, "notify_url", NULL, &id);
    /* The API wins over the file: with a notify_url in the file's
     * domain block, deleting stores an empty one, which switches it off. */
    if (file_has_url(d->name))
        le_jv_set_str(args, "notify_url", "");
    if (args->n)
        le_domaincfg_set(d, "alilive", args, id);
    else {
        le_jv_free(args);
        le_domaincfg_delete(d, "alilive");
    }
    le_admin_reply(r, le_jv_obj());
}

void le_actions_notify_register(void)
{
    le_admin_register("SetLiveStreamsNotifyUrlConfig", set_notify);
    le_admin_register("DescribeLiveStreamsNotifyUrlConfig", describe_notify);
    le_admin_register("DeleteLiveStreamsNotifyUrlConfig", delete_notify);
}
