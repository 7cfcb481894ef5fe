#include "admin/params.h"
#include "core/err.h"
#include "core/util.h"
#include "store/store.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void le_params_invalid(le_admin_req *r, const char *name)
{
    char msg[300];
    snprintf(msg, sizeof(msg), "The specified parameter \"%s\" is not valid.", name);
    le_admin_error(r, 400, "InvalidParameter", msg);
}

void le_params_unavailable(le_admin_req *r)
{
    le_admin_error(r, 503, "ServiceUnavailable",
                   "The request has failed due to a temporary failure of the server (state store unreachable).");
}

int le_params_store(le_admin_req *r)
{
    if (le_store_connected())
        return LE_OK;
    le_params_unavailable(r);
    return LE_EIO;
}

static const char *const QUOTA_HSET_LUA =
    "if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 and "
    "redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end "
    "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) "
    "redis.call('SADD', KEYS[2], ARGV[4]) return 1";
static const char *const QUOTA_HDEL_LUA =
    "local n = redis.call('HDEL', KEYS[1], ARGV[1]) "
    "if redis.call('HLEN', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[2]) end return n";

int le_params_quota_hset(le_admin_req *r, le_store_cb cb, void *arg, const char *key, const char *dkey,
                         const char *field, const char *value, size_t vlen, int max, const char *member)
{
    char maxs[16];
    snprintf(maxs, sizeof(maxs), "%d", max);
    const char *argv[] = { "EVAL", QUOTA_HSET_LUA, "2", key, dkey, field, value, maxs, member };
    size_t argvlen[] = { 4, strlen(QUOTA_HSET_LUA), 1, strlen(key), strlen(dkey), strlen(field), vlen, strlen(maxs),
                         strlen(member) };
    if (le_store_cmdargv(cb, arg, 9, argv, argvlen) != 0) {
        le_params_unavailable(r);
        return LE_EIO;
    }
    return LE_OK;
}

int le_params_quota_stored(le_admin_req *r, const struct redisReply *rep, const char *code, const char *what,
                           int max)
{
    if (!rep || rep->type != REDIS_REPLY_INTEGER) {
        le_params_unavailable(r);
        return 0;
    }
    if (rep->integer == 0) {
        char msg[200];
        snprintf(msg, sizeof(msg), "The number of %s of the domain exceeds the limit of %d.", what, max);
        le_admin_error(r, 400, code, msg);
        return 0;
    }
    return 1;
}

int le_params_quota_hdel(le_admin_req *r, le_store_cb cb, void *arg, const char *key, const char *dkey,
                         const char *field, const char *member)
{
    if (le_store_cmd(cb, arg, "EVAL %s 2 %s %s %s %s", QUOTA_HDEL_LUA, key, dkey, field, member) != 0) {
        le_params_unavailable(r);
        return LE_EIO;
    }
    return LE_OK;
}

int le_params_domain(le_admin_req *r, const char *name, le_domain **out)
{
    const char *v;
    if (le_admin_require(r, name, &v) != 0)
        return LE_EINVAL;
    le_domain *d = le_domain_get(v);
    if (!d) {
        le_admin_error(r, 404, "InvalidDomain.NotFound", "The domain provided does not belong to you.");
        return LE_ENOTFOUND;
    }
    *out = d;
    return LE_OK;
}

le_domain *le_params_play_domain(le_domain *d)
{
    if (!d->edge)
        return d;
    le_domain *p = d->play ? le_domain_get(d->play) : NULL;
    return p && !p->edge ? p : NULL;
}

#define PAGE_NUM_MAX 1000000000000LL

static int parse_int(const char *s, int64_t *out)
{
    char *end;
    if (!s || !*s)
        return LE_EINVAL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end || errno || v < -PAGE_NUM_MAX || v > PAGE_NUM_MAX)
        return LE_EINVAL;
    *out = v;
    return LE_OK;
}

int le_params_page(le_admin_req *r, int64_t max_num, int64_t max, int64_t def, int64_t *num,
                   int64_t *size)
{
    const char *pn = le_admin_param(r, "PageNum");
    const char *pname = "PageNum";
    if (!pn) {
        pn = le_admin_param(r, "PageNumber");
        pname = "PageNumber";
    }
    *num = 1;
    *size = def;
    if (max_num <= 0)
        max_num = PAGE_NUM_MAX;
    if (pn && (parse_int(pn, num) != 0 || *num < 1 || *num > max_num)) {
        le_params_invalid(r, pname);
        return LE_EINVAL;
    }
    const char *ps = le_admin_param(r, "PageSize");
    if (ps && (parse_int(ps, size) != 0 || *size < 1 || *size > max)) {
        le_params_invalid(r, "PageSize");
        return LE_EINVAL;
    }
    return LE_OK;
}

/* The error codes of the API reference's monitoring chapter for a bad
 * StartTime / EndTime; any other time parameter is InvalidParameter. */
static void bad_time(le_admin_req *r, const char *name)
{
    char msg[300];
    if (strcmp(name, "StartTime") == 0) {
        le_admin_error(r, 400, "InvalidStartTime.Malformed",
                       "Specified start time is malformed: use UTC YYYY-MM-DDThh:mm:ssZ.");
    } else if (strcmp(name, "EndTime") == 0) {
        le_admin_error(r, 400, "InvalidEndTime.Malformed",
                       "Specified end time is malformed: use UTC YYYY-MM-DDThh:mm:ssZ.");
    } else {
        snprintf(msg, sizeof(msg),
                 "The specified parameter \"%s\" is not valid: use UTC YYYY-MM-DDThh:mm:ssZ.", name);
        le_admin_error(r, 400, "InvalidParameter", msg);
    }
}

int le_params_time(le_admin_req *r, const char *name, int required, int64_t dflt, int64_t *ms)
{
    const char *v = le_admin_param(r, name);
    if (!v || !*v) {
        if (required) {
            const char *dummy;
            return le_admin_require(r, name, &dummy) == 0 ? LE_OK : LE_EINVAL;
        }
        *ms = dflt;
        return LE_OK;
    }
    if (le_parse_utc(v, ms) != 0) {
        bad_time(r, name);
        return LE_EINVAL;
    }
    return LE_OK;
}

int le_params_window(le_admin_req *r, int required, int64_t max_ms, int64_t dflt_span,
                     int64_t *start, int64_t *end)
{
    int64_t now = le_wall_ms();
    if (le_params_time(r, "EndTime", required, now, end) != 0 ||
        le_params_time(r, "StartTime", required, *end - dflt_span, start) != 0)
        return LE_EINVAL;
    if (*end < *start) {
        le_admin_error(r, 400, "InvalidEndTime.Mismatch",
                       "Specified end time does not match the specified start time (EndTime is earlier).");
        return LE_EINVAL;
    }
    if (*end - *start > max_ms) {
        char msg[200];
        snprintf(msg, sizeof(msg),
                 "The time span between StartTime and EndTime exceeds %lld days.",
                 (long long)(max_ms / LE_DAY_MS));
        le_admin_error(r, 400, "InvalidStartTime.ValueNotSupported", msg);
        return LE_EINVAL;
    }
    return LE_OK;
}

int le_params_end_not_future(le_admin_req *r, int64_t end)
{
    /* A second of grace: EndTime has second resolution. */
    if (end > le_wall_ms() + 1000) {
        le_admin_error(r, 400, "InvalidEndTime.BeyondCurrent", "EndTime beyond current time.");
        return LE_EINVAL;
    }
    return LE_OK;
}

int le_params_enum(le_admin_req *r, const char *name, const char *const *values, const char *dflt,
                   const char **out)
{
    const char *v = le_admin_param(r, name);
    if (!v || !*v) {
        *out = dflt;
        return LE_OK;
    }
    for (int i = 0; values[i]; i++)
        if (strcmp(values[i], v) == 0) {
            *out = values[i];
            return LE_OK;
        }
    le_params_invalid(r, name);
    return LE_EINVAL;
}

int le_params_order_page(le_admin_req *r, const char *dflt, int64_t min_size, int64_t max, int64_t def,
                         const char **order, int64_t *num, int64_t *size)
{
    static const char *const orders[] = { "asc", "desc", NULL };
    if (le_params_enum(r, "Order", orders, dflt, order) != 0 || le_params_page(r, 0, max, def, num, size) != 0)
        return LE_EINVAL;
    if (*size < min_size) {
        le_params_invalid(r, "PageSize");
        return LE_EINVAL;
    }
    return LE_OK;
}

void le_params_paging_reply(le_jv *body, int64_t num, int64_t size, int64_t total)
{
    le_jv_set_int(body, "PageNum", num);
    le_jv_set_int(body, "PageSize", size);
    le_jv_set_int(body, "TotalNum", total);
    le_jv_set_int(body, "TotalPage", (total + size - 1) / size);
}

const char *le_params_mask_secret(const char *secret, char *out, size_t outsz)
{
    size_t n = secret ? strlen(secret) : 0;
    if (n == 0)
        snprintf(out, outsz, "%s", "");
    else if (n < 8)
        snprintf(out, outsz, "%s", "****");
    else
        snprintf(out, outsz, "****%s", secret + n - 2);
    return out;
}

int le_params_domain_play(le_admin_req *r, le_domain **out)
{
    le_domain *d;
    int rc = le_params_domain(r, "DomainName", &d);
    if (rc != 0)
        return rc;
    *out = le_params_play_domain(d);
    if (!*out) {
        le_admin_error(r, 400, "InvalidParameter",
                       "The specified parameter \"DomainName\" is a push domain not mapped to a play domain.");
        return LE_EINVAL;
    }
    return 0;
}

int le_params_app_stream(le_admin_req *r, const char **app, const char **stream)
{
    if (le_admin_require(r, "AppName", app) != 0 || le_admin_require(r, "StreamName", stream) != 0)
        return LE_EINVAL;
    if (!le_name_valid(*app, strlen(*app))) {
        le_params_invalid(r, "AppName");
        return LE_EINVAL;
    }
    if (!le_name_valid(*stream, strlen(*stream))) {
        le_params_invalid(r, "StreamName");
        return LE_EINVAL;
    }
    return 0;
}

void le_params_invalid_why(le_admin_req *r, const char *name, const char *why)
{
    char msg[400];
    snprintf(msg, sizeof(msg), "The specified parameter \"%s\" is not valid: %s.", name, why);
    le_admin_error(r, 400, "InvalidParameter", msg);
}

int le_params_int_range(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    char *end;
    if (!s || !*s)
        return LE_EINVAL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end || errno || v < lo || v > hi)
        return LE_EINVAL;
    *out = v;
    return LE_OK;
}

int le_params_bucket_ok(const char *b)
{
    size_t n = strlen(b);
    if (n < 3 || n > 63 || b[0] == '-' || b[n - 1] == '-')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((b[i] >= 'a' && b[i] <= 'z') || (b[i] >= '0' && b[i] <= '9') || b[i] == '-'))
            return 0;
    return 1;
}

int le_params_endpoint_ok(const char *e)
{
    size_t n = strlen(e);
    if (n < 1 || n > 255)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = e[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
              ch == ':' || ch == '/' || ch == '_' || ch == '-'))
            return 0;
    }
    return 1;
}

/* Glob-escapes s into out (a MATCH pattern). */
static void glob_escape(const char *s, char *out, size_t n)
{
    size_t j = 0;
    for (; *s && j + 2 < n; s++) {
        if (strchr("*?[]\\", *s))
            out[j++] = '\\';
        out[j++] = *s;
    }
    out[j] = '\0';
}

int le_params_scan_online(le_store_cb cb, void *arg, const char *dask, const char *cursor)
{
    char key[300], esc[1700], pat[1710];
    le_store_key(key, sizeof(key), "online");
    glob_escape(dask, esc, sizeof(esc));
    snprintf(pat, sizeof(pat), "*|%s", esc);
    return le_store_cmd(cb, arg, "HSCAN %s %s MATCH %s COUNT 500", key, cursor, pat);
}
