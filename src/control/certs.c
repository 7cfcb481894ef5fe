/* Placeholder bodies: see certs.h. */
#include "control/certs.h"
void le_certs_init(const struct le_conf *conf) { (void)conf; }
void le_certs_free(void) {}
