/* The certificate actions (placeholder). */
#include "admin/actions.h"
void le_actions_cert_register(void) {}
