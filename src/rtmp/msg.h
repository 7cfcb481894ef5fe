/* RTMP messages both ends send: protocol control messages, user control
 * events and the AMF0 command bodies (_result, _error, onStatus, commands).
 * Shared by the server sessions (rtmp/session.c) and an RTMP client built on
 * rtmp/chunk + rtmp/handshake. Nothing here knows a connection: a body is
 * built into a le_buf, a message is chunked into an evbuffer at the chunk
 * size the caller gives (the one it announced with SetChunkSize). */
#ifndef LE_RTMP_MSG_H
#define LE_RTMP_MSG_H
#include <stddef.h>
#include <stdint.h>
#include "core/util.h"

struct evbuffer;

/* Chunk stream ids livedge uses on the wire. */
enum {
    LE_RTMP_CSID_CTRL = 2,     /* protocol and user control messages */
    LE_RTMP_CSID_CMD = 3,      /* AMF commands */
    LE_RTMP_CSID_DATA = 5,     /* data messages (onMetaData, |RtmpSampleAccess) */
    LE_RTMP_CSID_AUDIO = 6,
    LE_RTMP_CSID_VIDEO = 7,
};

/* User control event types (message type 4). */
enum {
    LE_RTMP_UC_STREAM_BEGIN = 0,
    LE_RTMP_UC_STREAM_EOF = 1,
    LE_RTMP_UC_SET_BUFLEN = 3,
    LE_RTMP_UC_PING_REQUEST = 6,
    LE_RTMP_UC_PING_RESPONSE = 7,
};

/* SetPeerBandwidth limit types. */
enum { LE_RTMP_BW_HARD = 0, LE_RTMP_BW_SOFT = 1, LE_RTMP_BW_DYNAMIC = 2 };

/* ---- messages into an evbuffer ---- */

/* One message, chunked at chunk_size. LE_OK, or LE_ENOMEM when the buffer
 * refuses the space. */
int le_rtmp_put_msg(struct evbuffer *out, uint32_t chunk_size, uint32_t csid, uint8_t type, uint32_t ts,
                    uint32_t msid, const uint8_t *data, uint32_t len);
/* A body built with the functions below (the le_buf stays the caller's). */
int le_rtmp_put_body(struct evbuffer *out, uint32_t chunk_size, uint32_t csid, uint8_t type, uint32_t msid,
                     const le_buf *body);
/* A 4-byte protocol control message on csid 2, msid 0: SetChunkSize, Abort,
 * Acknowledgement, WindowAckSize (type is the LE_MSG_* of rtmp/chunk.h). */
int le_rtmp_put_ctrl32(struct evbuffer *out, uint32_t chunk_size, uint8_t type, uint32_t v);
/* SetPeerBandwidth: window and limit type (LE_RTMP_BW_*). */
int le_rtmp_put_peer_bw(struct evbuffer *out, uint32_t chunk_size, uint32_t window, uint8_t limit);
/* User control event with one 4-byte value (stream id, or a ping's
 * timestamp): StreamBegin, StreamEOF, PingRequest, PingResponse. */
int le_rtmp_put_user_ctrl(struct evbuffer *out, uint32_t chunk_size, uint16_t event, uint32_t v);

/* ---- AMF0 bodies into a le_buf (appended) ---- */

/* "name", txn: the head of any command; the caller appends the rest. */
void le_rtmp_amf_cmd(le_buf *b, const char *name, double txn);
/* "_result", txn, null, number (with_number) or null: the answer to
 * createStream and to the FC* commands. */
void le_rtmp_amf_result(le_buf *b, double txn, int with_number, double number);
/* "_result" of connect: {fmsVer, capabilities}, {level status,
 * NetConnection.Connect.Success, objectEncoding}. */
void le_rtmp_amf_connect_result(le_buf *b, double txn, double objenc);
/* "_error", txn, null, {level error, code, description}. */
void le_rtmp_amf_error(le_buf *b, double txn, const char *code, const char *desc);
/* "onStatus", 0, null, {level, code, description, [details], clientid}.
 * details is left out when NULL. */
void le_rtmp_amf_status(le_buf *b, const char *level, const char *code, const char *desc,
                        const char *details);
/* "|RtmpSampleAccess", true, true: sent to players before media. */
void le_rtmp_amf_sample_access(le_buf *b);

/* ---- received data and aggregate messages ---- */

/* A data message (type 18) body as players get it: "@setDataFrame" is
 * stripped; 1 with *out / *outn the "onMetaData", {...} body, 0 for any
 * other data message (not forwarded). */
int le_rtmp_meta_body(const uint8_t *d, uint32_t n, const uint8_t **out, uint32_t *outn);

/* Aggregate message (type 22): a run of FLV tags whose timestamps are
 * relative to the first one's, rebased on the message's own (msg_ts).
 * Call with *off = 0 (and *base any value) and again while it returns 1:
 * the next sub-message's type, timestamp and body. 0 at the end or at the
 * first tag that does not fit in n (the rest is ignored). */
typedef struct le_rtmp_agg_tag {
    uint8_t type;
    uint32_t ts;
    const uint8_t *data;
    uint32_t len;
} le_rtmp_agg_tag;
int le_rtmp_agg_next(const uint8_t *d, uint32_t n, uint32_t msg_ts, uint32_t *off, uint32_t *base,
                     le_rtmp_agg_tag *t);

#endif
