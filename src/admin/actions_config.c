/* Domain configs: BatchSetLiveDomainConfigs, BatchDeleteLiveDomainConfigs,
 * DescribeLiveDomainConfigs, DeleteLiveSpecificConfig (livedge(8)). The
 * functions the node enforces (aliauth, alilive, ip_black_list_set,
 * ip_white_list_set, referer_white_list_set, referer_black_list_set) are
 * checked exactly; any other well-formed one is stored and echoed, not
 * enforced (control/domaincfg.h).
 *
 * Settings belong to play domains; a push domain's functions go to the play
 * domain it maps to (the one whose settings its publishes use), except
 * aliauth, which a push domain keeps as its own publish keys. A request is
 * checked whole before anything changes. */
#include "core/metrics.h"
#include "admin/actions.h"
#include "admin/admin.h"
#include "admin/params.h"
#include "auth/access.h"
#include "control/domaincfg.h"
#include "control/domains.h"
#include "core/err.h"
#include "core/json.h"
#include "core/util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DOMAINS 50        /* DomainNames entries per call */
#define MAX_FUNCTIONS 32      /* Functions entries per call */
#define MAX_ARGS 16           /* functionArgs per function */
#define FUNCTIONS_MAX_BYTES (64 * 1024)

static void malformed_functions(le_admin_req *r)
{
    le_admin_error(r, 400, "InvalidFunctions.Malformed", "Specified Functions is malformed.");
}

static void bad_function_name(le_admin_req *r, const char *name)
{
    char msg[200];
    snprintf(msg, sizeof(msg), "FunctionName %.100s is not supported.", name);
    le_admin_error(r, 400, "InvalidFunctionName.ValueNotSupported", msg);
}

/* The domain whose settings a function set on d changes. */
static le_domain *target_of(le_domain *d, const char *function)
{
    if (d->edge && strcmp(function, "aliauth") == 0)
        return d;
    le_domain *p = le_params_play_domain(d);
    return p ? p : d;
}

/* Calls fn on each item of a comma list, blanks trimmed and empty items
 * skipped, as a C string (cut at 255 bytes; len is the whole item's).
 * Stops at, and returns, the first nonzero fn returns. */
static int each_item(const char *list, int (*fn)(const char *item, size_t len, void *arg), void *arg)
{
    for (const char *p = list; *p;) {
        size_t l = strcspn(p, ",");
        const char *s = p;
        p += l + (p[l] == ',');
        while (l && (*s == ' ' || *s == '\t')) {
            s++;
            l--;
        }
        while (l && (s[l - 1] == ' ' || s[l - 1] == '\t'))
            l--;
        if (l == 0)
            continue;
        char one[256];
        snprintf(one, sizeof(one), "%.*s", (int)(l < sizeof(one) ? l : sizeof(one) - 1), s);
        int rc = fn(one, l, arg);
        if (rc)
            return rc;
    }
    return 0;
}

typedef struct dom_list {
    le_admin_req *r;
    const char *param;
    le_domain **v;
    size_t n;
} dom_list;

static int add_domain(const char *name, size_t len, void *arg)
{
    dom_list *q = arg;
    if (len >= 256 || q->n == MAX_DOMAINS) {
        le_params_invalid(q->r, q->param);
        return LE_EINVAL;
    }
    le_domain *d = le_domain_get(name);
    if (!d) {
        le_admin_error(q->r, 404, "InvalidDomain.NotFound", "The domain provided does not belong to you.");
        return LE_ENOTFOUND;
    }
    for (size_t i = 0; i < q->n; i++)
        if (q->v[i] == d)
            return 0;
    q->v[q->n++] = d;
    return 0;
}

/* A comma list of domains, all known (duplicates merged). Accepts
 * DomainNames and, as the API reference's example does, DomainName. */
static int domain_list(le_admin_req *r, const char *primary, const char *alias, le_domain **out,
                       size_t *n)
{
    const char *name = primary, *v = le_admin_param(r, primary);
    if ((!v || !*v) && alias) {
        v = le_admin_param(r, alias);
        name = alias;
    }
    if (!v || !*v)
        return le_admin_require(r, primary, NULL);
    dom_list q = { r, name, out, 0 };
    int rc = each_item(v, add_domain, &q);
    if (rc != 0)
        return rc;
    if (q.n == 0) {
        le_params_invalid(r, name);
        return LE_EINVAL;
    }
    *n = q.n;
    return 0;
}

/* ---- BatchSetLiveDomainConfigs ---- */

/* functionArgs [{argName, argValue}] -> {argName: "value"}; values are
 * strings ("all argument values are treated as strings"): integers are
 * accepted and written as strings. NULL if malformed. */
static le_jv *args_object(const le_jv *arr)
{
    if (!arr || arr->type != LE_JV_ARR || arr->n > MAX_ARGS)
        return NULL;
    le_jv *o = le_jv_obj();
    for (const le_jv *a = arr->first; a; a = a->next) {
        const char *name = le_jv_get_str(a, "argName");
        const le_jv *val = le_jv_get(a, "argValue");
        char num[32];
        const char *s = NULL;
        if (a->type != LE_JV_OBJ || !name || !*name || !val)
            break;
        if (val->type == LE_JV_STR)
            s = val->s;
        else if (val->type == LE_JV_INT)
            s = (snprintf(num, sizeof(num), "%" PRId64, val->i), num);
        if (!s)
            break;
        le_jv_set_str(o, name, s);
    }
    if (o->n != arr->n) {
        le_jv_free(o);
        return NULL;
    }
    return o;
}

static int config_id_of(const le_jv *f, int64_t *id)
{
    const le_jv *c = le_jv_get(f, "configId");
    *id = 0;
    if (!c || c->type == LE_JV_NULL)
        return 0;
    if (c->type == LE_JV_INT && c->i > 0) {
        *id = c->i;
        return 0;
    }
    if (c->type == LE_JV_STR && *c->s && strlen(c->s) < 19 && strspn(c->s, "0123456789") == strlen(c->s)) {
        *id = strtoll(c->s, NULL, 10);
        return *id > 0 ? 0 : LE_EINVAL;
    }
    return LE_EINVAL;
}

static void batch_set(le_admin_req *r)
{
    le_domain *doms[MAX_DOMAINS];
    size_t nd;
    const char *fs;
    if (domain_list(r, "DomainNames", "DomainName", doms, &nd) != 0 ||
        le_admin_require(r, "Functions", &fs) != 0)
        return;
    size_t fl = strlen(fs);
    le_jv *fns = fl <= FUNCTIONS_MAX_BYTES ? le_jv_parse(fs, fl, 8, NULL, 0) : NULL;
    if (!fns || fns->type != LE_JV_ARR || fns->n == 0 || fns->n > MAX_FUNCTIONS) {
        le_jv_free(fns);
        malformed_functions(r);
        return;
    }
    /* Everything is checked before anything changes. */
    for (const le_jv *f = fns->first; f; f = f->next) {
        const char *fname = le_jv_get_str(f, "functionName");
        int64_t id;
        if (f->type != LE_JV_OBJ || !fname || config_id_of(f, &id) != 0) {
            malformed_functions(r);
            goto out;
        }
        le_jv *args = args_object(le_jv_get(f, "functionArgs"));
        if (!args) {
            if (!le_domaincfg_known(fname))
                bad_function_name(r, fname);
            else
                malformed_functions(r);
            goto out;
        }
        const char *bad = "";
        char msg[200];
        switch (le_domaincfg_validate(fname, args, &bad)) {
        case LE_DCFG_OK:
            break;
        case LE_DCFG_BAD_FUNCTION:
            bad_function_name(r, fname);
            le_jv_free(args);
            goto out;
        case LE_DCFG_BAD_ARG:
            snprintf(msg, sizeof(msg), "ArgName %.100s is not supported.", bad);
            le_admin_error(r, 400, "InvalidArgName.ValueNotSupported", msg);
            le_jv_free(args);
            goto out;
        default:
            le_admin_error(r, 400, "InvalidArgValue.Malformed", "Specified ArgValue is malformed.");
            le_jv_free(args);
            goto out;
        }
        le_jv_free(args);
    }
    if (le_params_store(r) != 0)
        goto out;
    for (size_t i = 0; i < nd; i++)
        for (const le_jv *f = fns->first; f; f = f->next) {
            int64_t id;
            const char *fname = le_jv_get_str(f, "functionName");
            le_domain *t = target_of(doms[i], fname);
            size_t j = 0;
            while (j < i && target_of(doms[j], fname) != t)
                j++;
            if (j < i)
                continue;   /* a push domain and its play domain: set once */
            config_id_of(f, &id);
            le_domaincfg_set(t, fname, args_object(le_jv_get(f, "functionArgs")), id);
        }
    le_admin_reply(r, le_jv_obj());
out:
    le_jv_free(fns);
}

/* ---- BatchDeleteLiveDomainConfigs ---- */

typedef struct fn_check {
    le_admin_req *r;
    size_t n;
} fn_check;

static int check_fn(const char *name, size_t len, void *arg)
{
    fn_check *c = arg;
    (void)len;
    if (!le_domaincfg_known(name)) {
        bad_function_name(c->r, name);
        return LE_EINVAL;
    }
    c->n++;
    return 0;
}

static int delete_fn(const char *name, size_t len, void *arg)
{
    (void)len;
    le_domaincfg_delete(target_of(arg, name), name);
    return 0;
}

static void batch_delete(le_admin_req *r)
{
    le_domain *doms[MAX_DOMAINS];
    size_t nd;
    const char *names;
    if (domain_list(r, "DomainNames", "DomainName", doms, &nd) != 0 ||
        le_admin_require(r, "FunctionNames", &names) != 0)
        return;
    fn_check c = { r, 0 };
    if (each_item(names, check_fn, &c) != 0)
        return;
    if (c.n == 0) {
        le_params_invalid(r, "FunctionNames");
        return;
    }
    if (le_params_store(r) != 0)
        return;
    for (size_t i = 0; i < nd; i++)
        each_item(names, delete_fn, doms[i]);
    le_admin_reply(r, le_jv_obj());
}

/* ---- DescribeLiveDomainConfigs ---- */

static int same_name(const char *item, size_t len, void *fn)
{
    return len == strlen(fn) && strcmp(item, fn) == 0;
}

/* fn is in the list, or no list was given. */
static int wanted(const char *list, const char *fn)
{
    return !list || !*list || each_item(list, same_name, (void *)fn);
}

/* Records of d's target for functions other than aliauth, then its own
 * aliauth: for a play domain both are its own; for a push domain the play
 * domain's functions and the push domain's own keys. */
static void describe_records(le_jv *arr, le_domain *d, const char *names, int aliauth)
{
    const le_jv *recs = le_domaincfg_records(target_of(d, aliauth ? "aliauth" : ""));
    for (const le_jv *rec = recs ? recs->first : NULL; rec; rec = rec->next) {
        if (!wanted(names, rec->key) || (strcmp(rec->key, "aliauth") == 0) != aliauth)
            continue;
        int64_t id = 0;
        le_jv_get_int(rec, "ConfigId", &id);
        le_jv *o = le_jv_push_obj(arr);
        le_jv_set_int(o, "ConfigId", id);
        le_jv_set_str(o, "FunctionName", rec->key);
        le_jv_set_str(o, "Status", "success");
        le_jv *fa = le_jv_set_arr(le_jv_set_obj(o, "FunctionArgs"), "FunctionArg");
        const le_jv *args = le_jv_get(rec, "Args");
        for (const le_jv *a = args ? args->first : NULL; a; a = a->next) {
            if (a->type != LE_JV_STR)
                continue;
            le_jv *p = le_jv_push_obj(fa);
            char masked[16];
            le_jv_set_str(p, "ArgName", a->key);
            /* The callback signing key is not echoed in clear, as in
             * DescribeLiveStreamsNotifyUrlConfig. */
            if (strcmp(rec->key, "alilive") == 0 && strcmp(a->key, "notify_auth_key") == 0)
                le_jv_set_str(p, "ArgValue", le_params_mask_secret(a->s, masked, sizeof(masked)));
            else
                le_jv_set_str(p, "ArgValue", a->s);
        }
    }
}

static void describe(le_admin_req *r)
{
    le_domain *d;
    if (le_params_domain(r, "DomainName", &d) != 0)
        return;
    const char *names = le_admin_param(r, "FunctionNames");
    if (names && *names) {
        fn_check c = { r, 0 };
        if (each_item(names, check_fn, &c) != 0)
            return;
    }
    le_jv *body = le_jv_obj();
    le_jv *arr = le_jv_set_arr(le_jv_set_obj(body, "DomainConfigs"), "DomainConfig");
    describe_records(arr, d, names, 0);
    describe_records(arr, d, names, 1);
    le_admin_reply(r, body);
}

/* ---- DeleteLiveSpecificConfig ---- */

static void delete_specific(le_admin_req *r)
{
    le_domain *doms[MAX_DOMAINS];
    size_t nd;
    const char *ids;
    if (domain_list(r, "DomainName", NULL, doms, &nd) != 0 || le_admin_require(r, "ConfigId", &ids) != 0)
        return;
    char *end;
    long long id = strtoll(ids, &end, 10);
    if (*end || id <= 0 || strlen(ids) > 18) {
        le_params_invalid(r, "ConfigId");
        return;
    }
    if (le_params_store(r) != 0)
        return;
    int found = 0;
    for (size_t i = 0; i < nd; i++) {
        le_domain *play = target_of(doms[i], "");
        found += le_domaincfg_delete_id(play, id);
        if (play != doms[i])
            found += le_domaincfg_delete_id(doms[i], id);
    }
    if (!found) {
        le_admin_error(r, 404, "InvalidConfigId.NotFound", "The specified ConfigId does not exist.");
        return;
    }
    le_admin_reply(r, le_jv_obj());
}

/* ---- metrics ---- */

static void metrics(le_buf *out)
{
    const le_access_stats *s = le_access_stats_get();
    le_buf_printf(out,
                  "# HELP livedge_auth_refusals_total Publishes and plays refused by access control, by step.\n"
                  "# TYPE livedge_auth_refusals_total counter\n"
                  "livedge_auth_refusals_total{step=\"ip\"} %" PRIu64 "\n"
                  "livedge_auth_refusals_total{step=\"referer\"} %" PRIu64 "\n"
                  "livedge_auth_refusals_total{step=\"offline\"} %" PRIu64 "\n"
                  "livedge_auth_refusals_total{step=\"signature\"} %" PRIu64 "\n",
                  s->ip, s->referer, s->offline, s->auth);
}

void le_actions_config_register(void)
{
    le_admin_register("BatchSetLiveDomainConfigs", batch_set);
    le_admin_register("BatchDeleteLiveDomainConfigs", batch_delete);
    le_admin_register("DescribeLiveDomainConfigs", describe);
    le_admin_register("DeleteLiveSpecificConfig", delete_specific);
    le_metrics_add(metrics);
}
