/* Value tree, JSON/XML rendering and the strict parser (src/core/json.c). */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/json.h"
#include "tap.h"

static char *render_json(const le_jv *v)
{
    static le_buf b;
    b.len = 0;
    le_jv_to_json(v, &b);
    le_buf_u8(&b, 0);
    return (char *)b.p;
}

static char *render_xml(const le_jv *v, const char *root)
{
    static le_buf b;
    b.len = 0;
    le_jv_to_xml(v, root, &b);
    le_buf_u8(&b, 0);
    return (char *)b.p;
}

/* Parses s and renders it back; "ERR" if refused. */
static char *roundtrip(const char *s, size_t n, int depth)
{
    static char out[4096];
    char err[128];
    le_jv *v = le_jv_parse(s, n, depth, err, sizeof(err));
    if (!v) {
        snprintf(out, sizeof(out), "ERR");
        return out;
    }
    snprintf(out, sizeof(out), "%s", render_json(v));
    le_jv_free(v);
    return out;
}

static void test_build_and_render(void)
{
    le_jv *o = le_jv_obj();
    le_jv_set_str(o, "RequestId", "16A96B9A-F203-4EC5-8E43-CB92E68F4CD8");
    le_jv *info = le_jv_set_obj(o, "OnlineInfo");
    le_jv *arr = le_jv_set_arr(info, "LiveStreamOnlineInfo");
    le_jv *a = le_jv_push_obj(arr);
    le_jv_set_str(a, "StreamName", "cam1");
    le_jv_set_int(a, "Bytes", -9007199254740993LL);
    le_jv *b = le_jv_push_obj(arr);
    le_jv_set_str(b, "StreamName", "x<&>\"'y");
    le_jv_set_bool(b, "On", 1);
    le_jv_set_num(o, "Rate", 0.1);
    le_jv_set_null(o, "Nothing");
    le_jv_set_str(o, "Null", NULL);
    is_int(o->n, 5, "object counts its members");
    is_str(render_json(o),
           "{\"RequestId\":\"16A96B9A-F203-4EC5-8E43-CB92E68F4CD8\",\"OnlineInfo\":{\"LiveStreamOnlineInfo\":"
           "[{\"StreamName\":\"cam1\",\"Bytes\":-9007199254740993},{\"StreamName\":\"x<&>\\\"'y\",\"On\":true}]},"
           "\"Rate\":0.1,\"Nothing\":null,\"Null\":\"\"}",
           "JSON: order kept, nested list wrapper, escapes");
    is_str(render_xml(o, "DescribeLiveStreamsOnlineListResponse"),
           "<?xml version='1.0' encoding='UTF-8'?><DescribeLiveStreamsOnlineListResponse>"
           "<RequestId>16A96B9A-F203-4EC5-8E43-CB92E68F4CD8</RequestId><OnlineInfo>"
           "<LiveStreamOnlineInfo><StreamName>cam1</StreamName><Bytes>-9007199254740993</Bytes></LiveStreamOnlineInfo>"
           "<LiveStreamOnlineInfo><StreamName>x&lt;&amp;&gt;&quot;&apos;y</StreamName><On>true</On></LiveStreamOnlineInfo>"
           "</OnlineInfo><Rate>0.1</Rate><Nothing></Nothing><Null></Null></DescribeLiveStreamsOnlineListResponse>",
           "XML: array items repeat the key, text escaped");

    le_jv_prepend_str(o, "First", "1");
    ok(strncmp(render_json(o), "{\"First\":\"1\",\"RequestId\"", 24) == 0, "prepend puts a member first");
    is_str(le_jv_get_str(o, "RequestId"), "16A96B9A-F203-4EC5-8E43-CB92E68F4CD8", "get_str");
    ok(le_jv_get_str(o, "Rate") == NULL, "get_str of a number is NULL");
    ok(le_jv_get(NULL, "x") == NULL && le_jv_get_str(NULL, "x") == NULL, "lookups are NULL-safe");
    int64_t iv = 0;
    ok(le_jv_get_int(a, "Bytes", &iv) == 0 && iv == -9007199254740993LL, "get_int of INT");
    ok(le_jv_get_int(o, "Rate", &iv) != 0, "get_int of 0.1 fails");
    ok(le_jv_get_int(o, "Missing", &iv) != 0, "get_int of a missing member fails");
    ok(le_jv_set_str(arr, "k", "v") == NULL, "set on an array is refused");
    ok(le_jv_push_str(o, "v") == NULL, "push on an object is refused");
    le_jv_free(o);

    le_jv *s = le_jv_arr();
    le_jv_push_str(s, "a");
    le_jv_push_int(s, 7);
    le_jv *in = le_jv_arr();
    le_jv_push_str(in, "b");
    le_jv_push(s, in);
    is_str(render_json(s), "[\"a\",7,[\"b\"]]", "array JSON");
    is_str(render_xml(s, "R"), "<?xml version='1.0' encoding='UTF-8'?><R><item>a</item><item>7</item><item>b</item></R>",
           "root array items are <item>; a nested array flattens into its key");
    le_jv_free(s);

    le_jv *k = le_jv_obj();
    le_jv_set_str(k, "1bad key", "\x01\ttab\r\xff\xc3\xa9");
    is_str(render_xml(k, "R"), "<?xml version='1.0' encoding='UTF-8'?><R><_1bad_key>\ttab&#13;\xef\xbf\xbd\xc3\xa9</_1bad_key></R>",
           "XML: bad name fixed, control char dropped, CR as reference, invalid UTF-8 replaced");
    is_str(render_json(k), "{\"1bad key\":\"\\u0001\\ttab\\r\xef\xbf\xbd\xc3\xa9\"}",
           "JSON: control chars escaped, invalid UTF-8 replaced, valid kept");
    le_jv_free(k);

    le_jv *nums = le_jv_arr();
    double ds[] = { 1.0, -0.5, 1e300, 123456789.123, 0.30000000000000004 };
    for (size_t i = 0; i < sizeof(ds) / sizeof(ds[0]); i++) {
        le_jv *j = le_jv_obj();
        le_jv_set_num(j, "d", ds[i]);
        le_jv_push(nums, j);
    }
    is_str(render_json(nums), "[{\"d\":1},{\"d\":-0.5},{\"d\":1e+300},{\"d\":123456789.123},{\"d\":0.30000000000000004}]",
           "numbers: shortest form that reads back");
    le_jv_free(nums);
}

static void test_parse_accept(void)
{
    static const struct { const char *in, *out; } v[] = {
        { "{}", "{}" }, { "[]", "[]" }, { " [ 1 , 2 ] ", "[1,2]" },
        { "{\"a\":{\"b\":[true,false,null]}}", "{\"a\":{\"b\":[true,false,null]}}" },
        { "\"\\u00e9\\ud83d\\ude00\\/\\b\"", "\"\xc3\xa9\xf0\x9f\x98\x80/\\b\"" },
        { "-0", "0" }, { "9223372036854775807", "9223372036854775807" },
        { "-9223372036854775808", "-9223372036854775808" },
        { "9223372036854775808", "9.2233720368547758e+18" },
        { "1.5e3", "1500" }, { "1E-2", "0.01" }, { "[[[]]]", "[[[]]]" },
        { "\"\xe4\xb8\xad\"", "\"\xe4\xb8\xad\"" }, { "{\"a\":1,\"a\":2}", "{\"a\":1,\"a\":2}" },
        { "1e-400", "0" },
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        is_str(roundtrip(v[i].in, strlen(v[i].in), 16), v[i].out, "accepts %s", v[i].in);
    le_jv *j = le_jv_parse("{\"n\":42,\"f\":42.0,\"b\":1e30}", 26, 4, NULL, 0);
    int64_t x = 0;
    ok(j && le_jv_get(j, "n")->type == LE_JV_INT, "integer literal is INT");
    ok(j && le_jv_get_int(j, "f", &x) == 0 && x == 42, "integral NUM reads as int");
    ok(j && le_jv_get_int(j, "b", &x) != 0, "1e30 does not fit int64");
    le_jv_free(j);
}

static void test_parse_refuse(void)
{
    static const char *const bad[] = {
        "", " ", "{", "}", "[1,]", "[,1]", "{,}", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{a:1}",
        "[1 2]", "01", "1.", ".5", "-", "+1", "1e", "1e+", "0x10", "NaN", "Infinity", "1e400",
        "tru", "nul", "truex", "[true false]", "\"abc", "\"\\x\"", "\"\\u12\"", "\"\\ud800\"",
        "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"\\u0000\"", "\"a\tb\"", "\"\xff\"", "\"\xc0\xaf\"",
        "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "[1]x", "{} {}", "\xef\xbb\xbf{}", "'a'",
        "[\"a\"\"b\"]", "{\"a\" 1}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        is_str(roundtrip(bad[i], strlen(bad[i]), 16), "ERR", "refuses #%zu", i);
    is_str(roundtrip("[1]\0", 4, 16), "ERR", "refuses a NUL after the value");
    is_str(roundtrip("\"a\0b\"", 5, 16), "ERR", "refuses a raw NUL in a string");

    char err[128] = "";
    le_jv *v = le_jv_parse("{\"a\":[1,x]}", 11, 8, err, sizeof(err));
    ok(!v && strstr(err, "offset 8") != NULL, "error names the offset (%s)", err);
}

static void test_depth(void)
{
    is_str(roundtrip("[[1]]", 5, 2), "[[1]]", "depth 2 allowed at max_depth 2");
    is_str(roundtrip("[[[1]]]", 7, 2), "ERR", "depth 3 refused at max_depth 2");
    is_str(roundtrip("{\"a\":{\"b\":{}}}", 14, 2), "ERR", "object depth counted too");
    is_str(roundtrip("5", 1, 0), "5", "max_depth 0: scalars only");
    is_str(roundtrip("[]", 2, 0), "ERR", "max_depth 0 refuses a container");

    /* A hostile document: a million opening brackets, with a huge limit. The
     * parser must not recurse; it stops at the end of input. */
    size_t n = 1000000;
    char *s = malloc(2 * n);
    memset(s, '[', n);
    memset(s + n, ']', n);
    char err[128];
    le_jv *v = le_jv_parse(s, n, 64, err, sizeof(err));
    ok(!v && strstr(err, "deeper") != NULL, "1e6 '[' refused at max_depth 64 (%s)", err);
    v = le_jv_parse(s, 2 * n, 2000000, err, sizeof(err));
    ok(v != NULL, "1e6 nested arrays parse without recursion when allowed");
    le_buf b = { 0 };
    le_jv_to_json(v, &b);
    ok(b.len < 600 && b.len > 0, "rendering a too-deep tree is bounded (%zu bytes)", b.len);
    /* Arrays down to LE_JV_RENDER_MAX_DEPTH, null below, closed in order. */
    size_t d = LE_JV_RENDER_MAX_DEPTH + 1;
    char *want = malloc(2 * d + 5);
    memset(want, '[', d);
    memcpy(want + d, "null", 4);
    memset(want + d + 4, ']', d);
    want[2 * d + 4] = '\0';
    le_buf_u8(&b, 0);
    is_str((char *)b.p, want, "too-deep tree: %zu arrays, then null, balanced", d);
    free(want);
    le_buf_free(&b);
    ok(v && v->type == LE_JV_ARR && v->n == 1 && v->first->type == LE_JV_ARR,
       "the deep tree has the parsed shape: an array holding one array");
    le_jv_free(v);   /* iterative: no stack overflow */
    v = le_jv_parse(s, 2 * n - 1, 2000000, err, sizeof(err));
    ok(!v, "unbalanced deep input refused and freed");
    free(s);
}

static void test_parse_strings(void)
{
    char err[64];
    const char *in = "{\"k\\n\":\"a\\\"b\\\\c\"}";
    le_jv *v = le_jv_parse(in, strlen(in), 2, err, sizeof(err));
    ok(v && v->first && strcmp(v->first->key, "k\n") == 0, "escaped member name decoded");
    ok(v && v->first->slen == 5 && strcmp(v->first->s, "a\"b\\c") == 0, "escaped value decoded");
    le_jv_free(v);
}

static void test_copy_str(void)
{
    le_jv *o = le_jv_parse("{\"s\":\"abc\",\"n\":1}", 17, 4, NULL, 0);
    char out[4] = "x";
    is_int(le_jv_copy_str(o, "s", out, sizeof(out)), 0, "copy_str: a string that fits");
    is_str(out, "abc", "copy_str: its bytes");
    is_int(le_jv_copy_str(o, "s", out, 3), LE_EPROTO, "copy_str: one that does not fit");
    is_str(out, "", "copy_str: out is empty then");
    is_int(le_jv_copy_str(o, "n", out, sizeof(out)), LE_EPROTO, "copy_str: not a string");
    is_int(le_jv_copy_str(o, "z", out, sizeof(out)), LE_ENOTFOUND, "copy_str: absent");
    le_jv_free(o);
}

int main(void)
{
    test_build_and_render();
    test_parse_accept();
    test_parse_refuse();
    test_depth();
    test_parse_strings();
    test_copy_str();
    return done_testing();
}
