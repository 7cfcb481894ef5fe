/* libFuzzer target for the recording writer (record/writer.h): packets a
 * publisher controls (sequence headers with their SPS, onMetaData, frames,
 * timestamps) go into a le_recw of one format, writing real files under a
 * temporary directory. Checked: every file announced exists under its final
 * name (never a .tmp) with the size announced, end = start + duration, no
 * negative durations; once the writer is freed no .tmp is left.
 *
 * Input: byte 0 the format (mod 3), byte 1 the cycle (1-8 s), then tags
 * (fuzz_tags.h); a control tag closes the writer's files. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <libavutil/log.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"
#include "media/pkt.h"
#include "record/config.h"
#include "record/writer.h"

#include "fuzz_tags.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_TAGS 2000

static char dir[256];
static int tmp_left;

static void on_file(const le_rec_file *f, void *arg)
{
    (void)arg;
    size_t n = strlen(f->key);
    if (n >= 4 && strcmp(f->key + n - 4, ".tmp") == 0)
        abort();
    if (strncmp(f->path, dir, strlen(dir)) != 0)
        abort();
    struct stat st;
    if (stat(f->path, &st) != 0 || (uint64_t)st.st_size != f->bytes)
        abort();
    if (f->duration_ms < 0 || f->end_ms != f->start_ms + f->duration_ms)
        abort();
}

static void on_status(int status, const char *why, void *arg)
{
    (void)arg;
    if ((status != LE_RECW_PAUSED && status != LE_RECW_RESUMED) || !why)
        abort();
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    size_t n = strlen(path);
    if (flag == FTW_F && n >= 4 && strcmp(path + n - 4, ".tmp") == 0)
        tmp_left = 1;
    if (ftw->level > 0)
        remove(path);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0]) {
        le_log_level = LE_LOG_ERROR + 1;
        av_log_set_level(AV_LOG_QUIET);
        snprintf(dir, sizeof(dir), "%s/fuzz-recw-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (!mkdtemp(dir))
            abort();
    }
    if (size < 2)
        return 0;
    le_recw_params p;
    memset(&p, 0, sizeof(p));
    p.fmt = data[0] % LE_REC_NFMT;
    p.dir = dir;
    p.app = "live";
    p.stream = "s";
    p.prefix = "{Sequence}_{UnixTimestamp}";
    p.slice_prefix = "sl/{Sequence}";
    p.cycle_ms = 1000 * (int64_t)(data[1] % 8 + 1);
    p.slice_ms = 500;
    p.fragment_ms = 500;
    p.on_file = on_file;
    p.on_status = on_status;
    char err[128];
    le_recw *w = le_recw_new(&p, err, sizeof(err));
    if (!w)
        abort();
    int64_t wall = 1764892800000LL;
    size_t off = 2;
    fuzz_tag t;
    for (int tags = 0; tags < MAX_TAGS && fuzz_next_tag(data, size, &off, &t); tags++) {
        wall += (t.kind >> 2) * 100;
        if ((t.kind & 3) == 3) {
            le_recw_close(w);
            continue;
        }
        le_pkt *pk = le_pkt_new(t.type, t.ts, t.body, (uint32_t)t.len);
        le_recw_feed(w, pk, wall);
        le_pkt_unref(pk);
    }
    le_recw_free(w);
    tmp_left = 0;
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    if (tmp_left)
        abort();
    return 0;
}
