/* le-s3put: the S3 uploader (src/record/s3.h) from the command line, for
 * tests.
 *   le-s3put [-k] [-p PREFIX] [-t SECONDS] ENDPOINT ACCESS SECRET BUCKET FILE...
 * Makes a config with an s3 block (-k: keep_local on), starts the uploader
 * on an event base, uploads each FILE as PREFIX + its base name (PREFIX
 * default "rec/") and prints one line per completion, in order:
 *   done KEY            stored (the local file removed unless -k)
 *   fail KEY CODE       not stored (the local file stays)
 * then "stats uploaded=N bytes=N failures=N pending=N" (failures: attempts
 * that failed, so retries show there). After SECONDS (default 120) it
 * stops whatever is left. Exit 0 when every file was stored, else 1. */
#include "record/s3.h"
#include "conf/conf.h"
#include "core/err.h"
#include "core/log.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct event_base *base;
static int left, failed;

typedef struct item {
    char key[1024];
} item;

static void done(int rc, void *arg)
{
    item *it = arg;
    if (rc == LE_OK) {
        printf("done %s\n", it->key);
    } else {
        printf("fail %s %s\n", it->key, le_strerror(rc));
        failed++;
    }
    fflush(stdout);
    if (--left == 0)
        event_base_loopexit(base, NULL);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    fprintf(stderr, "le-s3put: timeout, %d upload(s) left\n", left);
    event_base_loopexit(base, NULL);
}

static const char *ctype_of(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (dot && strcmp(dot, ".flv") == 0)
        return "video/x-flv";
    if (dot && strcmp(dot, ".mp4") == 0)
        return "video/mp4";
    if (dot && strcmp(dot, ".m3u8") == 0)
        return "application/vnd.apple.mpegurl";
    if (dot && strcmp(dot, ".ts") == 0)
        return "video/mp2t";
    return NULL;
}

int main(int argc, char **argv)
{
    int keep = 0, secs = 120, opt;
    const char *prefix = "rec/";
    while ((opt = getopt(argc, argv, "kp:t:")) != -1) {
        switch (opt) {
        case 'k': keep = 1; break;
        case 'p': prefix = optarg; break;
        case 't': secs = atoi(optarg); break;
        default: goto usage;
        }
    }
    if (argc - optind < 5)
        goto usage;
    const char *endpoint = argv[optind], *ak = argv[optind + 1], *sk = argv[optind + 2], *bucket = argv[optind + 3];
    le_log_level = LE_LOG_INFO;
    char text[4096], err[512];
    snprintf(text, sizeof(text), "s3 {\n  endpoint %s;\n  access_key %s;\n  secret_key %s;\n  keep_local %s;\n}\n",
             endpoint, ak, sk, keep ? "on" : "off");
    le_conf *cf = le_conf_parse(text, strlen(text), err, sizeof(err));
    if (!cf) {
        fprintf(stderr, "le-s3put: config: %s\n", err);
        return 2;
    }
    base = event_base_new();
    if (le_s3_init(base, cf, err, sizeof(err)) != LE_OK || !le_s3_enabled()) {
        fprintf(stderr, "le-s3put: init: %s\n", err);
        return 2;
    }
    int nfiles = argc - optind - 4;
    item *items = calloc((size_t)nfiles, sizeof(*items));
    for (int i = 0; i < nfiles; i++) {
        const char *path = argv[optind + 4 + i];
        const char *base_name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        snprintf(items[i].key, sizeof(items[i].key), "%s%s", prefix, base_name);
        int rc = le_s3_upload(bucket, items[i].key, path, ctype_of(base_name), done, &items[i]);
        if (rc != LE_OK) {
            printf("fail %s %s (not queued)\n", items[i].key, le_strerror(rc));
            failed++;
            continue;
        }
        left++;
    }
    char url[2048];
    if (nfiles > 0)
        fprintf(stderr, "le-s3put: first object at %s\n", le_s3_url(bucket, items[0].key, url, sizeof(url)));
    struct event *tev = evtimer_new(base, on_timeout, NULL);
    struct timeval tv = { secs, 0 };
    evtimer_add(tev, &tv);
    if (left > 0)
        event_base_dispatch(base);
    le_s3_stop(1000);   /* what is left is cancelled: its "fail" line comes here */
    le_s3_stats st;
    le_s3_get_stats(&st);
    printf("stats uploaded=%llu bytes=%llu failures=%llu pending=%llu\n", (unsigned long long)st.uploaded,
           (unsigned long long)st.bytes, (unsigned long long)st.failures, (unsigned long long)st.pending);
    event_free(tev);
    event_base_free(base);
    le_conf_free(cf);
    free(items);
    return failed ? 1 : 0;
usage:
    fprintf(stderr, "usage: le-s3put [-k] [-p PREFIX] [-t SECONDS] ENDPOINT ACCESS SECRET BUCKET FILE...\n");
    return 2;
}
