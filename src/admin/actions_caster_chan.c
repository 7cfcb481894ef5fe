/* The production studio's actions (docs/STUDIO.md). */
#include "admin/actions.h"

void le_actions_caster_chan_register(void) {}
