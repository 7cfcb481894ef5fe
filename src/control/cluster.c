#include "control/cluster.h"
#include "control/domains.h"
#include "core/err.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "node.h"
#include "relay/client.h"
#include "rtmp/session.h"
#include "store/store.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MOD "cluster"

/* Per-stream record, hung on the stream (its "control" extension slot) while it is live. */
typedef struct rec {
    char client_ip[64], local_ip[64];
    char push_domain[256];
    char source_url[1024];     /* a pulled stream's origin, masked; "" otherwise */
    int transcoded;            /* a rendition (LE_PUB_TRANSCODE) */
    char *hist_json;           /* the pubhist member as written, to replace at stop */
    int64_t start_ms;
    uint64_t last_mono, last_bytes, last_v, last_a;
    le_cluster_rates rates;
} rec;

static uint64_t last_heartbeat, last_minute;
static char online_key[256];

const char *le_cluster_node(void) { return le_node_conf()->node_name; }

const char *le_cluster_rtmp_addr(void)
{
    static char addr[300];
    const le_conf *c = le_node_conf();
    if (c->rtmp_advertise) {
        snprintf(addr, sizeof(addr), "%s", c->rtmp_advertise);
        return addr;
    }
    const char *colon = strrchr(c->rtmp_listen, ':');
    size_t hn = colon ? (size_t)(colon - c->rtmp_listen) : 0;
    char host[256];
    snprintf(host, sizeof(host), "%.*s", (int)hn, c->rtmp_listen);
    if (strcmp(host, "0.0.0.0") == 0 || host[0] == '\0')
        snprintf(host, sizeof(host), "127.0.0.1");
    else if (strcmp(host, "[::]") == 0)
        snprintf(host, sizeof(host), "[::1]");
    int port = colon ? atoi(colon + 1) : 0;
    if (port == 0)
        port = le_rtmp_port();
    snprintf(addr, sizeof(addr), "%s:%d", host, port);
    return addr;
}

/* Refreshes {prefix}nodeaddr:{node} (the heartbeat keeps it alive). */
static void advertise(void)
{
    char key[512], ttl[32];
    le_store_key(key, sizeof(key), "nodeaddr:%s", le_cluster_node());
    snprintf(ttl, sizeof(ttl), "%d", LE_CLUSTER_STALE_MS);
    le_store_write("SET %s %s PX %s", key, le_cluster_rtmp_addr(), ttl);
}

char *le_cluster_fmt_rate(double v, char out[32])
{
    if (!isfinite(v) || v < 0)
        v = 0;
    snprintf(out, 32, "%.2f", v);
    char *dot = strchr(out, '.');
    if (dot) {
        char *e = out + strlen(out);
        while (e > dot + 1 && e[-1] == '0')
            *--e = '\0';
        if (e == dot + 1)
            *dot = '\0';
    }
    return out;
}

double le_cluster_round_rate(double v)
{
    if (!isfinite(v) || v < 0)
        return 0;
    return round(v * 100.0) / 100.0;
}

void le_cluster_trim_history(const char *zkey, int64_t now_ms)
{
    char cutoff[32], rank[32];
    snprintf(cutoff, sizeof(cutoff), "(%" PRId64, (int64_t)(now_ms - LE_CLUSTER_KEEP_MS));
    snprintf(rank, sizeof(rank), "%d", -(LE_CLUSTER_HIST_MAX + 1));
    le_store_write("ZREMRANGEBYSCORE %s -inf %s", zkey, cutoff);
    le_store_write("ZREMRANGEBYRANK %s 0 %s", zkey, rank);
}

static void rec_free(void *p)
{
    rec *r = p;
    free(r->hist_json);
    free(r);
}

static void stream_url(char *out, size_t n, const char *scheme, const le_stream *st, const char *ext)
{
    snprintf(out, n, "%s://%s/%s/%s%s", scheme, le_stream_domain(st), le_stream_app(st),
             le_stream_name(st), ext);
}

/* Where the stream comes from: the origin of a pulled stream, else the
 * RTMP URL it was published to. */
static void publish_url(char *out, size_t n, const le_stream *st, const rec *r)
{
    if (r->source_url[0])
        snprintf(out, n, "%s", r->source_url);
    else
        snprintf(out, n, "rtmp://%s/%s/%s", r->push_domain[0] ? r->push_domain : le_stream_domain(st),
                 le_stream_app(st), le_stream_name(st));
}

static le_jv *history_json(const le_stream *st, const rec *r, int64_t stop_ms)
{
    char url[1024], ts[21];
    le_jv *o = le_jv_obj();
    le_jv_set_str(o, "DomainName", le_stream_domain(st));
    le_jv_set_str(o, "AppName", le_stream_app(st));
    le_jv_set_str(o, "StreamName", le_stream_name(st));
    stream_url(url, sizeof(url), "http", st, ".flv");
    le_jv_set_str(o, "StreamUrl", url);
    le_jv_set_str(o, "PublishTime", le_fmt_utc(r->start_ms, ts));
    le_jv_set_str(o, "StopTime", stop_ms ? le_fmt_utc(stop_ms, ts) : "");
    le_jv_set_str(o, "ClientAddr", r->client_ip);
    le_jv_set_str(o, "EdgeNodeAddr", r->local_ip);
    publish_url(url, sizeof(url), st, r);
    le_jv_set_str(o, "PublishUrl", url);
    le_jv_set_str(o, "PublishDomain", r->push_domain[0] ? r->push_domain : le_stream_domain(st));
    le_jv_set_str(o, "Node", le_cluster_node());
    return o;
}

static char *render(le_jv *o)
{
    le_buf b = { 0 };
    le_jv_to_json(o, &b);
    le_jv_free(o);
    le_buf_u8(&b, 0);
    return (char *)b.p;
}

static void write_online(le_stream *st, rec *r)
{
    char field[900], url[1024], ts[21];
    snprintf(field, sizeof(field), "%s|%s", le_cluster_node(), le_stream_key(st));
    le_jv *o = le_jv_obj();
    le_jv_set_str(o, "DomainName", le_stream_domain(st));
    le_jv_set_str(o, "AppName", le_stream_app(st));
    le_jv_set_str(o, "StreamName", le_stream_name(st));
    le_jv_set_str(o, "PublishTime", le_fmt_utc(r->start_ms, ts));
    publish_url(url, sizeof(url), st, r);
    le_jv_set_str(o, "PublishUrl", url);
    le_jv_set_str(o, "PublishDomain", r->push_domain[0] ? r->push_domain : le_stream_domain(st));
    le_jv_set_str(o, "ClientAddr", r->client_ip);
    le_jv_set_str(o, "EdgeNodeAddr", r->local_ip);
    le_jv_set_str(o, "Node", le_cluster_node());
    le_jv_set_str(o, "Transcoded", r->transcoded ? "yes" : "no");
    le_jv_set_int(o, "Heartbeat", le_wall_ms());
    le_jv_set_int(o, "UserNum", le_stream_viewers(st));
    le_jv_set_num(o, "VideoFrameRate", le_cluster_round_rate(r->rates.video_fps));
    le_jv_set_num(o, "AudioFrameRate", le_cluster_round_rate(r->rates.audio_fps));
    le_jv_set_num(o, "BitRate", le_cluster_round_rate(r->rates.bitrate_kbps));
    const le_stream_stats *ss = le_stream_get_stats(st);
    le_jv_set_int(o, "Width", (int64_t)ss->width);
    le_jv_set_int(o, "Height", (int64_t)ss->height);
    le_jv_set_int(o, "VideoCodecId", ss->video_codec);   /* FLV codec ids, as the cloud's */
    le_jv_set_int(o, "AudioCodecId", ss->audio_codec);
    char *json = render(o);
    le_store_write("HSET %s %s %s", online_key, field, json);
    free(json);
}

/* The stream's extension slot for rec, registered on first use. */
static int ext_slot(void)
{
    static int slot = LE_ENOTFOUND;
    if (slot < 0)
        slot = le_stream_ext_register("control");
    return slot;
}

void le_cluster_started(le_stream *st, const le_pub_info *info)
{
    rec *r = le_xcalloc(1, sizeof(*r));
    snprintf(r->client_ip, sizeof(r->client_ip), "%s", info->client_ip ? info->client_ip : "");
    snprintf(r->local_ip, sizeof(r->local_ip), "%s", info->local_ip ? info->local_ip : "");
    snprintf(r->push_domain, sizeof(r->push_domain), "%s", info->push_domain ? info->push_domain : "");
    if (info->source_url && *info->source_url)
        le_relay_mask_url(info->source_url, r->source_url, sizeof(r->source_url));
    r->start_ms = le_wall_ms();
    r->last_mono = le_mono_ms();
    r->transcoded = info->kind == LE_PUB_TRANSCODE;
    if (le_stream_set_ext(st, ext_slot(), r, rec_free) != LE_OK) {
        rec_free(r);
        return;
    }

    char zkey[512], score[32];
    r->hist_json = render(history_json(st, r, 0));
    le_store_key(zkey, sizeof(zkey), "pubhist:%s", le_stream_domain(st));
    snprintf(score, sizeof(score), "%" PRId64, r->start_ms);
    le_store_write("ZADD %s %s %s", zkey, score, r->hist_json);
    le_cluster_trim_history(zkey, r->start_ms);
    write_online(st, r);
}

void le_cluster_ended(le_stream *st)
{
    rec *r = le_stream_ext(st, ext_slot());
    if (!r)
        return;
    char zkey[512], score[32], field[900];
    le_store_key(zkey, sizeof(zkey), "pubhist:%s", le_stream_domain(st));
    snprintf(score, sizeof(score), "%" PRId64, r->start_ms);
    char *done = render(history_json(st, r, le_wall_ms()));
    le_store_write("ZREM %s %s", zkey, r->hist_json);
    le_store_write("ZADD %s %s %s", zkey, score, done);
    free(done);
    snprintf(field, sizeof(field), "%s|%s", le_cluster_node(), le_stream_key(st));
    le_store_write("HDEL %s %s", online_key, field);
    le_stream_set_ext(st, ext_slot(), NULL, NULL);
}

int le_cluster_rates_get(const le_stream *st, le_cluster_rates *out)
{
    rec *r = le_stream_ext(st, ext_slot());
    if (!r)
        return LE_ENOTFOUND;
    *out = r->rates;
    return 0;
}

static void sample_rates(le_stream *st, void *arg)
{
    (void)arg;
    rec *r = le_stream_ext(st, ext_slot());
    if (!r || !le_stream_is_live(st))
        return;
    uint64_t now = le_mono_ms();
    const le_stream_stats *ss = le_stream_get_stats(st);
    double secs = (double)(now - r->last_mono) / 1000.0;
    if (secs >= 1.0) {
        r->rates.bitrate_kbps = (double)(ss->bytes_in - r->last_bytes) * 8.0 / 1000.0 / secs;
        r->rates.video_fps = (double)(ss->video_frames - r->last_v) / secs;
        r->rates.audio_fps = (double)(ss->audio_frames - r->last_a) / secs;
        r->last_bytes = ss->bytes_in;
        r->last_v = ss->video_frames;
        r->last_a = ss->audio_frames;
        r->last_mono = now;
    }
    write_online(st, r);
}

static void minute_sample(le_stream *st, void *arg)
{
    int64_t minute = *(int64_t *)arg;
    rec *r = le_stream_ext(st, ext_slot());
    if (!r || !le_stream_is_live(st))
        return;
    char key[900], url[1024], ts[21], score[32], set[512], member[600], cutoff[32];
    snprintf(score, sizeof(score), "%" PRId64, minute);
    snprintf(cutoff, sizeof(cutoff), "%" PRId64, (int64_t)(minute - LE_CLUSTER_KEEP_MS));
    le_jv *o = le_jv_obj();
    stream_url(url, sizeof(url), "rtmp", st, "");
    le_jv_set_str(o, "StreamUrl", url);
    le_jv_set_num(o, "VideoFrameRate", le_cluster_round_rate(r->rates.video_fps));
    le_jv_set_num(o, "AudioFrameRate", le_cluster_round_rate(r->rates.audio_fps));
    le_jv_set_num(o, "BitRate", le_cluster_round_rate(r->rates.bitrate_kbps));
    le_jv_set_str(o, "Time", le_fmt_utc(minute, ts));
    le_jv_set_str(o, "Node", le_cluster_node());
    char *json = render(o);
    le_store_key(key, sizeof(key), "bitrate:%s", le_stream_key(st));
    le_store_write("ZADD %s %s %s", key, score, json);
    le_store_write("ZREMRANGEBYSCORE %s -inf (%s", key, cutoff);
    free(json);
    le_store_key(key, sizeof(key), "usernum:%s", le_stream_key(st));
    snprintf(member, sizeof(member), "%" PRId64 "|%s|%d", minute, le_cluster_node(), le_stream_viewers(st));
    le_store_write("ZADD %s %s %s", key, score, member);
    le_store_write("ZREMRANGEBYSCORE %s -inf (%s", key, cutoff);
    le_store_key(set, sizeof(set), "sampled:%s", le_stream_domain(st));
    snprintf(member, sizeof(member), "%s/%s", le_stream_app(st), le_stream_name(st));
    le_store_write("ZADD %s %s %s", set, score, member);
    le_store_write("ZREMRANGEBYSCORE %s -inf (%s", set, cutoff);
}

void le_cluster_tick(void)
{
    uint64_t now = le_mono_ms();
    if (now - last_heartbeat >= LE_CLUSTER_HEARTBEAT_MS) {
        last_heartbeat = now;
        advertise();
        le_stream_foreach(sample_rates, NULL);
    }
    int64_t minute = le_wall_ms() / 60000 * 60000;
    if ((uint64_t)minute != last_minute) {
        if (last_minute)
            le_stream_foreach(minute_sample, &minute);
        last_minute = (uint64_t)minute;
    }
}

static void store_event(int connected, void *arg)
{
    (void)arg;
    /* After an outage (or a Redis restart) our entries are re-announced
     * at once rather than at the next heartbeat. */
    if (connected) {
        advertise();
        le_stream_foreach(sample_rates, NULL);
    }
}

void le_cluster_init(void)
{
    le_store_key(online_key, sizeof(online_key), "online");
    le_store_on_event(store_event, NULL);
}

void le_cluster_free(void) {}
