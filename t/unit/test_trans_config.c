/* transcode/config.h: the stored JSON of templates and AddTrancodeSEI
 * requests (round trips and refusals); transcode/sei_apply.h: requests
 * applied to a live stream through its packet filter (Pattern, Repeat,
 * Delay, the NALU length size of the sequence header, other codecs alone). */
#include "tap.h"
#include "core/err.h"
#include "core/util.h"
#include "media/flv.h"
#include "media/stream.h"
#include "transcode/config.h"
#include "transcode/sei_apply.h"

#include <stdlib.h>
#include <string.h>

static void test_cfg_json(void)
{
    le_trans_cfg c, back;
    memset(&c, 0, sizeof(c));
    snprintf(c.app, sizeof(c.app), "live");
    le_trans_std("lhd", &c.tpl);
    c.tpl.mode = LE_TRANS_ALWAYS;
    c.create_ms = 1764900000000LL;
    le_buf b = { 0 };
    le_trans_cfg_to_json(&b, &c);
    char js[256];
    snprintf(js, sizeof(js), "%.*s", (int)b.len, (const char *)b.p);
    is_str(js, "{\"App\":\"live\",\"Template\":\"lhd\",\"Mode\":\"always\",\"CreateTime\":\"2025-12-05T02:00:00Z\"}",
           "standard template JSON");
    ok(le_trans_cfg_from_json((const char *)b.p, b.len, &back) == LE_OK && strcmp(back.app, "live") == 0 &&
           strcmp(back.tpl.name, "lhd") == 0 && back.tpl.height == 648 && back.tpl.kbps == 1500 &&
           back.tpl.mode == LE_TRANS_ALWAYS && back.create_ms == c.create_ms && !back.tpl.custom,
       "... reads back with the numbers of the code");
    le_buf_free(&b);

    memset(&c, 0, sizeof(c));
    snprintf(c.app, sizeof(c.app), "app_1");
    c.tpl.custom = 1;
    snprintf(c.tpl.name, sizeof(c.tpl.name), "LDtest");
    snprintf(c.tpl.type, sizeof(c.tpl.type), "h264");
    c.tpl.width = 720;
    c.tpl.height = 1280;
    c.tpl.fps = 25;
    c.tpl.kbps = 2400;
    le_trans_cfg_to_json(&b, &c);
    ok(le_trans_cfg_from_json((const char *)b.p, b.len, &back) == LE_OK && back.tpl.custom &&
           back.tpl.width == 720 && back.tpl.height == 1280 && back.tpl.fps == 25 && back.tpl.kbps == 2400 &&
           strcmp(back.tpl.type, "h264") == 0 && back.tpl.mode == LE_TRANS_ONDEMAND,
       "custom template JSON round trip (%.*s)", (int)b.len, (const char *)b.p);
    le_buf_free(&b);

    static const char *const refused[] = {
        "{\"App\":\"live\",\"Template\":\"xyz\"}",
        "{\"App\":\"live\",\"Template\":\"lld\",\"Mode\":\"sometimes\"}",
        "{\"Template\":\"lld\"}",
        "{\"App\":\"\",\"Template\":\"lld\"}",
        "{\"App\":\"live\",\"Template\":\"c\",\"Custom\":true,\"Width\":720,\"Height\":1280,\"FPS\":31,"
        "\"VideoBitrate\":100,\"TemplateType\":\"h264\"}",
        "{\"App\":\"live\",\"Template\":\"lld\",\"Custom\":true,\"Width\":720,\"Height\":1280,\"FPS\":25,"
        "\"VideoBitrate\":100,\"TemplateType\":\"h264\"}",
        "{\"App\":\"live\",\"Template\":\"c\",\"Custom\":true,\"Width\":720,\"FPS\":25,\"VideoBitrate\":100,"
        "\"TemplateType\":\"h264\"}",
        "{\"App\":\"live\",\"Template\":\"lld\",\"CreateTime\":\"yesterday\"}",
        "[1]",
        "not json",
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        ok(le_trans_cfg_from_json(refused[i], strlen(refused[i]), &back) == LE_EPROTO && back.app[0] == '\0',
           "refused: %s", refused[i]);
    const char *nomode = "{\"App\":\"a\",\"Template\":\"lld\"}";
    ok(le_trans_cfg_from_json(nomode, strlen(nomode), &back) == LE_OK &&
           back.tpl.mode == LE_TRANS_ONDEMAND,
       "no Mode: on demand");
    ok(le_trans_mode_parse("Always") == LE_TRANS_ALWAYS && le_trans_mode_parse("ondemand") == LE_TRANS_ONDEMAND &&
           le_trans_mode_parse("") == LE_EINVAL && le_trans_mode_parse(NULL) == LE_EINVAL,
       "Mode names");
    char f[64];
    le_trans_cfg_field("live", "lld", f, sizeof(f));
    is_str(f, "live/lld", "hash field app/template");
}

static void test_sei_json(void)
{
    le_trans_sei_req q, back;
    memset(&q, 0, sizeof(q));
    snprintf(q.text, sizeof(q.text), "caf\xc3\xa9 \"quoted\"");
    q.text_len = strlen(q.text);
    q.pattern = LE_SEI_FRAME;
    q.repeat = -1;
    q.delay_ms = 100;
    q.time_ms = 5;
    le_buf b = { 0 };
    le_trans_sei_to_json(&b, &q);
    ok(le_trans_sei_from_json((const char *)b.p, b.len, &back) == LE_OK && strcmp(back.text, q.text) == 0 &&
           back.text_len == q.text_len && back.pattern == LE_SEI_FRAME && back.repeat == -1 && back.delay_ms == 100 &&
           back.time_ms == 5,
       "SEI request JSON round trip (%.*s)", (int)b.len, (const char *)b.p);
    le_buf_free(&b);
    static const char *const refused[] = {
        "{\"Text\":\"t\",\"Pattern\":\"sometimes\",\"Repeat\":1,\"Delay\":0,\"Time\":0}",
        "{\"Text\":\"t\",\"Pattern\":\"frame\",\"Repeat\":-2,\"Delay\":0,\"Time\":0}",
        "{\"Text\":\"t\",\"Pattern\":\"frame\",\"Repeat\":1,\"Delay\":-1,\"Time\":0}",
        "{\"Pattern\":\"frame\",\"Repeat\":1,\"Delay\":0,\"Time\":0}",
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        ok(le_trans_sei_from_json(refused[i], strlen(refused[i]), &back) == LE_EPROTO, "refused: %s", refused[i]);
    /* 4001 bytes do not fit */
    le_buf big = { 0 };
    le_buf_printf(&big, "{\"Text\":\"");
    for (int i = 0; i < LE_SEI_TEXT_MAX + 1; i++)
        le_buf_u8(&big, 'x');
    le_buf_printf(&big, "\",\"Pattern\":\"frame\",\"Repeat\":1,\"Delay\":0,\"Time\":0}");
    ok(le_trans_sei_from_json((const char *)big.p, big.len, &back) == LE_EPROTO, "refused: a 4001-byte Text");
    le_buf_free(&big);
}

/* ---- applied to a stream ---- */

typedef struct rec {
    le_sub sub;
    le_pkt *got[64];
    int n;
} rec;

static void rec_packet(le_sub *s, le_pkt *p)
{
    rec *r = s->ctx;
    if (r->n < 64)
        r->got[r->n++] = le_pkt_ref(p);
}
static void rec_none(le_sub *s) { (void)s; }
static const le_sub_ops rec_ops = { rec_packet, rec_none, rec_none };

#include "stream_helpers.h"

static int has_text(const le_pkt *p, const char *t)
{
    size_t n = strlen(t);
    for (size_t i = 0; i + n <= p->len; i++)
        if (memcmp(p->data + i, t, n) == 0)
            return 1;
    return 0;
}

/* "K" / "F" for each recorded video frame with the text, "k" / "f" without. */
static void marks(rec *r, const char *t, char *out)
{
    int j = 0;
    for (int i = 0; i < r->n; i++) {
        le_pkt *p = r->got[i];
        if (p->type != LE_PKT_VIDEO || (p->flags & LE_PKT_SEQHDR))
            continue;
        char c = (p->flags & LE_PKT_KEY) ? 'k' : 'f';
        out[j++] = has_text(p, t) ? (char)(c - 32) : c;
    }
    out[j] = '\0';
}

static void rec_clear(rec *r)
{
    for (int i = 0; i < r->n; i++)
        le_pkt_unref(r->got[i]);
    r->n = 0;
}

static le_trans_sei_req req(const char *text, int pattern, int64_t repeat, int64_t delay)
{
    le_trans_sei_req q;
    memset(&q, 0, sizeof(q));
    snprintf(q.text, sizeof(q.text), "%s", text);
    q.text_len = strlen(text);
    q.pattern = pattern;
    q.repeat = repeat;
    q.delay_ms = delay;
    return q;
}

static void test_apply(void)
{
    /* avcC with 4-byte lengths (0xff), then one with 2-byte lengths (0xfd) */
    static const uint8_t vseq4[] = { 0x17, 0, 0, 0, 0, 1, 0x42, 0xc0, 0x1e, 0xff, 0xe1, 0, 0 },
                         vseq2[] = { 0x17, 0, 0, 0, 0, 1, 0x42, 0xc0, 0x1e, 0xfd, 0xe1, 0, 0 },
                         key4[] = { 0x17, 1, 0, 0, 0, 0, 0, 0, 2, 0x65, 0x88 },
                         inter4[] = { 0x27, 1, 0, 0, 0, 0, 0, 0, 2, 0x41, 0x9a },
                         key2[] = { 0x17, 1, 0, 0, 0, 0, 2, 0x65, 0x88 },
                         araw[] = { 0xaf, 1, 0x21, 0x10 };
    is_int(le_sei_apply_init(), LE_OK, "le_sei_apply_init");
    le_stream *st = le_stream_find("d.example", "live", "sei", 1);
    int owner;
    is_int(le_stream_publish(st, &pub, &owner), LE_OK, "publish");
    push(st, LE_PKT_VIDEO, 0, vseq4, sizeof(vseq4));
    rec r;
    memset(&r, 0, sizeof(r));
    r.sub.ops = &rec_ops;
    r.sub.ctx = &r;
    le_stream_attach(st, &r.sub);
    rec_clear(&r);
    char m[32];

    le_trans_sei_req q = req("KEYTXT", LE_SEI_KEYFRAME, 2, 0);
    le_sei_apply_request(st, &q);
    uint64_t n0 = le_sei_apply_count();
    const uint8_t *seq[] = { key4, inter4, key4, inter4, key4 };
    for (int i = 0; i < 5; i++)
        push(st, LE_PKT_VIDEO, (uint32_t)(40 * i), seq[i], seq[i] == key4 ? sizeof(key4) : sizeof(inter4));
    push(st, LE_PKT_AUDIO, 200, araw, sizeof(araw));
    marks(&r, "KEYTXT", m);
    is_str(m, "KfKfk", "keyframe, Repeat 2: the first two keyframes only");
    is_int(le_sei_apply_count() - n0, 2, "... 2 inserted");
    le_flv_info fi;
    le_pkt *k = r.got[0];
    ok(k->len == sizeof(key4) + 4 + 1 + 1 + 1 + 16 + 6 + 1 && le_flv_video_info(k->data, k->len, &fi) == 0 && fi.key &&
           k->data[9] == 0x06 && k->data[5 + 4 + k->data[8] + 4] == 0x65 && (k->flags & LE_PKT_KEY) && k->ts == 0,
       "... the SEI NAL (4-byte length) before the IDR slice, a keyframe still");
    ok(r.got[r.n - 1]->type == LE_PKT_AUDIO && r.got[r.n - 1]->len == sizeof(araw), "audio untouched");
    rec_clear(&r);

    q = req("FRAMETXT", LE_SEI_FRAME, -1, 0);
    le_sei_apply_request(st, &q);
    for (int i = 0; i < 5; i++)
        push(st, LE_PKT_VIDEO, (uint32_t)(40 * i), seq[i], seq[i] == key4 ? sizeof(key4) : sizeof(inter4));
    marks(&r, "FRAMETXT", m);
    is_str(m, "KFKFK", "frame, Repeat -1: every frame");
    rec_clear(&r);

    q = req("LATER", LE_SEI_FRAME, 1, 150);
    le_sei_apply_request(st, &q);
    push(st, LE_PKT_VIDEO, 0, key4, sizeof(key4));
    nap_ms(250);
    push(st, LE_PKT_VIDEO, 40, inter4, sizeof(inter4));
    push(st, LE_PKT_VIDEO, 80, inter4, sizeof(inter4));
    marks(&r, "LATER", m);
    is_str(m, "kFf", "Delay 150 ms: nothing before, then the next frame once (a new request replaced the old)");
    rec_clear(&r);

    /* a new sequence header with 2-byte NALU lengths */
    push(st, LE_PKT_VIDEO, 100, vseq2, sizeof(vseq2));
    q = req("TWO", LE_SEI_KEYFRAME, 1, 0);
    le_sei_apply_request(st, &q);
    push(st, LE_PKT_VIDEO, 120, key2, sizeof(key2));
    marks(&r, "TWO", m);
    k = r.got[r.n - 1];
    ok(strcmp(m, "K") == 0 && k->len == sizeof(key2) + 2 + 1 + 1 + 1 + 16 + 3 + 1 && k->data[5] == 0 &&
           k->data[6] == 1 + 1 + 1 + 16 + 3 + 1 && k->data[7] == 0x06,
       "2-byte NALU lengths from the new avcC");
    rec_clear(&r);

    le_stream_detach(&r.sub);
    le_stream_unpublish(st, &owner);
    le_stream_shutdown();
}

int main(void)
{
    test_cfg_json();
    test_sei_json();
    test_apply();
    return done_testing();
}
