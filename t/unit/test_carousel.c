/* Carousels, the pure part (studio/carousel.h): AddCasterEpisodeGroup's
 * parameters, AddCasterEpisodeGroupContent's Content, and the order of
 * play with RepeatNum 0, N and -1. */
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/json.h"
#include "studio/carousel.h"
#include "tap.h"

/* A getter over NAME=VALUE strings. */
static const char *kv_get(void *ctx, const char *name)
{
    const char *const *kv = ctx;
    size_t n = strlen(name);
    for (; *kv; kv++)
        if (!strncmp(*kv, name, n) && (*kv)[n] == '=')
            return *kv + n + 1;
    return NULL;
}

static void refused(const char *const *kv, const char *code, const char *what)
{
    le_jv *o = NULL;
    le_cst_err e;
    memset(&e, 0, sizeof(e));
    int rc = le_crl_parse(kv_get, (void *)kv, &o, &e);
    is_int(rc, LE_EINVAL, "refused: %s", what);
    is_str(e.code, code, "... %s", code);
    ok(e.status == 400 && o == NULL, "... 400, no object");
}

static void content_refused(const char *json, const char *code, const char *what)
{
    le_jv *o = NULL;
    le_cst_err e;
    memset(&e, 0, sizeof(e));
    is_int(le_crl_parse_content(json, strlen(json), &o, &e), LE_EINVAL, "Content refused: %s", what);
    is_str(e.code, code, "... %s", code);
}

static void test_params(void)
{
    const char *const good[] = { "DomainName=live.test", "Items.1.ItemName=red", "Items.1.VodUrl=file:///m/red.mp4",
                                 "Items.2.ItemName=blue", "Items.2.VodUrl=/m/blue.flv",
                                 "StartTime=2026-12-05T10:00:00Z", "RepeatNum=1",
                                 "SideOutputUrl=rtmp://127.0.0.1:1935/live/x",
                                 "CallbackUrl=http://127.0.0.1:8080/cb", NULL };
    le_jv *o = NULL;
    le_cst_err e;
    is_int(le_crl_parse(kv_get, (void *)good, &o, &e), LE_OK, "AddCasterEpisodeGroup's parameters");
    le_buf b = { 0 };
    le_jv_to_json(o, &b);
    le_buf_append(&b, "", 1);
    is_str((const char *)b.p,
           "{\"DomainName\":\"live.test\",\"Items\":[{\"ItemName\":\"red\",\"VodUrl\":\"file:///m/red.mp4\"},"
           "{\"ItemName\":\"blue\",\"VodUrl\":\"/m/blue.flv\"}],\"StartTime\":\"2026-12-05T10:00:00Z\","
           "\"RepeatNum\":1,\"SideOutputUrl\":\"rtmp://127.0.0.1:1935/live/x\","
           "\"CallbackUrl\":\"http://127.0.0.1:8080/cb\"}",
           "... stored as the documented object");
    le_buf_free(&b);
    le_jv_free(o);

    /* Items as a JSON array; the optional ones absent. */
    const char *const arr[] = { "DomainName=live.test",
                                "Items=[{\"ItemName\":\"a\",\"VodUrl\":\"http://n/record/x.mp4?t=1\"}]", NULL };
    o = NULL;
    is_int(le_crl_parse(kv_get, (void *)arr, &o, &e), LE_OK, "Items as a JSON array, StartTime absent");
    int64_t rn = 7;
    ok(le_jv_get_int(o, "RepeatNum", &rn) == LE_OK && rn == 0, "... RepeatNum 0 by default");
    is_str(le_jv_get_str(o, "StartTime"), "", "... StartTime empty (at once)");
    le_jv_free(o);

    const char *const no_dom[] = { "Items.1.ItemName=a", "Items.1.VodUrl=/a.mp4", NULL };
    refused(no_dom, "MissingParameter", "no DomainName");
    const char *const no_items[] = { "DomainName=d", NULL };
    refused(no_items, "MissingParameter", "no Items");
    const char *const no_url[] = { "DomainName=d", "Items.1.ItemName=a", NULL };
    refused(no_url, "MissingParameter", "an item without VodUrl");
    const char *const bad_ext[] = { "DomainName=d", "Items.1.ItemName=a", "Items.1.VodUrl=/a.mkv", NULL };
    refused(bad_ext, "InvalidVodUrl.Malformed", "a VodUrl that is not mp4/flv/ts/mov");
    const char *const rel[] = { "DomainName=d", "Items.1.ItemName=a", "Items.1.VodUrl=a.mp4", NULL };
    refused(rel, "InvalidVodUrl.Malformed", "a relative path");
    const char *const rtmp_vod[] = { "DomainName=d", "Items.1.ItemName=a", "Items.1.VodUrl=rtmp://h/a.mp4", NULL };
    refused(rtmp_vod, "InvalidVodUrl.Malformed", "an rtmp:// VodUrl");
    const char *const bad_time[] = { "DomainName=d", "Items.1.ItemName=a", "Items.1.VodUrl=/a.mp4",
                                     "StartTime=2026-12-05 10:00:00", NULL };
    refused(bad_time, "InvalidStartTime.Malformed", "StartTime not UTC ISO 8601");
    const char *const bad_rep[] = { "DomainName=d", "Items.1.ItemName=a", "Items.1.VodUrl=/a.mp4", "RepeatNum=-2",
                                    NULL };
    refused(bad_rep, "InvalidParameter", "RepeatNum -2");
    const char *const big_rep[] = { "DomainName=d", "Items.1.ItemName=a", "Items.1.VodUrl=/a.mp4",
                                    "RepeatNum=10001", NULL };
    refused(big_rep, "InvalidParameter", "RepeatNum over 10000");
    const char *const bad_side[] = { "DomainName=d", "Items.1.ItemName=a", "Items.1.VodUrl=/a.mp4",
                                     "SideOutputUrl=http://h/x", NULL };
    refused(bad_side, "InvalidParameter", "SideOutputUrl not rtmp://");
    const char *const tls_side[] = { "DomainName=d", "Items.1.ItemName=a", "Items.1.VodUrl=/a.mp4",
                                     "SideOutputUrl=rtmps://h/live/x", NULL };
    o = NULL;
    is_int(le_crl_parse(kv_get, (void *)tls_side, &o, &e), LE_OK, "SideOutputUrl rtmps:// is accepted");
    le_jv_free(o);
    const char *const bad_cb[] = { "DomainName=d", "Items.1.ItemName=a", "Items.1.VodUrl=/a.mp4",
                                   "CallbackUrl=ftp://h/x", NULL };
    refused(bad_cb, "InvalidParameter", "CallbackUrl not http(s)");
    const char *const bad_arr[] = { "DomainName=d", "Items={\"ItemName\":\"a\"}", NULL };
    refused(bad_arr, "InvalidParameter", "Items JSON that is not an array");

    /* At most LE_CRL_ITEMS_MAX items. */
    static char bufs[2 * (LE_CRL_ITEMS_MAX + 1)][64];
    const char *many[2 * (LE_CRL_ITEMS_MAX + 1) + 2];
    int k = 0;
    many[k++] = "DomainName=d";
    for (int i = 1; i <= LE_CRL_ITEMS_MAX + 1; i++) {
        snprintf(bufs[2 * i - 2], sizeof(bufs[0]), "Items.%d.ItemName=n%d", i, i);
        snprintf(bufs[2 * i - 1], sizeof(bufs[0]), "Items.%d.VodUrl=/f%d.mp4", i, i);
        many[k++] = bufs[2 * i - 2];
        many[k++] = bufs[2 * i - 1];
    }
    many[k] = NULL;
    refused(many, "InvalidParameter", "more than LE_CRL_ITEMS_MAX items");
    many[k - 2] = NULL;   /* exactly the maximum */
    o = NULL;
    is_int(le_crl_parse(kv_get, (void *)many, &o, &e), LE_OK, "exactly LE_CRL_ITEMS_MAX items");
    le_jv_free(o);
}

static void test_content(void)
{
    const char *js = "{\"DomainName\":\"live.test\",\"Items\":[{\"ItemName\":\"a\",\"VodUrl\":\"/a.mp4\"},"
                     "{\"ItemName\":\"b\",\"VodUrl\":\"file:///b.ts\"}],\"StartTime\":\"2026-12-05T10:00:00Z\","
                     "\"RepeatNum\":-1,\"SideOutputUrl\":\"rtmp://h/live/s\",\"CallbackUrl\":\"https://h/cb\"}";
    le_jv *o = NULL;
    le_cst_err e;
    is_int(le_crl_parse_content(js, strlen(js), &o, &e), LE_OK, "Content: a JSON object");
    int64_t rn = 0;
    ok(le_jv_get_int(o, "RepeatNum", &rn) == LE_OK && rn == -1, "... RepeatNum -1 (a JSON number)");
    const le_jv *items = le_jv_get(o, "Items");
    ok(items && items->first && items->first->next && !items->first->next->next, "... two items");
    is_str(le_jv_get_str(items->first->next, "VodUrl"), "file:///b.ts", "... in order");
    le_jv_free(o);
    content_refused("[1,2]", "InvalidParameter", "not an object");
    content_refused("{\"DomainName\":", "InvalidParameter", "not JSON");
    content_refused("{\"DomainName\":\"d\",\"Items\":\"x\"}", "InvalidParameter", "Items not an array");
    content_refused("{\"DomainName\":\"d\",\"Items\":[{\"ItemName\":\"a\",\"VodUrl\":\"/a.mp4\"}],\"RepeatNum\":1.5}",
                    "InvalidParameter", "RepeatNum not an integer");
    content_refused("{\"DomainName\":7,\"Items\":[]}", "InvalidParameter", "DomainName a number");
    content_refused("{\"Items\":[{\"ItemName\":\"a\",\"VodUrl\":\"/a.mp4\"}]}", "MissingParameter", "no DomainName");
    is_int(le_crl_parse_content("", 0, &o, &e), LE_EINVAL, "empty Content refused");
    is_str(e.code, "MissingParameter", "... MissingParameter");
    ok(o == NULL, "... no object");
}

/* The sequence of (item, loop) from the start, up to max steps. */
static void order(int n, int repeat, int max, char *out, size_t cap)
{
    int item = 0, loop = 0, steps = 0;
    size_t len = (size_t)snprintf(out, cap, "%d", item);
    while (++steps < max && le_crl_next(n, repeat, &item, &loop) == LE_OK && len < cap)
        len += (size_t)snprintf(out + len, cap - len, "%d", item);
}

static void test_order(void)
{
    char s[64];
    order(2, 0, 20, s, sizeof(s));
    is_str(s, "01", "RepeatNum 0: the list once");
    order(2, 1, 20, s, sizeof(s));
    is_str(s, "0101", "RepeatNum 1: twice (A B A B)");
    order(3, 2, 20, s, sizeof(s));
    is_str(s, "012012012", "RepeatNum 2: three times");
    order(1, 0, 20, s, sizeof(s));
    is_str(s, "0", "one item, RepeatNum 0");
    order(2, -1, 11, s, sizeof(s));
    is_str(s, "01010101010", "RepeatNum -1: forever");
    int item = 1, loop = 0;
    ok(le_crl_next(2, 1, &item, &loop) == LE_OK && item == 0 && loop == 1, "after the last item: the next loop");
    item = 1;
    loop = 1;
    is_int(le_crl_next(2, 1, &item, &loop), LE_ENOTFOUND, "after the last item of the last loop: the end");
    ok(item == 1 && loop == 1, "... the position is left");
    item = 0;
    loop = 3;
    is_int(le_crl_next(2, 1, &item, &loop), LE_EINVAL, "a loop past RepeatNum refused");
    item = 2;
    loop = 0;
    is_int(le_crl_next(2, 0, &item, &loop), LE_EINVAL, "an item out of range refused");
    item = 0;
    is_int(le_crl_next(0, 0, &item, &loop), LE_EINVAL, "no items refused");
    item = 1;
    loop = 2147483647;
    is_int(le_crl_next(2, -1, &item, &loop), LE_OK, "forever at the largest loop count goes on");
    ok(item == 0 && loop == 2147483647, "... the count stays there");
}

int main(void)
{
    test_params();
    test_content();
    test_order();
    return done_testing();
}
