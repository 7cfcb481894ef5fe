/* m3u8 recordings (record/writer_impl.h): one playlist per cycle, its media
 * in MPEG-TS slices. The slices come from the live HLS segmenter
 * (hls/segmenter.h: cut at the first keyframe after slice_ms, a new
 * timeline after a timestamp jump), one le_hls per cycle; each sealed
 * slice is written as .tmp, renamed, announced, and the playlist rewritten
 * (.tmp + rename) with it. While the cycle runs the playlist is an EVENT
 * playlist; at its end it becomes VOD with EXT-X-ENDLIST (left in w->tmp for
 * writer.c to rename). Slice URIs are relative to the playlist's directory,
 * with "../" where the slice key leaves it, so the playlist plays wherever
 * the bucket is served from. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/util.h"
#include "hls/playlist.h"
#include "hls/segmenter.h"
#include "media/flv.h"
#include "record/config.h"
#include "record/writer_impl.h"

typedef struct slice {
    char key[LE_REC_KEY_MAX + 8];
    int64_t duration_ms;
    int64_t start_ms;           /* UTC: EXT-X-PROGRAM-DATE-TIME */
    int disc;
} slice;

typedef struct hlsw {
    le_hls *h;
    slice *s;
    size_t n, cap;
    int64_t next_wall;          /* wall clock where the next slice starts */
    int64_t total_ms;
} hlsw;

/* key relative to the directory of base (both keys below the bucket). */
static void rel_uri(const char *base, const char *key, char *out, size_t n)
{
    size_t common = 0;
    for (size_t i = 0; base[i] && base[i] == key[i]; i++) {
        if (base[i] == '/')
            common = i + 1;
    }
    size_t off = 0;
    for (const char *p = base + common; *p; p++) {
        if (*p == '/' && off + 3 < n) {
            memcpy(out + off, "../", 3);
            off += 3;
        }
    }
    snprintf(out + off, n - off, "%s", key + common);
}

static int write_file(const char *path, const void *b, size_t n)
{
    char tmp[PATH_MAX];
    int k = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if (k < 0 || (size_t)k >= sizeof(tmp))
        return LE_ETOOBIG;
    if (le_recw_mkdirs(tmp) != LE_OK)
        return LE_EIO;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return LE_EIO;
    int rc = le_recw_write_all(fd, b, n);
    if (rc == LE_OK && fsync(fd) != 0)
        rc = LE_EIO;
    if (close(fd) != 0 && rc == LE_OK)
        rc = LE_EIO;
    if (rc == LE_OK && rename(tmp, path) != 0)
        rc = LE_EIO;
    if (rc != LE_OK)
        unlink(tmp);
    return rc;
}

static void playlist(const le_recw *w, const hlsw *x, int final, le_buf *out)
{
    enum { URI_MAX = 4 * LE_REC_KEY_MAX };    /* "../" per directory level, then the key */
    le_m3u8_seg *segs = le_xcalloc(x->n ? x->n : 1, sizeof(*segs));
    char *uris = le_xmalloc((x->n ? x->n : 1) * URI_MAX);
    for (size_t i = 0; i < x->n; i++) {
        char *uri = uris + i * URI_MAX;
        rel_uri(w->open_key, x->s[i].key, uri, URI_MAX);
        segs[i].seq = i;
        segs[i].duration_ms = x->s[i].duration_ms;
        segs[i].disc = x->s[i].disc && i > 0;
        /* each timeline's absolute start */
        segs[i].pdt_ms = i == 0 || segs[i].disc ? x->s[i].start_ms : 0;
        segs[i].uri = uri;
    }
    le_m3u8_opts o;
    memset(&o, 0, sizeof(o));
    o.playlist_type = final ? 2 : 1;
    o.endlist = final;
    le_m3u8_build(out, segs, x->n, &o);
    free(uris);
    free(segs);
}

/* Writes the slices the segmenter sealed, then the playlist (in progress:
 * under its own name; final: into w->tmp). */
static int drain(le_recw *w, hlsw *x, int final)
{
    le_hls_seg *segs[16];
    size_t n;
    int rc = LE_OK, wrote = 0;
    while (rc == LE_OK && (n = le_hls_segments(x->h, segs, 16, 0)) > 0) {
        for (size_t i = 0; i < n && rc == LE_OK; i++) {
            le_hls_seg *s = segs[i];
            le_rec_file f;
            memset(&f, 0, sizeof(f));
            f.fmt = LE_REC_M3U8;
            f.is_slice = 1;
            f.sequence = w->next_slice_seq;
            f.start_ms = x->next_wall;
            f.duration_ms = s->duration_ms;
            f.end_ms = f.start_ms + f.duration_ms;
            f.bytes = s->len;
            le_recw_dims(w, &f.width, &f.height);
            snprintf(f.playlist_key, sizeof(f.playlist_key), "%s", w->open_key);
            le_rec_vars v = { w->app, w->stream, f.sequence, f.start_ms, f.end_ms };
            rc = le_rec_tmpl_expand(w->slice_prefix, &v, "ts", f.key, sizeof(f.key));
            if (rc != LE_OK)
                break;
            int k = snprintf(f.path, sizeof(f.path), "%s/%s", w->dir, f.key);
            if (k < 0 || (size_t)k >= sizeof(f.path)) {
                rc = LE_ETOOBIG;
                break;
            }
            rc = write_file(f.path, s->data, s->len);
            if (rc != LE_OK)
                break;
            w->next_slice_seq++;
            x->next_wall = f.end_ms;
            x->total_ms += f.duration_ms;
            if (x->n == x->cap) {
                x->cap = x->cap ? x->cap * 2 : 64;
                x->s = le_xrealloc(x->s, x->cap * sizeof(*x->s));
            }
            slice *sl = &x->s[x->n++];
            snprintf(sl->key, sizeof(sl->key), "%s", f.key);
            sl->start_ms = f.start_ms;
            sl->duration_ms = f.duration_ms;
            sl->disc = s->disc;
            wrote = 1;
            le_recw_report(w, &f);
        }
        le_hls_drop_segments(x->h);
    }
    if (rc != LE_OK)
        return rc;
    if (!wrote && !final)
        return LE_OK;
    le_buf pl = { 0 };
    playlist(w, x, final, &pl);
    if (final) {
        int fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
            rc = LE_EIO;
        } else {
            rc = le_recw_write_all(fd, pl.p, pl.len);
            if (close(fd) != 0 && rc == LE_OK)
                rc = LE_EIO;
        }
    } else {
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", w->dir, w->open_key);
        rc = write_file(path, pl.p, pl.len);
    }
    le_buf_free(&pl);
    return rc;
}

static void feed_copy(hlsw *x, const le_pkt *p)
{
    if (p)
        le_hls_feed(x->h, (le_pkt *)p);   /* read only: it takes no reference */
}

static int hls_open(le_recw *w)
{
    if (w->vseq && w->vseq->codec != LE_CODEC_H264 && w->vseq->codec != LE_CODEC_H265)
        return LE_EINVAL;
    hlsw *x = le_xcalloc(1, sizeof(*x));
    x->h = le_hls_new(w->open_key, 0, 0);
    le_hls_set_params(x->h, w->p.slice_ms, 1 << 20);
    x->next_wall = w->cur.start_ms;
    feed_copy(x, w->meta);
    feed_copy(x, w->vseq);
    feed_copy(x, w->aseq);
    w->impl = x;
    return LE_OK;
}

static int hls_write(le_recw *w, const le_pkt *p, int64_t ts)
{
    (void)ts;
    hlsw *x = w->impl;
    int rc = le_hls_feed(x->h, (le_pkt *)p);
    int drc = drain(w, x, 0);
    if (drc != LE_OK)
        return LE_EIO;
    /* The segmenter refusing one frame (before its configuration) is not
     * an error of the file. */
    (void)rc;
    return LE_OK;
}

static int hls_close(le_recw *w)
{
    hlsw *x = w->impl;
    if (!x)
        return LE_EIO;
    le_hls_end(x->h);
    int rc = drain(w, x, 1);
    w->cur.duration_ms = x->total_ms;
    if (x->n == 0) {
        /* Nothing playable: no playlist either. */
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", w->dir, w->open_key);
        unlink(path);
        w->has_media = 0;
    }
    le_hls_free(x->h);
    free(x->s);
    free(x);
    w->impl = NULL;
    return rc;
}

const le_recw_ops le_recw_hls_ops = { hls_open, hls_write, hls_close };
