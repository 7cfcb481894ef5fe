/* An ingest: sources kept published as one local stream (relay/ingest.h). */
#include "relay/ingest.h"
#include "control/domains.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "relay/client.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MOD "ingest"

static struct event_base *ingest_base;

struct le_ingest {
    le_relay rel;
    char *domain, *app, *name;
    char **urls;
    size_t nurls, cur;
    char *connect_to;
    le_pub_info info;
    char *client_ip;           /* info.client_ip's storage */
    le_ingest_ops ops;
    void *ctx;

    le_src *src;
    le_publish pub;
    struct event *timer;       /* next attempt (backoff), and the deferred start */
    struct event *watchdog;    /* no media for LE_RELAY_NO_MEDIA_MS */
    struct event *kick_ev;     /* reports a kick outside the stream's call */
    char kick_reason[128];
    uint64_t last_media;       /* mono ms: a packet, or the source's open */
    uint64_t bytes_base;       /* bytes of earlier sources */
    int kicked;
    int busy;                  /* inside an ops callback */
    int dead;                  /* stopped from inside one: free when it returns */
};

void le_ingest_init(struct event_base *base) { ingest_base = base; }

static void free_urls(le_ingest *in)
{
    for (size_t i = 0; i < in->nurls; i++)
        free(in->urls[i]);
    free(in->urls);
    in->urls = NULL;
    in->nurls = in->cur = 0;
    free(in->connect_to);
    in->connect_to = NULL;
}

static void copy_urls(le_ingest *in, const char *const *urls, size_t n, const char *connect_to)
{
    free_urls(in);
    in->urls = n ? le_xcalloc(n, sizeof(char *)) : NULL;
    for (size_t i = 0; i < n; i++)
        in->urls[in->nurls++] = le_xstrdup(urls[i]);
    in->connect_to = connect_to ? le_xstrdup(connect_to) : NULL;
}

static void destroy(le_ingest *in)
{
    if (in->src)
        le_src_close(in->src);
    event_free(in->timer);
    event_free(in->watchdog);
    event_free(in->kick_ev);
    le_relay_remove(&in->rel);
    free_urls(in);
    free(in->domain);
    free(in->app);
    free(in->name);
    free(in->client_ip);
    free(in);
}

/* Calls into the owner go through these: the owner may stop the ingest
 * from inside, and then it is freed once the call returns (1: gone). */
#define OWNER_CALL(in, call)            \
    do {                                \
        (in)->busy++;                   \
        call;                           \
        (in)->busy--;                   \
    } while (0)
static int gone(le_ingest *in)
{
    if (in->dead && in->busy == 0) {
        destroy(in);
        return 1;
    }
    return in->dead;
}

static const char *reason_of(int err)
{
    switch (err) {
    case LE_OK: return "ended";
    case LE_EDENIED: return "refused";
    case LE_ENOTFOUND: return "not-found";
    case LE_EPROTO: return "protocol";
    case LE_ETOOBIG: return "too-big";
    case LE_EINVAL: return "bad-url";
    case LE_EIO: return "connect";
    default: return "error";
    }
}

static void end_publish(le_ingest *in, int how, const char *why)
{
    if (in->pub.st)
        le_publish_end(&in->pub, how, why);
}

static void schedule(le_ingest *in, int64_t ms)
{
    struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };
    evtimer_add(in->timer, &tv);
}

/* A source failed or ended: the publish ends (players wait the grace), the
 * next source is tried after the backoff. */
static void source_failed(le_ingest *in, int err, const char *reason, const char *why)
{
    if (in->src) {
        in->bytes_base += le_src_bytes_in(in->src);
        le_src_close(in->src);
        in->src = NULL;
    }
    evtimer_del(in->watchdog);
    end_publish(in, LE_PUB_END_DROPPED, why);
    int64_t wait = le_relay_failed(&in->rel, reason ? reason : reason_of(err), why);
    if (in->nurls)
        in->cur = (in->cur + 1) % in->nurls;
    if (in->ops.failed) {
        OWNER_CALL(in, in->ops.failed(in->ctx, err, why, in->rel.failures));
        if (gone(in))
            return;
    }
    if (!in->kicked && !in->src)
        schedule(in, wait);
}

static void on_ready(void *ctx)
{
    le_ingest *in = ctx;
    le_debug(MOD, "%s: %s accepted", in->rel.stream, in->rel.url);
}

static void pub_kick(void *ctx, const char *reason);
static const le_pub_ops pub_ops = { .kick = pub_kick };

static int begin_publish(le_ingest *in)
{
    le_domain *d = le_domain_get(in->domain);
    char why[256];
    int rc;
    if (!d || d->edge || !d->cf) {
        snprintf(why, sizeof(why), "no play domain %s on this node", in->domain);
        rc = LE_ENOTFOUND;
    } else {
        in->info.source_url = in->urls[in->cur];
        rc = le_publish_begin(&in->pub, d->cf, in->app, in->name, &in->info, &pub_ops, in, why, sizeof(why));
        in->info.source_url = NULL;
    }
    if (in->ops.published) {
        OWNER_CALL(in, in->ops.published(in->ctx, rc == LE_OK, rc == LE_OK ? "" : why));
        if (gone(in))
            return LE_EIO;
    }
    if (rc != LE_OK) {
        source_failed(in, rc, rc == LE_EEXIST ? "taken" : "refused-here", why);
        return rc;
    }
    le_info(MOD, "%s: publishing from %s (%s)", in->rel.stream, in->rel.url, le_pub_kind_name(in->info.kind));
    le_relay_up(&in->rel);
    return LE_OK;
}

static void on_packet(void *ctx, le_pkt *p)
{
    le_ingest *in = ctx;
    in->last_media = le_mono_ms();
    in->rel.bytes = in->bytes_base + (in->src ? le_src_bytes_in(in->src) : 0);
    if (!in->pub.st && begin_publish(in) != LE_OK)
        return;
    le_stream_push(in->pub.st, p);
}

static void on_closed(void *ctx, int err, const char *why)
{
    le_ingest *in = ctx;
    source_failed(in, err, NULL, why && *why ? why : reason_of(err));
}

/* At write tick 0 the stream's frames wait for the message the source's
 * read ended inside (le_src_ops.arriving, docs/ARCHITECTURE.md). */
static void on_arriving(void *ctx, int on)
{
    le_ingest *in = ctx;
    if (in->pub.st)
        le_stream_set_arriving(in->pub.st, on);
}

static const le_src_ops src_ops = { .ready = on_ready, .packet = on_packet, .closed = on_closed,
                                    .arriving = on_arriving };

static void attempt(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    le_ingest *in = arg;
    if (in->src || in->kicked)
        return;
    if (!in->nurls) {
        le_relay_set_state(&in->rel, LE_RELAY_IDLE);
        return;
    }
    const char *url = in->urls[in->cur];
    le_relay_set_url(&in->rel, url);
    le_relay_set_state(&in->rel, LE_RELAY_CONNECTING);
    le_client_opts o = { .connect_to = in->connect_to };
    int rc = le_src_open(url, &o, &src_ops, in, &in->src);
    if (rc != LE_OK) {
        in->src = NULL;
        source_failed(in, LE_EINVAL, NULL, "not a usable source URL");
        return;
    }
    in->last_media = le_mono_ms();
    struct timeval tv = { 1, 0 };
    evtimer_add(in->watchdog, &tv);
}

static void watchdog(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    le_ingest *in = arg;
    if (!in->src)
        return;
    if (le_mono_ms() - in->last_media >= LE_RELAY_NO_MEDIA_MS) {
        char why[64];
        snprintf(why, sizeof(why), "no media for %d s", LE_RELAY_NO_MEDIA_MS / 1000);
        source_failed(in, LE_EIO, "no-media", why);
        return;
    }
    struct timeval tv = { 1, 0 };
    evtimer_add(in->watchdog, &tv);
}

static void report_kick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    le_ingest *in = arg;
    if (in->ops.kicked) {
        OWNER_CALL(in, in->ops.kicked(in->ctx, in->kick_reason));
        gone(in);
    }
}

/* The stream cut us (takeover, ForbidLiveStream, node stop): the publish
 * ends now; the owner hears of it from a deferred event and decides. */
static void pub_kick(void *ctx, const char *reason)
{
    le_ingest *in = ctx;
    in->kicked = 1;
    snprintf(in->kick_reason, sizeof(in->kick_reason), "%s", reason ? reason : "kicked");
    end_publish(in, LE_PUB_END_UNPUBLISHED, in->kick_reason);
    if (in->src) {
        in->bytes_base += le_src_bytes_in(in->src);
        le_src_close(in->src);
        in->src = NULL;
    }
    evtimer_del(in->timer);
    evtimer_del(in->watchdog);
    le_relay_set_state(&in->rel, LE_RELAY_IDLE);
    snprintf(in->rel.last_error, sizeof(in->rel.last_error), "%s", in->kick_reason);
    le_info(MOD, "%s: kicked (%s)", in->rel.stream, in->kick_reason);
    event_active(in->kick_ev, 0, 0);
}

le_ingest *le_ingest_start(const le_ingest_opts *o, const le_ingest_ops *ops, void *ctx)
{
    if (!o || !o->domain || !o->app || !o->name || !o->nurls || !ingest_base) {
        le_error(MOD, "ingest of %s/%s/%s: %s", o && o->domain ? o->domain : "?", o && o->app ? o->app : "?",
                 o && o->name ? o->name : "?", le_strerror(LE_EINVAL));
        return NULL;
    }
    le_ingest *in = le_xcalloc(1, sizeof(*in));
    in->domain = le_xstrdup(o->domain);
    in->app = le_xstrdup(o->app);
    in->name = le_xstrdup(o->name);
    copy_urls(in, o->urls, o->nurls, o->connect_to);
    in->info = o->info;
    in->client_ip = le_xstrdup(o->info.client_ip ? o->info.client_ip : "");
    in->info.client_ip = in->client_ip;
    in->info.local_ip = "";
    in->info.push_domain = NULL;
    in->info.usrargs = "";
    in->info.source_url = NULL;
    if (ops)
        in->ops = *ops;
    in->ctx = ctx;
    char key[768];
    snprintf(key, sizeof(key), "%s/%s/%s", in->domain, in->app, in->name);
    le_relay_add(&in->rel, o->relay_kind, key);
    le_relay_set_url(&in->rel, in->urls[0]);
    in->timer = evtimer_new(ingest_base, attempt, in);
    in->watchdog = evtimer_new(ingest_base, watchdog, in);
    in->kick_ev = event_new(ingest_base, -1, 0, report_kick, in);
    schedule(in, 0);
    return in;
}

void le_ingest_set_urls(le_ingest *in, const char *const *urls, size_t nurls, const char *connect_to)
{
    copy_urls(in, urls, nurls, connect_to);
    if (!in->src && !in->kicked && nurls && !evtimer_pending(in->timer, NULL))
        schedule(in, 0);
}

void le_ingest_retry(le_ingest *in)
{
    in->kicked = 0;
    in->rel.failures = 0;
    if (!in->src)
        schedule(in, 0);
}

void le_ingest_stop(le_ingest *in, const char *reason)
{
    if (!in || in->dead)
        return;
    le_relay_set_state(&in->rel, LE_RELAY_STOPPING);
    end_publish(in, LE_PUB_END_UNPUBLISHED, reason ? reason : "stopped");
    if (in->src) {
        le_src_close(in->src);
        in->src = NULL;
    }
    in->dead = 1;
    if (!in->busy)
        destroy(in);
}

struct le_stream *le_ingest_stream(const le_ingest *in) { return in->pub.st; }
const le_relay *le_ingest_relay(const le_ingest *in) { return &in->rel; }
