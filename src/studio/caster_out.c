/* PGM's side output and recording (caster_int.h, docs/STUDIO.md
 * "Outputs"). */
#include "studio/caster_int.h"

void le_cst_outputs_apply(le_cst_run *c) { (void)c; }
void le_cst_outputs_stop(le_cst_run *c) { (void)c; }
