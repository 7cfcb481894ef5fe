/* RTMP handshake. The simple form is C0=3, S1 = time + zero + random, S2 =
 * echo of C1. The digest form is the undocumented Flash 9+ scheme every
 * real client speaks (ffmpeg, librtmp, OBS): a 32-byte HMAC-SHA256 hidden
 * in C1/S1 at an offset derived from four bytes of the packet, keyed with
 * the public "Genuine Adobe" strings. ffmpeg, when playing, refuses a server
 * whose S1 digest or S2 signature is wrong, so both must be exact. */
#include "rtmp/handshake.h"

#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "core/err.h"
#include "core/util.h"

#define DIGEST_LEN 32
/* The signed part of a digest S2/C2: everything before the trailing digest. */
#define SIG_OFF (LE_HS_SIZE - DIGEST_LEN)

/* Both keys end in the same 32 bytes. Only the printable prefix signs C1
 * (30 bytes) and S1 (36 bytes); the full keys derive the S2/C2 keys. */
#define KEY_TAIL \
    0xf0, 0xee, 0xc2, 0x4a, 0x80, 0x68, 0xbe, 0xe8, 0x2e, 0x00, 0xd0, 0xd1, 0x02, 0x9e, 0x7e, 0x57, \
    0x6e, 0xec, 0x5d, 0x2d, 0x29, 0x80, 0x6f, 0xab, 0x93, 0xb8, 0xe6, 0x36, 0xcf, 0xeb, 0x31, 0xae
static const uint8_t fp_key[62] = {
    'G', 'e', 'n', 'u', 'i', 'n', 'e', ' ', 'A', 'd', 'o', 'b', 'e', ' ', 'F',
    'l', 'a', 's', 'h', ' ', 'P', 'l', 'a', 'y', 'e', 'r', ' ', '0', '0', '1', KEY_TAIL
};
static const uint8_t fms_key[68] = {
    'G', 'e', 'n', 'u', 'i', 'n', 'e', ' ', 'A', 'd', 'o', 'b', 'e', ' ', 'F', 'l', 'a', 's',
    'h', ' ', 'M', 'e', 'd', 'i', 'a', ' ', 'S', 'e', 'r', 'v', 'e', 'r', ' ', '0', '0', '1',
    KEY_TAIL
};
#define FP_KEY_PART 30
#define FMS_KEY_PART 36

/* Bytes 4..7 of S1: a nonzero "server version" tells the client a digest is
 * present. ffmpeg only verifies S1 when byte 4 is >= 3. */
static const uint8_t server_version[4] = { 5, 0, 3, 1 };
/* Bytes 4..7 of our digest C1: Flash Player 9.0.124.2, what ffmpeg sends. */
static const uint8_t client_version[4] = { 9, 0, 124, 2 };

/* Schema 0 keeps the digest in bytes 12..771 with its offset from bytes
 * 8..11; schema 1 in 776..1535 with its offset from 772..775. Neither
 * digest range covers its own offset bytes. */
static size_t digest_pos(const uint8_t *pkt, int schema)
{
    size_t base = schema ? 772 : 8;
    uint32_t sum = (uint32_t)pkt[base] + pkt[base + 1] + pkt[base + 2] + pkt[base + 3];
    return sum % 728 + base + 4;
}

static void hmac256(const uint8_t *key, size_t klen, const uint8_t *data, size_t n,
                    uint8_t out[DIGEST_LEN])
{
    unsigned int olen = DIGEST_LEN;
    HMAC(EVP_sha256(), key, (int)klen, data, n, out, &olen);
}

/* The digest of a 1536-byte packet covers every byte except the 32 of the
 * digest itself. */
static void packet_digest(const uint8_t *pkt, size_t pos, const uint8_t *key, size_t klen,
                          uint8_t out[DIGEST_LEN])
{
    uint8_t tmp[LE_HS_SIZE - DIGEST_LEN];
    memcpy(tmp, pkt, pos);
    memcpy(tmp + pos, pkt + pos + DIGEST_LEN, LE_HS_SIZE - pos - DIGEST_LEN);
    hmac256(key, klen, tmp, sizeof tmp, out);
}

/* Returns the schema (0 or 1) whose digest checks out, or LE_ENOTFOUND. *pos gets
 * the digest's offset. */
static int find_digest(const uint8_t *pkt, const uint8_t *key, size_t klen, size_t *pos)
{
    if (!(pkt[4] | pkt[5] | pkt[6] | pkt[7]))
        return LE_ENOTFOUND; /* version 0 announces the simple handshake */
    for (int schema = 0; schema < 2; schema++) {
        uint8_t d[DIGEST_LEN];
        size_t p = digest_pos(pkt, schema);
        packet_digest(pkt, p, key, klen, d);
        if (memcmp(d, pkt + p, DIGEST_LEN) == 0) {
            *pos = p;
            return schema;
        }
    }
    return LE_ENOTFOUND;
}

/* Signs a digest-form S2/C2: the key is HMAC(full key, peer's digest) and
 * the signature over the first 1504 bytes goes in the last 32. */
static void sign_response(uint8_t *pkt, const uint8_t *full_key, size_t klen,
                          const uint8_t *peer_digest)
{
    uint8_t k[DIGEST_LEN];
    hmac256(full_key, klen, peer_digest, DIGEST_LEN, k);
    hmac256(k, DIGEST_LEN, pkt, SIG_OFF, pkt + SIG_OFF);
}

static int response_signed(const uint8_t *pkt, const uint8_t *full_key, size_t klen,
                           const uint8_t *peer_digest)
{
    uint8_t k[DIGEST_LEN], sig[DIGEST_LEN];
    hmac256(full_key, klen, peer_digest, DIGEST_LEN, k);
    hmac256(k, DIGEST_LEN, pkt, SIG_OFF, sig);
    return memcmp(sig, pkt + SIG_OFF, DIGEST_LEN) == 0;
}

int le_rtmp_hs_c1_is_digest(const uint8_t c1[LE_HS_SIZE])
{
    size_t pos;
    return find_digest(c1, fp_key, FP_KEY_PART, &pos) >= 0;
}

int le_rtmp_hs_respond(const uint8_t c0c1[LE_HS_C0C1_LEN],
                       uint8_t s0s1s2[LE_HS_S0S1S2_LEN], uint32_t epoch)
{
    /* 6 would be RTMPE (encrypted); we only speak plain RTMP. */
    if (c0c1[0] != 3)
        return LE_EPROTO;
    const uint8_t *c1 = c0c1 + 1;
    uint8_t *s1 = s0s1s2 + 1, *s2 = s0s1s2 + 1 + LE_HS_SIZE;

    s0s1s2[0] = 3;
    if (RAND_bytes(s1, LE_HS_SIZE) != 1 || RAND_bytes(s2, LE_HS_SIZE) != 1)
        return LE_EIO;
    le_wr_be32(s1, epoch);

    size_t cpos;
    int schema = find_digest(c1, fp_key, FP_KEY_PART, &cpos);
    if (schema < 0) {
        memset(s1 + 4, 0, 4);
        memcpy(s2, c1, LE_HS_SIZE);
        return 0;
    }
    /* S1 uses the client's schema: librtmp looks there first, ffmpeg tries
     * both. */
    memcpy(s1 + 4, server_version, 4);
    size_t spos = digest_pos(s1, schema);
    packet_digest(s1, spos, fms_key, FMS_KEY_PART, s1 + spos);
    sign_response(s2, fms_key, sizeof fms_key, c1 + cpos);
    return 0;
}

void le_rtmp_hs_client_c0c1(uint8_t c0c1[LE_HS_C0C1_LEN], int digest)
{
    uint8_t *c1 = c0c1 + 1;
    c0c1[0] = 3;
    /* Handshake randomness only has to look random to the peer; if
     * RAND_bytes fails the zeroed buffer still makes a valid handshake. */
    memset(c1, 0, LE_HS_SIZE);
    (void)RAND_bytes(c1 + 8, LE_HS_SIZE - 8);
    le_wr_be32(c1, 0);
    if (!digest) {
        memset(c1 + 4, 0, 4);
        return;
    }
    memcpy(c1 + 4, client_version, 4);
    size_t pos = digest_pos(c1, 0);
    packet_digest(c1, pos, fp_key, FP_KEY_PART, c1 + pos);
}

int le_rtmp_hs_client_c2(const uint8_t s1[LE_HS_SIZE], uint8_t c2[LE_HS_SIZE])
{
    size_t spos;
    if (!(s1[4] | s1[5] | s1[6] | s1[7])) {
        memcpy(c2, s1, LE_HS_SIZE);
        return 0;
    }
    if (find_digest(s1, fms_key, FMS_KEY_PART, &spos) < 0) {
        memcpy(c2, s1, LE_HS_SIZE);
        return LE_EPROTO;
    }
    memset(c2, 0, LE_HS_SIZE);
    (void)RAND_bytes(c2, SIG_OFF);
    sign_response(c2, fp_key, sizeof fp_key, s1 + spos);
    return 1;
}

int le_rtmp_hs_client_check_s2(const uint8_t c1[LE_HS_SIZE], const uint8_t s2[LE_HS_SIZE])
{
    size_t cpos;
    if (find_digest(c1, fp_key, FP_KEY_PART, &cpos) >= 0 &&
        response_signed(s2, fms_key, sizeof fms_key, c1 + cpos))
        return 1;
    /* Simple echo; bytes 4..7 may carry the server's read time. */
    if (memcmp(s2, c1, 4) == 0 && memcmp(s2 + 8, c1 + 8, LE_HS_SIZE - 8) == 0)
        return 0;
    return LE_EPROTO;
}

int le_rtmp_hs_check_c2(const uint8_t s1[LE_HS_SIZE], const uint8_t c2[LE_HS_SIZE])
{
    size_t spos;
    if (find_digest(s1, fms_key, FMS_KEY_PART, &spos) >= 0 &&
        response_signed(c2, fp_key, sizeof fp_key, s1 + spos))
        return 1;
    if (memcmp(c2, s1, 4) == 0 && memcmp(c2 + 8, s1 + 8, LE_HS_SIZE - 8) == 0)
        return 0;
    return LE_EPROTO;
}
