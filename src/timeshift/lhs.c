#include "timeshift/lhs.h"
#include "core/err.h"
#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int fail(char *err, size_t errlen, const char *fmt, const char *arg)
{
    snprintf(err, errlen, fmt, arg);
    return LE_EINVAL;
}

static int all_digits(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* YYYYMMDDhhmmss as UTC seconds; LE_EINVAL if not a real date. */
static int64_t human_secs(const char *s)
{
    int y, mo, d, h, mi, se;
    if (sscanf(s, "%4d%2d%2d%2d%2d%2d", &y, &mo, &d, &h, &mi, &se) != 6)
        return LE_EINVAL;
    int64_t secs = le_civil_secs(y, mo, d, h, mi, se);
    return secs < 0 ? LE_EINVAL : secs;
}

int le_lhs_decode(const char *s, size_t n, char *out, size_t outsz)
{
    int len = le_url_decode(s, n, out, outsz, 1);
    if (len < 0 || (size_t)len != strlen(out))
        return LE_EINVAL;   /* bad escape, too long, or an encoded NUL */
    return LE_OK;
}

int le_lhs_time(const char *key, const char *val, char *type, size_t typesz, int64_t *ms,
                char *err, size_t errlen)
{
    char t[16], f[16], u[8], z[8], extra;
    if (strncmp(key, "lhs_", 4) != 0 ||
        sscanf(key + 4, "%15[a-z]_%15[a-z]_%7[a-z]_%7[0-9]%c", t, f, u, z, &extra) != 4)
        return fail(err, errlen, "unknown time-shift argument '%s'", key);
    if (strcmp(t, "start") && strcmp(t, "end") && strcmp(t, "vodend") && strcmp(t, "offset"))
        return fail(err, errlen, "unknown time-shift type in '%s'", key);
    if (strcmp(f, "unix") && strcmp(f, "human"))
        return fail(err, errlen, "unknown time format in '%s' (unix or human)", key);
    int64_t per_s;   /* units per second */
    int digits;      /* sub-second digits after a human time */
    if (!strcmp(u, "s")) { per_s = 1; digits = 0; }
    else if (!strcmp(u, "ms")) { per_s = 1000; digits = 3; }
    else if (!strcmp(u, "us")) { per_s = 1000000; digits = 6; }
    else if (!strcmp(u, "ns")) { per_s = 1000000000; digits = 9; }
    else return fail(err, errlen, "unknown unit in '%s' (s, ms, us or ns)", key);
    if (strlen(z) != 1)
        return fail(err, errlen, "zone in '%s' must be one digit 0-9", key);
    int zone = z[0] - '0';
    size_t vl = strlen(val);
    if (!all_digits(val, vl))
        return fail(err, errlen, "value of '%s' is not a number", key);

    int64_t v_ms;
    if (!strcmp(f, "unix")) {
        if (vl > 19)
            return fail(err, errlen, "value of '%s' is out of range", key);
        unsigned long long v = strtoull(val, NULL, 10);   /* <= 19 digits: no wrap */
        /* Bounded in its own unit before any arithmetic: every later sum
         * (zone, window, segment lengths) then stays far from INT64_MAX. */
        if (v / (unsigned long long)per_s > (unsigned long long)LE_LHS_MAX_S)
            return fail(err, errlen, "value of '%s' is out of range", key);
        /* Milliseconds, rounding sub-ms units down. */
        v_ms = per_s >= 1000 ? (int64_t)(v / (unsigned long long)(per_s / 1000)) : (int64_t)v * 1000;
        if (strcmp(t, "offset") != 0)
            v_ms -= (int64_t)zone * 3600 * 1000;
    } else {
        if (!strcmp(t, "offset"))
            return fail(err, errlen, "'%s': an offset is a duration, use the unix format", key);
        if (vl != 14 + (size_t)digits)
            return fail(err, errlen, "value of '%s' is not YYYYMMDDhhmmss (plus sub-second digits for the unit)", key);
        char date[15];
        memcpy(date, val, 14);
        date[14] = '\0';
        int64_t secs = human_secs(date);
        if (secs < 0 || secs > LE_LHS_MAX_S)
            return fail(err, errlen, "value of '%s' is not a date", key);
        int64_t frac_ms = 0;
        if (digits) {
            char fr[4] = { val[14], val[15], val[16], '\0' };
            frac_ms = atoi(fr);
        }
        v_ms = (secs - (int64_t)zone * 3600) * 1000 + frac_ms;
    }
    snprintf(type, typesz, "%s", t);
    *ms = v_ms;
    return 0;
}

int le_lhs_parse(const char *q, size_t n, int64_t now_ms, int64_t retention_ms, le_lhs *out,
                 char *err, size_t errlen)
{
    int marker = 0, have[4] = { 0 };
    int64_t vals[4] = { 0 };
    static const char *const types[4] = { "start", "end", "vodend", "offset" };
    memset(out, 0, sizeof(*out));
    if (errlen)
        err[0] = '\0';

    for (size_t i = 0; i < n;) {
        size_t end = i;
        while (end < n && q[end] != '&')
            end++;
        char key[64], val[64];
        const char *eq = memchr(q + i, '=', end - i);
        size_t kl = eq ? (size_t)(eq - (q + i)) : end - i;
        size_t vstart = eq ? (size_t)(eq - q) + 1 : end;
        if (kl >= 4 && memcmp(q + i, "lhs_", 4) == 0) {
            if (kl >= sizeof(key))
                return fail(err, errlen, "unknown time-shift argument '%s'", "(too long)");
            memcpy(key, q + i, kl);
            key[kl] = '\0';
            if (le_lhs_decode(q + vstart, end - vstart, val, sizeof(val)) != 0)
                return fail(err, errlen, "value of '%s' is malformed", key);
            if (!strcmp(key, "lhs_start")) {
                if (strcmp(val, "1") != 0)
                    return fail(err, errlen, "lhs_start must be 1, not '%s'", val);
                marker = 1;
            } else {
                char type[16];
                int64_t ms;
                int rc = le_lhs_time(key, val, type, sizeof(type), &ms, err, errlen);
                if (rc)
                    return rc;
                for (int k = 0; k < 4; k++)
                    if (!strcmp(type, types[k])) {
                        if (have[k])
                            return fail(err, errlen, "time-shift %s given twice", type);
                        have[k] = 1;
                        vals[k] = ms;
                    }
            }
        } else if (kl == 9 && memcmp(q + i, "aliyunols", 9) == 0) {
            if (end - vstart != 2 || memcmp(q + vstart, "on", 2) != 0)
                return fail(err, errlen, "aliyunols must be 'on'%s", "");
            marker = 1;
        }
        i = end + 1;
    }

    int any = have[0] || have[1] || have[2] || have[3];
    if (!any)
        return marker ? fail(err, errlen, "time-shift request without a time argument%s", "") : 0;
    if (have[3]) {
        if (have[0] || have[1] || have[2])
            return fail(err, errlen, "an offset cannot be combined with start, end or vodend%s", "");
        if (vals[3] < 0 || vals[3] > retention_ms)
            return fail(err, errlen, "the offset reaches beyond the retention window%s", "");
        out->mode = LE_LHS_SLIDING;
        out->offset_ms = vals[3];
        return 0;
    }
    if (!have[0])
        return fail(err, errlen, "end or vodend without a start%s", "");
    if (have[1] && have[2])
        return fail(err, errlen, "end and vodend are exclusive%s", "");
    int64_t start = vals[0], stop = have[1] ? vals[1] : have[2] ? vals[2] : 0;
    /* An end at the epoch is still an end: 0 only means open in *out. */
    if ((have[1] || have[2]) && stop < start)
        return fail(err, errlen, "the end is before the start%s", "");
    if (start < now_ms - retention_ms)
        return fail(err, errlen, "the start is older than the retention window%s", "");
    if (start > now_ms + 60000)
        return fail(err, errlen, "the start is in the future%s", "");
    out->start_ms = start;
    out->end_ms = stop;
    out->mode = have[2] ? LE_LHS_VOD : have[1] ? LE_LHS_EVENT_END : LE_LHS_EVENT;
    return 0;
}
