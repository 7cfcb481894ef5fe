/* bench/pubtap.c: the publish tap (bench/pubtap.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rtmp/chunk.h"
#include "rtmp/handshake.h"
#include "bnet.h"
#include "pubtap.h"

#define HT_SIZE 65536              /* frame hash table (power of two) */
#define TAP_HIGH_WATER (4u << 20)  /* a side stops reading above this backlog */

typedef struct tconn {
    bconn b;                   /* first: the loop hands out &b */
    uint64_t skip;             /* handshake bytes before the chunk stream */
} tconn;

static tconn tap_l, tap_pub, tap_up;
static char to_host[128];
static int to_port;
static pubtap_key_fn key_fn;
static le_chunk_reader *tap_cr;
static uint64_t g_pub_bytes, g_pub_frames, g_first_key;
static struct { uint64_t key, t; } ht[HT_SIZE];

int flv_video_is_key(const uint8_t *b, uint32_t n)
{
    if (n < 2)
        return 0;
    unsigned ft = (b[0] >> 4) & 7;
    if (ft != 1)
        return 0;
    if (b[0] & 0x80) {  /* enhanced RTMP: packet type in the low nibble */
        unsigned pt = b[0] & 0x0f;
        return pt == 1 || pt == 3;
    }
    unsigned codec = b[0] & 0x0f;
    if (codec == 7 || codec == 12)
        return b[1] == 1;   /* NALU, not the sequence header */
    return 1;
}

int flv_video_is_frame(const uint8_t *b, uint32_t n)
{
    if (n < 2)
        return 0;
    if (b[0] & 0x80)
        return (b[0] & 0x0f) == 1 || (b[0] & 0x0f) == 3;
    unsigned codec = b[0] & 0x0f;
    if (codec == 7 || codec == 12)
        return b[1] == 1;
    return 1;
}

/* A repeated frame (the file loops) overwrites its older entry. */
static void ht_put(uint64_t key, uint64_t t)
{
    for (uint32_t i = (uint32_t)key & (HT_SIZE - 1);; i = (i + 1) & (HT_SIZE - 1)) {
        if (ht[i].key == key || ht[i].key == 0) {
            ht[i].key = key;
            ht[i].t = t;
            return;
        }
    }
}

uint64_t pubtap_time(uint64_t key)
{
    for (uint32_t i = (uint32_t)key & (HT_SIZE - 1);; i = (i + 1) & (HT_SIZE - 1)) {
        if (ht[i].key == key)
            return ht[i].t;
        if (ht[i].key == 0)
            return 0;
    }
}

uint64_t pubtap_bytes(void)
{
    return g_pub_bytes;
}

int pubtap_has_key(void)
{
    return g_first_key != 0;
}

static void tap_close(bconn *c, const char *why)
{
    (void)why;
    if (c->fd >= 0)
        bn_close_fd(c);
}

static void tap_parse(const uint8_t *p, size_t n, uint64_t now)
{
    if (tap_pub.skip) {   /* C0+C1, C2: not chunk stream */
        size_t k = tap_pub.skip < n ? (size_t)tap_pub.skip : n;
        tap_pub.skip -= k;
        p += k;
        n -= k;
    }
    while (n > 0 && tap_cr) {
        size_t used = 0;
        le_rtmp_msg m;
        int rc = le_chunk_read(tap_cr, p, n, &used, &m);
        if (rc < 0) {
            bn_log("tap: cannot parse the publisher's chunk stream; delay not measured");
            le_chunk_reader_free(tap_cr);
            tap_cr = NULL;
            return;
        }
        p += used;
        n -= used;
        if (rc != 1)
            continue;
        if (m.type == LE_MSG_SET_CHUNK_SIZE && m.len >= 4)
            le_chunk_reader_set_chunk_size(tap_cr, le_rd_be32(m.data) & 0x7fffffff);
        else if (m.type == LE_MSG_ABORT && m.len >= 4)
            le_chunk_reader_abort(tap_cr, le_rd_be32(m.data));
        else if (m.type == LE_MSG_VIDEO && flv_video_is_frame(m.data, m.len)) {
            uint64_t key = key_fn(m.data, m.len);
            if (!key)
                continue;
            ht_put(key, now);
            g_pub_frames++;
            if (!g_first_key && flv_video_is_key(m.data, m.len))
                g_first_key = now;
        }
    }
}

static void tap_event(bconn *c, uint32_t ev)
{
    if (c->fd < 0)
        return;
    if (ev & EPOLLOUT)
        bn_flush(c);
    if (c->fd < 0 || !(ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) || c->paused)
        return;
    bconn *o = c->peer;
    for (int k = 0; k < BN_READS_PER_EVENT; k++) {
        ssize_t r = read(c->fd, bn_rbuf, sizeof bn_rbuf);
        if (r > 0) {
            le_buf_append(&o->out, bn_rbuf, (size_t)r);
            bn_flush(o);
            if (c == &tap_pub.b) {
                g_pub_bytes += (uint64_t)r;
                /* the time the frame's last byte was handed to the server */
                tap_parse(bn_rbuf, (size_t)r, bn_now_us());
            }
            if (o->fd < 0) {
                tap_close(c, "peer closed");
                return;
            }
            if (o->out.len - o->out_off > TAP_HIGH_WATER) {
                c->paused = 1;
                bn_set(c, c->out.len > c->out_off ? EPOLLOUT : 0);
                return;
            }
            if ((size_t)r < sizeof bn_rbuf)
                break;
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && errno == EAGAIN)
            return;
        bn_log("tap: %s closed (%s)", c == &tap_pub.b ? "publisher" : "server", r == 0 ? "eof" : strerror(errno));
        tap_close(c, "eof");
        tap_close(o, "peer closed");
        return;
    }
}

static void tap_side(tconn *t, int fd, tconn *peer)
{
    memset(t, 0, sizeof *t);
    t->b.fd = fd;
    t->b.prio = 1;
    t->b.peer = &peer->b;
    t->b.on_event = tap_event;
    t->b.on_fail = tap_close;
}

static void tap_accept(bconn *l, uint32_t ev)
{
    (void)ev;
    int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return;
    if (tap_pub.b.fd >= 0) {   /* one publisher at a time */
        close(fd);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int ufd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)to_port) };
    inet_pton(AF_INET, to_host, &sa.sin_addr);
    if (ufd < 0 || connect(ufd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        bn_log("tap: cannot reach the server at %s:%d: %s", to_host, to_port, strerror(errno));
        close(fd);
        if (ufd >= 0)
            close(ufd);
        return;
    }
    setsockopt(ufd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(ufd, F_SETFL, fcntl(ufd, F_GETFL) | O_NONBLOCK);
    tap_side(&tap_pub, fd, &tap_up);
    tap_pub.skip = LE_HS_C0C1_LEN + LE_HS_SIZE;
    tap_side(&tap_up, ufd, &tap_pub);
    le_chunk_reader_free(tap_cr);
    tap_cr = le_chunk_reader_new(16u << 20, 64);
    bn_set(&tap_pub.b, EPOLLIN);
    bn_set(&tap_up.b, EPOLLIN);
    bn_log("tap: publisher connected, forwarding to %s:%d", to_host, to_port);
}

void pubtap_start(int port, const char *host, int hport, pubtap_key_fn key, double wait_s)
{
    snprintf(to_host, sizeof to_host, "%s", host);
    to_port = hport;
    key_fn = key;
    memset(&tap_l, 0, sizeof tap_l);
    tap_pub.b.fd = tap_up.b.fd = -1;
    tap_l.b.prio = 1;
    tap_l.b.on_event = tap_accept;
    tap_l.b.on_fail = tap_close;
    tap_l.b.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(tap_l.b.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (bind(tap_l.b.fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(tap_l.b.fd, 8) < 0)
        bn_die("tap: cannot listen on 127.0.0.1:%d: %s", port, strerror(errno));
    bn_set(&tap_l.b, EPOLLIN);
    bn_log("tap listening on 127.0.0.1:%d", port);
    bn_loop_for(wait_s, pubtap_has_key);
    if (!pubtap_has_key())
        bn_die("no keyframe from a publisher within %.0f s", wait_s);
}

void pubtap_parse_to(const char *s, char *host, int *port)
{
    char h[64];
    int p;
    if (sscanf(s, "%63[^:]:%d", h, &p) != 2)
        bn_die("--tap-to HOST:PORT");
    snprintf(host, 128, "%s", h);
    *port = p;
}
