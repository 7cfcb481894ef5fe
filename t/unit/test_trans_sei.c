/* transcode/sei.h: the user-data SEI NAL decoded back (emulation prevention
 * removed, type, size coding, UUID, text), its insertion into AVCC/HVCC FLV
 * bodies (placement, length sizes, refusals), and libavcodec's H.264 and
 * HEVC decoders accepting the result and exporting the text. */
#include "tap.h"
#include "core/err.h"
#include "core/util.h"
#include "media/flv.h"
#include "transcode/sei.h"

#include <libavcodec/avcodec.h>
#include <libavutil/dict.h>
#include <libavutil/frame.h>
#include <libavutil/log.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
/* libx265 keeps one allocation for the process: not ours to report. */
#define LSAN_OFF() __lsan_disable()
#define LSAN_ON() __lsan_enable()
#else
#define LSAN_OFF() ((void)0)
#define LSAN_ON() ((void)0)
#endif

typedef struct parsed {
    int nal_type, payload_type;
    size_t payload_size, text_len;
    uint8_t uuid[16];
    uint8_t text[LE_SEI_TEXT_MAX + 1];
    int trailing_ok, ep_ok;
} parsed;

/* Decodes a built NAL: header, RBSP without emulation prevention, the one
 * SEI message, trailing bits. 0 if well-formed. */
static int parse_sei(int codec, const uint8_t *nal, size_t n, parsed *p)
{
    memset(p, 0, sizeof(*p));
    size_t hl = codec == LE_CODEC_H264 ? 1 : 2;
    if (n < hl + 1)
        return -1;
    p->nal_type = codec == LE_CODEC_H264 ? nal[0] & 0x1f : (nal[0] >> 1) & 0x3f;
    if (codec == LE_CODEC_H265 && (nal[1] != 1 || (nal[0] & 0x81)))
        return -1;
    uint8_t *rbsp = malloc(n);
    size_t r = 0;
    int zeros = 0;
    p->ep_ok = 1;
    for (size_t i = hl; i < n; i++) {
        if (zeros >= 2 && nal[i] <= 3) {
            if (nal[i] != 3) {   /* 00 00 0x (x<3) must never appear */
                p->ep_ok = 0;
            } else {
                zeros = 0;
                continue;
            }
        }
        rbsp[r++] = nal[i];
        zeros = nal[i] == 0 ? zeros + 1 : 0;
    }
    size_t q = 0;
    int rc = -1;
    p->payload_type = rbsp[q++];
    while (q < r && rbsp[q] == 0xff)
        p->payload_size += rbsp[q++];
    if (q < r)
        p->payload_size += rbsp[q++];
    if (p->payload_size >= 16 && q + p->payload_size + 1 == r) {
        memcpy(p->uuid, rbsp + q, 16);
        p->text_len = p->payload_size - 16;
        memcpy(p->text, rbsp + q + 16, p->text_len);
        p->trailing_ok = rbsp[r - 1] == 0x80;
        rc = 0;
    }
    free(rbsp);
    return rc;
}

static void roundtrip(int codec, size_t len, uint8_t fill, const char *what)
{
    uint8_t *text = malloc(len + 1);
    for (size_t i = 0; i < len; i++)
        text[i] = fill == 0xAA ? (uint8_t)('a' + i % 26) : fill;
    le_buf b = { 0 };
    parsed p;
    int rc = le_sei_build(codec, LE_SEI_UUID, text, len, &b);
    ok(rc == LE_OK && parse_sei(codec, b.p, b.len, &p) == 0 && p.nal_type == (codec == LE_CODEC_H264 ? 6 : 39) &&
           p.payload_type == 5 && p.payload_size == 16 + len && memcmp(p.uuid, LE_SEI_UUID, 16) == 0 &&
           p.text_len == len && memcmp(p.text, text, len) == 0 && p.trailing_ok && p.ep_ok,
       "%s %s: %zu bytes of text decode back (type %d, size %zu, NAL %zu bytes)",
       codec == LE_CODEC_H264 ? "H.264" : "HEVC", what, len, p.payload_type, p.payload_size, b.len);
    ok(b.len <= LE_SEI_NAL_MAX, "... within LE_SEI_NAL_MAX");
    le_buf_free(&b);
    free(text);
}

static void test_build(void)
{
    roundtrip(LE_CODEC_H264, 8, 0xAA, "firsttxt-sized");
    roundtrip(LE_CODEC_H265, 8, 0xAA, "firsttxt-sized");
    roundtrip(LE_CODEC_H264, 0, 0xAA, "empty");
    roundtrip(LE_CODEC_H264, 238, 0xAA, "size 254 (one size byte)");
    roundtrip(LE_CODEC_H264, 239, 0xAA, "size 255 (ff 00)");
    roundtrip(LE_CODEC_H264, 494, 0xAA, "size 510 (ff ff 00)");
    roundtrip(LE_CODEC_H264, 4000, 0xAA, "4000 bytes");
    roundtrip(LE_CODEC_H265, 4000, 0, "4000 zero bytes (emulation prevention)");
    roundtrip(LE_CODEC_H264, 4000, 0, "4000 zero bytes (emulation prevention)");

    /* the size coding and escaping, byte for byte */
    le_buf b = { 0 };
    const uint8_t zeros[3] = { 0, 0, 1 };
    le_sei_build(LE_CODEC_H264, LE_SEI_UUID, zeros, 3, &b);
    static const uint8_t want_tail[] = { 0, 0, 3, 1, 0x80 };
    ok(b.len == 1 + 1 + 1 + 16 + 4 + 1 && b.p[0] == 6 && b.p[1] == 5 && b.p[2] == 19 &&
           memcmp(b.p + 3, LE_SEI_UUID, 16) == 0 && memcmp(b.p + 19, want_tail, 5) == 0,
       "00 00 01 in the text is sent as 00 00 03 01");
    le_buf_free(&b);
    uint8_t t255[239];
    memset(t255, 'x', sizeof(t255));
    le_sei_build(LE_CODEC_H265, LE_SEI_UUID, t255, sizeof(t255), &b);
    ok(b.p[0] == 0x4e && b.p[1] == 0x01 && b.p[2] == 5 && b.p[3] == 0xff && b.p[4] == 0x00,
       "HEVC header 4e 01, size 255 coded ff 00");
    le_buf_free(&b);

    uint8_t big[LE_SEI_TEXT_MAX + 1];
    memset(big, 'x', sizeof(big));
    is_int(le_sei_build(LE_CODEC_H264, LE_SEI_UUID, big, sizeof(big), &b), LE_ETOOBIG, "4001 bytes refused");
    is_int(le_sei_build(LE_CODEC_AAC, LE_SEI_UUID, big, 4, &b), LE_EINVAL, "another codec refused");
    ok(b.len == 0, "... nothing written");
}

/* "NAL types in order" of a body: the header byte type of each NAL. */
static int body_types(int codec, const uint8_t *b, size_t n, size_t hdr, int ls, int *types, int max)
{
    int k = 0;
    size_t p = hdr;
    while (p + (size_t)ls <= n && k < max) {
        size_t l = 0;
        for (int i = 0; i < ls; i++)
            l = l << 8 | b[p + i];
        if (l == 0 || p + ls + l > n)
            return -1;
        uint8_t h = b[p + ls];
        types[k++] = codec == LE_CODEC_H264 ? h & 0x1f : (h >> 1) & 0x3f;
        p += ls + l;
    }
    return p == n ? k : -1;
}

static void put_nal(le_buf *b, int ls, const uint8_t *nal, size_t n)
{
    for (int i = ls - 1; i >= 0; i--)
        le_buf_u8(b, (uint8_t)(n >> (8 * i)));
    le_buf_append(b, nal, n);
}

static void test_insert(void)
{
    le_buf nal = { 0 };
    le_sei_build(LE_CODEC_H264, LE_SEI_UUID, (const uint8_t *)"firsttxt", 8, &nal);
    static const uint8_t aud[] = { 0x09, 0xf0 }, sps[] = { 0x67, 0x42, 0xc0, 0x1e }, pps[] = { 0x68, 0xce },
                         idr[] = { 0x65, 0x88, 0x84, 0x00 }, non[] = { 0x41, 0x9a, 0x02 },
                         xsei[] = { 0x06, 0x05, 0x01, 0x80 };
    for (int ls = 1; ls <= 4; ls++) {
        if (ls == 3)
            continue;
        le_buf body = { 0 }, out = { 0 };
        static const uint8_t h[] = { 0x17, 1, 0, 0, 0x28 };
        le_buf_append(&body, h, 5);
        put_nal(&body, ls, aud, sizeof(aud));
        put_nal(&body, ls, sps, sizeof(sps));
        put_nal(&body, ls, pps, sizeof(pps));
        put_nal(&body, ls, xsei, sizeof(xsei));
        put_nal(&body, ls, idr, sizeof(idr));
        put_nal(&body, ls, idr, sizeof(idr));
        int rc = le_sei_insert(LE_CODEC_H264, body.p, body.len, ls, nal.p, nal.len, &out);
        int ty[10], k = rc == LE_OK ? body_types(LE_CODEC_H264, out.p, out.len, 5, ls, ty, 10) : -1;
        ok(rc == LE_OK && out.len == body.len + ls + nal.len && memcmp(out.p, h, 5) == 0 && k == 7 && ty[0] == 9 &&
               ty[1] == 7 && ty[2] == 8 && ty[3] == 6 && ty[4] == 6 && ty[5] == 5 && ty[6] == 5,
           "length size %d: AUD SPS PPS SEI [our SEI] IDR IDR, header and CTS kept", ls);
        le_buf_free(&body);
        le_buf_free(&out);
    }
    /* an inter frame that is only a slice: the SEI goes first */
    le_buf body = { 0 }, out = { 0 };
    static const uint8_t ih[] = { 0x27, 1, 0, 0, 0 };
    le_buf_append(&body, ih, 5);
    put_nal(&body, 4, non, sizeof(non));
    int ty[4];
    ok(le_sei_insert(LE_CODEC_H264, body.p, body.len, 4, nal.p, nal.len, &out) == LE_OK &&
           body_types(LE_CODEC_H264, out.p, out.len, 5, 4, ty, 4) == 2 && ty[0] == 6 && ty[1] == 1,
       "inter frame: SEI before its slice");
    le_buf_free(&out);
    /* refusals */
    is_int(le_sei_insert(LE_CODEC_H264, body.p, body.len - 1, 4, nal.p, nal.len, &out), LE_EPROTO,
           "a truncated NAL: LE_EPROTO");
    ok(out.len == 0, "... out untouched");
    is_int(le_sei_insert(LE_CODEC_H265, body.p, body.len, 4, nal.p, nal.len, &out), LE_EINVAL,
           "HEVC asked of an H.264 body: LE_EINVAL");
    is_int(le_sei_insert(LE_CODEC_H264, body.p, body.len, 3, nal.p, nal.len, &out), LE_EINVAL, "length size 3");
    is_int(le_sei_insert(LE_CODEC_H264, body.p, body.len, 1, nal.p, 256, &out), LE_ETOOBIG,
           "a 256-byte NAL with 1-byte lengths: LE_ETOOBIG");
    static const uint8_t seq[] = { 0x17, 0, 0, 0, 0, 1, 0x42, 0, 0x1e, 0xff };
    is_int(le_sei_insert(LE_CODEC_H264, seq, sizeof(seq), 4, nal.p, nal.len, &out), LE_EINVAL,
           "a sequence header is no frame");
    static const uint8_t eos[] = { 0x17, 2, 0, 0, 0 };
    is_int(le_sei_insert(LE_CODEC_H264, eos, sizeof(eos), 4, nal.p, nal.len, &out), LE_EINVAL, "end of sequence");
    le_buf_free(&body);
    static const uint8_t only_sps[] = { 0x17, 1, 0, 0, 0, 0, 0, 0, 2, 0x67, 0x42 };
    is_int(le_sei_insert(LE_CODEC_H264, only_sps, sizeof(only_sps), 4, nal.p, nal.len, &out), LE_ENOTFOUND,
           "no slice: LE_ENOTFOUND");
    static const uint8_t zero_len[] = { 0x27, 1, 0, 0, 0, 0, 0, 0, 0 };
    is_int(le_sei_insert(LE_CODEC_H264, zero_len, sizeof(zero_len), 4, nal.p, nal.len, &out), LE_EPROTO,
           "a zero NAL length: LE_EPROTO");
    is_int(le_sei_insert(LE_CODEC_H264, ih, 1, 4, nal.p, nal.len, &out), LE_EINVAL, "a 1-byte body");
    ok(out.len == 0, "out untouched by every refusal");
    le_buf_free(&nal);

    /* HEVC: legacy id 12 and enhanced CodedFramesX ('hvc1') */
    le_sei_build(LE_CODEC_H265, LE_SEI_UUID, (const uint8_t *)"hevc", 4, &nal);
    static const uint8_t vps[] = { 0x40, 0x01, 0x0c }, hsps[] = { 0x42, 0x01, 0x01 }, hpps[] = { 0x44, 0x01, 0xc1 },
                         haud[] = { 0x46, 0x01, 0x10 }, hidr[] = { 0x26, 0x01, 0xaf };   /* IDR_W_RADL 19 */
    static const uint8_t lh[] = { 0x1c, 1, 0, 0, 0 }, eh[] = { 0x93, 'h', 'v', 'c', '1' };
    for (int v = 0; v < 2; v++) {
        le_buf hb = { 0 };
        size_t hl = v ? sizeof(eh) : sizeof(lh);
        le_buf_append(&hb, v ? eh : lh, hl);
        put_nal(&hb, 4, haud, 3);
        put_nal(&hb, 4, vps, 3);
        put_nal(&hb, 4, hsps, 3);
        put_nal(&hb, 4, hpps, 3);
        put_nal(&hb, 4, hidr, 3);
        int t[8], k = -1;
        if (le_sei_insert(LE_CODEC_H265, hb.p, hb.len, 4, nal.p, nal.len, &out) == LE_OK)
            k = body_types(LE_CODEC_H265, out.p, out.len, hl, 4, t, 8);
        ok(k == 6 && t[0] == 35 && t[1] == 32 && t[2] == 33 && t[3] == 34 && t[4] == 39 && t[5] == 19 &&
               memcmp(out.p, hb.p, hl) == 0,
           "HEVC %s: AUD VPS SPS PPS [prefix SEI] IDR", v ? "enhanced CodedFramesX" : "legacy id 12");
        le_buf_free(&hb);
        le_buf_free(&out);
    }
    le_buf_free(&nal);

    static const uint8_t avcc[] = { 1, 0x42, 0xc0, 0x1e, 0xff, 0xe1 }, avcc2[] = { 1, 0x42, 0xc0, 0x1e, 0xfd },
                         avcc3[] = { 1, 0x42, 0xc0, 0x1e, 0xfe };
    ok(le_sei_nalu_len_size(LE_CODEC_H264, avcc, sizeof(avcc)) == 4 &&
           le_sei_nalu_len_size(LE_CODEC_H264, avcc2, sizeof(avcc2)) == 2 &&
           le_sei_nalu_len_size(LE_CODEC_H264, avcc3, sizeof(avcc3)) == LE_EPROTO &&
           le_sei_nalu_len_size(LE_CODEC_H264, avcc, 4) == LE_EPROTO,
       "NALU length size from avcC: 4, 2, 3 refused, short refused");
    uint8_t hvcc[23] = { 1 };
    hvcc[21] = 0xfc | 3;
    ok(le_sei_nalu_len_size(LE_CODEC_H265, hvcc, sizeof(hvcc)) == 4 && le_sei_nalu_len_size(LE_CODEC_H265, hvcc, 21) == LE_EPROTO,
       "NALU length size from hvcC byte 21");
}

/* ---- libavcodec: encode one frame, insert, decode, find the text ---- */

/* Annex B packet -> FLV body with 4-byte lengths after hdr (5 bytes). */
static void annexb_to_body(const uint8_t *p, size_t n, const uint8_t *hdr, size_t hl, le_buf *out)
{
    le_buf_append(out, hdr, hl);
    size_t i = 0, start = (size_t)-1;
    while (i + 3 <= n) {
        if (p[i] == 0 && p[i + 1] == 0 && p[i + 2] == 1) {
            if (start != (size_t)-1) {
                size_t e = i;
                while (e > start && p[e - 1] == 0)
                    e--;
                put_nal(out, 4, p + start, e - start);
            }
            i += 3;
            start = i;
        } else {
            i++;
        }
    }
    if (start != (size_t)-1)
        put_nal(out, 4, p + start, n - start);
}

static void body_to_annexb(const uint8_t *b, size_t n, size_t hl, le_buf *out)
{
    size_t p = hl;
    while (p + 4 <= n) {
        size_t l = (size_t)b[p] << 24 | (size_t)b[p + 1] << 16 | (size_t)b[p + 2] << 8 | b[p + 3];
        static const uint8_t sc[] = { 0, 0, 0, 1 };
        le_buf_append(out, sc, 4);
        le_buf_append(out, b + p + 4, l);
        p += 4 + l;
    }
}

static void test_decoder(const char *enc_name, enum AVCodecID id, int codec)
{
    const AVCodec *enc = avcodec_find_encoder_by_name(enc_name), *dec = avcodec_find_decoder(id);
    if (!enc || !dec) {
        ok(1, "# SKIP %s or its decoder not available", enc_name);
        return;
    }
    AVCodecContext *ec = avcodec_alloc_context3(enc), *dc = avcodec_alloc_context3(dec);
    ec->width = 64;
    ec->height = 64;
    ec->pix_fmt = AV_PIX_FMT_YUV420P;
    ec->time_base = (AVRational){ 1, 25 };
    ec->gop_size = 1;
    ec->max_b_frames = 0;
    AVFrame *f = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    f->format = AV_PIX_FMT_YUV420P;
    f->width = 64;
    f->height = 64;
    AVDictionary *opts = NULL;
    av_dict_set(&opts, "x265-params", "log-level=error", 0);
    LSAN_OFF();
    int ok_enc = avcodec_open2(ec, enc, &opts) == 0;
    LSAN_ON();
    ok_enc = ok_enc && av_frame_get_buffer(f, 0) == 0;
    av_dict_free(&opts);
    if (ok_enc) {
        for (int pl = 0; pl < 3; pl++)
            memset(f->data[pl], pl ? 128 : 60, (size_t)f->linesize[pl] * (pl ? 32 : 64));
        f->pts = 0;
        LSAN_OFF();
        ok_enc = avcodec_send_frame(ec, f) == 0 && avcodec_send_frame(ec, NULL) == 0 &&
                 avcodec_receive_packet(ec, pkt) == 0;
        LSAN_ON();
    }
    ok(ok_enc, "%s encoded a 64x64 keyframe (%d bytes)", enc_name, ok_enc ? pkt->size : 0);
    const char *text = "livedge SEI: firsttxt";
    le_buf body = { 0 }, nal = { 0 }, out = { 0 }, ab = { 0 };
    static const uint8_t h264h[] = { 0x17, 1, 0, 0, 0 }, hevch[] = { 0x1c, 1, 0, 0, 0 };
    if (ok_enc)
        annexb_to_body(pkt->data, (size_t)pkt->size, codec == LE_CODEC_H264 ? h264h : hevch, 5, &body);
    le_sei_build(codec, LE_SEI_UUID, (const uint8_t *)text, strlen(text), &nal);
    int rc = le_sei_insert(codec, body.p, body.len, 4, nal.p, nal.len, &out);
    ok(rc == LE_OK, "%s: inserted into the encoded frame", enc_name);
    body_to_annexb(out.p, out.len, 5, &ab);
    int found = 0, got_frame = 0;
    if (avcodec_open2(dc, dec, NULL) == 0) {
        AVPacket *dp = av_packet_alloc();
        av_new_packet(dp, (int)ab.len);
        memcpy(dp->data, ab.p, ab.len);
        AVFrame *df = av_frame_alloc();
        if (avcodec_send_packet(dc, dp) == 0 && avcodec_send_packet(dc, NULL) == 0 &&
            avcodec_receive_frame(dc, df) == 0) {
            got_frame = df->width == 64 && df->height == 64;
            for (int i = 0; i < df->nb_side_data; i++) {
                AVFrameSideData *sd = df->side_data[i];
                if (sd->type == AV_FRAME_DATA_SEI_UNREGISTERED && sd->size == 16 + strlen(text) &&
                    memcmp(sd->data, LE_SEI_UUID, 16) == 0 && memcmp(sd->data + 16, text, strlen(text)) == 0)
                    found = 1;
            }
        }
        av_frame_free(&df);
        av_packet_free(&dp);
    }
    ok(got_frame, "%s decoder: the frame with our SEI decodes (64x64)", avcodec_get_name(id));
    ok(found, "%s decoder: exports our UUID and text as unregistered SEI side data", avcodec_get_name(id));
    le_buf_free(&body);
    le_buf_free(&nal);
    le_buf_free(&out);
    le_buf_free(&ab);
    av_packet_free(&pkt);
    av_frame_free(&f);
    LSAN_OFF();
    avcodec_free_context(&ec);
    LSAN_ON();
    avcodec_free_context(&dc);
}

int main(void)
{
    av_log_set_level(AV_LOG_ERROR);
    test_build();
    test_insert();
    test_decoder("libx264", AV_CODEC_ID_H264, LE_CODEC_H264);
    test_decoder("libx265", AV_CODEC_ID_HEVC, LE_CODEC_H265);
    return done_testing();
}
