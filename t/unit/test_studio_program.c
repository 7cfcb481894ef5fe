/* A caster's programme (studio/program.h): episode parameters and their
 * errors, what is on air and each episode's status at a time, the next
 * boundary, PGM's scene object for an episode. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/json.h"
#include "studio/program.h"
#include "tap.h"

/* A request: "k=v" strings, NULL-terminated. */
static const char *req_get(void *ctx, const char *name)
{
    const char *const *kv = ctx;
    size_t n = strlen(name);
    for (; *kv; kv++)
        if (!strncmp(*kv, name, n) && (*kv)[n] == '=')
            return *kv + n + 1;
    return NULL;
}

static le_jv *parse_ok(const char *const *kv, const char *prefix, const le_jv *old, const char *id,
                       const char *what)
{
    le_jv *o = NULL;
    le_cst_err e;
    memset(&e, 0, sizeof(e));
    int rc = le_prg_parse(req_get, (void *)kv, prefix, old, id, &o, &e);
    is_int(rc, LE_OK, "parses: %s", what);
    if (rc != LE_OK)
        printf("#   %d %s %s\n", e.status, e.code, e.msg);
    return o;
}

static void parse_bad(const char *const *kv, const le_jv *old, int status, const char *code, const char *what)
{
    le_jv *o = NULL;
    le_cst_err e;
    memset(&e, 0, sizeof(e));
    int rc = le_prg_parse(req_get, (void *)kv, "", old, "x", &o, &e);
    ok(rc < 0 && o == NULL, "refused: %s", what);
    is_int(e.status, status, "... status");
    is_str(e.code, code, "... code");
    le_jv_free(o);
}

static int64_t T(const char *s)
{
    int64_t v = -1;
    le_prg_time_parse(s, &v);
    return v;
}

static le_jv *jp(const char *s)
{
    return le_jv_parse(s, strlen(s), 4, NULL, 0);
}

static char *json(const le_jv *v)
{
    le_buf b = { 0 };
    le_jv_to_json(v, &b);
    le_buf_append(&b, "", 1);
    return (char *)b.p;
}

static le_jv *ep(const char *id, const char *type, const char *res, const char *start, const char *end,
                 const char *sw)
{
    char s[600];
    snprintf(s, sizeof(s),
             "{\"EpisodeId\":\"%s\",\"EpisodeName\":\"n\",\"EpisodeType\":\"%s\",\"ResourceId\":\"%s\","
             "\"ComponentIds\":[\"c2\"],\"StartTime\":\"%s\",\"EndTime\":\"%s\",\"SwitchType\":\"%s\"}",
             id, type, res, start, end, sw);
    return le_jv_parse(s, strlen(s), 4, NULL, 0);
}

int main(void)
{
    /* ---- times ---- */
    is_int(T("2026-12-05T10:00:00Z"), 1796464800000LL, "UTC seconds");
    is_int(T("2026-12-05T10:00:00.5Z"), 1796464800500LL, "one fraction digit");
    is_int(T("2026-12-05T10:00:00.123Z"), 1796464800123LL, "milliseconds");
    int64_t v;
    ok(le_prg_time_parse("2026-12-05T10:00:00.1234Z", &v) < 0, "four fraction digits refused");
    ok(le_prg_time_parse("2026-12-05T10:00:00.Z", &v) < 0, "empty fraction refused");
    ok(le_prg_time_parse("2026-12-05 10:00:00Z", &v) < 0, "space refused");
    ok(le_prg_time_parse("2026-02-30T10:00:00Z", &v) < 0, "impossible date refused");
    char b[32];
    is_str(le_prg_time_fmt(1796464800000LL, b), "2026-12-05T10:00:00Z", "formatted");
    is_str(le_prg_time_fmt(1796464800040LL, b), "2026-12-05T10:00:00.040Z", "formatted with ms");

    /* ---- parsing ---- */
    const char *add1[] = { "EpisodeType=Resource", "EpisodeName=节目1", "ResourceId=r1",
                           "ComponentIds.1=c1", "ComponentIds.2=c2", "StartTime=2026-12-05T10:00:00Z",
                           "EndTime=2026-12-05T10:02:00Z", "SwitchType=ContentFirst", NULL };
    le_jv *o = parse_ok(add1, "", NULL, "e1", "a Resource episode");
    char *js = o ? json(o) : NULL;
    is_str(js, "{\"EpisodeId\":\"e1\",\"EpisodeName\":\"节目1\",\"EpisodeType\":\"Resource\",\"ResourceId\":\"r1\","
               "\"ComponentIds\":[\"c1\",\"c2\"],\"StartTime\":\"2026-12-05T10:00:00Z\",\"EndTime\":"
               "\"2026-12-05T10:02:00Z\",\"SwitchType\":\"ContentFirst\"}", "stored object");
    free(js);
    /* Modify: type kept, absent fields kept, Duration sets EndTime. */
    const char *mod1[] = { "StartTime=2026-12-05T11:00:00Z", "Duration=30.5", NULL };
    le_jv *m = parse_ok(mod1, "", o, "e1", "Modify with Duration");
    is_str(le_jv_get_str(m, "EndTime"), "2026-12-05T11:00:30.500Z", "... EndTime = StartTime + Duration");
    is_str(le_jv_get_str(m, "ResourceId"), "r1", "... ResourceId kept");
    is_str(le_jv_get_str(m, "SwitchType"), "ContentFirst", "... SwitchType kept");
    le_jv_free(m);
    const char *mod2[] = { "EpisodeType=Component", "ComponentIds.1=c1", NULL };
    parse_bad(mod2, o, 400, "InvalidParameter.Malformed", "EpisodeType changed by Modify");
    const char *mod3[] = { "EndTime=2026-12-05T09:00:00Z", NULL };
    parse_bad(mod3, o, 400, "InvalidEndTime.Mismatch", "Modify puts EndTime before StartTime");
    /* Program prefix and the ComponentId.N spelling; Component forces TimeFirst. */
    const char *prog[] = { "Episodes.2.EpisodeType=Component", "Episodes.2.ComponentId.1=c3",
                           "Episodes.2.StartTime=2026-12-05T10:02:00Z", "Episodes.2.EndTime=2026-12-05T10:04:00Z",
                           "Episodes.2.SwitchType=ContentFirst", NULL };
    m = parse_ok(prog, "Episodes.2.", NULL, "e2", "a Component episode of AddCasterProgram");
    is_str(le_jv_get_str(m, "SwitchType"), "TimeFirst", "... Component episodes are TimeFirst");
    is_str(le_jv_get_str(m, "ResourceId"), "", "... no ResourceId");
    le_jv_free(m);
    const char *jsids[] = { "EpisodeType=Component", "ComponentIds=[\"c1\",\"c2\"]", "StartTime=2026-12-05T10:02:00Z",
                            "EndTime=2026-12-05T10:04:00Z", NULL };
    m = parse_ok(jsids, "", NULL, "e3", "ComponentIds as a JSON array");
    is_int(le_jv_get(m, "ComponentIds")->n, 2, "... two components");
    le_jv_free(m);
    /* An empty ComponentIds.N is refused as the scene actions refuse it,
     * not taken for the end of the list. */
    const char *gap[] = { "EpisodeType=Component", "ComponentIds.1=c1", "ComponentIds.2=", "ComponentIds.3=c3",
                          "StartTime=2026-12-05T10:02:00Z", "EndTime=2026-12-05T10:04:00Z", NULL };
    parse_bad(gap, NULL, 404, "InvalidComponent.NotFound", "an empty ComponentIds.2");
    const char *b1[] = { "ResourceId=r1", "StartTime=2026-12-05T10:00:00Z", "EndTime=2026-12-05T10:01:00Z", NULL };
    parse_bad(b1, NULL, 400, "MissingParameter", "no EpisodeType");
    const char *b2[] = { "EpisodeType=Video", "StartTime=2026-12-05T10:00:00Z", "EndTime=2026-12-05T10:01:00Z", NULL };
    parse_bad(b2, NULL, 400, "InvalidParameter", "an unknown EpisodeType");
    const char *b3[] = { "EpisodeType=Resource", "StartTime=2026-12-05T10:00:00Z", "EndTime=2026-12-05T10:01:00Z",
                         NULL };
    parse_bad(b3, NULL, 400, "MissingParameter", "a Resource episode without ResourceId");
    const char *b4[] = { "EpisodeType=Component", "StartTime=2026-12-05T10:00:00Z", "EndTime=2026-12-05T10:01:00Z",
                         NULL };
    parse_bad(b4, NULL, 400, "MissingParameter", "a Component episode without ComponentIds");
    const char *b5[] = { "EpisodeType=Resource", "ResourceId=r1", "EndTime=2026-12-05T10:01:00Z", NULL };
    parse_bad(b5, NULL, 400, "MissingParameter", "no StartTime");
    const char *b6[] = { "EpisodeType=Resource", "ResourceId=r1", "StartTime=2026-12-05T10:00:00Z",
                         "EndTime=2026-12-05T10:00:00Z", NULL };
    parse_bad(b6, NULL, 400, "InvalidEndTime.Mismatch", "StartTime = EndTime");
    const char *b7[] = { "EpisodeType=Resource", "ResourceId=r1", "StartTime=2026-12-05 10:00:00",
                         "EndTime=2026-12-05T10:01:00Z", NULL };
    parse_bad(b7, NULL, 400, "InvalidStartTime.Malformed", "a malformed StartTime");
    const char *b8[] = { "EpisodeType=Resource", "ResourceId=r1", "StartTime=2026-12-05T10:00:00Z",
                         "EndTime=2026-12-05T10:01:00Z", "SwitchType=Fast", NULL };
    parse_bad(b8, NULL, 400, "InvalidParameter", "an unknown SwitchType");
    const char *b9[] = { "EpisodeType=Component", "ComponentIds.1=c1", "ComponentIds.2=c1",
                         "StartTime=2026-12-05T10:00:00Z", "EndTime=2026-12-05T10:01:00Z", NULL };
    parse_bad(b9, NULL, 400, "InvalidParameter.Malformed", "a component twice");
    const char *b10[] = { "EpisodeType=Resource", "ResourceId=../x", "StartTime=2026-12-05T10:00:00Z",
                          "EndTime=2026-12-05T10:01:00Z", NULL };
    parse_bad(b10, NULL, 404, "InvalidResource.NotFound", "a ResourceId that cannot exist");
    const char *b11[] = { "EpisodeType=Resource", "ResourceId=r1", "StartTime=2026-12-05T10:00:00Z",
                          "Duration=-3", NULL };
    parse_bad(b11, NULL, 400, "InvalidParameter", "a negative Duration");

    /* ---- against the caster ---- */
    le_scn_caster c;
    memset(&c, 0, sizeof(c));
    c.comps = jp("{\"c1\":{},\"c2\":{}}");
    c.res[0] = jp("{\"ResourceId\":\"r1\",\"LiveStreamUrl\":\"rtmp://h/live/a\"}");
    c.res[1] = jp("{\"ResourceId\":\"r2\",\"MaterialId\":\"a.mp4\"}");
    le_cst_err e;
    memset(&e, 0, sizeof(e));
    is_int(le_prg_check(&c, o, &e), LE_EINVAL, "ContentFirst on a live resource refused");
    is_str(e.code, "InvalidParameter.Malformed", "... code");
    le_jv *f = ep("e9", "Resource", "r2", "2026-12-05T10:00:00Z", "2026-12-05T10:01:00Z", "ContentFirst");
    is_int(le_prg_check(&c, f, &e), LE_OK, "ContentFirst on a file resource");
    le_jv_free(f);
    f = ep("e9", "Resource", "r3", "2026-12-05T10:00:00Z", "2026-12-05T10:01:00Z", "TimeFirst");
    is_int(le_prg_check(&c, f, &e), LE_ENOTFOUND, "an unknown resource");
    is_str(e.code, "InvalidResource.NotFound", "... code");
    le_jv_free(f);
    f = ep("e9", "Component", "", "2026-12-05T10:00:00Z", "2026-12-05T10:01:00Z", "TimeFirst");
    le_jv *a = (le_jv *)le_jv_get(f, "ComponentIds");
    le_jv_push_str(a, "c7");
    is_int(le_prg_check(&c, f, &e), LE_ENOTFOUND, "an unknown component");
    is_str(e.code, "InvalidComponent.NotFound", "... code");
    le_jv_free(f);
    le_jv_free(o);

    /* ---- the schedule ---- */
    /* A live episode 10:00:00-10:00:05, a ContentFirst file 10:00:05-10:00:10,
     * a Component episode 10:00:20-10:00:30. */
    const char *fields[] = { "ep:b", "ep:a", "ep:c", "epend:b", "info", "ep:bad" };
    const char *vals[4];
    char *vs[3];
    le_jv *x = ep("a", "Resource", "r1", "2026-12-05T10:00:00Z", "2026-12-05T10:00:05Z", "TimeFirst");
    vs[0] = json(x);
    le_jv_free(x);
    x = ep("b", "Resource", "r2", "2026-12-05T10:00:05Z", "2026-12-05T10:00:10Z", "ContentFirst");
    vs[1] = json(x);
    le_jv_free(x);
    x = ep("c", "Component", "", "2026-12-05T10:00:20Z", "2026-12-05T10:00:30Z", "TimeFirst");
    vs[2] = json(x);
    le_jv_free(x);
    vals[0] = vs[1];
    vals[1] = vs[0];
    vals[2] = vs[2];
    const char *allv[] = { vals[0], vals[1], vals[2], "", "{}", "{\"EpisodeId\":\"zz\"}" };
    size_t fl[6], vl[6];
    for (int i = 0; i < 6; i++) {
        fl[i] = strlen(fields[i]);
        vl[i] = strlen(allv[i]);
    }
    le_prg p;
    int bad = 0;
    le_prg_load(fields, fl, allv, vl, 4, &p, &bad);   /* no epend value yet: "" is skipped */
    is_int(p.n, 3, "three episodes loaded");
    is_str(p.ep[0].id, "a", "sorted by StartTime");
    is_str(p.ep[2].id, "c", "... c last");
    int64_t t0 = T("2026-12-05T10:00:00Z");
    is_int(le_prg_on_air(&p, t0 - 1), -1, "nothing before the first");
    is_int(le_prg_on_air(&p, t0), 0, "a on air at its StartTime");
    is_int(le_prg_status(&p, 0, t0 - 1), 0, "a status 0 before");
    is_int(le_prg_status(&p, 0, t0), 1, "a status 1");
    is_int(le_prg_on_air(&p, t0 + 5000), 1, "b at 10:00:05 (a's EndTime)");
    is_int(le_prg_status(&p, 0, t0 + 5000), 2, "a status 2");
    is_int(le_prg_on_air(&p, t0 + 15000), 1, "b (ContentFirst) still on air past its EndTime");
    is_int(le_prg_on_air(&p, t0 + 20000), 2, "c takes over at its StartTime");
    is_int(le_prg_status(&p, 1, t0 + 20000), 2, "b status 2 then");
    is_int(le_prg_on_air(&p, t0 + 30000), -1, "nothing after c's EndTime");
    is_int(le_prg_status(&p, 2, t0 + 30000), 2, "c status 2");
    is_int(le_prg_next_boundary(&p, t0 - 10000), t0, "next boundary: a's start");
    is_int(le_prg_next_boundary(&p, t0), t0 + 5000, "then a's end / b's start");
    is_int(le_prg_next_boundary(&p, t0 + 5000), t0 + 20000, "then c's start (b open)");
    is_int(le_prg_next_boundary(&p, t0 + 20000), t0 + 30000, "then c's end");
    is_int(le_prg_next_boundary(&p, t0 + 30000), LE_PRG_NONE, "then none");
    le_prg_free(&p);
    /* b's file ended at 10:00:08.5: recorded. */
    allv[3] = "1796464808500";
    vl[3] = strlen(allv[3]);
    le_prg_load(fields, fl, allv, vl, 6, &p, &bad);
    is_int(bad, 1, "one stored object that does not match its field is counted");
    is_int(p.ep[1].ended_ms, t0 + 8500, "b's recorded end");
    is_int(le_prg_on_air(&p, t0 + 8499), 1, "b on air before its recorded end");
    is_int(le_prg_on_air(&p, t0 + 8500), -1, "nothing after it");
    is_int(le_prg_status(&p, 1, t0 + 8500), 2, "b status 2 after its recorded end");
    is_int(le_prg_next_boundary(&p, t0 + 5000), t0 + 8500, "the recorded end is a boundary");
    /* Overlaps. */
    is_int(le_prg_overlap(&p, NULL, t0 + 4000, t0 + 6000), 0, "overlap with a");
    is_int(le_prg_overlap(&p, "a", t0 + 4000, t0 + 5000), -1, "not with itself");
    is_int(le_prg_overlap(&p, NULL, t0 + 10000, t0 + 20000), -1, "the gap is free (ends are exclusive)");
    /* Replace b: its recorded end goes. */
    x = ep("b", "Resource", "r2", "2026-12-05T10:00:06Z", "2026-12-05T10:00:10Z", "ContentFirst");
    is_int(le_prg_add(&p, x), LE_OK, "b replaced");
    is_int(p.n, 3, "... still three");
    is_int(p.ep[1].ended_ms, -1, "... no recorded end");
    is_int(p.ep[1].start_ms, t0 + 6000, "... at its new StartTime");
    is_int(le_prg_remove(&p, "a"), 1, "a removed");
    is_int(le_prg_find(&p, "a"), -1, "... gone");

    /* ---- PGM's scene ---- */
    const char *pgm_js = "{\"SceneId\":\"s\",\"SceneName\":\"PGM\",\"OutputType\":1,\"LayoutId\":\"l1\","
                         "\"ComponentIds\":[\"c1\",\"c2\"],\"Status\":1,\"FollowEnable\":0,\"AudioLayers\":[],"
                         "\"MixList\":[],\"EffectResourceId\":\"\",\"Urgent\":1}";
    le_jv *pgm = le_jv_parse(pgm_js, strlen(pgm_js), 6, NULL, 0);
    le_jv *s = le_prg_pgm(pgm, &p.ep[0]);   /* b: Resource r2 with c2 */
    js = json(s);
    is_str(js, "{\"SceneId\":\"s\",\"SceneName\":\"PGM\",\"OutputType\":1,\"LayoutId\":\"l1\",\"ComponentIds\":"
               "[\"c2\"],\"Status\":1,\"FollowEnable\":1,\"AudioLayers\":[],\"MixList\":[],\"EffectResourceId\":"
               "\"r2\",\"Urgent\":1}", "Resource episode: its source full frame, its components, its sound, Urgent kept");
    free(js);
    le_jv_free(s);
    s = le_prg_pgm(pgm, &p.ep[1]);   /* c: Component c2 */
    js = json(le_jv_get(s, "ComponentIds"));
    is_str(js, "[\"c1\",\"c2\"]", "Component episode: a component the scene has already is not added twice");
    free(js);
    a = (le_jv *)le_jv_get(p.ep[1].obj, "ComponentIds");
    le_jv_push_str(a, "c3");
    le_jv_free(s);
    s = le_prg_pgm(pgm, &p.ep[1]);
    js = json(s);
    is_str(js, "{\"SceneId\":\"s\",\"SceneName\":\"PGM\",\"OutputType\":1,\"LayoutId\":\"l1\","
                           "\"ComponentIds\":[\"c1\",\"c2\",\"c3\"],\"Status\":1,\"FollowEnable\":0,\"AudioLayers\":"
                           "[],\"MixList\":[],\"EffectResourceId\":\"\",\"Urgent\":1}",
           "Component episode: its components above the scene's own");
    free(js);
    le_jv_free(s);
    /* Describe. */
    le_jv *d = le_prg_describe(&p, 0, t0 + 7000);
    js = json(d);
    is_str(js, "{\"EpisodeId\":\"b\",\"EpisodeName\":\"n\",\"EpisodeType\":\"Resource\",\"ResourceId\":\"r2\","
               "\"ComponentIds\":[\"c2\"],\"StartTime\":\"2026-12-05T10:00:06Z\",\"EndTime\":\"2026-12-05T10:00:10Z\","
               "\"Duration\":4,\"SwitchType\":\"ContentFirst\",\"Status\":1}", "described");
    free(js);
    le_jv_free(d);
    le_jv_free(pgm);
    le_prg_free(&p);
    for (int i = 0; i < 3; i++)
        free(vs[i]);
    le_jv_free(c.comps);
    le_jv_free(c.res[0]);
    le_jv_free(c.res[1]);
    return done_testing();
}
