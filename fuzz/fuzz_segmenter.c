/* libFuzzer target for the live HLS path: FLV tag classification
 * (le_flv_video_info, le_flv_audio_info, le_flv_parse_meta through
 * le_pkt_new) and the segmenter (le_hls_feed), which muxes MPEG-TS or fMP4
 * with libavformat and cuts segments and parts. No network, no streams, no
 * Redis.
 *
 * Input: a sequence of tags (fuzz_tags.h; data tags carry onMetaData).
 * A control tag: payload byte 0 even ends the publish (le_hls_end), odd sets
 * the fragment length to 100 ms * payload byte 1 and the window to byte 2;
 * a byte 3, if present, asks for hls_variant byte 3 % 3 (mpegts, fmp4,
 * lowlatency) with hls_part 10 ms * byte 4 (clamped by the segmenter).
 * Checked after every tag: sealed segments are whole TS packets, or fMP4
 * parts (moof first) adding up to the segment, numbered consecutively, with
 * durations and sizes within the documented bounds; the open segment is
 * numbered le_hls_next_seq and is the sum of its parts. */
#include <libavutil/log.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"
#include "hls/playlist.h"
#include "hls/segmenter.h"
#include "media/flv.h"
#include "media/pkt.h"

#include "fuzz_tags.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_TAGS 3000

static int64_t now_ms;
static int64_t fake_clock(void) { return now_ms; }

static void check_classify(const le_pkt *p)
{
    le_flv_info fi;
    if (p->type == LE_PKT_VIDEO && le_flv_video_info(p->data, p->len, &fi) == 0 && fi.hdr_len > p->len)
        abort();
    if (p->type == LE_PKT_AUDIO && le_flv_audio_info(p->data, p->len, &fi) == 0 && fi.hdr_len > p->len)
        abort();
    le_flv_meta m;
    if (p->type == LE_PKT_DATA && le_flv_parse_meta(p->data, p->len, &m) == 0) {
        if (m.width != 0 && (m.width < 1 || m.width > LE_FLV_MAX_DIM))
            abort();
        if (m.framerate < 0 || m.framerate > LE_FLV_MAX_FPS)
            abort();
    }
}

/* fMP4: parts are moof + mdat, and add up to the segment. */
static void check_parts(const le_hls_seg *s, int64_t longest)
{
    if (!s->init || s->init->len < 8 || memcmp(s->init->data + 4, "ftyp", 4) || s->data)
        abort();
    size_t len = 0;
    int64_t d = 0;
    for (size_t k = 0; k < s->nparts; k++) {
        const le_hls_chunk *c = s->parts[k];
        if (c->len < 8 || memcmp(c->data + 4, "moof", 4) || c->duration_ms < 0 || c->refs < 1)
            abort();
        len += c->len;
        d += c->duration_ms;
    }
    if (len != s->len || (d != s->duration_ms && s->duration_ms != longest))
        abort();
}

static void check_ring(le_hls *h, int64_t frag)
{
    le_hls_seg *segs[128];
    size_t n = le_hls_segments(h, segs, 128, 0);
    int64_t longest = le_hls_seg_max_ms(frag) + LE_HLS_JUMP_MS;
    /* A segment: under the byte bound but for one tag (64 KiB here), plus
     * PES/TS overhead and the AVIO buffer. */
    size_t biggest = le_hls_seg_max_bytes(frag) + (1u << 20);
    le_m3u8_seg ms[128];
    for (size_t i = 0; i < n; i++) {
        const le_hls_seg *s = segs[i];
        if (s->parts) {
            if (!s->sealed || s->nparts == 0 || s->len > biggest)
                abort();
            check_parts(s, longest);
        } else if (s->len == 0 || s->len % 188 || s->data[0] != 0x47 || s->len > biggest) {
            abort();
        }
        if (i && s->seq != segs[i - 1]->seq + 1)
            abort();
        if (s->duration_ms < 0 || s->duration_ms > longest)
            abort();
        memset(&ms[i], 0, sizeof(ms[i]));
        ms[i].duration_ms = s->duration_ms;
    }
    if (le_m3u8_target(ms, n, le_hls_min_target(h)) > (int)((longest + 999) / 1000))
        abort();
    const le_hls_seg *o = le_hls_open_seg(h);
    if (o) {
        if (o->sealed || o->seq != le_hls_next_seq(h) || (n && o->seq != segs[n - 1]->seq + 1))
            abort();
        if (o->nparts)
            check_parts(o, longest);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int quiet;
    if (!quiet) {
        le_log_level = LE_LOG_ERROR + 1;
        av_log_set_level(AV_LOG_QUIET);
        quiet = 1;
    }
    le_hls *h = le_hls_new("fuzz/live/s", 0, 0);
    /* The bounds of a listed segment are those of the fragment length it was
     * cut under, which may be longer than the current one: check against the
     * longest fragment length this input has set. */
    int64_t frag = 1000, frag_max = frag;
    le_hls_set_params(h, frag, 4);
    le_hls_set_clock(h, fake_clock);
    now_ms = 1000;
    size_t off = 0;
    fuzz_tag t;
    for (int tags = 0; tags < MAX_TAGS && fuzz_next_tag(data, size, &off, &t); tags++) {
        const uint8_t *body = t.body;
        size_t len = t.len;
        now_ms += (t.kind >> 2) * 100;
        if ((t.kind & 3) == 3) {
            if (len >= 1 && !(body[0] & 1)) {
                le_hls_end(h);
            } else if (len >= 3) {
                frag = 100 * (int64_t)(body[1] ? body[1] : 1);
                if (frag < 100)
                    frag = 100;
                le_hls_set_params(h, frag, body[2] % 20 + 1);
                if (len >= 5)
                    le_hls_set_variant(h, body[3] % 3, 10 * (int64_t)body[4]);
                frag = le_hls_fragment_ms(h);
                if (frag > frag_max)
                    frag_max = frag;
            }
            continue;
        }
        le_pkt *p = le_pkt_new(t.type, t.ts, body, (uint32_t)len);
        check_classify(p);
        le_hls_feed(h, p);
        le_pkt_unref(p);
        check_ring(h, frag_max);
    }
    le_hls_end(h);
    check_ring(h, frag_max);
    le_hls_free(h);
    return 0;
}
