/* libFuzzer target for a caster's programme (src/studio/program.c): the
 * input is request parameters, one "Name=Value" a line. Episodes are parsed
 * as AddCasterEpisode (prefix "") and AddCasterProgram ("Episodes.N."),
 * then as a Modify over the result; accepted ones go into a programme
 * whose on-air episode, statuses and boundaries must agree with each other
 * at times around every StartTime and EndTime.
 *   clang -g -fsanitize=fuzzer,address,undefined -I../src fuzz_program.c ../src/studio/program.c \
 *     ../src/studio/config.c ../src/core/json.c ../src/core/util.c ../src/core/err.c -lm */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"
#include "fuzz_params.h"
#include "studio/program.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_at(const le_prg *p, int64_t t)
{
    int a = le_prg_on_air(p, t);
    int ones = 0;
    for (size_t i = 0; i < p->n; i++) {
        int st = le_prg_status(p, i, t);
        if (st < 0 || st > 2 || (st == 1) != ((int)i == a))
            abort();
        ones += st == 1;
    }
    if (ones > 1)
        abort();
    int64_t b = le_prg_next_boundary(p, t);
    if (b <= t)
        abort();
    /* Nothing changes strictly between t and the boundary. */
    if (b != LE_PRG_NONE && b - t > 1 && le_prg_on_air(p, b - 1) != a)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 16384)
        return 0;
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = 0;
    fuzz_params q;
    fuzz_params_split(s, &q);
    le_prg p;
    memset(&p, 0, sizeof(p));
    for (int k = 0; k <= 4; k++) {
        char prefix[32], id[16];
        if (k == 0)
            prefix[0] = '\0';
        else
            snprintf(prefix, sizeof(prefix), "Episodes.%d.", k);
        snprintf(id, sizeof(id), "e%d", k);
        le_cst_err e;
        memset(&e, 0, sizeof(e));
        le_jv *o = NULL;
        int rc = le_prg_parse(fuzz_params_get, &q, prefix, NULL, id, &o, &e);
        if (rc != LE_OK) {
            if (!e.code[0] || e.status < 400 || o)
                abort();
            continue;
        }
        le_jv *o2 = NULL;
        rc = le_prg_parse(fuzz_params_get, &q, prefix, o, id, &o2, &e);
        if (rc != LE_OK || !o2)
            abort();   /* the same request over its own result is always accepted */
        le_buf b1 = { 0 }, b2 = { 0 };
        le_jv_to_json(o, &b1);
        le_jv_to_json(o2, &b2);
        if (b1.len != b2.len || memcmp(b1.p, b2.p, b1.len))
            abort();
        le_buf_free(&b1);
        le_buf_free(&b2);
        le_jv_free(o2);
        const char *st = le_jv_get_str(o, "StartTime"), *en = le_jv_get_str(o, "EndTime");
        int64_t sm, em;
        if (le_prg_time_parse(st, &sm) != LE_OK || le_prg_time_parse(en, &em) != LE_OK || em <= sm)
            abort();
        if (le_prg_overlap(&p, NULL, sm, em) >= 0) {
            le_jv_free(o);
            continue;
        }
        if (le_prg_add(&p, o) != LE_OK)
            abort();
        if (k == 2)
            le_prg_set_ended(&p, id, sm + 1500);
    }
    for (size_t i = 0; i + 1 < p.n; i++)
        if (p.ep[i].start_ms > p.ep[i + 1].start_ms)
            abort();
    for (size_t i = 0; i < p.n; i++) {
        const le_prg_ep *x = &p.ep[i];
        int64_t ts[] = { x->start_ms - 1, x->start_ms, x->start_ms + 1, x->end_ms - 1, x->end_ms, x->end_ms + 1 };
        for (size_t k = 0; k < sizeof(ts) / sizeof(ts[0]); k++)
            check_at(&p, ts[k]);
        le_jv *sc = le_prg_pgm(NULL, x);
        le_jv *d = le_prg_describe(&p, i, x->start_ms);
        if (!sc || !d)
            abort();
        le_jv_free(sc);
        le_jv_free(d);
    }
    le_prg_free(&p);
    free(s);
    return 0;
}
