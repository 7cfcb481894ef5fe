/* Studio sources (docs/STUDIO.md, "Sources"): one video resource
 * of a running caster (LocationId RV01..RV12) as the studio clock sees it,
 * a decoder that always has a picture and a stretch of audio to give.
 *
 * Two kinds:
 *  - live: FLV tag bodies of a stream (H.264 or HEVC video, legacy or
 *    enhanced RTMP; AAC audio) handed in with le_ss_feed, decoded at once;
 *  - file: a local media file (MaterialId, VodUrl) demuxed and decoded by
 *    the source itself as the clock advances, in real time from the
 *    BeginOffset, looped RepeatNum more times (-1: forever), up to the
 *    EndOffset (negative: counted from the file's end).
 *
 * Pictures: le_ss_video gives the newest decoded frame (yuv420p, the
 * source's own size) while it is fresh; after stall_ms without a new frame
 * a black frame of the same size; NULL while the source has never given a
 * picture (the caller shows its slate). A source that comes back after a
 * stall is fresh again with its first new frame. A file can be started at
 * a given clock, sought and paused (le_ss_start_at, le_ss_seek,
 * le_ss_pause).
 * Audio: decoded, resampled to 44100 Hz stereo fltp and kept in a FIFO of
 * at most LE_SS_AUDIO_MAX_MS (older samples dropped, counted); le_ss_audio
 * takes exactly the samples asked for, silence where there are none.
 * Sources are aligned by arrival: a live frame is shown when it arrives
 * (its timestamps only order it), a file frame when the clock reaches its
 * timestamp.
 *
 * Threads: a source belongs to one studio engine and every function here
 * runs on that engine's worker (never two at once). Nothing here touches
 * the loop, a socket or an le_pkt. */
#ifndef LE_STUDIO_SOURCE_H
#define LE_STUDIO_SOURCE_H
#include <stddef.h>
#include <stdint.h>

struct AVFrame;

#define LE_SS_AUDIO_RATE 44100
#define LE_SS_AUDIO_MAX_MS 1000
#define LE_SS_MAX_DIM 4096        /* frames larger than this are refused (counted as errors) */

typedef struct le_ss le_ss;

typedef struct le_ss_stats {
    uint64_t video_frames, audio_frames;   /* decoded */
    uint64_t decode_errors;                /* bodies or packets refused */
    uint64_t audio_dropped;                /* samples dropped by the FIFO bound */
    uint64_t stalls;                       /* times the picture went black */
    uint64_t loops;                        /* file: times it started over */
    int width, height;                     /* current picture, 0 before the first */
    int eof;                               /* file: played out (no more loops) */
    int has_picture;                       /* a picture was decoded since the source was made */
    int64_t fresh_ms;                      /* the clock of the last le_ss_video that found the picture
                                              fresh (a new frame, a file's still or pause); -1: never */
    int paused;                            /* file: le_ss_pause */
    int64_t pos_ms;                        /* file: the file time at the clock now (ms from the file's
                                              start; a paused file: where it stopped; at the end: its end) */
} le_ss_stats;

/* A live source; name is for log lines. NULL on allocation failure. */
le_ss *le_ss_new_live(const char *name);
/* A file source: 0 and *out, or LE_ENOTFOUND (no such file), LE_EPROTO
 * (libavformat cannot read it or it has no video or audio stream),
 * LE_EINVAL (offsets). repeat: RepeatNum (0 plays once, -1 forever);
 * begin_ms, end_ms: BeginOffset, EndOffset (0: the end). */
int le_ss_new_file(const char *name, const char *path, int repeat, int64_t begin_ms, int64_t end_ms,
                   le_ss **out);

/* File (nothing for a live source): the BeginOffset plays at clock_ms
 * instead of at the first le_ss_advance (a clock_ms already past makes the
 * source catch up as after skipped ticks). Before the first advance only. */
void le_ss_start_at(le_ss *s, int64_t clock_ms);
/* File: at the next le_ss_advance, plays on from file time offset_ms (from
 * the file's start, BeginOffset ignored; at or past EndOffset or the end:
 * its last frame): libavformat seeks back to a keyframe, the frames up to
 * the offset are decoded without being shown, audio before it is skipped.
 * A played-out file plays again from there (eof cleared). */
void le_ss_seek(le_ss *s, int64_t offset_ms);
/* File: from the next le_ss_advance, paused (1): the file time stops, the
 * picture is held fresh (never black) and le_ss_audio gives silence
 * without taking the decoded audio; 0: plays on from where it stopped. */
void le_ss_pause(le_ss *s, int paused);

/* Live: one FLV tag body (type 8 audio, 9 video; 18 script data is
 * ignored), ts in ms. Sequence headers configure the decoder; a new one
 * reconfigures it. Bodies the decoder refuses are counted and skipped; a
 * source never fails for bad input. */
void le_ss_feed(le_ss *s, uint8_t type, uint32_t ts, const uint8_t *body, size_t n);
/* The live publisher left (or the tap dropped): the decoder waits for the
 * next sequence header and keyframe; the last picture stays until stall. */
void le_ss_reset(le_ss *s);

/* Moves the source to clock_ms (ms on the studio clock, monotonic, the
 * same clock for every source of an engine): a file decodes up to it. */
void le_ss_advance(le_ss *s, int64_t clock_ms);
/* The picture at clock_ms (see above); owned by the source, valid until
 * the next call on s. */
const struct AVFrame *le_ss_video(le_ss *s, int64_t clock_ms, int64_t stall_ms);
/* Fills out (allocated here: 44100 Hz, stereo, fltp, nb_samples) with the
 * next nb_samples of audio; missing samples are silence. 0, LE_EINVAL
 * (nb_samples not within 1 .. 10 s) or LE_ENOMEM. */
int le_ss_audio(le_ss *s, struct AVFrame *out, int nb_samples);

void le_ss_stats_get(const le_ss *s, le_ss_stats *st);
void le_ss_free(le_ss *s);

#endif
