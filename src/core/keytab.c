#include "core/keytab.h"
#include "core/err.h"
#include "core/util.h"

#include <stdlib.h>
#include <string.h>

#define MIN_BUCKETS 16u

static uint64_t hash_of(const char *key) { return le_hash64(key, strlen(key), LE_HASH64_INIT); }

/* FNV-1a's low bits alone are weak for keys that differ in the last byte. */
static size_t slot(const le_keytab *t, uint64_t h) { return (size_t)(h ^ (h >> 29)) & (t->nb - 1); }

le_keytab_ent *le_keytab_find(const le_keytab *t, const char *key)
{
    if (!t->nb)
        return NULL;
    uint64_t h = hash_of(key);
    for (le_keytab_ent *e = t->b[slot(t, h)]; e; e = e->hnext)
        if (e->hash == h && strcmp(e->key, key) == 0)
            return e;
    return NULL;
}

static void grow(le_keytab *t)
{
    size_t nb = t->nb ? t->nb * 2 : MIN_BUCKETS;
    free(t->b);
    t->b = le_xcalloc(nb, sizeof(*t->b));
    t->nb = nb;
    for (le_keytab_ent *e = t->head; e; e = e->next) {
        size_t s = slot(t, e->hash);
        e->hnext = t->b[s];
        t->b[s] = e;
    }
}

int le_keytab_insert(le_keytab *t, le_keytab_ent *e, const char *key)
{
    if (e->key)
        return LE_EINVAL;
    if (le_keytab_find(t, key))
        return LE_EEXIST;
    if (t->n >= t->nb)
        grow(t);
    e->key = key;
    e->hash = hash_of(key);
    size_t s = slot(t, e->hash);
    e->hnext = t->b[s];
    t->b[s] = e;
    e->next = NULL;
    e->prev = t->tail;
    if (t->tail)
        t->tail->next = e;
    else
        t->head = e;
    t->tail = e;
    t->n++;
    return LE_OK;
}

void le_keytab_remove(le_keytab *t, le_keytab_ent *e)
{
    if (!e->key || !t->nb)
        return;
    for (le_keytab_ent **pp = &t->b[slot(t, e->hash)]; *pp; pp = &(*pp)->hnext)
        if (*pp == e) {
            *pp = e->hnext;
            if (e->prev)
                e->prev->next = e->next;
            else
                t->head = e->next;
            if (e->next)
                e->next->prev = e->prev;
            else
                t->tail = e->prev;
            t->n--;
            /* e->next stays: a walk that saved nothing may still step on. */
            e->hnext = e->prev = NULL;
            e->key = NULL;
            return;
        }
}

void le_keytab_free(le_keytab *t)
{
    free(t->b);
    memset(t, 0, sizeof(*t));
}
