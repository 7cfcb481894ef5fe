/* Request parameters for the fuzz targets of the studio's parsers
 * (fuzz_caster.c, fuzz_program.c): the input is one "Name=Value" a line,
 * read through fuzz_params_get (a le_cst_get). */
#ifndef LE_FUZZ_PARAMS_H
#define LE_FUZZ_PARAMS_H
#include <string.h>

#define FUZZ_PARAMS_MAX 64

typedef struct fuzz_params {
    char *name[FUZZ_PARAMS_MAX];
    char *val[FUZZ_PARAMS_MAX];
    int n;
} fuzz_params;

/* Splits s (NUL-terminated, written into) into q; lines without '=' are
 * skipped, lines past FUZZ_PARAMS_MAX dropped. */
static inline void fuzz_params_split(char *s, fuzz_params *q)
{
    q->n = 0;
    for (char *line = s, *next; line && q->n < FUZZ_PARAMS_MAX; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        char *eq = strchr(line, '=');
        if (!eq)
            continue;
        *eq = 0;
        q->name[q->n] = line;
        q->val[q->n++] = eq + 1;
    }
}

static inline const char *fuzz_params_get(void *ctx, const char *name)
{
    const fuzz_params *q = ctx;
    for (int i = 0; i < q->n; i++)
        if (!strcmp(q->name[i], name))
            return q->val[i];
    return NULL;
}

#endif
