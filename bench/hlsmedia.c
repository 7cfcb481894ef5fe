/* bench/hlsmedia.c: the video frames inside HLS media, for bench/hlsload
 * (bench/README): MPEG-TS video PES and fMP4 (init section, moof+mdat). */
#include <string.h>

#include "core/util.h"
#include "hlsmedia.h"

uint64_t hm_tail_key(const uint8_t *t, size_t n)
{
    uint64_t h = le_hash64(t, n, LE_HASH64_INIT);
    return h ? h : 1;
}

void hm_init(hm_state *m, hm_frame_fn fn, void *arg)
{
    memset(m, 0, sizeof *m);
    m->vpid = -1;
    m->frame = fn;
    m->arg = arg;
}

void hm_ts_reset(hm_state *m)
{
    m->pkt_len = 0;
    m->pes_open = 0;
    m->tail_len = 0;
}

/* ---- MPEG-TS: video PES tails and PTS ---- */

void hm_ts_end(hm_state *m, uint64_t now)
{
    if (m->pes_open && m->tail_len > 0 && m->pes_pts >= 0)
        m->frame(m->arg, m->pes_pts, hm_tail_key(m->tail, m->tail_len), now);
    m->pes_open = 0;
    m->tail_len = 0;
}

static void tail_add(hm_state *m, const uint8_t *p, size_t n)
{
    if (n >= 32) {
        memcpy(m->tail, p + n - 32, 32);
        m->tail_len = 32;
        return;
    }
    size_t keep = m->tail_len + n > 32 ? 32 - n : m->tail_len;
    memmove(m->tail, m->tail + m->tail_len - keep, keep);
    memcpy(m->tail + keep, p, n);
    m->tail_len = (unsigned)(keep + n);
}

static void ts_packet(hm_state *m, const uint8_t *p, uint64_t now)
{
    if (p[0] != 0x47)
        return;
    int pusi = p[1] & 0x40;
    int pid = (p[1] & 0x1f) << 8 | p[2];
    int afc = (p[3] >> 4) & 3;
    if (!(afc & 1) || pid == 0 || pid == 0x1fff)
        return;
    size_t off = 4;
    if (afc & 2)
        off += 1 + (size_t)p[4];
    if (off >= 188)
        return;
    const uint8_t *pl = p + off;
    size_t n = 188 - off;
    if (pusi && n >= 9 && pl[0] == 0 && pl[1] == 0 && pl[2] == 1) {
        int sid = pl[3];
        if (sid >= 0xe0 && sid <= 0xef) {
            if (m->vpid < 0)
                m->vpid = pid;
            if (pid != m->vpid)
                return;
            hm_ts_end(m, now);
            size_t hl = 9 + (size_t)pl[8];
            m->pes_open = 1;
            m->pes_pts = -1;
            if ((pl[7] & 0x80) && n >= 14)
                m->pes_pts = (int64_t)(pl[9] & 0x0e) << 29 | (int64_t)pl[10] << 22 | (int64_t)(pl[11] & 0xfe) << 14 |
                             (int64_t)pl[12] << 7 | pl[13] >> 1;
            if (hl < n)
                tail_add(m, pl + hl, n - hl);
            return;
        }
    }
    if (pid == m->vpid && m->pes_open)
        tail_add(m, pl, n);
}

void hm_ts_feed(hm_state *m, const uint8_t *p, size_t n, uint64_t now)
{
    if (m->pkt_len) {
        size_t k = 188 - m->pkt_len < n ? 188 - m->pkt_len : n;
        memcpy(m->pkt + m->pkt_len, p, k);
        m->pkt_len += (unsigned)k;
        p += k;
        n -= k;
        if (m->pkt_len < 188)
            return;
        ts_packet(m, m->pkt, now);
        m->pkt_len = 0;
    }
    while (n >= 188) {
        ts_packet(m, p, now);
        p += 188;
        n -= 188;
    }
    if (n) {
        memcpy(m->pkt, p, n);
        m->pkt_len = (unsigned)n;
    }
}

/* ---- fMP4: the init section's video track, each moof's video samples ---- */

/* The box at p (n bytes left): its size (0 if it does not fit) and type. */
static size_t box(const uint8_t *p, size_t n, uint32_t *type, size_t *hdr)
{
    if (n < 8)
        return 0;
    uint64_t sz = le_rd_be32(p);
    *type = le_rd_be32(p + 4);
    *hdr = 8;
    if (sz == 1) {
        if (n < 16)
            return 0;
        sz = (uint64_t)le_rd_be32(p + 8) << 32 | le_rd_be32(p + 12);
        *hdr = 16;
    } else if (sz == 0) {
        sz = n;
    }
    if (sz < *hdr || sz > n)
        return 0;
    return (size_t)sz;
}

#define FCC(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

static void mp4_trak(hm_state *m, const uint8_t *p, size_t n)
{
    uint32_t id = 0, scale = 0, handler = 0;
    /* tkhd, and mdia's mdhd and hdlr */
    for (size_t off = 0, sz, h; off < n && (sz = box(p + off, n - off, &(uint32_t){ 0 }, &h)); off += sz) {
        uint32_t t = le_rd_be32(p + off + 4);
        const uint8_t *b = p + off + h;
        size_t bn = sz - h;
        if (t == FCC('t', 'k', 'h', 'd') && bn >= 24)
            id = le_rd_be32(b + (b[0] == 1 ? 20 : 12));
        else if (t == FCC('m', 'd', 'i', 'a')) {
            for (size_t o2 = 0, s2, h2; o2 < bn && (s2 = box(b + o2, bn - o2, &(uint32_t){ 0 }, &h2)); o2 += s2) {
                uint32_t t2 = le_rd_be32(b + o2 + 4);
                const uint8_t *d = b + o2 + h2;
                if (t2 == FCC('m', 'd', 'h', 'd') && s2 - h2 >= 24)
                    scale = le_rd_be32(d + (d[0] == 1 ? 20 : 12));
                else if (t2 == FCC('h', 'd', 'l', 'r') && s2 - h2 >= 12)
                    handler = le_rd_be32(d + 8);
            }
        }
    }
    if (handler == FCC('v', 'i', 'd', 'e') && scale) {
        m->vtrack = id;
        m->vscale = scale;
    }
}

static void mp4_traf(hm_state *m, const uint8_t *moof, const uint8_t *p, size_t n, const uint8_t *end, uint64_t now)
{
    uint32_t track = 0, def_dur = 0, def_size = 0;
    uint64_t base = 0;
    const uint8_t *data_base = moof;
    for (size_t off = 0, sz, h; off < n && (sz = box(p + off, n - off, &(uint32_t){ 0 }, &h)); off += sz) {
        uint32_t t = le_rd_be32(p + off + 4);
        const uint8_t *b = p + off + h;
        size_t bn = sz - h;
        if (t == FCC('t', 'f', 'h', 'd') && bn >= 8) {
            uint32_t fl = le_rd_be32(b) & 0xffffff;
            track = le_rd_be32(b + 4);
            size_t q = 8;
            if (fl & 0x1)
                q += 8;   /* base-data-offset: not made by a CMAF muxer */
            if (fl & 0x2)
                q += 4;
            if ((fl & 0x8) && q + 4 <= bn) {
                def_dur = le_rd_be32(b + q);
                q += 4;
            }
            if ((fl & 0x10) && q + 4 <= bn)
                def_size = le_rd_be32(b + q);
        } else if (t == FCC('t', 'f', 'd', 't') && bn >= 8) {
            base = b[0] == 1 && bn >= 12 ? (uint64_t)le_rd_be32(b + 4) << 32 | le_rd_be32(b + 8) : le_rd_be32(b + 4);
        } else if (t == FCC('t', 'r', 'u', 'n') && bn >= 8 && track == m->vtrack && m->vscale) {
            uint32_t fl = le_rd_be32(b) & 0xffffff, cnt = le_rd_be32(b + 4);
            size_t q = 8;
            int32_t doff = 0;
            if (fl & 0x1) {
                if (q + 4 > bn)
                    return;
                doff = (int32_t)le_rd_be32(b + q);
                q += 4;
            }
            if (fl & 0x4)
                q += 4;
            const uint8_t *data = data_base + doff;
            uint64_t dts = base;
            for (uint32_t i = 0; i < cnt; i++) {
                uint32_t dur = def_dur, size = def_size;
                int64_t cto = 0;
                if (fl & 0x100) {
                    if (q + 4 > bn)
                        return;
                    dur = le_rd_be32(b + q);
                    q += 4;
                }
                if (fl & 0x200) {
                    if (q + 4 > bn)
                        return;
                    size = le_rd_be32(b + q);
                    q += 4;
                }
                if (fl & 0x400)
                    q += 4;
                if (fl & 0x800) {
                    if (q + 4 > bn)
                        return;
                    cto = (int32_t)le_rd_be32(b + q);
                    q += 4;
                }
                if (data < moof || data + size > end)
                    return;
                if (size >= 32) {
                    int64_t pts = (int64_t)dts + cto;
                    m->frame(m->arg, pts * 90000 / (int64_t)m->vscale, hm_tail_key(data + size - 32, 32), now);
                }
                data += size;
                dts += dur;
            }
        }
    }
}

/* A whole fMP4 response: an init section or one or more moof+mdat. */
void hm_mp4(hm_state *m, const uint8_t *p, size_t n, uint64_t now)
{
    for (size_t off = 0, sz, h; off < n && (sz = box(p + off, n - off, &(uint32_t){ 0 }, &h)); off += sz) {
        uint32_t t = le_rd_be32(p + off + 4);
        const uint8_t *b = p + off + h;
        size_t bn = sz - h;
        if (t == FCC('m', 'o', 'o', 'v')) {
            for (size_t o2 = 0, s2, h2; o2 < bn && (s2 = box(b + o2, bn - o2, &(uint32_t){ 0 }, &h2)); o2 += s2)
                if (le_rd_be32(b + o2 + 4) == FCC('t', 'r', 'a', 'k'))
                    mp4_trak(m, b + o2 + h2, s2 - h2);
        } else if (t == FCC('m', 'o', 'o', 'f')) {
            for (size_t o2 = 0, s2, h2; o2 < bn && (s2 = box(b + o2, bn - o2, &(uint32_t){ 0 }, &h2)); o2 += s2)
                if (le_rd_be32(b + o2 + 4) == FCC('t', 'r', 'a', 'f'))
                    mp4_traf(m, p + off, b + o2 + h2, s2 - h2, p + n, now);
        }
    }
}

