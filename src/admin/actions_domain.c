#define _GNU_SOURCE
/* Domain management (API reference chapter 4): AddLiveDomain,
 * DeleteLiveDomain, DescribeLiveUserDomains, DescribeLiveDomainDetail,
 * StartLiveDomain, StopLiveDomain, AddLiveDomainMapping,
 * DeleteLiveDomainMapping. DescribeLiveDomainDetail's SSLProtocol, SSLPub
 * and CertName come from control/certs.h. */
#include "admin/actions.h"
#include "admin/admin.h"
#include "admin/params.h"
#include "core/err.h"
#include "control/certs.h"
#include "control/domains.h"
#include "core/util.h"
#include "node.h"
#include "tls/tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A host name, or a wildcard ".a.com" (a leading dot, then a name with at
 * least two labels). */
static int host_valid(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 253)
        return 0;
    if (s[0] == '.' && !strchr(s + 1, '.'))
        return 0;
    if (s[n - 1] == '.' || s[n - 1] == '-')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-'))
            return 0;
    }
    return strstr(s, "..") == NULL;
}

/* SSLProtocol, SSLPub, CertName: the certificate SetLiveDomainCertificate
 * bound on, else the domain block's ssl_certificate file (no CertName),
 * else off. */
static void describe_ssl(le_jv *o, const le_domain *d)
{
    const char *name = NULL;
    const le_cert *c = le_certs_bound(d->name, &name);
    if (c || name) {
        le_jv_set_str(o, "SSLProtocol", "on");
        le_jv_set_str(o, "SSLPub", c ? c->pub : "");
        le_jv_set_str(o, "CertName", name);
        return;
    }
    char *pem = NULL;
    if (d->cf && d->cf->ssl_certificate) {
        FILE *f = fopen(d->cf->ssl_certificate, "rb");
        if (f) {
            pem = le_xmalloc(LE_TLS_MAX_PEM + 1);
            size_t n = fread(pem, 1, LE_TLS_MAX_PEM, f);
            pem[n] = '\0';
            fclose(f);
        }
    }
    le_jv_set_str(o, "SSLProtocol", pem ? "on" : "off");
    le_jv_set_str(o, "SSLPub", pem ? pem : "");
    le_jv_set_str(o, "CertName", "");
    free(pem);
}

static void describe(le_jv *o, const le_domain *d, int detail)
{
    char cr[21], mo[21];
    le_jv_set_str(o, "DomainName", d->name);
    le_jv_set_str(o, "Cname", le_node_conf()->node_name);
    le_jv_set_str(o, "LiveDomainType", d->edge ? "liveEdge" : "liveVideo");
    le_jv_set_str(o, "GmtCreated", le_fmt_utc(d->created_ms, cr));
    le_jv_set_str(o, "GmtModified", le_fmt_utc(d->modified_ms, mo));
    le_jv_set_str(o, "Description", d->description ? d->description : "");
    if (detail) {
        le_jv_set_str(o, "DomainStatus", d->online ? "online" : "offline");
        le_jv_set_str(o, "Region", d->region);
        le_jv_set_str(o, "Scope", d->scope);
        describe_ssl(o, d);
    } else {
        le_jv_set_str(o, "LiveDomainStatus", d->online ? "online" : "offline");
        le_jv_set_str(o, "RegionName", d->region);
    }
}

static void add_domain(le_admin_req *r)
{
    static const char *const types[] = { "liveVideo", "liveEdge", NULL };
    static const char *const scopes[] = { "domestic", "overseas", "global", NULL };
    /* The regions the API reference lists for AddLiveDomain. */
    static const char *const regions[] = { "cn-beijing", "cn-shanghai", "ap-southeast-1", NULL };
    const char *name, *type, *region, *scope;
    if (le_admin_require(r, "DomainName", &name) != 0 ||
        le_admin_require(r, "LiveDomainType", &type) != 0 ||
        le_admin_require(r, "Region", &region) != 0 ||
        le_params_enum(r, "LiveDomainType", types, NULL, &type) != 0 ||
        le_params_enum(r, "Scope", scopes, "domestic", &scope) != 0)
        return;
    if (!host_valid(name)) {
        le_params_invalid(r, "DomainName");
        return;
    }
    if (le_params_enum(r, "Region", regions, NULL, &region) != 0)
        return;
    if (le_params_store(r) != 0)
        return;
    if (le_domain_get(name)) {
        le_admin_error(r, 400, "DomainAlreadyExist", "The specified domain already exists.");
        return;
    }
    le_domain_add(name, strcmp(type, "liveEdge") == 0, region, scope, le_admin_param(r, "CheckUrl"));
    le_admin_reply(r, le_jv_obj());
}

static void delete_domain(le_admin_req *r)
{
    le_domain *d;
    if (le_params_domain(r, "DomainName", &d) != 0 || le_params_store(r) != 0)
        return;
    le_certs_drop_domain(d->name);
    le_domain_delete(d);
    le_admin_reply(r, le_jv_obj());
}

static void set_online(le_admin_req *r, int online)
{
    le_domain *d;
    if (le_params_domain(r, "DomainName", &d) != 0 || le_params_store(r) != 0)
        return;
    le_domain_set_online(d, online);
    le_admin_reply(r, le_jv_obj());
}

static void start_domain(le_admin_req *r) { set_online(r, 1); }
static void stop_domain(le_admin_req *r) { set_online(r, 0); }

static void domain_detail(le_admin_req *r)
{
    le_domain *d;
    if (le_params_domain(r, "DomainName", &d) != 0)
        return;
    le_jv *body = le_jv_obj();
    describe(le_jv_set_obj(body, "DomainDetail"), d, 1);
    le_admin_reply(r, body);
}

typedef struct udq {
    const char *name, *search, *status, *type, *region;
    le_domain **v;
    size_t n, cap;
} udq;

static int name_match(const char *dn, const char *pat, const char *how)
{
    char p[300];
    size_t o = 0;
    for (const char *s = pat; *s && o + 1 < sizeof(p); s++)
        if (*s != '*')
            p[o++] = *s;
    p[o] = '\0';
    size_t dl = strlen(dn), pl = strlen(p);
    if (strcmp(how, "full_match") == 0)
        return strcasecmp(dn, p) == 0;
    if (strcmp(how, "pre_match") == 0)
        return strncasecmp(dn, p, pl) == 0;
    if (strcmp(how, "suf_match") == 0)
        return dl >= pl && strcasecmp(dn + dl - pl, p) == 0;
    return strcasestr(dn, p) != NULL;
}

static void collect(le_domain *d, void *arg)
{
    udq *q = arg;
    if (q->name && *q->name && !name_match(d->name, q->name, q->search))
        return;
    if (q->status && strcmp(q->status, d->online ? "online" : "offline") != 0)
        return;
    if (q->type && strcmp(q->type, d->edge ? "liveEdge" : "liveVideo") != 0)
        return;
    if (q->region && *q->region && strcmp(q->region, d->region) != 0)
        return;
    if (q->n == q->cap) {
        q->cap = q->cap ? q->cap * 2 : 16;
        q->v = le_xrealloc(q->v, q->cap * sizeof(*q->v));
    }
    q->v[q->n++] = d;
}

static int by_created(const void *a, const void *b)
{
    const le_domain *x = *(le_domain *const *)a, *y = *(le_domain *const *)b;
    if (x->created_ms != y->created_ms)
        return x->created_ms < y->created_ms ? -1 : 1;
    return strcmp(x->name, y->name);
}

static void user_domains(le_admin_req *r)
{
    static const char *const searches[] = { "fuzzy_match", "pre_match", "suf_match", "full_match", NULL };
    static const char *const statuses[] = { "online", "offline", "configuring", NULL };
    static const char *const types[] = { "liveVideo", "liveEdge", NULL };
    udq q = { 0 };
    int64_t num, size;
    q.name = le_admin_param(r, "DomainName");
    q.region = le_admin_param(r, "RegionName");
    if (le_params_enum(r, "DomainSearchType", searches, "fuzzy_match", &q.search) != 0 ||
        le_params_enum(r, "DomainStatus", statuses, NULL, &q.status) != 0 ||
        le_params_enum(r, "LiveDomainType", types, NULL, &q.type) != 0 ||
        le_params_page(r, 100000, 3000, 2000, &num, &size) != 0)
        return;
    le_domains_foreach(collect, &q);
    if (q.n)    /* q.v is NULL when nothing matched: qsort(NULL, 0) is UB */
        qsort(q.v, q.n, sizeof(*q.v), by_created);
    le_jv *body = le_jv_obj();
    le_jv_set_int(body, "PageNumber", num);
    le_jv_set_int(body, "PageSize", size);
    le_jv_set_int(body, "TotalCount", (int64_t)q.n);
    le_jv *arr = le_jv_set_arr(le_jv_set_obj(body, "Domains"), "PageData");
    for (int64_t i = (num - 1) * size; i < (int64_t)q.n && i < num * size; i++)
        describe(le_jv_push_obj(arr), q.v[i], 0);
    free(q.v);
    le_admin_reply(r, body);
}

/* Mapping: PushDomain must be a liveEdge domain, PullDomain a liveVideo one. */
static int mapping_params(le_admin_req *r, le_domain **push, le_domain **pull)
{
    const char *pu, *pl;
    if (le_admin_require(r, "PushDomain", &pu) != 0 || le_admin_require(r, "PullDomain", &pl) != 0)
        return LE_EINVAL;
    *push = le_domain_get(pu);
    *pull = le_domain_get(pl);
    if (!*push) {
        le_admin_error(r, 400, "InvalidPushDomain.Miss", "The specified value of parameter PushDomain is miss.");
        return LE_EINVAL;
    }
    if (!*pull) {
        le_admin_error(r, 400, "InvalidPullDomain.Miss", "The specified value of parameter PullDomain is miss.");
        return LE_EINVAL;
    }
    if (!(*push)->edge || (*pull)->edge) {
        le_admin_error(r, 400, "DomainType.Malformed", "Your domain type is not live type.");
        return LE_EINVAL;
    }
    return le_params_store(r);
}

static void add_mapping(le_admin_req *r)
{
    le_domain *push, *pull;
    if (mapping_params(r, &push, &pull) != 0)
        return;
    le_domain_set_play(push, pull->name);
    le_admin_reply(r, le_jv_obj());
}

static void delete_mapping(le_admin_req *r)
{
    le_domain *push, *pull;
    if (mapping_params(r, &push, &pull) != 0)
        return;
    if (push->play && strcasecmp(push->play, pull->name) == 0)
        le_domain_set_play(push, NULL);
    le_admin_reply(r, le_jv_obj());
}

void le_actions_domain_register(void)
{
    le_admin_register("AddLiveDomain", add_domain);
    le_admin_register("DeleteLiveDomain", delete_domain);
    le_admin_register("StartLiveDomain", start_domain);
    le_admin_register("StopLiveDomain", stop_domain);
    le_admin_register("DescribeLiveDomainDetail", domain_detail);
    le_admin_register("DescribeLiveUserDomains", user_domains);
    le_admin_register("AddLiveDomainMapping", add_mapping);
    le_admin_register("DeleteLiveDomainMapping", delete_mapping);
}
