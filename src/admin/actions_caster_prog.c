/* The production studio's actions (docs/STUDIO.md). */
#include "admin/actions.h"

void le_actions_caster_prog_register(void) {}
