/* RTMP handshake, server side (and a client side for tests and the load
 * generator). Simple (version 3, opaque random) and digest ("complex",
 * HMAC-SHA256 Flash Player / FMS keys, schema 0 and 1) forms. Pure. */
#ifndef LE_RTMP_HANDSHAKE_H
#define LE_RTMP_HANDSHAKE_H
#include <stddef.h>
#include <stdint.h>

#define LE_HS_SIZE 1536              /* C1, C2, S1, S2 */
#define LE_HS_C0C1_LEN (1 + LE_HS_SIZE)
#define LE_HS_S0S1S2_LEN (1 + 2 * LE_HS_SIZE)

/* Answers C0+C1 with S0+S1+S2. A C1 carrying a valid client digest (schema
 * 0 or 1) gets a digest S1 and an S2 keyed off it; anything else gets the
 * simple echo form. LE_EPROTO if C0 is not version 3 (garbage). `epoch` is
 * our S1 time field; `rnd` fills the random parts (NULL: RAND_bytes). */
int le_rtmp_hs_respond(const uint8_t c0c1[LE_HS_C0C1_LEN],
                       uint8_t s0s1s2[LE_HS_S0S1S2_LEN], uint32_t epoch);
/* 1 if C1 has a valid digest (schema 0 or 1), 0 otherwise. */
int le_rtmp_hs_c1_is_digest(const uint8_t c1[LE_HS_SIZE]);

/* Client side: C0+C1 (digest or simple), and C2 from the server's S1. */
void le_rtmp_hs_client_c0c1(uint8_t c0c1[LE_HS_C0C1_LEN], int digest);
/* Verifies S1's server digest when the server used one (1 ok, 0 simple,
 * LE_EPROTO bad), and builds C2. */
int le_rtmp_hs_client_c2(const uint8_t s1[LE_HS_SIZE], uint8_t c2[LE_HS_SIZE]);

/* Client side: checks S2 against the C1 we sent:
 * 1 signed digest S2, 0 simple echo (time2, bytes 4..7, ignored), LE_EPROTO bad. */
int le_rtmp_hs_client_check_s2(const uint8_t c1[LE_HS_SIZE], const uint8_t s2[LE_HS_SIZE]);
/* Server side, informational: checks C2 against the S1 we sent, same
 * returns. Real clients are sloppy here (nginx-rtmp and SRS never check C2),
 * so a session should not drop a peer on LE_EPROTO. */
int le_rtmp_hs_check_c2(const uint8_t s1[LE_HS_SIZE], const uint8_t c2[LE_HS_SIZE]);

#endif
