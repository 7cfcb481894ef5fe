/* The programme of a running caster (caster_int.h, docs/STUDIO.md
 * "Programmes"). */
#include "studio/caster_int.h"

#include <stddef.h>

struct le_jv *le_cst_prog_pgm(le_cst_run *c, const le_scn_caster *sc, int64_t unix_ms)
{
    (void)c;
    (void)sc;
    (void)unix_ms;
    return NULL;
}

void le_cst_prog_apply(le_cst_run *c) { (void)c; }
void le_cst_prog_tick(le_cst_run *c) { (void)c; }
void le_cst_prog_event(le_cst_run *c, int slot, int ev, int64_t clock_ms)
{
    (void)c;
    (void)slot;
    (void)ev;
    (void)clock_ms;
}
void le_cst_prog_stop(le_cst_run *c) { (void)c; }
