/* The inside of a studio source (studio/source.h), shared by source.c (the
 * picture, the audio FIFO, the live kind) and source_file.c (the file
 * kind). Not a face: nothing outside these two files includes it. */
#ifndef LE_STUDIO_SOURCE_IMPL_H
#define LE_STUDIO_SOURCE_IMPL_H
#include "studio/source.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/frame.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>

enum { LE_SS_LIVE = 1, LE_SS_FILE };

#define LE_SS_LIVE_TRIM_MS 200    /* live: a standing backlog above this is cut ... */
#define LE_SS_LIVE_KEEP_MS 100    /* ... down to this */
#define LE_SS_FILE_AHEAD_MS 200   /* file: audio decoded this far past the clock */
#define LE_SS_FILE_VQ 16          /* file: decoded pictures waiting for the clock */
#define LE_SS_FILE_CATCHUP_MS 1000 /* file: a clock this far past the decoding seeks */

struct le_ss {
    char name[64];
    int kind;
    le_ss_stats st;
    int64_t clock;                /* the last le_ss_advance */

    /* decoders (live: configured by sequence headers; file: by the streams) */
    AVCodecContext *vdec, *adec;
    uint8_t vcodec;               /* live: LE_CODEC_H264 or LE_CODEC_H265 */
    uint8_t *vhdr, *ahdr;         /* live: the sequence headers in use */
    size_t vhdr_len, ahdr_len;
    int need_key;
    int vwarned, awarned;         /* live: a failed header was logged */
    AVFrame *tmp, *afr;
    AVPacket *pkt;

    /* the picture */
    AVFrame *pic, *next, *black;
    struct SwsContext *sws;
    int have_pic, fresh, stalled;
    int64_t last_new_ms;

    /* the audio */
    SwrContext *swr;
    int swr_rate, swr_fmt;
    AVChannelLayout swr_layout;
    AVAudioFifo *fifo;
    int64_t win_taken, win_min;   /* live: the latency rule's window */

    /* file */
    AVFormatContext *fmt;
    int vidx, aidx;
    int64_t start_ms, begin, end; /* file time, ms (end INT64_MAX: the file's end) */
    int loops_left;               /* -1: forever */
    int started, v_done, a_done, f_eof;
    int64_t base;                 /* clock at which this pass's begin plays */
    int64_t a_end, v_end;         /* end of the last audio frame; of the last picture */
    int64_t content_end;          /* end of everything decoded in this pass */
    int64_t decoded_to;           /* the latest file time decoded */
    int64_t skip_to;              /* audio ending before this is skipped (after a seek) */
    int64_t vdur;                 /* a video frame's duration when the file does not say */
    AVFrame *vq[LE_SS_FILE_VQ];   /* decoded, after the clock (pts: file time) */
    int vqn;
    AVFrame *cand;                /* the newest picture the clock has reached */
    int have_cand;
    int64_t start_at;             /* le_ss_start_at; INT64_MIN: the first advance */
    int64_t seek_req;             /* le_ss_seek waiting for the next advance; -1: none */
    int pause_req;                /* le_ss_pause waiting for the next advance; -1: none */
    int paused;
    int64_t paused_at;            /* the clock the file time stopped at */
    int64_t pos;                  /* the file time at the last advance */
};

le_ss *le_ss_alloc(const char *name, int kind);
AVCodecContext *le_ss_decoder_open(enum AVCodecID id, const AVCodecParameters *par, AVRational tb,
                                   const uint8_t *b, size_t n);
/* Sends pkt (NULL: drain) to d and hands every frame to take (the frame
 * is unreferenced after it); a refused packet or frame is counted in
 * decode_errors. LE_OK, or LE_EPROTO when d refused pkt. */
typedef void (*le_ss_frame_fn)(le_ss *s, AVCodecContext *d, AVFrame *f, void *arg);
int le_ss_decode(le_ss *s, AVCodecContext *d, const AVPacket *pkt, le_ss_frame_fn take, void *arg);
void le_ss_picture(le_ss *s, const AVFrame *f);
void le_ss_audio_frame(le_ss *s, const AVFrame *f);
void le_ss_file_advance(le_ss *s, int64_t clock_ms);
void le_ss_file_close(le_ss *s);

#endif
