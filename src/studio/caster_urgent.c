/* The standby video of a running caster (caster_int.h, docs/STUDIO.md
 * "Standby"). */
#include "studio/caster_int.h"

void le_cst_urgent_tick(le_cst_run *c) { (void)c; }
void le_cst_urgent_stop(le_cst_run *c) { (void)c; }
