/* FLV tag classification (legacy and enhanced RTMP), headers, metadata. */
#include <math.h>
#include <string.h>

#include "tap.h"
#include "media/codecpar.h"
#include "media/flv.h"
#include "media/pkt.h"
#include "media/amf.h"
#include "core/err.h"

int main(void)
{
    le_flv_info fi;

    /* AVC keyframe NALU with a composition offset of -2 ms (SI24). */
    const uint8_t avc_key[] = { 0x17, 0x01, 0xff, 0xff, 0xfe, 0, 0, 0, 1, 0x65 };
    is_int(le_flv_video_info(avc_key, sizeof(avc_key), &fi), 0, "avc key parses");
    is_int(fi.codec, LE_CODEC_H264, "avc codec");
    ok(fi.key && !fi.seqhdr, "avc keyframe, not a header");
    is_int(fi.cts, -2, "negative cts sign-extended");
    is_int(fi.hdr_len, 5, "avc header length");

    const uint8_t avc_seq[] = { 0x17, 0x00, 0, 0, 0, 1, 0x64 };
    le_flv_video_info(avc_seq, sizeof(avc_seq), &fi);
    ok(fi.seqhdr && fi.key, "avc sequence header");

    const uint8_t hevc_inter[] = { 0x2c, 0x01, 0, 0, 40 };
    le_flv_video_info(hevc_inter, sizeof(hevc_inter), &fi);
    ok(fi.codec == LE_CODEC_H265 && !fi.key && fi.cts == 40, "legacy hevc id 12 inter frame");

    /* Enhanced RTMP: ExHeader | key frame (1<<4) | CodedFrames, 'hvc1'. */
    const uint8_t ex_hevc[] = { 0x80 | 0x10 | 1, 'h', 'v', 'c', '1', 0, 0, 33, 0xaa };
    is_int(le_flv_video_info(ex_hevc, sizeof(ex_hevc), &fi), 0, "enhanced hevc parses");
    ok(fi.enhanced && fi.codec == LE_CODEC_H265 && fi.key && fi.cts == 33 && fi.hdr_len == 8,
       "enhanced hevc coded frame with cts");
    const uint8_t ex_av1_seq[] = { 0x80 | 0x10 | 0, 'a', 'v', '0', '1', 0x81 };
    le_flv_video_info(ex_av1_seq, sizeof(ex_av1_seq), &fi);
    ok(fi.codec == LE_CODEC_AV1 && fi.seqhdr && fi.hdr_len == 5, "enhanced av1 sequence start");

    is_int(le_flv_video_info(avc_key, 3, &fi), LE_EPROTO, "truncated avc tag refused");
    is_int(le_flv_video_info(ex_hevc, 4, &fi), LE_EPROTO, "truncated enhanced tag refused");
    is_int(le_flv_video_info(avc_key, 0, &fi), LE_EPROTO, "empty video tag refused");

    const uint8_t aac_seq[] = { 0xaf, 0x00, 0x12, 0x10 };
    le_flv_audio_info(aac_seq, sizeof(aac_seq), &fi);
    ok(fi.codec == LE_CODEC_AAC && fi.seqhdr, "aac sequence header");
    const uint8_t aac_raw[] = { 0xaf, 0x01, 0x21 };
    le_flv_audio_info(aac_raw, sizeof(aac_raw), &fi);
    ok(fi.codec == LE_CODEC_AAC && !fi.seqhdr, "aac raw frame");
    const uint8_t mp3[] = { 0x2f, 0xff, 0xfb };
    le_flv_audio_info(mp3, sizeof(mp3), &fi);
    ok(fi.codec == LE_CODEC_MP3 && !fi.seqhdr, "mp3 frame");
    is_int(le_flv_audio_info(aac_raw, 1, &fi), LE_EPROTO, "truncated aac refused");

    /* Packets classify themselves. */
    le_pkt *p = le_pkt_new(LE_PKT_VIDEO, 1000, avc_key, sizeof(avc_key));
    ok((p->flags & LE_PKT_KEY) && !(p->flags & LE_PKT_SEQHDR) && p->cts == -2, "pkt flags from tag");
    uint8_t tag[64];
    size_t n = le_flv_tag_write(tag, p->type, p->ts, p->data, p->len);
    is_int(n, 11 + sizeof(avc_key) + 4, "flv tag length");
    ok(tag[0] == 9 && le_rd_be24(tag + 1) == sizeof(avc_key) && le_rd_be24(tag + 4) == 1000,
       "flv tag header type, size, timestamp");
    ok(memcmp(tag + 11, avc_key, sizeof(avc_key)) == 0, "flv tag body");
    is_int(le_rd_be32(tag + n - 4), 11 + sizeof(avc_key), "PreviousTagSize");
    le_pkt_unref(p);

    uint8_t th[11];
    le_flv_tag_header(th, 8, 5, 0x12345678);
    ok(le_rd_be24(th + 4) == 0x345678 && th[7] == 0x12, "timestamp upper byte in TimestampExtended");
    uint8_t fh[13];
    le_flv_file_header(fh, 1, 0);
    ok(memcmp(fh, "FLV\x01\x04", 5) == 0 && le_rd_be32(fh + 5) == 9, "audio-only file header flags");

    /* onMetaData as ffmpeg sends it: ECMA array behind @setDataFrame. */
    le_buf b = { 0 };
    le_amf_put_string(&b, "@setDataFrame");
    le_amf_put_string(&b, "onMetaData");
    le_amf_put_ecma_start(&b, 3);
    le_amf_put_prop_number(&b, "width", 1280);
    le_amf_put_prop_number(&b, "height", 720);
    le_amf_put_prop_number(&b, "framerate", 30);
    le_amf_put_object_end(&b);
    le_flv_meta m;
    is_int(le_flv_parse_meta(b.p, b.len, &m), 0, "metadata parses");
    ok(m.width == 1280 && m.height == 720 && m.framerate == 30, "width, height, framerate read");
    is_int(le_flv_parse_meta(b.p, b.len - 5, &m), LE_EPROTO, "truncated metadata refused");
    le_buf_free(&b);

    /* Values no stream has are dropped (0, as if absent); the rest is kept. */
    static const struct {
        const char *k;
        double v;
        int keep;
    } vals[] = {
        { "width", 1e300, 0 },          { "width", -1, 0 },           { "width", NAN, 0 },
        { "width", INFINITY, 0 },       { "width", 0.5, 0 },          { "width", 16385, 0 },
        { "width", 16384, 1 },          { "width", 1, 1 },            { "height", -INFINITY, 0 },
        { "height", 2160, 1 },          { "framerate", 0, 0 },        { "framerate", -30, 0 },
        { "framerate", 1001, 0 },       { "framerate", 29.97, 1 },    { "videodatarate", 1e12, 0 },
        { "videodatarate", NAN, 0 },    { "videodatarate", 2500, 1 }, { "audiodatarate", 1e7, 1 },
        { "audiodatarate", 1.5e7, 0 },  { "videocodecid", -7, 0 },    { "videocodecid", 7, 1 },
        { "audiocodecid", 1e300, 0 },
    };
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        le_buf mb = { 0 };
        le_amf_put_string(&mb, "onMetaData");
        le_amf_put_ecma_start(&mb, 2);
        le_amf_put_prop_number(&mb, vals[i].k, vals[i].v);
        le_amf_put_prop_number(&mb, "audiosamplerate", 44100);
        le_amf_put_object_end(&mb);
        le_flv_meta mm;
        int rc = le_flv_parse_meta(mb.p, mb.len, &mm);
        double got = strcmp(vals[i].k, "width") == 0           ? mm.width
                     : strcmp(vals[i].k, "height") == 0        ? mm.height
                     : strcmp(vals[i].k, "framerate") == 0     ? mm.framerate
                     : strcmp(vals[i].k, "videodatarate") == 0 ? mm.videodatarate
                     : strcmp(vals[i].k, "audiodatarate") == 0 ? mm.audiodatarate
                     : strcmp(vals[i].k, "videocodecid") == 0  ? mm.videocodecid
                                                               : mm.audiocodecid;
        ok(rc == 0 && (vals[i].keep ? got == vals[i].v : got == 0), "%s %g %s (got %g)", vals[i].k, vals[i].v,
           vals[i].keep ? "kept" : "dropped", got);
        le_buf_free(&mb);
    }
    /* AudioSpecificConfig: rate and channels (media/codecpar.h). */
    int rate = 0, chans = 0;
    const uint8_t asc_lc[] = { 0x12, 0x10 };   /* AAC-LC, 44100, stereo */
    ok(le_aac_asc_params(asc_lc, 2, &rate, &chans) == 0 && rate == 44100 && chans == 2, "asc lc 44100/2");
    const uint8_t asc_71[] = { 0x11, 0xb8 };   /* AAC-LC, 48000, config 7 */
    ok(le_aac_asc_params(asc_71, 2, &rate, &chans) == 0 && rate == 48000 && chans == 8, "asc config 7 is 8 ch");
    /* explicit rate 22222 (0x0056ce), mono */
    const uint8_t asc_ex[] = { 0x17, 0x80, 0x2b, 0x67, 0x08 };
    ok(le_aac_asc_params(asc_ex, 5, &rate, &chans) == 0 && rate == 22222 && chans == 1, "asc explicit rate");
    is_int(le_aac_asc_params(asc_ex, 4, &rate, &chans), LE_EPROTO, "asc explicit rate truncated");
    /* escaped object type 32+0, index 8 (16000), mono: 11111 000000 1000 0001 */
    const uint8_t asc_esc[] = { 0xf8, 0x10, 0x20 };
    ok(le_aac_asc_params(asc_esc, 3, &rate, &chans) == 0 && rate == 16000 && chans == 1, "asc escaped type");
    const uint8_t asc_bad[] = { 0x16, 0x90 };   /* rate index 13 */
    is_int(le_aac_asc_params(asc_bad, 2, &rate, &chans), LE_EPROTO, "asc reserved rate index");
    is_int(le_aac_asc_params(asc_lc, 1, &rate, &chans), LE_EPROTO, "asc one byte");
    return done_testing();
}
