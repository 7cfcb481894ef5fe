/* bench/bnet.h: the event loop and connection plumbing bench/loadgen and
 * bench/hlsload share (bench/README): one thread, two epoll sets (the
 * priority set, polled first in every turn, holds the publish tap and
 * loadgen's probe, so their timing is the server's, not this process's
 * backlog), buffered non-blocking output, the hard-stop alarm and logging
 * that names the program. */
#ifndef LE_BENCH_BNET_H
#define LE_BENCH_BNET_H
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/util.h"
#include "procstat.h"

#define BN_RBUF_SIZE (256 * 1024)
#define BN_READS_PER_EVENT 4   /* fairness among connections */

typedef struct bconn bconn;
struct bconn {
    int fd;                    /* -1 once closed */
    int prio;                  /* in the priority epoll set */
    int reg;                   /* fd is in its epoll set */
    uint32_t evmask;           /* epoll events registered */
    le_buf out;                /* bytes not yet written */
    size_t out_off;
    int paused;                /* not reading (the tap: the peer's backlog is high) */
    bconn *peer;               /* the tap: its other side, resumed once this one drains */
    void (*on_event)(bconn *c, uint32_t ev);
    void (*on_fail)(bconn *c, const char *why);   /* a write failed: the owner closes */
};

extern volatile sig_atomic_t bn_stop;   /* SIGINT / SIGTERM */
extern uint8_t bn_rbuf[BN_RBUF_SIZE];   /* every read lands here */

/* name prefixes log lines; nfds: descriptors needed (RLIMIT_NOFILE is raised
 * to the hard limit, or the program dies); budget_s: the hard stop (status 3). */
void bn_init(const char *name, int nfds, unsigned budget_s);
uint64_t bn_now_us(void);
void bn_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void bn_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

void bn_set(bconn *c, uint32_t ev);
/* Writes what it can; EPOLLOUT while bytes remain; on_fail on an error. */
void bn_flush(bconn *c);
void bn_send(bconn *c, const void *p, size_t n);
/* Closes the socket (it leaves its epoll set) and drops the output. */
void bn_close_fd(bconn *c);
/* If c is open: notes why (when given) in whybuf unless it holds a reason
 * already, closes it (bn_close_fd) and returns 1; else 0. */
int bn_close(bconn *c, char *whybuf, size_t n, const char *why);
/* A non-blocking connect() to HOST:PORT, registered for EPOLLOUT; 0 or an errno. */
int bn_connect(bconn *c, const char *host, int port);
/* The pending connect()'s result: 0 or an errno. */
int bn_conn_error(bconn *c);
/* One read() into bn_rbuf, again on EINTR: > 0, 0 at EOF, -1 with errno. */
ssize_t bn_read(bconn *c);
void bn_loop_once(int timeout_ms);
/* Runs the loop for up to secs or until done() (may be NULL) is true. */
void bn_loop_for(double secs, int (*done)(void));

/* The options both programs take the same way (bench/README): -u URL,
 * -n players, -r ramp rate, -d window seconds, --tap PORT (T), --wait-pub
 * (W), --warmup (w), --pid (p), --label (l), --conn-log (c), -v, and
 * --settle SECS (E; -1, the default: the window starts with the ramp). */
typedef struct bn_opts {
    const char *url, *label, *conn_log;
    int n, tap_port, verbose;
    double rate, dur, wait_pub, warmup, settle;
    long pid;
} bn_opts;
#define BN_OPTS_DEFAULT                                                                                   \
    { .label = "", .n = 50, .rate = 200, .dur = 30, .wait_pub = 20, .warmup = 3, .settle = -1 }
/* How long a run of these options may take at most, for bn_init's alarm. */
unsigned bn_run_secs(const bn_opts *o);
/* 1 if opt was one of them (stored in o). */
int bn_opt(int opt, const char *arg, bn_opts *o);
/* "HOST[:PORT]/PATH..." (IPv4 or localhost): host (128 bytes), *port if
 * given; returns the path's '/'. Dies on a bad URL. */
const char *bn_url_host(const char *rest, char *host, int *port);
/* The measured window of dur seconds: the server (pid), this process and
 * the host are sampled around it (ws, procstat.h); begin() runs at its
 * start, then open(i) starts player i at rate per second from t0, n in all;
 * tick(now) runs every turn of the loop, report(now) every 5 s; end(t1)
 * when it is over (its length, or a signal), before the last samples.
 * opened: how many players were.
 * With settle >= 0 (and restart set) the window is the steady state only:
 * settle seconds after the last player opened, the CPU samples are taken
 * again (ws keeps the RSS of the start), restart(now) zeroes what the
 * program counts per window, and dur seconds run from there (tm). Else tm
 * is t0. The CPU per GB of a fan-out then leaves out the connections'
 * set-up, which a short window would weigh more than a long one. */
typedef struct bn_window {
    void (*begin)(void);
    void (*open)(int i);
    void (*tick)(uint64_t now);
    void (*report)(uint64_t now);
    void (*end)(uint64_t t1);
    void (*restart)(uint64_t now);
    win_sample ws;
    uint64_t t0, tm, t1;
    int opened;
} bn_window;
void bn_window_run(bn_window *w, const bn_opts *o);

#endif
