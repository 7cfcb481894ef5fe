/* RTMP chunk stream (RTMP spec 5.3). The reader is a byte-driven state
 * machine: header bytes collect in a small buffer until the header is
 * complete, payload bytes go straight into the chunk stream's message
 * buffer, so input may be split anywhere. */
#include "rtmp/chunk.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"

#define DEFAULT_CHUNK_SIZE 128  /* spec 5.4.1: until the peer says otherwise */
#define TS_EXT 0xffffffu        /* 24-bit field value announcing 4 more bytes */
#define HDR_MAX (3 + 11 + 4)    /* basic + type-0 message header + extended ts */

static const uint8_t mh_len[4] = { 11, 7, 3, 0 };  /* message header by fmt */

/* One chunk stream's state: the last header's fields (which fmt 1/2/3
 * inherit) and the message being reassembled. Exists only once a type-0
 * header has been seen on its csid. */
typedef struct cstream {
    uint32_t csid;
    uint8_t type;
    uint32_t msid;
    uint32_t len;          /* declared length of the current/last message */
    uint32_t ts;           /* absolute timestamp of the current/last message */
    uint32_t ts_field;     /* last timestamp field (abs. for fmt0, else delta):
                            * what a fmt3 starting a new message adds */
    int ext;               /* last fmt0/1/2 header used an extended timestamp:
                            * every fmt3 chunk after it carries 4 more bytes */
    uint8_t *buf;          /* message bytes; grows as data arrives, <= len */
    uint32_t cap;
    uint32_t got;          /* bytes of the current message so far; 0 = between messages */
} cstream;

enum { ST_HDR, ST_BODY };

struct le_chunk_reader {
    uint32_t max_msg, max_csids;
    size_t mem;            /* sum of the streams' cap */
    size_t mem_max;        /* 0: unbounded */
    le_chunk_budget *shared;   /* NULL: none */
    uint32_t chunk_size;
    cstream *cs;           /* array; an index, not a pointer, survives growth */
    uint32_t ncs, cscap;
    uint32_t last;         /* index of the last stream looked up (cache) */
    int state;
    uint8_t hdr[HDR_MAX];
    size_t hdr_len;
    uint32_t cur;          /* stream the current chunk belongs to (ST_BODY) */
    uint32_t chunk_left;   /* payload bytes left in the current chunk */
    int skip;              /* current chunk's stream was aborted mid-chunk */
};

le_chunk_reader *le_chunk_reader_new(uint32_t max_msg, uint32_t max_csids)
{
    le_chunk_reader *r = le_xcalloc(1, sizeof *r);
    r->max_msg = max_msg;
    r->max_csids = max_csids ? max_csids : 1;
    r->chunk_size = DEFAULT_CHUNK_SIZE;
    r->state = ST_HDR;
    return r;
}

void le_chunk_reader_free(le_chunk_reader *r)
{
    if (!r)
        return;
    if (r->shared)
        r->shared->used -= r->mem;
    for (uint32_t i = 0; i < r->ncs; i++)
        free(r->cs[i].buf);
    free(r->cs);
    free(r);
}

int le_chunk_reader_set_chunk_size(le_chunk_reader *r, uint32_t size)
{
    if (size == 0 || size > LE_CHUNK_SIZE_MAX)
        return LE_EPROTO;
    r->chunk_size = size;
    return 0;
}

size_t le_chunk_reader_mem(const le_chunk_reader *r)
{
    return r->mem;
}

void le_chunk_reader_set_budget(le_chunk_reader *r, size_t mem_max, le_chunk_budget *shared)
{
    if (r->shared != shared) {
        if (r->shared)
            r->shared->used -= r->mem;
        if (shared)
            shared->used += r->mem;
        r->shared = shared;
    }
    r->mem_max = mem_max;
}

/* Index of csid's stream, or LE_ENOTFOUND. A peer uses a handful of csids, so a
 * linear scan behind a one-entry cache is cheaper than any table. */
static long cs_find(le_chunk_reader *r, uint32_t csid)
{
    if (r->last < r->ncs && r->cs[r->last].csid == csid)
        return r->last;
    for (uint32_t i = 0; i < r->ncs; i++)
        if (r->cs[i].csid == csid) {
            r->last = i;
            return i;
        }
    return LE_ENOTFOUND;
}

void le_chunk_reader_abort(le_chunk_reader *r, uint32_t csid)
{
    long i = cs_find(r, csid);
    if (i < 0)
        return;
    r->cs[i].got = 0;
    /* Messages complete at chunk ends, so a caller acting on an Abort
     * message is normally between chunks; if not, drop the chunk's rest. */
    if (r->state == ST_BODY && r->cur == (uint32_t)i)
        r->skip = 1;
}

/* Header bytes needed given what has been collected so far; may look up
 * the stream (fmt3 needs its ext flag). Negative on error. */
static long hdr_need(le_chunk_reader *r, long *csi)
{
    const uint8_t *h = r->hdr;
    size_t bh = (h[0] & 0x3f) == 0 ? 2 : (h[0] & 0x3f) == 1 ? 3 : 1;
    unsigned fmt = h[0] >> 6;
    size_t need = bh + mh_len[fmt];

    if (r->hdr_len < bh)
        return (long)bh;
    uint32_t csid = bh == 1 ? (uint32_t)(h[0] & 0x3f)
                  : bh == 2 ? (uint32_t)h[1] + 64
                            : (uint32_t)h[2] * 256 + h[1] + 64;
    long i = cs_find(r, csid);
    if (i < 0) {
        /* fmt1/2/3 inherit fields from a header we never saw. */
        if (fmt != 0)
            return LE_EPROTO;
        if (r->ncs >= r->max_csids)
            return LE_ETOOBIG;
        if (r->ncs == r->cscap) {
            r->cscap = r->cscap ? r->cscap * 2 : 8;
            if (r->cscap > r->max_csids)
                r->cscap = r->max_csids;
            r->cs = le_xrealloc(r->cs, r->cscap * sizeof *r->cs);
        }
        i = r->ncs++;
        memset(&r->cs[i], 0, sizeof r->cs[i]);
        r->cs[i].csid = csid;
        r->last = (uint32_t)i;
    }
    *csi = i;
    if (fmt == 3)
        return (long)(need + (r->cs[i].ext ? 4 : 0));
    if (r->hdr_len < need)
        return (long)need;
    return (long)(need + (le_rd_be24(h + bh) == TS_EXT ? 4 : 0));
}

/* Applies a complete header to its stream. */
static int hdr_apply(le_chunk_reader *r, cstream *s)
{
    const uint8_t *h = r->hdr;
    size_t bh = (h[0] & 0x3f) == 0 ? 2 : (h[0] & 0x3f) == 1 ? 3 : 1;
    unsigned fmt = h[0] >> 6;
    const uint8_t *m = h + bh;

    if (fmt == 3) {
        if (s->got > 0)
            return 0; /* continuation; a repeated extended ts is ignored */
        /* A new message like the last one, one more delta later. After a
         * type-0 header the repeated "delta" is that header's timestamp
         * field: ffmpeg's writer emits such a type 3 exactly when that
         * holds, and its reader adds it. */
        if (s->ext)
            s->ts_field = le_rd_be32(m);
        s->ts += s->ts_field;
        return 0;
    }
    /* A new header while a message is half-read: the peer dropped the rest
     * without an Abort; we cannot tell which bytes belong where. */
    if (s->got > 0)
        return LE_EPROTO;
    uint32_t tsf = le_rd_be24(m);
    s->ext = tsf == TS_EXT;
    if (s->ext)
        tsf = le_rd_be32(m + mh_len[fmt]);
    s->ts_field = tsf;
    if (fmt == 0)
        s->ts = tsf;
    else
        s->ts += tsf; /* uint32_t: wraps at 2^32 as RTMP time does */
    if (fmt <= 1) {
        s->len = le_rd_be24(m + 3);
        s->type = m[6];
        if (s->len > r->max_msg || (r->mem_max && s->len > r->mem_max))
            return LE_ETOOBIG;
    }
    if (fmt == 0)
        s->msid = le_rd_le32(m + 7);
    return 0;
}

/* Appends n payload bytes, growing the buffer with the data actually
 * received rather than to the declared length up front: a peer announcing
 * max_msg on every csid and sending nothing then costs nothing. The new
 * capacity is the next power of two of the bytes held (at least 256, at most
 * the declared length), so it follows the data, not the input's splits, and
 * it is checked against both budgets before anything is allocated. */
static int cs_append(le_chunk_reader *r, cstream *s, const uint8_t *p, uint32_t n)
{
    uint32_t need = s->got + n;
    if (need > s->cap) {
        uint64_t cap = 256;
        while (cap < need)
            cap *= 2;
        if (cap > s->len)
            cap = s->len;
        size_t grow = (size_t)cap - s->cap;
        if (r->mem_max && r->mem + grow > r->mem_max)
            return LE_ETOOBIG;
        if (r->shared && r->shared->max && r->shared->used + grow > r->shared->max)
            return LE_ENOMEM;
        s->buf = le_xrealloc(s->buf, (size_t)cap);
        s->cap = (uint32_t)cap;
        r->mem += grow;
        if (r->shared)
            r->shared->used += grow;
    }
    memcpy(s->buf + s->got, p, n);
    s->got = need;
    return 0;
}

static void deliver(cstream *s, le_rtmp_msg *msg)
{
    /* Zero-length messages are legal; give them a non-NULL pointer. */
    static const uint8_t empty[1];
    msg->csid = s->csid;
    msg->type = s->type;
    msg->ts = s->ts;
    msg->msid = s->msid;
    msg->len = s->len;
    msg->data = s->len ? s->buf : empty;
    s->got = 0;
}

int le_chunk_read(le_chunk_reader *r, const uint8_t *buf, size_t len, size_t *used,
                  le_rtmp_msg *msg)
{
    size_t pos = 0;
    while (pos < len) {
        if (r->state == ST_HDR) {
            long csi = LE_ENOTFOUND;
            long need;
            if (r->hdr_len == 0)
                r->hdr[r->hdr_len++] = buf[pos++];
            /* need only grows as bytes arrive; loop until it is met. */
            while ((need = hdr_need(r, &csi)) > (long)r->hdr_len && pos < len) {
                size_t n = (size_t)need - r->hdr_len;
                if (n > len - pos)
                    n = len - pos;
                memcpy(r->hdr + r->hdr_len, buf + pos, n);
                r->hdr_len += n;
                pos += n;
            }
            if (need < 0) {
                *used = pos;
                return (int)need;
            }
            if ((size_t)need > r->hdr_len)
                break; /* input exhausted mid-header */
            cstream *s = &r->cs[csi];
            int rc = hdr_apply(r, s);
            if (rc < 0) {
                *used = pos;
                return rc;
            }
            r->hdr_len = 0;
            if (s->len == 0) {
                deliver(s, msg);
                *used = pos;
                return 1;
            }
            uint32_t left = s->len - s->got;
            r->cur = (uint32_t)csi;
            r->chunk_left = left < r->chunk_size ? left : r->chunk_size;
            r->skip = 0;
            r->state = ST_BODY;
            continue;
        }
        /* ST_BODY */
        cstream *s = &r->cs[r->cur];
        uint32_t n = r->chunk_left;
        if (n > len - pos)
            n = (uint32_t)(len - pos);
        if (!r->skip) {
            int rc = cs_append(r, s, buf + pos, n);
            if (rc < 0) {
                *used = pos;
                return rc;
            }
        }
        pos += n;
        r->chunk_left -= n;
        if (r->chunk_left > 0)
            break;
        r->state = ST_HDR;
        if (!r->skip && s->got == s->len) {
            deliver(s, msg);
            *used = pos;
            return 1;
        }
    }
    *used = pos;
    return 0;
}

static size_t basic_hdr_len(uint32_t csid)
{
    return csid < 64 ? 1 : csid < 320 ? 2 : 3;
}

static uint8_t *put_basic_hdr(uint8_t *p, unsigned fmt, uint32_t csid)
{
    if (csid < 64) {
        *p++ = (uint8_t)(fmt << 6 | csid);
    } else if (csid < 320) {
        *p++ = (uint8_t)(fmt << 6);
        *p++ = (uint8_t)(csid - 64);
    } else {
        *p++ = (uint8_t)(fmt << 6 | 1);
        *p++ = (uint8_t)((csid - 64) & 0xff);
        *p++ = (uint8_t)((csid - 64) >> 8);
    }
    return p;
}

/* 0 for what le_chunk_write refuses: csid 0/1 are basic-header escapes,
 * chunk size 0 would never progress, and lengths are 24-bit on the wire. */
size_t le_chunk_write_size(uint32_t csid, uint32_t ts, uint32_t len, uint32_t chunk_size)
{
    if (csid < 2 || csid > LE_CHUNK_MAX_CSID || chunk_size == 0 ||
        chunk_size > LE_CHUNK_SIZE_MAX || len > 0xffffffu)
        return 0;
    size_t bh = basic_hdr_len(csid);
    size_t ext = ts >= TS_EXT ? 4 : 0;
    size_t nchunks = len ? ((size_t)len + chunk_size - 1) / chunk_size : 1;
    return bh + 11 + ext + len + (nchunks - 1) * (bh + ext);
}

size_t le_chunk_write(uint8_t *out, size_t outsz, uint32_t csid, uint8_t type, uint32_t ts,
                      uint32_t msid, const uint8_t *data, uint32_t len, uint32_t chunk_size)
{
    size_t total = le_chunk_write_size(csid, ts, len, chunk_size);
    if (total == 0 || total > outsz)
        return 0;
    int ext = ts >= TS_EXT;
    uint8_t *p = put_basic_hdr(out, 0, csid);
    le_wr_be24(p, ext ? TS_EXT : ts);
    le_wr_be24(p + 3, len);
    p[6] = type;
    le_wr_le32(p + 7, msid);
    p += 11;
    if (ext) {
        le_wr_be32(p, ts);
        p += 4;
    }
    uint32_t off = 0;
    for (;;) {
        uint32_t n = len - off < chunk_size ? len - off : chunk_size;
        if (n)
            memcpy(p, data + off, n);
        p += n;
        off += n;
        if (off >= len)
            break;
        p = put_basic_hdr(p, 3, csid);
        if (ext) {
            le_wr_be32(p, ts);
            p += 4;
        }
    }
    return (size_t)(p - out);
}

int le_chunk_reader_partial(const le_chunk_reader *r)
{
    if (r->state == ST_BODY || r->hdr_len > 0)
        return 1;
    for (uint32_t i = 0; i < r->ncs; i++)
        if (r->cs[i].got > 0)
            return 1;
    return 0;
}
