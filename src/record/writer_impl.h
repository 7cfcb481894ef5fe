/* Private to the recording writer (record/writer.h): the state writer.c
 * keeps for every format, and the operations each format implements
 * (writer_flv.c, writer_mp4.c, writer_hls.c). writer.c decides where files
 * start and end, names them and renames them; a format only writes bytes
 * into w->tmp between its open and its close. */
#ifndef LE_RECORD_WRITER_IMPL_H
#define LE_RECORD_WRITER_IMPL_H
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include "media/pkt.h"
#include "record/writer.h"

typedef struct le_recw_ops {
    /* Opens w->tmp and writes what a file starts with. LE_OK or LE_EIO /
     * LE_EINVAL (the stream cannot go into this format). */
    int (*open)(le_recw *w);
    /* One media packet (audio or video, never a sequence header); ts is its
     * DTS in ms from the file's start, never below the track's previous one. */
    int (*write)(le_recw *w, const le_pkt *p, int64_t ts);
    /* Finishes w->tmp (trailer, patches) and closes it; may set
     * w->cur.duration_ms. LE_OK or LE_EIO. Called once after open, also
     * after a failed write. */
    int (*close)(le_recw *w);
} le_recw_ops;

extern const le_recw_ops le_recw_flv_ops, le_recw_mp4_ops, le_recw_hls_ops;

struct le_recw {
    le_recw_params p;           /* strings point at the copies below */
    char *dir, *app, *stream, *prefix, *slice_prefix;
    const le_recw_ops *ops;

    /* Latest configuration seen (copies, owned). */
    le_pkt *meta, *vseq, *aseq;
    int meta_w, meta_h, sps_w, sps_h;
    int audio_seen;             /* audio packets came (codecs without a header too) */
    int meta_video;             /* onMetaData announced a video track */
    int64_t first_audio_wait;   /* raw ts of the first audio frame seen waiting for video, -1 */
    double framerate;

    /* The open file. */
    int open;
    le_rec_file cur;
    char tmp[PATH_MAX];         /* where it is written */
    char open_key[LE_REC_KEY_MAX + 8];
    int has_media;
    int64_t start_wall;
    int64_t base_ext;           /* extended timestamp of its first packet */
    uint32_t raw_last;          /* newest raw timestamp, any track */
    int64_t ext_last;           /* the same, unwrapped */
    int64_t ext_max;            /* newest media time counted */
    int64_t media_ms;           /* media written, jumps not counted */
    int64_t trk_last[2];        /* last DTS out, audio / video */
    int write_failed;

    uint64_t next_seq, next_slice_seq;
    int paused;
    int64_t last_space_check;
    int64_t now;                /* wall clock of the packet being fed */

    void *impl;                 /* the format's state */
};

/* Helpers writer.c gives the formats. */
/* Writes all of b to fd: LE_OK or LE_EIO (errno kept). */
int le_recw_write_all(int fd, const void *b, size_t n);
/* Creates the directories above path (mkdir -p of its dirname). */
int le_recw_mkdirs(const char *path);
/* Width and height of the video (onMetaData first, then the SPS). */
void le_recw_dims(const le_recw *w, int *width, int *height);
/* Reports a finished slice (m3u8): w->p.on_file. */
void le_recw_report(le_recw *w, const le_rec_file *f);

#endif
