/* The Redis store against a real redis-server (started here, on a unix socket
 * in a temp dir): round trips, write ordering, pub/sub, a killed server
 * (fail fast, queue, replay, resubscribe), the queue bound, the watchdog
 * (SIGSTOP), and `redis embedded` (spawn, restart after SIGKILL with the
 * append-only file intact, stop). Every wait is bounded; alarm() and
 * PR_SET_PDEATHSIG make sure no redis-server outlives the test. */
#define _GNU_SOURCE
#include "tap.h"
#include "core/err.h"
#include "store/store.h"
#include "conf/conf.h"
#include "core/log.h"
#include "core/util.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static struct event_base *base;
static char tmp[] = "/tmp/le-store-XXXXXX";
static char ext_sock[128];
static volatile pid_t ext_pid;

/* ---- processes ---- */

static void kill_all(void)
{
    if (ext_pid > 0)
        kill(ext_pid, SIGKILL);
    int ep = le_store_embedded_pid();
    if (ep > 0)
        kill(ep, SIGKILL);
}

static void on_alarm(int sig)
{
    static const char m[] = "Bail out! test_store timed out\n";
    kill_all();
    if (write(1, m, sizeof(m) - 1) < 0)
        _exit(2);
    _exit(1);
}

static int have_redis_server(void)
{
    const char *path = getenv("PATH");
    char *dup = le_xstrdup(path ? path : "/usr/bin"), *save = NULL;
    int found = 0;
    for (char *d = strtok_r(dup, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
        char cand[4096];
        snprintf(cand, sizeof(cand), "%s/redis-server", d);
        found = access(cand, X_OK) == 0;
    }
    free(dup);
    return found;
}

static int ext_port;    /* 0: unix socket ext_sock, else TCP 127.0.0.1:ext_port */

static void ext_start(void)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        char log[256];
        snprintf(log, sizeof(log), "%s/ext.log", tmp);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        char port[16];
        snprintf(port, sizeof(port), "%d", ext_port);
        if (ext_port)
            execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1",
                   "--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", tmp, (char *)NULL);
        else
            execlp("redis-server", "redis-server", "--port", "0", "--unixsocket", ext_sock,
                   "--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", tmp, (char *)NULL);
        _exit(127);
    }
    ext_pid = pid;
}

static void ext_kill(void)
{
    if (ext_pid <= 0)
        return;
    kill(ext_pid, SIGKILL);
    waitpid(ext_pid, NULL, 0);
    ext_pid = 0;
}

/* ---- the loop ---- */

static void tick_cb(evutil_socket_t fd, short what, void *arg) { }

typedef int (*pred_fn)(void);

static int run_until(pred_fn pred, int ms)
{
    uint64_t deadline = le_mono_ms() + (uint64_t)ms;
    while (!pred()) {
        if (le_mono_ms() >= deadline)
            return 0;
        event_base_loop(base, EVLOOP_ONCE);
    }
    return 1;
}


/* ---- replies, events, messages ---- */

typedef struct got {
    int called, null, type;
    long long integer;
    char str[256];
    size_t n;
    char el[256][16];
} got;

static void got_cb(struct redisReply *r, void *arg)
{
    got *g = arg;
    g->called++;
    if (!r) {
        g->null = 1;
        return;
    }
    g->type = r->type;
    g->integer = r->integer;
    if (r->str)
        snprintf(g->str, sizeof(g->str), "%s", r->str);
    if (r->type == REDIS_REPLY_ARRAY) {
        g->n = r->elements;
        for (size_t i = 0; i < r->elements && i < 256; i++)
            snprintf(g->el[i], sizeof(g->el[i]), "%s", r->element[i]->str ? r->element[i]->str : "");
    }
}

static got *cur;
static int cur_done(void) { return cur->called > 0; }

/* Runs a space-separated command and waits for its answer (or NULL). */
static got *cmd(got *g, const char *line)
{
    memset(g, 0, sizeof(*g));
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", line);
    const char *argv[16];
    int argc = 0;
    char *save = NULL;
    for (char *t = strtok_r(buf, " ", &save); t && argc < 16; t = strtok_r(NULL, " ", &save))
        argv[argc++] = t;
    if (le_store_cmdargv(got_cb, g, argc, argv, NULL) != 0) {
        g->called = -1;
        return g;
    }
    cur = g;
    run_until(cur_done, 5000);
    return g;
}

static int ev_up, ev_down;
static void ev_cb(int connected, void *arg)
{
    if (connected)
        ev_up++;
    else
        ev_down++;
}

static int msgs;
static char msg_ch[64], msg_body[64];
static void msg_cb(const char *ch, const char *m, size_t len, void *arg)
{
    msgs++;
    snprintf(msg_ch, sizeof(msg_ch), "%s", ch);
    snprintf(msg_body, sizeof(msg_body), "%.*s", (int)len, m);
}

static int msgs_want;
static int msg_arrived(void) { return msgs >= msgs_want; }

/* PUBLISH until the subscriber hears it (it may still be subscribing). */
static int publish_heard(const char *body)
{
    msgs_want = msgs + 1;
    for (int i = 0; i < 30; i++) {
        le_store_cmd(NULL, NULL, "PUBLISH %s %s", "t:chan", body);
        if (run_until(msg_arrived, 100))
            return strcmp(msg_body, body) == 0 && strcmp(msg_ch, "t:chan") == 0;
    }
    return 0;
}

static int up(void) { return le_store_connected(); }
static int down(void) { return !le_store_connected() && ev_down > 0; }
static int ev_up_want;
static int announced_up(void) { return ev_up >= ev_up_want; }
static int queue_empty(void) { return le_store_get_stats()->writes_queued_now == 0; }
static pid_t emb_old;
static int emb_back(void)
{
    int p = le_store_embedded_pid();
    return le_store_get_stats()->embedded_restarts == 1 && p > 0 && p != emb_old && le_store_connected();
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    return remove(p);
}

/* A free loopback port (the kernel's pick; a race with other tests is unlikely). */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t sl = sizeof(sa);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
        printf("Bail out! cannot find a free port\n");
        exit(1);
    }
    close(fd);
    return ntohs(sa.sin_port);
}

static void set_str(char **field, const char *v)
{
    free(*field);
    *field = le_xstrdup(v);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!have_redis_server()) {
        const char *ci = getenv("CI");
        if (ci && *ci && strcmp(ci, "false") != 0 && strcmp(ci, "0") != 0) {
            ok(0, "redis-server is installed (required in CI)");
            return done_testing();
        }
        printf("1..0 # SKIP redis-server not installed\n");
        return 0;
    }
    signal(SIGALRM, on_alarm);
    alarm(28);
    atexit(kill_all);
    if (!mkdtemp(tmp)) {
        printf("Bail out! mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    snprintf(ext_sock, sizeof(ext_sock), "%s/ext.sock", tmp);
    base = event_base_new();
    struct event *tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
    struct timeval tv = { 0, 10 * 1000 };
    event_add(tick, &tv);

    le_conf *conf = le_conf_defaults();
    char err[256] = "", key[128], line[256];
    got g;

    /* ---- arguments ---- */
    set_str(&conf->redis, "nonsense");
    ok(le_store_start(base, conf, err, sizeof(err)) == LE_EINVAL && err[0], "bad redis value refused: %s", err);
    set_str(&conf->redis, "127.0.0.1:99999");
    err[0] = '\0';
    ok(le_store_start(base, conf, err, sizeof(err)) == LE_EINVAL, "bad port refused");
    ok(le_store_cmd(got_cb, &g, "PING") == LE_EIO && le_store_write("PING") == LE_EIO, "not running: LE_EIO");

    /* ---- external server ---- */
    ext_start();
    snprintf(line, sizeof(line), "unix:%s", ext_sock);
    set_str(&conf->redis, line);
    set_str(&conf->redis_prefix, "t:");
    err[0] = '\0';
    le_store_on_event(ev_cb, NULL);
    ok(le_store_subscribe("t:chan", msg_cb, NULL) == 0, "subscribe before start");
    ok(le_store_start(base, conf, err, sizeof(err)) == 0, "start: %s", err);
    ok(run_until(up, 5000), "connected");
    ev_up_want = 1;
    ok(run_until(announced_up, 3000) && ev_up == 1, "connected event once");
    is_str(le_store_key(key, sizeof(key), "stream/%s/%d", "a", 7), "t:stream/a/7", "key prefix");

    is_str(cmd(&g, "SET t:k hello")->str, "OK", "SET");
    cmd(&g, "GET t:k");
    ok(g.type == REDIS_REPLY_STRING && strcmp(g.str, "hello") == 0, "GET round trip");
    memset(&g, 0, sizeof(g));
    le_store_cmd(got_cb, &g, "SET %s %b", "t:bin", "a\0b", (size_t)3);
    cur = &g;
    run_until(cur_done, 3000);
    is_int(cmd(&g, "STRLEN t:bin")->integer, 3, "%%b binary value");

    for (int i = 0; i < 200; i++)
        le_store_write("RPUSH %s %d", "t:list", i);
    cmd(&g, "LRANGE t:list 0 -1");
    int inorder = g.n == 200;
    for (size_t i = 0; inorder && i < g.n; i++)
        inorder = atoi(g.el[i]) == (int)i;
    ok(inorder, "200 writes applied in order (%zu)", g.n);
    ok(run_until(queue_empty, 3000), "writes acknowledged, queue empty");
    uint64_t d1 = le_store_get_stats()->writes_dropped;
    le_store_set_queue_limit(1, 0);
    for (int i = 0; i < 10; i++)
        le_store_write("RPUSH %s %d", "t:o", i);
    le_store_set_queue_limit(0, 0);
    is_int(le_store_get_stats()->writes_dropped - d1, 9, "bound while connected: in-flight writes leave the queue");
    is_int(cmd(&g, "LLEN t:o")->integer, 10, "... and still complete");

    ok(publish_heard("hello-1"), "subscribe + publish delivered");

    /* ---- the server dies ---- */
    ext_kill();
    ok(run_until(down, 3000), "disconnect event after SIGKILL");
    is_int(le_store_get_stats()->disconnects, 1, "one disconnect counted");
    memset(&g, 0, sizeof(g));
    ok(le_store_cmd(got_cb, &g, "GET %s", "t:k") == 0 && g.called == 0, "cmd while down: accepted, not called re-entrantly");
    cur = &g;
    ok(run_until(cur_done, 200) && g.null, "... then fails fast with NULL");
    le_store_write("RPUSH %s %s", "t:q", "a");
    le_store_write("RPUSH %s %s", "t:q", "b");
    le_store_write("RPUSH %s %s", "t:q", "c");
    is_int(le_store_get_stats()->writes_queued_now, 3, "writes queued while down");

    uint64_t t0 = le_mono_ms();
    ext_start();
    ok(run_until(up, 5000), "reconnected after restart");
    uint64_t took = le_mono_ms() - t0;
    ok(took < 2500, "within the backoff (%llu ms)", (unsigned long long)took);
    ok(le_store_get_stats()->writes_replayed >= 3, "replayed %llu", (unsigned long long)le_store_get_stats()->writes_replayed);
    cmd(&g, "LRANGE t:q 0 -1");
    ok(g.n == 3 && !strcmp(g.el[0], "a") && !strcmp(g.el[1], "b") && !strcmp(g.el[2], "c"),
       "queued writes replayed in order");
    ev_up_want = 2;
    ok(run_until(announced_up, 3000), "connected event again (after resubscribe)");
    ok(publish_heard("hello-2"), "subscription restored");

    /* ---- the queue bound ---- */
    ext_kill();
    ev_down = 0;
    ok(run_until(down, 3000), "down again");
    uint64_t d0 = le_store_get_stats()->writes_dropped;
    le_store_set_queue_limit(3, 0);
    for (int i = 1; i <= 5; i++)
        le_store_write("RPUSH %s %d", "t:b", i);
    is_int(le_store_get_stats()->writes_dropped - d0, 2, "count bound: 2 oldest dropped");
    is_int(le_store_get_stats()->writes_queued_now, 3, "3 kept");
    /* "*3\r\n$5\r\nRPUSH\r\n$3\r\nt:b\r\n$1\r\nN\r\n" is 31 bytes */
    is_int(le_store_get_xstats()->queue_bytes_now, 93, "queue bytes");
    le_store_set_queue_limit(100, 70);
    is_int(le_store_get_stats()->writes_dropped - d0, 3, "byte bound: one more dropped");
    le_store_set_queue_limit(0, 0);
    ext_start();
    ok(run_until(up, 5000), "reconnected");
    cmd(&g, "LRANGE t:b 0 -1");
    ok(g.n == 2 && !strcmp(g.el[0], "4") && !strcmp(g.el[1], "5"), "the newest survive (%zu)", g.n);

    /* ---- the watchdog: a server that stops answering ---- */
    kill(ext_pid, SIGSTOP);
    memset(&g, 0, sizeof(g));
    t0 = le_mono_ms();
    le_store_cmd(got_cb, &g, "GET %s", "t:k");
    cur = &g;
    ok(run_until(cur_done, 6000) && g.null, "stalled server: cb(NULL) from the watchdog");
    took = le_mono_ms() - t0;
    ok(took >= 2900 && took < 4500, "after ~3 s (%llu ms)", (unsigned long long)took);
    is_int(le_store_get_xstats()->watchdog_trips, 1, "watchdog trip counted");
    kill(ext_pid, SIGCONT);
    ok(run_until(up, 5000), "reconnected after SIGCONT");
    is_str(cmd(&g, "PING")->str, "PONG", "answering again");

    /* stop flushes what is queued (the loop is not running here) */
    for (int i = 0; i < 500; i++)
        le_store_write("RPUSH %s %d", "t:f", i);
    le_store_stop();
    ok(!le_store_connected() && le_store_cmd(got_cb, &g, "PING") == LE_EIO, "stopped");
    ok(le_store_start(base, conf, err, sizeof(err)) == 0, "restart the store");
    ok(run_until(up, 5000), "connected");
    is_int(cmd(&g, "LLEN t:f")->integer, 500, "writes issued just before stop were flushed");
    le_store_stop();
    ext_kill();

    /* ---- TCP: an address, and a name through evdns ---- */
    ext_port = free_port();
    ext_start();
    const char *hosts[] = { "127.0.0.1", "localhost" };
    for (int i = 0; i < 2; i++) {
        snprintf(line, sizeof(line), "%s:%d", hosts[i], ext_port);
        set_str(&conf->redis, line);
        ok(le_store_start(base, conf, err, sizeof(err)) == 0, "start %s", line);
        ok(run_until(up, 5000), "connected over TCP to %s", line);
        is_str(cmd(&g, "PING")->str, "PONG", "PING over TCP");
        le_store_stop();
    }
    ext_kill();

    /* ---- embedded ---- */
    char dd[128];
    snprintf(dd, sizeof(dd), "%s/data/node", tmp);
    set_str(&conf->redis, "embedded");
    err[0] = '\0';
    set_str(&conf->data_dir, dd);
    ev_up = ev_down = 0;
    le_store_on_event(ev_cb, NULL);
    ok(le_store_start(base, conf, err, sizeof(err)) == 0, "embedded start: %s", err);
    ok(le_store_embedded_pid() > 0, "redis-server spawned");
    ok(run_until(up, 5000), "connected to embedded");
    struct stat st;
    ok(stat(dd, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0750, "data_dir created 0750");
    snprintf(line, sizeof(line), "%s/redis.sock", dd);
    ok(stat(line, &st) == 0 && S_ISSOCK(st.st_mode), "socket in data_dir");
    le_store_write("SET %s %s", "t:e", "persisted");
    ok(run_until(queue_empty, 3000), "write acknowledged");
    emb_old = le_store_embedded_pid();
    kill(emb_old, SIGKILL);
    ok(run_until(emb_back, 8000), "killed embedded server restarted and reconnected");
    is_int(le_store_get_stats()->embedded_restarts, 1, "embedded_restarts");
    is_str(cmd(&g, "GET t:e")->str, "persisted", "data survived (append-only file)");
    snprintf(line, sizeof(line), "%s/appendonlydir", dd);
    ok(stat(line, &st) == 0, "append-only file under data_dir");
    pid_t last = le_store_embedded_pid();
    le_store_stop();
    ok(le_store_embedded_pid() == 0 && kill(last, 0) == -1 && errno == ESRCH, "stop: redis-server gone");

    event_free(tick);
    event_base_free(base);
    le_conf_free(conf);
    alarm(0);
    int rc = done_testing();
    if (rc == 0)
        nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    else
        printf("# kept %s\n", tmp);
    return rc;
}
