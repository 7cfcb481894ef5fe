/* record/ondemand: the OnDemandUrl reply (parse, apply), its query, the
 * publish argument (OnDemand 2), and le_rec_ondemand_ask against an
 * in-process evhttp server on loopback: 200 with JSON, 404, a reply longer
 * than LE_REC_ONDEMAND_MAX_BODY, a bad body, no answer (the one 5 s wait),
 * a cancelled request; the query and User-Agent the server saw. */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/util.h"
#include "net/httpc.h"
#include "record/ondemand.h"
#include "http_helpers.h"
#include "tap.h"

#define SEED_REPLY \
    "{\"ApiVersion\":\"1.0\",\"NeedRecord\":true,\"Interval\":{\"Mp4\":300,\"Flv\":120,\"M3U8\":180}," \
    "\"Format\":[\"mp4\",\"flv\"]}"

static int parse(const char *s, le_rec_ondemand_reply *r) { return le_rec_ondemand_parse(s, strlen(s), r); }

static le_rec_config all_formats(void)
{
    le_rec_config c;
    memset(&c, 0, sizeof(c));
    c.nformats = 3;
    c.formats[0].fmt = LE_REC_FLV;
    c.formats[0].cycle_s = 3600;
    c.formats[1].fmt = LE_REC_MP4;
    c.formats[1].cycle_s = 1800;
    snprintf(c.formats[1].prefix, sizeof(c.formats[1].prefix), "p/{StreamName}");
    c.formats[2].fmt = LE_REC_M3U8;
    c.formats[2].cycle_s = 600;
    return c;
}

static void test_parse(void)
{
    le_rec_ondemand_reply r;
    is_int(parse(SEED_REPLY, &r), LE_OK, "the documented example reply parses");
    ok(r.need_record == 1 && r.has_formats == 1, "  NeedRecord true, Format given");
    ok(r.formats == ((1u << LE_REC_MP4) | (1u << LE_REC_FLV)), "  formats mp4 + flv");
    ok(r.interval_s[LE_REC_MP4] == 300 && r.interval_s[LE_REC_FLV] == 120 && r.interval_s[LE_REC_M3U8] == 180,
       "  intervals 300 / 120 / 180");

    is_int(parse("{\"NeedRecord\":false}", &r), LE_OK, "NeedRecord false alone parses");
    ok(r.need_record == 0 && r.has_formats == 0 && r.interval_s[0] == 0, "  nothing else set");
    is_int(parse("{\"NeedRecord\":true}", &r), LE_OK, "NeedRecord true alone");
    ok(r.need_record == 1 && !r.has_formats, "  no Format: has_formats 0");

    is_int(parse("{\"NeedRecord\":true,\"Interval\":{\"Mp4\":1,\"Flv\":99999,\"m3u8\":-3}}", &r), LE_OK,
           "out-of-range intervals parse");
    is_int(r.interval_s[LE_REC_MP4], 5, "  Interval 1 -> 5");
    is_int(r.interval_s[LE_REC_FLV], 21600, "  Interval 99999 -> 21600");
    is_int(r.interval_s[LE_REC_M3U8], 5, "  Interval -3 -> 5");
    is_int(parse("{\"NeedRecord\":true,\"Interval\":{\"MP4\":60.9,\"fLv\":0,\"Avi\":7,\"Ts\":\"x\"}}", &r), LE_OK,
           "keys case-insensitive, unknown keys ignored whatever their value");
    ok(r.interval_s[LE_REC_MP4] == 60 && r.interval_s[LE_REC_FLV] == 5 && r.interval_s[LE_REC_M3U8] == 0,
       "  60.9 -> 60, 0 -> 5, M3U8 not given -> 0");
    is_int(parse("{\"NeedRecord\":true,\"Interval\":{\"Mp4\":1e300}}", &r), LE_OK, "a huge number");
    is_int(r.interval_s[LE_REC_MP4], 21600, "  clamped to 21600");

    is_int(parse("{\"NeedRecord\":true,\"Format\":[\"MP4\",\"M3u8\",\"avi\",\"\"]}", &r), LE_OK,
           "Format case-insensitive, unknown ignored");
    ok(r.formats == ((1u << LE_REC_MP4) | (1u << LE_REC_M3U8)), "  mp4 + m3u8");
    is_int(parse("{\"NeedRecord\":true,\"Format\":[]}", &r), LE_OK, "empty Format");
    ok(r.has_formats == 1 && r.formats == 0, "  given, no format");
    is_int(parse("{\"NeedRecord\":true,\"Format\":[\"avi\"]}", &r), LE_OK, "only unknown formats");
    ok(r.has_formats == 1 && r.formats == 0, "  given, no format");

    static const char *const bad[] = {
        "", "null", "[]", "\"NeedRecord\"", "{}", "{\"NeedRecord\":\"yes\"}", "{\"NeedRecord\":1}",
        "{\"NeedRecord\":null}", "{\"needrecord\":true}", "{\"NeedRecord\":true,\"Interval\":[300]}",
        "{\"NeedRecord\":true,\"Interval\":300}", "{\"NeedRecord\":true,\"Interval\":{\"Mp4\":\"300\"}}",
        "{\"NeedRecord\":true,\"Interval\":{\"Flv\":true}}", "{\"NeedRecord\":true,\"Format\":\"mp4\"}",
        "{\"NeedRecord\":true,\"Format\":[\"mp4\",3]}", "{\"NeedRecord\":true,\"Format\":{\"mp4\":1}}",
        "{\"NeedRecord\":true", "{\"NeedRecord\":true} x", "{\"NeedRecord\":true,\"Format\":[[[[[[[[[[]]]]]]]]]]}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&r, 0x5a, sizeof(r));
        int rc = parse(bad[i], &r);
        le_rec_ondemand_reply z;
        memset(&z, 0, sizeof(z));
        ok(rc == LE_EPROTO && memcmp(&r, &z, sizeof(r)) == 0, "refused (EPROTO, zeroed): %s", bad[i]);
    }
    ok(le_rec_ondemand_parse(NULL, 0, &r) == LE_EPROTO, "NULL body: EPROTO");
    /* n bounds the text, the NUL is not needed */
    ok(le_rec_ondemand_parse("{\"NeedRecord\":true}garbage", 19, &r) == LE_OK && r.need_record,
       "only n bytes are read");
}

static void test_apply(void)
{
    le_rec_ondemand_reply r;
    le_rec_config c = all_formats();
    parse(SEED_REPLY, &r);
    is_int(le_rec_ondemand_apply(&r, &c), 1, "example reply on flv+mp4+m3u8: record");
    is_int(c.nformats, 2, "  m3u8 dropped by the intersection");
    ok(c.formats[0].fmt == LE_REC_FLV && c.formats[0].cycle_s == 120, "  flv, cycle 120 (Interval.Flv)");
    ok(c.formats[1].fmt == LE_REC_MP4 && c.formats[1].cycle_s == 300 && strcmp(c.formats[1].prefix, "p/{StreamName}") == 0,
       "  mp4, cycle 300, its prefix kept");

    c = all_formats();
    parse("{\"NeedRecord\":true,\"Interval\":{\"m3u8\":42}}", &r);
    is_int(le_rec_ondemand_apply(&r, &c), 1, "no Format: every config format");
    ok(c.nformats == 3 && c.formats[0].cycle_s == 3600 && c.formats[1].cycle_s == 1800 && c.formats[2].cycle_s == 42,
       "  only m3u8's cycle overridden");

    c = all_formats();
    parse("{\"NeedRecord\":false,\"Format\":[\"flv\"]}", &r);
    is_int(le_rec_ondemand_apply(&r, &c), 0, "NeedRecord false: no recording");

    c = all_formats();
    c.nformats = 1;
    c.formats[0].fmt = LE_REC_M3U8;
    parse("{\"NeedRecord\":true,\"Format\":[\"mp4\",\"flv\"]}", &r);
    is_int(le_rec_ondemand_apply(&r, &c), 0, "config m3u8 only, reply mp4+flv: nothing left -> 0");
    is_int(c.nformats, 0, "  no formats left");

    c = all_formats();
    parse("{\"NeedRecord\":true,\"Format\":[]}", &r);
    is_int(le_rec_ondemand_apply(&r, &c), 0, "empty Format: 0");

    c = all_formats();
    parse("{\"NeedRecord\":true,\"Format\":[\"FLV\"]}", &r);
    ok(le_rec_ondemand_apply(&r, &c) == 1 && c.nformats == 1 && c.formats[0].fmt == LE_REC_FLV &&
       c.formats[0].cycle_s == 3600, "Format FLV: flv only, its own cycle");
    ok(le_rec_ondemand_apply(NULL, &c) == 0, "no reply: 0");
}

static void test_query_arg(void)
{
    le_buf b = { 0 };
    le_rec_ondemand_query(&b, "live.example.com", "app", "s1", "h264", 800);
    le_buf_u8(&b, 0);
    is_str((const char *)b.p, "domain=live.example.com&app=app&stream=s1&codec=h264&vbitrate=800", "query");
    le_buf_free(&b);
    le_rec_ondemand_query(&b, "d", "a b", "s&t=1/é", NULL, -5);
    le_buf_u8(&b, 0);
    is_str((const char *)b.p, "domain=d&app=a%20b&stream=s%26t%3D1%2F%C3%A9&codec=&vbitrate=0",
           "query: percent-encoded, no codec, negative bitrate 0");
    le_buf_free(&b);

    static const struct {
        const char *q;
        int want;
    } args[] = {
        { "record=on", 1 }, { "record=1", 1 }, { "record=true", 1 }, { "record=yes", 1 },
        { "Record=ON", 1 }, { "RECORD=Yes", 1 }, { "a=1&record=TRUE&b=2", 1 }, { "?record=on", 1 },
        { "auth_key=1-0-0-x&record=on", 1 }, { "record=off", 0 }, { "record=0", 0 }, { "record=", 0 },
        { "record", 0 }, { "record=onn", 0 }, { "record=o", 0 }, { "xrecord=on", 0 }, { "recordx=on", 0 },
        { "record=off&record=on", 0 }, { "record=on&record=off", 1 }, { "", 0 }, { "a=record=on", 0 },
        { "a=b&&record=yes", 1 }, { "&record=1", 1 },
    };
    for (size_t i = 0; i < sizeof(args) / sizeof(args[0]); i++)
        is_int(le_rec_ondemand_arg(args[i].q), args[i].want, "arg '%s' -> %d", args[i].q, args[i].want);
    is_int(le_rec_ondemand_arg(NULL), 0, "arg NULL -> 0");
}

/* ---- le_rec_ondemand_ask against a loopback server ---- */

static struct event_base *base;
static int outstanding;
static char seen_uri[512], seen_ua[64];
static int seen_nua;

static void srv_cb(struct evhttp_request *req, void *arg)
{
    (void)arg;
    const char *uri = evhttp_request_get_uri(req);
    struct evbuffer *out = evbuffer_new();
    if (strncmp(uri, "/good", 5) == 0) {
        struct evkeyvalq *hs = evhttp_request_get_input_headers(req);
        const char *ua = evhttp_find_header(hs, "User-Agent");
        for (struct evkeyval *kv = hs->tqh_first; kv; kv = kv->next.tqe_next)
            seen_nua += strcasecmp(kv->key, "User-Agent") == 0;
        snprintf(seen_uri, sizeof(seen_uri), "%s", uri);
        snprintf(seen_ua, sizeof(seen_ua), "%s", ua ? ua : "");
        evbuffer_add_printf(out, "%s", SEED_REPLY);
        evhttp_send_reply(req, 200, "OK", out);
    } else if (strncmp(uri, "/big", 4) == 0) {
        /* valid JSON, 10 kB */
        evbuffer_add_printf(out, "{\"NeedRecord\":true,\"Pad\":\"");
        for (int i = 0; i < 10000; i++)
            evbuffer_add(out, "x", 1);
        evbuffer_add_printf(out, "\"}");
        evhttp_send_reply(req, 200, "OK", out);
    } else if (strncmp(uri, "/edge", 5) == 0) {
        /* exactly LE_REC_ONDEMAND_MAX_BODY bytes: accepted */
        char b[LE_REC_ONDEMAND_MAX_BODY + 1];
        int n = snprintf(b, sizeof(b), "{\"NeedRecord\":false,\"Pad\":\"");
        while (n < LE_REC_ONDEMAND_MAX_BODY - 2)
            b[n++] = 'y';
        b[n++] = '"';
        b[n++] = '}';
        evbuffer_add(out, b, (size_t)n);
        evhttp_send_reply(req, 200, "OK", out);
    } else if (strncmp(uri, "/junk", 5) == 0) {
        evbuffer_add_printf(out, "{\"NeedRecord\":\"yes\"}");
        evhttp_send_reply(req, 200, "OK", out);
    } else if (strncmp(uri, "/slow", 5) == 0) {
        evbuffer_free(out);
        return; /* never answered: freed with the connection (server timeout bounds it) */
    } else {
        evhttp_send_reply(req, 404, "Not Found", out);
    }
    evbuffer_free(out);
}

typedef struct {
    int called, rc, need_record, returned;
    unsigned formats;
    char why[160];
} outcome;

static void ask_cb(int rc, const le_rec_ondemand_reply *rep, const char *why, void *arg)
{
    outcome *o = arg;
    o->called++;
    o->rc = rc;
    o->need_record = rep ? rep->need_record : -1;
    o->formats = rep ? rep->formats : 0;
    snprintf(o->why, sizeof(o->why), "%s", why ? why : "(null)");
    if (!o->returned)
        o->called += 100; /* from inside le_rec_ondemand_ask */
    if (--outstanding == 0)
        event_base_loopexit(base, NULL);
}

static int never_called;
static void cancelled_cb(int rc, const le_rec_ondemand_reply *rep, const char *why, void *arg)
{
    (void)rc, (void)rep, (void)why, (void)arg;
    never_called++;
}

static void ask(int port, const char *path, outcome *o)
{
    char url[160];
    le_rec_ondemand_req *rq = NULL;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    outstanding++;
    int rc = le_rec_ondemand_ask(url, "live.example.com", "app 1", "s1", "h264", 1200, ask_cb, o, &rq);
    o->returned = 1;
    ok(rc == LE_OK && rq != NULL, "ask %s: queued", path);
}

static void test_ask(void)
{
    signal(SIGPIPE, SIG_IGN);
    base = event_base_new();
    int port;
    struct evhttp *http = test_http_server(base, srv_cb, &port);
    evhttp_set_timeout(http, 8);
    le_httpc_init(base);

    outcome good = { 0 }, nf = { 0 }, big = { 0 }, edge = { 0 }, junk = { 0 }, slow = { 0 };
    ask(port, "/good?tok=a%20b", &good);
    ask(port, "/missing", &nf);
    ask(port, "/big", &big);
    ask(port, "/edge", &edge);
    ask(port, "/junk", &junk);
    uint64_t t0 = le_mono_ms();
    ask(port, "/slow", &slow);

    char url[160];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/good", port);
    le_rec_ondemand_req *rq = NULL;
    ok(le_rec_ondemand_ask(url, "d", "a", "s", "h264", 1, cancelled_cb, NULL, &rq) == LE_OK, "ask to cancel");
    le_rec_ondemand_cancel(rq);
    le_rec_ondemand_cancel(NULL);
    rq = NULL;
    is_int(le_rec_ondemand_ask("ftp://127.0.0.1/", "d", "a", "s", "h264", 1, ask_cb, NULL, &rq), LE_EINVAL,
           "ftp:// URL: LE_EINVAL");
    is_int(le_rec_ondemand_ask("not a url", "d", "a", "s", "h264", 1, ask_cb, NULL, &rq), LE_EINVAL,
           "garbage URL: LE_EINVAL");

    struct timeval tv = { 12, 0 };
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
    uint64_t took = le_mono_ms() - t0;

    ok(outstanding == 0, "every callback ran");
    ok(good.called == 1 && good.rc == LE_OK && good.need_record == 1 &&
       good.formats == ((1u << LE_REC_MP4) | (1u << LE_REC_FLV)), "200 with the example JSON: LE_OK, parsed");
    is_str(seen_uri, "/good?tok=a%20b&domain=live.example.com&app=app%201&stream=s1&codec=h264&vbitrate=1200",
           "the server got the URL's query then ours");
    ok(strncmp(seen_ua, "livedge/", 8) == 0 && seen_nua == 1, "one User-Agent: livedge/VERSION (%s)", seen_ua);
    ok(nf.called == 1 && nf.rc == LE_EIO && strcmp(nf.why, "HTTP 404") == 0, "404: LE_EIO, why '%s'", nf.why);
    ok(big.called == 1 && big.rc == LE_EIO, "10 kB reply: LE_EIO (%s)", big.why);
    ok(edge.called == 1 && edge.rc == LE_OK && edge.need_record == 0,
       "a reply of exactly LE_REC_ONDEMAND_MAX_BODY bytes is read");
    ok(junk.called == 1 && junk.rc == LE_EPROTO, "NeedRecord \"yes\": LE_EPROTO");
    ok(slow.called == 1 && slow.rc == LE_EIO, "no answer: LE_EIO (%s)", slow.why);
    ok(took >= LE_REC_ONDEMAND_TIMEOUT_MS - 100 && took < LE_REC_ONDEMAND_TIMEOUT_MS + 4000,
       "  after the 5 s timeout, one attempt (%llu ms)", (unsigned long long)took);
    ok(never_called == 0, "a cancelled ask gets no callback");
    le_httpc_stats st;
    le_httpc_get_stats(&st);
    ok(st.inflight == 0 && st.queued == 0, "nothing left in the client");
    is_int(st.attempts, 6, "one attempt each, no retries");

    le_httpc_free();
    evhttp_free(http);
    event_base_free(base);
}

int main(void)
{
    test_parse();
    test_apply();
    test_query_arg();
    test_ask();
    return done_testing();
}
