/* RTMP handshake: our client against our server in both forms, and the
 * digest arithmetic recomputed here independently (ffmpeg's way of checking
 * a server) so a shared mistake in handshake.c cannot pass unnoticed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "core/err.h"
#include "core/util.h"
#include "rtmp/handshake.h"
#include "tap.h"

/* The public keys, spelled out again rather than shared with handshake.c. */
static const char fp_text[] = "Genuine Adobe Flash Player 001";
static const char fms_text[] = "Genuine Adobe Flash Media Server 001";
static const uint8_t tail[32] = {
    0xf0, 0xee, 0xc2, 0x4a, 0x80, 0x68, 0xbe, 0xe8, 0x2e, 0x00, 0xd0, 0xd1, 0x02, 0x9e, 0x7e, 0x57,
    0x6e, 0xec, 0x5d, 0x2d, 0x29, 0x80, 0x6f, 0xab, 0x93, 0xb8, 0xe6, 0x36, 0xcf, 0xeb, 0x31, 0xae
};

static void key(uint8_t *out, const char *text, int full)
{
    size_t n = strlen(text);
    memcpy(out, text, n);
    if (full)
        memcpy(out + n, tail, 32);
}

static void hmac(const uint8_t *k, size_t kl, const uint8_t *d, size_t n, uint8_t out[32])
{
    unsigned int ol = 32;
    HMAC(EVP_sha256(), k, (int)kl, d, n, out, &ol);
}

/* off: 8 (schema 0) or 772 (schema 1); ffmpeg's ff_rtmp_calc_digest_pos. */
static size_t pos_of(const uint8_t *p, size_t off)
{
    return (p[off] + p[off + 1] + p[off + 2] + p[off + 3]) % 728 + off + 4;
}

static int digest_ok(const uint8_t *pkt, size_t pos, const uint8_t *k, size_t kl)
{
    uint8_t msg[1504], d[32];
    memcpy(msg, pkt, pos);
    memcpy(msg + pos, pkt + pos + 32, 1536 - pos - 32);
    hmac(k, kl, msg, sizeof msg, d);
    return memcmp(d, pkt + pos, 32) == 0;
}

static void put_digest(uint8_t *pkt, size_t pos, const uint8_t *k, size_t kl)
{
    uint8_t msg[1504];
    memcpy(msg, pkt, pos);
    memcpy(msg + pos, pkt + pos + 32, 1536 - pos - 32);
    hmac(k, kl, msg, sizeof msg, pkt + pos);
}

/* S2/C2 signature: key = HMAC(full key, peer digest), sig over 1504 bytes. */
static int sig_ok(const uint8_t *pkt, const uint8_t *peer_digest, const uint8_t *fullk, size_t kl)
{
    uint8_t k[32], s[32];
    hmac(fullk, kl, peer_digest, 32, k);
    hmac(k, 32, pkt, 1504, s);
    return memcmp(s, pkt + 1504, 32) == 0;
}

static void test_digest(void)
{
    uint8_t fp[62], fms[68];
    key(fp, fp_text, 1);
    key(fms, fms_text, 1);
    int bad_c1 = 0, bad_s1 = 0, bad_s2 = 0, bad_c2 = 0, bad_api = 0;
    for (int i = 0; i < 200; i++) {
        uint8_t c0c1[LE_HS_C0C1_LEN], s[LE_HS_S0S1S2_LEN], c2[LE_HS_SIZE];
        le_rtmp_hs_client_c0c1(c0c1, 1);
        const uint8_t *c1 = c0c1 + 1;
        size_t cpos = pos_of(c1, 8);
        if (c0c1[0] != 3 || !digest_ok(c1, cpos, fp, 30))
            bad_c1++;
        if (le_rtmp_hs_c1_is_digest(c1) != 1)
            bad_api++;
        if (le_rtmp_hs_respond(c0c1, s, 0x01020304) != 0 || s[0] != 3 || le_rd_be32(s + 1) != 0x01020304) {
            bad_api++;
            continue;
        }
        const uint8_t *s1 = s + 1, *s2 = s + 1 + LE_HS_SIZE;
        /* ffmpeg: only checks when S1 byte 4 >= 3, tries 772 then 8. */
        if (s1[4] < 3 || !(digest_ok(s1, pos_of(s1, 772), fms, 36) || digest_ok(s1, pos_of(s1, 8), fms, 36)))
            bad_s1++;
        if (!sig_ok(s2, c1 + cpos, fms, 68))
            bad_s2++;
        if (le_rtmp_hs_client_c2(s1, c2) != 1 || le_rtmp_hs_client_check_s2(c1, s2) != 1 ||
            le_rtmp_hs_check_c2(s1, c2) != 1)
            bad_api++;
        size_t spos = digest_ok(s1, pos_of(s1, 8), fms, 36) ? pos_of(s1, 8) : pos_of(s1, 772);
        if (!sig_ok(c2, s1 + spos, fp, 62))
            bad_c2++;
    }
    is_int(bad_c1, 0, "200 digest C1s carry a schema-0 digest under the 30-byte Player key");
    is_int(bad_s1, 0, "S1 digests verify under the 36-byte FMS key");
    is_int(bad_s2, 0, "S2 signed with HMAC(68-byte FMS key, C1 digest)");
    is_int(bad_c2, 0, "C2 signed with HMAC(62-byte Player key, S1 digest)");
    is_int(bad_api, 0, "client and server agree on every handshake");
}

/* Flash Player 10+ and RTMPE clients put the digest at schema 1. */
static void test_schema1(void)
{
    uint8_t fp[62], fms[68];
    key(fp, fp_text, 1);
    key(fms, fms_text, 1);
    int bad = 0, bad_s1 = 0;
    for (int i = 0; i < 50; i++) {
        uint8_t c0c1[LE_HS_C0C1_LEN], s[LE_HS_S0S1S2_LEN], c2[LE_HS_SIZE];
        c0c1[0] = 3;
        RAND_bytes(c0c1 + 1, LE_HS_SIZE);
        uint8_t *c1 = c0c1 + 1;
        memcpy(c1 + 4, "\x0a\x00\x2d\x02", 4);
        size_t cpos = pos_of(c1, 772);
        put_digest(c1, cpos, fp, 30);
        /* A chance match at schema 0 would be a 2^-256 event. */
        if (le_rtmp_hs_c1_is_digest(c1) != 1 || le_rtmp_hs_respond(c0c1, s, 7) != 0) {
            bad++;
            continue;
        }
        const uint8_t *s1 = s + 1, *s2 = s + 1 + LE_HS_SIZE;
        if (!digest_ok(s1, pos_of(s1, 772), fms, 36))
            bad_s1++;
        if (!sig_ok(s2, c1 + cpos, fms, 68) || le_rtmp_hs_client_check_s2(c1, s2) != 1 ||
            le_rtmp_hs_client_c2(s1, c2) != 1)
            bad++;
    }
    is_int(bad, 0, "schema-1 C1 detected and S2 keyed off its digest");
    is_int(bad_s1, 0, "S1 answers in the client's schema (1)");
}

static void test_simple(void)
{
    uint8_t c0c1[LE_HS_C0C1_LEN], s[LE_HS_S0S1S2_LEN], c2[LE_HS_SIZE];
    le_rtmp_hs_client_c0c1(c0c1, 0);
    const uint8_t *c1 = c0c1 + 1, *s1 = s + 1, *s2 = s + 1 + LE_HS_SIZE;
    ok(c0c1[0] == 3 && memcmp(c1 + 4, "\0\0\0\0", 4) == 0, "simple C1: version 3, zero field");
    is_int(le_rtmp_hs_c1_is_digest(c1), 0, "simple C1 is not a digest C1");
    is_int(le_rtmp_hs_respond(c0c1, s, 42), 0, "server answers a simple C1");
    ok(s[0] == 3 && le_rd_be32(s1) == 42 && memcmp(s1 + 4, "\0\0\0\0", 4) == 0,
       "S1 = epoch + zero + random");
    ok(memcmp(s2, c1, LE_HS_SIZE) == 0, "S2 echoes C1");
    is_int(le_rtmp_hs_client_check_s2(c1, s2), 0, "client sees a simple S2");
    is_int(le_rtmp_hs_client_c2(s1, c2), 0, "client answers a simple S1");
    ok(memcmp(c2, s1, LE_HS_SIZE) == 0, "C2 echoes S1");
    is_int(le_rtmp_hs_check_c2(s1, c2), 0, "server sees a simple C2");

    /* Nonzero version but no valid digest (old or odd clients): simple. */
    RAND_bytes(c0c1 + 1, LE_HS_SIZE);
    c0c1[5] = 9;
    is_int(le_rtmp_hs_c1_is_digest(c1), 0, "random C1 with a version is not digest");
    is_int(le_rtmp_hs_respond(c0c1, s, 1), 0, "and gets the simple answer");
    ok(memcmp(s2, c1, LE_HS_SIZE) == 0 && memcmp(s1 + 4, "\0\0\0\0", 4) == 0, "echo S2, zero S1 version");
}

static void test_bad(void)
{
    uint8_t c0c1[LE_HS_C0C1_LEN], s[LE_HS_S0S1S2_LEN], c2[LE_HS_SIZE];
    le_rtmp_hs_client_c0c1(c0c1, 1);
    static const uint8_t bad_c0[] = { 0, 1, 6, 'G', 0x16, 0xff };
    for (size_t i = 0; i < sizeof bad_c0; i++) {
        c0c1[0] = bad_c0[i];
        is_int(le_rtmp_hs_respond(c0c1, s, 0), LE_EPROTO, "C0 0x%02x rejected", bad_c0[i]);
    }

    c0c1[0] = 3;
    is_int(le_rtmp_hs_respond(c0c1, s, 0), 0, "digest handshake");
    uint8_t *s1 = s + 1, *s2 = s + 1 + LE_HS_SIZE;
    uint8_t t[LE_HS_SIZE];
    memcpy(t, s2, LE_HS_SIZE);
    t[1535] ^= 1;
    is_int(le_rtmp_hs_client_check_s2(c0c1 + 1, t), LE_EPROTO, "tampered S2 signature detected");
    memcpy(t, s2, LE_HS_SIZE);
    t[0] ^= 1;
    is_int(le_rtmp_hs_client_check_s2(c0c1 + 1, t), LE_EPROTO, "tampered S2 body detected");
    memcpy(t, s1, LE_HS_SIZE);
    t[100] ^= 0x80;
    t[1000] ^= 0x80;
    is_int(le_rtmp_hs_client_c2(t, c2), LE_EPROTO, "tampered S1 detected");
    uint8_t c2ok[LE_HS_SIZE];
    le_rtmp_hs_client_c2(s1, c2ok);
    c2ok[3] ^= 1;
    is_int(le_rtmp_hs_check_c2(s1, c2ok), LE_EPROTO, "tampered C2 detected");
}

/* t/unit/data/ffmpeg_c0c1.bin: C0+C1 as sent by ffmpeg 5.1's rtmp client
 * (its C1 is deterministic: uptime 0, a fixed LFG seed). */
static void test_ffmpeg_vector(void)
{
    char path[1024];
    const char *dir = getenv("top_srcdir");
    snprintf(path, sizeof path, "%s/t/unit/data/ffmpeg_c0c1.bin", dir ? dir : ".");
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(path, sizeof path, "../t/unit/data/ffmpeg_c0c1.bin");
        f = fopen(path, "rb");
    }
    uint8_t c0c1[LE_HS_C0C1_LEN], s[LE_HS_S0S1S2_LEN];
    size_t n = f ? fread(c0c1, 1, sizeof c0c1, f) : 0;
    if (f)
        fclose(f);
    ok(n == sizeof c0c1, "ffmpeg C0C1 vector read (%s)", path);
    if (n != sizeof c0c1) {
        ok(0, "ffmpeg C1 is a digest C1");
        ok(0, "S2 for ffmpeg verifies");
        return;
    }
    is_int(le_rtmp_hs_c1_is_digest(c0c1 + 1), 1, "ffmpeg C1 is a digest C1");
    uint8_t fms[68];
    key(fms, fms_text, 1);
    ok(le_rtmp_hs_respond(c0c1, s, 0) == 0 &&
       sig_ok(s + 1 + LE_HS_SIZE, c0c1 + 1 + pos_of(c0c1 + 1, 8), fms, 68),
       "S2 for ffmpeg verifies");
}

int main(void)
{
    test_digest();
    test_schema1();
    test_simple();
    test_bad();
    test_ffmpeg_vector();
    return done_testing();
}
