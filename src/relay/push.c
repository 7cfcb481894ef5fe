/* Push (relay/push.h): pushers, one per target of a rule per publish, or
 * one per id.
 *
 * A pusher's life:
 *   - it connects (le_sink_open) when the local stream is live; the tap
 *     is opened when the remote accepts, so every connection starts like a
 *     joining player: metadata, sequence headers, the GOP cache from its
 *     keyframe;
 *   - packets go from the tap to the sink; when the sink says LE_EAGAIN
 *     the pusher stops pulling until writable (the tap then skips to the
 *     next keyframe on its own bound) and resumes at a keyframe;
 *   - a failed connection is closed with its tap and retried after the
 *     relay backoff (le_relay_failed), as long as the stream is live;
 *   - the stream's publish hook (re)starts pushers and the unpublish hook
 *     stops them: rule pushers belong to one publish (freed at its end, new
 *     ones for the next publish, with the rules and usrargs of that
 *     publish), pushers by id wait idle for the next publish.
 * Every change is made from the pusher's own event (never inside the
 * stream's hooks or the clients' callbacks), which is also the backoff
 * timer; a pusher is freed only there. */
#include "relay/push.h"
#include "auth/aliauth.h"
#include "conf/conf.h"
#include "control/domains.h"
#include "control/publish.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "media/stream.h"
#include "media/tap.h"
#include "relay/client.h"
#include "relay/relay.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>

#define MOD "push"
#define URL_MAX 2048
#define PUSH_CONNECT_TIMEOUT_MS 5000

typedef struct pusher {
    struct pusher *next;
    le_relay rel;
    char *id;                  /* one-off push: its id; NULL for a rule's (or once stopped) */
    int rule;                  /* from a domain rule: ends with its publish */
    char *domain, *app, *name;
    char *url;                 /* rule: expanded, not yet signed; id: as given */
    int sign_type;             /* LE_AUTH_NONE, LE_AUTH_A, LE_AUTH_TX */
    char *sign_key;
    int64_t sign_validity_s;
    le_sink *sink;
    le_tap *tap;
    struct event *ev;          /* deferred work and the backoff timer */
    uint64_t bytes_done;       /* bytes out of the closed connections */
    unsigned dead : 1;         /* to be freed from ev */
    unsigned restart : 1;      /* a new publish: reconnect from ev */
    unsigned waiting : 1;      /* the backoff timer runs */
    unsigned blocked : 1;      /* le_sink_send said LE_EAGAIN: wait for writable */
    unsigned resync : 1;       /* packets were lost: skip to a keyframe */
    unsigned has_video : 1;    /* this connection has seen video */
    unsigned ended : 1;        /* the tap said UNPUBLISH */
} pusher;

static struct event_base *ev_base;
static pusher *pushers;

/* ---- templates and signatures (pure) ---- */

static int put(char *out, size_t n, size_t *o, const char *s, size_t l)
{
    if (*o + l >= n)
        return LE_ETOOBIG;
    memcpy(out + *o, s, l);
    *o += l;
    out[*o] = '\0';
    return LE_OK;
}

int le_push_expand(const char *tmpl, const char *app, const char *name, const char *usrargs, char *out,
                   size_t n)
{
    static const char *const names[] = { "{AppName}", "{StreamName}", "{UserId}", "{usrargs}" };
    const char *vals[] = { app ? app : "", name ? name : "", name ? name : "", usrargs ? usrargs : "" };
    size_t o = 0;
    if (n == 0)
        return LE_ETOOBIG;
    out[0] = '\0';
    for (const char *p = tmpl; *p;) {
        int hit = -1;
        if (*p == '{')
            for (int i = 0; i < 4 && hit < 0; i++)
                if (strncmp(p, names[i], strlen(names[i])) == 0)
                    hit = i;
        int rc = hit >= 0 ? put(out, n, &o, vals[hit], strlen(vals[hit])) : put(out, n, &o, p, 1);
        if (rc != LE_OK) {
            out[0] = '\0';
            return rc;
        }
        p += hit >= 0 ? strlen(names[hit]) : 1;
    }
    return LE_OK;
}

int le_push_sign(const char *url, int type, const char *key, int64_t expires_s, char *out, size_t n)
{
    if (!url || n == 0)
        return LE_EINVAL;
    out[0] = '\0';
    if (type == LE_AUTH_NONE) {
        size_t o = 0;
        return put(out, n, &o, url, strlen(url));
    }
    if ((type != LE_AUTH_A && type != LE_AUTH_TX) || !key || !*key)
        return LE_EINVAL;
    /* rtmp[s]://host[:port]/path[?query]: the path is the URI, its last
     * segment the stream name. */
    const char *host = strstr(url, "://");
    if (!host)
        return LE_EINVAL;
    host += 3;
    const char *q = strchr(host, '?');
    size_t before_q = q ? (size_t)(q - url) : strlen(url);
    const char *path = memchr(host, '/', (size_t)(url + before_q - host));
    if (!path)
        return LE_EINVAL;
    size_t plen = (size_t)(url + before_q - path);
    const char *slash = path;
    for (const char *s = path; s < path + plen; s++)
        if (*s == '/')
            slash = s;
    size_t slen = plen - (size_t)(slash + 1 - path);
    if (slen == 0 || plen >= URL_MAX)
        return LE_EINVAL;
    char uri[URL_MAX], stream[URL_MAX];
    memcpy(uri, path, plen);
    uri[plen] = '\0';
    memcpy(stream, slash + 1, slen);
    stream[slen] = '\0';

    le_aliauth_keys k = { .type = type, .key1 = key, .key2 = NULL, .delta_s = 0 };
    le_aliauth_grant g;
    memset(&g, 0, sizeof(g));
    g.key = 1;
    if (type == LE_AUTH_TX) {
        g.form = LE_AUTHF_TX;
        snprintf(g.ts, sizeof(g.ts), "%" PRIX64, (uint64_t)expires_s);
    } else {
        g.form = LE_AUTHF_A;
        snprintf(g.ts, sizeof(g.ts), "%" PRId64, expires_s);
        strcpy(g.rand, "0");
        strcpy(g.uid, "0");
    }
    char prefix[8], query[256];
    int rc = le_aliauth_sign(&k, &g, uri, stream, prefix, sizeof(prefix), query, sizeof(query));
    if (rc != LE_OK)
        return rc;
    /* Appended to the query: "?" when there is none, nothing after a
     * trailing '?' or '&' (a template ending in "?{usrargs}"). */
    size_t ul = strlen(url), o = 0;
    const char *sep = !q ? "?" : (url[ul - 1] == '?' || url[ul - 1] == '&') ? "" : "&";
    if (put(out, n, &o, url, ul) != LE_OK || put(out, n, &o, sep, strlen(sep)) != LE_OK ||
        put(out, n, &o, query, strlen(query)) != LE_OK) {
        out[0] = '\0';
        return LE_ETOOBIG;
    }
    return LE_OK;
}

/* ---- pushers ---- */

static void run_cb(evutil_socket_t fd, short what, void *arg);

/* Work for ev, now (the backoff wait, if any, is cut short). */
static void kick(pusher *p)
{
    if (!p->ev)
        return;
    evtimer_del(p->ev);
    p->waiting = 0;
    event_active(p->ev, EV_TIMEOUT, 0);
}

static void arm(pusher *p, int64_t ms)
{
    if (!p->ev)
        return;
    struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
    p->waiting = 1;
    evtimer_add(p->ev, &tv);
}

static le_stream *live_stream(const pusher *p)
{
    le_stream *st = le_stream_find(p->domain, p->app, p->name, 0);
    return st && le_stream_is_live(st) ? st : NULL;
}

static int same_stream(const pusher *p, const le_stream *st)
{
    return strcmp(p->domain, le_stream_domain(st)) == 0 && strcmp(p->app, le_stream_app(st)) == 0 &&
           strcmp(p->name, le_stream_name(st)) == 0;
}

static void count_bytes(pusher *p)
{
    p->rel.bytes = p->bytes_done + (p->sink ? le_sink_bytes_out(p->sink) : 0);
}

/* Closes the connection and the tap; the pusher stays. */
static void teardown(pusher *p)
{
    if (p->sink) {
        count_bytes(p);
        p->bytes_done = p->rel.bytes;
        le_sink_close(p->sink);
        p->sink = NULL;
    }
    if (p->tap) {
        le_tap_close(p->tap);
        p->tap = NULL;
    }
    p->blocked = p->resync = p->has_video = p->ended = 0;
}

static void pusher_free(pusher *p)
{
    teardown(p);
    for (pusher **pp = &pushers; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    le_relay_remove(&p->rel);
    if (p->ev)
        event_free(p->ev);
    free(p->id);
    free(p->domain);
    free(p->app);
    free(p->name);
    free(p->url);
    free(p->sign_key);
    free(p);
}

static pusher *pusher_new(const char *domain, const char *app, const char *name, const char *url)
{
    pusher *p = le_xcalloc(1, sizeof(*p));
    p->domain = le_xstrdup(domain);
    p->app = le_xstrdup(app);
    p->name = le_xstrdup(name);
    p->url = le_xstrdup(url);
    p->sign_type = LE_AUTH_NONE;
    if (ev_base)
        p->ev = event_new(ev_base, -1, 0, run_cb, p);
    char key[768];
    snprintf(key, sizeof(key), "%s/%s/%s", domain, app, name);
    le_relay_add(&p->rel, LE_RELAY_PUSH, key);
    le_relay_set_url(&p->rel, url);
    le_relay_set_state(&p->rel, LE_RELAY_IDLE);
    p->next = pushers;
    pushers = p;
    return p;
}

/* A failure of the current connection: closed, retried after the backoff
 * while the stream lives. */
static void failed(pusher *p, const char *reason, const char *why)
{
    teardown(p);
    if (p->dead)
        return;
    if (!live_stream(p)) {
        kick(p);   /* ev settles it: idle, or freed for a rule's */
        return;
    }
    arm(p, le_relay_failed(&p->rel, reason, why));
}

/* Sends what the tap holds until it is empty or the sink is full. */
static void pump(pusher *p)
{
    while (p->tap && p->sink && !p->blocked && !p->ended) {
        le_pkt *pk;
        int k = le_tap_next(p->tap, &pk);
        if (k == LE_TAP_NONE)
            break;
        if (k == LE_TAP_UNPUBLISH) {
            /* The publish ended (or was taken over): the hooks say what
             * follows; nothing more goes out on this connection. */
            p->ended = 1;
            kick(p);
            break;
        }
        if (k == LE_TAP_DROPPED) {
            p->resync = 1;
            continue;
        }
        if (k != LE_TAP_PKT)
            continue;   /* LE_TAP_PUBLISH: the opening one */
        if (pk->type == LE_PKT_VIDEO)
            p->has_video = 1;
        if (p->resync && !(pk->flags & (LE_PKT_META | LE_PKT_SEQHDR))) {
            int key = p->has_video ? pk->type == LE_PKT_VIDEO && (pk->flags & LE_PKT_KEY)
                                   : pk->type == LE_PKT_AUDIO;
            if (!key) {
                le_pkt_unref(pk);
                continue;
            }
            p->resync = 0;
        }
        int rc = le_sink_send(p->sink, pk);
        le_pkt_unref(pk);
        if (rc == LE_EAGAIN) {
            /* That packet is lost: the target resumes at a keyframe. */
            p->blocked = 1;
            p->resync = 1;
            break;
        }
        if (rc != LE_OK)
            break;   /* closed() follows */
    }
    if (p->sink)
        count_bytes(p);
}

static void tap_wake(le_tap *t, void *ctx)
{
    (void)t;
    pump(ctx);
}

static const le_tap_ops tap_ops = { tap_wake, NULL };

static void sink_ready(void *ctx)
{
    pusher *p = ctx;
    le_stream *st = live_stream(p);
    if (!st) {
        teardown(p);
        kick(p);
        return;
    }
    le_relay_up(&p->rel);
    le_info(MOD, "%s -> %s: publishing", p->rel.stream, p->rel.url);
    size_t bound = le_stream_get_limits()->viewer_queue_bytes;
    p->tap = le_tap_open(st, &tap_ops, p, bound ? bound : ((size_t)4 << 20));
    pump(p);
}

static void sink_writable(void *ctx)
{
    pusher *p = ctx;
    p->blocked = 0;
    pump(p);
}

static void sink_closed(void *ctx, int err, const char *why)
{
    pusher *p = ctx;
    const char *reason = err == LE_EDENIED ? "refused" : err == LE_EPROTO ? "protocol"
                       : err == LE_OK ? "closed" : "connect";
    failed(p, reason, why && *why ? why : le_strerror(err));
}

static const le_sink_ops sink_ops = { sink_ready, sink_writable, sink_closed };

static void connect_now(pusher *p)
{
    char url[URL_MAX], why[160];
    int rc = LE_OK;
    if (p->sign_type != LE_AUTH_NONE)
        rc = le_push_sign(p->url, p->sign_type, p->sign_key, le_wall_ms() / 1000 + p->sign_validity_s, url,
                          sizeof(url));
    else
        snprintf(url, sizeof(url), "%s", p->url);
    if (rc != LE_OK) {
        snprintf(why, sizeof(why), "cannot sign the URL: %s", le_strerror(rc));
        failed(p, "url", why);
        return;
    }
    le_relay_set_url(&p->rel, url);
    le_relay_set_state(&p->rel, LE_RELAY_CONNECTING);
    le_client_opts o;
    memset(&o, 0, sizeof(o));
    o.connect_timeout_ms = PUSH_CONNECT_TIMEOUT_MS;
    rc = le_sink_open(url, &o, &sink_ops, p, &p->sink);
    if (rc != LE_OK) {
        p->sink = NULL;
        snprintf(why, sizeof(why), "cannot open: %s", le_strerror(rc));
        failed(p, "url", why);
    }
}

static void run_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pusher *p = arg;
    p->waiting = 0;
    if (p->dead) {
        pusher_free(p);
        return;
    }
    if (!live_stream(p)) {
        teardown(p);
        if (p->rule) {
            le_info(MOD, "%s -> %s: the stream ended, push ended", p->rel.stream, p->rel.url);
            pusher_free(p);
            return;
        }
        if (p->rel.state != LE_RELAY_IDLE)
            le_info(MOD, "%s -> %s: waiting for the stream", p->rel.stream, p->rel.url);
        le_relay_set_state(&p->rel, LE_RELAY_IDLE);
        return;
    }
    if (p->restart || p->ended) {
        p->restart = 0;
        teardown(p);
    }
    if (!p->sink)
        connect_now(p);
}

/* ---- rules ---- */

static const le_conf_domain *settings_of(const char *domain)
{
    le_domain *d = le_domain_match(domain);
    return d && !d->edge ? d->cf : NULL;
}

static void start_rules(le_stream *st)
{
    const le_conf_domain *cf = settings_of(le_stream_domain(st));
    const char *app = le_stream_app(st), *name = le_stream_name(st);
    const char *usrargs = le_publish_usrargs(st);
    for (const le_conf_push *r = cf ? cf->push : NULL; r; r = r->next) {
        if (r->app && strcmp(r->app, app) != 0)
            continue;
        for (int i = 0; i < r->ntargets; i++) {
            char url[URL_MAX], masked[URL_MAX];
            if (le_push_expand(r->targets[i], app, name, usrargs ? usrargs : "", url, sizeof(url)) != LE_OK) {
                le_warn(MOD, "%s: push target %s: longer than %d bytes once expanded, skipped",
                        le_stream_key(st), le_relay_mask_url(r->targets[i], masked, sizeof(masked)), URL_MAX);
                continue;
            }
            pusher *p = pusher_new(le_stream_domain(st), app, name, url);
            p->rule = 1;
            p->sign_type = r->sign_type;
            p->sign_key = r->sign_key ? le_xstrdup(r->sign_key) : NULL;
            p->sign_validity_s = r->sign_validity_s;
            kick(p);
        }
    }
}

static void on_publish(le_stream *st)
{
    for (pusher *p = pushers; p; p = p->next) {
        if (p->dead || !same_stream(p, st))
            continue;
        if (p->rule) {
            p->dead = 1;   /* the last publish's (a takeover) */
            kick(p);
        } else if (!p->waiting) {
            /* By id: from this publish's first keyframe; a backoff wait
             * runs out first. */
            p->restart = 1;
            kick(p);
        }
    }
    int kind = le_publish_kind(st);
    if (kind != LE_PUB_EDGE)   /* an edge copy: its origin pushes */
        start_rules(st);
}

static void on_unpublish(le_stream *st)
{
    for (pusher *p = pushers; p; p = p->next) {
        if (!p->dead && same_stream(p, st))
            kick(p);   /* ev: a rule's ends, one by id waits */
    }
}

/* ---- the face ---- */

int le_push_init(struct event_base *base)
{
    ev_base = base;
    /* le_stream_shutdown forgets hooks: register at every start. */
    int rc = le_stream_on_publish(on_publish);
    return rc == LE_OK ? le_stream_on_unpublish(on_unpublish) : rc;
}

void le_push_free(void)
{
    while (pushers)
        pusher_free(pushers);
    ev_base = NULL;
}

static pusher *by_id(const char *id)
{
    for (pusher *p = pushers; p; p = p->next)
        if (p->id && !p->dead && strcmp(p->id, id) == 0)
            return p;
    return NULL;
}

/* rtmp://HOST... or rtmps://HOST..., under URL_MAX. */
static int target_ok(const char *url)
{
    size_t sl = strncasecmp(url, "rtmp://", 7) == 0 ? 7 : strncasecmp(url, "rtmps://", 8) == 0 ? 8 : 0;
    return sl && url[sl] && url[sl] != '/' && strlen(url) < URL_MAX;
}

int le_push_start_id(const char *id, const char *domain, const char *app, const char *name, const char *url)
{
    if (!id || !*id || !domain || !*domain || !app || !*app || !name || !*name || !url || !target_ok(url))
        return LE_EINVAL;
    if (by_id(id))
        return LE_EEXIST;
    pusher *p = pusher_new(domain, app, name, url);
    p->id = le_xstrdup(id);
    le_info(MOD, "push %s: %s -> %s started", id, p->rel.stream, p->rel.url);
    kick(p);
    return LE_OK;
}

int le_push_stop_id(const char *id)
{
    pusher *p = id ? by_id(id) : NULL;
    if (!p)
        return LE_ENOTFOUND;
    le_info(MOD, "push %s: %s -> %s stopped", id, p->rel.stream, p->rel.url);
    free(p->id);
    p->id = NULL;
    p->dead = 1;
    le_relay_set_state(&p->rel, LE_RELAY_STOPPING);
    /* The target sees the unpublish now, not at the next loop turn. */
    teardown(p);
    if (p->ev)
        kick(p);
    else
        pusher_free(p);
    return LE_OK;
}
