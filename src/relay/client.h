/* Relay clients: how the node reads a stream from elsewhere (a source) and
 * writes one to elsewhere (a sink). Everything runs on the node's loop and
 * never blocks it: host names go through evdns, sockets are non-blocking,
 * every wait has a timeout.
 *
 * Sources (le_src), by URL scheme:
 *   rtmp://host[:port]/app[/...]/stream[?query]   RTMP play: handshake,
 *       connect, createStream, play; window acks, ping replies, any peer
 *       chunk size; the query travels with the stream name (play/publish
 *       argument), as librtmp and ffmpeg send it.
 *   rtmps://host[:port]/...                       the same over TLS 1.2+
 *       (default port 443).
 *   http://host[:port]/path.flv[?query]           HTTP-FLV (GET, redirects
 *       followed up to LE_SRC_MAX_REDIRECTS; a status other than 200 or a
 *       body that is not FLV fails).
 *   https://...                                   the same over TLS 1.2+.
 * Sinks (le_sink): rtmp:// and rtmps:// publish (handshake, connect,
 * releaseStream, FCPublish, createStream, publish "live"); a refused publish
 * (NetStream.Publish.BadName and every other error status) fails it.
 *
 * TLS (https, rtmps): SNI and the certificate verified against the URL's
 * host (not connect_to's), with the system CA store and tls_ca_file;
 * tls_verify_skip turns verification off per host[:port]
 * (le_net_client_ssl_target, docs/TLS.md "Outbound TLS"). A failed
 * handshake or verification ends the attempt with LE_EIO and a why that
 * names the reason ("TLS: certificate verify failed: ...").
 *
 * Lifetimes: open never calls back. After closed() the object is dead but
 * still the owner's to free with le_src_close / le_sink_close (which may be
 * called from inside any callback, closed() included). Close before closed()
 * runs cancels: no callback after it. */
#ifndef LE_RELAY_CLIENT_H
#define LE_RELAY_CLIENT_H
#include <stddef.h>
#include <stdint.h>
#include "media/pkt.h"

struct event_base;

#define LE_SRC_MAX_REDIRECTS 5

/* The loop clients run on (and the DNS base they share). Set once. */
void le_relay_client_init(struct event_base *base);
void le_relay_client_free(void);

/* Copies url into out (at most n bytes) with credentials (user:pass@) and
 * signature values (txSecret, auth_key, sign, token, secret, key and
 * *Signature* query parameters) replaced by "***": for logs, listings and
 * metrics. Returns out. */
char *le_relay_mask_url(const char *url, char *out, size_t n);

typedef struct le_client_opts {
    /* "host:port" to connect to instead of the URL's host (the URL's host
     * still names the vhost: tcUrl, Host header); NULL: the URL's. */
    const char *connect_to;
    int connect_timeout_ms;     /* TCP + handshake + until ready; <= 0: 5000 */
    uint32_t max_msg;           /* largest message/tag accepted; 0: 8 MiB */
    size_t max_out;             /* sinks: output bytes queued at most; 0: 4 MiB */
} le_client_opts;

/* ---- sources ---- */
typedef struct le_src le_src;
typedef struct le_src_ops {
    /* The remote accepted (RTMP NetStream.Play.Start, HTTP 200 + FLV header). */
    void (*ready)(void *ctx);
    /* An audio, video or script-data packet in arrival order. The reference
     * is lent for the call: le_pkt_ref it to keep it. */
    void (*packet)(void *ctx, le_pkt *p);
    /* The source ended: err LE_OK for a clean end (RTMP
     * NetStream.Play.Stop/UnpublishNotify or StreamEOF, HTTP body end),
     * otherwise an LE_E* code and why says what failed (URL masked). */
    void (*closed)(void *ctx, int err, const char *why);
    /* May be NULL. Around each socket read that can bring packets: 1
     * before its first packet, then whether the read ended inside a
     * message or tag (1) or between them (0). A live source passes it to
     * its stream (le_stream_set_arriving): at write tick 0 a frame whose
     * successor is half read waits for it, so both go out in one write. */
    void (*arriving)(void *ctx, int on);
} le_src_ops;

/* LE_OK and *out, or LE_EINVAL (scheme not rtmp/rtmps/http/https, no host,
 * bad port, no stream name) with nothing started. */
int le_src_open(const char *url, const le_client_opts *o, const le_src_ops *ops, void *ctx, le_src **out);
void le_src_close(le_src *s);
uint64_t le_src_bytes_in(const le_src *s);   /* bytes read from the socket */

/* ---- sinks ---- */
typedef struct le_sink le_sink;
typedef struct le_sink_ops {
    /* The remote accepted the publish (NetStream.Publish.Start): send. */
    void (*ready)(void *ctx);
    /* Queued output fell below half of max_out after le_sink_send said
     * LE_EAGAIN. May be NULL. */
    void (*writable)(void *ctx);
    /* As for sources; NetStream.Publish.BadName gives LE_EDENIED. */
    void (*closed)(void *ctx, int err, const char *why);
} le_sink_ops;

int le_sink_open(const char *url, const le_client_opts *o, const le_sink_ops *ops, void *ctx, le_sink **out);
/* Sends one packet (audio, video, or onMetaData as @setDataFrame). LE_OK;
 * LE_EAGAIN when queued output is over max_out (nothing queued: the caller
 * skips to the next keyframe); LE_EIO before ready or after closed. */
int le_sink_send(le_sink *k, const le_pkt *p);
size_t le_sink_queued(const le_sink *k);     /* output bytes not yet written */
uint64_t le_sink_bytes_out(const le_sink *k);
void le_sink_close(le_sink *k);

#endif
