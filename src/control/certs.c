#include "control/certs.h"
#include "conf/conf.h"
#include "control/domains.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "node.h"
#include "store/store.h"
#include "tls/tls.h"

#include <hiredis/hiredis.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MOD "certs"
#define MAX_BINDINGS 16384          /* domains with a binding */

/* A domain's SSLProtocol and certificate name, and what this node installed
 * for it (the fingerprint and name of the pair now served). */
typedef struct binding {
    char *domain;
    int on;
    char *cert;
    int installed;
    char inst_fp[65];
    char inst_name[LE_CERTS_NAME_MAX + 1];
    struct binding *next;
} binding;

typedef struct cert_node {
    le_cert c;
    struct cert_node *next;
} cert_node;

static cert_node *certs;
static size_t ncerts;
static binding *bindings;
static size_t nbindings;
static const struct le_conf *init_conf;
static int started;

/* ---- the mirror ---- */

static cert_node *cert_find(const char *name)
{
    for (cert_node *n = certs; n; n = n->next)
        if (strcmp(n->c.name, name) == 0)
            return n;
    return NULL;
}

const le_cert *le_cert_get(const char *name)
{
    cert_node *n = cert_find(name);
    return n ? &n->c : NULL;
}

size_t le_certs_count(void) { return ncerts; }

static void cert_free_fields(le_cert *c)
{
    free(c->name);
    free(c->pub);
    free(c->common);
    free(c->issuer);
}

static void cert_remove(const char *name)
{
    for (cert_node **pp = &certs; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->c.name, name) == 0) {
            cert_node *n = *pp;
            *pp = n->next;
            cert_free_fields(&n->c);
            free(n);
            ncerts--;
            return;
        }
}

/* Adds or replaces name's entry; NULL when the mirror is full. */
static le_cert *cert_set(const char *name, const char *pub, size_t pub_len, int64_t id, const char *fp,
                         const char *common, const char *issuer, int64_t last_ms, int64_t created_ms)
{
    cert_node *n = cert_find(name);
    if (!n) {
        if (ncerts >= LE_CERTS_MAX)
            return NULL;
        n = le_xcalloc(1, sizeof(*n));
        n->c.name = le_xstrdup(name);
        n->next = certs;
        certs = n;
        ncerts++;
    }
    le_cert *c = &n->c;
    free(c->pub);
    free(c->common);
    free(c->issuer);
    c->pub = le_xstrndup(pub, pub_len);
    c->pub_len = pub_len;
    c->id = id;
    snprintf(c->fingerprint, sizeof(c->fingerprint), "%s", fp);
    c->common = le_xstrdup(common);
    c->issuer = le_xstrdup(issuer);
    c->last_ms = last_ms;
    c->created_ms = created_ms;
    return c;
}

static int by_id(const void *a, const void *b)
{
    const le_cert *x = *(const le_cert *const *)a, *y = *(const le_cert *const *)b;
    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    return strcmp(x->name, y->name);
}

void le_certs_foreach(le_cert_iter_fn fn, void *arg)
{
    if (!ncerts)
        return;
    const le_cert **v = le_xmalloc(ncerts * sizeof(*v));
    size_t k = 0;
    for (cert_node *n = certs; n && k < ncerts; n = n->next)
        v[k++] = &n->c;
    qsort(v, k, sizeof(*v), by_id);
    for (size_t i = 0; i < k; i++)
        fn(v[i], arg);
    free(v);
}

static binding *binding_find(const char *domain)
{
    for (binding *b = bindings; b; b = b->next)
        if (strcasecmp(b->domain, domain) == 0)
            return b;
    return NULL;
}

const le_cert *le_certs_bound(const char *domain, const char **name)
{
    binding *b = binding_find(domain);
    if (name)
        *name = b && b->on ? b->cert : NULL;
    if (!b || !b->on || !b->cert)
        return NULL;
    return le_cert_get(b->cert);
}

int le_certs_bound_elsewhere(const char *name, const char *except)
{
    for (binding *b = bindings; b; b = b->next)
        if (b->on && b->cert && strcmp(b->cert, name) == 0 && (!except || strcasecmp(b->domain, except) != 0))
            return 1;
    return 0;
}

static binding *binding_get(const char *domain)
{
    binding *b = binding_find(domain);
    if (b || nbindings >= MAX_BINDINGS)
        return b;
    b = le_xcalloc(1, sizeof(*b));
    b->domain = le_xstrdup(domain);
    b->next = bindings;
    bindings = b;
    nbindings++;
    return b;
}

static void binding_uninstall(binding *b)
{
    if (!b->installed)
        return;
    le_tls_uninstall(b->domain);
    b->installed = 0;
    b->inst_fp[0] = '\0';
    b->inst_name[0] = '\0';
    le_info(MOD, "domain %s: the API certificate is no longer served", b->domain);
}

static void binding_remove(const char *domain)
{
    for (binding **pp = &bindings; *pp; pp = &(*pp)->next)
        if (strcasecmp((*pp)->domain, domain) == 0) {
            binding *b = *pp;
            *pp = b->next;
            binding_uninstall(b);
            free(b->domain);
            free(b->cert);
            free(b);
            nbindings--;
            return;
        }
}

/* ---- installing ---- */

static const char *key_secret(void)
{
    const le_conf *c = le_node_conf();
    if (!c)
        c = init_conf;
    return c && c->tls_key_secret && *c->tls_key_secret ? c->tls_key_secret : NULL;
}

/* Serves c for b's domain, unsealing the key (sealed, as Redis holds it)
 * just for the install; nothing when that pair is served already. */
static void install(binding *b, const le_cert *c, const char *sealed)
{
    if (b->installed && strcmp(b->inst_fp, c->fingerprint) == 0 && strcmp(b->inst_name, c->name) == 0)
        return;
    const char *secret = key_secret();
    if (!secret) {
        le_warn(MOD, "certificate %s not served: tls_key_secret is not set", c->name);
        return;
    }
    char *key = NULL;
    size_t klen = 0;
    if (le_tls_unseal(secret, sealed, &key, &klen) != LE_OK) {
        le_warn(MOD, "certificate %s not served: its private key does not unseal with this node's "
                "tls_key_secret", c->name);
        return;
    }
    char err[256] = "";
    int rc = le_tls_install(b->domain, c->pub, c->pub_len, key, klen, err, sizeof(err));
    OPENSSL_cleanse(key, klen);
    free(key);
    if (rc != LE_OK) {
        le_warn(MOD, "certificate %s not served for %s: %s", c->name, b->domain, err);
        return;
    }
    b->installed = 1;
    snprintf(b->inst_fp, sizeof(b->inst_fp), "%s", c->fingerprint);
    snprintf(b->inst_name, sizeof(b->inst_name), "%s", c->name);
    le_info(MOD, "domain %s serves certificate %s", b->domain, c->name);
}

/* Every domain bound on to c gets it. */
static void install_bound(const le_cert *c, const char *sealed)
{
    for (binding *b = bindings; b; b = b->next)
        if (b->on && b->cert && strcmp(b->cert, c->name) == 0)
            install(b, c, sealed);
}

/* c is gone: domains bound to it stop serving it. */
static void uninstall_bound(const char *name)
{
    for (binding *b = bindings; b; b = b->next)
        if (b->installed && strcmp(b->inst_name, name) == 0)
            binding_uninstall(b);
}

/* ---- loading from Redis ---- */

static const redisReply *hfield(const redisReply *r, const char *name)
{
    for (size_t i = 0; i + 1 < r->elements; i += 2)
        if (r->element[i]->type == REDIS_REPLY_STRING && strcmp(r->element[i]->str, name) == 0 &&
            r->element[i + 1]->type == REDIS_REPLY_STRING)
            return r->element[i + 1];
    return NULL;
}

static const char *hstr(const redisReply *r, const char *name)
{
    const redisReply *v = hfield(r, name);
    return v ? v->str : NULL;
}

static int64_t hint(const redisReply *r, const char *name)
{
    const char *v = hstr(r, name);
    return v ? strtoll(v, NULL, 10) : 0;
}

static void cert_loaded(redisReply *r, void *arg)
{
    char *name = arg;
    if (!r) {   /* Redis went away: the next connect reloads everything */
        free(name);
        return;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
        if (cert_find(name)) {
            uninstall_bound(name);
            cert_remove(name);
            le_info(MOD, "certificate %s removed", name);
        }
        free(name);
        return;
    }
    const redisReply *pub = hfield(r, "pub");
    const char *pri = hstr(r, "pri"), *fp = hstr(r, "fp");
    const char *common = hstr(r, "common"), *issuer = hstr(r, "issuer");
    if (!pub || !pri || !fp || strlen(fp) != 64 || pub->len > LE_TLS_MAX_PEM || strlen(pri) > 2 * LE_TLS_MAX_PEM) {
        le_warn(MOD, "certificate %s: its record in Redis is incomplete or too large, ignored", name);
        free(name);
        return;
    }
    le_cert *c = cert_set(name, pub->str, pub->len, hint(r, "id"), fp, common ? common : "", issuer ? issuer : "",
                          hint(r, "last"), hint(r, "created"));
    if (!c)
        le_warn(MOD, "certificate %s ignored: %d certificates stored already", name, LE_CERTS_MAX);
    else
        install_bound(c, pri);
    free(name);
}

static void load_cert(const char *name)
{
    char key[512];
    le_store_key(key, sizeof(key), "cert:%s", name);
    le_store_cmd(cert_loaded, le_xstrdup(name), "HGETALL %s", key);
}

static void binding_loaded(redisReply *r, void *arg)
{
    char *domain = arg;
    if (!r) {
        free(domain);
        return;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
        binding_remove(domain);
        free(domain);
        return;
    }
    const char *ssl = hstr(r, "ssl"), *name = hstr(r, "cert");
    binding *b = binding_get(domain);
    if (!b) {
        le_warn(MOD, "domain %s: certificate binding ignored (%d bindings already)", domain, MAX_BINDINGS);
        free(domain);
        return;
    }
    b->on = ssl && strcmp(ssl, "on") == 0;
    free(b->cert);
    b->cert = name && *name && strlen(name) <= LE_CERTS_NAME_MAX ? le_xstrdup(name) : NULL;
    if (!b->on || !b->cert)
        binding_uninstall(b);
    else if (!b->installed || strcmp(b->inst_name, b->cert) != 0 || !le_cert_get(b->cert) ||
             strcmp(le_cert_get(b->cert)->fingerprint, b->inst_fp) != 0)
        load_cert(b->cert);   /* its key: installed from that answer */
    free(domain);
}

static void load_binding(const char *domain)
{
    char key[512];
    le_store_key(key, sizeof(key), "domaincert:%s", domain);
    le_store_cmd(binding_loaded, le_xstrdup(domain), "HGETALL %s", key);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
static int cmp_case(const void *a, const void *b) { return strcasecmp(*(char *const *)a, *(char *const *)b); }

/* The strings of a SMEMBERS answer, sorted for bsearch; *n of them. */
static const char **reply_sorted(const redisReply *r, int nocase, size_t *n)
{
    const char **v = le_xmalloc((r->elements ? r->elements : 1) * sizeof(*v));
    size_t k = 0;
    for (size_t i = 0; i < r->elements; i++)
        if (r->element[i]->type == REDIS_REPLY_STRING)
            v[k++] = r->element[i]->str;
    if (k)
        qsort(v, k, sizeof(*v), nocase ? cmp_case : cmp_str);
    *n = k;
    return v;
}

static int listed(const char **v, size_t n, const char *s, int nocase)
{
    return n && bsearch(&s, v, n, sizeof(*v), nocase ? cmp_case : cmp_str) != NULL;
}

/* The full sets: what is no longer listed goes, every listed one reloads. */
static void certs_listed(redisReply *r, void *arg)
{
    (void)arg;
    if (!r || r->type != REDIS_REPLY_ARRAY)
        return;
    size_t nv;
    const char **v = reply_sorted(r, 0, &nv);
    for (cert_node *n = certs, *next; n; n = next) {
        next = n->next;
        if (!listed(v, nv, n->c.name, 0)) {
            uninstall_bound(n->c.name);
            cert_remove(n->c.name);
        }
    }
    free(v);
    for (size_t i = 0; i < r->elements; i++)
        if (r->element[i]->type == REDIS_REPLY_STRING && r->element[i]->len <= LE_CERTS_NAME_MAX)
            load_cert(r->element[i]->str);
}

static void bindings_listed(redisReply *r, void *arg)
{
    (void)arg;
    if (!r || r->type != REDIS_REPLY_ARRAY)
        return;
    size_t nv;
    const char **v = reply_sorted(r, 1, &nv);
    for (binding *b = bindings, *next; b; b = next) {
        next = b->next;
        if (!listed(v, nv, b->domain, 1))
            binding_remove(b->domain);
    }
    free(v);
    for (size_t i = 0; i < r->elements; i++)
        if (r->element[i]->type == REDIS_REPLY_STRING && r->element[i]->len < 300)
            load_binding(r->element[i]->str);
}

static void store_event(int connected, void *arg)
{
    (void)arg;
    if (!connected)
        return;
    char key[256];
    le_store_cmd(certs_listed, NULL, "SMEMBERS %s", le_store_key(key, sizeof(key), "certs"));
    le_store_cmd(bindings_listed, NULL, "SMEMBERS %s", le_store_key(key, sizeof(key), "domaincerts"));
}

static void ev_cert(const char *kind, const char *arg)
{
    (void)kind;
    if (*arg && strlen(arg) <= LE_CERTS_NAME_MAX && le_store_connected())
        load_cert(arg);
}

static void ev_domaincert(const char *kind, const char *arg)
{
    (void)kind;
    if (*arg && strlen(arg) < 300 && le_store_connected())
        load_binding(arg);
}

/* ---- changes ---- */

/* Stores the pair and its binding in one step: a new CertId only for a new
 * name. KEYS: cert:NAME, certs, cert:id, domaincert:DOMAIN, domaincerts.
 * ARGV: name, pub, sealed key, fp, common, issuer, last, created, domain. */
static const char STORE_LUA[] =
    "local id = redis.call('HGET', KEYS[1], 'id') "
    "if not id then id = redis.call('INCR', KEYS[3]) end "
    "redis.call('HSET', KEYS[1], 'pub', ARGV[2], 'pri', ARGV[3], 'id', id, 'fp', ARGV[4], "
    "'common', ARGV[5], 'issuer', ARGV[6], 'last', ARGV[7], 'created', ARGV[8]) "
    "redis.call('SADD', KEYS[2], ARGV[1]) "
    "redis.call('HSET', KEYS[4], 'ssl', 'on', 'cert', ARGV[1]) "
    "redis.call('SADD', KEYS[5], ARGV[9]) "
    "return tonumber(id)";

/* KEYS: cert:NAME, domaincert:DOMAIN, domaincerts. ARGV: on|off, name ("":
 * keep), domain. 0 when on names no stored certificate. */
static const char BIND_LUA[] =
    "if ARGV[1] == 'on' and redis.call('EXISTS', KEYS[1]) == 0 then return 0 end "
    "redis.call('HSET', KEYS[2], 'ssl', ARGV[1]) "
    "if ARGV[2] ~= '' then redis.call('HSET', KEYS[2], 'cert', ARGV[2]) end "
    "redis.call('SADD', KEYS[3], ARGV[3]) "
    "return 1";

typedef struct change {
    char *name, *domain, *pub, *sealed;
    size_t pub_len;
    int on;
    char fp[65], common[256], issuer[256];
    int64_t last_ms, created_ms;
    le_certs_done_fn done;
    void *arg;
} change;

static void change_free(change *c)
{
    free(c->name);
    free(c->domain);
    free(c->pub);
    free(c->sealed);
    free(c);
}

static void bind_local(const char *domain, int on, const char *name)
{
    binding *b = binding_get(domain);
    if (!b)
        return;
    b->on = on;
    if (name && *name) {
        free(b->cert);
        b->cert = le_xstrdup(name);
    }
    if (!b->on)
        binding_uninstall(b);
}

static void stored(redisReply *r, void *arg)
{
    change *c = arg;
    if (!r || r->type != REDIS_REPLY_INTEGER) {
        le_warn(MOD, "certificate %s for %s: Redis did not store it", c->name, c->domain);
        c->done(LE_EIO, c->arg);
        change_free(c);
        return;
    }
    le_cert *ct = cert_set(c->name, c->pub, c->pub_len, r->integer, c->fp, c->common, c->issuer, c->last_ms,
                           c->created_ms);
    bind_local(c->domain, 1, c->name);
    if (ct)
        install_bound(ct, c->sealed);
    le_info(MOD, "certificate %s stored (CertId %lld) and bound to %s", c->name, (long long)r->integer,
            c->domain);
    le_control_publish_event("cert %s", c->name);
    le_control_publish_event("domaincert %s", c->domain);
    c->done(LE_OK, c->arg);
    change_free(c);
}

int le_certs_store(const char *name, const char *domain, const char *cert_pem, size_t cert_len,
                   const char *key_pem, size_t key_len, const le_tls_info *info, le_certs_done_fn done, void *arg)
{
    const char *secret = key_secret();
    if (!secret)
        return LE_EINVAL;
    char *sealed = NULL;
    int rc = le_tls_seal(secret, key_pem, key_len, &sealed);
    if (rc != LE_OK)
        return rc == LE_ENOMEM ? LE_ENOMEM : LE_EINVAL;
    change *c = le_xcalloc(1, sizeof(*c));
    c->name = le_xstrdup(name);
    c->domain = le_xstrdup(domain);
    c->pub = le_xstrndup(cert_pem, cert_len);
    c->pub_len = cert_len;
    c->sealed = sealed;
    c->on = 1;
    snprintf(c->fp, sizeof(c->fp), "%s", info->fingerprint);
    snprintf(c->common, sizeof(c->common), "%s", info->common);
    snprintf(c->issuer, sizeof(c->issuer), "%s", info->issuer);
    c->last_ms = info->not_after_ms;
    c->created_ms = le_wall_ms();
    c->done = done;
    c->arg = arg;
    char k1[512], k2[256], k3[256], k4[512], k5[256], last[24], created[24];
    le_store_key(k1, sizeof(k1), "cert:%s", name);
    le_store_key(k2, sizeof(k2), "certs");
    le_store_key(k3, sizeof(k3), "cert:id");
    le_store_key(k4, sizeof(k4), "domaincert:%s", domain);
    le_store_key(k5, sizeof(k5), "domaincerts");
    snprintf(last, sizeof(last), "%lld", (long long)c->last_ms);
    snprintf(created, sizeof(created), "%lld", (long long)c->created_ms);
    const char *argv[] = { "EVAL", STORE_LUA, "5", k1, k2, k3, k4, k5, name, c->pub, sealed, c->fp,
                           c->common, c->issuer, last, created, domain };
    size_t argvlen[17];
    for (int i = 0; i < 17; i++)
        argvlen[i] = strlen(argv[i]);
    argvlen[9] = cert_len;
    if (le_store_cmdargv(stored, c, 17, argv, argvlen) != LE_OK) {
        change_free(c);
        return LE_EIO;
    }
    return LE_OK;
}

static void bound(redisReply *r, void *arg)
{
    change *c = arg;
    if (!r || r->type != REDIS_REPLY_INTEGER) {
        c->done(LE_EIO, c->arg);
    } else if (r->integer == 0) {
        c->done(LE_ENOTFOUND, c->arg);
    } else {
        bind_local(c->domain, c->on, c->name);
        if (c->on)
            load_cert(c->name);   /* its key, for the install */
        le_info(MOD, "domain %s: SSLProtocol %s%s%s", c->domain, c->on ? "on" : "off", c->on ? ", certificate " : "",
                c->on ? c->name : "");
        le_control_publish_event("domaincert %s", c->domain);
        c->done(LE_OK, c->arg);
    }
    change_free(c);
}

int le_certs_bind(const char *domain, int on, const char *name, le_certs_done_fn done, void *arg)
{
    change *c = le_xcalloc(1, sizeof(*c));
    c->name = le_xstrdup(name ? name : "");
    c->domain = le_xstrdup(domain);
    c->on = on;
    c->done = done;
    c->arg = arg;
    char k1[512], k2[512], k3[256];
    le_store_key(k1, sizeof(k1), "cert:%s", c->name);
    le_store_key(k2, sizeof(k2), "domaincert:%s", domain);
    le_store_key(k3, sizeof(k3), "domaincerts");
    const char *argv[] = { "EVAL", BIND_LUA, "3", k1, k2, k3, on ? "on" : "off", c->name, domain };
    size_t argvlen[9];
    for (int i = 0; i < 9; i++)
        argvlen[i] = strlen(argv[i]);
    if (le_store_cmdargv(bound, c, 9, argv, argvlen) != LE_OK) {
        change_free(c);
        return LE_EIO;
    }
    return LE_OK;
}

void le_certs_drop_domain(const char *domain)
{
    char key[512];
    le_store_write("DEL %s", le_store_key(key, sizeof(key), "domaincert:%s", domain));
    le_store_write("SREM %s %s", le_store_key(key, sizeof(key), "domaincerts"), domain);
    binding_remove(domain);
    le_control_publish_event("domaincert %s", domain);
}

/* ---- setup ---- */

void le_certs_init(const struct le_conf *conf)
{
    init_conf = conf;
    if (started)
        return;
    started = 1;
    le_control_on_event("cert", ev_cert);
    le_control_on_event("domaincert", ev_domaincert);
    le_store_on_event(store_event, NULL);
    if (le_store_connected())
        store_event(1, NULL);
}

void le_certs_free(void)
{
    while (certs) {
        cert_node *n = certs;
        certs = n->next;
        cert_free_fields(&n->c);
        free(n);
    }
    ncerts = 0;
    while (bindings) {
        binding *b = bindings;
        bindings = b->next;
        free(b->domain);
        free(b->cert);
        free(b);
    }
    nbindings = 0;
    started = 0;
}
