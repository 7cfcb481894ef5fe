/* Carousels (studio/carousel.h). */
#include "studio/carousel.h"

#include "core/err.h"

int le_carousel_init(struct event_base *base, le_pipe_pool *pool, const le_caster_opts *o)
{
    (void)base;
    (void)pool;
    (void)o;
    return LE_OK;
}

void le_carousel_set_opts(const le_caster_opts *o) { (void)o; }
void le_carousel_tick(void) {}
void le_carousel_shutdown(void) {}
void le_carousel_free(void) {}
