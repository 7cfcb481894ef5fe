/* AddTrancodeSEI applied to the passthrough path (transcode/sei_apply.h). */
#include "transcode/sei_apply.h"
#include "control/cluster.h"
#include "core/err.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/util.h"
#include "media/flv.h"
#include "store/store.h"
#include "transcode/sei.h"

#include <stdlib.h>
#include <string.h>

#define MOD "sei"

typedef struct sei_state {
    int len_size;               /* from the last video sequence header; 0 unknown */
    int active;
    le_trans_sei_req req;
    int64_t left;               /* insertions left; -1 no end */
    uint64_t start_ms;          /* mono */
    int nal_codec;              /* the codec nal was built for; 0 none */
    le_buf nal;
} sei_state;

static int slot = -1;
static uint64_t inserted, requests;

static void state_free(void *p)
{
    sei_state *s = p;
    le_buf_free(&s->nal);
    free(s);
}

static sei_state *state_of(le_stream *st, int create)
{
    sei_state *s = slot >= 0 ? le_stream_ext(st, slot) : NULL;
    if (!s && create && slot >= 0) {
        s = le_xcalloc(1, sizeof(*s));
        if (le_stream_set_ext(st, slot, s, state_free) != LE_OK) {
            free(s);
            return NULL;
        }
    }
    return s;
}

static le_pkt *filter(le_stream *st, le_pkt *p)
{
    if (p->type != LE_PKT_VIDEO || (p->codec != LE_CODEC_H264 && p->codec != LE_CODEC_H265))
        return NULL;
    if (p->flags & LE_PKT_SEQHDR) {
        le_flv_info fi;
        sei_state *s = state_of(st, 1);
        if (s && le_flv_video_info(p->data, p->len, &fi) == 0 && fi.hdr_len <= p->len) {
            int ls = le_sei_nalu_len_size(p->codec, p->data + fi.hdr_len, p->len - fi.hdr_len);
            s->len_size = ls > 0 ? ls : 0;
        }
        return NULL;
    }
    sei_state *s = state_of(st, 0);
    if (!s || !s->active || !s->len_size || le_mono_ms() < s->start_ms ||
        (s->req.pattern == LE_SEI_KEYFRAME && !(p->flags & LE_PKT_KEY)))
        return NULL;
    if (s->nal_codec != p->codec) {
        s->nal.len = 0;
        if (le_sei_build(p->codec, LE_SEI_UUID, (const uint8_t *)s->req.text, s->req.text_len, &s->nal) != LE_OK)
            return NULL;
        s->nal_codec = p->codec;
    }
    le_buf out = { 0 };
    if (le_sei_insert(p->codec, p->data, p->len, s->len_size, s->nal.p, s->nal.len, &out) != LE_OK ||
        out.len > UINT32_MAX) {
        le_buf_free(&out);
        return NULL;
    }
    le_pkt *np = le_pkt_new(p->type, p->ts, out.p, (uint32_t)out.len);
    le_buf_free(&out);
    inserted++;
    if (s->left > 0 && --s->left == 0) {
        s->active = 0;
        le_info(MOD, "%s: SEI done", le_stream_key(st));
    }
    return np;
}

int le_sei_apply_request(le_stream *st, const le_trans_sei_req *q)
{
    sei_state *s = state_of(st, 1);
    if (!s)
        return LE_ENOMEM;
    s->req = *q;
    s->left = q->repeat;
    s->start_ms = le_mono_ms() + (uint64_t)(q->delay_ms > 0 ? q->delay_ms : 0);
    s->nal_codec = 0;
    s->active = q->repeat != 0;
    requests++;
    le_info(MOD, "%s: SEI of %zu bytes on %s, repeat %lld, after %lld ms", le_stream_key(st), q->text_len,
            q->pattern == LE_SEI_FRAME ? "every frame" : "keyframes", (long long)q->repeat,
            (long long)q->delay_ms);
    return LE_OK;
}

/* "NODE domain/app/stream JSON" */
static void on_msg(const char *channel, const char *msg, size_t len, void *arg)
{
    (void)channel;
    (void)arg;
    const char *node = le_cluster_node(), *end = msg + len;
    size_t nl = strlen(node);
    if (len <= nl + 1 || memcmp(msg, node, nl) != 0 || msg[nl] != ' ')
        return;
    const char *k = msg + nl + 1, *sp = memchr(k, ' ', (size_t)(end - k));
    char key[800], *a, *n;
    if (!sp || (size_t)(sp - k) >= sizeof(key))
        return;
    memcpy(key, k, (size_t)(sp - k));
    key[sp - k] = '\0';
    le_trans_sei_req q;
    if (!(a = strchr(key, '/')) || !(n = strchr(a + 1, '/')) ||
        le_trans_sei_from_json(sp + 1, (size_t)(end - sp - 1), &q) != LE_OK) {
        le_warn(MOD, "unreadable SEI request ignored");
        return;
    }
    *a++ = '\0';
    *n++ = '\0';
    le_stream *st = le_stream_find(key, a, n, 0);
    if (!st || !le_stream_is_live(st)) {
        le_warn(MOD, "%s/%s/%s: SEI request for a stream not live here: ignored", key, a, n);
        return;
    }
    le_sei_apply_request(st, &q);
}

static void sei_metrics(le_buf *out)
{
    le_buf_printf(out,
                  "# TYPE livedge_sei_requests_total counter\n"
                  "livedge_sei_requests_total %llu\n"
                  "# TYPE livedge_sei_inserted_total counter\n"
                  "livedge_sei_inserted_total %llu\n",
                  (unsigned long long)requests, (unsigned long long)inserted);
}

int le_sei_apply_init(void)
{
    slot = le_stream_ext_register("sei");
    if (slot < 0)
        return slot;
    le_stream_set_filter(filter);
    char ch[512];
    le_store_key(ch, sizeof(ch), "%s", LE_TRANS_SEI_CHANNEL);
    le_store_subscribe(ch, on_msg, NULL);
    le_metrics_add(sei_metrics);
    return LE_OK;
}

uint64_t le_sei_apply_count(void)
{
    return inserted;
}
