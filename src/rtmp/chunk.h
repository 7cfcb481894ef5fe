/* RTMP chunk stream: a reader that reassembles messages from chunks of any
 * peer chunk size (all four header formats, extended timestamps, up to a
 * message size limit), and a writer that encodes one message with our own
 * chunk size. Pure: bytes in, messages out; no sockets. */
#ifndef LE_RTMP_CHUNK_H
#define LE_RTMP_CHUNK_H
#include <stddef.h>
#include <stdint.h>

#define LE_CHUNK_MAX_CSID 65599u        /* 3-byte basic header */
#define LE_CHUNK_SIZE_MAX 0x7fffffffu   /* RTMP spec: 31 bits */

/* RTMP message types we name. */
enum {
    LE_MSG_SET_CHUNK_SIZE = 1, LE_MSG_ABORT = 2, LE_MSG_ACK = 3, LE_MSG_USER_CONTROL = 4,
    LE_MSG_WINDOW_ACK_SIZE = 5, LE_MSG_SET_PEER_BW = 6, LE_MSG_AUDIO = 8, LE_MSG_VIDEO = 9,
    LE_MSG_AMF3_DATA = 15, LE_MSG_AMF3_SHARED = 16, LE_MSG_AMF3_CMD = 17,
    LE_MSG_AMF0_DATA = 18, LE_MSG_AMF0_SHARED = 19, LE_MSG_AMF0_CMD = 20, LE_MSG_AGGREGATE = 22
};

typedef struct le_rtmp_msg {
    uint32_t csid;
    uint8_t type;
    uint32_t ts;          /* absolute, ms (deltas already summed, 32-bit wrap) */
    uint32_t msid;        /* message stream id */
    uint32_t len;
    const uint8_t *data;  /* valid until the next le_chunk_read() call */
} le_rtmp_msg;

typedef struct le_chunk_reader le_chunk_reader;

/* max_msg bounds a message's declared length before anything is allocated.
 * max_csids bounds how many chunk streams a peer may open (memory bound). */
le_chunk_reader *le_chunk_reader_new(uint32_t max_msg, uint32_t max_csids);
void le_chunk_reader_free(le_chunk_reader *r);
/* Peer's SetChunkSize: LE_EPROTO for 0 or above 2^31-1. */
int le_chunk_reader_set_chunk_size(le_chunk_reader *r, uint32_t size);
/* Abort message: drops the partial message on csid. */
void le_chunk_reader_abort(le_chunk_reader *r, uint32_t csid);

/* Bytes held in message reassembly buffers, for per-connection memory
 * accounting. Buffers grow with the data received, not with the length a
 * header declares, to the next power of two of the bytes held (at most the
 * declared length), so the figure does not depend on how input was split. */
size_t le_chunk_reader_mem(const le_chunk_reader *r);
/* 1 while the input so far ends inside a chunk header or a message (more
 * bytes of it are due), 0 on a message boundary. */
int le_chunk_reader_partial(const le_chunk_reader *r);

/* A reassembly budget several readers share (the node's total). The owner
 * sets max (0: unbounded); readers add and remove what they hold in used. */
typedef struct le_chunk_budget {
    size_t used, max;
} le_chunk_budget;

/* Bounds what r may hold: mem_max bytes of its own (0: unbounded; also caps a
 * single message's declared length) and, with shared non-NULL, what keeps
 * shared->used within shared->max. Every buffer growth is checked against
 * both before it is allocated; le_chunk_read then fails with LE_ETOOBIG
 * (mem_max) or LE_ENOMEM (the shared budget). r moves its current holding
 * to the new shared budget; the bound may be raised or lowered at any time
 * and applies from the next growth. */
void le_chunk_reader_set_budget(le_chunk_reader *r, size_t mem_max, le_chunk_budget *shared);

/* Consumes bytes. Returns 1 with *msg filled when a whole message is ready
 * (after consuming *used bytes; call again with the rest), 0 when all input
 * was consumed with no message yet (*used == len), or a negative LE_E*:
 * LE_EPROTO (malformed: fmt1/2/3 on a chunk stream never started, ...),
 * LE_ETOOBIG (declared length over max_msg or the reader's mem_max, too many
 * chunk streams, or reassembly over mem_max), LE_ENOMEM (reassembly over the
 * shared budget). */
int le_chunk_read(le_chunk_reader *r, const uint8_t *buf, size_t len, size_t *used,
                  le_rtmp_msg *msg);

/* Bytes le_chunk_write() will produce for one message. */
size_t le_chunk_write_size(uint32_t csid, uint32_t ts, uint32_t len, uint32_t chunk_size);
/* Encodes one message: a type-0 header on the first chunk, type-3 on the
 * rest; an extended timestamp when ts >= 0xFFFFFF, repeated on every type-3
 * chunk (as FMS and librtmp expect). Absolute timestamps and a fixed chunk
 * size make the bytes identical for every viewer, so a packet is encoded
 * once. Returns bytes written, or 0 if outsz is too small. */
size_t le_chunk_write(uint8_t *out, size_t outsz, uint32_t csid, uint8_t type, uint32_t ts,
                      uint32_t msid, const uint8_t *data, uint32_t len, uint32_t chunk_size);

#endif
