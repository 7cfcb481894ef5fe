/* bench/bnet.c: the loop and connections of bench/loadgen and bench/hlsload
 * (bench/bnet.h says why they share it). */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bnet.h"

volatile sig_atomic_t bn_stop;
uint8_t bn_rbuf[BN_RBUF_SIZE];
static const char *bn_name = "bench";
static char alarm_msg[96];
static int ep_main, ep_prio;

uint64_t bn_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void vmsg(const char *fmt, va_list ap)
{
    fprintf(stderr, "%s: ", bn_name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void bn_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmsg(fmt, ap);
    va_end(ap);
}

void bn_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmsg(fmt, ap);
    va_end(ap);
    exit(2);
}

static void on_signal(int sig)
{
    (void)sig;
    bn_stop = 1;
}

static void on_alarm(int sig)
{
    (void)sig;
    ssize_t w = write(2, alarm_msg, strlen(alarm_msg));
    (void)w;
    _exit(3);
}

void bn_init(const char *name, int nfds, unsigned budget_s)
{
    bn_name = name;
    snprintf(alarm_msg, sizeof alarm_msg, "%s: hard stop (time budget exceeded)\n", name);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)nfds) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur < (rlim_t)nfds)
            bn_die("RLIMIT_NOFILE %lu is too low for %d players", (unsigned long)rl.rlim_cur, nfds - 64);
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGALRM, on_alarm);
    /* Hard stop: every phase is bounded; this catches a bug in them. */
    alarm(budget_s);
    ep_main = epoll_create1(EPOLL_CLOEXEC);
    ep_prio = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event pe = { .events = EPOLLIN, .data.ptr = NULL };
    epoll_ctl(ep_main, EPOLL_CTL_ADD, ep_prio, &pe);
}

void bn_set(bconn *c, uint32_t ev)
{
    if (c->fd < 0 || (c->reg && c->evmask == ev))
        return;
    struct epoll_event e = { .events = ev, .data.ptr = c };
    int ep = c->prio ? ep_prio : ep_main;
    if (epoll_ctl(ep, c->reg ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &e) < 0)
        bn_die("epoll_ctl: %s", strerror(errno));
    c->reg = 1;
    c->evmask = ev;
}

void bn_close_fd(bconn *c)
{
    close(c->fd);   /* also leaves the epoll set */
    c->fd = -1;
    c->evmask = 0;
    c->reg = 0;
    le_buf_free(&c->out);
    c->out_off = 0;
}

int bn_close(bconn *c, char *whybuf, size_t n, const char *why)
{
    if (c->fd < 0)
        return 0;
    if (why && !whybuf[0])
        snprintf(whybuf, n, "%s", why);
    bn_close_fd(c);
    return 1;
}

void bn_flush(bconn *c)
{
    while (c->fd >= 0 && c->out_off < c->out.len) {
        ssize_t w = write(c->fd, c->out.p + c->out_off, c->out.len - c->out_off);
        if (w > 0) {
            c->out_off += (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN)
            break;
        c->on_fail(c, w < 0 ? strerror(errno) : "write 0");
        return;
    }
    if (c->fd < 0)
        return;
    if (c->out_off == c->out.len) {
        c->out.len = c->out_off = 0;
        bconn *p = c->peer;
        if (p && p->paused && p->fd >= 0) {
            /* drained: let the other side read again */
            p->paused = 0;
            bn_set(p, EPOLLIN);
        }
        bn_set(c, c->paused ? 0 : EPOLLIN);
    } else {
        bn_set(c, (c->paused ? 0 : EPOLLIN) | EPOLLOUT);
    }
}

void bn_send(bconn *c, const void *p, size_t n)
{
    le_buf_append(&c->out, p, n);
    bn_flush(c);
}

int bn_connect(bconn *c, const char *host, int port)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        c->fd = -1;
        return errno;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    inet_pton(AF_INET, host, &sa.sin_addr);
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS)
        return errno;
    bn_set(c, EPOLLOUT);
    return 0;
}

int bn_conn_error(bconn *c)
{
    int err = 0;
    socklen_t el = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
    return err;
}

ssize_t bn_read(bconn *c)
{
    ssize_t r;
    do
        r = read(c->fd, bn_rbuf, sizeof bn_rbuf);
    while (r < 0 && errno == EINTR);
    return r;
}

static void dispatch(struct epoll_event *e)
{
    bconn *c = e->data.ptr;
    if (c)   /* NULL: the priority set's own fd inside the main set */
        c->on_event(c, e->events);
}

static void poll_prio(void)
{
    struct epoll_event ev[16];
    int n = epoll_wait(ep_prio, ev, 16, 0);
    for (int i = 0; i < n; i++)
        dispatch(&ev[i]);
}

void bn_loop_once(int timeout_ms)
{
    static struct epoll_event ev[256];
    int n = epoll_wait(ep_main, ev, 256, timeout_ms);
    poll_prio();
    for (int i = 0; i < n; i++) {
        dispatch(&ev[i]);
        if ((i & 15) == 15)
            poll_prio();
    }
}

void bn_loop_for(double secs, int (*done)(void))
{
    uint64_t t = bn_now_us();
    while (!bn_stop && !(done && done()) && bn_now_us() - t < (uint64_t)(secs * 1e6))
        bn_loop_once(10);
}

unsigned bn_run_secs(const bn_opts *o)
{
    return (unsigned)(o->wait_pub + o->warmup + 10 + o->n / o->rate + (o->settle > 0 ? o->settle : 0) + o->dur + 30);
}

int bn_opt(int opt, const char *arg, bn_opts *o)
{
    switch (opt) {
    case 'u': o->url = arg; break;
    case 'n': o->n = atoi(arg); break;
    case 'r': o->rate = atof(arg); break;
    case 'd': o->dur = atof(arg); break;
    case 'T': o->tap_port = atoi(arg); break;
    case 'W': o->wait_pub = atof(arg); break;
    case 'w': o->warmup = atof(arg); break;
    case 'p': o->pid = atol(arg); break;
    case 'l': o->label = arg; break;
    case 'c': o->conn_log = arg; break;
    case 'E': o->settle = atof(arg); break;
    case 'v': o->verbose = 1; break;
    default: return 0;
    }
    return 1;
}

const char *bn_url_host(const char *rest, char *host, int *port)
{
    const char *slash = strchr(rest, '/');
    if (!slash)
        bn_die("URL has no path");
    char hp[128];
    snprintf(hp, sizeof hp, "%.*s", (int)(slash - rest), rest);
    char *colon = strrchr(hp, ':');
    if (colon) {
        *colon = '\0';
        *port = atoi(colon + 1);
    }
    if (strcmp(hp, "localhost") == 0)
        snprintf(hp, sizeof hp, "127.0.0.1");
    struct in_addr a;
    if (inet_pton(AF_INET, hp, &a) != 1)
        bn_die("host must be an IPv4 address: %s", hp);
    snprintf(host, 128, "%s", hp);
    return slash;
}

void bn_window_run(bn_window *w, const bn_opts *o)
{
    win_begin(&w->ws, o->pid);
    w->begin();
    uint64_t t0 = bn_now_us(), t_end = t0 + (uint64_t)(o->dur * 1e6), next_report = t0 + 5000000;
    uint64_t t_all = 0;   /* when the last player opened */
    int restart_due = o->settle >= 0 && w->restart;   /* the steady window is still to start */
    w->t0 = w->tm = t0;
    w->opened = 0;
    while (!bn_stop) {
        uint64_t now = bn_now_us();
        if (restart_due && t_all && now >= t_all + (uint64_t)(o->settle * 1e6)) {
            win_restart(&w->ws, o->pid);
            w->restart(now);
            w->tm = now;
            t_end = now + (uint64_t)(o->dur * 1e6);
            restart_due = 0;
        }
        if (now >= t_end && !restart_due)
            break;
        int due = (int)((double)(now - t0) / 1e6 * o->rate) + 1;
        if (due > o->n)
            due = o->n;
        while (w->opened < due)
            w->open(w->opened++);
        if (w->opened == o->n && !t_all)
            t_all = now;
        w->tick(now);
        if (now >= next_report) {
            w->report(now);
            next_report = now + 5000000;
        }
        /* while the ramp runs, turn often to open players on time */
        bn_loop_once(w->opened < o->n ? 1 : 10);
    }
    w->t1 = bn_now_us();
    w->end(w->t1);
    win_end(&w->ws, o->pid);
}
