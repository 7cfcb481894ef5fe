#include "admin/form.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int has_name(const le_sign_param *p, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(p[i].name, name) == 0)
            return 1;
    return 0;
}

int le_admin_form_parse(const char *s, size_t n, le_sign_param **params, size_t *nparams, size_t max,
                        char *msg, size_t msglen)
{
    size_t i = 0;
    while (i < n) {
        size_t end = i;
        while (end < n && s[end] != '&')
            end++;
        if (end > i) {
            const char *eq = memchr(s + i, '=', end - i);
            size_t nl = eq ? (size_t)(eq - (s + i)) : end - i;
            const char *v = eq ? eq + 1 : s + end;
            size_t vl = eq ? (size_t)(s + end - v) : 0;
            if (*nparams == max) {
                snprintf(msg, msglen, "More than %zu parameters.", max);
                return LE_ETOOBIG;
            }
            char *name = le_xmalloc(nl + 1), *val = le_xmalloc(vl + 1);
            int a = le_url_decode(s + i, nl, name, nl + 1, 1);
            int b = le_url_decode(v, vl, val, vl + 1, 1);
            if (a < 0 || b < 0 || strlen(name) != (size_t)a || strlen(val) != (size_t)b) {
                free(name);
                free(val);
                snprintf(msg, msglen, "The request has a malformed parameter encoding.");
                return LE_EINVAL;
            }
            if (a > 0 && has_name(*params, *nparams, name)) {
                char en[64];
                snprintf(msg, msglen, "The parameter \"%s\" is given more than once.",
                         le_log_esc(name, (size_t)a, en, sizeof(en)));
                free(name);
                free(val);
                return LE_EEXIST;
            }
            if (a > 0) {
                if (*nparams % 16 == 0)
                    *params = le_xrealloc(*params, (*nparams + 16) * sizeof(**params));
                le_sign_param *p = &(*params)[(*nparams)++];
                p->name = name;
                p->nlen = (size_t)a;
                p->value = val;
                p->vlen = (size_t)b;
            } else {
                free(name);
                free(val);
            }
        }
        i = end + 1;
    }
    return 0;
}

void le_admin_form_free(le_sign_param *params, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free((char *)params[i].name);
        free((char *)params[i].value);
    }
    free(params);
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return LE_EINVAL;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* "YYYY-MM-DDThh:mm:ssZ" (fractional seconds tolerated) to unix seconds. */
int le_admin_parse_timestamp(const char *s, int64_t *out)
{
    int y, mo, d, h, mi, se;
    size_t n = strlen(s);
    if (n < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':')
        return LE_EINVAL;
    if (digits(s, 4, &y) || digits(s + 5, 2, &mo) || digits(s + 8, 2, &d) ||
        digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) || digits(s + 17, 2, &se))
        return LE_EINVAL;
    size_t i = 19;
    if (s[i] == '.') {
        i++;
        size_t f = i;
        while (s[i] >= '0' && s[i] <= '9' && i - f < 9)
            i++;
        if (i == f)
            return LE_EINVAL;
    }
    if (s[i] != 'Z' || s[i + 1] != '\0')
        return LE_EINVAL;
    /* A leap second (:60) counts as the next second. */
    int64_t secs = le_civil_secs(y, mo, d, h, mi, se == 60 ? 59 : se);
    if (secs < 0)
        return LE_EINVAL;
    *out = secs + (se == 60);
    return 0;
}

