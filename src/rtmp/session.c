/* RTMP connections. One le_rtmp_conn per TCP connection: handshake, then the
 * chunk stream, commands, and the publisher role (control/publish.h) or the
 * player role on the stream registry. Accepting, limits and lifetimes are
 * net/net.h's: a connection is never freed inside its own callback or while
 * the stream iterates subscribers; conn_close() marks it and the reaper
 * frees it.
 *
 * What a peer can hold: message reassembly is bounded per connection (a few
 * KiB until it publishes, RTMP_PUB_MSGS messages after) and node-wide
 * (rtmp_input_budget); unread replies stop reading (net.h's output bound). */
#include "rtmp/session.h"
#include "media/amf.h"
#include "rtmp/chunk.h"
#include "rtmp/handshake.h"
#include "rtmp/msg.h"
#include "media/stream.h"
#include "media/pkt.h"
#include "media/feed.h"
#include "auth/access.h"
#include "control/publish.h"
#include "control/want.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "net/net.h"
#include "node.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MOD "rtmp"
#define PLAY_MSID 1           /* the one message stream we hand out */
#define WINDOW_ACK 2500000u
/* Reassembly a connection may hold before it publishes: only commands flow
 * then, and a connect with a long tcUrl is under 2 KiB. */
#define RTMP_CMD_BUDGET (16u * 1024)
/* ... and once it publishes: this many messages of rtmp_max_message (audio,
 * video and data interleave on their own chunk streams). */
#define RTMP_PUB_MSGS 3
#define RTMP_MAX_CSIDS 64
#define OUT_HIGH (1u << 20)    /* unsent replies over this stop reading */
#define OUT_LOW (256u << 10)

enum { ST_C0C1 = 0, ST_C2, ST_ACTIVE };
enum { ROLE_NONE = 0, ROLE_PUBLISHER, ROLE_PLAYER };

typedef struct le_rtmp_conn {
    le_net_conn *nc;
    uint64_t id;               /* copies of nc's, for logs */
    struct bufferevent *bev;
    char peer[64];             /* "ip:port" for logs */
    char peer_ip[INET6_ADDRSTRLEN];
    char local_ip[INET6_ADDRSTRLEN];
    int state;                 /* ST_* handshake progress */
    int role;
    int closing;               /* marked; the net reaper frees it */
    int flush_close;           /* close once output drains */
    uint64_t flush_deadline_ms;  /* monotonic; a peer that will not read is cut */
    uint64_t created_ms;       /* monotonic */
    uint64_t last_in_ms;       /* monotonic, last bytes from the peer */
    le_chunk_reader *rd;
    int rd_publish;            /* rd has the publisher's budget */
    uint32_t peer_ack_window;  /* peer's WindowAckSize: we ack after this many bytes */
    uint64_t bytes_in, acked_in;

    /* From connect. */
    char app[256];
    char tcurl[1024];
    char query[1024];          /* query from tcUrl/app, used as usrargs fallback */
    char host[256];            /* host of tcUrl or vhost: the push domain if is_push */
    const le_conf_domain *dom;
    int is_push;
    double objenc;

    /* Publisher or player. */
    le_stream *st;             /* the player's stream, or pub.st */
    le_publish pub;            /* the publisher's publish (control/publish.h) */
    le_sub sub;                /* player's subscription */
    int unpublished;           /* the publisher ended the stream itself */
    int waiting;               /* player held for an edge pull: no Play.Start yet */
    char usrargs[1024];
} le_rtmp_conn;

/* rtmp_listen, and rtmps_listen (the same sessions over TLS; NULL: off). */
enum { LIS_PLAIN = 0, LIS_TLS, LIS_N };
static le_net_listener *listeners[LIS_N];
static le_chunk_budget input_budget;   /* node-wide reassembly; max from the conf */

static void conn_close(le_rtmp_conn *c, const char *why);
static void close_after_flush(le_rtmp_conn *c);

/* ---- output helpers ---- */

static uint32_t out_chunk_size(void)
{
    return le_node_conf()->rtmp_chunk_size;
}

/* Every message the session writes itself goes through here: after what a
 * partial feed write left in the log (le_feed_unlag), never inside it. */
static struct evbuffer *out_buf(le_rtmp_conn *c)
{
    le_feed_unlag(&c->sub.rd);
    return bufferevent_get_output(c->bev);
}

static void send_body(le_rtmp_conn *c, uint32_t csid, uint8_t type, uint32_t msid, le_buf *b)
{
    le_rtmp_put_body(out_buf(c), out_chunk_size(), csid, type, msid, b);
    le_buf_free(b);
}

static void send_user_ctrl(le_rtmp_conn *c, uint16_t ev, uint32_t v)
{
    le_rtmp_put_user_ctrl(out_buf(c), out_chunk_size(), ev, v);
}

/* onStatus on the play/publish message stream; details is the stream name
 * (NULL: none). */
static void send_status_d(le_rtmp_conn *c, const char *level, const char *code, const char *desc,
                          const char *details)
{
    le_buf b = { 0 };
    le_rtmp_amf_status(&b, level, code, desc, details);
    send_body(c, LE_RTMP_CSID_CMD, LE_MSG_AMF0_CMD, PLAY_MSID, &b);
}

static void send_status(le_rtmp_conn *c, const char *level, const char *code, const char *desc)
{
    send_status_d(c, level, code, desc, c->st ? le_stream_name(c->st) : NULL);
}

static void send_result_simple(le_rtmp_conn *c, double txn, int with_number, double number)
{
    le_buf b = { 0 };
    le_rtmp_amf_result(&b, txn, with_number, number);
    send_body(c, LE_RTMP_CSID_CMD, LE_MSG_AMF0_CMD, 0, &b);
}

/* Stops reading and closes once the output is on the wire (or after 5 s). */
static void close_after_flush(le_rtmp_conn *c)
{
    if (c->flush_close || c->closing)
        return;
    c->flush_close = 1;
    c->flush_deadline_ms = le_mono_ms() + 5000;
    c->sub.rd.stopped = 1;   /* a player gets no media after its end notices */
    le_net_conn_want_read(c->nc, 0);
    /* Already empty: the write callback would never run. */
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
        conn_close(c, c->role == ROLE_PLAYER ? "play finished" : "refused");
}

/* Sends a status error and closes once it is on the wire. */
static void refuse_d(le_rtmp_conn *c, const char *code, const char *desc, const char *why, const char *details)
{
    le_info(MOD, "conn %llu %s: refused %s: %s", (unsigned long long)c->id, c->peer, code, why);
    send_status_d(c, "error", code, desc, details);
    close_after_flush(c);
}

static void refuse(le_rtmp_conn *c, const char *code, const char *desc, const char *why)
{
    refuse_d(c, code, desc, why, c->st ? le_stream_name(c->st) : NULL);
}

/* ---- player side ---- */

/* The RTMP feed: every player's media chunks are these bytes (fixed chunk
 * size, absolute timestamps, one message stream id), encoded once. */
static uint32_t media_csid(const le_pkt *p)
{
    return p->type == LE_PKT_AUDIO ? LE_RTMP_CSID_AUDIO
           : p->type == LE_PKT_VIDEO ? LE_RTMP_CSID_VIDEO : LE_RTMP_CSID_DATA;
}

static size_t feed_size(const le_pkt *p, uint32_t ts)
{
    return le_chunk_write_size(media_csid(p), ts, p->len, out_chunk_size());
}

static size_t feed_write(uint8_t *dst, const le_pkt *p, uint32_t ts)
{
    return le_chunk_write(dst, feed_size(p, ts), media_csid(p), p->type, ts, PLAY_MSID, p->data, p->len,
                          out_chunk_size());
}

static const le_feed_fmt rtmp_feed = { LE_FEED_RTMP, feed_size, feed_write };

static void player_drop(le_feed_reader *r, void *ctx)
{
    (void)r;
    le_node_stats_get()->players_dropped++;
    conn_close(ctx, "player too far behind");
}

static void send_play_start(le_rtmp_conn *c);

static void player_unpublish(le_sub *s)
{
    le_rtmp_conn *c = s->ctx;
    if (c->closing || c->flush_close)
        return;
    if (c->waiting) {   /* the edge pull never came (relay/edge.h) */
        c->waiting = 0;
        refuse(c, "NetStream.Play.StreamNotFound", "No such stream", "not live within edge_wait or transcode_wait");
        return;
    }
    le_feed_flush(&c->sub.rd);   /* the last frames go before the end notices */
    send_user_ctrl(c, LE_RTMP_UC_STREAM_EOF, PLAY_MSID);
    send_status(c, "status", "NetStream.Play.UnpublishNotify", "stream is unpublished");
    send_status(c, "status", "NetStream.Play.Stop", "stopped playing");
    close_after_flush(c);
}

/* A held player's stream got its publisher: it starts playing now. */
static void player_publish(le_sub *s)
{
    le_rtmp_conn *c = s->ctx;
    if (c->waiting && !c->closing && !c->flush_close) {
        c->waiting = 0;
        le_info(MOD, "conn %llu %s: play %s (waited)", (unsigned long long)c->id, c->peer,
                le_stream_key(c->st));
        send_play_start(c);
    }
}

static const le_sub_ops player_ops = {
    .packet = NULL,
    .unpublish = player_unpublish,
    .publish = player_publish,
};

/* ---- publisher side ---- */

static void stop_role(le_rtmp_conn *c, const char *reason);

static void publisher_kick(void *ctx, const char *reason)
{
    le_rtmp_conn *c = ctx;
    stop_role(c, reason);
    conn_close(c, reason);
}

static const le_pub_ops publisher_ops = { .kick = publisher_kick };

/* Ends the publisher or player role; for a publisher this is the one place
 * its publish ends (le_publish_end, exactly once). A publisher that
 * unpublished ends its players at once; one that dropped leaves them
 * waiting for the next (publish_reconnect_grace). */
static void stop_role(le_rtmp_conn *c, const char *reason)
{
    if (c->role == ROLE_PUBLISHER && c->pub.st) {
        le_info(MOD, "conn %llu %s: unpublish %s: %s", (unsigned long long)c->id, c->peer,
                le_stream_key(c->pub.st), reason);
        le_publish_end(&c->pub, c->unpublished ? LE_PUB_END_UNPUBLISHED : LE_PUB_END_DROPPED, reason);
        c->unpublished = 0;
    } else if (c->role == ROLE_PLAYER) {
        le_stream_detach(&c->sub);
    }
    c->role = ROLE_NONE;
    c->st = NULL;
}

/* ---- command handling ---- */

/* Splits "name?query" in place; returns the query or "". */
static char *split_query(char *s)
{
    char *q = strchr(s, '?');
    if (!q)
        return s + strlen(s);
    *q = '\0';
    return q + 1;
}

/* Host of "rtmp://host[:port]/app...", into out. */
static void tcurl_host(const char *tcurl, char *out, size_t outsz)
{
    out[0] = '\0';
    const char *p = strstr(tcurl, "://");
    if (!p)
        return;
    p += 3;
    size_t n = strcspn(p, "/?");
    const char *h = p;
    if (*h == '[') {           /* [v6]:port */
        const char *e = memchr(h, ']', n);
        if (!e)
            return;
        h++;
        n = (size_t)(e - h);
    } else {
        const char *colon = memchr(h, ':', n);
        if (colon)
            n = (size_t)(colon - h);
    }
    if (n >= outsz)
        n = outsz - 1;
    memcpy(out, h, n);
    out[n] = '\0';
}

static void on_connect(le_rtmp_conn *c, double txn, const le_amf_val *cmdobj)
{
    char host[256], vhost[256];
    if (c->state != ST_ACTIVE || c->app[0]) {
        conn_close(c, "connect twice");
        return;
    }
    if (le_amf_str_copy(le_amf_prop_get(cmdobj, "app"), c->app, sizeof(c->app)) < 0)
        c->app[0] = '\0';
    if (le_amf_str_copy(le_amf_prop_get(cmdobj, "tcUrl"), c->tcurl, sizeof(c->tcurl)) < 0)
        c->tcurl[0] = '\0';
    const le_amf_val *oe = le_amf_prop_get(cmdobj, "objectEncoding");
    c->objenc = oe && oe->type == LE_AMF_NUMBER ? oe->num : 0;

    /* "live?vhost=x" in app, or "rtmp://h/live?x=y" in tcUrl. */
    char *aq = split_query(c->app);
    char tq[1024];
    snprintf(tq, sizeof(tq), "%s", c->tcurl);
    char *tqq = split_query(tq);
    snprintf(c->query, sizeof(c->query), "%s", *aq ? aq : tqq);
    /* A trailing slash in app ("live/") is what some encoders send. */
    size_t al = strlen(c->app);
    while (al > 0 && c->app[al - 1] == '/')
        c->app[--al] = '\0';

    tcurl_host(c->tcurl, host, sizeof(host));
    int has_vhost = le_query_get(c->query, strlen(c->query), "vhost", vhost, sizeof(vhost)) >= 0;
    c->dom = le_node_resolve_domain(has_vhost ? vhost : NULL, host, &c->is_push);
    snprintf(c->host, sizeof(c->host), "%s", has_vhost ? vhost : host);

    char esc[300];
    if (!le_name_valid(c->app, strlen(c->app))) {
        le_info(MOD, "conn %llu %s: connect refused: bad app name \"%s\"", (unsigned long long)c->id,
                c->peer, le_log_esc(c->app, strlen(c->app), esc, sizeof(esc)));
    } else if (!c->dom) {
        le_info(MOD, "conn %llu %s: connect refused: unknown or offline domain \"%s\"",
                (unsigned long long)c->id, c->peer,
                le_log_esc(has_vhost ? vhost : host, strlen(has_vhost ? vhost : host), esc, sizeof(esc)));
    }
    if (!c->dom || !le_name_valid(c->app, strlen(c->app))) {
        le_buf b = { 0 };
        le_rtmp_amf_error(&b, txn, "NetConnection.Connect.Rejected", "Connection rejected.");
        send_body(c, LE_RTMP_CSID_CMD, LE_MSG_AMF0_CMD, 0, &b);
        close_after_flush(c);
        return;
    }

    /* The whole reply in one write: window, bandwidth, chunk size, result. */
    struct evbuffer *out = out_buf(c);
    uint32_t cs = out_chunk_size();
    le_rtmp_put_ctrl32(out, cs, LE_MSG_WINDOW_ACK_SIZE, WINDOW_ACK);
    le_rtmp_put_peer_bw(out, cs, WINDOW_ACK, LE_RTMP_BW_DYNAMIC);
    le_rtmp_put_ctrl32(out, cs, LE_MSG_SET_CHUNK_SIZE, cs);

    le_buf b = { 0 };
    le_rtmp_amf_connect_result(&b, txn, c->objenc);
    send_body(c, LE_RTMP_CSID_CMD, LE_MSG_AMF0_CMD, 0, &b);
    le_debug(MOD, "conn %llu %s: connect app=%s domain=%s", (unsigned long long)c->id, c->peer,
             c->app, c->dom->name);
}

/* Stream name from publish/play: "name?args". Fills name and usrargs.
 * LE_EINVAL: no valid name; LE_ENOTFOUND: its vhost is no online domain. */
static int take_stream_name(le_rtmp_conn *c, const le_amf_val *v, char *name, size_t namesz)
{
    char raw[1024];
    name[0] = '\0';
    if (le_amf_str_copy(v, raw, sizeof(raw)) < 0)
        return LE_EINVAL;
    char *q = split_query(raw);
    snprintf(name, namesz, "%s", raw);
    snprintf(c->usrargs, sizeof(c->usrargs), "%s", *q ? q : c->query);
    /* ffmpeg and OBS put the URL's query on the stream name, so a vhost
     * there decides the domain (livedge(8), URLS SERVED), over what connect
     * resolved. */
    char vhost[256];
    if (*q && le_query_get(q, strlen(q), "vhost", vhost, sizeof(vhost)) >= 0) {
        c->dom = le_node_resolve_domain(vhost, NULL, &c->is_push);
        snprintf(c->host, sizeof(c->host), "%s", vhost);
        if (!c->dom)
            return LE_ENOTFOUND;
    }
    return le_name_valid(name, strlen(name)) ? LE_OK : LE_EINVAL;
}

static void on_publish(le_rtmp_conn *c, const le_amf_val *namev)
{
    char name[300], esc[300];
    if (!c->dom || c->role != ROLE_NONE) {
        conn_close(c, "publish without connect or twice");
        return;
    }
    int nrc = take_stream_name(c, namev, name, sizeof(name));
    if (nrc < 0) {
        refuse(c, "NetStream.Publish.BadName", nrc == LE_ENOTFOUND ? "unknown domain" : "invalid stream name",
               nrc == LE_ENOTFOUND ? "unknown or offline vhost" : le_log_esc(name, strlen(name), esc, sizeof(esc)));
        return;
    }
    le_pub_info info = {
        .kind = LE_PUB_RTMP, .client_ip = c->peer_ip, .local_ip = c->local_ip,
        .push_domain = c->is_push ? c->host : NULL, .usrargs = c->usrargs, .conn_id = c->id,
    };
    char why[256];
    int rc = le_publish_begin(&c->pub, c->dom, c->app, name, &info, &publisher_ops, c, why, sizeof(why));
    if (rc == LE_EEXIST) {
        refuse_d(c, "NetStream.Publish.BadName", "Stream already publishing", why, name);
        return;
    }
    if (rc != LE_OK) {
        refuse(c, "NetStream.Publish.BadName", "publish refused", why);
        return;
    }
    c->role = ROLE_PUBLISHER;
    c->st = c->pub.st;
    le_info(MOD, "conn %llu %s: publish %s", (unsigned long long)c->id, c->peer, le_stream_key(c->st));
    send_user_ctrl(c, LE_RTMP_UC_STREAM_BEGIN, PLAY_MSID);
    send_status(c, "status", "NetStream.Publish.Start", "Start publishing");
}

static void on_play(le_rtmp_conn *c, const le_amf_val *namev)
{
    char name[300], esc[300];
    if (!c->dom || c->role != ROLE_NONE) {
        conn_close(c, "play without connect or twice");
        return;
    }
    int nrc = take_stream_name(c, namev, name, sizeof(name));
    if (nrc < 0) {
        refuse(c, nrc == LE_ENOTFOUND ? "NetStream.Play.Failed" : "NetStream.Play.StreamNotFound",
               nrc == LE_ENOTFOUND ? "unknown domain" : "invalid stream name",
               nrc == LE_ENOTFOUND ? "unknown or offline vhost" : le_log_esc(name, strlen(name), esc, sizeof(esc)));
        return;
    }
    /* IP lists, domain online, URL auth (auth/access.h); the reason goes
     * to the log only. */
    char why[256];
    if (le_access_check_play(c->dom, c->peer_ip, c->app, name, c->usrargs, le_wall_ms() / 1000, why,
                             sizeof(why)) != 0) {
        refuse(c, "NetStream.Play.Failed", "play refused", why);
        return;
    }
    le_stream *st = le_stream_find(c->dom->name, c->app, name, 0);
    /* Not live here: an edge pull or a rendition may make it (control/want.h). */
    if (!le_stream_is_live(st) && le_want_stream(c->dom, c->app, name))
        c->waiting = (st = le_stream_find(c->dom->name, c->app, name, 0)) != NULL;
    if (!le_stream_is_live(st) && !c->waiting) {
        char key[600];
        snprintf(key, sizeof(key), "%s/%s/%s", c->dom->name, c->app, name);
        refuse(c, "NetStream.Play.StreamNotFound", "No such stream", key);
        return;
    }
    c->role = ROLE_PLAYER;
    c->st = st;
    if (c->waiting) {
        le_info(MOD, "conn %llu %s: play %s waits for the stream (edge pull or rendition)",
                (unsigned long long)c->id, c->peer, le_stream_key(st));
    } else {
        le_info(MOD, "conn %llu %s: play %s", (unsigned long long)c->id, c->peer, le_stream_key(st));
        send_play_start(c);
    }

    memset(&c->sub, 0, sizeof(c->sub));
    c->sub.ops = &player_ops;
    c->sub.ctx = c;
    c->sub.is_player = 1;
    c->sub.fmt = &rtmp_feed;
    c->sub.rd.out = bufferevent_get_output(c->bev);
    /* Over TLS every byte goes through the bufferevent's encryption. */
    c->sub.rd.fd = le_net_conn_tls(c->nc) ? -1 : bufferevent_getfd(c->bev);
    c->sub.rd.drop = player_drop;
    c->sub.rd.ctx = c;
    le_stream_attach(st, &c->sub);
}

/* Status replies before the cached headers and GOP, in the same write. */
static void send_play_start(le_rtmp_conn *c)
{
    send_user_ctrl(c, LE_RTMP_UC_STREAM_BEGIN, PLAY_MSID);
    send_status(c, "status", "NetStream.Play.Reset", "Playing and resetting stream.");
    send_status(c, "status", "NetStream.Play.Start", "Started playing stream.");
    le_buf b = { 0 };
    le_rtmp_amf_sample_access(&b);
    send_body(c, LE_RTMP_CSID_DATA, LE_MSG_AMF0_DATA, PLAY_MSID, &b);
}

static void on_command(le_rtmp_conn *c, const uint8_t *data, uint32_t len)
{
    le_amf_doc doc;
    int rc = le_amf_decode(data, len, &doc);
    if (rc != 0 || doc.nvals < 2 || doc.vals[0]->type != LE_AMF_STRING ||
        doc.vals[1]->type != LE_AMF_NUMBER) {
        le_amf_doc_free(&doc);
        le_node_stats_get()->bad_clients++;
        conn_close(c, rc == LE_EDEPTH ? "AMF0 command nested too deep"
                    : rc != 0 ? "malformed AMF0 command" : "command without name or transaction");
        return;
    }
    const le_amf_val *name = doc.vals[0];
    double txn = doc.vals[1]->num;
    const le_amf_val *arg3 = doc.nvals > 3 ? doc.vals[3] : NULL;

    if (le_amf_str_eq(name, "connect")) {
        on_connect(c, txn, doc.nvals > 2 ? doc.vals[2] : NULL);
    } else if (c->state == ST_ACTIVE && !c->app[0]) {
        conn_close(c, "command before connect");
    } else if (le_amf_str_eq(name, "createStream")) {
        send_result_simple(c, txn, 1, PLAY_MSID);
    } else if (le_amf_str_eq(name, "releaseStream") || le_amf_str_eq(name, "FCPublish") ||
               le_amf_str_eq(name, "getStreamLength") || le_amf_str_eq(name, "FCSubscribe")) {
        if (txn != 0)
            send_result_simple(c, txn, 0, 0);
    } else if (le_amf_str_eq(name, "publish")) {
        on_publish(c, arg3);
    } else if (le_amf_str_eq(name, "play")) {
        on_play(c, arg3);
    } else if (le_amf_str_eq(name, "FCUnpublish") || le_amf_str_eq(name, "deleteStream") ||
               le_amf_str_eq(name, "closeStream")) {
        if (c->role == ROLE_PUBLISHER) {
            send_status(c, "status", "NetStream.Unpublish.Success", "Stop publishing");
            c->unpublished = 1;
            stop_role(c, "client unpublished");
        } else if (c->role == ROLE_PLAYER && !le_amf_str_eq(name, "FCUnpublish")) {
            stop_role(c, "client stopped playing");
        }
    } else {
        char esc[80];
        le_debug(MOD, "conn %llu: ignoring command \"%s\"", (unsigned long long)c->id,
                 le_log_esc(name->str, name->str_len, esc, sizeof(esc)));
    }
    le_amf_doc_free(&doc);
}

/* "@setDataFrame", "onMetaData", {...} becomes "onMetaData", {...}: what
 * players expect to receive. */
static void on_data(le_rtmp_conn *c, const le_rtmp_msg *m)
{
    const uint8_t *d;
    uint32_t n;
    if (c->role != ROLE_PUBLISHER || !c->st)
        return;
    if (!le_rtmp_meta_body(m->data, m->len, &d, &n))
        return;   /* other data messages are not forwarded */
    le_pkt *p = le_pkt_new(LE_PKT_DATA, m->ts, d, n);
    le_stream_push(c->st, p);
    le_pkt_unref(p);
}

static void on_media(le_rtmp_conn *c, uint8_t type, uint32_t ts, const uint8_t *d, uint32_t n)
{
    if (c->role != ROLE_PUBLISHER || !c->st || n == 0)
        return;
    le_pkt *p = le_pkt_new(type, ts, d, n);
    le_stream_push(c->st, p);
    le_pkt_unref(p);
}

/* Aggregate message: a run of FLV tags; their timestamps are relative to
 * the first one's, rebased on the message's own. */
static void on_aggregate(le_rtmp_conn *c, const le_rtmp_msg *m)
{
    uint32_t off = 0, base = 0;
    le_rtmp_agg_tag t;
    while (le_rtmp_agg_next(m->data, m->len, m->ts, &off, &base, &t))
        if (t.type == LE_PKT_AUDIO || t.type == LE_PKT_VIDEO)
            on_media(c, t.type, t.ts, t.data, t.len);
}

static void on_message(le_rtmp_conn *c, const le_rtmp_msg *m)
{
    switch (m->type) {
    case LE_MSG_SET_CHUNK_SIZE:
        if (m->len < 4 || le_chunk_reader_set_chunk_size(c->rd, le_rd_be32(m->data) & 0xffffffffu) != 0) {
            le_node_stats_get()->bad_clients++;
            conn_close(c, "invalid SetChunkSize");
        }
        break;
    case LE_MSG_ABORT:
        if (m->len >= 4)
            le_chunk_reader_abort(c->rd, le_rd_be32(m->data));
        break;
    case LE_MSG_WINDOW_ACK_SIZE:
        if (m->len >= 4)
            c->peer_ack_window = le_rd_be32(m->data);
        break;
    case LE_MSG_USER_CONTROL:
        if (m->len >= 6 && le_rd_be16(m->data) == LE_RTMP_UC_PING_REQUEST)
            send_user_ctrl(c, LE_RTMP_UC_PING_RESPONSE, le_rd_be32(m->data + 2));
        break;
    case LE_MSG_AMF0_CMD:
        on_command(c, m->data, m->len);
        break;
    case LE_MSG_AMF3_CMD:
        if (m->len >= 1)
            on_command(c, m->data + 1, m->len - 1);
        break;
    case LE_MSG_AMF0_DATA:
        on_data(c, m);
        break;
    case LE_MSG_AUDIO:
    case LE_MSG_VIDEO:
        on_media(c, m->type, m->ts, m->data, m->len);
        break;
    case LE_MSG_AGGREGATE:
        on_aggregate(c, m);
        break;
    default:
        break;
    }
}

/* ---- I/O ---- */

static void maybe_ack(le_rtmp_conn *c)
{
    uint32_t win = c->peer_ack_window ? c->peer_ack_window : WINDOW_ACK;
    if (c->bytes_in - c->acked_in >= win) {
        le_rtmp_put_ctrl32(out_buf(c), out_chunk_size(), LE_MSG_ACK, (uint32_t)c->bytes_in);
        c->acked_in = c->bytes_in;
    }
}

static int do_handshake(le_rtmp_conn *c, struct evbuffer *in)
{
    if (c->state == ST_C0C1) {
        if (evbuffer_get_length(in) < 1)
            return 0;
        uint8_t v;
        evbuffer_copyout(in, &v, 1);
        if (v != 3) {
            le_node_stats_get()->bad_clients++;
            conn_close(c, "not an RTMP handshake");
            return LE_EPROTO;
        }
        if (evbuffer_get_length(in) < LE_HS_C0C1_LEN)
            return 0;
        uint8_t c0c1[LE_HS_C0C1_LEN], s[LE_HS_S0S1S2_LEN];
        evbuffer_remove(in, c0c1, sizeof(c0c1));
        if (le_rtmp_hs_respond(c0c1, s, (uint32_t)(le_mono_ms() & 0xffffffffu)) != 0) {
            le_node_stats_get()->bad_clients++;
            conn_close(c, "bad handshake");
            return LE_EPROTO;
        }
        bufferevent_write(c->bev, s, sizeof(s));
        c->state = ST_C2;
    }
    if (c->state == ST_C2) {
        if (evbuffer_get_length(in) < LE_HS_SIZE)
            return 0;
        evbuffer_drain(in, LE_HS_SIZE);  /* C2 echoes S1; nothing in it we rely on */
        c->state = ST_ACTIVE;
    }
    return 0;
}

/* The reassembly bound for what the connection is now: a publisher may
 * hold RTMP_PUB_MSGS messages, anyone else a few commands. The node-wide
 * budget follows reloads. */
static void update_budget(le_rtmp_conn *c)
{
    const le_conf *cf = le_node_conf();
    input_budget.max = cf->rtmp_input_budget;
    if (c->role == ROLE_PUBLISHER && !c->rd_publish) {
        le_chunk_reader_set_budget(c->rd, (size_t)cf->rtmp_max_message * RTMP_PUB_MSGS, &input_budget);
        c->rd_publish = 1;
    }
}

static void chunk_error(le_rtmp_conn *c, int rc)
{
    char why[160];
    const le_conf *cf = le_node_conf();
    if (rc == LE_ENOMEM)
        snprintf(why, sizeof(why), "chunk stream: reassembly over the node's limit (rtmp_input_budget %zu bytes)",
                 cf->rtmp_input_budget);
    else if (rc == LE_ETOOBIG)
        snprintf(why, sizeof(why),
                 "chunk stream: a message or the reassembly over the connection's size limit "
                 "(%zu bytes held, %zu allowed %s)", le_chunk_reader_mem(c->rd),
                 c->role == ROLE_PUBLISHER ? (size_t)cf->rtmp_max_message * RTMP_PUB_MSGS : (size_t)RTMP_CMD_BUDGET,
                 c->role == ROLE_PUBLISHER ? "publishing" : "before publish");
    else
        snprintf(why, sizeof(why), "chunk stream: %s", le_strerror(rc));
    le_node_stats_get()->bad_clients++;
    conn_close(c, why);
}

static void conn_read(void *ctx)
{
    le_rtmp_conn *c = ctx;
    struct evbuffer *in = bufferevent_get_input(c->bev);
    if (c->closing || c->flush_close) {
        evbuffer_drain(in, evbuffer_get_length(in));
        return;
    }
    size_t avail = evbuffer_get_length(in);
    c->bytes_in += avail;
    le_node_stats_get()->bytes_in += avail;
    c->last_in_ms = le_mono_ms();

    if (c->state != ST_ACTIVE && (do_handshake(c, in) < 0 || c->state != ST_ACTIVE))
        return;

    /* A publisher's frames of this read wait for the message it ends
     * inside, if any (le_stream_set_arriving; write tick 0 only). */
    if (c->role == ROLE_PUBLISHER && c->pub.st)
        le_stream_set_arriving(c->pub.st, 1);
    /* Feed the chunk reader straight from libevent's chunks, no pullup. A
     * peer that leaves its replies unread is read no further (net.h). */
    while (!c->closing && !c->flush_close && evbuffer_get_length(in) > 0) {
        update_budget(c);
        if (c->role != ROLE_PLAYER && le_net_conn_out_full(c->nc))
            break;
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
            break;
        size_t used = 0;
        le_rtmp_msg m;
        int rc = le_chunk_read(c->rd, v.iov_base, v.iov_len, &used, &m);
        if (rc < 0) {
            chunk_error(c, rc);
            return;
        }
        if (rc == 1)
            on_message(c, &m);
        /* The message data points into the reader, not into `in`, so
         * draining after dispatch is safe either way. */
        evbuffer_drain(in, used);
        if (rc == 0 && used == 0)
            break;
    }
    if (c->role == ROLE_PUBLISHER && c->pub.st && !c->closing)
        le_stream_set_arriving(c->pub.st, le_chunk_reader_partial(c->rd));
    /* A player's output is the feed's (its slow-viewer policy). */
    if (c->role == ROLE_PLAYER && !c->closing)
        le_net_conn_set_unbounded(c->nc, 1);
    if (!c->closing)
        maybe_ack(c);
}

static void conn_drained(void *ctx)
{
    le_rtmp_conn *c = ctx;
    if (c->flush_close)
        conn_close(c, c->role == ROLE_PLAYER ? "play finished" : "refused");
}

static void conn_event(void *ctx, short what)
{
    le_rtmp_conn *c = ctx;
    if (what & BEV_EVENT_EOF)
        conn_close(c, "peer closed");
    else if (what & BEV_EVENT_ERROR)
        conn_close(c, evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

/* The role is released at once, so a stream never calls into a closing
 * connection. */
static void conn_closing(void *ctx, const char *why)
{
    le_rtmp_conn *c = ctx;
    c->closing = 1;
    /* A TLS failure already has its line from net.c: this one only in debug. */
    if (le_net_conn_tls(c->nc) && strncmp(why, "TLS ", 4) == 0)
        le_debug(MOD, "conn %llu %s: close: %s", (unsigned long long)c->id, c->peer, why);
    else
        le_info(MOD, "conn %llu %s: close: %s", (unsigned long long)c->id, c->peer, why);
    stop_role(c, why);
}

static void conn_free(void *ctx)
{
    le_rtmp_conn *c = ctx;
    stop_role(c, "connection freed");
    le_chunk_reader_free(c->rd);
    le_node_stats_get()->conns_rtmp--;
    free(c);
}

/* Marks the connection closed (net.h); safe from any callback, more than
 * once. */
static void conn_close(le_rtmp_conn *c, const char *why)
{
    le_net_conn_close(c->nc, why);
}

static void *conn_accept(le_net_conn *nc)
{
    const le_conf *cf = le_node_conf();
    le_node_stats *ns = le_node_stats_get();
    le_rtmp_conn *c = le_xcalloc(1, sizeof(*c));
    c->nc = nc;
    c->id = le_net_conn_id(nc);
    c->bev = le_net_conn_bev(nc);
    snprintf(c->peer, sizeof(c->peer), "%s", le_net_conn_peer(nc));
    snprintf(c->peer_ip, sizeof(c->peer_ip), "%s", le_net_conn_peer_ip(nc));
    snprintf(c->local_ip, sizeof(c->local_ip), "%s", le_net_conn_local_ip(nc));
    c->created_ms = c->last_in_ms = le_mono_ms();
    c->rd = le_chunk_reader_new(cf->rtmp_max_message, RTMP_MAX_CSIDS);
    input_budget.max = cf->rtmp_input_budget;
    le_chunk_reader_set_budget(c->rd, RTMP_CMD_BUDGET, &input_budget);
    ns->conns_rtmp++;
    ns->conns_total++;
    le_debug(MOD, "conn %llu %s: accepted", (unsigned long long)c->id, c->peer);
    return c;
}

static void conn_limits(le_net_limits *l)
{
    const le_conf *cf = le_node_conf();
    l->max_total = cf->max_connections;
    l->out_high = OUT_HIGH;
    l->out_low = OUT_LOW;
    l->out_stall_ms = cf->idle_timeout_ms;
}

static const le_net_ops rtmp_net_ops = {
    .mod = MOD,
    .shared = 1,
    .limits = conn_limits,
    .accept = conn_accept,
    .read = conn_read,
    .drained = conn_drained,
    .event = conn_event,
    .closing = conn_closing,
    .free = conn_free,
};

/* Handshake, publisher idle and unread-reply deadlines of one listener's
 * connections. */
static void tick_listener(le_net_listener *l)
{
    const le_conf *cf = le_node_conf();
    uint64_t now = le_mono_ms();
    for (le_net_conn *nc = le_net_listener_first(l); nc; nc = le_net_conn_next(nc)) {
        le_rtmp_conn *c = le_net_conn_ctx(nc);
        if (c->closing)
            continue;
        if (c->role == ROLE_NONE && !c->flush_close &&
            now - c->created_ms > (uint64_t)cf->handshake_timeout_ms) {
            le_node_stats_get()->bad_clients++;
            conn_close(c, c->state != ST_ACTIVE ? "handshake timeout" : "no publish or play in time");
        } else if (c->role == ROLE_PUBLISHER && now - c->last_in_ms > (uint64_t)cf->idle_timeout_ms) {
            conn_close(c, "publisher idle timeout");
        } else if (c->flush_close && now > c->flush_deadline_ms) {
            conn_close(c, "peer does not read");
        }
    }
}

static int listen_on(int which, struct event_base *b, const char *addr, char *err, size_t errlen)
{
    char e[256];
    const char *key = which == LIS_TLS ? "rtmps_listen" : "rtmp_listen";
    if (listeners[which]) {
        snprintf(err, errlen, "%s %s: already listening", key, addr);
        return LE_EEXIST;
    }
    if (le_net_listen(&listeners[which], b, addr, 1024, &rtmp_net_ops, e, sizeof(e)) != LE_OK) {
        snprintf(err, errlen, "%s %s", key, e);
        return LE_EIO;
    }
    if (which == LIS_TLS)
        le_net_listener_set_tls(listeners[which], 0);   /* RTMPS: no ALPN */
    return LE_OK;
}

int le_rtmp_listen(struct event_base *b, const char *addr, char *err, size_t errlen)
{
    return listen_on(LIS_PLAIN, b, addr, err, errlen);
}

int le_rtmps_listen(struct event_base *b, const char *addr, char *err, size_t errlen)
{
    return listen_on(LIS_TLS, b, addr, err, errlen);
}

int le_rtmp_port(void) { return le_net_listener_port(listeners[LIS_PLAIN]); }
int le_rtmps_port(void) { return listeners[LIS_TLS] ? le_net_listener_port(listeners[LIS_TLS]) : 0; }

void le_rtmp_tick(void)
{
    for (int i = 0; i < LIS_N; i++)
        if (listeners[i])
            tick_listener(listeners[i]);
}

void le_rtmp_shutdown(void)
{
    for (int i = 0; i < LIS_N; i++) {
        le_net_listener_free(listeners[i], "node stopping");
        listeners[i] = NULL;
    }
}
