/* libFuzzer target for le_tls_check and le_tls_unseal (tls.h). First byte:
 * the mode (bit 0: check, else unseal; bit 1: check without a key); for a
 * check the next two bytes split the rest into certificate and key. The
 * result must be one of the LE_TLS_* values with info filled only on
 * success; whatever unseals must seal and unseal back to the same bytes.
 *   clang -g -fsanitize=fuzzer,address,undefined -I../src fuzz_tlspem.c \
 *     ../src/tls/tls.c ../src/core/util.c ../src/core/err.c -lssl -lcrypto */
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "tls/tls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char secret[] = "fuzzing-secret-0123456789";

static void check_info(const le_tls_info *info, int rc)
{
    if (!memchr(info->common, '\0', sizeof(info->common)) || !memchr(info->issuer, '\0', sizeof(info->issuer)))
        abort();
    size_t fl = strnlen(info->fingerprint, sizeof(info->fingerprint));
    if (fl == sizeof(info->fingerprint))
        abort();
    if (rc != LE_TLS_OK && (fl || info->common[0] || info->issuer[0] || info->not_after_ms))
        abort();
    if (rc == LE_TLS_OK && fl != 64)
        abort();
    for (size_t i = 0; i < fl; i++)
        if (!((info->fingerprint[i] >= '0' && info->fingerprint[i] <= '9') ||
              (info->fingerprint[i] >= 'a' && info->fingerprint[i] <= 'f')))
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int mode = data[0];
    data++;
    size--;
    if (mode & 1) {
        if (size < 2)
            return 0;
        size_t split = ((size_t)data[0] << 8 | data[1]);
        data += 2;
        size -= 2;
        if (split > size)
            split = size;
        /* Copies of exactly the given lengths, so a read past them is caught. */
        char *cert = malloc(split ? split : 1), *key = malloc(size - split ? size - split : 1);
        memcpy(cert, data, split);
        memcpy(key, data + split, size - split);
        le_tls_info info;
        memset(&info, 'x', sizeof(info));
        int rc = le_tls_check(cert, split, (mode & 2) ? NULL : key, size - split, &info);
        if (rc < LE_TLS_OK || rc > LE_TLS_MISMATCH)
            abort();
        if ((mode & 2) && (rc == LE_TLS_BAD_KEY || rc == LE_TLS_MISMATCH))
            abort();
        check_info(&info, rc);
        if (le_tls_check(cert, split, (mode & 2) ? NULL : key, size - split, NULL) != rc)
            abort();
        if (ERR_peek_error() != 0)
            abort();
        free(cert);
        free(key);
        return 0;
    }
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    char *plain = NULL, *sealed = NULL, *back = NULL;
    size_t n = 0, n2 = 0;
    int rc = le_tls_unseal(secret, text, &plain, &n);
    if (rc != LE_OK && (rc != LE_EINVAL || plain || n))
        abort();
    if (rc == LE_OK) {
        if (plain[n] != '\0')
            abort();
        if (le_tls_seal(secret, plain, n, &sealed) != LE_OK || le_tls_unseal(secret, sealed, &back, &n2) != LE_OK ||
            n2 != n || memcmp(back, plain, n) != 0)
            abort();
        free(sealed);
        free(back);
        OPENSSL_cleanse(plain, n);
        free(plain);
    }
    /* Any bytes seal and unseal back. */
    if (le_tls_seal(secret, data, size, &sealed) != LE_OK || le_tls_unseal(secret, sealed, &back, &n2) != LE_OK ||
        n2 != size || memcmp(back, data, size) != 0)
        abort();
    free(sealed);
    free(back);
    free(text);
    return 0;
}
