/* bench/floor: the floor of live fan-out at a given write tick.
 *
 * An ideal HTTP-FLV server for one stream, as cheap as fan-out can be: it
 * reads an FLV byte stream on stdin (ffmpeg -re ... -f flv pipe:1, the same
 * media the benchmark publishes), keeps the bytes from the last video
 * keyframe on in one flat buffer, and every tick (-t MS; 0: after every read
 * of stdin) writes to each player, with one write(2), everything the player
 * has not had yet. No parsing beyond the FLV tag boundaries, no per-player
 * framing (close-delimited body), no copy per player, no allocation per
 * tick, no libevent: epoll and write. What a real server spends above this
 * floor at the same tick is its own per-packet and per-player work
 * (docs/BENCHMARKS.md, "Write tick").
 *
 *   ffmpeg -re -stream_loop -1 -i FILE.flv -c copy -f flv pipe:1 | \
 *       build/bench/floor -l 127.0.0.1:8090 -t 40
 *   build/bench/loadgen -u http://127.0.0.1:8090/live/bench.flv -n 1000 --pid $(pidof floor)
 *
 * A player that falls 16 MiB behind is closed. Any GET is answered with the
 * stream. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_BEHIND (16u << 20)
#define HDR_MAX (64u << 10)

typedef struct client {
    int fd;
    int streaming;
    uint64_t pos;           /* next log byte this player gets */
    size_t reqlen;
    char req[1024];
} client;

static uint8_t *logbuf;       /* log bytes from position base on */
static size_t loglen, logcap;
static uint64_t base, gop = UINT64_MAX;
static uint8_t hdr[HDR_MAX];  /* FLV header + metadata + sequence headers */
static size_t hdrlen, meta_end;
static uint8_t *in;         /* stdin: bytes not yet a whole tag */
static size_t inlen, incap;
static int in_skip = 13;    /* FLV header (9) + PreviousTagSize0 (4) */
static client **cl;
static int ncl, capcl;
static uint64_t writes, bytes_out;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void die(const char *m)
{
    perror(m);
    exit(1);
}

static void log_append(const uint8_t *p, size_t n)
{
    if (loglen + n > logcap) {
        /* Drop what no player and no join needs any more. */
        uint64_t keep = gop == UINT64_MAX ? base + loglen : gop;
        for (int i = 0; i < ncl; i++)
            if (cl[i]->streaming && cl[i]->pos < keep)
                keep = cl[i]->pos;
        size_t drop = (size_t)(keep - base);
        if (drop) {
            memmove(logbuf, logbuf + drop, loglen - drop);
            loglen -= drop;
            base += drop;
        }
        if (loglen + n > logcap) {
            logcap = (loglen + n) * 2;
            logbuf = realloc(logbuf, logcap);
            if (!logbuf)
                die("realloc");
        }
    }
    memcpy(logbuf + loglen, p, n);
    loglen += n;
}

/* One tag (11-byte header, body, 4-byte PreviousTagSize). */
static void tag(const uint8_t *t, size_t n)
{
    uint8_t type = t[0] & 0x1f;
    size_t body = n - 15;
    const uint8_t *d = t + 11;
    int seqhdr = 0, key = 0;
    if (type == 9 && body >= 2) {
        key = (d[0] >> 4) == 1;
        seqhdr = (d[0] & 0x0f) == 7 && d[1] == 0;
        if (d[0] & 0x80) {   /* enhanced RTMP: packet type in the low bits */
            key = ((d[0] >> 4) & 7) == 1;
            seqhdr = (d[0] & 0x0f) == 0;
        }
    } else if (type == 8 && body >= 2) {
        seqhdr = (d[0] >> 4) == 10 && d[1] == 0;
    }
    if (type == 18 || seqhdr) {
        /* Kept for joins: metadata first, then the sequence headers. */
        if (hdrlen + n <= HDR_MAX) {
            if (type == 18) {
                memmove(hdr + 13 + n, hdr + meta_end, hdrlen - meta_end);
                memcpy(hdr + 13, t, n);
                hdrlen = hdrlen - (meta_end - 13) + n;
                meta_end = 13 + n;
            } else {
                memcpy(hdr + hdrlen, t, n);
                hdrlen += n;
            }
        }
        if (type == 18)
            return;
    }
    if (key && !seqhdr)
        gop = base + loglen;
    log_append(t, n);
}

static int read_stdin(void)
{
    int got = 0;
    for (;;) {
        if (incap - inlen < 65536) {
            incap = incap ? incap * 2 : 1 << 20;
            in = realloc(in, incap);
            if (!in)
                die("realloc");
        }
        ssize_t r = read(0, in + inlen, incap - inlen);
        if (r == 0)
            return -1;
        if (r < 0)
            break;
        inlen += (size_t)r;
        got = 1;
    }
    size_t off = 0;
    if (in_skip) {
        size_t s = inlen < (size_t)in_skip ? inlen : (size_t)in_skip;
        off = s;
        in_skip -= (int)s;
    }
    while (inlen - off >= 11) {
        size_t body = (size_t)in[off + 1] << 16 | (size_t)in[off + 2] << 8 | in[off + 3];
        if (inlen - off < 11 + body + 4)
            break;
        tag(in + off, 11 + body + 4);
        off += 11 + body + 4;
    }
    memmove(in, in + off, inlen - off);
    inlen -= off;
    return got;
}

static void drop_client(int i)
{
    close(cl[i]->fd);
    free(cl[i]);
    cl[i] = cl[--ncl];
}

static void tick(void)
{
    uint64_t end = base + loglen;
    for (int i = 0; i < ncl; i++) {
        client *c = cl[i];
        if (!c->streaming || c->pos >= end)
            continue;
        if (c->pos < base || end - c->pos > MAX_BEHIND) {
            drop_client(i--);
            continue;
        }
        ssize_t w = write(c->fd, logbuf + (c->pos - base), (size_t)(end - c->pos));
        writes++;
        if (w > 0) {
            c->pos += (uint64_t)w;
            bytes_out += (uint64_t)w;
        } else if (w < 0 && errno != EAGAIN) {
            drop_client(i--);
        }
    }
}

static void client_read(int ep, client *c, int i)
{
    char buf[4096];
    for (;;) {
        ssize_t r = read(c->fd, buf, sizeof(buf));
        if (r == 0 || (r < 0 && errno != EAGAIN)) {
            epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
            drop_client(i);
            return;
        }
        if (r < 0)
            return;
        if (c->streaming)
            continue;
        size_t n = (size_t)r < sizeof(c->req) - 1 - c->reqlen ? (size_t)r : sizeof(c->req) - 1 - c->reqlen;
        memcpy(c->req + c->reqlen, buf, n);
        c->reqlen += n;
        c->req[c->reqlen] = 0;
        if (strstr(c->req, "\r\n\r\n")) {
            static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Type: video/x-flv\r\nConnection: close\r\n\r\n";
            static const uint8_t flvh[13] = { 'F', 'L', 'V', 1, 5, 0, 0, 0, 9, 0, 0, 0, 0 };
            uint8_t first[sizeof(resp) + HDR_MAX];
            memcpy(first, resp, sizeof(resp) - 1);
            memcpy(hdr, flvh, 13);
            memcpy(first + sizeof(resp) - 1, hdr, hdrlen);
            if (write(c->fd, first, sizeof(resp) - 1 + hdrlen) != (ssize_t)(sizeof(resp) - 1 + hdrlen)) {
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                drop_client(i);
                return;
            }
            c->streaming = 1;
            c->pos = gop != UINT64_MAX ? gop : base + loglen;
        } else if (c->reqlen >= sizeof(c->req) - 1) {
            epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
            drop_client(i);
            return;
        }
    }
}

int main(int argc, char **argv)
{
    const char *listen_at = "127.0.0.1:8090";
    int tick_ms = 40, opt;
    while ((opt = getopt(argc, argv, "l:t:")) != -1) {
        if (opt == 'l')
            listen_at = optarg;
        else if (opt == 't')
            tick_ms = atoi(optarg);
        else {
            fprintf(stderr, "usage: floor [-l HOST:PORT] [-t TICK_MS] < stream.flv\n");
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    char host[64];
    const char *colon = strrchr(listen_at, ':');
    if (!colon || (size_t)(colon - listen_at) >= sizeof(host))
        die("-l HOST:PORT");
    memcpy(host, listen_at, (size_t)(colon - listen_at));
    host[colon - listen_at] = 0;
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1)) };
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        die("-l HOST:PORT");
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(ls, 1024) != 0)
        die("listen");
    fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
    hdrlen = meta_end = 13;
    int ep = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    ev.data.ptr = &ev;   /* stdin */
    epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev);
    double next_tick = 0;
    int dirty = 0;
    struct epoll_event evs[256];
    for (;;) {
        int timeout = -1;
        if (dirty && tick_ms > 0) {
            double left = next_tick - now_ms();
            timeout = left <= 0 ? 0 : (int)left + 1;
        } else if (dirty) {
            timeout = 0;
        }
        int n = epoll_wait(ep, evs, 256, timeout);
        for (int k = 0; k < n; k++) {
            void *p = evs[k].data.ptr;
            if (!p) {
                int fd;
                while ((fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    if (ncl == capcl) {
                        capcl = capcl ? capcl * 2 : 1024;
                        cl = realloc(cl, (size_t)capcl * sizeof(*cl));
                    }
                    client *c = calloc(1, sizeof(*c));
                    c->fd = fd;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                    cl[ncl++] = c;
                    struct epoll_event ce = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = c };
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ce);
                }
            } else if (p == &ev) {
                int r = read_stdin();
                if (r < 0) {
                    fprintf(stderr, "floor: end of input; %llu writes, %llu bytes\n", (unsigned long long)writes,
                            (unsigned long long)bytes_out);
                    return 0;
                }
                if (r > 0 && !dirty) {
                    dirty = 1;
                    next_tick = now_ms() + tick_ms;
                }
            } else {
                for (int i = 0; i < ncl; i++)
                    if (cl[i] == p) {
                        client_read(ep, cl[i], i);
                        break;
                    }
            }
        }
        if (dirty && (tick_ms == 0 || now_ms() >= next_tick)) {
            tick();
            dirty = 0;
        }
    }
}
