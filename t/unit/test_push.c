/* relay/push: target templates (le_push_expand), the signatures a pusher
 * appends (le_push_sign: Tencent txSecret, aliauth type A; each digest
 * computed here with OpenSSL's MD5 from the formula, not by the signer),
 * the push { } block of livedge.conf and the live_push domain function. */
#include "relay/push.h"
#include "conf/conf.h"
#include "control/domaincfg.h"
#include "core/err.h"
#include "core/json.h"
#include "media/stream.h"
#include "media/tap.h"
#include "relay/client.h"
#include "relay/relay.h"
#include "tap.h"
#include "stream_helpers.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void md5hex(const char *s, char out[33])
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    EVP_Digest(s, strlen(s), d, &n, EVP_md5(), NULL);
    for (unsigned i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void test_expand(void)
{
    char out[256];
    is_int(le_push_expand("rtmp://cdn.example.com/{AppName}/{StreamName}?{usrargs}", "live", "cam1", "a=1&b=2",
                          out, sizeof(out)),
           LE_OK, "expand: AppName, StreamName, usrargs");
    is_str(out, "rtmp://cdn.example.com/live/cam1?a=1&b=2", "... expanded");
    is_int(le_push_expand("rtmp://h/{AppName}/u-{UserId}", "app2", "s9", "", out, sizeof(out)), LE_OK,
           "expand: UserId");
    is_str(out, "rtmp://h/app2/u-s9", "... UserId is the stream name");
    le_push_expand("rtmp://h/live/{StreamName}?{usrargs}", "live", "cam1", "", out, sizeof(out));
    is_str(out, "rtmp://h/live/cam1?", "an empty usrargs expands to nothing");
    le_push_expand("rtmp://h/{Unknown}/{StreamName}{/{AppName", "live", "cam1", "x", out, sizeof(out));
    is_str(out, "rtmp://h/{Unknown}/cam1{/{AppName", "unknown and unclosed names are kept as written");
    le_push_expand("{StreamName}{StreamName}", "a", "xy", NULL, out, sizeof(out));
    is_str(out, "xyxy", "a name twice");

    char small[16];
    is_int(le_push_expand("rtmp://h/{AppName}/{StreamName}", "live", "cam1", "", small, sizeof(small)),
           LE_ETOOBIG, "expand: too long for the buffer");
    is_str(small, "", "... and the output is empty");
    char exact[15];   /* "rtmp://h/l/cam1" is 15 bytes: no room for the NUL */
    is_int(le_push_expand("rtmp://h/{AppName}/{StreamName}", "l", "cam1", "", exact, sizeof(exact)), LE_ETOOBIG,
           "expand: one byte short");
    char fits[16];
    is_int(le_push_expand("rtmp://h/{AppName}/{StreamName}", "l", "cam1", "", fits, sizeof(fits)), LE_OK,
           "expand: exactly fits");
    is_str(fits, "rtmp://h/l/cam1", "... expanded");
}

static void test_sign_tx(void)
{
    char out[512], want[512], h[33], in[256];
    const int64_t exp = 1700000000;   /* 0x6553F100 */
    snprintf(in, sizeof(in), "txkey%s%s", "cam1", "6553F100");
    md5hex(in, h);
    is_int(le_push_sign("rtmp://127.0.0.1:1935/live/cam1", LE_AUTH_TX, "txkey", exp, out, sizeof(out)), LE_OK,
           "tx_secret: signs");
    snprintf(want, sizeof(want), "rtmp://127.0.0.1:1935/live/cam1?txSecret=%s&txTime=6553F100", h);
    is_str(out, want, "tx_secret: txSecret = md5(key + StreamName + txTime), txTime upper-case hex");

    le_push_sign("rtmp://h/live/cam1?x=1", LE_AUTH_TX, "txkey", exp, out, sizeof(out));
    snprintf(want, sizeof(want), "rtmp://h/live/cam1?x=1&txSecret=%s&txTime=6553F100", h);
    is_str(out, want, "tx_secret: appended after an existing query with '&'");
    le_push_sign("rtmp://h/live/cam1?", LE_AUTH_TX, "txkey", exp, out, sizeof(out));
    snprintf(want, sizeof(want), "rtmp://h/live/cam1?txSecret=%s&txTime=6553F100", h);
    is_str(out, want, "tx_secret: nothing added after a trailing '?'");

    /* The stream name is the last path segment. */
    snprintf(in, sizeof(in), "txkey%s%s", "s2", "6553F100");
    md5hex(in, h);
    le_push_sign("rtmp://h/app/inst/s2?a=b&", LE_AUTH_TX, "txkey", exp, out, sizeof(out));
    snprintf(want, sizeof(want), "rtmp://h/app/inst/s2?a=b&txSecret=%s&txTime=6553F100", h);
    is_str(out, want, "tx_secret: StreamName is the last segment, after a trailing '&'");
}

static void test_sign_a(void)
{
    char out[512], want[512], h[33], in[256];
    const int64_t exp = 1700000000;
    snprintf(in, sizeof(in), "/live/cam1-%lld-0-0-akey", (long long)exp);
    md5hex(in, h);
    is_int(le_push_sign("rtmp://h:1935/live/cam1", LE_AUTH_A, "akey", exp, out, sizeof(out)), LE_OK,
           "type_a: signs");
    snprintf(want, sizeof(want), "rtmp://h:1935/live/cam1?auth_key=%lld-0-0-%s", (long long)exp, h);
    is_str(out, want, "type_a: auth_key = exp-0-0-md5(URI-exp-0-0-key)");
    le_push_sign("rtmp://h:1935/live/cam1?vhost=x", LE_AUTH_A, "akey", exp, out, sizeof(out));
    snprintf(want, sizeof(want), "rtmp://h:1935/live/cam1?vhost=x&auth_key=%lld-0-0-%s", (long long)exp, h);
    is_str(out, want, "type_a: the query is not part of the URI");
}

static void test_sign_errors(void)
{
    char out[512], small[40];
    is_int(le_push_sign("rtmp://h/live/cam1", LE_AUTH_NONE, NULL, 0, out, sizeof(out)), LE_OK, "none: copies");
    is_str(out, "rtmp://h/live/cam1", "... unchanged");
    is_int(le_push_sign("rtmp://h/live/cam1", LE_AUTH_TX, NULL, 1, out, sizeof(out)), LE_EINVAL, "no key");
    is_int(le_push_sign("rtmp://h/live/cam1", LE_AUTH_TX, "", 1, out, sizeof(out)), LE_EINVAL, "an empty key");
    is_int(le_push_sign("rtmp://h/live/cam1", LE_AUTH_B, "k", 1, out, sizeof(out)), LE_EINVAL,
           "type_b cannot sign a push");
    is_int(le_push_sign("rtmp://h", LE_AUTH_TX, "k", 1, out, sizeof(out)), LE_EINVAL, "no path");
    is_int(le_push_sign("rtmp://h/live/", LE_AUTH_TX, "k", 1, out, sizeof(out)), LE_EINVAL, "no stream name");
    is_int(le_push_sign("rtmp://h/live/cam1", LE_AUTH_TX, "k", 1, small, sizeof(small)), LE_ETOOBIG,
           "too long for the buffer");
    is_str(small, "", "... and the output is empty");
}

static void test_conf(void)
{
    char err[256];
    const char *txt =
        "domain a.example.com {\n"
        "  push {\n"
        "    target 'rtmp://cdn1/{AppName}/{StreamName}?{usrargs}' \"rtmp://cdn2/live/{StreamName}\";\n"
        "    target \"rtmp://cdn3/x/{UserId}\";\n"
        "    app live;\n"
        "    sign_type tx_secret;\n"
        "    sign_key k1;\n"
        "    sign_validity 2h;\n"
        "  }\n"
        "  push { target 'rtmp://cdn4/{AppName}/{StreamName}' 'rtmps://cdn5:1443/{AppName}/{StreamName}'; }\n"
        "}\n";
    le_conf *c = le_conf_parse(txt, strlen(txt), err, sizeof(err));
    ok(c != NULL, "conf: push blocks parse (%s)", err);
    if (!c)
        return;
    const le_conf_push *r = c->domains->push;
    ok(r && r->ntargets == 3, "conf: three targets in the first rule");
    if (r && r->ntargets == 3) {
        is_str(r->targets[1], "rtmp://cdn2/live/{StreamName}", "... in order");
        is_str(r->app, "live", "... app");
        is_int(r->sign_type, LE_AUTH_TX, "... sign_type");
        is_str(r->sign_key, "k1", "... sign_key");
        is_int(r->sign_validity_s, 7200, "... sign_validity in seconds");
    }
    const le_conf_push *r2 = r ? r->next : NULL;
    ok(r2 && r2->ntargets == 2 && !r2->app && r2->sign_type == LE_AUTH_NONE && r2->sign_validity_s == 86400,
       "conf: the second rule, with defaults (every app, unsigned, 1 day)");
    le_conf_domain *cp = le_conf_domain_copy(c->domains);
    ok(cp->push && cp->push != c->domains->push && cp->push->next && cp->push->next->next == NULL &&
           strcmp(cp->push->targets[2], "rtmp://cdn3/x/{UserId}") == 0,
       "conf: a domain copy copies the rules");
    ok(r2 && r2->ntargets == 2 && strcmp(r2->targets[1], "rtmps://cdn5:1443/{AppName}/{StreamName}") == 0,
       "conf: an rtmps:// target");
    le_conf_domain_free(cp);
    le_conf_free(c);

    static const struct {
        const char *txt, *msg;
    } bad[] = {
        { "domain a.b { push { app live; } }", "push needs a target" },
        { "domain a.b { push { target http://x/y; } }", "invalid push target" },
        { "domain a.b { push { target rtmp://; } }", "invalid push target" },
        { "domain a.b { push { target rtmps://; } }", "invalid push target" },
        { "domain a.b { push { target rtmpx://h/a/b; } }", "invalid push target" },
        { "domain a.b { push { target rtmp://h/a/b; sign_type tx_secret; } }", "needs sign_key" },
        { "domain a.b { push { target rtmp://h/a/b; sign_type type_b; sign_key k; } }", "want none, type_a" },
        { "domain a.b { push { target rtmp://h/a/b; app x; app y; } }", "duplicate 'app'" },
        { "domain a.b { target rtmp://h/a/b; }", "belongs in push" },
        { "push { target rtmp://h/a/b; }", "not allowed" },
        { "domain a.b { push x { target rtmp://h/a/b; } }", "takes no argument" },
        { "domain a.b { push { target rtmp://h/{AppName}/b; } }", "quote a target" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        c = le_conf_parse(bad[i].txt, strlen(bad[i].txt), err, sizeof(err));
        ok(!c && strstr(err, bad[i].msg), "conf: refused: %s (%s)", bad[i].txt, err);
        le_conf_free(c);
    }
    /* Bounds: 16 targets in a block, 16 blocks in a domain. */
    char big[8192];
    size_t o = (size_t)snprintf(big, sizeof(big), "domain a.b { push { target");
    for (int i = 0; i < LE_CONF_PUSH_TARGETS_MAX + 1; i++)
        o += (size_t)snprintf(big + o, sizeof(big) - o, " rtmp://h/a/%d", i);
    snprintf(big + o, sizeof(big) - o, "; } }");
    c = le_conf_parse(big, strlen(big), err, sizeof(err));
    ok(!c && strstr(err, "more than 16 targets"), "conf: 17 targets refused (%s)", err);
    le_conf_free(c);
    o = (size_t)snprintf(big, sizeof(big), "domain a.b {");
    for (int i = 0; i < LE_CONF_PUSH_RULES_MAX + 1; i++)
        o += (size_t)snprintf(big + o, sizeof(big) - o, " push { target rtmp://h/a/%d; }", i);
    snprintf(big + o, sizeof(big) - o, " }");
    c = le_conf_parse(big, strlen(big), err, sizeof(err));
    ok(!c && strstr(err, "more than 16 push blocks"), "conf: 17 push blocks refused (%s)", err);
    le_conf_free(c);
}

static le_jv *args(const char *json)
{
    return le_jv_parse(json, strlen(json), 4, NULL, 0);
}

static void test_domaincfg(void)
{
    const char *bad = NULL;
    le_jv *a = args("{\"target\":\"rtmp://x/{AppName}/{StreamName}; rtmps://y/live/{StreamName}\","
                    "\"app\":\"live\",\"sign_type\":\"type_a\",\"sign_key\":\"k\",\"sign_validity\":\"60\"}");
    is_int(le_domaincfg_validate("live_push", a, &bad), LE_DCFG_OK, "live_push: valid args");
    ok(le_domaincfg_enforced("live_push"), "live_push is enforced");

    le_conf_domain *cf = le_conf_domain_new("a.b");
    cf->push = le_conf_push_new();
    cf->push->targets[cf->push->ntargets++] = strdup("rtmp://file/live/{StreamName}");
    le_jv *recs = le_jv_obj();
    le_jv *rec = le_jv_set_obj(recs, "live_push");
    le_jv_set(rec, "Args", a);
    le_domaincfg_overlay(cf, recs);
    const le_conf_push *r = cf->push ? cf->push->next : NULL;
    ok(r && r->from_api && r->ntargets == 2, "live_push: a rule added after the file's");
    if (r && r->ntargets == 2) {
        is_str(r->targets[0], "rtmp://x/{AppName}/{StreamName}", "... first target, blanks trimmed");
        is_str(r->targets[1], "rtmps://y/live/{StreamName}", "... second target, rtmps://");
        is_str(r->app, "live", "... app");
        is_int(r->sign_type, LE_AUTH_A, "... sign_type");
        is_int(r->sign_validity_s, 60, "... sign_validity");
    }
    le_jv_free(recs);
    le_conf_domain_free(cf);

    static const struct {
        const char *json, *bad;
        int rc;
    } cases[] = {
        { "{\"app\":\"live\"}", "target", LE_DCFG_BAD_ARG },
        { "{\"target\":\"http://x/a/b\"}", "target", LE_DCFG_BAD_VALUE },
        { "{\"target\":\" ; \"}", "target", LE_DCFG_BAD_VALUE },
        { "{\"target\":\"rtmps:///a/b\"}", "target", LE_DCFG_BAD_VALUE },
        { "{\"target\":\"rtmp://x/a/b\",\"sign_type\":\"tx_secret\"}", "sign_key", LE_DCFG_BAD_ARG },
        { "{\"target\":\"rtmp://x/a/b\",\"sign_type\":\"type_c\",\"sign_key\":\"k\"}", "sign_type",
          LE_DCFG_BAD_VALUE },
        { "{\"target\":\"rtmp://x/a/b\",\"sign_validity\":\"0\"}", "sign_validity", LE_DCFG_BAD_VALUE },
        { "{\"target\":\"rtmp://x/a/b\",\"app\":\"a/b\"}", "app", LE_DCFG_BAD_VALUE },
        { "{\"target\":\"rtmp://x/a/b\",\"other\":\"1\"}", "other", LE_DCFG_BAD_ARG },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        le_jv *v = args(cases[i].json);
        bad = NULL;
        int rc = le_domaincfg_validate("live_push", v, &bad);
        ok(rc == cases[i].rc && bad && strcmp(bad, cases[i].bad) == 0, "live_push: %s refused (%d, %s)",
           cases[i].json, rc, bad ? bad : "-");
        le_jv_free(v);
    }
}

static void test_id_args(void)
{
    is_int(le_push_start_id("u1", "a.b", "live", "s", "http://x/live/s"), LE_EINVAL, "start_id: not rtmp://");
    is_int(le_push_start_id("u1", "a.b", "live", "s", "rtmp:///live/s"), LE_EINVAL, "start_id: no host");
    is_int(le_push_stop_id("nobody"), LE_ENOTFOUND, "stop_id: unknown id");
}

/* ---- one-off pushes by id on a real loop (the target refuses the TCP
 * connection: nothing listens on its port) ---- */

static void find_push(const le_relay *r, void *arg)
{
    if (r->kind == LE_RELAY_PUSH)
        *(const le_relay **)arg = r;
}

static const le_relay *the_push(void)
{
    const le_relay *r = NULL;
    le_relay_foreach(find_push, &r);
    return r;
}

static void run_ms(struct event_base *b, int ms)
{
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    event_base_loopexit(b, &tv);
    event_base_dispatch(b);
}

/* A loopback port nothing listens on. */
static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    socklen_t l = sizeof(a);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, (struct sockaddr *)&a, sizeof(a));
    getsockname(fd, (struct sockaddr *)&a, &l);
    close(fd);
    return ntohs(a.sin_port);
}

static void test_id_lifecycle(void)
{
    struct event_base *base = event_base_new();
    le_stream_set_base(base);
    le_tap_init(base);
    le_relay_client_init(base);
    is_int(le_push_init(base), LE_OK, "le_push_init");

    char url[128];
    snprintf(url, sizeof(url), "rtmp://127.0.0.1:%d/live/copy?txSecret=s3cr3t", closed_port());
    is_int(le_push_start_id("u1", "a.b", "live", "s1", url), LE_OK, "start_id: a push of a stream not live");
    is_int(le_push_start_id("u1", "a.b", "live", "s2", url), LE_EEXIST, "start_id: the same id again");
    is_int((long long)le_relay_count(LE_RELAY_PUSH), 1, "one push relay listed");
    run_ms(base, 50);
    const le_relay *r = the_push();
    ok(r && r->state == LE_RELAY_IDLE && r->attempts == 0, "it waits for the stream, idle, no attempt");
    ok(r && strcmp(r->stream, "a.b/live/s1") == 0, "... listed with its local stream");
    ok(r && strstr(r->url, "txSecret=***") && !strstr(r->url, "s3cr3t"), "... and its masked URL (%s)",
       r ? r->url : "-");

    le_stream *st = le_stream_find("a.b", "live", "s1", 1);
    int owner;
    is_int(le_stream_publish(st, &pub, &owner), LE_OK, "the stream is published");
    for (int i = 0; i < 40 && !(r && r->failures > 0); i++)
        run_ms(base, 50);
    r = the_push();
    ok(r && r->attempts >= 1 && r->failures >= 1 && r->state == LE_RELAY_BACKOFF,
       "the publish starts it: refused by the target, backoff (attempts %u, failures %u, state %s)",
       r ? r->attempts : 0, r ? r->failures : 0, r ? le_relay_state_name(r->state) : "-");
    ok(r && r->last_error[0], "... last error: %s", r ? r->last_error : "-");

    le_stream_end(st, &owner);
    run_ms(base, 50);
    r = the_push();
    ok(r && r->state == LE_RELAY_IDLE, "unpublished: it waits again (%s)", r ? le_relay_state_name(r->state) : "-");
    uint32_t before = r ? r->attempts : 0;
    run_ms(base, 1500);
    ok(r && r->attempts == before, "... with no attempt while the stream is not live");

    is_int(le_push_stop_id("u1"), LE_OK, "stop_id");
    run_ms(base, 20);
    is_int((long long)le_relay_count(LE_RELAY_PUSH), 0, "... the relay is gone");
    is_int(le_push_stop_id("u1"), LE_ENOTFOUND, "stop_id again: not found");
    is_int(le_push_start_id("u1", "a.b", "live", "s1", url), LE_OK, "the id can be used again");
    is_int(le_push_start_id("u2", "a.b", "live", "s1", "rtmps://127.0.0.1:1/live/s1"), LE_OK,
           "start_id: an rtmps:// target");
    is_int(le_push_start_id("u3", "a.b", "live", "s1", "rtmps:///live/s"), LE_EINVAL, "start_id: rtmps:// without a host");
    le_push_free();
    is_int((long long)le_relay_count(LE_RELAY_PUSH), 0, "le_push_free stops every push");
    le_relay_client_free();
    le_stream_shutdown();
    event_base_free(base);
}

int main(void)
{
    test_expand();
    test_sign_tx();
    test_sign_a();
    test_sign_errors();
    test_conf();
    test_domaincfg();
    test_id_args();
    test_id_lifecycle();
    return done_testing();
}
