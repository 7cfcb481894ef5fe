/* Failure returns of the core helpers and the small parsers built on them
 * are project codes (core/err.h), never a bare -1, which reads as
 * LE_EAGAIN ("need more input") through le_strerror. */
#include "admin/form.h"
#include "core/err.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "media/amf.h"
#include "timeshift/writer.h"
#include "tap.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    char out[16];
    int64_t ms;

    /* Query strings and percent-decoding. */
    is_int(le_query_get("a=1&b=2", 7, "c", out, sizeof out), LE_ENOTFOUND, "query_get: absent key");
    is_int(le_query_get("a=0123456789abcdefXYZ", 21, "a", out, sizeof out), LE_ETOOBIG,
           "query_get: value longer than the buffer");
    is_int(le_query_get("a=%zz", 5, "a", out, sizeof out), LE_EINVAL, "query_get: bad escape");
    is_int(le_query_get("a=%41", 5, "a", out, sizeof out), 1, "query_get: a decoded value still returns its length");
    is_str(out, "A", "query_get: decoded");
    is_int(le_url_decode("%4", 2, out, sizeof out, 0), LE_EINVAL, "url_decode: truncated escape");
    is_int(le_url_decode("abcd", 4, out, 4, 0), LE_ETOOBIG, "url_decode: no room for the NUL");

    /* Times and durations. */
    is_int(le_parse_duration_ms("5x", &ms), LE_EINVAL, "duration: bad unit");
    is_int(le_parse_duration_ms("-5", &ms), LE_EINVAL, "duration: negative");
    is_int(le_parse_utc("2024-02-30T00:00:00Z", &ms), LE_EINVAL, "parse_utc: Feb 30");
    is_int(le_civil_secs(1969, 12, 31, 0, 0, 0), LE_EINVAL, "civil_secs: before 1970");
    int64_t ts;
    is_int(le_admin_parse_timestamp("2024-01-01T00:00:00", &ts), LE_EINVAL, "admin Timestamp: no Z");
    is_int(le_log_level_parse("loud"), LE_EINVAL, "log level: unknown name");

    /* JSON member lookups. */
    le_jv *o = le_jv_obj();
    le_jv_set_str(o, "s", "x");
    le_jv_set_num(o, "f", 0.5);
    le_jv_set_int(o, "i", 7);
    int64_t iv;
    is_int(le_jv_get_int(o, "missing", &iv), LE_ENOTFOUND, "jv_get_int: absent member");
    is_int(le_jv_get_int(o, "s", &iv), LE_EINVAL, "jv_get_int: a string");
    is_int(le_jv_get_int(o, "f", &iv), LE_EINVAL, "jv_get_int: 0.5");
    ok(le_jv_get_int(o, "i", &iv) == 0 && iv == 7, "jv_get_int: an int");
    le_jv_free(o);

    /* The admin form parser: one code per refusal. */
    le_sign_param *p = NULL;
    size_t np = 0;
    char msg[128];
    is_int(le_admin_form_parse("a=%zz", 5, &p, &np, 8, msg, sizeof msg), LE_EINVAL, "form: bad escape");
    le_admin_form_free(p, np);
    p = NULL, np = 0;
    is_int(le_admin_form_parse("a=1&a=2", 7, &p, &np, 8, msg, sizeof msg), LE_EEXIST, "form: name twice");
    le_admin_form_free(p, np);
    p = NULL, np = 0;
    is_int(le_admin_form_parse("a=1&b=2&c=3", 11, &p, &np, 2, msg, sizeof msg), LE_ETOOBIG,
           "form: more than max pairs");
    le_admin_form_free(p, np);

    /* AMF string copies. */
    is_int(le_amf_str_copy(NULL, out, sizeof out), LE_EINVAL, "amf str_copy: no value");

    /* The time-shift writer: a second start is refused as such. */
    struct event_base *base = event_base_new();
    char err[128];
    is_int(le_tsw_start(base, 1, 0, 0, err, sizeof err), 0, "writer starts");
    is_int(le_tsw_start(base, 1, 0, 0, err, sizeof err), LE_EEXIST, "writer: second start is LE_EEXIST");
    le_tsw_stop(1000);
    event_base_free(base);

    /* And none of these reads as "need more input". */
    ok(strcmp(le_strerror(LE_EINVAL), le_strerror(LE_EAGAIN)) != 0, "LE_EINVAL and LE_EAGAIN read differently");
    return done_testing();
}
