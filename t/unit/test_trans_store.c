/* transcode/config.h against a real (embedded) redis-server:
 * le_trans_config_list answers the templates of one domain/app with their
 * parameters and mode, skips unreadable entries and other apps, answers an
 * empty list for a domain without configs, and LE_EIO once stopped. */
#include "tap.h"
#include "conf/conf.h"
#include "core/err.h"
#include "core/util.h"
#include "store/store.h"
#include "transcode/config.h"

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct event_base *base;

static int run_until(int *flag, int ms)
{
    uint64_t deadline = le_mono_ms() + (uint64_t)ms;
    while (!*flag && le_mono_ms() < deadline)
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(2000);
    return *flag;
}

static int connected_flag(void)
{
    return le_store_connected();
}

typedef struct got {
    int done, rc;
    size_t n;
    le_trans_cfg cfg[8];
} got;

static void list_cb(int rc, const le_trans_cfg *cfgs, size_t n, void *arg)
{
    got *g = arg;
    g->rc = rc;
    g->n = n;
    for (size_t i = 0; i < n && i < 8; i++)
        g->cfg[i] = cfgs[i];
    g->done = 1;
}

static void set_cb(redisReply *rep, void *arg)
{
    (void)rep;
    (*(int *)arg)--;
}

static void hset(const char *key, const char *field, const le_trans_cfg *c, const char *raw, int *pending)
{
    le_buf b = { 0 };
    if (c)
        le_trans_cfg_to_json(&b, c);
    else
        le_buf_append(&b, raw, strlen(raw));
    const char *argv[] = { "HSET", key, field, (const char *)b.p };
    size_t len[] = { 4, strlen(key), strlen(field), b.len };
    (*pending)++;
    le_store_cmdargv(set_cb, pending, 4, argv, len);
    le_buf_free(&b);
}

static const le_trans_cfg *find(const got *g, const char *name)
{
    for (size_t i = 0; i < g->n; i++)
        if (strcmp(g->cfg[i].tpl.name, name) == 0)
            return &g->cfg[i];
    return NULL;
}

int main(void)
{
    if (system("command -v redis-server >/dev/null 2>&1") != 0) {
        printf("1..0 # SKIP redis-server not installed\n");
        return 0;
    }
    alarm(30);
    char tmp[] = "/tmp/le-trans-store.XXXXXX", dd[128], err[256] = "";
    if (!mkdtemp(tmp)) {
        printf("Bail out! mkdtemp\n");
        return 1;
    }
    snprintf(dd, sizeof(dd), "%s/data", tmp);
    base = event_base_new();
    le_conf *conf = le_conf_defaults();
    free(conf->redis);
    conf->redis = le_xstrdup("embedded");
    free(conf->data_dir);
    conf->data_dir = le_xstrdup(dd);
    free(conf->redis_prefix);
    conf->redis_prefix = le_xstrdup("t:");
    ok(le_store_start(base, conf, err, sizeof(err)) == 0, "embedded store: %s", err);
    uint64_t deadline = le_mono_ms() + 8000;
    while (!connected_flag() && le_mono_ms() < deadline) {
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
        usleep(5000);
    }
    ok(le_store_connected(), "connected");

    le_trans_cfg a, b, c;
    memset(&a, 0, sizeof(a));
    snprintf(a.app, sizeof(a.app), "live");
    le_trans_std("lld", &a.tpl);
    b = a;
    le_trans_std("lhd", &b.tpl);
    b.tpl.mode = LE_TRANS_ALWAYS;
    memset(&c, 0, sizeof(c));
    snprintf(c.app, sizeof(c.app), "live");
    c.tpl.custom = 1;
    snprintf(c.tpl.name, sizeof(c.tpl.name), "my-HD");
    snprintf(c.tpl.type, sizeof(c.tpl.type), "h264");
    c.tpl.width = 1280;
    c.tpl.height = 720;
    c.tpl.fps = 25;
    c.tpl.kbps = 2000;
    le_trans_cfg other = a;
    snprintf(other.app, sizeof(other.app), "live2");
    int pending = 0;
    hset("t:trans:d.example", "live/lld", &a, NULL, &pending);
    hset("t:trans:d.example", "live/lhd", &b, NULL, &pending);
    hset("t:trans:d.example", "live/my-HD", &c, NULL, &pending);
    hset("t:trans:d.example", "live2/lld", &other, NULL, &pending);
    hset("t:trans:d.example", "live/bad", NULL, "{\"App\":\"live\",\"Template\":\"nope\"}", &pending);
    hset("t:trans:d.example", "live/junk", NULL, "not json", &pending);
    deadline = le_mono_ms() + 5000;
    while (pending > 0 && le_mono_ms() < deadline)
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(2000);
    is_int(pending, 0, "six entries stored");

    got g;
    memset(&g, 0, sizeof(g));
    is_int(le_trans_config_list("d.example", "live", list_cb, &g), LE_OK, "le_trans_config_list");
    ok(!g.done, "... never answers from inside the call");
    ok(run_until(&g.done, 5000) && g.rc == LE_OK && g.n == 3, "live: 3 templates (unreadable and other apps skipped; got %zu)",
       g.n);
    const le_trans_cfg *l = find(&g, "lld"), *h = find(&g, "lhd"), *m = find(&g, "my-HD");
    ok(l && l->tpl.height == 360 && l->tpl.kbps == 470 && l->tpl.mode == LE_TRANS_ONDEMAND && !l->tpl.custom,
       "... lld: 360, 470 kbit/s, on demand");
    ok(h && h->tpl.mode == LE_TRANS_ALWAYS, "... lhd: always");
    ok(m && m->tpl.custom && m->tpl.width == 1280 && m->tpl.height == 720 && m->tpl.fps == 25 && m->tpl.kbps == 2000 &&
           strcmp(m->app, "live") == 0,
       "... my-HD: custom 1280x720 25 fps 2000 kbit/s");

    memset(&g, 0, sizeof(g));
    le_trans_config_list("d.example", "live2", list_cb, &g);
    ok(run_until(&g.done, 5000) && g.rc == LE_OK && g.n == 1 && strcmp(g.cfg[0].app, "live2") == 0,
       "live2: its one template");
    memset(&g, 0, sizeof(g));
    le_trans_config_list("d.example", "liv", list_cb, &g);
    ok(run_until(&g.done, 5000) && g.rc == LE_OK && g.n == 0, "liv (a prefix of live): none");
    memset(&g, 0, sizeof(g));
    le_trans_config_list("none.example", "live", list_cb, &g);
    ok(run_until(&g.done, 5000) && g.rc == LE_OK && g.n == 0, "a domain without configs: none");

    le_store_stop();
    memset(&g, 0, sizeof(g));
    is_int(le_trans_config_list("d.example", "live", list_cb, &g), LE_EIO, "store stopped: LE_EIO");
    le_conf_free(conf);
    event_base_free(base);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", tmp);
    return done_testing();
}
