/* lhs_ time-shift arguments. Expected instants were computed with python3
 * calendar.timegm, independently of the code under test. */
#include "tap.h"
#include "timeshift/lhs.h"
#include "core/err.h"

#define NOW 1508832300000LL          /* 2017-10-24T08:05:00Z */
#define RET (7LL * 86400 * 1000)

static int parse(const char *q, le_lhs *l, char *err)
{
    return le_lhs_parse(q, strlen(q), NOW, RET, l, err, 200);
}

int main(void)
{
    le_lhs l;
    char err[200];
    int64_t ms;
    char type[16];

    is_int(parse("auth_key=x&foo=1", &l, err), 0, "plain live request");
    is_int(l.mode, LE_LHS_NONE, "not time-shift");

    /* The API reference's request example: human time in zone 8. */
    is_int(parse("lhs_start=1&lhs_start_human_s_8=20171024160220&lhs_end_human_s_8=20171024160420", &l, err),
           0, "seed example parses");
    is_int(l.mode, LE_LHS_EVENT_END, "start+end is an event playlist with an end");
    is_int(l.start_ms, 1508832140000LL, "human zone 8 start is UTC-8h");
    is_int(l.end_ms, 1508832260000LL, "human zone 8 end");

    /* The same window as unix seconds and unix ms, zone 0. */
    is_int(parse("lhs_start_unix_s_0=1508832140&lhs_vodend_unix_ms_0=1508832260000", &l, err), 0, "unix s/ms");
    ok(l.mode == LE_LHS_VOD && l.start_ms == 1508832140000LL && l.end_ms == 1508832260000LL,
       "vodend makes a VOD window");
    is_int(parse("aliyunols=on&lhs_start_unix_us_0=1508832140123456", &l, err), 0, "unix us");
    ok(l.mode == LE_LHS_EVENT && l.start_ms == 1508832140123LL, "us rounded down to ms, start alone is an event");
    is_int(parse("lhs_start_unix_ns_0=1508832140123456789", &l, err), 0, "unix ns");
    is_int(l.start_ms, 1508832140123LL, "ns to ms");
    is_int(parse("lhs_start_human_ms_0=20171024080220500", &l, err), 0, "human with ms digits");
    is_int(l.start_ms, 1508832140500LL, "human ms");

    /* The reference's other examples agree once unix+zone shifts by the zone. */
    is_int(le_lhs_time("lhs_start_unix_s_0", "1502280113", type, sizeof(type), &ms, err, 200), 0, "seed unix s 0");
    is_int(ms, 1502280113000LL, "epoch as given");
    is_int(le_lhs_time("lhs_end_human_s_8", "20170809200010", type, sizeof(type), &ms, err, 200), 0, "seed human 8");
    is_int(ms, 1502280010000LL, "2017-08-09T12:00:10Z");
    is_str(type, "end", "type reported");

    is_int(parse("lhs_offset_unix_s_0=30", &l, err), 0, "offset");
    ok(l.mode == LE_LHS_SLIDING && l.offset_ms == 30000, "offset is a sliding window 30 s behind");

    /* Bad arguments: each is LE_EINVAL with a reason. */
    const char *bad[] = {
        "lhs_begin_unix_s_0=1508832140",                 /* unknown type */
        "lhs_start_unix_min_0=1508832140",               /* wrong unit */
        "lhs_start_epoch_s_0=1508832140",                /* wrong format */
        "lhs_start_unix_s_0=15088x2140",                 /* non-numeric */
        "lhs_start_unix_s_0=",                           /* empty */
        "lhs_start_human_s_8=20171332160220",            /* month 13 */
        "lhs_start_human_s_8=20170230160220",            /* Feb 30 */
        "lhs_start_human_s_8=2017102416022",             /* short */
        "lhs_start_unix_s_10=1508832140",                /* zone outside 0-9 */
        "lhs_start_unix_s_a=1508832140",                 /* zone not a digit */
        "lhs_start_unix_s_0=1508832260&lhs_end_unix_s_0=1508832140", /* end before start */
        "lhs_start_unix_s_0=1508832140&lhs_end_unix_s_0=1508832260&lhs_vodend_unix_s_0=1508832260",
        "lhs_end_unix_s_0=1508832260",                   /* end without start */
        "lhs_offset_unix_s_0=5&lhs_start_unix_s_0=1508832140",
        "lhs_start_unix_s_0=1500000000",                 /* beyond 7 d retention */
        "lhs_offset_unix_s_0=999999999",                 /* offset beyond retention */
        "lhs_offset_human_s_0=20171024080220",           /* human offset */
        "lhs_start=1",                                   /* marker without time */
        "lhs_start=2&lhs_start_unix_s_0=1508832140",
        "lhs_start_unix_s_0=1508832140&lhs_start_unix_s_0=1508832141", /* twice */
        "lhs_start_unix_s_0=99999999999999999999",       /* overflow */
        "lhs_start_unix_s_0_x=1508832140",               /* trailing junk */
        "aliyunols=off&lhs_start_unix_s_0=1508832140",
        /* Found by fuzz/fuzz_lhs.c: an end at the epoch was taken as open. */
        "lhs_start_human_ns_3=20171024080220123456789&lhs_end_unix_ns_0=000000",
        /* Found by fuzz/fuzz_lhs.c: seconds were scaled to ms (overflowing
         * int64) before the range check; UBSan builds caught it. */
        "lhs_start_unix_s_0=9999999999999999",
        /* An encoded NUL ends the C string early: the value must not pass. */
        "lhs_start_unix_s_0=1508832140%00",
        "lhs_start_unix_s_0=1508832140%0099",
        "lhs_start=1%00&lhs_start_unix_s_0=1508832140",
        "lhs_start_unix_s_0=1508832140&lhs_end_unix_s_0=%001508832260",
        /* Past 9999-12-31 in their own unit: refused before any arithmetic
         * (INT64_MAX ms used to overflow a later signed add). */
        "lhs_start_unix_s_0=1508832140&lhs_end_unix_ms_0=9223372036854775807",
        "lhs_start_unix_s_0=1508832140&lhs_end_unix_us_0=9223372036854775807",
        "lhs_start_unix_s_0=1508832140&lhs_end_unix_s_0=253402300800",
        "lhs_start_unix_s_0=1508832140&lhs_vodend_unix_ms_0=253402300800000",
        "lhs_offset_unix_ms_0=9223372036854775807",
    };
    /* The largest accepted values still parse, and leave headroom. */
    is_int(parse("lhs_start_unix_s_0=1508832140&lhs_end_unix_s_0=253402300799", &l, err), 0,
           "end at 9999-12-31T23:59:59Z accepted");
    is_int(l.end_ms, 253402300799000LL, "... as ms");
    is_int(parse("lhs_start_unix_s_0=1508832140&lhs_end_unix_ns_0=9223372036854775807", &l, err), 0,
           "the largest ns value is within range");
    is_int(l.end_ms, 9223372036854LL, "... as ms");
    is_int(le_lhs_time("lhs_end_human_s_0", "99991231235959", type, sizeof(type), &ms, err, 200), 0,
           "human 9999-12-31T23:59:59 accepted");
    char dv[16];
    is_int(le_lhs_decode("12%003", 6, dv, sizeof(dv)), LE_EINVAL, "le_lhs_decode refuses %%00");
    is_int(le_lhs_decode("12%333", 6, dv, sizeof(dv)), 0, "le_lhs_decode decodes");
    is_str(dv, "1233", "... to the bytes");

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        int rc = parse(bad[i], &l, err);
        ok(rc == LE_EINVAL && err[0], "refused: %s (%s)", bad[i], err);
    }
    return done_testing();
}
