/* The node: event base, running configuration, listeners, the 1 s tick,
 * signals (SIGHUP reload, SIGTERM/SIGINT stop) and systemd notification. */
#include "node.h"
#include "core/metrics.h"
#include "admin/actions.h"
#include "admin/admin.h"
#include "control/blocklist.h"
#include "control/certs.h"
#include "control/cluster.h"
#include "control/domains.h"
#include "control/notify.h"
#include "core/err.h"
#include "core/log.h"
#include "core/sdnotify.h"
#include "core/util.h"
#include "hls/segmenter.h"
#include "http/flv_play.h"
#include "http/hls_play.h"
#include "http/server.h"
#include "media/feed.h"
#include "media/stream.h"
#include "media/tap.h"
#include "relay/push.h"
#include "net/net.h"
#include "relay/pull.h"
#include "relay/client.h"
#include "relay/ingest.h"
#include "relay/edge.h"
#include "record/notify.h"
#include "record/rec_http.h"
#include "record/recorder.h"
#include "record/s3.h"
#include "pipeline/pool.h"
#include "studio/carousel.h"
#include "studio/caster.h"
#include "transcode/rendition.h"
#include "transcode/sei_apply.h"
#include "snapshot/snapshot.h"
#include "rtmp/session.h"
#include "store/store.h"
#include "timeshift/timeshift.h"
#include "tls/tls.h"

#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MOD "node"
#define STREAM_IDLE_GC_MS (10 * 60 * 1000)
#define STOP_DEADLINE_S 10
/* Within STOP_DEADLINE_S: what the loop may still run after SIGTERM for
 * the publish_done callbacks of the closed publishers (livedge.8). The rest
 * of the exit must fit in what is left: the store flush (up to 1 s) and the
 * frees took 0.7-2.2 s in ASan builds on a loaded machine. */
#define STOP_NOTIFY_MS 7000
#define STOP_MIN_MS 200
/* Of STOP_NOTIFY_MS: the recording writers closing their files, then the
 * uploads in flight (le_record_stop, le_s3_stop). */
#define STOP_RECORD_MS 3000
#define STOP_S3_MS 1500
/* Descriptors beyond max_connections: admin connections (256), redis, the
 * listeners, time-shift and HLS files, the notify client. */
#define FD_RESERVE 320

/* Connections keep pointers to le_conf_domain of the configuration they
 * started under, so a replaced configuration is retired, not freed, until
 * exit. Reloads are rare; the cost is a few KiB each. */
typedef struct retired {
    le_conf *conf;
    struct retired *next;
} retired;

static struct event_base *base;
static le_conf *conf;
static char *conf_path;
static retired *retired_confs;
static le_node_stats stats;
static struct event *tick_ev, *watchdog_ev, *sig_hup, *sig_term, *sig_int, *stop_ev;
static uint64_t watchdog_usec;
static int stopping;
static uint64_t stop_began_ms;

struct event_base *le_node_base(void) { return base; }
const le_conf *le_node_conf(void) { return conf; }
le_node_stats *le_node_stats_get(void) { return &stats; }

const le_conf_domain *le_node_domain(const char *play_domain)
{
    le_domain *d = le_domain_get(play_domain);
    return d && !d->edge ? d->cf : NULL;
}

/* The domain registry (file blocks + admin API, see control/domains.h) is
 * the authority; a stopped domain is refused like an unknown one. */
const le_conf_domain *le_node_resolve_domain(const char *vhost, const char *host, int *is_push)
{
    int offline = 0;
    const le_conf_domain *d = le_domains_resolve(vhost, host, is_push, &offline);
    return offline ? NULL : d;
}

static le_pipe_pool *pipe_pool;   /* media workers (docs/PIPELINE.md) */

static void rend_opts(const le_conf *c, le_rend_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->idle_ms = c->transcode_idle_ms;
    o->wait_ms = c->transcode_wait_ms;
}

/* Running casters (docs/STUDIO.md, "Running a caster"). */
static char caster_material[4096];
const char *le_node_material_dir(void) { return caster_material; }
static void caster_opts(const le_conf *c, le_caster_opts *o)
{
    memset(o, 0, sizeof(*o));
    if (c->caster_material_dir)
        snprintf(caster_material, sizeof(caster_material), "%s", c->caster_material_dir);
    else
        snprintf(caster_material, sizeof(caster_material), "%s/material",
                 c->data_dir ? c->data_dir : "/var/lib/livedge");
    o->material_dir = caster_material;
    o->fps = c->caster_fps;
    o->source_timeout_ms = c->caster_source_timeout_ms;
    o->max_running = c->caster_max;
    o->urgent_after_ms = c->caster_urgent_after_ms;
}

static void apply_conf(const le_conf *c)
{
    int lvl = c->log_level ? le_log_level_parse(c->log_level) : LE_LOG_INFO;
    le_log_level = lvl >= 0 ? lvl : LE_LOG_INFO;
    le_stream_limits l = {
        .gop_max_ms = c->gop_cache_max_ms,
        .gop_max_bytes = c->gop_cache_max_bytes,
        .viewer_queue_bytes = c->viewer_queue_bytes,
        .viewer_drop_ms = c->viewer_drop_ms,
        .takeover = c->publish_takeover,
        .takeover_idle_ms = c->publish_idle_ms,
        .reconnect_grace_ms = c->publish_reconnect_grace_ms,
    };
    le_stream_set_limits(&l);
    le_feed_set_tick(c->write_tick_ms);   /* write_tick: at start and on reload */
    le_rend_opts ro;
    rend_opts(c, &ro);
    le_rend_set_opts(&ro);
    le_caster_opts co;
    caster_opts(c, &co);
    le_caster_set_opts(&co);
    le_carousel_set_opts(&co);
}

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int same_list(char *const *a, char *const *b)
{
    for (; a && *a && b && *b; a++, b++)
        if (strcmp(*a, *b) != 0)
            return 0;
    return !(a && *a) && !(b && *b);
}

/* 1 when a listener of this process speaks TLS. */
static int tls_listening(void)
{
    return le_rtmps_port() > 0 || le_https_port() > 0 || (conf->admin_tls && le_admin_port() > 0);
}

static void reload(void)
{
    char err[512];
    if (!conf_path) {
        le_info(MOD, "SIGHUP: running on embedded defaults, nothing to reload");
        return;
    }
    le_sd_notify("RELOADING=1");
    le_conf *nc = le_conf_load(conf_path, err, sizeof(err));
    if (!nc) {
        le_error(MOD, "reload of %s failed, keeping the running configuration: %s", conf_path, err);
        le_sd_notify("READY=1");
        return;
    }
    /* The certificates (files and cipher lists) first: a set that does not
     * load keeps the whole running configuration, and running TLS
     * listeners keep needing a default certificate. */
    if (!nc->tls_certificate && tls_listening()) {
        le_error(MOD, "reload of %s refused, keeping the running configuration: TLS listeners are "
                 "running and tls_certificate is not set", conf_path);
        le_conf_free(nc);
        le_sd_notify("READY=1");
        return;
    }
    if (le_tls_init(nc, err, sizeof(err)) != 0) {
        le_error(MOD, "reload of %s failed, keeping the running configuration: %s", conf_path, err);
        le_conf_free(nc);
        le_sd_notify("READY=1");
        return;
    }
    /* Listen addresses, TLS on them, the outbound TLS settings and the
     * outbound chunk size are bound at start; a change needs a restart.
     * Everything else applies to new work at once. */
    if (strcmp(nc->rtmp_listen, conf->rtmp_listen) != 0 ||
        strcmp(nc->http_listen, conf->http_listen) != 0 || !same_str(nc->rtmps_listen, conf->rtmps_listen) ||
        !same_str(nc->https_listen, conf->https_listen) || nc->admin_tls != conf->admin_tls ||
        !same_str(nc->tls_ca_file, conf->tls_ca_file) || !same_list(nc->tls_verify_skip, conf->tls_verify_skip) ||
        nc->rtmp_chunk_size != conf->rtmp_chunk_size)
        le_warn(MOD, "reload: listen addresses, admin_tls, tls_ca_file, tls_verify_skip and rtmp_chunk_size "
                "change only on restart");
    nc->rtmp_chunk_size = conf->rtmp_chunk_size;
    retired *r = le_xmalloc(sizeof(*r));
    r->conf = conf;
    r->next = retired_confs;
    retired_confs = r;
    conf = nc;
    apply_conf(conf);
    le_domains_reload_conf(conf);
    le_info(MOD, "configuration reloaded from %s", conf_path);
    le_sd_notify("READY=1");
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    le_rtmp_tick();
    le_blocklist_tick();
    le_cluster_tick();
    le_pull_tick();
    le_caster_tick();
    le_carousel_tick();
    le_record_tick();
    le_stream_gc(STREAM_IDLE_GC_MS);
}

/* Its own timer at half of WatchdogSec, as sd_watchdog_enabled(3) advises:
 * the 1 s tick could leave a gap of up to a whole tick more. */
static void watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    le_sd_notify("WATCHDOG=1");
}

/* /metrics: the node's own counters (livedge.8). */
static void node_metrics(le_buf *out)
{
    const le_store_stats *ss = le_store_get_stats();
    const le_tls_stats *ts = le_tls_get_stats();
    le_buf_printf(out,
        "# TYPE livedge_connections gauge\n"
        "livedge_connections{protocol=\"rtmp\"} %llu\n"
        "livedge_connections{protocol=\"http\"} %llu\n"
        "# TYPE livedge_connections_accepted_total counter\n"
        "livedge_connections_accepted_total %llu\n"
        "# TYPE livedge_streams_live gauge\n"
        "livedge_streams_live %zu\n"
        "# TYPE livedge_bytes_in_total counter\n"
        "livedge_bytes_in_total %llu\n"
        "# TYPE livedge_bytes_out_total counter\n"
        "livedge_bytes_out_total %llu\n"
        "# TYPE livedge_players_dropped_total counter\n"
        "livedge_players_dropped_total %llu\n"
        "# TYPE livedge_bad_clients_total counter\n"
        "livedge_bad_clients_total %llu\n"
        "# TYPE livedge_redis_up gauge\n"
        "livedge_redis_up %d\n"
        "# TYPE livedge_redis_writes_queued gauge\n"
        "livedge_redis_writes_queued %llu\n"
        "# TYPE livedge_redis_writes_dropped_total counter\n"
        "livedge_redis_writes_dropped_total %llu\n"
        "# TYPE livedge_redis_reconnects_total counter\n"
        "livedge_redis_reconnects_total %llu\n"
        "# TYPE livedge_tls_handshakes_total counter\n"
        "livedge_tls_handshakes_total %llu\n"
        "# TYPE livedge_tls_handshake_failures_total counter\n"
        "livedge_tls_handshake_failures_total %llu\n"
        "# TYPE livedge_tls_certificates gauge\n"
        "livedge_tls_certificates %llu\n",
        (unsigned long long)stats.conns_rtmp, (unsigned long long)stats.conns_http,
        (unsigned long long)stats.conns_total, le_stream_count_live(),
        (unsigned long long)stats.bytes_in, (unsigned long long)stats.bytes_out,
        (unsigned long long)stats.players_dropped, (unsigned long long)stats.bad_clients,
        le_store_connected(), (unsigned long long)ss->writes_queued_now,
        (unsigned long long)ss->writes_dropped, (unsigned long long)ss->connects,
        (unsigned long long)ts->handshakes, (unsigned long long)ts->failures,
        (unsigned long long)ts->installed);
}

/* Polls every 100 ms after SIGTERM: the loop ends once the callbacks are
 * done (but not before STOP_MIN_MS, the moment outstanding writes get), or
 * at STOP_NOTIFY_MS whatever is left (le_notify_free logs it). */
static void stop_poll_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    uint64_t t = le_mono_ms() - stop_began_ms;
    if ((t >= STOP_MIN_MS && le_notify_pending() == 0 && le_recn_pending() == 0) || t >= STOP_NOTIFY_MS)
        event_base_loopexit(base, NULL);
}

static void stop(void)
{
    if (stopping)
        return;
    stopping = 1;
    le_info(MOD, "stopping");
    le_sd_notify("STOPPING=1");
    le_rtmp_shutdown();
    le_http_shutdown();
    le_admin_shutdown();
    le_pull_shutdown();   /* pulls end (publish_done) and give their leases back */
    le_caster_shutdown(); /* casters too: their outputs end, their leases go back */
    le_carousel_shutdown();
    le_notify_stop();
    stop_began_ms = le_mono_ms();
    le_record_stop(STOP_RECORD_MS);   /* files closed, their callbacks queued */
    stop_ev = event_new(base, -1, EV_PERSIST, stop_poll_cb, NULL);
    struct timeval tv = { 0, 100000 };
    event_add(stop_ev, &tv);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    (void)arg;
    if (sig == SIGHUP)
        reload();
    else
        stop();
}

/* The soft open-file limit is raised to the hard one; out of descriptors the
 * listeners pause accepting (net.h), so a limit below what max_connections
 * needs is worth a warning at start. */
static void fd_limit_check(const le_conf *c)
{
    uint64_t lim = le_net_raise_fd_limit();
    uint64_t need = (uint64_t)c->max_connections + FD_RESERVE;
    if (lim && lim < need)
        le_warn(MOD, "open-file limit %llu is below max_connections %d + %d for admin, redis, files "
                "and listeners: raise it (LimitNOFILE=, ulimit -n) or lower max_connections",
                (unsigned long long)lim, c->max_connections, FD_RESERVE);
}

int le_node_start(le_conf *c, const char *path, char *err, size_t errlen)
{
    int rc;
    conf = c;
    conf_path = path ? le_xstrdup(path) : NULL;
    apply_conf(conf);
    signal(SIGPIPE, SIG_IGN);
    fd_limit_check(conf);
    base = event_base_new();
    if (!base) {
        snprintf(err, errlen, "event_base_new failed");
        return LE_ENOMEM;
    }
    /* TLS before anything listens or connects out: the certificates of the
     * file (livedge.conf(5), TLS), then the outbound settings every client
     * context is made with. */
    if ((rc = le_tls_init(conf, err, errlen)) != 0)
        return rc < 0 ? rc : LE_EINVAL;
    if ((conf->rtmps_listen || conf->https_listen || conf->admin_tls) && !le_tls_ready()) {
        snprintf(err, errlen, "%s needs a default certificate: tls_certificate and tls_certificate_key "
                 "did not load", conf->rtmps_listen ? "rtmps_listen" : conf->https_listen ? "https_listen"
                                                                                          : "admin_tls");
        return LE_EINVAL;
    }
    le_net_client_tls_conf(conf->tls_ca_file, (const char *const *)conf->tls_verify_skip);
    le_stream_set_base(base);
    le_feed_init(base, &le_node_stats_get()->bytes_out);
    le_tap_init(base);
    le_relay_client_init(base);
    le_ingest_init(base);
    le_log_route_libs();
    /* The store first: modules register their connect hooks and channels
     * with it; it connects in the background and never blocks startup. */
    if ((rc = le_store_start(base, conf, err, errlen)) != 0)
        return rc < 0 ? rc : LE_EIO;
    le_domains_init(conf);
    le_certs_init(conf);   /* API certificates: loaded from the store on each connect */
    le_blocklist_init();
    le_cluster_init();
    le_edge_init(base);   /* after the block list: its forbid handlers run second */
    le_notify_init();
    le_pull_init();
    if ((rc = le_hls_init(base, le_node_domain)) != 0)
        return rc;
    le_flv_play_init();
    le_hls_play_init();
    if ((rc = le_timeshift_init(err, errlen)) != 0)
        return rc < 0 ? rc : LE_EIO;
    if ((rc = le_push_init(base)) != 0)
        return rc;
    le_recn_init(base);
    if ((rc = le_s3_init(base, conf, err, errlen)) != 0)
        return rc < 0 ? rc : LE_EIO;
    if ((rc = le_record_init(base, err, errlen)) != 0)
        return rc < 0 ? rc : LE_EIO;
    le_rec_http_init();
    int nthreads = conf->pipeline_threads > 0 ? conf->pipeline_threads : le_pipe_pool_default_threads();
    if ((rc = le_pipe_pool_new(base, nthreads, &pipe_pool)) != 0) {
        snprintf(err, errlen, "cannot start %d media worker threads", nthreads);
        return rc;
    }
    le_rend_opts ro;
    rend_opts(conf, &ro);
    if ((rc = le_rend_init(base, pipe_pool, &ro)) != 0)
        return rc;
    le_caster_opts co;
    caster_opts(conf, &co);
    if ((rc = le_caster_init(base, pipe_pool, &co)) != 0)
        return rc;
    if ((rc = le_carousel_init(base, pipe_pool, &co)) != 0)
        return rc;
    le_hls_master_init();   /* after time-shift's routes */
    if ((rc = le_sei_apply_init()) != 0)   /* AddTrancodeSEI */
        return rc;
    if ((rc = le_snapshot_init(base, err, errlen)) != 0)
        return rc < 0 ? rc : LE_EIO;
    le_actions_register_all();
    le_metrics_add(node_metrics);
    if ((rc = le_rtmp_listen(base, conf->rtmp_listen, err, errlen)) != 0 ||
        (conf->rtmps_listen && (rc = le_rtmps_listen(base, conf->rtmps_listen, err, errlen)) != 0) ||
        (rc = le_http_listen(base, conf->http_listen, err, errlen)) != 0 ||
        (conf->https_listen && (rc = le_https_listen(base, conf->https_listen, err, errlen)) != 0) ||
        (rc = le_admin_listen(base, conf->admin_listen, err, errlen)) != 0)
        return rc;

    sig_hup = evsignal_new(base, SIGHUP, signal_cb, NULL);
    sig_term = evsignal_new(base, SIGTERM, signal_cb, NULL);
    sig_int = evsignal_new(base, SIGINT, signal_cb, NULL);
    evsignal_add(sig_hup, NULL);
    evsignal_add(sig_term, NULL);
    evsignal_add(sig_int, NULL);
    tick_ev = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
    struct timeval one = { 1, 0 };
    event_add(tick_ev, &one);

    watchdog_usec = le_sd_watchdog_usec();
    char tlsports[160] = "";
    if (conf->rtmps_listen)
        snprintf(tlsports, sizeof(tlsports), ", rtmps %s (port %d)", conf->rtmps_listen, le_rtmps_port());
    if (conf->https_listen)
        snprintf(tlsports + strlen(tlsports), sizeof(tlsports) - strlen(tlsports), ", https %s (port %d)",
                 conf->https_listen, le_https_port());
    le_info(MOD, "livedge %s ready: rtmp %s (port %d), http %s (port %d), admin %s (port %d%s)%s",
            PACKAGE_VERSION, conf->rtmp_listen, le_rtmp_port(), conf->http_listen, le_http_port(),
            conf->admin_listen, le_admin_port(), conf->admin_tls ? ", TLS" : "", tlsports);
    le_sd_notify("READY=1");
    if (watchdog_usec) {
        le_sd_notify("WATCHDOG=1");
        watchdog_ev = event_new(base, -1, EV_PERSIST, watchdog_cb, NULL);
        struct timeval half = { (time_t)(watchdog_usec / 2000000), (suseconds_t)(watchdog_usec / 2 % 1000000) };
        event_add(watchdog_ev, &half);
    }
    return 0;
}

int le_node_run(void)
{
    event_base_dispatch(base);
    return 0;
}

void le_node_free(void)
{
    if (!stopping) {
        le_rtmp_shutdown();
        le_http_shutdown();
        le_admin_shutdown();
    }
    le_edge_free();            /* edge pulls end before the streams go */
    le_caster_free();          /* casters before the workers: their engines leave the pool */
    le_carousel_free();
    le_rend_free();            /* renditions too; their jobs leave the workers */
    if (pipe_pool)
        le_pipe_pool_free(pipe_pool);
    pipe_pool = NULL;
    le_pull_free();
    le_notify_free();
    le_timeshift_shutdown();   /* before the streams and the store: last segments, index writes */
    le_push_free();            /* before the streams: its taps detach */
    le_snapshot_free();        /* before the uploads stop: its own uploads end with them */
    le_record_stop(STOP_RECORD_MS);   /* (when not stopped by a signal) */
    le_s3_stop(STOP_S3_MS);    /* unfinished uploads are indexed with local URLs */
    le_record_free();          /* before the streams (taps) and the store (index writes) */
    le_recn_free();
    le_stream_shutdown();
    le_feed_shutdown();
    le_blocklist_free();
    le_cluster_free();
    le_certs_free();
    le_domains_free();
    le_relay_client_free();   /* after every relay owner stopped its clients */
    le_store_stop();
    struct event *evs[] = { tick_ev, watchdog_ev, sig_hup, sig_term, sig_int, stop_ev };
    for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
        if (evs[i])
            event_free(evs[i]);
    if (base)
        event_base_free(base);
    while (retired_confs) {
        retired *r = retired_confs;
        retired_confs = r->next;
        le_conf_free(r->conf);
        free(r);
    }
    le_tls_free();   /* after every connection is gone */
    le_conf_free(conf);
    free(conf_path);
    conf = NULL;
    base = NULL;
}
