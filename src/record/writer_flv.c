/* FLV recordings (record/writer_impl.h): the file header, an onMetaData of
 * our own whose duration and filesize are placeholders patched at close,
 * the sequence headers, then the tags with timestamps from the file's
 * start. Tags are buffered and written out at keyframes and every 256 KiB,
 * so a killed node leaves a file that plays up to about the last keyframe
 * (its onMetaData duration then still says 0). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/util.h"
#include "media/amf.h"
#include "media/flv.h"
#include "record/writer_impl.h"

#define FLUSH_BYTES (256 * 1024)

typedef struct flvw {
    int fd;
    le_buf buf;
    uint64_t off;               /* file offset of buf's first byte */
    uint64_t dur_at, size_at;   /* file offsets of the two placeholders (the doubles) */
} flvw;

static void put_tag(flvw *f, uint8_t type, uint32_t ts, const uint8_t *body, uint32_t len)
{
    le_buf_reserve(&f->buf, 15 + (size_t)len);
    f->buf.len += le_flv_tag_write(f->buf.p + f->buf.len, type, ts, body, len);
}

static int flush(flvw *f)
{
    if (f->buf.len == 0)
        return LE_OK;
    int rc = le_recw_write_all(f->fd, f->buf.p, f->buf.len);
    f->off += f->buf.len;
    f->buf.len = 0;
    return rc;
}

static uint8_t codec_id(const le_pkt *p)
{
    return p ? p->codec : 0;
}

static int flv_open(le_recw *w)
{
    flvw *f = le_xcalloc(1, sizeof(*f));
    f->fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (f->fd < 0) {
        free(f);
        return LE_EIO;
    }
    w->impl = f;
    uint8_t hdr[13];
    size_t hl = le_flv_file_header(hdr, w->aseq != NULL || w->audio_seen, w->vseq != NULL);
    le_buf_append(&f->buf, hdr, hl);

    /* onMetaData: the tag header (11 bytes) sits at hl, its body after. */
    le_buf m = { 0 };
    int width, height;
    le_recw_dims(w, &width, &height);
    le_amf_put_string(&m, "onMetaData");
    le_amf_put_ecma_start(&m, 0);
    le_amf_put_key(&m, "duration");
    size_t dur = m.len + 1;
    le_amf_put_number(&m, 0);
    le_amf_put_key(&m, "filesize");
    size_t size = m.len + 1;
    le_amf_put_number(&m, 0);
    if (w->vseq) {
        le_amf_put_prop_number(&m, "videocodecid", codec_id(w->vseq));
        if (width > 0 && height > 0) {
            le_amf_put_prop_number(&m, "width", width);
            le_amf_put_prop_number(&m, "height", height);
        }
        if (w->framerate > 0)
            le_amf_put_prop_number(&m, "framerate", w->framerate);
    }
    if (w->aseq)
        le_amf_put_prop_number(&m, "audiocodecid", codec_id(w->aseq));
    /* The file's absolute start: timestamps in it begin near 0. */
    char iso[32];
    le_amf_put_prop_number(&m, "starttime", (double)w->cur.start_ms);
    le_amf_put_prop_string(&m, "creationdate", le_rec_iso_time(w->cur.start_ms, iso));
    le_amf_put_object_end(&m);
    f->dur_at = hl + 11 + dur;
    f->size_at = hl + 11 + size;
    put_tag(f, LE_PKT_DATA, 0, m.p, (uint32_t)m.len);
    le_buf_free(&m);
    if (w->vseq)
        put_tag(f, LE_PKT_VIDEO, 0, w->vseq->data, w->vseq->len);
    if (w->aseq)
        put_tag(f, LE_PKT_AUDIO, 0, w->aseq->data, w->aseq->len);
    return flush(f);
}

static int flv_write(le_recw *w, const le_pkt *p, int64_t ts)
{
    flvw *f = w->impl;
    put_tag(f, p->type, (uint32_t)ts, p->data, p->len);
    if (f->buf.len >= FLUSH_BYTES || (p->type == LE_PKT_VIDEO && (p->flags & LE_PKT_KEY)))
        return flush(f);
    return LE_OK;
}

static int patch(int fd, uint64_t at, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, 8);
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(bits >> (56 - 8 * i));
    return pwrite(fd, b, 8, (off_t)at) == 8 ? LE_OK : LE_EIO;
}

static int flv_close(le_recw *w)
{
    flvw *f = w->impl;
    if (!f)
        return LE_EIO;
    int rc = flush(f);
    uint64_t total = f->off;
    if (rc == LE_OK)
        rc = patch(f->fd, f->dur_at, (double)w->media_ms / 1000.0);
    if (rc == LE_OK)
        rc = patch(f->fd, f->size_at, (double)total);
    if (fsync(f->fd) != 0 && rc == LE_OK)
        rc = LE_EIO;
    if (close(f->fd) != 0 && rc == LE_OK)
        rc = LE_EIO;
    le_buf_free(&f->buf);
    free(f);
    w->impl = NULL;
    return rc;
}

const le_recw_ops le_recw_flv_ops = { flv_open, flv_write, flv_close };
