#include "control/domains.h"
#include "control/blocklist.h"
#include "control/domaincfg.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "store/store.h"

#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MOD "domains"
#define MAX_EVENT_KINDS 32

static le_domain *domains;
static struct { const char *kind; le_control_event_fn fn; } handlers[MAX_EVENT_KINDS];
static int nhandlers;

/* ---- settings ---- */

/* Settings objects are shared with live connections that resolved a domain
 * earlier, so replaced ones are retired until exit rather than freed. */
typedef struct retired_cf { le_conf_domain *cf; struct retired_cf *next; } retired_cf;
static retired_cf *retired;

static void cf_retire(le_conf_domain *c)
{
    if (!c)
        return;
    retired_cf *r = le_xmalloc(sizeof(*r));
    r->cf = c;
    r->next = retired;
    retired = r;
}

/* ---- the mirror ---- */

le_domain *le_domain_get(const char *name)
{
    for (le_domain *d = domains; d; d = d->next)
        if (strcasecmp(d->name, name) == 0)
            return d;
    return NULL;
}

static void set_str(char **slot, const char *v)
{
    free(*slot);
    *slot = v ? le_xstrdup(v) : NULL;
}

static le_domain *mirror_add(const char *name, int edge)
{
    le_domain *d = le_xcalloc(1, sizeof(*d));
    d->name = le_xstrdup(name);
    d->edge = edge;
    d->online = 1;
    d->region = le_xstrdup("cn-shanghai");
    d->scope = le_xstrdup("domestic");
    d->created_ms = d->modified_ms = le_wall_ms();
    if (!edge)
        d->cf = le_conf_domain_new(name);
    d->next = domains;
    domains = d;
    return d;
}

static void mirror_free(le_domain *d)
{
    le_jv_free(d->functions);
    free(d->name);
    free(d->region);
    free(d->scope);
    free(d->check_url);
    free(d->description);
    free(d->play);
    cf_retire(d->cf);
    free(d);
}

static void mirror_remove(le_domain *d)
{
    for (le_domain **pp = &domains; *pp; pp = &(*pp)->next)
        if (*pp == d) {
            *pp = d->next;
            mirror_free(d);
            return;
        }
}

/* ---- persistence ---- */

static void persist(const le_domain *d)
{
    char key[512], set[256], cr[21], mo[21];
    le_store_key(key, sizeof(key), "domain:%s", d->name);
    le_store_key(set, sizeof(set), "domains");
    le_store_write("HSET %s DomainName %s LiveDomainType %s Region %s Scope %s DomainStatus %s "
                   "GmtCreated %s GmtModified %s CheckUrl %s Description %s PlayDomain %s Source %s",
                   key, d->name, d->edge ? "liveEdge" : "liveVideo", d->region, d->scope,
                   d->online ? "online" : "offline", le_fmt_utc(d->created_ms, cr),
                   le_fmt_utc(d->modified_ms, mo), d->check_url ? d->check_url : "",
                   d->description ? d->description : "", d->play ? d->play : "",
                   d->from_file ? "file" : "api");
    le_store_write("SADD %s %s", set, d->name);
}

static void changed(le_domain *d)
{
    d->modified_ms = le_wall_ms();
    persist(d);
    le_control_publish_event("domain %s", d->name);
}

le_domain *le_domain_add(const char *name, int edge, const char *region, const char *scope,
                         const char *check_url)
{
    le_domain *d = mirror_add(name, edge);
    set_str(&d->region, region);
    if (scope)
        set_str(&d->scope, scope);
    set_str(&d->check_url, check_url);
    le_info(MOD, "domain %s added (%s)", name, edge ? "liveEdge" : "liveVideo");
    changed(d);
    return d;
}

/* Deletes bitrate:{domain}/{app/stream} and usernum:{domain}/{app/stream}
 * of every stream listed in KEYS (the sampled zset, and the set older
 * versions wrote), then KEYS. ARGV: the key prefix, the domain. */
static const char drop_samples_lua[] =
    "for _, k in ipairs(KEYS) do "
    "local t = redis.call('TYPE', k)['ok'] "
    "local m = {} "
    "if t == 'zset' then m = redis.call('ZRANGE', k, 0, -1) "
    "elseif t == 'set' then m = redis.call('SMEMBERS', k) end "
    "for _, s in ipairs(m) do "
    "redis.call('DEL', ARGV[1] .. 'bitrate:' .. ARGV[2] .. '/' .. s, "
    "ARGV[1] .. 'usernum:' .. ARGV[2] .. '/' .. s) end "
    "redis.call('DEL', k) end "
    "return 0";

/* Every record of a domain in Redis but its time-shift index, which the
 * retention sweep removes (man livedge.8, ADMIN API). */
static void drop_records(const char *name, int play)
{
    char key[512], key2[512], prefix[128];
    le_store_key(key, sizeof(key), "domain:%s", name);
    le_store_write("DEL %s", key);
    le_store_key(key, sizeof(key), "domaincfg:%s", name);   /* functions, notify config */
    le_store_write("DEL %s", key);
    if (!play)
        return;   /* a push domain's streams, forbids and history are its play domain's */
    le_store_key(key, sizeof(key), "pubhist:%s", name);
    le_store_write("DEL %s", key);
    le_store_key(key, sizeof(key), "ctlhist:%s", name);
    le_store_write("DEL %s", key);
    le_store_key(key, sizeof(key), "sampled:%s", name);
    le_store_key(key2, sizeof(key2), "samples:%s", name);
    le_store_key(prefix, sizeof(prefix), "%s", "");
    le_store_write("EVAL %s 2 %s %s %s %s", drop_samples_lua, key, key2, prefix, name);
    le_blocklist_drop_domain(name);
}

void le_domain_delete(le_domain *d)
{
    char set[256], name[256];
    snprintf(name, sizeof(name), "%s", d->name);
    le_store_key(set, sizeof(set), "domains");
    drop_records(name, !d->edge);
    le_store_write("SREM %s %s", set, name);
    /* Push domains mapped onto it lose their mapping. */
    for (le_domain *o = domains; o; o = o->next)
        if (o->edge && o->play && strcasecmp(o->play, name) == 0) {
            set_str(&o->play, NULL);
            changed(o);
        }
    mirror_remove(d);
    le_info(MOD, "domain %s deleted", name);
    le_control_publish_event("domain %s", name);
}

void le_domain_set_online(le_domain *d, int online)
{
    d->online = online;
    le_info(MOD, "domain %s %s", d->name, online ? "started" : "stopped");
    changed(d);
}

void le_domain_set_play(le_domain *push, const char *play)
{
    set_str(&push->play, play);
    changed(push);
}

void le_domains_foreach(le_domain_iter_fn fn, void *arg)
{
    for (le_domain *d = domains, *n; d; d = n) {
        n = d->next;
        fn(d, arg);
    }
}

static const le_conf *file_conf;

void le_domain_rebuild(le_domain *d)
{
    if (d->edge)
        return;
    const le_conf_domain *f = NULL;
    for (const le_conf_domain *c = file_conf ? file_conf->domains : NULL; c; c = c->next)
        if (strcasecmp(c->name, d->name) == 0)
            f = c;
    le_conf_domain *cf = f ? le_conf_domain_copy(f) : le_conf_domain_new(d->name);
    le_domaincfg_overlay(cf, d->functions);
    cf_retire(d->cf);
    d->cf = cf;
}

/* ---- resolution ---- */

static const le_conf_domain *play_of(le_domain *d, int *is_push, int *offline)
{
    if (!d->edge) {
        *offline = !d->online;
        return d->cf;
    }
    le_domain *p = d->play ? le_domain_get(d->play) : NULL;
    if (!p || p->edge)
        return NULL;
    *is_push = 1;
    *offline = !d->online || !p->online;
    return p->cf;
}

le_domain *le_domain_match(const char *host)
{
    le_domain *d = le_domain_get(host), *best = NULL;
    if (d)
        return d;
    /* Wildcards: ".a.com" serves every name below a.com; the longest wins. */
    size_t hl = strlen(host), bl = 0;
    for (d = domains; d; d = d->next) {
        size_t nl = strlen(d->name);
        if (d->name[0] == '.' && hl > nl && nl > bl && strcasecmp(host + hl - nl, d->name) == 0) {
            best = d;
            bl = nl;
        }
    }
    return best;
}

static const le_conf_domain *lookup(const char *host, int *is_push, int *offline)
{
    le_domain *d = le_domain_match(host);
    if (d)
        return play_of(d, is_push, offline);
    /* A file block's push_domain without a domain record of its own. */
    for (le_domain *p = domains; p; p = p->next)
        if (!p->edge && p->cf->push_domain && strcasecmp(p->cf->push_domain, host) == 0) {
            *is_push = 1;
            *offline = !p->online;
            return p->cf;
        }
    return NULL;
}

const le_conf_domain *le_domains_resolve(const char *vhost, const char *host, int *is_push,
                                         int *offline)
{
    *is_push = 0;
    *offline = 0;
    if (vhost && *vhost)
        return lookup(vhost, is_push, offline);
    if (host && *host) {
        const le_conf_domain *c = lookup(host, is_push, offline);
        if (c)
            return c;
    }
    *is_push = 0;
    if (file_conf && file_conf->default_domain)
        return lookup(file_conf->default_domain, is_push, offline);
    return NULL;
}

/* ---- loading from Redis ---- */

static const char *field(const redisReply *r, const char *name)
{
    for (size_t i = 0; i + 1 < r->elements; i += 2)
        if (r->element[i]->type == REDIS_REPLY_STRING && strcmp(r->element[i]->str, name) == 0 &&
            r->element[i + 1]->type == REDIS_REPLY_STRING)
            return r->element[i + 1]->str;
    return NULL;
}

static void apply_record(const char *name, const redisReply *r)
{
    le_domain *d = le_domain_get(name);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
        /* Gone from Redis: deleted by some node. File domains stay (they
         * are re-seeded at the next start anyway). */
        if (d && !d->from_file)
            mirror_remove(d);
        return;
    }
    const char *type = field(r, "LiveDomainType");
    int edge = type && strcmp(type, "liveEdge") == 0;
    if (!d)
        d = mirror_add(name, edge);
    if (d->edge != edge) {
        d->edge = edge;
        if (edge) {
            cf_retire(d->cf);
            d->cf = NULL;
        } else if (!d->cf) {
            d->cf = le_conf_domain_new(name);
        }
    }
    const char *v;
    if ((v = field(r, "DomainStatus")))
        d->online = strcmp(v, "offline") != 0;
    if ((v = field(r, "Region")))
        set_str(&d->region, v);
    if ((v = field(r, "Scope")))
        set_str(&d->scope, v);
    if ((v = field(r, "CheckUrl")))
        set_str(&d->check_url, *v ? v : NULL);
    if ((v = field(r, "Description")))
        set_str(&d->description, *v ? v : NULL);
    if ((v = field(r, "PlayDomain")))
        set_str(&d->play, *v ? v : NULL);
    int64_t ms;
    if ((v = field(r, "GmtCreated")) && le_parse_utc(v, &ms) == 0)
        d->created_ms = ms;
    if ((v = field(r, "GmtModified")) && le_parse_utc(v, &ms) == 0)
        d->modified_ms = ms;
}

static void record_cb(redisReply *r, void *arg)
{
    char *name = arg;
    if (r) {  /* NULL: Redis went away; the next connect reloads everything */
        apply_record(name, r);
        if (le_domain_get(name))
            le_domaincfg_load(name);
    }
    free(name);
}

static void load_one(const char *name)
{
    char key[512];
    le_store_key(key, sizeof(key), "domain:%s", name);
    le_store_cmd(record_cb, le_xstrdup(name), "HGETALL %s", key);
}

static void members_cb(redisReply *r, void *arg)
{
    (void)arg;
    if (!r || r->type != REDIS_REPLY_ARRAY)
        return;
    for (size_t i = 0; i < r->elements; i++)
        if (r->element[i]->type == REDIS_REPLY_STRING)
            load_one(r->element[i]->str);
}

/* Seeds file domains that Redis does not know yet, then loads all. The
 * commands share one connection, so the seed lands before the read. */
static void store_event(int connected, void *arg)
{
    (void)arg;
    if (!connected)
        return;
    char set[256];
    le_store_key(set, sizeof(set), "domains");
    for (le_domain *d = domains; d; d = d->next) {
        if (!d->from_file)
            continue;
        char key[512], cr[21];
        le_store_key(key, sizeof(key), "domain:%s", d->name);
        le_fmt_utc(d->created_ms, cr);
        le_store_write("HSETNX %s DomainName %s", key, d->name);
        le_store_write("HSETNX %s LiveDomainType %s", key, d->edge ? "liveEdge" : "liveVideo");
        le_store_write("HSETNX %s DomainStatus online", key);
        le_store_write("HSETNX %s Region %s", key, d->region);
        le_store_write("HSETNX %s Scope %s", key, d->scope);
        le_store_write("HSETNX %s GmtCreated %s", key, cr);
        le_store_write("HSETNX %s GmtModified %s", key, cr);
        le_store_write("HSETNX %s PlayDomain %s", key, d->play ? d->play : "");
        le_store_write("HSETNX %s Source file", key);
        le_store_write("SADD %s %s", set, d->name);
    }
    le_store_cmd(members_cb, NULL, "SMEMBERS %s", set);
}

static void domain_event(const char *kind, const char *arg)
{
    (void)kind;
    if (le_store_connected())
        load_one(arg);
}

/* ---- events channel ---- */

static char events_channel[256];

static void events_msg(const char *channel, const char *msg, size_t len, void *arg)
{
    (void)channel;
    (void)arg;
    char buf[1024];
    if (len >= sizeof(buf))
        return;
    memcpy(buf, msg, len);
    buf[len] = '\0';
    char *sp = strchr(buf, ' ');
    const char *a = "";
    if (sp) {
        *sp = '\0';
        a = sp + 1;
    }
    for (int i = 0; i < nhandlers; i++)
        if (strcmp(handlers[i].kind, buf) == 0)
            handlers[i].fn(buf, a);
}

void le_control_on_event(const char *kind, le_control_event_fn fn)
{
    /* Registrations are made once at start by the modules; more kinds than
     * the table holds is a programming error, not a runtime condition. */
    if (nhandlers >= MAX_EVENT_KINDS) {
        le_error(MOD, "event kind '%s' not registered: MAX_EVENT_KINDS (%d) is too small", kind,
                 MAX_EVENT_KINDS);
        abort();
    }
    handlers[nhandlers].kind = kind;
    handlers[nhandlers].fn = fn;
    nhandlers++;
}

void le_control_publish_event(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    le_store_write("PUBLISH %s %s", events_channel, msg);
}

/* ---- setup ---- */

static void seed_from_conf(const le_conf *conf)
{
    for (const le_conf_domain *f = conf->domains; f; f = f->next) {
        le_domain *d = le_domain_get(f->name);
        if (!d)
            d = mirror_add(f->name, 0);
        d->from_file = 1;
        le_domain_rebuild(d);
        if (f->push_domain && !le_domain_get(f->push_domain)) {
            le_domain *p = mirror_add(f->push_domain, 1);
            p->from_file = 1;
            set_str(&p->play, f->name);
        }
    }
}

void le_domains_init(const le_conf *conf)
{
    file_conf = conf;
    le_store_key(events_channel, sizeof(events_channel), "events");
    seed_from_conf(conf);
    le_domaincfg_init();
    le_control_on_event("domain", domain_event);
    le_store_subscribe(events_channel, events_msg, NULL);
    le_store_on_event(store_event, NULL);
}

void le_domains_reload_conf(const le_conf *conf)
{
    file_conf = conf;
    seed_from_conf(conf);
    for (le_domain *d = domains; d; d = d->next)
        le_domain_rebuild(d);
    if (le_store_connected())
        store_event(1, NULL);
}

void le_domains_free(void)
{
    while (domains) {
        le_domain *d = domains;
        domains = d->next;
        mirror_free(d);
    }
    while (retired) {
        retired_cf *r = retired;
        retired = r->next;
        le_conf_domain_free(r->cf);
        free(r);
    }
    nhandlers = 0;
}
