/* le-relaycat: the relay clients (src/relay/client.h) from the command
 * line, for tests.
 *   le-relaycat [-c host:port] [-t timeout_ms] pull URL OUT.flv SECONDS
 *       plays URL (rtmp:// or http://...flv) for SECONDS (or until it ends)
 *       and writes what it gives as FLV; prints "ready" and at the end
 *       "packets N bytes N" on stderr.
 *   le-relaycat [-c host:port] [-t timeout_ms] push IN.flv URL
 *       publishes IN.flv to URL in real time (timestamps paced on the wall
 *       clock), waits for the output to drain, then closes.
 * Exit 0 on success; 1 with "error: URL(masked): <code>: <why>" on stderr. */
#include "relay/client.h"
#include "media/flv.h"
#include "media/flvread.h"
#include "media/pkt.h"
#include "core/err.h"
#include "core/util.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct event_base *base;
static const char *url;
static int exit_code = 1;
static int got_ready;
static uint64_t npkts, nbytes;
static FILE *out;
static le_src *src;
static le_sink *sink;

static void fail(int err, const char *why)
{
    char m[1024];
    fprintf(stderr, "error: %s: %s: %s\n", le_relay_mask_url(url, m, sizeof(m)), le_strerror(err), why);
    exit_code = 1;
    event_base_loopexit(base, NULL);
}

/* ---- pull ---- */

static void src_ready(void *ctx)
{
    (void)ctx;
    got_ready = 1;
    fprintf(stderr, "ready\n");
}

static void src_packet(void *ctx, le_pkt *p)
{
    (void)ctx;
    uint8_t h[11], pts[4];
    le_flv_tag_header(h, p->type, p->len, p->ts);
    le_wr_be32(pts, 11 + p->len);
    fwrite(h, 1, 11, out);
    fwrite(p->data, 1, p->len, out);
    fwrite(pts, 1, 4, out);
    npkts++;
    nbytes += p->len;
}

static void src_closed(void *ctx, int err, const char *why)
{
    (void)ctx;
    if (err != LE_OK) {
        fail(err, why);
        return;
    }
    fprintf(stderr, "end: %s\n", why);
    exit_code = got_ready ? 0 : 1;
    event_base_loopexit(base, NULL);
}

static void pull_done(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    exit_code = got_ready ? 0 : 1;
    if (!got_ready)
        fprintf(stderr, "error: not ready in time\n");
    event_base_loopexit(base, NULL);
}

/* ---- push ---- */

typedef struct tag {
    uint8_t type;
    uint32_t ts;
    uint32_t len;
    uint8_t *data;
} tag;

static tag *tags;
static size_t ntags, next_tag;
static uint64_t t0;
static struct event *tick;
static int draining;

static int load_flv(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return LE_EIO;
    le_flvread r;
    le_flvread_init(&r, 16u << 20, 1);
    uint8_t buf[65536];
    size_t n, cap = 0;
    int rc = LE_OK;
    while (rc == LE_OK && (n = fread(buf, 1, sizeof(buf), f)) > 0) {
        const uint8_t *p = buf;
        le_flvread_ev ev;
        int k;
        while ((k = le_flvread_next(&r, &p, &n, &ev)) != LE_EAGAIN) {
            if (k < 0) {
                rc = k;
                break;
            }
            if (k != LE_FLVREAD_TAG || ev.len == 0)
                continue;
            if (ntags == cap) {
                cap = cap ? cap * 2 : 1024;
                tags = realloc(tags, cap * sizeof(*tags));
            }
            tag *t = &tags[ntags++];
            t->type = ev.type;
            t->ts = ev.ts;
            t->len = (uint32_t)ev.len;
            t->data = malloc(ev.len);
            memcpy(t->data, ev.data, ev.len);
        }
    }
    le_flvread_free(&r);
    fclose(f);
    return rc;
}

static void push_tick(evutil_socket_t fd, short what, void *arg);

static void schedule(uint64_t ms)
{
    struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
    evtimer_add(tick, &tv);
}

static void push_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    if (draining) {
        if (le_sink_queued(sink) == 0) {
            fprintf(stderr, "pushed packets %llu bytes %llu\n", (unsigned long long)npkts,
                    (unsigned long long)le_sink_bytes_out(sink));
            exit_code = 0;
            event_base_loopexit(base, NULL);
        } else {
            schedule(50);
        }
        return;
    }
    uint64_t now = le_mono_ms() - t0;
    uint32_t ts0 = ntags ? tags[0].ts : 0;
    while (next_tag < ntags && tags[next_tag].ts - ts0 <= now) {
        tag *t = &tags[next_tag];
        le_pkt *p = le_pkt_new(t->type, t->ts, t->data, t->len);
        int rc = le_sink_send(sink, p);
        le_pkt_unref(p);
        if (rc == LE_EAGAIN)
            return;   /* writable() resumes */
        if (rc != LE_OK) {
            fail(rc, "send failed");
            return;
        }
        npkts++;
        next_tag++;
    }
    if (next_tag >= ntags) {
        draining = 1;
        schedule(0);
        return;
    }
    uint64_t due = tags[next_tag].ts - ts0;
    schedule(due > now ? due - now : 0);
}

static void sink_ready(void *ctx)
{
    (void)ctx;
    got_ready = 1;
    fprintf(stderr, "ready\n");
    t0 = le_mono_ms();
    schedule(0);
}

static void sink_writable(void *ctx)
{
    (void)ctx;
    schedule(0);
}

static void sink_closed(void *ctx, int err, const char *why)
{
    (void)ctx;
    fail(err != LE_OK ? err : LE_EIO, why);
}

static int usage(void)
{
    fprintf(stderr, "usage: le-relaycat [-c host:port] [-t timeout_ms] pull URL OUT.flv SECONDS\n"
                    "       le-relaycat [-c host:port] [-t timeout_ms] push IN.flv URL\n");
    return 2;
}

int main(int argc, char **argv)
{
    le_client_opts o = { 0 };
    int opt;
    while ((opt = getopt(argc, argv, "c:t:")) != -1) {
        if (opt == 'c')
            o.connect_to = optarg;
        else if (opt == 't')
            o.connect_timeout_ms = atoi(optarg);
        else
            return usage();
    }
    argc -= optind;
    argv += optind;
    if (argc < 3)
        return usage();
    base = event_base_new();
    le_relay_client_init(base);
    int rc;
    if (strcmp(argv[0], "pull") == 0 && argc == 4) {
        url = argv[1];
        out = fopen(argv[2], "wb");
        if (!out) {
            perror(argv[2]);
            return 1;
        }
        uint8_t h[13];
        fwrite(h, 1, le_flv_file_header(h, 1, 1), out);
        le_src_ops ops = { .ready = src_ready, .packet = src_packet, .closed = src_closed };
        rc = le_src_open(url, &o, &ops, NULL, &src);
        if (rc != LE_OK) {
            fail(rc, "cannot open");
            return 1;
        }
        struct timeval tv = { atoi(argv[3]), 0 };
        struct event *done = evtimer_new(base, pull_done, NULL);
        evtimer_add(done, &tv);
        event_base_dispatch(base);
        le_src_close(src);
        event_free(done);
        fclose(out);
        fprintf(stderr, "packets %llu bytes %llu\n", (unsigned long long)npkts, (unsigned long long)nbytes);
    } else if (strcmp(argv[0], "push") == 0 && argc == 3) {
        url = argv[2];
        if ((rc = load_flv(argv[1])) != LE_OK || ntags == 0) {
            fprintf(stderr, "error: %s: not a usable FLV file\n", argv[1]);
            return 1;
        }
        tick = evtimer_new(base, push_tick, NULL);
        le_sink_ops ops = { sink_ready, sink_writable, sink_closed };
        rc = le_sink_open(url, &o, &ops, NULL, &sink);
        if (rc != LE_OK) {
            fail(rc, "cannot open");
            return 1;
        }
        event_base_dispatch(base);
        le_sink_close(sink);
        event_free(tick);
        for (size_t i = 0; i < ntags; i++)
            free(tags[i].data);
        free(tags);
    } else {
        return usage();
    }
    le_relay_client_free();
    event_base_free(base);
    return exit_code;
}
