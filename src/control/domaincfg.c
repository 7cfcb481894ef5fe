#include "control/domaincfg.h"
#include "auth/acl.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "store/store.h"

#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MOD "domaincfg"

typedef struct fn_spec {
    const char *name;
    const char *args[6];
} fn_spec;

static const fn_spec specs[] = {
    { "aliauth", { "auth_type", "auth_key1", "auth_key2", "ali_auth_delta", NULL } },
    { "alilive", { "notify_url", "notify_auth_key", "enable", NULL } },
    { "ip_black_list_set", { "ip_list", NULL } },
    { "ip_white_list_set", { "ip_list", NULL } },
    { "referer_white_list_set", { "refer_domain_allow_list", "allow_empty", NULL } },
    { "referer_black_list_set", { "refer_domain_deny_list", "allow_empty", NULL } },
    { "live_push", { "target", "app", "sign_type", "sign_key", "sign_validity", NULL } },
    { "https_force", { "enable", NULL } },
};
#define NSPECS (sizeof(specs) / sizeof(specs[0]))

static const fn_spec *spec_of(const char *name)
{
    for (size_t i = 0; i < NSPECS; i++)
        if (strcmp(specs[i].name, name) == 0)
            return &specs[i];
    return NULL;
}

int le_domaincfg_enforced(const char *function) { return spec_of(function) != NULL; }

/* A function or arg name: 1..LE_DCFG_NAME_MAX of [A-Za-z0-9_.-]. */
static int name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > LE_DCFG_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '.' || ch == '-'))
            return 0;
    }
    return 1;
}

int le_domaincfg_known(const char *function) { return function && name_ok(function); }

static int onoff(const char *v) { return strcmp(v, "on") == 0 || strcmp(v, "off") == 0; }

/* live_push target: rtmp:// URL templates separated by ';' (blanks around
 * them ignored), 1..LE_CONF_PUSH_TARGETS_MAX of them. Calls fn on each
 * when fn is not NULL. Returns the count, or LE_EINVAL. */
static int each_target(const char *v, void (*fn)(const char *t, size_t n, void *arg), void *arg)
{
    int n = 0;
    for (const char *p = v; *p;) {
        size_t l = strcspn(p, ";");
        const char *t = p;
        p += l + (p[l] == ';');
        while (l && (*t == ' ' || *t == '\t' || *t == '\n' || *t == '\r')) {
            t++;
            l--;
        }
        while (l && (t[l - 1] == ' ' || t[l - 1] == '\t' || t[l - 1] == '\n' || t[l - 1] == '\r'))
            l--;
        if (l == 0)
            continue;
        if (l < 8 || strncasecmp(t, "rtmp://", 7) != 0 || t[7] == '/')
            return LE_EINVAL;
        for (size_t i = 0; i < l; i++)
            if ((unsigned char)t[i] <= 0x20 || t[i] == 0x7f)
                return LE_EINVAL;
        if (++n > LE_CONF_PUSH_TARGETS_MAX)
            return LE_EINVAL;
        if (fn)
            fn(t, l, arg);
    }
    return n > 0 ? n : LE_EINVAL;
}

static int value_ok(const char *arg, const char *v)
{
    if (strcmp(arg, "auth_type") == 0)
        return !strcmp(v, "no_auth") || !strcmp(v, "type_a") || !strcmp(v, "type_b") ||
               !strcmp(v, "type_c") || !strcmp(v, "tx_secret");
    if (strcmp(arg, "ali_auth_delta") == 0) {
        char *end;
        long long n = strtoll(v, &end, 10);
        return *v && !*end && n >= 0 && n <= 100LL * 365 * 86400;
    }
    if (strcmp(arg, "notify_url") == 0)
        return *v == '\0' || strncmp(v, "http://", 7) == 0 || strncmp(v, "https://", 8) == 0;
    if (strcmp(arg, "allow_empty") == 0 || strcmp(arg, "enable") == 0)
        return onoff(v);
    if (strlen(v) > LE_DCFG_VALUE_MAX)
        return 0;
    if (strcmp(arg, "target") == 0)
        return each_target(v, NULL, NULL) > 0;
    if (strcmp(arg, "sign_type") == 0)
        return !strcmp(v, "none") || !strcmp(v, "type_a") || !strcmp(v, "tx_secret");
    if (strcmp(arg, "sign_validity") == 0) {
        char *end;
        long long n = strtoll(v, &end, 10);
        return *v >= '0' && *v <= '9' && !*end && n >= 1 && n <= 365LL * 86400;
    }
    if (strcmp(arg, "app") == 0)
        return *v && !strchr(v, '/') && !strchr(v, '?') && !strchr(v, ' ');
    /* The lists are parsed as they will be enforced (auth/acl.h). */
    char bad[2];
    if (strcmp(arg, "ip_list") == 0)
        return le_acl_ip_list_check(v, bad, sizeof(bad)) == 0;
    if (strcmp(arg, "refer_domain_allow_list") == 0 || strcmp(arg, "refer_domain_deny_list") == 0)
        return le_acl_domain_list_check(v, bad, sizeof(bad)) == 0;
    return 1;
}

int le_domaincfg_validate(const char *function, const le_jv *args, const char **bad)
{
    if (!le_domaincfg_known(function)) {
        *bad = function;
        return LE_DCFG_BAD_FUNCTION;
    }
    const fn_spec *sp = spec_of(function);
    if (!sp) {
        /* Stored and echoed, not enforced: only the shape is checked. */
        for (const le_jv *a = args ? args->first : NULL; a; a = a->next) {
            *bad = a->key;
            if (!name_ok(a->key))
                return LE_DCFG_BAD_ARG;
            if (a->type != LE_JV_STR || strlen(a->s) > LE_DCFG_VALUE_MAX)
                return LE_DCFG_BAD_VALUE;
        }
        return LE_DCFG_OK;
    }
    if (strcmp(function, "https_force") == 0 && !le_jv_get_str(args, "enable")) {
        *bad = "enable";
        return LE_DCFG_BAD_ARG;
    }
    if (strcmp(function, "live_push") == 0) {
        /* The whole rule: a target, and a key when it signs. */
        const char *st = le_jv_get_str(args, "sign_type"), *key = le_jv_get_str(args, "sign_key");
        if (!le_jv_get_str(args, "target")) {
            *bad = "target";
            return LE_DCFG_BAD_ARG;
        }
        if (st && strcmp(st, "none") != 0 && (!key || !*key)) {
            *bad = "sign_key";
            return LE_DCFG_BAD_ARG;
        }
    }
    for (const le_jv *a = args ? args->first : NULL; a; a = a->next) {
        int known = 0;
        for (int i = 0; sp->args[i]; i++)
            if (strcmp(sp->args[i], a->key) == 0)
                known = 1;
        if (!known) {
            *bad = a->key;
            return LE_DCFG_BAD_ARG;
        }
        if (a->type != LE_JV_STR || !value_ok(a->key, a->s)) {
            *bad = a->key;
            return LE_DCFG_BAD_VALUE;
        }
    }
    return LE_DCFG_OK;
}

/* ---- overlay ---- */

static int auth_type_of(const char *v)
{
    return !strcmp(v, "type_a") ? LE_AUTH_A : !strcmp(v, "type_b") ? LE_AUTH_B
         : !strcmp(v, "type_c") ? LE_AUTH_C : !strcmp(v, "tx_secret") ? LE_AUTH_TX : LE_AUTH_NONE;
}

static void set_s(char **slot, const char *v)
{
    free(*slot);
    *slot = v && *v ? le_xstrdup(v) : NULL;
}

static void add_target(const char *t, size_t n, void *arg)
{
    le_conf_push *r = arg;
    if (r->ntargets < LE_CONF_PUSH_TARGETS_MAX)
        r->targets[r->ntargets++] = le_xstrndup(t, n);
}

/* live_push: one more rule after the file's. */
static void overlay_push(le_conf_domain *cf, const le_jv *a)
{
    const char *v = le_jv_get_str(a, "target");
    if (!v)
        return;
    le_conf_push *r = le_conf_push_new();
    r->from_api = 1;
    if (each_target(v, add_target, r) <= 0) {
        le_conf_push_free(r);
        return;
    }
    if ((v = le_jv_get_str(a, "app")) && *v)
        r->app = le_xstrdup(v);
    if ((v = le_jv_get_str(a, "sign_type")))
        r->sign_type = auth_type_of(v);
    if ((v = le_jv_get_str(a, "sign_key")) && *v)
        r->sign_key = le_xstrdup(v);
    if ((v = le_jv_get_str(a, "sign_validity")))
        r->sign_validity_s = strtoll(v, NULL, 10);
    le_conf_push **tail = &cf->push;
    while (*tail)
        tail = &(*tail)->next;
    *tail = r;
}

void le_domaincfg_overlay(le_conf_domain *cf, const le_jv *records)
{
    for (const le_jv *r = records ? records->first : NULL; r; r = r->next) {
        const le_jv *a = le_jv_get(r, "Args");
        const char *v;
        if (strcmp(r->key, "aliauth") == 0) {
            if ((v = le_jv_get_str(a, "auth_type")))
                cf->auth_type = auth_type_of(v);
            if ((v = le_jv_get_str(a, "auth_key1")))
                set_s(&cf->auth_key1, v);
            if ((v = le_jv_get_str(a, "auth_key2")))
                set_s(&cf->auth_key2, v);
            if ((v = le_jv_get_str(a, "ali_auth_delta")))
                cf->auth_delta_s = strtoll(v, NULL, 10);
        } else if (strcmp(r->key, "alilive") == 0) {
            if ((v = le_jv_get_str(a, "notify_url")))
                set_s(&cf->notify_url, v);
            if ((v = le_jv_get_str(a, "notify_auth_key")))
                set_s(&cf->notify_auth_key, v);
            if ((v = le_jv_get_str(a, "enable")))
                cf->notify_enable = strcmp(v, "off") != 0;
        } else if (strcmp(r->key, "ip_black_list_set") == 0) {
            set_s(&cf->ip_black_list, le_jv_get_str(a, "ip_list"));
        } else if (strcmp(r->key, "ip_white_list_set") == 0) {
            set_s(&cf->ip_white_list, le_jv_get_str(a, "ip_list"));
        } else if (strcmp(r->key, "referer_white_list_set") == 0) {
            set_s(&cf->referer_white_list, le_jv_get_str(a, "refer_domain_allow_list"));
            if ((v = le_jv_get_str(a, "allow_empty")))
                cf->referer_white_allow_empty = strcmp(v, "off") != 0;
        } else if (strcmp(r->key, "live_push") == 0) {
            overlay_push(cf, a);
        } else if (strcmp(r->key, "https_force") == 0) {
            cf->https_force = (v = le_jv_get_str(a, "enable")) && strcmp(v, "on") == 0;
        } else if (strcmp(r->key, "referer_black_list_set") == 0) {
            set_s(&cf->referer_black_list, le_jv_get_str(a, "refer_domain_deny_list"));
            if ((v = le_jv_get_str(a, "allow_empty")))
                cf->referer_black_allow_empty = strcmp(v, "off") != 0;
        }
    }
}

int le_domaincfg_push_keys(const le_conf_domain *cf, const char *push_domain, le_aliauth_keys *k)
{
    int own = 0;
    if (!push_domain || !*push_domain)
        return 0;
    if (cf->push_auth_set) {
        k->type = cf->push_auth_type;
        k->key1 = cf->push_auth_key1;
        k->key2 = cf->push_auth_key2;
        k->delta_s = cf->push_auth_delta_s;
        own = 1;
    }
    le_domain *pd = le_domain_get(push_domain);
    const le_jv *rec = pd && pd->edge ? le_jv_get(pd->functions, "aliauth") : NULL;
    const le_jv *a = rec ? le_jv_get(rec, "Args") : NULL;
    if (!a)
        return own;
    const char *v;
    if ((v = le_jv_get_str(a, "auth_type")))
        k->type = auth_type_of(v);
    if ((v = le_jv_get_str(a, "auth_key1")))
        k->key1 = v;
    if ((v = le_jv_get_str(a, "auth_key2")))
        k->key2 = v;
    if ((v = le_jv_get_str(a, "ali_auth_delta")))
        k->delta_s = strtoll(v, NULL, 10);
    return 1;
}

/* ---- records ---- */

const le_jv *le_domaincfg_records(const le_domain *d) { return d->functions; }

static le_jv *records_of(le_domain *d)
{
    if (!d->functions)
        d->functions = le_jv_obj();
    return d->functions;
}

static int remove_member(le_jv *obj, const char *key)
{
    le_jv *prev = NULL;
    for (le_jv *c = obj ? obj->first : NULL; c; prev = c, c = c->next)
        if (strcmp(c->key, key) == 0) {
            if (prev)
                prev->next = c->next;
            else
                obj->first = c->next;
            if (obj->last == c)
                obj->last = prev;
            obj->n--;
            c->next = NULL;
            le_jv_free(c);
            return 1;
        }
    return 0;
}

static void changed(le_domain *d, const char *function, const le_jv *rec)
{
    char key[512];
    le_store_key(key, sizeof(key), "domaincfg:%s", d->name);
    if (rec) {
        le_buf b = { 0 };
        le_jv_to_json(rec, &b);
        le_store_write("HSET %s %s %b", key, function, b.p, b.len);
        le_buf_free(&b);
    } else {
        le_store_write("HDEL %s %s", key, function);
    }
    le_domain_rebuild(d);
    le_control_publish_event("domaincfg %s", d->name);
}

int64_t le_domaincfg_set(le_domain *d, const char *function, le_jv *args, int64_t config_id)
{
    static uint32_t seq;
    if (!config_id) {
        /* Unique across nodes without a Redis round trip: seconds, then a
         * per-process sequence, then a little of the pid. */
        config_id = (le_wall_ms() / 1000) * 100000 + (int64_t)((++seq % 1000) * 100 + (getpid() % 100));
    }
    le_jv *all = records_of(d);
    remove_member(all, function);
    le_jv *rec = le_jv_set_obj(all, function);
    le_jv_set_int(rec, "ConfigId", config_id);
    le_jv_set(rec, "Args", args);
    if (le_domaincfg_enforced(function))
        le_info(MOD, "%s: %s set (ConfigId %" PRId64 ")", d->name, function, config_id);
    else
        le_info(MOD, "%s: %s set (ConfigId %" PRId64 "): stored, not enforced", d->name, function,
                config_id);
    changed(d, function, rec);
    return config_id;
}

int le_domaincfg_delete(le_domain *d, const char *function)
{
    if (!remove_member(d->functions, function))
        return 0;
    le_info(MOD, "%s: %s deleted", d->name, function);
    changed(d, function, NULL);
    return 1;
}

int le_domaincfg_delete_id(le_domain *d, int64_t config_id)
{
    for (le_jv *c = d->functions ? d->functions->first : NULL; c; c = c->next) {
        int64_t id;
        if (le_jv_get_int(c, "ConfigId", &id) == 0 && id == config_id) {
            char fn[128];
            snprintf(fn, sizeof(fn), "%s", c->key);
            return le_domaincfg_delete(d, fn);
        }
    }
    return 0;
}

/* ---- loading ---- */

static void load_cb(redisReply *r, void *arg)
{
    char *name = arg;
    le_domain *d = le_domain_get(name);
    if (r && r->type == REDIS_REPLY_ARRAY && d) {
        le_jv *all = le_jv_obj();
        for (size_t i = 0; i + 1 < r->elements; i += 2) {
            redisReply *k = r->element[i], *v = r->element[i + 1];
            if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING || !le_domaincfg_known(k->str))
                continue;
            le_jv *rec = le_jv_parse(v->str, v->len, 8, NULL, 0);
            if (rec && rec->type == LE_JV_OBJ)
                le_jv_set(all, k->str, rec);
            else
                le_jv_free(rec);
        }
        le_jv_free(d->functions);
        d->functions = all;
        le_domain_rebuild(d);
    }
    free(name);
}

void le_domaincfg_load(const char *domain)
{
    char key[512];
    le_store_key(key, sizeof(key), "domaincfg:%s", domain);
    le_store_cmd(load_cb, le_xstrdup(domain), "HGETALL %s", key);
}

static void ev_domaincfg(const char *kind, const char *arg)
{
    (void)kind;
    if (le_store_connected())
        le_domaincfg_load(arg);
}

void le_domaincfg_init(void)
{
    le_control_on_event("domaincfg", ev_domaincfg);
}
