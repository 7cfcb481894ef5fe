/* Recording writer (record/writer.h): an FLV made by ffmpeg (testsrc2
 * 320x240 25 fps, a keyframe every second, AAC sine, 12 s) is read with
 * media/flvread.h and fed to each format with 5 s cycles, the wall clock
 * advancing with the media; the files are then checked by name, by ffprobe
 * (duration, first timestamp, picture size) and byte-wise (FLV onMetaData
 * patched, no .tmp left). Also: the .tmp of a killed MP4 writer, a +20 s
 * timestamp jump, the free-space pause, m3u8 slices and playlists. Needs
 * ffmpeg/ffprobe (skipped without them, except in CI). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "core/util.h"
#include "media/amf.h"
#include "media/flvread.h"
#include "media/pkt.h"
#include "record/config.h"
#include "record/tmpl.h"
#include "record/writer.h"
#include "tap.h"

#define WALL0 1764892800000LL   /* 2025-12-05 00:00:00 UTC */
#define GOP_S 1.0
#define INPUT_S 12.0

static char tmpdir[256];

typedef struct pktlist {
    le_pkt **p;
    size_t n, cap;
} pktlist;

static pktlist in, small;

typedef struct got {
    le_rec_file f[64];
    int n;
    int status[16], nstatus;
    char why[256];
} got;

static void on_file(const le_rec_file *f, void *arg)
{
    got *g = arg;
    if (g->n < 64)
        g->f[g->n++] = *f;
}

static void on_status(int status, const char *why, void *arg)
{
    got *g = arg;
    if (g->nstatus < 16)
        g->status[g->nstatus++] = status;
    snprintf(g->why, sizeof(g->why), "%s", why);
}

static int run(const char *cmd)
{
    char full[2048];
    snprintf(full, sizeof(full), "%s >/dev/null 2>&1", cmd);
    return system(full);
}

static int read_input(const char *path, pktlist *out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return LE_EIO;
    le_flvread r;
    le_flvread_init(&r, 1 << 24, 1);
    uint8_t buf[65536];
    size_t got_n;
    int rc = LE_OK;
    while ((got_n = fread(buf, 1, sizeof(buf), f)) > 0) {
        const uint8_t *p = buf;
        size_t n = got_n;
        le_flvread_ev ev;
        int k;
        while ((k = le_flvread_next(&r, &p, &n, &ev)) > 0) {
            if (k != LE_FLVREAD_TAG || !ev.data)
                continue;
            if (out->n == out->cap) {
                out->cap = out->cap ? out->cap * 2 : 512;
                out->p = le_xrealloc(out->p, out->cap * sizeof(*out->p));
            }
            out->p[out->n++] = le_pkt_new(ev.type, ev.ts, ev.data, (uint32_t)ev.len);
        }
        if (k != LE_EAGAIN) {
            rc = k;
            break;
        }
    }
    le_flvread_free(&r);
    fclose(f);
    return rc;
}

typedef struct probe {
    double duration, start;
    int width, height, nvideo, naudio;
} probe;

static int ffprobe(const char *path, probe *pr)
{
    memset(pr, 0, sizeof(*pr));
    pr->duration = pr->start = -1;
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "ffprobe -v error -show_entries format=duration,start_time:stream=codec_type,width,height "
             "-of default=nw=1 '%s' 2>/dev/null", path);
    FILE *p = popen(cmd, "r");
    if (!p)
        return LE_EIO;
    char line[256];
    while (fgets(line, sizeof(line), p)) {
        if (sscanf(line, "duration=%lf", &pr->duration) == 1 || sscanf(line, "start_time=%lf", &pr->start) == 1)
            continue;
        if (sscanf(line, "width=%d", &pr->width) == 1 || sscanf(line, "height=%d", &pr->height) == 1)
            continue;
        if (strncmp(line, "codec_type=video", 16) == 0)
            pr->nvideo++;
        else if (strncmp(line, "codec_type=audio", 16) == 0)
            pr->naudio++;
    }
    int st = pclose(p);
    return st == 0 && pr->duration > 0 ? LE_OK : LE_EPROTO;
}

static int count_files(const char *dir, const char *pattern)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "find '%s' -type f -name '%s' | wc -l", dir, pattern);
    FILE *p = popen(cmd, "r");
    int n = -1;
    if (p) {
        if (fscanf(p, "%d", &n) != 1)
            n = -1;
        pclose(p);
    }
    return n;
}

/* The parameters every test starts from: live/cam1, on_file into g. */
static void base_params(le_recw_params *p, int fmt, const char *dir, const char *prefix, int64_t cycle_ms, got *g)
{
    memset(p, 0, sizeof(*p));
    p->fmt = fmt;
    p->dir = dir;
    p->app = "live";
    p->stream = "cam1";
    p->prefix = prefix;
    p->cycle_ms = cycle_ms;
    p->on_file = on_file;
    p->arg = g;
}

static le_recw *new_writer(const le_recw_params *p)
{
    char err[256] = "";
    le_recw *w = le_recw_new(p, err, sizeof(err));
    if (!w)
        printf("# le_recw_new: %s\n", err);
    return w;
}

static le_recw *make(int fmt, const char *dir, const char *prefix, got *g, uint64_t min_free, int64_t fragment_ms)
{
    le_recw_params p;
    base_params(&p, fmt, dir, prefix, 5000, g);
    p.slice_ms = 2000;
    p.fragment_ms = fragment_ms;
    p.min_free = min_free;
    p.on_status = on_status;
    return new_writer(&p);
}

/* Feeds the input; packets at or after jump_from_ms get jump_ms added.
 * Stops before stop_ms (0: all). */
static void feed(le_recw *w, uint32_t jump_from_ms, uint32_t jump_ms, uint32_t stop_ms)
{
    for (size_t i = 0; i < in.n; i++) {
        le_pkt *p = in.p[i];
        if (stop_ms && p->ts >= stop_ms)
            break;
        uint32_t saved = p->ts;
        if (jump_ms && p->ts >= jump_from_ms)
            p->ts += jump_ms;
        le_recw_feed(w, p, WALL0 + 3 + p->ts);
        p->ts = saved;
    }
}

static double sum_dur(const got *g, int slices)
{
    double s = 0;
    for (int i = 0; i < g->n; i++)
        if (g->f[i].is_slice == slices)
            s += (double)g->f[i].duration_ms / 1000.0;
    return s;
}

/* The expected key of a file under the default prefix. */
static void default_key(const le_rec_file *f, const char *ext, char *out, size_t n)
{
    char a[24], b[24];
    snprintf(out, n, "record/live/cam1/%s_%s.%s", le_rec_escaped_time(f->start_ms, a),
             le_rec_escaped_time(f->end_ms, b), ext);
}

static void check_files(const char *what, const got *g, const char *dir, int slices)
{
    double total = 0;
    for (int i = 0; i < g->n; i++) {
        const le_rec_file *f = &g->f[i];
        if (f->is_slice != slices)
            continue;
        probe pr;
        int rc = ffprobe(f->path, &pr);
        ok(rc == LE_OK, "%s: %s plays in ffprobe (%.3f s)", what, f->key, pr.duration);
        double want = (double)f->duration_ms / 1000.0;
        ok(fabs(pr.duration - want) <= GOP_S, "%s: %s probed duration %.3f within a GOP of the reported %.3f",
           what, f->key, pr.duration, want);
        ok(pr.start >= 0 && pr.start < 0.5, "%s: %s first timestamp near 0 (%.3f)", what, f->key, pr.start);
        if (!slices || pr.nvideo) {
            is_int(pr.width, 320, "%s: %s width", what, f->key);
            is_int(pr.height, 240, "%s: %s height", what, f->key);
        }
        is_int(f->width, 320, "%s: %s reported width", what, f->key);
        is_int(f->height, 240, "%s: %s reported height", what, f->key);
        ok(f->end_ms == f->start_ms + f->duration_ms, "%s: end = start + duration", what);
        struct stat st;
        ok(stat(f->path, &st) == 0 && (uint64_t)st.st_size == f->bytes, "%s: %s bytes as reported (%llu)", what,
           f->key, (unsigned long long)f->bytes);
        total += pr.duration;
    }
    ok(fabs(total - INPUT_S) <= GOP_S, "%s: durations sum to the input's (%.3f)", what, total);
    is_int(count_files(dir, "*.tmp"), 0, "%s: no .tmp left", what);
}

/* The onMetaData of an FLV file: its duration and filesize, and its
 * absolute start (starttime, unix ms; creationdate, ISO 8601). */
static int flv_meta(const char *path, double *duration, double *filesize, double *start, char *created, size_t cn)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return LE_EIO;
    uint8_t hdr[13 + 11];
    uint8_t body[4096];
    int rc = LE_EPROTO;
    if (fread(hdr, 1, sizeof(hdr), f) == sizeof(hdr) && hdr[13] == LE_PKT_DATA) {
        uint32_t len = le_rd_be24(hdr + 14);
        if (len <= sizeof(body) && fread(body, 1, len, f) == len) {
            le_amf_doc doc;
            if (le_amf_decode(body, len, &doc) == LE_OK && doc.nvals >= 2 &&
                le_amf_str_eq(doc.vals[0], "onMetaData")) {
                const le_amf_val *d = le_amf_prop_get(doc.vals[1], "duration");
                const le_amf_val *s = le_amf_prop_get(doc.vals[1], "filesize");
                const le_amf_val *st = le_amf_prop_get(doc.vals[1], "starttime");
                const le_amf_val *cd = le_amf_prop_get(doc.vals[1], "creationdate");
                if (d && s && d->type == LE_AMF_NUMBER && s->type == LE_AMF_NUMBER) {
                    *duration = d->num;
                    *filesize = s->num;
                    *start = st && st->type == LE_AMF_NUMBER ? st->num : -1;
                    snprintf(created, cn, "%.*s", cd && cd->type == LE_AMF_STRING ? (int)cd->str_len : 0,
                             cd && cd->type == LE_AMF_STRING ? cd->str : "");
                    rc = LE_OK;
                }
            }
            le_amf_doc_free(&doc);
        }
    }
    fclose(f);
    return rc;
}

static void test_flv(void)
{
    char dir[300];
    snprintf(dir, sizeof(dir), "%s/flv", tmpdir);
    got g = { 0 };
    le_recw *w = make(LE_REC_FLV, dir, NULL, &g, 1, 0);
    ok(w != NULL, "flv: writer made");
    if (!w)
        return;
    feed(w, 0, 0, 0);
    is_int(g.n, 2, "flv: two 5 s cycles closed while feeding");
    is_int(le_recw_next_sequence(w), 3, "flv: the open one is {Sequence} 2");
    le_recw_close(w);
    is_int(g.n, 3, "flv: le_recw_close finishes the open file");
    is_int(le_recw_next_sequence(w), 3, "flv: the next file would be 3");
    le_recw_free(w);
    is_int(g.n, 3, "flv: 12 s in 5 s cycles make three files");
    for (int i = 0; i < g.n; i++) {
        char key[300];
        default_key(&g.f[i], "flv", key, sizeof(key));
        is_str(g.f[i].key, key, "flv: file %d named by the default prefix", i);
        is_int(g.f[i].sequence, (long long)i, "flv: file %d sequence", i);
        ok(g.f[i].fmt == LE_REC_FLV && !g.f[i].is_slice, "flv: file %d format", i);
        double d = 0, s = 0, st = 0;
        char cd[64], iso[32];
        ok(flv_meta(g.f[i].path, &d, &s, &st, cd, sizeof(cd)) == LE_OK, "flv: file %d onMetaData read back", i);
        ok(st == (double)g.f[i].start_ms, "flv: file %d onMetaData starttime is its absolute start (%.0f)", i, st);
        is_str(cd, le_rec_iso_time(g.f[i].start_ms, iso), "flv: file %d onMetaData creationdate", i);
        ok(d > 0 && fabs(d - (double)g.f[i].duration_ms / 1000.0) < 0.001, "flv: file %d duration patched (%.3f)",
           i, d);
        ok(s == (double)g.f[i].bytes, "flv: file %d filesize patched (%.0f)", i, s);
    }
    if (g.n == 3) {
        ok(g.f[0].duration_ms >= 5000 && g.f[0].duration_ms < 5000 + 1000 * GOP_S, "flv: first cut at 5 s (%lld)",
           (long long)g.f[0].duration_ms);
        ok(g.f[0].start_ms == WALL0 + 3, "flv: start is the wall clock of the first packet");
        ok(g.f[1].start_ms >= WALL0 + 5000, "flv: the second starts at the cut's wall clock");
    }
    check_files("flv", &g, dir, 0);
}

static void test_mp4(void)
{
    char dir[300];
    snprintf(dir, sizeof(dir), "%s/mp4", tmpdir);
    got g = { 0 };
    le_recw *w = make(LE_REC_MP4, dir, "mp4/{AppName}/{StreamName}/{Sequence}-{UnixTimestamp}", &g, 0, 1000);
    ok(w != NULL, "mp4: writer made");
    if (!w)
        return;
    feed(w, 0, 0, 0);
    le_recw_free(w);
    is_int(g.n, 3, "mp4: three files");
    for (int i = 0; i < g.n; i++) {
        char key[300];
        snprintf(key, sizeof(key), "mp4/live/cam1/%d-%lld.mp4", i, (long long)(g.f[i].start_ms / 1000));
        is_str(g.f[i].key, key, "mp4: file %d named by its template", i);
        /* mvhd keeps the absolute start in whole seconds. */
        char cmd[900], out[64] = "", want[32];
        snprintf(cmd, sizeof(cmd), "ffprobe -v error -show_entries format_tags=creation_time -of csv=p=0 '%s'",
                 g.f[i].path);
        FILE *pp = popen(cmd, "r");
        if (pp) {
            if (!fgets(out, sizeof(out), pp))
                out[0] = '\0';
            pclose(pp);
        }
        out[strcspn(out, "\n")] = '\0';
        le_rec_iso_time(g.f[i].start_ms / 1000 * 1000, want);
        want[19] = '\0';   /* "YYYY-MM-DDTHH:MM:SS" */
        ok(strncmp(out, want, 19) == 0, "mp4: file %d creation_time is its start (%s)", i, out);
    }
    check_files("mp4", &g, dir, 0);
}

/* A writer that is never closed (the node was killed): its .tmp holds every
 * fragment finished so far, and plays. */
static void test_mp4_killed(void)
{
    char dir[300];
    snprintf(dir, sizeof(dir), "%s/kill", tmpdir);
    got g = { 0 };
    le_recw *w = make(LE_REC_MP4, dir, "k/{Sequence}", &g, 0, 1000);
    ok(w != NULL, "kill: writer made");
    if (!w)
        return;
    feed(w, 0, 0, 4500);   /* 4.5 s; the cycle (5 s) does not end */
    is_int(g.n, 0, "kill: nothing finished yet");
    char tmp[400], copy[400], cut[400], cmd[1400];
    snprintf(tmp, sizeof(tmp), "%s/k/0.mp4.tmp", dir);
    snprintf(copy, sizeof(copy), "%s/killed.mp4", tmpdir);
    snprintf(cut, sizeof(cut), "%s/killed-cut.mp4", tmpdir);
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", tmp, copy);
    ok(run(cmd) == 0, "kill: the .tmp is there while writing");
    probe pr;
    ok(ffprobe(copy, &pr) == LE_OK, "kill: the .tmp of a killed writer plays (%.3f s)", pr.duration);
    ok(pr.duration >= 4.5 - 1.0 - 0.1 && pr.duration <= 4.6,
       "kill: it holds what was fed but the open fragment (%.3f of 4.5 s, fragment 1 s)", pr.duration);
    is_int(pr.width, 320, "kill: width");

    /* Cut in the middle of its last fragment: the fragments before it play. */
    FILE *f = fopen(copy, "rb");
    long last_moof = -1, size = 0;
    if (f) {
        uint8_t h[8];
        long off = 0;
        while (fseek(f, off, SEEK_SET) == 0 && fread(h, 1, 8, f) == 8) {
            uint32_t bs = le_rd_be32(h);
            if (memcmp(h + 4, "moof", 4) == 0)
                last_moof = off;
            if (bs < 8)
                break;
            off += bs;
        }
        fseek(f, 0, SEEK_END);
        size = ftell(f);
        fclose(f);
    }
    ok(last_moof > 0 && size > last_moof, "kill: the .tmp has fragments (last at %ld of %ld)", last_moof, size);
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", copy, cut);
    ok(run(cmd) == 0 && truncate(cut, last_moof + (size - last_moof) / 2) == 0, "kill: truncated in its last fragment");
    ok(ffprobe(cut, &pr) == LE_OK, "kill: the truncated file still plays (%.3f s)", pr.duration);
    ok(pr.duration >= 4.5 - 2 * 1.0 - 0.1, "kill: it lost at most the open and the cut fragment (%.3f s)",
       pr.duration);
    /* Decodable: at least the three complete fragments before the cut one. */
    snprintf(cmd, sizeof(cmd), "ffprobe -v quiet -count_frames -select_streams v -show_entries "
             "stream=nb_read_frames -of default=nw=1:nk=1 '%s'", cut);
    FILE *pp = popen(cmd, "r");
    int frames = -1;
    if (pp) {
        if (fscanf(pp, "%d", &frames) != 1)
            frames = -1;
        pclose(pp);
    }
    ok(frames >= 75, "kill: the truncated file decodes (%d video frames, 75 in 3 s)", frames);
    le_recw_free(w);
    is_int(g.n, 1, "kill: closing later still finishes it");
}

static void test_jump(void)
{
    char dir[300];
    snprintf(dir, sizeof(dir), "%s/jump", tmpdir);
    got g = { 0 };
    /* One long cycle: only the jump cuts. */
    le_recw_params p;
    base_params(&p, LE_REC_FLV, dir, "j/{Sequence}", 60000, &g);
    p.on_status = on_status;
    le_recw *w = new_writer(&p);
    ok(w != NULL, "jump: writer made");
    if (!w)
        return;
    feed(w, 6000, 20000, 0);
    le_recw_free(w);
    is_int(g.n, 2, "jump: a +20 s step starts a new file");
    if (g.n == 2) {
        ok(g.f[0].duration_ms >= 5800 && g.f[0].duration_ms <= 6000, "jump: first file ends at the jump (%lld)",
           (long long)g.f[0].duration_ms);
        ok(g.f[1].duration_ms >= 5800 && g.f[1].duration_ms <= 6200,
           "jump: second holds the rest, not the 20 s gap (%lld)", (long long)g.f[1].duration_ms);
        probe pr;
        ok(ffprobe(g.f[1].path, &pr) == LE_OK && pr.start < 0.5 && pr.duration < 7,
           "jump: second file starts near 0 (%.3f, %.3f s)", pr.start, pr.duration);
        is_str(g.f[1].key, "j/1.flv", "jump: second file's key");
    }
}

/* The publisher switches to 160x120 (new sequence headers) without a
 * timestamp jump: the open file ends, the next one has the new size. */
static void test_resize(void)
{
    char dir[300];
    snprintf(dir, sizeof(dir), "%s/resize", tmpdir);
    got g = { 0 };
    le_recw_params p;
    base_params(&p, LE_REC_MP4, dir, "z/{Sequence}", 60000, &g);
    le_recw *w = new_writer(&p);
    ok(w != NULL, "resize: writer made");
    if (!w)
        return;
    for (size_t i = 0; i < in.n && in.p[i]->ts < 6000; i++)
        le_recw_feed(w, in.p[i], WALL0 + in.p[i]->ts);
    is_int(g.n, 0, "resize: one file open");
    for (size_t i = 0; i < small.n; i++) {
        le_pkt *pk = small.p[i];
        uint32_t saved = pk->ts;
        pk->ts += 6000;
        le_recw_feed(w, pk, WALL0 + pk->ts);
        pk->ts = saved;
    }
    le_recw_free(w);
    is_int(g.n, 2, "resize: new sequence headers start a new file");
    if (g.n == 2) {
        ok(g.f[0].width == 320 && g.f[1].width == 160 && g.f[1].height == 120, "resize: sizes reported (%dx%d)",
           g.f[1].width, g.f[1].height);
        probe a, b;
        ok(ffprobe(g.f[0].path, &a) == LE_OK && a.width == 320 && fabs(a.duration - 6.0) <= GOP_S,
           "resize: first file 320 wide, 6 s (%.3f)", a.duration);
        ok(ffprobe(g.f[1].path, &b) == LE_OK && b.width == 160 && b.height == 120 && fabs(b.duration - 4.0) <= GOP_S,
           "resize: second file 160x120, 4 s (%.3f)", b.duration);
    }
}

/* An encoder that sends audio before its video header, with onMetaData
 * announcing video: the file waits for the video keyframe instead of
 * starting audio-only and being cut at once. */
static void test_audio_first(void)
{
    char dir[300];
    snprintf(dir, sizeof(dir), "%s/afirst", tmpdir);
    got g = { 0 };
    le_recw_params p;
    base_params(&p, LE_REC_FLV, dir, "a/{Sequence}", 60000, &g);
    le_recw *w = new_writer(&p);
    ok(w != NULL, "audio first: writer made");
    if (!w)
        return;
    le_pkt *vseq = NULL;
    for (size_t i = 0; i < in.n; i++) {   /* onMetaData, audio header, 0.5 s of audio */
        le_pkt *pk = in.p[i];
        if (pk->type == LE_PKT_VIDEO && (pk->flags & LE_PKT_SEQHDR))
            vseq = pk;
        else if (pk->type == LE_PKT_DATA || (pk->type == LE_PKT_AUDIO && pk->ts < 500))
            le_recw_feed(w, pk, WALL0 + pk->ts);
    }
    ok(vseq != NULL, "audio first: the input has a video header");
    if (vseq)
        le_recw_feed(w, vseq, WALL0 + 500);
    for (size_t i = 0; i < in.n; i++)
        if (in.p[i]->ts >= 500 && !(in.p[i]->flags & LE_PKT_SEQHDR))
            le_recw_feed(w, in.p[i], WALL0 + in.p[i]->ts);
    le_recw_free(w);
    is_int(g.n, 1, "audio first: one file");
    probe pr;
    ok(g.n >= 1 && ffprobe(g.f[0].path, &pr) == LE_OK && pr.nvideo == 1 && pr.naudio == 1,
       "audio first: it has video and audio");
    ok(g.n >= 1 && g.f[0].start_ms == WALL0 + 1000, "audio first: it starts at the first video keyframe");
}

static void test_min_free(void)
{
    char dir[300];
    snprintf(dir, sizeof(dir), "%s/full", tmpdir);
    mkdir(dir, 0755);
    got g = { 0 };
    le_recw *w = make(LE_REC_FLV, dir, NULL, &g, UINT64_MAX / 2, 0);
    ok(w != NULL, "min_free: writer made");
    if (!w)
        return;
    int eio = 0;
    for (size_t i = 0; i < in.n && in.p[i]->ts < 3000; i++)
        if (le_recw_feed(w, in.p[i], WALL0 + in.p[i]->ts) == LE_EIO)
            eio++;
    ok(le_recw_paused(w), "min_free: paused");
    is_int(g.nstatus, 1, "min_free: one status event");
    is_int(g.status[0], LE_RECW_PAUSED, "min_free: it is 'paused'");
    ok(strstr(g.why, "free space") != NULL, "min_free: why says free space (%s)", g.why);
    ok(eio > 0, "min_free: packets refused with LE_EIO (%d)", eio);
    le_recw_free(w);
    is_int(g.n, 0, "min_free: no file");
    is_int(count_files(dir, "*"), 0, "min_free: nothing on disk");
}

/* A write that fails (the file size limit, as a full disk would): the file
 * is closed, renamed and reported with what it holds, the writer pauses,
 * and resumes with a new file once a second has passed. */
static void test_write_error(void)
{
    char dir[300];
    snprintf(dir, sizeof(dir), "%s/werr", tmpdir);
    got g = { 0 };
    le_recw *w = make(LE_REC_FLV, dir, "e/{Sequence}", &g, 0, 0);
    ok(w != NULL, "write error: writer made");
    if (!w)
        return;
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 100000;
    signal(SIGXFSZ, SIG_IGN);
    ok(setrlimit(RLIMIT_FSIZE, &lim) == 0, "write error: file size limit 100000 bytes");
    int eio = 0;
    size_t i = 0;
    for (; i < in.n && g.nstatus == 0; i++)
        if (le_recw_feed(w, in.p[i], WALL0 + in.p[i]->ts) == LE_EIO)
            eio++;
    setrlimit(RLIMIT_FSIZE, &old);
    ok(eio == 1, "write error: the failing packet is refused with LE_EIO");
    ok(g.nstatus == 1 && g.status[0] == LE_RECW_PAUSED, "write error: paused (%s)", g.why);
    ok(le_recw_paused(w), "write error: le_recw_paused");
    is_int(g.n, 1, "write error: the file is still reported");
    if (g.n == 1) {
        is_str(g.f[0].key, "e/0.flv", "write error: under its final name");
        ok(g.f[0].bytes > 0 && g.f[0].bytes <= 100000, "write error: with what it holds (%llu bytes)",
           (unsigned long long)g.f[0].bytes);
        probe pr;
        ok(ffprobe(g.f[0].path, &pr) == LE_OK, "write error: and it plays (%.3f s)", pr.duration);
    }
    for (; i < in.n; i++)
        le_recw_feed(w, in.p[i], WALL0 + in.p[i]->ts);
    ok(g.nstatus == 2 && g.status[1] == LE_RECW_RESUMED, "write error: resumed at a later keyframe");
    le_recw_free(w);
    ok(g.n >= 2 && g.f[1].start_ms >= g.f[0].end_ms + 1000 && g.f[1].start_ms <= g.f[0].end_ms + 2000,
       "write error: the rest went into new files, from the first keyframe a second later");
    is_int(count_files(dir, "*.tmp"), 0, "write error: no .tmp left");
}

static void test_m3u8(void)
{
    char dir[300];
    snprintf(dir, sizeof(dir), "%s/hls", tmpdir);
    got g = { 0 };
    le_recw *w = make(LE_REC_M3U8, dir, "hls/{StreamName}/{Date}/{Sequence}", &g, 0, 0);
    ok(w != NULL, "m3u8: writer made");
    if (!w)
        return;
    feed(w, 0, 0, 0);
    le_recw_free(w);
    int nslices = 0, nlists = 0;
    for (int i = 0; i < g.n; i++) {
        if (g.f[i].is_slice) {
            nslices++;
            ok(g.f[i].duration_ms <= 3000, "m3u8: slice %s about slice_ms (%lld)", g.f[i].key,
               (long long)g.f[i].duration_ms);
        } else {
            nlists++;
        }
    }
    is_int(nlists, 3, "m3u8: a playlist per 5 s cycle");
    ok(nslices >= 6 && nslices <= 8, "m3u8: 2 s slices (%d)", nslices);
    ok(fabs(sum_dur(&g, 1) - INPUT_S) <= GOP_S, "m3u8: slices sum to the input (%.3f)", sum_dur(&g, 1));
    /* The first slice and its playlist. */
    if (g.n > 0 && g.f[0].is_slice) {
        char key[300], ts[24];
        snprintf(key, sizeof(key), "record/live/cam1/%lld_0.ts", (long long)(g.f[0].start_ms / 1000));
        (void)ts;
        is_str(g.f[0].key, key, "m3u8: slice named by the default slice prefix");
        char date[24];
        le_rec_escaped_time(g.f[0].start_ms, date);
        date[10] = '\0';
        char pl[300];
        snprintf(pl, sizeof(pl), "hls/cam1/%s/0.m3u8", date);
        is_str(g.f[0].playlist_key, pl, "m3u8: slice names its playlist");
    }
    for (int i = 0; i < g.n; i++) {
        if (g.f[i].is_slice)
            continue;
        probe pr;
        ok(ffprobe(g.f[i].path, &pr) == LE_OK, "m3u8: %s plays (%.3f s)", g.f[i].key, pr.duration);
        ok(fabs(pr.duration - (double)g.f[i].duration_ms / 1000.0) <= 0.1, "m3u8: %s duration %.3f as reported",
           g.f[i].key, pr.duration);
        is_int(pr.width, 320, "m3u8: %s width", g.f[i].key);
        FILE *f = fopen(g.f[i].path, "r");
        char buf[4096] = "";
        size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
        buf[n] = '\0';
        if (f)
            fclose(f);
        ok(strstr(buf, "#EXT-X-PLAYLIST-TYPE:VOD") && strstr(buf, "#EXT-X-ENDLIST"), "m3u8: %s is a closed VOD list",
           g.f[i].key);
        char iso[32], pdt[64];
        snprintf(pdt, sizeof(pdt), "#EXT-X-PROGRAM-DATE-TIME:%s\n#EXTINF", le_rec_iso_time(g.f[i].start_ms, iso));
        ok(strstr(buf, pdt) != NULL, "m3u8: %s starts with its absolute start (%s)", g.f[i].key, iso);
        ok(strstr(buf, "\n../../../record/live/cam1/") != NULL, "m3u8: %s slice URIs relative to it", g.f[i].key);
    }
    is_int(count_files(dir, "*.tmp"), 0, "m3u8: no .tmp left");
    is_int(count_files(dir, "*.ts"), nslices, "m3u8: every slice on disk");

    /* While a cycle runs its playlist is there, growing, not closed. */
    char dir3[300];
    snprintf(dir3, sizeof(dir3), "%s/hlsrun", tmpdir);
    got r = { 0 };
    w = make(LE_REC_M3U8, dir3, "r/{Sequence}", &r, 0, 0);
    feed(w, 0, 0, 4500);
    ok(r.n == 2 && r.f[0].is_slice && r.f[1].is_slice, "m3u8 running: two slices reported (%d)", r.n);
    char plp[400];
    snprintf(plp, sizeof(plp), "%s/r/0.m3u8", dir3);
    FILE *pf = fopen(plp, "r");
    char pbuf[4096] = "";
    size_t pn = pf ? fread(pbuf, 1, sizeof(pbuf) - 1, pf) : 0;
    pbuf[pn] = '\0';
    if (pf)
        fclose(pf);
    ok(strstr(pbuf, "#EXT-X-PLAYLIST-TYPE:EVENT") && !strstr(pbuf, "ENDLIST") && strstr(pbuf, "#EXTINF"),
       "m3u8 running: the playlist lists them, open");
    if (r.n > 0)
        is_str(r.f[0].playlist_key, "r/0.m3u8", "m3u8 running: slices name it");
    le_recw_free(w);
    ok(r.n == 4 && !r.f[3].is_slice && strcmp(r.f[3].key, "r/0.m3u8") == 0,
       "m3u8 running: closing adds the last slice and the playlist");

    /* A jump inside a cycle: a discontinuity, not a new playlist. */
    char dir2[300];
    snprintf(dir2, sizeof(dir2), "%s/hlsj", tmpdir);
    got j = { 0 };
    le_recw_params p;
    base_params(&p, LE_REC_M3U8, dir2, "j/{Sequence}", 60000, &j);
    p.slice_prefix = "j/s{Sequence}";
    p.slice_ms = 2000;
    w = new_writer(&p);
    feed(w, 6000, 20000, 0);
    le_recw_free(w);
    int lists = 0;
    for (int i = 0; i < j.n; i++)
        lists += !j.f[i].is_slice;
    is_int(lists, 1, "m3u8 jump: one playlist");
    if (j.n > 0 && !j.f[j.n - 1].is_slice) {
        FILE *f = fopen(j.f[j.n - 1].path, "r");
        char buf[4096] = "";
        size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
        buf[n] = '\0';
        if (f)
            fclose(f);
        ok(strstr(buf, "#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME:") != NULL,
           "m3u8 jump: EXT-X-DISCONTINUITY, then the new timeline's absolute start, before the slice after the jump");
        ok(fabs((double)j.f[j.n - 1].duration_ms / 1000.0 - INPUT_S) <= GOP_S,
           "m3u8 jump: the gap is not counted (%lld ms)", (long long)j.f[j.n - 1].duration_ms);
    }
}

static void test_bad_params(void)
{
    le_recw_params p;
    memset(&p, 0, sizeof(p));
    p.fmt = LE_REC_FLV;
    p.dir = tmpdir;
    p.app = "live";
    p.stream = "cam1";
    p.cycle_ms = 5000;
    p.prefix = "/abs/{AppName}";
    char err[128] = "";
    ok(le_recw_new(&p, err, sizeof(err)) == NULL && err[0], "an absolute prefix is refused (%s)", err);
    p.prefix = NULL;
    p.fmt = 7;
    ok(le_recw_new(&p, err, sizeof(err)) == NULL, "an unknown format is refused");
    p.fmt = LE_REC_FLV;
    p.stream = "../x";
    ok(le_recw_new(&p, err, sizeof(err)) == NULL, "a stream name that changes the key's shape is refused");
}

int main(void)
{
    int in_ci = getenv("CI") && strcmp(getenv("CI"), "true") == 0;
    if (run("ffmpeg -version") != 0 || run("ffprobe -version") != 0) {
        ok(!in_ci, "ffmpeg/ffprobe available (required in CI)");
        printf("# SKIP: no ffmpeg\n");
        return done_testing();
    }
    snprintf(tmpdir, sizeof(tmpdir), "%s/le-recw-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmpdir)) {
        ok(0, "temp dir");
        return done_testing();
    }
    char cmd[1024], path[400];
    snprintf(path, sizeof(path), "%s/in.flv", tmpdir);
    snprintf(cmd, sizeof(cmd),
             "ffmpeg -nostdin -y -f lavfi -i testsrc2=size=320x240:rate=25 -f lavfi -i sine=frequency=440 "
             "-t 12 -c:v libx264 -g 25 -keyint_min 25 -sc_threshold 0 -pix_fmt yuv420p -c:a aac -f flv '%s'",
             path);
    ok(run(cmd) == 0, "ffmpeg makes the input FLV");
    ok(read_input(path, &in) == LE_OK && in.n > 500, "input read (%zu tags)", in.n);
    snprintf(path, sizeof(path), "%s/small.flv", tmpdir);
    snprintf(cmd, sizeof(cmd),
             "ffmpeg -nostdin -y -f lavfi -i testsrc2=size=160x120:rate=25 -f lavfi -i sine=frequency=440 "
             "-t 4 -c:v libx264 -g 25 -keyint_min 25 -sc_threshold 0 -pix_fmt yuv420p -c:a aac -f flv '%s'",
             path);
    ok(run(cmd) == 0 && read_input(path, &small) == LE_OK && small.n > 150, "160x120 input read (%zu tags)",
       small.n);

    test_bad_params();
    test_flv();
    test_mp4();
    test_mp4_killed();
    test_jump();
    test_resize();
    test_audio_first();
    test_min_free();
    test_write_error();
    test_m3u8();

    for (size_t i = 0; i < in.n; i++)
        le_pkt_unref(in.p[i]);
    free(in.p);
    for (size_t i = 0; i < small.n; i++)
        le_pkt_unref(small.p[i]);
    free(small.p);
    if (tap_failed == 0 && !getenv("RECW_KEEP")) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        run(cmd);
    } else {
        printf("# files kept in %s\n", tmpdir);
    }
    return done_testing();
}
