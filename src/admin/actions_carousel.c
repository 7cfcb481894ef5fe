/* The production studio's actions (docs/STUDIO.md). */
#include "admin/actions.h"

void le_actions_carousel_register(void) {}
