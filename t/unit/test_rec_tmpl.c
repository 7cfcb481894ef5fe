/* Object-key templates (src/record/tmpl.c): the check's refusals, exact
 * expansions, the escaped time, the extension and refused values. */
#include <string.h>

#include "core/err.h"
#include "record/tmpl.h"
#include "tap.h"

#define T0 1463736818000LL      /* 2016-05-20T09:33:38Z */
#define T1 1463740418500LL      /* 2016-05-20T10:33:38.5Z */

static char WHY[128];

static int check(const char *t)
{
    WHY[0] = 'x';
    WHY[1] = '\0';
    return le_rec_tmpl_check(t, WHY, sizeof(WHY));
}

static char OUT[LE_REC_KEY_MAX + 16];

static const char *expand(const char *t, const char *app, const char *stream, const char *ext, int *rc)
{
    le_rec_vars v = { app, stream, 7, T0, T1 };
    *rc = le_rec_tmpl_expand(t, &v, ext, OUT, sizeof(OUT));
    return OUT;
}

int main(void)
{
    int rc;
    char big[LE_REC_KEY_MAX + 8];

    /* the check */
    is_int(check(LE_REC_DEFAULT_PREFIX), LE_OK, "the default prefix passes");
    is_str(WHY, "", "... with an empty reason");
    is_int(check(LE_REC_DEFAULT_SLICE_PREFIX), LE_OK, "the default slice prefix passes");
    is_int(check("record/{AppName}/{StreamName}/{Sequence}{EscapedStartTime}{EscapedEndTime}"), LE_OK,
           "the cloud's example passes");
    is_int(check("{Date}/{Hour}/{Minute}_{Second}_{UnixTimestamp}"), LE_OK, "every time variable passes");
    is_int(check("a}b"), LE_OK, "a lone } is a plain character");
    is_int(check(""), LE_EINVAL, "empty refused");
    is_str(WHY, "empty", "... reason");
    is_int(check(NULL), LE_EINVAL, "NULL refused");
    is_int(check("/abs/{AppName}"), LE_EINVAL, "absolute refused");
    is_str(WHY, "an absolute path (starts with /)", "... reason");
    is_int(check("../x"), LE_EINVAL, "../ refused");
    is_str(WHY, "a . or .. path segment", "... reason");
    is_int(check("a/../x"), LE_EINVAL, "inner .. refused");
    is_int(check("a/./x"), LE_EINVAL, "inner . refused");
    is_int(check("a/.."), LE_EINVAL, "trailing .. refused");
    is_int(check("a..b/..c/c.."), LE_OK, "dots inside a segment are fine");
    is_int(check("a//b"), LE_EINVAL, "// refused");
    is_str(WHY, "an empty path segment (// or a trailing /)", "... reason");
    is_int(check("a/b/"), LE_EINVAL, "trailing / refused");
    is_int(check("a\\b"), LE_EINVAL, "backslash refused");
    is_str(WHY, "a backslash", "... reason");
    is_int(check("a\tb"), LE_EINVAL, "tab refused");
    is_str(WHY, "a control character", "... reason");
    is_int(check("a\x7f"), LE_EINVAL, "DEL refused");
    is_int(check("rec/{Nope}"), LE_EINVAL, "unknown variable refused");
    is_str(WHY, "an unknown variable {Nope}", "... reason names it");
    is_int(check("rec/{appname}"), LE_EINVAL, "variables are case-sensitive");
    is_int(check("rec/{AppName"), LE_EINVAL, "unclosed refused");
    is_str(WHY, "an unclosed {variable}", "... reason");
    is_int(check("rec/{}"), LE_EINVAL, "{} refused");
    memset(big, 'a', sizeof(big));
    big[LE_REC_KEY_MAX] = '\0';
    is_int(check(big), LE_EINVAL, "256 bytes refused");
    is_str(WHY, "256 bytes or longer", "... reason");
    big[LE_REC_KEY_MAX - 1] = '\0';
    is_int(check(big), LE_OK, "255 bytes accepted");

    /* escaped time */
    char et[24];
    is_str(le_rec_escaped_time(T0, et), "2016-05-20-09-33-38", "escaped time");
    is_str(le_rec_escaped_time(0, et), "1970-01-01-00-00-00", "escaped epoch");
    is_str(le_rec_escaped_time(-5, et), "1970-01-01-00-00-00", "negative clamps to the epoch");
    is_str(le_rec_escaped_time(INT64_MAX, et), "9999-12-31-23-59-59", "huge clamps to 9999");
    is_str(le_rec_escaped_time(951782400000LL, et), "2000-02-29-00-00-00", "leap day");

    /* expansion */
    is_str(expand(LE_REC_DEFAULT_PREFIX, "live", "cam", "flv", &rc),
           "record/live/cam/2016-05-20-09-33-38_2016-05-20-10-33-38.flv", "default prefix expands");
    is_int(rc, LE_OK, "... LE_OK");
    is_str(expand(LE_REC_DEFAULT_SLICE_PREFIX, "live", "cam", "ts", &rc), "record/live/cam/1463736818_7.ts",
           "default slice prefix expands");
    is_str(expand("record/{AppName}/{StreamName}/{Sequence}{EscapedStartTime}{EscapedEndTime}", "a", "b", "mp4",
                  &rc),
           "record/a/b/72016-05-20-09-33-382016-05-20-10-33-38.mp4", "the cloud's example expands");
    is_str(expand("{Date}/{Hour}/{Minute}_{Second}", "a", "b", "m3u8", &rc), "2016-05-20/09/33_38.m3u8",
           "date parts");
    is_str(expand("x/{Nope}/{AppName", "a", "b", NULL, &rc), "x/{Nope}/{AppName", "unknown kept as written, no ext");
    is_int(rc, LE_OK, "... LE_OK");
    is_str(expand("x/y.flv", "a", "b", "flv", &rc), "x/y.flv", "ext not doubled");
    is_str(expand("x/yflv", "a", "b", "flv", &rc), "x/yflv.flv", "ext appended after a name merely ending in it");
    is_str(expand("x/y.FLV", "a", "b", "flv", &rc), "x/y.FLV.flv", "ext compare is exact");
    is_str(expand("x/y", "a", "b", "", &rc), "x/y", "empty ext appends nothing");
    {
        le_rec_vars v = { "a", "b", 0, T0, 0 };
        le_rec_tmpl_expand("{EscapedStartTime}_{EscapedEndTime}", &v, NULL, OUT, sizeof(OUT));
        is_str(OUT, "2016-05-20-09-33-38_2016-05-20-09-33-38", "end unknown expands as the start");
    }

    /* values that could change the key's shape */
    expand("r/{AppName}/{StreamName}", "a/b", "c", "flv", &rc);
    is_int(rc, LE_EINVAL, "app with / refused");
    is_str(OUT, "", "... out emptied");
    expand("r/{AppName}/{StreamName}", "a", "..", "flv", &rc);
    is_int(rc, LE_EINVAL, "stream .. refused");
    expand("r/{AppName}/{StreamName}", "a", "x..y", "flv", &rc);
    is_int(rc, LE_EINVAL, "stream containing .. refused");
    expand("r/{AppName}/{StreamName}", ".", "c", "flv", &rc);
    is_int(rc, LE_EINVAL, "app . refused");
    expand("r/{AppName}/x", "a\nb", "c", "flv", &rc);
    is_int(rc, LE_EINVAL, "control byte refused");
    expand("r/{AppName}/x", "a\\b", "c", "flv", &rc);
    is_int(rc, LE_EINVAL, "backslash refused");
    expand("r/{AppName}/{StreamName}", "", "c", "flv", &rc);
    is_int(rc, LE_EINVAL, "empty app makes an empty segment: refused");
    expand(".{AppName}/x", ".a", "c", "flv", &rc);
    is_int(rc, LE_OK, "a value starting with a dot is fine where it makes no . segment");
    expand("/x/{AppName}", "a", "c", "flv", &rc);
    is_int(rc, LE_EINVAL, "an absolute template is refused by the expander too");
    is_str(expand("{StreamName}", "a", "c", "flv", &rc), "c.flv", "a bare name");

    /* sizes */
    memset(big, 'k', sizeof(big));
    big[LE_REC_KEY_MAX - 5] = '\0';   /* 251 + ".flv" = 255 */
    expand(big, "a", "b", "flv", &rc);
    is_int(rc, LE_OK, "a 255-byte key fits");
    is_int((long long)strlen(OUT), 255, "... 255 bytes");
    big[LE_REC_KEY_MAX - 5] = 'k';
    big[LE_REC_KEY_MAX - 4] = '\0';   /* 252 + ".flv" = 256 */
    expand(big, "a", "b", "flv", &rc);
    is_int(rc, LE_ETOOBIG, "a 256-byte key is too big");
    is_str(OUT, "", "... out emptied");
    {
        le_rec_vars v = { "a", "b", 0, T0, 0 };
        char small[8];
        is_int(le_rec_tmpl_expand("{AppName}/{StreamName}", &v, "flv", small, 7), LE_ETOOBIG,
               "does not fit n (\"a/b.flv\" needs 8)");
        is_int(le_rec_tmpl_expand("{AppName}/{StreamName}", &v, "flv", small, 8), LE_OK, "fits in 8");
        is_int(le_rec_tmpl_expand("{AppName}/{StreamName}", &v, NULL, small, 4), LE_OK, "exactly fits n");
        is_str(small, "a/b", "... value");
    }
    return done_testing();
}
