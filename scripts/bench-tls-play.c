/* scripts/bench-tls-play.c: N HTTP-FLV players over HTTPS or plain HTTP, for
 * scripts/bench-tls (docs/BENCHMARKS.md, "TLS"). One process, one thread,
 * epoll: each player connects, does a TLS handshake (--tls; no certificate
 * check: the bench measures the server), sends GET PATH and reads the body
 * as fast as it comes, discarding it. Players open at --ramp per second;
 * once all are open and --settle seconds passed, a window of --duration
 * seconds is measured: the bytes the players received (everything after
 * the response headers, the same count over TLS and in the clear) and the
 * CPU time (utime+stime from /proc/PID/stat) of --pid, the server. Prints
 * one JSON line. Built by scripts/bench-tls: cc -O2 bench-tls-play.c -lssl -lcrypto
 *
 *   bench-tls-play -h HOST -p PORT -u PATH -n N [--tls] [--sni NAME] [--ramp R]
 *                  [--settle S] [--duration S] [--pid PID] */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { S_CONNECTING, S_HANDSHAKE, S_SEND, S_HDR, S_BODY, S_CLOSED };

typedef struct player {
    int fd, state;
    SSL *ssl;
    size_t sent;
    uint64_t body;          /* body bytes so far */
    uint64_t body_w0;       /* at the window's start */
    char hdr[4096];
    size_t hlen;
} player;

static const char *host = "127.0.0.1", *path = "/live/bench.flv", *sni = NULL;
static int port, n, use_tls, ramp = 200, pid;
static double settle = 3, duration = 20;
static SSL_CTX *ctx;
static char req[1024];
static int reqlen;
static uint64_t total, handshakes, closed, failed;
static char cipher[64] = "";
static char proto[16] = "";

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* the server's CPU seconds (utime + stime), -1 if it cannot be read */
static double srv_cpu(void) {
    char fn[64], buf[2048];
    FILE *f;
    size_t r;
    char *p;
    unsigned long ut, st;
    if (!pid) return -1;
    snprintf(fn, sizeof fn, "/proc/%d/stat", pid);
    if (!(f = fopen(fn, "r"))) return -1;
    r = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[r] = 0;
    if (!(p = strrchr(buf, ')'))) return -1;
    /* after ") ": state(3) ... utime(14) stime(15) */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2) return -1;
    return (double)(ut + st) / sysconf(_SC_CLK_TCK);
}

static double self_cpu(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void pclose_(int ep, player *p, int fail) {
    if (p->state == S_CLOSED) return;
    epoll_ctl(ep, EPOLL_CTL_DEL, p->fd, NULL);
    if (p->ssl) SSL_free(p->ssl);
    p->ssl = NULL;
    close(p->fd);
    p->state = S_CLOSED;
    closed++;
    if (fail) failed++;
}

static int open_player(int ep, player *p) {
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
    struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT };
    int one = 1;
    memset(p, 0, sizeof *p);
    inet_pton(AF_INET, host, &sa.sin_addr);
    p->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (p->fd < 0) return -1;
    setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(p->fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) {
        close(p->fd);
        return -1;
    }
    p->state = S_CONNECTING;
    ev.data.ptr = p;
    epoll_ctl(ep, EPOLL_CTL_ADD, p->fd, &ev);
    return 0;
}

static void want(int ep, player *p, int out) {
    struct epoll_event ev = { .events = EPOLLIN | (out ? EPOLLOUT : 0), .data.ptr = p };
    epoll_ctl(ep, EPOLL_CTL_MOD, p->fd, &ev);
}

/* reads: returns >0 bytes, 0 would block, -1 closed or error */
static long rd(player *p, char *buf, size_t len) {
    if (p->ssl) {
        int r = SSL_read(p->ssl, buf, (int)len);
        if (r > 0) return r;
        int e = SSL_get_error(p->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return 0;
        return -1;
    }
    ssize_t r = read(p->fd, buf, len);
    if (r > 0) return r;
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
    return -1;
}

static void step(int ep, player *p) {
    static char buf[256 * 1024];
    for (;;) {
        switch (p->state) {
        case S_CONNECTING: {
            int err = 0;
            socklen_t l = sizeof err;
            getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &l);
            if (err) { pclose_(ep, p, 1); return; }
            if (use_tls) {
                p->ssl = SSL_new(ctx);
                SSL_set_fd(p->ssl, p->fd);
                if (sni) SSL_set_tlsext_host_name(p->ssl, sni);
                SSL_set_connect_state(p->ssl);
                p->state = S_HANDSHAKE;
            } else {
                p->state = S_SEND;
            }
            continue;
        }
        case S_HANDSHAKE: {
            int r = SSL_do_handshake(p->ssl);
            if (r == 1) {
                handshakes++;
                if (!cipher[0]) {
                    snprintf(cipher, sizeof cipher, "%s", SSL_get_cipher_name(p->ssl));
                    snprintf(proto, sizeof proto, "%s", SSL_get_version(p->ssl));
                }
                p->state = S_SEND;
                continue;
            }
            int e = SSL_get_error(p->ssl, r);
            if (e == SSL_ERROR_WANT_READ) { want(ep, p, 0); return; }
            if (e == SSL_ERROR_WANT_WRITE) { want(ep, p, 1); return; }
            pclose_(ep, p, 1);
            return;
        }
        case S_SEND: {
            while (p->sent < (size_t)reqlen) {
                long w;
                if (p->ssl) {
                    int r = SSL_write(p->ssl, req + p->sent, reqlen - (int)p->sent);
                    if (r <= 0) {
                        int e = SSL_get_error(p->ssl, r);
                        if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) { want(ep, p, 1); return; }
                        pclose_(ep, p, 1);
                        return;
                    }
                    w = r;
                } else {
                    w = write(p->fd, req + p->sent, reqlen - p->sent);
                    if (w < 0 && errno == EAGAIN) { want(ep, p, 1); return; }
                    if (w <= 0) { pclose_(ep, p, 1); return; }
                }
                p->sent += w;
            }
            want(ep, p, 0);
            p->state = S_HDR;
            continue;
        }
        case S_HDR:
        case S_BODY: {
            for (int i = 0; i < 4; i++) {
                long r = rd(p, buf, sizeof buf);
                if (r == 0) return;
                if (r < 0) { pclose_(ep, p, p->state == S_HDR); return; }
                if (p->state == S_HDR) {
                    size_t take = sizeof p->hdr - 1 - p->hlen;
                    if ((size_t)r < take) take = r;
                    memcpy(p->hdr + p->hlen, buf, take);
                    p->hlen += take;
                    p->hdr[p->hlen] = 0;
                    char *e = strstr(p->hdr, "\r\n\r\n");
                    if (!e) {
                        if (p->hlen >= sizeof p->hdr - 1) { pclose_(ep, p, 1); return; }
                        continue;
                    }
                    if (strncmp(p->hdr, "HTTP/1.1 200", 12) && strncmp(p->hdr, "HTTP/1.0 200", 12)) {
                        pclose_(ep, p, 1);
                        return;
                    }
                    size_t hl = (size_t)(e + 4 - p->hdr);
                    /* bytes of this read after the headers */
                    long extra = r - (long)(hl - (p->hlen - take));
                    if (extra > 0) { p->body += extra; total += extra; }
                    p->state = S_BODY;
                } else {
                    p->body += r;
                    total += r;
                }
            }
            return;
        }
        default:
            return;
        }
    }
}

int main(int argc, char **argv) {
    static const struct option lo[] = {
        { "tls", no_argument, 0, 't' }, { "sni", required_argument, 0, 's' },
        { "ramp", required_argument, 0, 'r' }, { "settle", required_argument, 0, 'S' },
        { "duration", required_argument, 0, 'd' }, { "pid", required_argument, 0, 'P' }, { 0, 0, 0, 0 } };
    int c;
    while ((c = getopt_long(argc, argv, "h:p:u:n:ts:r:S:d:P:", lo, NULL)) != -1) {
        switch (c) {
        case 'h': host = optarg; break;
        case 'p': port = atoi(optarg); break;
        case 'u': path = optarg; break;
        case 'n': n = atoi(optarg); break;
        case 't': use_tls = 1; break;
        case 's': sni = optarg; break;
        case 'r': ramp = atoi(optarg); break;
        case 'S': settle = atof(optarg); break;
        case 'd': duration = atof(optarg); break;
        case 'P': pid = atoi(optarg); break;
        default: fprintf(stderr, "usage: see the file's head\n"); return 2;
        }
    }
    if (!port || n <= 0) { fprintf(stderr, "-p PORT and -n N are required\n"); return 2; }
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (use_tls) {
        ctx = SSL_CTX_new(TLS_client_method());
        SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
        SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    }
    reqlen = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: bench-tls-play\r\n\r\n", path,
                      sni ? sni : host);
    player *ps = calloc(n, sizeof *ps);
    int ep = epoll_create1(0);
    struct epoll_event evs[512];
    int opened = 0;
    double t0 = now(), t_open = 0, w0 = 0, w1 = 0, cpu0 = 0, cpu1 = 0, me0 = 0, me1 = 0;
    uint64_t b0 = 0, b1 = 0;
    int phase = 0; /* 0 ramp, 1 settle, 2 window, 3 done */
    while (phase < 3) {
        double t = now();
        int due = (int)((t - t0) * ramp) + 1;
        while (opened < n && opened < due) {
            if (open_player(ep, &ps[opened]) < 0) { ps[opened].state = S_CLOSED; failed++; closed++; }
            opened++;
        }
        if (phase == 0 && opened == n) { phase = 1; t_open = t; }
        if (phase == 1 && t - t_open >= settle) {
            phase = 2; w0 = t; b0 = total; cpu0 = srv_cpu(); me0 = self_cpu();
            for (int i = 0; i < n; i++) ps[i].body_w0 = ps[i].body;
        }
        if (phase == 2 && t - w0 >= duration) {
            phase = 3; w1 = t; b1 = total; cpu1 = srv_cpu(); me1 = self_cpu();
            break;
        }
        int k = epoll_wait(ep, evs, 512, 10);
        for (int i = 0; i < k; i++) step(ep, evs[i].data.ptr);
    }
    int idle = 0, open_now = 0;
    for (int i = 0; i < n; i++) {
        if (ps[i].state != S_CLOSED) open_now++;
        if (ps[i].body == ps[i].body_w0) idle++;
    }
    double secs = w1 - w0, gb = (b1 - b0) / 1e9, cpu = cpu1 - cpu0;
    printf("{\"n\":%d,\"tls\":%s,\"protocol\":\"%s\",\"cipher\":\"%s\",\"handshakes\":%llu,\"open\":%d,"
           "\"failed\":%llu,\"idle_players\":%d,\"window_s\":%.2f,\"bytes\":%llu,\"mbps\":%.1f,"
           "\"srv_cpu_s\":%.2f,\"srv_cpu_pct\":%.1f,\"srv_cpu_s_per_gb\":%.3f,\"client_cpu_pct\":%.1f}\n",
           n, use_tls ? "true" : "false", proto, cipher, (unsigned long long)handshakes, open_now,
           (unsigned long long)failed, idle, secs, (unsigned long long)(b1 - b0), (b1 - b0) * 8 / secs / 1e6,
           cpu, 100 * cpu / secs, gb > 0 ? cpu / gb : -1.0, 100 * (me1 - me0) / secs);
    for (int i = 0; i < n; i++) pclose_(ep, &ps[i], 0);
    free(ps);
    if (ctx) SSL_CTX_free(ctx);
    return 0;
}
