/* Streams made on demand (control/want.h). */
#include "control/want.h"

#include "relay/edge.h"
#include "transcode/rendition.h"

int le_want_stream(const le_conf_domain *dom, const char *app, const char *name)
{
    return le_edge_want(dom, app, name) || le_rend_want(dom, app, name);
}

int64_t le_want_wait_ms(const le_conf_domain *dom)
{
    int64_t e = le_edge_wait_ms(dom), r = le_rend_wait_ms();
    return e > r ? e : r;
}
