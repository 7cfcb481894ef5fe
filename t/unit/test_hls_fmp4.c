/* HLS segmenter, fmp4 and lowlatency variants: FLV files made by ffmpeg go
 * through le_hls_feed. The init section and each part are read box by box
 * (ftyp/moov, sample entries, moof/mdat, tfdt, trun durations and sample
 * flags), and init + parts are decoded with libavformat/libavcodec (frame
 * counts, picture size). H.265, AV1 and Opus come from MP4 files
 * repackaged into FLV tag bodies (ffmpeg 5.1's FLV muxer has none). */
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"
#include "core/err.h"
#include "core/util.h"
#include "hls/fmp4.h"
#include "hls/segmenter.h"
#include "media/pkt.h"
#include "tap.h"

#include "hls_helpers.h"

/* ---- ISO BMFF reading ---- */

static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) << 32 | rd32(p + 4); }

/* The next box of [*p, *p + *n): its type and payload. 0 at the end or on a
 * malformed size. */
static int box_next(const uint8_t **p, size_t *n, char type[5], const uint8_t **pl, size_t *pll)
{
    if (*n < 8)
        return 0;
    uint64_t size = rd32(*p);
    size_t hdr = 8;
    if (size == 1) {
        if (*n < 16)
            return 0;
        size = rd64(*p + 8);
        hdr = 16;
    }
    if (size < hdr || size > *n)
        return 0;
    memcpy(type, *p + 4, 4);
    type[4] = '\0';
    *pl = *p + hdr;
    *pll = (size_t)size - hdr;
    *p += size;
    *n -= (size_t)size;
    return 1;
}

/* The first child box of that type. */
static int box_child(const uint8_t *b, size_t n, const char *want, const uint8_t **pl, size_t *pll)
{
    char t[5];
    while (box_next(&b, &n, t, pl, pll))
        if (strcmp(t, want) == 0)
            return 1;
    return 0;
}

typedef struct trk_info {
    uint32_t id, timescale;
    char handler[5], entry[5];      /* 'vide'/'soun'; sample entry type */
    int has_cfg;                    /* avcC / hvcC / av1C / esds / dOps inside the entry */
    uint32_t trex_dur, trex_flags;
} trk_info;

typedef struct init_info {
    int ftyp_first, moov;
    char major[5];
    int cmfc;                       /* 'cmfc' among the compatible brands */
    int mvex;
    int ntrk;
    trk_info t[4];
} init_info;

static const char *cfg_box(const char *entry)
{
    if (!strcmp(entry, "avc1")) return "avcC";
    if (!strcmp(entry, "hvc1") || !strcmp(entry, "hev1")) return "hvcC";
    if (!strcmp(entry, "av01")) return "av1C";
    if (!strcmp(entry, "mp4a")) return "esds";
    if (!strcmp(entry, "Opus")) return "dOps";
    return "????";
}

static void parse_init(const uint8_t *b, size_t n, init_info *ii)
{
    memset(ii, 0, sizeof(*ii));
    const uint8_t *pl, *moov;
    size_t pll, moovl;
    char t[5];
    const uint8_t *q = b;
    size_t qn = n;
    if (box_next(&q, &qn, t, &pl, &pll) && !strcmp(t, "ftyp") && pll >= 8) {
        ii->ftyp_first = 1;
        memcpy(ii->major, pl, 4);
        for (size_t o = 8; o + 4 <= pll; o += 4)
            if (!memcmp(pl + o, "cmfc", 4))
                ii->cmfc = 1;
    }
    if (!box_child(b, n, "moov", &moov, &moovl))
        return;
    ii->moov = 1;
    const uint8_t *mvex;
    size_t mvexl;
    ii->mvex = box_child(moov, moovl, "mvex", &mvex, &mvexl);
    q = moov;
    qn = moovl;
    while (box_next(&q, &qn, t, &pl, &pll) && ii->ntrk < 4) {
        if (strcmp(t, "trak"))
            continue;
        trk_info *ti = &ii->t[ii->ntrk++];
        const uint8_t *x, *mdia, *y;
        size_t xl, mdial, yl;
        if (box_child(pl, pll, "tkhd", &x, &xl) && xl >= 24)
            ti->id = rd32(x + (x[0] == 1 ? 20 : 12));
        if (!box_child(pl, pll, "mdia", &mdia, &mdial))
            continue;
        if (box_child(mdia, mdial, "mdhd", &x, &xl) && xl >= 24)
            ti->timescale = rd32(x + (x[0] == 1 ? 20 : 12));
        if (box_child(mdia, mdial, "hdlr", &x, &xl) && xl >= 12)
            memcpy(ti->handler, x + 8, 4);
        if (box_child(mdia, mdial, "minf", &x, &xl) && box_child(x, xl, "stbl", &y, &yl) &&
            box_child(y, yl, "stsd", &x, &xl) && xl > 8) {
            const uint8_t *e = x + 8, *epl;
            size_t en = xl - 8, epll;
            if (box_next(&e, &en, ti->entry, &epl, &epll)) {
                /* Visual sample entries have 78 bytes before their boxes,
                 * audio ones 28. */
                size_t skip = !strcmp(ti->handler, "vide") ? 78 : 28;
                if (epll > skip)
                    ti->has_cfg = box_child(epl + skip, epll - skip, cfg_box(ti->entry), &x, &xl);
            }
        }
        if (ii->mvex) {
            const uint8_t *r = mvex;
            size_t rn = mvexl;
            char rt[5];
            while (box_next(&r, &rn, rt, &x, &xl))
                if (!strcmp(rt, "trex") && xl >= 24 && rd32(x + 4) == ti->id) {
                    ti->trex_dur = rd32(x + 12);
                    ti->trex_flags = rd32(x + 20);
                }
        }
    }
}

static const trk_info *trk_by_handler(const init_info *ii, const char *h)
{
    for (int i = 0; i < ii->ntrk; i++)
        if (!strcmp(ii->t[i].handler, h))
            return &ii->t[i];
    return NULL;
}

typedef struct traf_info {
    uint32_t id, count, first_flags;
    uint64_t tfdt, dur;
} traf_info;

typedef struct frag_info {
    int moof_then_mdat, only_those;
    size_t moof_bytes;
    uint32_t mfhd_seq;
    int ntraf;
    traf_info tr[4];
} frag_info;

static void parse_part(const uint8_t *b, size_t n, const init_info *ii, frag_info *fi)
{
    memset(fi, 0, sizeof(*fi));
    const uint8_t *q = b, *pl, *moof = NULL;
    size_t qn = n, pll, moofl = 0;
    char t[5];
    int idx = 0, others = 0, order = 1;
    const uint8_t *before = q;
    for (; box_next(&q, &qn, t, &pl, &pll); before = q) {
        if (!strcmp(t, "moof")) {
            order &= idx % 2 == 0;
            if (!moof) {
                moof = pl;
                moofl = pll;
            }
            fi->moof_bytes += (size_t)(pl - before) + pll;
        } else if (!strcmp(t, "mdat")) {
            order &= idx % 2 == 1;
        } else {
            others++;
        }
        idx++;
    }
    fi->moof_then_mdat = order && idx >= 2 && qn == 0;
    fi->only_those = others == 0;
    if (!moof)
        return;
    const uint8_t *x0;
    size_t x0l;
    if (box_child(moof, moofl, "mfhd", &x0, &x0l) && x0l >= 8)
        fi->mfhd_seq = rd32(x0 + 4);
    q = moof;
    qn = moofl;
    while (box_next(&q, &qn, t, &pl, &pll) && fi->ntraf < 4) {
        if (strcmp(t, "traf"))
            continue;
        traf_info *tr = &fi->tr[fi->ntraf++];
        const uint8_t *x;
        size_t xl;
        uint32_t def_dur = 0, def_flags = 0;
        int have_def_flags = 0;
        if (box_child(pl, pll, "tfhd", &x, &xl) && xl >= 8) {
            uint32_t fl = rd32(x) & 0xffffff;
            tr->id = rd32(x + 4);
            size_t o = 8;
            if (fl & 0x01) o += 8;
            if (fl & 0x02) o += 4;
            if (fl & 0x08) { def_dur = rd32(x + o); o += 4; }
            if (fl & 0x10) o += 4;
            if (fl & 0x20) { def_flags = rd32(x + o); have_def_flags = 1; }
        }
        for (int i = 0; i < ii->ntrk; i++)
            if (ii->t[i].id == tr->id) {
                if (!def_dur)
                    def_dur = ii->t[i].trex_dur;
                if (!have_def_flags)
                    def_flags = ii->t[i].trex_flags;
            }
        if (box_child(pl, pll, "tfdt", &x, &xl) && xl >= 8)
            tr->tfdt = x[0] == 1 ? rd64(x + 4) : rd32(x + 4);
        if (box_child(pl, pll, "trun", &x, &xl) && xl >= 8) {
            uint32_t fl = rd32(x) & 0xffffff;
            tr->count = rd32(x + 4);
            size_t o = 8;
            if (fl & 0x001) o += 4;
            int have_first = 0;
            if (fl & 0x004) { tr->first_flags = rd32(x + o); o += 4; have_first = 1; }
            size_t per = ((fl & 0x100) ? 4 : 0) + ((fl & 0x200) ? 4 : 0) + ((fl & 0x400) ? 4 : 0) + ((fl & 0x800) ? 4 : 0);
            for (uint32_t s = 0; s < tr->count && o + per <= xl; s++, o += per) {
                size_t so = o;
                tr->dur += (fl & 0x100) ? rd32(x + so) : def_dur;
                if (fl & 0x100) so += 4;
                if (fl & 0x200) so += 4;
                if (s == 0 && !have_first)
                    tr->first_flags = (fl & 0x400) ? rd32(x + so) : def_flags;
            }
        }
    }
}

static const traf_info *traf_of(const frag_info *fi, uint32_t id)
{
    for (int i = 0; i < fi->ntraf; i++)
        if (fi->tr[i].id == id)
            return &fi->tr[i];
    return NULL;
}

#define NON_SYNC 0x10000u   /* sample_is_non_sync_sample */

/* ---- decoding ---- */

typedef struct decoded {
    int vframes, aframes, w, h, errors;
    char vcodec[32], acodec[32];
} decoded;

static void decode_file(const char *path, decoded *d)
{
    memset(d, 0, sizeof(*d));
    AVFormatContext *fc = NULL;
    if (avformat_open_input(&fc, path, NULL, NULL) < 0) {
        d->errors = 1;
        return;
    }
    avformat_find_stream_info(fc, NULL);
    AVCodecContext *cc[8] = { 0 };
    for (unsigned i = 0; i < fc->nb_streams && i < 8; i++) {
        AVCodecParameters *par = fc->streams[i]->codecpar;
        const AVCodec *dec = avcodec_find_decoder(par->codec_id);
        if (par->codec_type == AVMEDIA_TYPE_VIDEO)
            snprintf(d->vcodec, sizeof(d->vcodec), "%s", avcodec_get_name(par->codec_id));
        else if (par->codec_type == AVMEDIA_TYPE_AUDIO)
            snprintf(d->acodec, sizeof(d->acodec), "%s", avcodec_get_name(par->codec_id));
        if (!dec)
            continue;
        cc[i] = avcodec_alloc_context3(dec);
        avcodec_parameters_to_context(cc[i], par);
        if (avcodec_open2(cc[i], dec, NULL) < 0)
            avcodec_free_context(&cc[i]);
    }
    AVPacket *pkt = av_packet_alloc();
    AVFrame *fr = av_frame_alloc();
    for (int flushing = 0; flushing < 2; flushing++) {
        for (;;) {
            int idx;
            if (!flushing) {
                if (av_read_frame(fc, pkt) < 0)
                    break;
                idx = pkt->stream_index;
                if (idx >= 8 || !cc[idx]) {
                    av_packet_unref(pkt);
                    continue;
                }
                if (avcodec_send_packet(cc[idx], pkt) < 0)
                    d->errors++;
                av_packet_unref(pkt);
            }
            for (unsigned i = 0; i < fc->nb_streams && i < 8; i++) {
                if (!cc[i])
                    continue;
                if (flushing)
                    avcodec_send_packet(cc[i], NULL);
                while (avcodec_receive_frame(cc[i], fr) == 0) {
                    if (cc[i]->codec_type == AVMEDIA_TYPE_VIDEO) {
                        d->vframes++;
                        d->w = fr->width;
                        d->h = fr->height;
                    } else {
                        d->aframes++;
                    }
                    av_frame_unref(fr);
                }
            }
            if (flushing)
                break;
        }
    }
    av_frame_free(&fr);
    av_packet_free(&pkt);
    for (int i = 0; i < 8; i++)
        avcodec_free_context(&cc[i]);
    avformat_close_input(&fc);
}

/* Writes init + the parts of segments [from, to] to a file. */
static void write_segs(const char *path, le_hls_seg **segs, size_t from, size_t to)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return;
    fwrite(segs[from]->init->data, 1, segs[from]->init->len, f);
    for (size_t i = from; i <= to; i++)
        for (size_t k = 0; k < segs[i]->nparts; k++)
            fwrite(segs[i]->parts[k]->data, 1, segs[i]->parts[k]->len, f);
    fclose(f);
}

/* ---- runs ---- */

static int notified;
static void on_notify(void *arg)
{
    (void)arg;
    notified++;
}

typedef struct expect {
    const char *name;
    int variant;
    const char *ventry, *aentry;    /* sample entries, NULL: no such track */
    const char *vdec, *adec;        /* libavcodec names */
    int w, h;
    int64_t frag_ms, part_ms;
    int64_t gop_ms;                 /* keyframe interval (0: audio only) */
    double fps;
    int min_segs;
} expect;

/* Feeds l, checking the open segment after every packet. */
static le_hls *run_feed(const expect *e, pktlist *l, le_hls_seg **held_open)
{
    le_hls *h = le_hls_new(e->name, 0, 0);
    le_hls_set_params(h, e->frag_ms, 50);
    le_hls_set_variant(h, e->variant, e->part_ms);
    notified = 0;
    le_hls_set_notify(h, on_notify, NULL);
    int open_ok = 1, seen_open = 0;
    *held_open = NULL;
    for (size_t i = 0; i < l->n; i++) {
        le_hls_feed(h, l->p[i]);
        le_hls_seg *o = le_hls_open_seg(h);
        if (!o)
            continue;
        seen_open = 1;
        int64_t d = 0;
        size_t len = 0;
        for (size_t k = 0; k < o->nparts; k++) {
            d += o->parts[k]->duration_ms;
            len += o->parts[k]->len;
        }
        if (o->sealed || o->seq != le_hls_next_seq(h) || d != o->duration_ms || len != o->len || !o->init ||
            o->data)
            open_ok = 0;
        if (!*held_open && o->nparts >= 2)
            *held_open = le_hls_seg_ref(o);
    }
    if (e->variant == LE_HLS_VARIANT_LOWLATENCY) {
        ok(seen_open && open_ok, "%s: the open segment is numbered le_hls_next_seq, unsealed, its duration and "
                                 "length the sums of its parts", e->name);
        ok(*held_open != NULL, "%s: an open segment with 2 parts was seen", e->name);
    } else {
        ok(!seen_open, "%s: no open segment is shown in the fmp4 variant", e->name);
    }
    int before = notified;
    le_hls_end(h);
    ok(notified > before, "%s: le_hls_end notifies", e->name);
    return h;
}

static void check_fmp4(const expect *e, pktlist *l)
{
    le_hls_seg *held_open;
    le_hls *h = run_feed(e, l, &held_open);
    le_hls_seg *segs[64];
    size_t n = le_hls_segments(h, segs, 64, 0);
    ok(n >= (size_t)e->min_segs, "%s: %zu segments (want >= %d)", e->name, n, e->min_segs);
    if (n == 0) {
        le_hls_free(h);
        return;
    }
    is_int(le_hls_variant(h), e->variant, "%s: variant", e->name);
    init_info ii;
    parse_init(segs[0]->init->data, segs[0]->init->len, &ii);
    ok(ii.ftyp_first && ii.moov && ii.mvex, "%s: init is ftyp then moov with mvex", e->name);
    ok(!strcmp(ii.major, "iso5") || !strcmp(ii.major, "iso6"), "%s: init's major brand iso5/iso6 ('%s')", e->name,
       ii.major);
    const trk_info *tv = trk_by_handler(&ii, "vide"), *ta = trk_by_handler(&ii, "soun");
    is_int(ii.ntrk, (e->ventry ? 1 : 0) + (e->aentry ? 1 : 0), "%s: init has %d tracks", e->name, ii.ntrk);
    if (e->ventry) {
        is_str(tv ? tv->entry : "", e->ventry, "%s: video sample entry", e->name);
        ok(tv && tv->has_cfg, "%s: the video entry has its %s", e->name, cfg_box(e->ventry));
        is_int(tv ? tv->timescale : 0, 90000, "%s: video timescale 90 kHz", e->name);
    }
    if (e->aentry) {
        is_str(ta ? ta->entry : "", e->aentry, "%s: audio sample entry", e->name);
        ok(ta && ta->has_cfg, "%s: the audio entry has its %s", e->name, cfg_box(e->aentry));
    }
    const trk_info *drive = tv ? tv : ta;
    double scale = drive ? drive->timescale / 1000.0 : 1;

    size_t bytes = segs[0]->init->len;
    int parts_ok = 1, tfdt_ok = 1, dur_ok = 1, indep_ok = 1, sums_ok = 1, bytes_ok = 1, shape_ok = 1;
    int nparts = 0, nindep = 0, seg_dur_ok = 1;
    size_t moof_bytes = 0;
    int64_t max_part = 0, min_part = INT64_MAX;
    uint64_t last_tfdt = 0;
    int have_last = 0;
    char why[256] = "";
    for (size_t i = 0; i < n; i++) {
        le_hls_seg *s = segs[i];
        if (!s->sealed || s->data || !s->init || s->nparts == 0)
            shape_ok = 0;
        if (e->variant == LE_HLS_VARIANT_FMP4 && s->nparts != 1)
            parts_ok = 0;
        if (i > 0 && s->init != segs[i - 1]->init)
            bytes += s->init->len;
        int64_t start = s->start_ts_ms, dsum = 0;
        size_t lsum = 0;
        for (size_t k = 0; k < s->nparts; k++) {
            const le_hls_chunk *c = s->parts[k];
            frag_info fi;
            parse_part(c->data, c->len, &ii, &fi);
            if (!fi.moof_then_mdat || !fi.only_those)
                shape_ok = 0;
            moof_bytes += fi.moof_bytes + 8;   /* and the mdat header */
            const traf_info *tr = drive ? traf_of(&fi, drive->id) : NULL;
            if (!tr) {
                tfdt_ok = 0;
                continue;
            }
            /* tfdt: the part's start on the publisher's timeline. */
            if (llabs((long long)(tr->tfdt / scale) - (long long)start) > 1) {
                if (tfdt_ok)
                    snprintf(why, sizeof(why), "seg %llu part %zu: tfdt %.1f ms, start %lld",
                             (unsigned long long)s->seq, k, tr->tfdt / scale, (long long)start);
                tfdt_ok = 0;
            }
            if (have_last && tr->tfdt <= last_tfdt)
                tfdt_ok = 0;
            last_tfdt = tr->tfdt;
            have_last = 1;
            /* The samples last what the part says (the stream's last one
             * ends where le_hls_end estimates). */
            int last_of_all = i + 1 == n && k + 1 == s->nparts;
            if (!last_of_all && llabs((long long)(tr->dur / scale) - (long long)c->duration_ms) > 1)
                dur_ok = 0;
            int starts_key = tv ? !(tr->first_flags & NON_SYNC) : 1;
            if (starts_key != c->independent)
                indep_ok = 0;
            if (tv && e->gop_ms > 0) {
                int at_key = (start - segs[0]->start_ts_ms) % e->gop_ms == 0;
                if (at_key != c->independent)
                    indep_ok = 0;
            }
            nindep += c->independent;
            nparts++;
            if (k + 1 < s->nparts) {
                if (c->duration_ms > max_part)
                    max_part = c->duration_ms;
                if (c->duration_ms < min_part)
                    min_part = c->duration_ms;
            }
            start += c->duration_ms;
            dsum += c->duration_ms;
            lsum += c->len;
        }
        if (dsum != s->duration_ms || lsum != s->len)
            sums_ok = 0;
        bytes += s->len;
        if (i + 1 < n && (s->duration_ms < e->frag_ms || s->duration_ms > e->frag_ms + (e->gop_ms ? e->gop_ms : 100)))
            seg_dur_ok = 0;
    }
    printf("# %s: init section %zu bytes; %d parts, %.0f bytes of moof + mdat header each\n", e->name,
           segs[0]->init->len, nparts, nparts ? (double)moof_bytes / nparts : 0.0);
    ok(shape_ok, "%s: segments sealed, no TS data, init set, parts are moof+mdat pairs only", e->name);
    ok(parts_ok, "%s: fmp4 variant: one part per segment", e->name);
    ok(tfdt_ok, "%s: tfdt of every part = its start (ms x timescale), increasing %s", e->name, why);
    ok(dur_ok, "%s: trun sample durations add up to each part's duration", e->name);
    ok(indep_ok, "%s: INDEPENDENT exactly when the part starts with a keyframe (or audio only)", e->name);
    ok(sums_ok, "%s: segment duration and length are the sums of its parts", e->name);
    ok(seg_dur_ok, "%s: segments last hls_fragment up to the next keyframe", e->name);
    if (e->variant == LE_HLS_VARIANT_LOWLATENCY) {
        double step = e->fps > 0 ? 1000.0 / e->fps : 24;
        ok(max_part <= e->part_ms + 2 && min_part >= e->part_ms - step - 2,
           "%s: %d parts, non-final ones %lld..%lld ms for hls_part %lld", e->name, nparts, (long long)min_part,
           (long long)max_part, (long long)e->part_ms);
        if (!tv)
            is_int(nindep, nparts, "%s: audio only: every part independent", e->name);
        else if (e->gop_ms && e->gop_ms % e->part_ms == 0)
            is_int(nindep, (int)((segs[n - 1]->start_ts_ms + segs[n - 1]->duration_ms - segs[0]->start_ts_ms +
                                  e->gop_ms - 1) / e->gop_ms),
                   "%s: one independent part per GOP", e->name);
    }
    bytes_ok = le_hls_bytes(h) == bytes;
    ok(bytes_ok, "%s: le_hls_bytes %zu = parts + init sections %zu", e->name, le_hls_bytes(h), bytes);

    if (held_open) {
        ok(held_open->sealed && le_hls_find(h, held_open->seq) == held_open,
           "%s: the held open segment %llu is the sealed one in the ring", e->name,
           (unsigned long long)held_open->seq);
    }
    if (have_ffmpeg) {
        /* Every segment with its init decodes; then the whole run. */
        int each_ok = 1;
        double fpseg = e->fps * e->frag_ms / 1000.0;
        for (size_t i = 0; i + 1 < n && tv; i++) {
            char file[512];
            snprintf(file, sizeof(file), "%s/%s-%llu.mp4", tmpdir, e->name, (unsigned long long)segs[i]->seq);
            write_segs(file, segs, i, i);
            decoded d;
            decode_file(file, &d);
            double want = e->fps * segs[i]->duration_ms / 1000.0;
            if (d.errors || d.vframes < want - 0.5 || d.vframes > want + 0.5 || d.w != e->w || d.h != e->h) {
                if (each_ok)
                    printf("# %s: %d frames (want %.1f) %dx%d, %d errors\n", file, d.vframes, want, d.w, d.h,
                           d.errors);
                each_ok = 0;
            }
        }
        (void)fpseg;
        if (tv)
            ok(each_ok, "%s: each segment (init + parts) decodes alone: frames = fps x duration, %dx%d", e->name,
               e->w, e->h);
        char file[512];
        snprintf(file, sizeof(file), "%s/%s-all.mp4", tmpdir, e->name);
        write_segs(file, segs, 0, n - 1);
        decoded d;
        decode_file(file, &d);
        is_int(d.errors, 0, "%s: whole run decodes without errors", e->name);
        if (e->vdec) {
            is_str(d.vcodec, e->vdec, "%s: video codec", e->name);
            ok(d.w == e->w && d.h == e->h, "%s: picture %dx%d", e->name, d.w, d.h);
            ok(d.vframes > 0, "%s: %d video frames", e->name, d.vframes);
        }
        if (e->adec) {
            is_str(d.acodec, e->adec, "%s: audio codec", e->name);
            ok(d.aframes > 0, "%s: %d audio frames", e->name, d.aframes);
        }
    }
    if (held_open)
        le_hls_seg_unref(held_open);
    le_hls_free(h);
}

/* References outlive the segmenter: a part and an init section held by a
 * response stay readable after le_hls_free (ASan checks the rest). */
static void refcount_test(pktlist *av)
{
    le_hls *h = le_hls_new("t/live/refs", 0, 0);
    le_hls_set_params(h, 1000, 1);
    le_hls_set_variant(h, LE_HLS_VARIANT_LOWLATENCY, 200);
    le_hls_chunk *part = NULL, *init = NULL;
    le_hls_seg *first = NULL;
    for (size_t i = 0; i < av->n; i++) {
        le_hls_feed(h, av->p[i]);
        le_hls_seg *o = le_hls_open_seg(h);
        if (!part && o && o->nparts) {
            part = le_hls_chunk_ref(o->parts[0]);
            init = le_hls_chunk_ref(o->init);
            first = le_hls_seg_ref(o);
        }
    }
    ok(part && le_hls_find(h, first->seq) == NULL, "refs: the first segment rotated out of a 1+%d ring",
       LE_HLS_EXTRA_SEGS);
    le_hls_free(h);
    ok(part && part->refs == 2 && part->len > 8 && !memcmp(part->data + 4, "moof", 4),
       "refs: a held part outlives the segmenter (refs %d: ours and the held segment's)", part ? part->refs : 0);
    ok(init && init->len > 8 && !memcmp(init->data + 4, "ftyp", 4), "refs: a held init section too");
    le_hls_seg_unref(first);
    ok(part && part->refs == 1, "refs: the segment's unref drops its parts' references");
    le_hls_chunk_unref(part);
    le_hls_chunk_unref(init);
}

/* Variants switch between publishes: the other kind's segments go, the
 * numbering goes on with a discontinuity; a switch asked for mid-publish
 * waits for le_hls_end. */
static void variant_switch_test(pktlist *av)
{
    le_hls *h = le_hls_new("t/live/switchvar", 0, 0);
    le_hls_set_params(h, 2000, 50);
    for (size_t i = 0; i < av->n; i++) {
        le_hls_feed(h, av->p[i]);
        if (i == av->n / 2)
            le_hls_set_variant(h, LE_HLS_VARIANT_LOWLATENCY, 200);
    }
    is_int(le_hls_variant(h), LE_HLS_VARIANT_MPEGTS, "switch: asked mid-publish, mpegts stays until the end");
    ok(le_hls_open_seg(h) == NULL, "switch: no open segment in mpegts");
    le_hls_end(h);
    is_int(le_hls_variant(h), LE_HLS_VARIANT_LOWLATENCY, "switch: lowlatency after le_hls_end");
    le_hls_seg *segs[64];
    is_int(le_hls_segments(h, segs, 64, 0), 0, "switch: the TS segments are dropped");
    uint64_t at = le_hls_next_seq(h);
    ok(at >= 3, "switch: numbering kept (%llu)", (unsigned long long)at);
    for (size_t i = 0; i < av->n; i++)
        le_hls_feed(h, av->p[i]);
    le_hls_end(h);
    size_t n = le_hls_segments(h, segs, 64, 0);
    ok(n >= 3 && segs[0]->seq == at && segs[0]->disc && segs[0]->nparts > 1 && !segs[0]->data,
       "switch: fmp4 segments go on from %llu with a discontinuity", (unsigned long long)at);
    ok(n >= 3 && !segs[1]->disc && segs[1]->init == segs[0]->init, "switch: one init section for the publish");
    is_int(le_hls_part_ms(h), 200, "switch: hls_part 200");
    le_hls_set_variant(h, LE_HLS_VARIANT_FMP4, 10);
    is_int(le_hls_part_ms(h), LE_HLS_PART_MIN_MS, "switch: hls_part clamped to %d ms", LE_HLS_PART_MIN_MS);
    le_hls_free(h);
}

/* A codec change mid-publish (H.264, then H.265): a new init section and a
 * discontinuity. */
static void codec_change_test(pktlist *av, pktlist *hv)
{
    le_hls *h = le_hls_new("t/live/cchange", 0, 0);
    le_hls_set_params(h, 2000, 50);
    le_hls_set_variant(h, LE_HLS_VARIANT_LOWLATENCY, 200);
    for (size_t i = 0; i < av->n; i++)
        le_hls_feed(h, av->p[i]);
    uint32_t base = av->p[av->n - 1]->ts + 40;
    for (size_t i = 0; i < hv->n; i++) {
        le_pkt *p = le_pkt_new(hv->p[i]->type, hv->p[i]->ts + base, hv->p[i]->data, hv->p[i]->len);
        le_hls_feed(h, p);
        le_pkt_unref(p);
    }
    le_hls_end(h);
    le_hls_seg *segs[64];
    size_t n = le_hls_segments(h, segs, 64, 0);
    size_t sw = 0;
    for (size_t i = 1; i < n; i++)
        if (segs[i]->disc)
            sw = i;
    ok(sw > 0, "codec change: a later segment carries a discontinuity");
    if (sw) {
        ok(segs[sw]->init != segs[sw - 1]->init, "codec change: with a new init section");
        init_info ii;
        parse_init(segs[sw]->init->data, segs[sw]->init->len, &ii);
        const trk_info *tv = trk_by_handler(&ii, "vide");
        is_str(tv ? tv->entry : "", "hvc1", "codec change: the new init has hvc1");
        ok(segs[sw]->parts[0]->independent, "codec change: its first part is independent");
        if (have_ffmpeg) {
            char file[512];
            snprintf(file, sizeof(file), "%s/cchange.mp4", tmpdir);
            write_segs(file, segs, sw, n - 1);
            decoded d;
            decode_file(file, &d);
            ok(d.errors == 0 && !strcmp(d.vcodec, "hevc") && d.w == 320 && d.vframes > 100,
               "codec change: the H.265 part decodes (%d frames)", d.vframes);
        }
    }
    le_hls_free(h);
}

/* A long publish: past LE_FMP4_RENEW_FRAGS parts the muxer is renewed
 * between segments, unseen by players (same init section, no
 * discontinuity, tfdt going on); only the moof sequence numbers restart. */
static void renew_test(pktlist *av)
{
    le_hls *h = le_hls_new("t/live/renew", 0, 0);
    le_hls_set_params(h, 2000, 1000);
    le_hls_set_variant(h, LE_HLS_VARIANT_LOWLATENCY, LE_HLS_PART_MIN_MS);
    uint32_t loop_ms = av->p[av->n - 1]->ts + 40;
    int loops = (int)(LE_FMP4_RENEW_FRAGS / (loop_ms / 40)) + 3;
    for (int k = 0; k < loops; k++)
        for (size_t i = 0; i < av->n; i++) {
            le_pkt *p = le_pkt_new(av->p[i]->type, av->p[i]->ts + (uint32_t)k * loop_ms, av->p[i]->data,
                                   av->p[i]->len);
            le_hls_feed(h, p);
            le_pkt_unref(p);
        }
    le_hls_end(h);
    static le_hls_seg *segs[1200];
    size_t n = le_hls_segments(h, segs, 1200, 0);
    init_info ii;
    parse_init(segs[0]->init->data, segs[0]->init->len, &ii);
    const trk_info *tv = trk_by_handler(&ii, "vide");
    int same = 1, cont = 1, restarted = 0, nparts = 0;
    size_t restart_seg = 0;
    uint32_t last_mfhd = 0;
    for (size_t i = 0; i < n; i++) {
        if (segs[i]->init != segs[0]->init || (i > 0 && segs[i]->disc))
            same = 0;
        int64_t start = segs[i]->start_ts_ms;
        for (size_t k = 0; k < segs[i]->nparts; k++, nparts++) {
            frag_info fi;
            parse_part(segs[i]->parts[k]->data, segs[i]->parts[k]->len, &ii, &fi);
            const traf_info *tr = tv ? traf_of(&fi, tv->id) : NULL;
            if (!tr || llabs((long long)(tr->tfdt / 90) - (long long)start) > 1)
                cont = 0;
            if (fi.mfhd_seq < last_mfhd && !restarted) {
                restarted = 1;
                restart_seg = i;
                if (k != 0)
                    cont = 0;   /* renewed inside a segment */
            }
            last_mfhd = fi.mfhd_seq;
            start += segs[i]->parts[k]->duration_ms;
        }
    }
    ok(nparts > LE_FMP4_RENEW_FRAGS, "renew: %d parts in %zu segments", nparts, n);
    ok(restarted, "renew: the moof sequence restarted at segment %zu (a new muxer)", restart_seg);
    ok(same, "renew: one init section, no discontinuity");
    ok(cont, "renew: tfdt = part start throughout, renewed at a segment start");
    if (restarted && have_ffmpeg) {
        char file[512];
        snprintf(file, sizeof(file), "%s/renew.mp4", tmpdir);
        write_segs(file, segs, restart_seg - 1, restart_seg + 1);
        decoded d;
        decode_file(file, &d);
        int64_t dur = segs[restart_seg - 1]->duration_ms + segs[restart_seg]->duration_ms +
                      segs[restart_seg + 1]->duration_ms;
        ok(d.errors == 0 && d.vframes == (int)(dur / 40) && d.w == 320,
           "renew: segments across the renewal decode together (%d frames for %lld ms)", d.vframes,
           (long long)dur);
    }
    le_hls_free(h);
}

/* ---- synthetic streams (hls_helpers.h): the bounds and edges ---- */

static int64_t fk_now;
static int64_t fk_clock(void) { return fk_now; }
static int follow_fixed(void *arg, int64_t ts, uint64_t *seq)
{
    (void)ts;
    *seq = *(const uint64_t *)arg;
    return LE_OK;
}

static le_hls *ll_new(const char *key)
{
    le_hls *h = le_hls_new(key, 0, 0);
    le_hls_set_params(h, 2000, 50);
    le_hls_set_variant(h, LE_HLS_VARIANT_LOWLATENCY, 200);
    le_hls_set_clock(h, fk_clock);
    return h;
}

static void synthetic_tests(void)
{
    /* The open segment appears with the first keyframe, numbered as the
     * followed stream says, before any part; notify says so. */
    uint64_t target = 40;
    le_hls *h = ll_new("t/live/first");
    le_hls_set_seq_fn(h, follow_fixed, &target);
    notified = 0;
    le_hls_set_notify(h, on_notify, NULL);
    feed_bytes(h, LE_PKT_VIDEO, 0, AVC_SEQ, sizeof(AVC_SEQ));
    feed_bytes(h, LE_PKT_AUDIO, 0, AAC_SEQ, sizeof(AAC_SEQ));
    ok(le_hls_open_seg(h) == NULL && notified == 0, "no open segment before the first keyframe");
    feed_video(h, 0, 1, 600);
    le_hls_seg *o = le_hls_open_seg(h);
    ok(o && o->nparts == 0 && o->seq == 40 && le_hls_next_seq(h) == 40 && !o->sealed && o->init,
       "the first keyframe opens segment 40 (followed numbering), no part yet, its init set");
    is_int(notified, 1, "... and notifies once");
    int parts_seen = 0, notes_before = notified;
    for (uint32_t t = 40; t < 4000; t += 40) {
        size_t before = o ? o->nparts : 0;
        le_hls_seg *was = o;
        feed_video(h, t, t % 1000 == 0, 600);
        o = le_hls_open_seg(h);
        if (o == was && o->nparts > before)
            parts_seen++;
        else if (o != was)
            parts_seen++;
    }
    ok(notified - notes_before >= parts_seen && parts_seen >= 15,
       "notify after every part (%d notifies, %d parts)", notified - notes_before, parts_seen);
    le_hls_free(h);

    /* An encoder with no keyframe after the first (intra refresh): segments
     * cut at the media-time bound, parts go on; the capped segment's parts
     * do not start with a keyframe. */
    h = ll_new("t/live/norefresh");
    feed_bytes(h, LE_PKT_VIDEO, 0, AVC_SEQ, sizeof(AVC_SEQ));
    feed_bytes(h, LE_PKT_AUDIO, 0, AAC_SEQ, sizeof(AAC_SEQ));
    feed_av(h, 0, 30000, 0, 1);
    le_hls_end(h);
    le_hls_seg *segs[64];
    size_t n = le_hls_segments(h, segs, 64, 0);
    int64_t bound = le_hls_seg_max_ms(2000);
    ok(n >= 2 && segs[0]->duration_ms >= bound && segs[0]->duration_ms <= bound + 40,
       "no keyframes: cut at the %lld ms bound (%lld)", (long long)bound, n ? (long long)segs[0]->duration_ms : 0LL);
    int indep = 0, longest = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < segs[i]->nparts; k++) {
            indep += segs[i]->parts[k]->independent;
            if (segs[i]->parts[k]->duration_ms > longest)
                longest = (int)segs[i]->parts[k]->duration_ms;
        }
    ok(n >= 2 && segs[0]->parts[0]->independent && indep == 1,
       "no keyframes: only the very first part is independent (%d)", indep);
    ok(longest <= 202, "no keyframes: parts still within hls_part (%d ms)", longest);
    le_hls_free(h);

    /* A timestamp jump: sealed there, a discontinuity, the same muxer and
     * init section, the timeline rebased so tfdt goes on. */
    h = ll_new("t/live/jump");
    feed_bytes(h, LE_PKT_VIDEO, 0, AVC_SEQ, sizeof(AVC_SEQ));
    feed_bytes(h, LE_PKT_AUDIO, 0, AAC_SEQ, sizeof(AAC_SEQ));
    feed_av(h, 0, 4000, 1000, 1);
    feed_av(h, 3600000, 4000, 1000, 1);
    le_hls_end(h);
    n = le_hls_segments(h, segs, 64, 0);
    size_t j = 0;
    for (size_t i = 1; i < n; i++)
        if (segs[i]->disc)
            j = i;
    ok(j > 0 && segs[j]->init == segs[0]->init, "jump: a discontinuity, the same init section");
    if (j) {
        init_info ii;
        parse_init(segs[0]->init->data, segs[0]->init->len, &ii);
        frag_info fi;
        parse_part(segs[j]->parts[0]->data, segs[j]->parts[0]->len, &ii, &fi);
        const trk_info *tv = trk_by_handler(&ii, "vide");
        const traf_info *tr = tv ? traf_of(&fi, tv->id) : NULL;
        int64_t prev_end = segs[j - 1]->start_ts_ms + segs[j - 1]->duration_ms;
        ok(tr && llabs((long long)(tr->tfdt / 90) - (long long)segs[j]->start_ts_ms) <= 1 &&
               llabs(segs[j]->start_ts_ms - prev_end) <= 40,
           "jump: the timeline goes on (segment %lld ms after the previous end, tfdt %.0f ms)",
           (long long)(segs[j]->start_ts_ms - prev_end), tr ? tr->tfdt / 90.0 : -1.0);
    }
    le_hls_free(h);

    /* Audio alone first, video later: audio-only segments, then a new init
     * section with both tracks, after a discontinuity. */
    h = ll_new("t/live/late-video");
    feed_bytes(h, LE_PKT_AUDIO, 0, AAC_SEQ, sizeof(AAC_SEQ));
    for (uint32_t t = 0; t < 3000; t += 23)
        feed_aac(h, t);
    o = le_hls_open_seg(h);
    ok(o && o->nparts > 0 && o->parts[0]->independent && !o->has_video, "audio only: parts, all independent");
    feed_bytes(h, LE_PKT_VIDEO, 3000, AVC_SEQ, sizeof(AVC_SEQ));
    feed_av(h, 3000, 4000, 1000, 1);
    le_hls_end(h);
    n = le_hls_segments(h, segs, 64, 0);
    j = 0;
    for (size_t i = 1; i < n; i++)
        if (segs[i]->disc && !j)
            j = i;
    ok(j > 0 && segs[j]->has_video && segs[j]->init != segs[0]->init, "video joins: a discontinuity and a new init");
    if (j) {
        init_info a, b;
        parse_init(segs[0]->init->data, segs[0]->init->len, &a);
        parse_init(segs[j]->init->data, segs[j]->init->len, &b);
        ok(a.ntrk == 1 && b.ntrk == 2 && trk_by_handler(&b, "vide"), "video joins: 1 track, then 2 (%d, %d)",
           a.ntrk, b.ntrk);
        ok(segs[j]->disc_seq == segs[j - 1]->disc_seq + 1, "video joins: the new init has a new disc_seq");
    }
    le_hls_free(h);
}

int main(void)
{
    in_ci = getenv("CI") && strcmp(getenv("CI"), "true") == 0;
    synthetic_tests();
    have_ffmpeg = run("ffmpeg -version") == 0;
    if (!have_ffmpeg) {
        ok(!in_ci, "ffmpeg available (required in CI)");
        printf("# SKIP: no ffmpeg\n");
        return done_testing();
    }
    snprintf(tmpdir, sizeof(tmpdir), "%s/le-fmp4-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmpdir)) {
        ok(0, "temp dir");
        return done_testing();
    }
    const char *src = "-f lavfi -i testsrc=size=320x240:rate=25 -f lavfi -i sine -t 6";
    char args[512], path[512];
    snprintf(args, sizeof(args), "%s -c:v libx264 -g 25 -c:a aac -f flv", src);
    ok(make("av.flv", args) == 0, "ffmpeg makes the A/V FLV");
    ok(make("a.flv", "-f lavfi -i sine -t 6 -c:a aac -f flv") == 0, "ffmpeg makes the audio-only FLV");
    pktlist av = { 0 }, a = { 0 };
    snprintf(path, sizeof(path), "%s/av.flv", tmpdir);
    ok(read_flv(path, &av) == 0 && av.n > 200, "A/V FLV read (%zu tags)", av.n);
    snprintf(path, sizeof(path), "%s/a.flv", tmpdir);
    ok(read_flv(path, &a) == 0 && a.n > 100, "audio FLV read (%zu tags)", a.n);

    expect e_ll = { "ll-av", LE_HLS_VARIANT_LOWLATENCY, "avc1", "mp4a", "h264", "aac", 320, 240, 2000, 200,
                    1000, 25, 3 };
    check_fmp4(&e_ll, &av);
    expect e_f = { "fmp4-av", LE_HLS_VARIANT_FMP4, "avc1", "mp4a", "h264", "aac", 320, 240, 2000, 200, 1000, 25, 3 };
    check_fmp4(&e_f, &av);
    expect e_ll3 = { "ll-av-300", LE_HLS_VARIANT_LOWLATENCY, "avc1", "mp4a", "h264", "aac", 320, 240, 2000, 300,
                     1000, 25, 3 };
    check_fmp4(&e_ll3, &av);
    expect e_a = { "ll-audio", LE_HLS_VARIANT_LOWLATENCY, NULL, "mp4a", NULL, "aac", 0, 0, 2000, 200, 0, 0, 2 };
    check_fmp4(&e_a, &a);
    refcount_test(&av);
    renew_test(&av);
    variant_switch_test(&av);

    if (make_hevc_mp4(src, ":no-open-gop=1", path, sizeof(path))) {
        for (int enhanced = 0; enhanced < 2; enhanced++) {
            pktlist hv = { 0 };
            ok(read_mp4(path, enhanced, 0, &hv) == 0 && hv.n > 200, "H.265 %s tags built (%zu)",
               enhanced ? "enhanced" : "legacy", hv.n);
            expect e_h = { enhanced ? "ll-hevc-ex" : "fmp4-hevc-12",
                           enhanced ? LE_HLS_VARIANT_LOWLATENCY : LE_HLS_VARIANT_FMP4,
                           "hvc1", "mp4a", "hevc", "aac", 320, 240, 2000, 200, 1000, 25, 2 };
            check_fmp4(&e_h, &hv);
            if (enhanced)
                codec_change_test(&av, &hv);
            pl_free(&hv);
        }
    }

    /* AV1 and Opus: what MPEG-TS here cannot carry. */
    int have_av1 = run("ffmpeg -hide_banner -encoders | grep -q libsvtav1") == 0 &&
                   run("ffmpeg -hide_banner -encoders | grep -q libopus") == 0;
    if (!have_av1) {
        ok(!in_ci, "libsvtav1 and libopus available (required in CI)");
    } else {
        snprintf(args, sizeof(args),
                 "-f lavfi -i testsrc=size=320x240:rate=25 -f lavfi -i sine=sample_rate=48000 -t 4 "
                 "-c:v libsvtav1 -preset 12 -g 25 -pix_fmt yuv420p -c:a libopus -f mp4");
        ok(make("av1.mp4", args) == 0, "ffmpeg makes the AV1 + Opus MP4");
        snprintf(path, sizeof(path), "%s/av1.mp4", tmpdir);
        pktlist x = { 0 };
        ok(read_mp4(path, 1, 0, &x) == 0 && x.n > 100, "AV1/Opus enhanced tags built (%zu)", x.n);
        expect e_x = { "ll-av1-opus", LE_HLS_VARIANT_LOWLATENCY, "av01", "Opus", "av1", "opus", 320, 240, 2000, 200,
                       1000, 25, 1 };
        check_fmp4(&e_x, &x);
        /* MPEG-TS still refuses both. */
        le_hls *h = le_hls_new("t/live/ts-av1", 0, 0);
        for (size_t i = 0; i < x.n; i++)
            le_hls_feed(h, x.p[i]);
        le_hls_end(h);
        le_hls_seg *segs[4];
        is_int(le_hls_segments(h, segs, 4, 0), 0, "mpegts: AV1 + Opus make no segments");
        le_hls_free(h);
        pl_free(&x);
    }

    pl_free(&av);
    pl_free(&a);
    if (!tap_failed) {
        char cmd[600];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        run(cmd);
    } else {
        printf("# files kept in %s\n", tmpdir);
    }
    return done_testing();
}
