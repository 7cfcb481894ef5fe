/* Playlist text kept between requests (http/hls_cache.h): what is shared,
 * what is not, and that a kept text outlives its replacement while a
 * response still holds it. */
#include <event2/buffer.h>
#include <string.h>

#include "auth/aliauth.h"
#include "http/hls_cache.h"
#include "tap.h"

static le_http_route route(const char *app, const char *name, const char *vhost, const void *dom)
{
    le_http_route rt;
    memset(&rt, 0, sizeof(rt));
    strcpy(rt.app, app);
    strcpy(rt.name, name);
    strcpy(rt.vhost, vhost);
    rt.dom = dom;
    return rt;
}

static int text_is(le_hls_pl *t, const char *want)
{
    size_t n;
    const char *p = t ? le_hls_pl_text(t, &n) : NULL;
    return p && n == strlen(want) && memcmp(p, want, n) == 0;
}

int main(void)
{
    static int seg_a, seg_b, dom1, dom2;   /* addresses stand for segmenters and domains */
    le_http_route rt = route("live", "cam", "", &dom1);

    ok(le_hls_pl_get(&rt, &seg_a, 7, LE_HLS_PL_TS) == NULL, "nothing kept at first");
    le_hls_pl *t = le_hls_pl_put(&rt, &seg_a, 7, LE_HLS_PL_TS, "#EXTM3U\nA\n", 10);
    ok(text_is(t, "#EXTM3U\nA\n"), "put returns the kept copy");
    ok(le_hls_pl_get(&rt, &seg_a, 7, LE_HLS_PL_TS) == t, "the same request finds it");
    ok(le_hls_pl_get(&rt, &seg_a, 8, LE_HLS_PL_TS) == NULL, "a new generation does not");
    ok(le_hls_pl_get(&rt, &seg_a, 7, LE_HLS_PL_TS | LE_HLS_PL_SKIP) == NULL, "another kind does not");
    ok(le_hls_pl_get(&rt, &seg_b, 7, LE_HLS_PL_TS) == NULL, "another segmenter does not");
    le_http_route other = route("live", "cam", "v.example.com", &dom1);
    ok(le_hls_pl_get(&other, &seg_a, 7, LE_HLS_PL_TS) == NULL, "another vhost argument does not");
    other = route("live2", "cam", "", &dom1);
    ok(le_hls_pl_get(&other, &seg_a, 7, LE_HLS_PL_TS) == NULL, "another app does not");
    other = route("live", "cam", "", &dom2);
    ok(le_hls_pl_get(&other, &seg_a, 7, LE_HLS_PL_TS) == NULL, "another domain does not");

    /* Signed playlists carry the requester's signatures: never shared. */
    le_aliauth_grant g;
    memset(&g, 0, sizeof(g));
    ok(le_hls_pl_cacheable(&rt), "no grant: kept");
    rt.grant = &g;
    g.form = LE_AUTHF_NONE;
    ok(le_hls_pl_cacheable(&rt), "a domain that signs nothing: kept");
    g.form = LE_AUTHF_A;
    ok(!le_hls_pl_cacheable(&rt), "a type A signature: not kept");
    rt.grant = NULL;

    /* A response holds the text by reference; replacing it frees nothing
     * under it (ASan would see the use after free). */
    struct evbuffer *out = evbuffer_new();
    le_hls_pl_add_to(out, t);
    le_hls_pl *t2 = le_hls_pl_put(&rt, &seg_a, 8, LE_HLS_PL_TS, "#EXTM3U\nB\n", 10);
    ok(le_hls_pl_get(&rt, &seg_a, 7, LE_HLS_PL_TS) == NULL && le_hls_pl_get(&rt, &seg_a, 8, LE_HLS_PL_TS) == t2,
       "the newer generation replaces the older");
    char got[16] = { 0 };
    is_int(evbuffer_remove(out, got, sizeof(got) - 1), 10, "the response still has all its bytes");
    is_str(got, "#EXTM3U\nA\n", "and they are the old text");
    evbuffer_free(out);

    uint64_t hits, misses;
    le_hls_pl_stats(&hits, &misses);
    is_int((int)hits, 2, "hits counted");
    ok(misses >= 7, "misses counted");
    return done_testing();
}
