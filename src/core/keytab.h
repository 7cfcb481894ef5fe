/* A string-keyed hash table for the per-stream tables ("domain/app/name"
 * keys): intrusive (the owner embeds an le_keytab_ent in its object and
 * keeps the key string alive while the entry is in the table), growable
 * (buckets double when entries outnumber them), hashed with le_hash64.
 * Iteration is in insertion order over a list kept beside the buckets, so a
 * growth never disturbs a walk.
 *
 * Rules for a walk (LE_KEYTAB_FOREACH, or le_keytab_first/e->next with the
 * next entry saved before the body runs):
 *  - the body may remove (and free) the entry it is on;
 *  - it must not remove any other entry;
 *  - it may insert; entries inserted during a walk may or may not be visited.
 * No allocation but the bucket array; le_keytab_free releases that only. A
 * zero-initialised le_keytab is an empty table. Not thread-safe. */
#ifndef LE_KEYTAB_H
#define LE_KEYTAB_H
#include <stddef.h>
#include <stdint.h>

typedef struct le_keytab_ent {
    struct le_keytab_ent *hnext;        /* bucket chain */
    struct le_keytab_ent *prev, *next;  /* every entry, oldest first */
    const char *key;                    /* NULL while not in a table */
    uint64_t hash;
} le_keytab_ent;

typedef struct le_keytab {
    le_keytab_ent **b;
    size_t nb;                          /* 0 or a power of two */
    size_t n;
    le_keytab_ent *head, *tail;
} le_keytab;

/* The object that embeds entry e as its member `member`. */
#define LE_KEYTAB_OBJ(e, type, member) ((type *)(void *)((char *)(e) - offsetof(type, member)))
/* for (e = first; e; e = saved next): see the walk rules above. */
#define LE_KEYTAB_FOREACH(t, e, nx) \
    for (le_keytab_ent *e = (t)->head, *nx = e ? e->next : NULL; e; e = nx, nx = e ? e->next : NULL)

le_keytab_ent *le_keytab_find(const le_keytab *t, const char *key);
/* Adds e under key (a string that must outlive the entry's stay, unchanged).
 * LE_EEXIST if the key is present (e is not added), LE_EINVAL if e is already
 * in a table. */
int le_keytab_insert(le_keytab *t, le_keytab_ent *e, const char *key);
/* Takes e out; a no-op for an entry that is in no table. */
void le_keytab_remove(le_keytab *t, le_keytab_ent *e);
static inline size_t le_keytab_count(const le_keytab *t) { return t->n; }
static inline le_keytab_ent *le_keytab_first(const le_keytab *t) { return t->head; }
/* Frees the bucket array and empties t without touching the entries (their
 * owners free them; remove them first if they are to be reused). */
void le_keytab_free(le_keytab *t);

#endif
