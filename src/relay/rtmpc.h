/* The RTMP client engine under relay/client.h: one play or publish session
 * as a state machine. Pure: server bytes in, client bytes out (an evbuffer
 * the caller drains to its socket), events out; no sockets, no timers, no
 * logging.
 *
 * What it sends: C0+C1 (digest form), then after S0+S1+S2: C2,
 * SetChunkSize(LE_RTMPC_CHUNK), WindowAckSize(LE_RTMPC_WINDOW), connect
 * {app, flashVer, tcUrl, fpad false, capabilities 15, audioCodecs 4071,
 * videoCodecs 252, videoFunction 1, objectEncoding 0}.
 *   play:    createStream, play(stream, -2000), SetBufferLength(3000 ms)
 *   publish: releaseStream, FCPublish, createStream, publish(stream, "live")
 * It answers the server's WindowAckSize with Acknowledgements as bytes
 * arrive and PingRequest with PingResponse, follows any server chunk size
 * (message size bounded by max_msg) and Abort. */
#ifndef LE_RELAY_RTMPC_H
#define LE_RELAY_RTMPC_H
#include <stddef.h>
#include <stdint.h>
#include "media/pkt.h"

struct evbuffer;

#define LE_RTMPC_CHUNK 4096u
#define LE_RTMPC_WINDOW 2500000u
#define LE_RTMPC_BUFLEN_MS 3000u
#define LE_RTMPC_FLASHVER_PLAY "LNX 9,0,124,2"
#define LE_RTMPC_FLASHVER_PUBLISH "FMLE/3.0 (compatible; livedge)"

typedef struct le_rtmpc le_rtmpc;

typedef struct le_rtmpc_cfg {
    int publish;                /* 0 play, 1 publish */
    const char *app;            /* connect's app */
    const char *tcurl;          /* rtmp://host[:port]/app */
    const char *stream;         /* play/publish name, with its ?query */
    uint32_t max_msg;           /* largest server message; 0: 8 MiB */
} le_rtmpc_cfg;

enum {
    LE_RTMPC_EV_READY = 1,      /* Play.Start/Reset or Publish.Start (once) */
    LE_RTMPC_EV_PACKET,         /* ev->pkt (play only), lent until the next call */
    LE_RTMPC_EV_END             /* ev->err (LE_OK: clean end), ev->why; final */
};

typedef struct le_rtmpc_ev {
    le_pkt *pkt;
    int err;
    char why[256];
} le_rtmpc_ev;

/* NULL on allocation failure. C0+C1 are in the output right away. */
le_rtmpc *le_rtmpc_new(const le_rtmpc_cfg *cfg);
void le_rtmpc_free(le_rtmpc *c);
/* Bytes to send to the server; the caller removes what it takes. */
struct evbuffer *le_rtmpc_out(le_rtmpc *c);

/* Consumes server bytes from *p / *n (advancing them) until one event is
 * complete and returns its LE_RTMPC_EV_*; LE_EAGAIN once the input is used
 * up without one. After END every call returns END again (sticky). Replies
 * (acks, pongs, commands) go to the output as a side effect. */
int le_rtmpc_feed(le_rtmpc *c, const uint8_t **p, size_t *n, le_rtmpc_ev *ev);
/* 1 while the server's bytes so far end inside an RTMP message
 * (le_chunk_reader_partial), 0 between messages. */
int le_rtmpc_partial(const le_rtmpc *c);

/* Publish mode, after READY: queues one packet (audio, video, or a data
 * packet sent as "@setDataFrame" + its body) with its absolute timestamp.
 * LE_OK, LE_EIO before ready or after the end, LE_EINVAL for another mode
 * or type, LE_ENOMEM. */
int le_rtmpc_send(le_rtmpc *c, const le_pkt *p);

int le_rtmpc_ready(const le_rtmpc *c);
/* What the session waits for, for messages: "the handshake", "connect's
 * result", "createStream's result", "NetStream.Play.Start",
 * "NetStream.Publish.Start", "nothing" (ready or ended). */
const char *le_rtmpc_waiting(const le_rtmpc *c);
uint64_t le_rtmpc_bytes_in(const le_rtmpc *c);

#endif
