/* Recording writer: where files start and end, what they are called, the
 * timestamps they carry, the space check and the .tmp + rename protocol
 * (record/writer.h; docs/RECORD.md, "Files"). The bytes of each format come
 * from writer_flv.c, writer_mp4.c and writer_hls.c (record/writer_impl.h).
 * Runs on a writer thread: no loop, no log, no Redis; what goes wrong is
 * told through return values and on_status. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "core/err.h"
#include "core/util.h"
#include "media/flv.h"
#include "record/config.h"
#include "record/writer_impl.h"

#define TRK_A 0
#define TRK_V 1

static const char *const ext_of[LE_REC_NFMT] = { "flv", "mp4", "m3u8" };

int le_recw_write_all(int fd, const void *b, size_t n)
{
    const uint8_t *p = b;
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return LE_EIO;
        }
        p += k;
        n -= (size_t)k;
    }
    return LE_OK;
}

int le_recw_mkdirs(const char *path)
{
    char d[PATH_MAX];
    size_t n = strlen(path);
    if (n >= sizeof(d))
        return LE_ETOOBIG;
    memcpy(d, path, n + 1);
    char *slash = strrchr(d, '/');
    if (!slash || slash == d)
        return LE_OK;
    *slash = '\0';
    for (char *s = d + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(d, 0755) != 0 && errno != EEXIST)
            return LE_EIO;
        *s = '/';
    }
    if (mkdir(d, 0755) != 0 && errno != EEXIST)
        return LE_EIO;
    return LE_OK;
}

/* ---- H.264 SPS: width and height, when onMetaData has none ---- */

typedef struct bits {
    const uint8_t *b;
    size_t n, pos;  /* pos in bits */
} bits;

static unsigned get1(bits *r)
{
    if (r->pos >= r->n * 8)
        return 0;
    unsigned v = (r->b[r->pos >> 3] >> (7 - (r->pos & 7))) & 1;
    r->pos++;
    return v;
}

static unsigned getn(bits *r, int n)
{
    unsigned v = 0;
    while (n-- > 0)
        v = v << 1 | get1(r);
    return v;
}

static unsigned ue(bits *r)
{
    int zeros = 0;
    while (!get1(r)) {
        if (++zeros > 31 || r->pos >= r->n * 8)
            return 0;
    }
    return (unsigned)((1ull << zeros) - 1 + getn(r, zeros));
}

static int se(bits *r)
{
    unsigned v = ue(r);
    return v & 1 ? (int)((v + 1) / 2) : -(int)(v / 2);
}

/* avcC (AVCDecoderConfigurationRecord) -> the first SPS's picture size. */
static int sps_dims(const uint8_t *c, size_t n, int *w, int *h)
{
    if (n < 8 || (c[5] & 0x1f) == 0)
        return LE_EPROTO;
    size_t len = le_rd_be16(c + 6);
    if (len < 4 || 8 + len > n || len > 1024)
        return LE_EPROTO;
    uint8_t rbsp[1024];
    size_t m = 0;
    for (size_t i = 1; i < len; i++) {   /* NAL header skipped, emulation bytes out */
        if (i + 2 < len && c[8 + i] == 0 && c[8 + i + 1] == 0 && c[8 + i + 2] == 3) {
            rbsp[m++] = 0;
            rbsp[m++] = 0;
            i += 2;
            continue;
        }
        rbsp[m++] = c[8 + i];
    }
    bits r = { rbsp, m, 0 };
    unsigned profile = getn(&r, 8);
    getn(&r, 16);
    ue(&r);
    unsigned chroma = 1;
    if (profile == 100 || profile == 110 || profile == 122 || profile == 244 || profile == 44 ||
        profile == 83 || profile == 86 || profile == 118 || profile == 128 || profile == 138 ||
        profile == 139 || profile == 134 || profile == 135) {
        chroma = ue(&r);
        if (chroma == 3)
            get1(&r);
        ue(&r);
        ue(&r);
        get1(&r);
        if (get1(&r)) {
            for (int i = 0; i < (chroma != 3 ? 8 : 12); i++) {
                if (!get1(&r))
                    continue;
                int size = i < 6 ? 16 : 64, last = 8, next = 8;
                for (int j = 0; j < size && next != 0; j++) {
                    next = (last + se(&r) + 256) % 256;
                    if (next != 0)
                        last = next;
                }
            }
        }
    }
    ue(&r);
    unsigned poc = ue(&r);
    if (poc == 0) {
        ue(&r);
    } else if (poc == 1) {
        get1(&r);
        se(&r);
        se(&r);
        unsigned k = ue(&r);
        for (unsigned i = 0; i < k && i < 256; i++)
            se(&r);
    }
    ue(&r);
    get1(&r);
    unsigned wmb = ue(&r) + 1, hmu = ue(&r) + 1;
    unsigned fmo = get1(&r);
    if (!fmo)
        get1(&r);
    get1(&r);
    unsigned cl = 0, cr = 0, ct = 0, cb = 0;
    if (get1(&r)) {
        cl = ue(&r);
        cr = ue(&r);
        ct = ue(&r);
        cb = ue(&r);
    }
    unsigned cx = chroma == 1 || chroma == 2 ? 2 : 1;
    unsigned cy = (chroma == 1 ? 2 : 1) * (2 - fmo);
    long ww = (long)wmb * 16 - (long)(cl + cr) * cx;
    long hh = (long)(2 - fmo) * hmu * 16 - (long)(ct + cb) * cy;
    if (ww <= 0 || hh <= 0 || ww > LE_FLV_MAX_DIM || hh > LE_FLV_MAX_DIM)
        return LE_EPROTO;
    *w = (int)ww;
    *h = (int)hh;
    return LE_OK;
}

void le_recw_dims(const le_recw *w, int *width, int *height)
{
    if (w->meta_w > 0 && w->meta_h > 0) {
        *width = w->meta_w;
        *height = w->meta_h;
    } else {
        *width = w->sps_w;
        *height = w->sps_h;
    }
}

/* ---- the object ---- */

le_recw *le_recw_new(const le_recw_params *p, char *err, size_t errlen)
{
    char why[128];
    if (!p || !p->dir || !*p->dir || !p->app || !p->stream) {
        snprintf(err, errlen, "missing directory, app or stream");
        return NULL;
    }
    if (p->fmt < 0 || p->fmt >= LE_REC_NFMT) {
        snprintf(err, errlen, "unknown format %d", p->fmt);
        return NULL;
    }
    if (p->cycle_ms <= 0) {
        snprintf(err, errlen, "cycle must be positive");
        return NULL;
    }
    const char *prefix = p->prefix && *p->prefix ? p->prefix : LE_REC_DEFAULT_PREFIX;
    const char *slice = p->slice_prefix && *p->slice_prefix ? p->slice_prefix : LE_REC_DEFAULT_SLICE_PREFIX;
    if (le_rec_tmpl_check(prefix, why, sizeof(why)) != LE_OK) {
        snprintf(err, errlen, "object prefix: %s", why);
        return NULL;
    }
    if (p->fmt == LE_REC_M3U8 && le_rec_tmpl_check(slice, why, sizeof(why)) != LE_OK) {
        snprintf(err, errlen, "slice object prefix: %s", why);
        return NULL;
    }
    /* The names must expand for this stream (an app or stream name that
     * would change a key's shape is refused here, not at the first file). */
    char key[LE_REC_KEY_MAX + 8];
    le_rec_vars v = { p->app, p->stream, 0, 0, 0 };
    int rc = le_rec_tmpl_expand(prefix, &v, ext_of[p->fmt], key, sizeof(key));
    if (rc == LE_OK && p->fmt == LE_REC_M3U8)
        rc = le_rec_tmpl_expand(slice, &v, "ts", key, sizeof(key));
    if (rc != LE_OK) {
        snprintf(err, errlen, "object key for %s/%s: %s", p->app, p->stream, le_strerror(rc));
        return NULL;
    }
    le_recw *w = le_xcalloc(1, sizeof(*w));
    w->p = *p;
    w->dir = le_xstrdup(p->dir);
    w->app = le_xstrdup(p->app);
    w->stream = le_xstrdup(p->stream);
    w->prefix = le_xstrdup(prefix);
    w->slice_prefix = le_xstrdup(slice);
    size_t dl = strlen(w->dir);
    while (dl > 1 && w->dir[dl - 1] == '/')
        w->dir[--dl] = '\0';
    w->p.dir = w->dir;
    w->p.app = w->app;
    w->p.stream = w->stream;
    w->p.prefix = w->prefix;
    w->p.slice_prefix = w->slice_prefix;
    if (w->p.slice_ms <= 0)
        w->p.slice_ms = LE_REC_SLICE_DEFAULT_S * 1000LL;
    if (w->p.fragment_ms <= 0)
        w->p.fragment_ms = 2000;
    w->ops = p->fmt == LE_REC_FLV ? &le_recw_flv_ops : p->fmt == LE_REC_MP4 ? &le_recw_mp4_ops : &le_recw_hls_ops;
    w->next_seq = w->next_slice_seq = p->first_sequence;
    w->first_audio_wait = -1;
    w->last_space_check = INT64_MIN;
    return w;
}

uint64_t le_recw_next_sequence(const le_recw *w)
{
    /* An m3u8 writer numbers slices too: a task resumed with this number
     * reuses neither a playlist's nor a slice's {Sequence}. */
    return w->next_slice_seq > w->next_seq ? w->next_slice_seq : w->next_seq;
}

int le_recw_paused(const le_recw *w)
{
    return w->paused;
}

void le_recw_report(le_recw *w, const le_rec_file *f)
{
    if (w->p.on_file)
        w->p.on_file(f, w->p.arg);
}

static void set_paused(le_recw *w, const char *why)
{
    if (w->paused)
        return;
    w->paused = 1;
    w->last_space_check = w->now;   /* the next try is a second away */
    if (w->p.on_status)
        w->p.on_status(LE_RECW_PAUSED, why, w->p.arg);
}

/* Room for one more file: LE_OK (resumed if paused), or LE_EIO (paused).
 * While paused the disk is asked at most once a second. */
static int space_ok(le_recw *w, int64_t wall)
{
    if (w->paused && w->last_space_check != INT64_MIN && wall - w->last_space_check < 1000 &&
        wall >= w->last_space_check)
        return LE_EIO;
    w->last_space_check = wall;
    if (w->p.min_free) {
        struct statvfs sv;
        char why[160];
        if (statvfs(w->dir, &sv) != 0 && (le_recw_mkdirs(w->dir) != LE_OK || mkdir(w->dir, 0755) != 0 ||
                                           statvfs(w->dir, &sv) != 0)) {
            snprintf(why, sizeof(why), "cannot check free space at %s: %s", w->dir, strerror(errno));
            set_paused(w, why);
            return LE_EIO;
        }
        uint64_t avail = (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
        if (avail < w->p.min_free) {
            snprintf(why, sizeof(why), "free space %llu bytes below record_min_free %llu",
                     (unsigned long long)avail, (unsigned long long)w->p.min_free);
            set_paused(w, why);
            return LE_EIO;
        }
    }
    if (w->paused) {
        w->paused = 0;
        if (w->p.on_status)
            w->p.on_status(LE_RECW_RESUMED, "", w->p.arg);
    }
    return LE_OK;
}

static int expand(const le_recw *w, const char *tmpl, uint64_t seq, int64_t start, int64_t end, const char *ext,
                  char *out, size_t n)
{
    le_rec_vars v = { w->app, w->stream, seq, start, end };
    return le_rec_tmpl_expand(tmpl, &v, ext, out, n);
}

static int open_file(le_recw *w, int64_t wall, int64_t ext)
{
    memset(&w->cur, 0, sizeof(w->cur));
    w->cur.fmt = w->p.fmt;
    w->cur.sequence = w->next_seq;
    w->cur.start_ms = wall;
    le_recw_dims(w, &w->cur.width, &w->cur.height);
    /* The name while it is written: the end is not known yet (m3u8: the
     * playlist keeps the name it starts with, the planned end of its cycle,
     * because its slices are announced under it before the cycle ends). */
    int64_t end = w->p.fmt == LE_REC_M3U8 ? wall + w->p.cycle_ms : 0;
    int rc = expand(w, w->prefix, w->cur.sequence, wall, end, ext_of[w->p.fmt], w->open_key, sizeof(w->open_key));
    if (rc != LE_OK)
        return rc;
    int n = snprintf(w->tmp, sizeof(w->tmp), "%s/%s.tmp", w->dir, w->open_key);
    if (n < 0 || (size_t)n >= sizeof(w->tmp))
        return LE_ETOOBIG;
    if (le_recw_mkdirs(w->tmp) != LE_OK)
        return LE_EIO;
    rc = w->ops->open(w);
    if (rc != LE_OK) {
        unlink(w->tmp);
        return rc;
    }
    w->next_seq++;
    w->open = 1;
    w->has_media = 0;
    w->write_failed = 0;
    w->start_wall = wall;
    w->base_ext = ext;
    w->ext_last = ext;
    w->ext_max = ext;
    w->media_ms = 0;
    w->trk_last[TRK_A] = w->trk_last[TRK_V] = -1;
    w->first_audio_wait = -1;
    return LE_OK;
}

static void fsync_path(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

/* Finishes the open file: trailer, fsync, rename to its final name, report.
 * A file without media is removed. */
static void close_file(le_recw *w)
{
    if (!w->open)
        return;
    w->open = 0;
    w->cur.duration_ms = w->media_ms;
    int rc = w->ops->close(w);
    if (!w->has_media) {
        unlink(w->tmp);
        return;
    }
    if (rc != LE_OK && !w->write_failed) {
        w->write_failed = 1;
        set_paused(w, "write error at the end of a file");
    }
    fsync_path(w->tmp);
    struct stat st;
    w->cur.bytes = stat(w->tmp, &st) == 0 ? (uint64_t)st.st_size : 0;
    w->cur.end_ms = w->cur.start_ms + w->cur.duration_ms;
    if (w->p.fmt == LE_REC_M3U8) {
        snprintf(w->cur.key, sizeof(w->cur.key), "%s", w->open_key);
    } else if (expand(w, w->prefix, w->cur.sequence, w->cur.start_ms, w->cur.end_ms, ext_of[w->p.fmt], w->cur.key,
                      sizeof(w->cur.key)) != LE_OK) {
        snprintf(w->cur.key, sizeof(w->cur.key), "%s", w->open_key);
    }
    int n = snprintf(w->cur.path, sizeof(w->cur.path), "%s/%s", w->dir, w->cur.key);
    if (n < 0 || (size_t)n >= sizeof(w->cur.path) || le_recw_mkdirs(w->cur.path) != LE_OK ||
        rename(w->tmp, w->cur.path) != 0) {
        /* It stays as .tmp: never announced under a name it does not have. */
        set_paused(w, "cannot rename a finished file");
        return;
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", w->cur.path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = '\0';
        fsync_path(dir);
    }
    le_recw_report(w, &w->cur);
}

void le_recw_close(le_recw *w)
{
    if (!w)
        return;
    close_file(w);
    w->first_audio_wait = -1;
}

void le_recw_free(le_recw *w)
{
    if (!w)
        return;
    close_file(w);
    le_pkt_unref(w->meta);
    le_pkt_unref(w->vseq);
    le_pkt_unref(w->aseq);
    free(w->dir);
    free(w->app);
    free(w->stream);
    free(w->prefix);
    free(w->slice_prefix);
    free(w);
}

static le_pkt *copy_pkt(const le_pkt *p)
{
    le_pkt *c = le_pkt_new(p->type, p->ts, p->data, p->len);
    return c;
}

static int same_pkt(const le_pkt *a, const le_pkt *b)
{
    return a && b && a->len == b->len && a->codec == b->codec && memcmp(a->data, b->data, a->len) == 0;
}

/* A sequence header: kept; one that differs from the one the open file
 * started with ends that file. */
static int on_seqhdr(le_recw *w, const le_pkt *p)
{
    le_pkt **slot = p->type == LE_PKT_VIDEO ? &w->vseq : &w->aseq;
    if (same_pkt(*slot, p))
        return LE_OK;
    if (w->open)
        close_file(w);
    le_pkt_unref(*slot);
    *slot = copy_pkt(p);
    if (p->type == LE_PKT_VIDEO) {
        w->sps_w = w->sps_h = 0;
        le_flv_info fi;
        if (p->codec == LE_CODEC_H264 && le_flv_video_info(p->data, p->len, &fi) == LE_OK && fi.hdr_len < p->len)
            sps_dims(p->data + fi.hdr_len, p->len - fi.hdr_len, &w->sps_w, &w->sps_h);
    }
    return LE_OK;
}

static int on_meta(le_recw *w, const le_pkt *p)
{
    le_flv_meta m;
    if (le_flv_parse_meta(p->data, p->len, &m) != LE_OK)
        return LE_EPROTO;
    le_pkt_unref(w->meta);
    w->meta = copy_pkt(p);
    w->meta_video = m.videocodecid > 0 || m.width > 0;
    w->meta_w = (int)m.width;
    w->meta_h = (int)m.height;
    w->framerate = m.framerate;
    return LE_OK;
}

/* A stream whose onMetaData announces video but which sends only audio
 * is recorded audio-only after this long. */
#define AUDIO_ONLY_AFTER_MS 3000

/* Whether p can start a file (and is where a cycle may end): a video
 * keyframe, or any audio frame when the stream has no video. */
static int start_point(le_recw *w, const le_pkt *p)
{
    if (w->vseq)
        return p->type == LE_PKT_VIDEO && (p->flags & LE_PKT_KEY);
    if (p->type != LE_PKT_AUDIO || (p->codec == LE_CODEC_AAC && !w->aseq))
        return 0;
    if (w->meta_video && !w->open) {
        int64_t waited = w->first_audio_wait < 0 ? -1 : (int32_t)(p->ts - (uint32_t)w->first_audio_wait);
        if (waited < 0) {
            w->first_audio_wait = p->ts;
            waited = 0;
        }
        if (waited < AUDIO_ONLY_AFTER_MS)
            return 0;   /* its video header is still to come */
    }
    return 1;
}

int le_recw_feed(le_recw *w, const le_pkt *p, int64_t wall_ms)
{
    if (!w || !p)
        return LE_EINVAL;
    if (p->type == LE_PKT_DATA) {
        if (!(p->flags & LE_PKT_META))
            return LE_EINVAL;
        return on_meta(w, p);
    }
    if (p->type != LE_PKT_VIDEO && p->type != LE_PKT_AUDIO)
        return LE_EINVAL;
    if (p->len > 0xffffff)
        return LE_ETOOBIG;   /* an FLV tag's size field */
    w->now = wall_ms;
    if (p->type == LE_PKT_AUDIO)
        w->audio_seen = 1;
    if (p->flags & LE_PKT_SEQHDR)
        return on_seqhdr(w, p);
    if (p->type == LE_PKT_VIDEO && w->vseq && p->codec != w->vseq->codec)
        return LE_EINVAL;   /* frames of a codec whose header has not come */
    if (p->type == LE_PKT_AUDIO && p->codec == LE_CODEC_AAC && !w->aseq)
        return LE_EINVAL;

    int sp = start_point(w, p);
    if (w->open) {
        int64_t d = (int32_t)(p->ts - w->raw_last);
        int64_t ext = w->ext_last + d;
        int64_t media = w->media_ms + (ext > w->ext_max && ext - w->ext_max <= LE_REC_JUMP_MS ? ext - w->ext_max : 0);
        if (w->p.fmt != LE_REC_M3U8 && (d > LE_REC_JUMP_MS || d < -LE_REC_JUMP_MS))
            close_file(w);   /* a new timeline: a new file, from a start point */
        else if (sp && media >= w->p.cycle_ms) {
            w->media_ms = media;   /* it ends where the next one starts */
            close_file(w);
        }
    }
    if (!w->open) {
        if (!sp)
            return LE_EAGAIN;   /* waiting for a keyframe */
        if (space_ok(w, wall_ms) != LE_OK)
            return LE_EIO;
        int rc = open_file(w, wall_ms, (int64_t)p->ts);
        if (rc != LE_OK) {
            if (rc == LE_EIO) {
                char why[PATH_MAX + 64];
                snprintf(why, sizeof(why), "cannot create %s: %s", w->tmp, strerror(errno));
                set_paused(w, why);
            }
            return rc;
        }
        w->raw_last = p->ts;
    }

    /* Unwrapped time, rebased to the file's start. */
    int64_t d = (int32_t)(p->ts - w->raw_last);
    int64_t ext = w->ext_last + d;
    w->raw_last = p->ts;
    w->ext_last = ext;
    if (ext > w->ext_max) {
        if (ext - w->ext_max <= LE_REC_JUMP_MS)
            w->media_ms += ext - w->ext_max;
        w->ext_max = ext;
    } else if (ext < w->ext_max - LE_REC_JUMP_MS) {
        w->ext_max = ext;   /* m3u8: a step back starts a new timeline */
    }
    int trk = p->type == LE_PKT_VIDEO ? TRK_V : TRK_A;
    int64_t ts = ext - w->base_ext;
    if (ts < 0)
        ts = 0;
    if (w->trk_last[trk] >= 0 && ts <= w->trk_last[trk])
        ts = w->trk_last[trk] + 1;   /* small steps back within a track: DTS only grows */
    if (w->p.fmt == LE_REC_M3U8)
        ts = ext;                /* the segmenter keeps its own timeline */
    int rc = w->ops->write(w, p, ts);
    if (rc != LE_OK) {
        if (rc == LE_EIO) {
            char why[64];
            snprintf(why, sizeof(why), "write error: %s", strerror(errno));
            w->write_failed = 1;
            close_file(w);
            set_paused(w, why);
        }
        return rc;
    }
    w->trk_last[trk] = ts;
    w->has_media = 1;
    return LE_OK;
}
