/* Time-shift index codecs: file names, members, spans, discontinuities,
 * the segment URL form. Expected days computed with python3
 * datetime.utcfromtimestamp, independently of the code under test. */
#include "tap.h"
#include "core/err.h"
#include "timeshift/index.h"
#include "timeshift/ts_http.h"

static int pn(const char *s, le_tsi_ent *e) { return le_tsi_name_parse(s, strlen(s), e); }
static int pm(const char *s, le_tsi_ent *e) { return le_tsi_member_parse(s, strlen(s), e); }

int main(void)
{
    char buf[256], day[9];
    le_tsi_ent e = { 1700000000123LL, 2002, 1700000000100ULL, 1700000000100ULL, 1 }, g;

    /* Day directories are UTC. */
    le_tsi_day(1700000000123LL, day);
    is_str(day, "20231114", "day of 2023-11-14T22:13:20Z");
    le_tsi_day(1508889599999LL, day);
    is_str(day, "20171024", "last ms of a UTC day");
    le_tsi_day(1508889600000LL, day);
    is_str(day, "20171025", "first ms of the next");

    /* File names round-trip. */
    is_int(le_tsi_name_build(&e, buf, sizeof(buf)), 0, "name builds");
    is_str(buf, "1700000000123-1700000000100-2002-1700000000100-d.ts", "name shape with the disc flag");
    is_int(pn(buf, &g), 0, "name parses");
    ok(g.start_ms == e.start_ms && g.duration_ms == e.duration_ms && g.seq == e.seq && g.dseq == e.dseq &&
       g.disc == 1, "name round-trips every field");
    e.disc = 0;
    le_tsi_name_build(&e, buf, sizeof(buf));
    is_str(buf, "1700000000123-1700000000100-2002-1700000000100.ts", "name without the flag");
    is_int(le_tsi_rel_build(&e, buf, sizeof(buf)), 0, "relative path builds");
    is_str(buf, "20231114/1700000000123-1700000000100-2002-1700000000100.ts", "relative path is day/name");
    is_int(pn("0-0-1-0.ts", &g), 0, "smallest name");
    ok(g.start_ms == 0 && g.seq == 0 && g.duration_ms == 1 && g.dseq == 0 && g.disc == 0,
       "smallest name: every field parsed");

    const char *bad_names[] = {
        "", ".ts", "1-2-3.ts", "1-2-3-4-5.ts", "1-2-3-4-x.ts", "01-2-3-4.ts", "1-2-0-4.ts",
        "1-2-60001-4.ts", "1-2-3-4.TS", "1-2-3-4.ts.tmp", "1-2-3-4-d.ts ", "-1-2-3-4.ts",
        "1-2-3-18446744073709551616.ts", "1000000000000000-2-3-4.ts", "1-2-3-4-dd.ts", "1--3-4.ts",
        "../1-2-3-4.ts", "1-2-3-4/.ts",
    };
    for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++)
        ok(pn(bad_names[i], &g) == LE_EINVAL, "name refused: '%s'", bad_names[i]);
    le_tsi_ent bad_e = { 1, 0, 1, 1, 0 };
    is_int(le_tsi_name_build(&bad_e, buf, sizeof(buf)), LE_EINVAL, "zero duration cannot be named");
    bad_e.duration_ms = LE_TSI_MAX_SEG_MS + 1;
    is_int(le_tsi_name_build(&bad_e, buf, sizeof(buf)), LE_EINVAL, "overlong duration cannot be named");
    is_int(le_tsi_name_build(&e, buf, 10), LE_EINVAL, "no room: refused, not truncated");
    is_int(le_tsi_rel_build(&e, buf, 20), LE_EINVAL, "relative path, no room: refused");
    is_int(le_tsi_member_build(&e, buf, 40), LE_EINVAL, "member, no room: refused");

    /* Members. */
    e.disc = 1;
    is_int(le_tsi_member_build(&e, buf, sizeof(buf)), 0, "member builds");
    is_str(buf, "1700000000123|2002|1700000000100|1|1700000000100|20231114/1700000000123-1700000000100-2002-1700000000100-d.ts",
           "member shape");
    is_int(pm(buf, &g), 0, "member parses");
    ok(g.start_ms == e.start_ms && g.duration_ms == 2002 && g.seq == e.seq && g.disc == 1 &&
       g.dseq == e.dseq, "member round-trips");
    const char *bad_members[] = {
        "1700000000123|2002|1700000000100|1|1700000000100|20231114/1700000000123-1700000000100-2002-1700000000100.ts",
        "1700000000123|2002|1700000000100|1|1700000000100|20231115/1700000000123-1700000000100-2002-1700000000100-d.ts",
        "1700000000123|2002|1700000000100|1|1700000000100|../../etc/passwd",
        "1700000000123|2002|1700000000100|2|1700000000100|x",
        "1700000000123|2002|1700000000100|1|1700000000100",
        "garbage",
        "",
    };
    for (size_t i = 0; i < sizeof(bad_members) / sizeof(bad_members[0]); i++)
        ok(pm(bad_members[i], &g) == LE_EINVAL, "member refused (%zu)", i);

    /* Spans: touching within 1 s merge, a longer gap splits. */
    le_tsi_ent s[] = {
        { 10000, 1000, 1, 1, 0 }, { 11000, 1000, 2, 1, 0 }, { 12500, 1000, 3, 1, 0 },  /* 0.5 s gap */
        { 15000, 2000, 4, 2, 1 },                                                       /* 1.5 s gap */
        { 17000, 1000, 5, 2, 0 }, { 18000, 1000, 6, 2, 0 }, { 20000, 500, 7, 2, 0 },    /* exactly 1 s */
    };
    le_tsi_span sp[4];
    size_t nsp = 0;
    int span_rc = 0;
    for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
        span_rc |= le_tsi_span_add(sp, 4, &nsp, &s[i]);
    is_int(span_rc, 0, "every entry fits");
    is_int(nsp, 2, "two spans");
    ok(sp[0].start_ms == 10000 && sp[0].end_ms == 13500, "first span 10.0-13.5");
    ok(sp[1].start_ms == 15000 && sp[1].end_ms == 20500, "second span 15.0-20.5 (a 1 s gap still touches)");
    le_tsi_span one[1];
    size_t n1 = 0;
    le_tsi_span_add(one, 1, &n1, &s[0]);
    is_int(le_tsi_span_add(one, 1, &n1, &s[3]), LE_ETOOBIG, "a full span array says so");

    /* Discontinuities and the sliding window's consecutive tail. */
    int disc[8];
    size_t first = le_tsi_prepare(s, 7, 0, disc);
    is_int(first, 0, "no tail cut without consecutive_tail");
    ok(!disc[0] && !disc[1] && !disc[2] && disc[3] && !disc[4] && !disc[5] && !disc[6],
       "disc where dseq changes or the gap exceeds 1 s, never on the first");
    le_tsi_ent gap[] = { { 1000, 1000, 5, 9, 0 }, { 2000, 1000, 6, 9, 0 }, { 4500, 1000, 7, 9, 0 } };
    le_tsi_prepare(gap, 3, 0, disc);
    ok(!disc[1] && disc[2], "a 1.5 s gap is a discontinuity even with the same dseq");
    le_tsi_ent run[] = { { 1000, 1000, 5, 1, 0 }, { 2000, 1000, 6, 1, 0 }, { 9000, 1000, 9000, 9000, 1 },
                         { 10000, 1000, 9001, 9000, 0 } };
    first = le_tsi_prepare(run, 4, 1, disc);
    is_int(first, 2, "sliding: only the consecutive tail after a renumbering");
    ok(!disc[2] && !disc[3], "the first listed entry carries no tag");
    disc[0] = -1;
    is_int(le_tsi_prepare(run, 1, 1, disc), 0, "one entry");
    is_int(disc[0], 0, "one entry: no discontinuity tag");

    /* Segment URL file names. */
    size_t stem = 0;
    const char *u = "cam.lhs.1700000000123-1700000000100-2002-1700000000100-d.ts";
    ok(le_ts_http_segment_file(u, strlen(u), &stem) && stem == 3, "Stream.lhs.{name} is a time-shift segment");
    u = "my.lhs.cam.lhs.1-2-3-4.ts";
    ok(le_ts_http_segment_file(u, strlen(u), &stem) && stem == 10, "the last mark splits");
    const char *not_seg[] = { "cam-12.ts", "cam.lhs.1-2-3.ts", ".lhs.1-2-3-4.ts", "cam.lhs.1-2-3-4-5.ts",
                              "cam.m3u8", "cam.lhs.1-2-3-4.ts.tmp", "a/b.lhs.1-2-3-4.ts" };
    for (size_t i = 0; i < sizeof(not_seg) / sizeof(not_seg[0]); i++)
        ok(!le_ts_http_segment_file(not_seg[i], strlen(not_seg[i]), &stem), "not a time-shift segment: %s",
           not_seg[i]);
    ok(le_ts_http_wanted("aliyunols=on", 12), "aliyunols asks for time-shift");
    ok(le_ts_http_wanted("a=1&lhs_offset_unix_s_0=5", 25), "an lhs_ argument asks for time-shift");
    ok(!le_ts_http_wanted("auth_key=1-2-3-4&vhost=x", 24), "plain arguments do not");
    ok(!le_ts_http_wanted("aliyunolsx=1", 12), "a longer key is not aliyunols");
    return done_testing();
}
