/* H.264 / HEVC Annex B to FLV tag bodies (pipeline/flvout.h). */
#include "pipeline/flvout.h"
#include "core/err.h"

#include <string.h>

/* Next NAL unit at or after *pos: its payload [*s, *e). 0 at the end. */
static int next_nal(const uint8_t *b, size_t n, size_t *pos, size_t *s, size_t *e)
{
    size_t i = *pos;
    while (i + 3 <= n && !(b[i] == 0 && b[i + 1] == 0 && b[i + 2] == 1))
        i++;
    if (i + 3 > n)
        return 0;
    i += 3;
    size_t j = i;
    while (j + 3 <= n && !(b[j] == 0 && b[j + 1] == 0 && (b[j + 2] == 1 || b[j + 2] == 0)))
        j++;
    if (j + 3 > n)
        j = n;
    size_t end = j;
    while (end > i && b[end - 1] == 0)     /* trailing zero / next 4-byte start code */
        end--;
    *s = i;
    *e = end;
    *pos = j;
    return 1;
}

static int is_annexb(const uint8_t *b, size_t n)
{
    return (n >= 3 && b[0] == 0 && b[1] == 0 && b[2] == 1) ||
           (n >= 4 && b[0] == 0 && b[1] == 0 && b[2] == 0 && b[3] == 1);
}

int le_pipe_annexb_to_avcc(const uint8_t *b, size_t n, le_buf *out)
{
    if (!is_annexb(b, n)) {
        if (n == 0)
            return LE_EPROTO;
        le_buf_append(out, b, n);
        return 0;
    }
    size_t pos = 0, s, e;
    int found = 0;
    while (next_nal(b, n, &pos, &s, &e)) {
        if (e <= s)
            continue;
        le_buf_be32(out, (uint32_t)(e - s));
        le_buf_append(out, b + s, e - s);
        found = 1;
    }
    return found ? 0 : LE_EPROTO;
}

/* Exp-Golomb reader over an RBSP (emulation prevention removed). */
typedef struct { const uint8_t *p; size_t n, bit; int err; } bits;

static unsigned rd1(bits *r)
{
    if (r->bit >= r->n * 8) {
        r->err = 1;
        return 0;
    }
    unsigned v = (r->p[r->bit >> 3] >> (7 - (r->bit & 7))) & 1;
    r->bit++;
    return v;
}

static unsigned rdue(bits *r)
{
    int z = 0;
    while (!rd1(r) && !r->err && z < 32)
        z++;
    if (r->err || z >= 32) {
        r->err = 1;
        return 0;
    }
    unsigned v = 0;
    for (int i = 0; i < z; i++)
        v = v << 1 | rd1(r);
    return (1u << z) - 1 + v;
}

int le_pipe_avcc_record(const uint8_t *b, size_t n, le_buf *out)
{
    if (n > 0 && b[0] == 1) {
        le_buf_append(out, b, n);
        return 0;
    }
    const uint8_t *sps = NULL, *pps = NULL;
    size_t sps_n = 0, pps_n = 0, pos = 0, s, e;
    while (next_nal(b, n, &pos, &s, &e)) {
        if (e <= s)
            continue;
        int type = b[s] & 0x1f;
        if (type == 7 && !sps) {
            sps = b + s;
            sps_n = e - s;
        } else if (type == 8 && !pps) {
            pps = b + s;
            pps_n = e - s;
        }
    }
    if (!sps || !pps || sps_n < 4 || sps_n > 0xffff || pps_n > 0xffff)
        return LE_EPROTO;
    le_buf_u8(out, 1);
    le_buf_u8(out, sps[1]);     /* profile_idc */
    le_buf_u8(out, sps[2]);     /* constraint flags */
    le_buf_u8(out, sps[3]);     /* level_idc */
    le_buf_u8(out, 0xff);       /* lengthSizeMinusOne = 3 */
    le_buf_u8(out, 0xe1);       /* one SPS */
    le_buf_be16(out, (uint16_t)sps_n);
    le_buf_append(out, sps, sps_n);
    le_buf_u8(out, 1);          /* one PPS */
    le_buf_be16(out, (uint16_t)pps_n);
    le_buf_append(out, pps, pps_n);
    int prof = sps[1];
    if (prof == 100 || prof == 110 || prof == 122 || prof == 144) {
        uint8_t rbsp[64];
        size_t rn = 0;
        for (size_t i = 4; i < sps_n && rn < sizeof(rbsp); i++) {
            if (i >= 6 && sps[i] == 3 && sps[i - 1] == 0 && sps[i - 2] == 0)
                continue;
            rbsp[rn++] = sps[i];
        }
        bits r = { rbsp, rn, 0, 0 };
        rdue(&r);                              /* seq_parameter_set_id */
        unsigned chroma = rdue(&r);
        if (chroma == 3)
            rd1(&r);                           /* separate_colour_plane_flag */
        unsigned bdl = rdue(&r), bdc = rdue(&r);
        if (r.err)
            chroma = 1, bdl = bdc = 0;
        le_buf_u8(out, (uint8_t)(0xfc | (chroma & 3)));
        le_buf_u8(out, (uint8_t)(0xf8 | (bdl & 7)));
        le_buf_u8(out, (uint8_t)(0xf8 | (bdc & 7)));
        le_buf_u8(out, 0);                     /* no SPS extensions */
    }
    return 0;
}

void le_pipe_flv_avc_seqhdr(const uint8_t *rec, size_t n, le_buf *out)
{
    le_buf_u8(out, 0x17);
    le_buf_u8(out, 0);
    le_buf_be24(out, 0);
    le_buf_append(out, rec, n);
}

void le_pipe_flv_avc_frame(int key, int32_t cts, const uint8_t *nalus, size_t n, le_buf *out)
{
    le_buf_u8(out, key ? 0x17 : 0x27);
    le_buf_u8(out, 1);
    le_buf_be24(out, (uint32_t)cts & 0xffffff);
    le_buf_append(out, nalus, n);
}

/* RBSP of a NAL unit from byte `from` on (emulation prevention removed), at
 * most cap bytes. */
static size_t unescape(const uint8_t *nal, size_t n, size_t from, uint8_t *out, size_t cap)
{
    size_t rn = 0, zeros = 0;
    for (size_t i = from; i < n && rn < cap; i++) {
        if (zeros >= 2 && nal[i] == 3) {
            zeros = 0;
            continue;
        }
        zeros = nal[i] == 0 ? zeros + 1 : 0;
        out[rn++] = nal[i];
    }
    return rn;
}

static unsigned rdn(bits *r, int n)
{
    unsigned v = 0;
    for (int i = 0; i < n; i++)
        v = v << 1 | rd1(r);
    return v;
}

int le_pipe_hvcc_record(const uint8_t *b, size_t n, le_buf *out)
{
    const uint8_t *ps[3] = { NULL, NULL, NULL };
    size_t psn[3] = { 0, 0, 0 }, pos = 0, s, e;
    while (next_nal(b, n, &pos, &s, &e)) {
        if (e < s + 3)
            continue;
        int type = (b[s] >> 1) & 0x3f;
        if (type >= 32 && type <= 34 && !ps[type - 32]) {
            ps[type - 32] = b + s;
            psn[type - 32] = e - s;
        }
    }
    for (int i = 0; i < 3; i++)
        if (!ps[i] || psn[i] > 0xffff)
            return LE_EPROTO;
    uint8_t rbsp[256];
    size_t rn = unescape(ps[1], psn[1], 2, rbsp, sizeof(rbsp));
    bits r = { rbsp, rn, 0, 0 };
    rdn(&r, 4);                                 /* sps_video_parameter_set_id */
    unsigned subl = rdn(&r, 3);                 /* sps_max_sub_layers_minus1 */
    unsigned nested = rd1(&r);
    uint8_t ptl[12];                            /* general profile .. level */
    for (int i = 0; i < 12; i++)
        ptl[i] = (uint8_t)rdn(&r, 8);
    unsigned pp[8] = { 0 }, lp[8] = { 0 };
    for (unsigned i = 0; i < subl; i++) {
        pp[i] = rd1(&r);
        lp[i] = rd1(&r);
    }
    if (subl > 0)
        for (unsigned i = subl; i < 8; i++)
            rdn(&r, 2);
    for (unsigned i = 0; i < subl; i++) {
        if (pp[i])
            for (int k = 0; k < 11; k++)
                rdn(&r, 8);
        if (lp[i])
            rdn(&r, 8);
    }
    rdue(&r);                                   /* sps_seq_parameter_set_id */
    unsigned chroma = rdue(&r);
    if (chroma == 3)
        rd1(&r);
    rdue(&r);                                   /* width, height */
    rdue(&r);
    if (rd1(&r))                                /* conformance window */
        for (int i = 0; i < 4; i++)
            rdue(&r);
    unsigned bdl = rdue(&r), bdc = rdue(&r);
    if (r.err)
        return LE_EPROTO;
    le_buf_u8(out, 1);
    le_buf_append(out, ptl, 12);
    le_buf_be16(out, 0xf000);                   /* min_spatial_segmentation_idc 0 */
    le_buf_u8(out, 0xfc);                       /* parallelismType unknown */
    le_buf_u8(out, (uint8_t)(0xfc | (chroma & 3)));
    le_buf_u8(out, (uint8_t)(0xf8 | (bdl & 7)));
    le_buf_u8(out, (uint8_t)(0xf8 | (bdc & 7)));
    le_buf_be16(out, 0);                        /* avgFrameRate unspecified */
    le_buf_u8(out, (uint8_t)(((subl + 1) & 7) << 3 | (nested & 1) << 2 | 3));
    le_buf_u8(out, 3);
    for (int i = 0; i < 3; i++) {
        le_buf_u8(out, (uint8_t)(0x80 | (32 + i)));   /* array_completeness 1 */
        le_buf_be16(out, 1);
        le_buf_be16(out, (uint16_t)psn[i]);
        le_buf_append(out, ps[i], psn[i]);
    }
    return 0;
}

void le_pipe_flv_hevc_seqhdr(const uint8_t *rec, size_t n, le_buf *out)
{
    le_buf_u8(out, 0x80 | 0x10 | 0);            /* ExHeader, keyframe, SequenceStart */
    le_buf_append(out, "hvc1", 4);
    le_buf_append(out, rec, n);
}

void le_pipe_flv_hevc_frame(int key, int32_t cts, const uint8_t *nalus, size_t n, le_buf *out)
{
    le_buf_u8(out, (uint8_t)(0x80 | (key ? 0x10 : 0x20) | 1));   /* CodedFrames */
    le_buf_append(out, "hvc1", 4);
    le_buf_be24(out, (uint32_t)cts & 0xffffff);
    le_buf_append(out, nalus, n);
}
