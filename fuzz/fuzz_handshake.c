/* libFuzzer target for the handshake: any 1537 bytes as C0+C1 (and as S1
 * and S2 for the client side) must give a well-defined answer.
 *   clang -g -fsanitize=fuzzer,address,undefined -I../src fuzz_handshake.c \
 *     ../src/rtmp/handshake.c ../src/core/util.c ../src/core/err.c -lcrypto */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "rtmp/handshake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t c0c1[LE_HS_C0C1_LEN] = { 0 }, s[LE_HS_S0S1S2_LEN], c2[LE_HS_SIZE];
    memcpy(c0c1, data, size < sizeof c0c1 ? size : sizeof c0c1);
    int rc = le_rtmp_hs_respond(c0c1, s, 1);
    if (c0c1[0] != 3 ? rc != LE_EPROTO : rc != 0)
        abort();
    if (rc == 0 && le_rtmp_hs_client_check_s2(c0c1 + 1, s + 1 + LE_HS_SIZE) !=
                   (le_rtmp_hs_c1_is_digest(c0c1 + 1) ? 1 : 0))
        abort();
    int r2 = le_rtmp_hs_client_c2(c0c1 + 1, c2);
    if ((r2 < 0 && r2 != LE_EPROTO) || r2 > 1)
        abort();
    le_rtmp_hs_check_c2(c0c1 + 1, c2);
    return 0;
}
