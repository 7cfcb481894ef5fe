/* The admin API's request parameters: an application/x-www-form-urlencoded
 * query or body into decoded name/value pairs, and the Timestamp format.
 * Pure, so the fuzzer drives exactly what the server runs. */
#ifndef LE_ADMIN_FORM_H
#define LE_ADMIN_FORM_H
#include <stddef.h>
#include <stdint.h>
#include "admin/sign.h"

/* Appends the pairs of s to *params (names and values decoded,
 * NUL-terminated, owned; pairs with an empty name are skipped). 0, or with a
 * message: LE_EINVAL for a bad percent-escape or an embedded NUL, LE_EEXIST
 * for a name given twice, LE_ETOOBIG for more than max pairs. */
int le_admin_form_parse(const char *s, size_t n, le_sign_param **params, size_t *nparams, size_t max,
                        char *msg, size_t msglen);
void le_admin_form_free(le_sign_param *params, size_t n);

/* "YYYY-MM-DDThh:mm:ssZ" (fractional seconds tolerated) to unix seconds:
 * 0, or LE_EINVAL. */
int le_admin_parse_timestamp(const char *s, int64_t *out);

#endif
