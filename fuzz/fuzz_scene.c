/* libFuzzer target for a caster's stored hash (src/studio/scene.c): the
 * input is field/value pairs, one "field\tvalue" a line, as HGETALL gives
 * them. The caster is loaded, every resource is turned into a source and
 * every scene into a picture; an accepted picture must pass le_sg_build
 * and name only inputs in range, a refusal must carry a Code.
 *   clang -g -fsanitize=fuzzer,address,undefined -I../src fuzz_scene.c \
 *     ../src/studio/scene.c ../src/studio/config.c ../src/studio/graph.c \
 *     ../src/core/json.c ../src/core/util.c ../src/core/err.c -lm */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "studio/scene.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXF 64

static char graph[LE_SG_GRAPH_MAX];
static char images[LE_SG_MAX_IMAGES][LE_SCN_PATH_MAX];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    const char *f[MAXF], *v[MAXF];
    size_t fl[MAXF], vl[MAXF], n = 0;
    char *p = buf, *end = buf + size;
    while (p < end && n < MAXF) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *le = nl ? nl : end;
        char *tab = memchr(p, '\t', (size_t)(le - p));
        if (tab) {
            f[n] = p;
            fl[n] = (size_t)(tab - p);
            v[n] = tab + 1;
            vl[n] = (size_t)(le - tab - 1);
            *le = '\0';
            n++;
        }
        p = le + 1;
    }
    le_scn_caster c;
    int bad = 0;
    if (le_scn_caster_load("fuzz", f, fl, v, vl, n, &c, &bad) != LE_OK) {
        free(buf);
        return 0;
    }
    for (int i = 0; i < LE_CST_RES_MAX; i++) {
        /* with channels a slot holds its channel's resource, else none */
        const char *rid = c.channels && c.chan[i] ? le_jv_get_str(c.chan[i], "ResourceId") : NULL;
        if (c.channels && c.res[i] && (!rid || !le_jv_get(c.resources, rid)))
            abort();
        le_scn_src s;
        le_cst_err e = { 0 };
        if (le_scn_source(c.res[i], i % 2 ? "/m" : NULL, "/r", &s, &e) != LE_OK && !e.code[0])
            abort();
    }
    for (const le_jv *x = c.scenes->first; x; x = x->next) {
        le_sg_scene pic;
        le_cst_err e = { 0 };
        int rc = le_scn_picture(&c, x->key, 640, 360, "/m", &pic, images, &e);
        if (rc != LE_OK) {
            if (!e.code[0])
                abort();
            continue;
        }
        if (le_sg_build(&pic, graph, sizeof(graph)) != LE_OK)
            abort();
        for (int k = 0; k < pic.nlayers; k++)
            if (pic.layers[k].input < -1 || pic.layers[k].input >= LE_SG_MAX_INPUTS)
                abort();
        /* the standby video: slot 12 alone, its sound, no delays */
        int vd[LE_SG_MAX_INPUTS], ad[LE_SG_MAX_INPUTS];
        le_scn_delays(&c, x->key, vd, ad);
        if (le_scn_is_urgent(x) && (pic.nlayers != 1 || pic.layers[0].input != LE_SCN_URGENT_SLOT ||
                                    pic.ncomponents != 0 || pic.naudio != 1 || vd[0] || ad[0]))
            abort();
        char name[80];
        if (le_scn_stream_name(x->key, "lld", name, sizeof(name)) == LE_OK && strchr(name, '-'))
            abort();
    }
    le_scn_caster_free(&c);
    free(buf);
    return 0;
}
