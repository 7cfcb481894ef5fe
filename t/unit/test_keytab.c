/* The shared string-keyed table (core/keytab): lookups, growth, insertion
 * order, the walk rules, many keys. */
#include "core/keytab.h"
#include "core/err.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct obj {
    char key[48];
    int val;
    le_keytab_ent ke;
} obj;

static obj *mk(int i)
{
    obj *o = calloc(1, sizeof(*o));
    snprintf(o->key, sizeof(o->key), "example.com/live/cam%d", i);
    o->val = i;
    return o;
}

static obj *get(le_keytab *t, const char *key)
{
    le_keytab_ent *e = le_keytab_find(t, key);
    return e ? LE_KEYTAB_OBJ(e, obj, ke) : NULL;
}

int main(void)
{
    le_keytab t = { 0 };
    ok(le_keytab_find(&t, "a/b/c") == NULL, "empty table: find is NULL");
    le_keytab_remove(&t, &(le_keytab_ent){ 0 });
    is_int(le_keytab_count(&t), 0, "empty table: remove of a stranger is a no-op");

    /* Basics and duplicate refusal. */
    obj *a = mk(1), *b = mk(2);
    is_int(le_keytab_insert(&t, &a->ke, a->key), LE_OK, "insert a");
    is_int(le_keytab_insert(&t, &b->ke, b->key), LE_OK, "insert b");
    obj *dup = mk(1);
    is_int(le_keytab_insert(&t, &dup->ke, dup->key), LE_EEXIST, "same key again: LE_EEXIST");
    ok(dup->ke.key == NULL, "refused entry stays out of the table");
    is_int(le_keytab_insert(&t, &a->ke, "other/key/x"), LE_EINVAL, "an entry already in a table: LE_EINVAL");
    ok(get(&t, "example.com/live/cam1") == a, "find a by an equal string, not the same pointer");
    ok(get(&t, "example.com/live/cam") == NULL, "a prefix is not a match");
    ok(get(&t, "example.com/live/cam10") == NULL, "a longer key is not a match");
    is_int(le_keytab_count(&t), 2, "count 2");
    le_keytab_remove(&t, &a->ke);
    ok(get(&t, a->key) == NULL && get(&t, b->key) == b, "removed a; b still there");
    le_keytab_remove(&t, &a->ke);
    is_int(le_keytab_count(&t), 1, "second remove of a is a no-op");
    is_int(le_keytab_insert(&t, &dup->ke, dup->key), LE_OK, "the key can be inserted again after removal");
    le_keytab_remove(&t, &dup->ke);
    le_keytab_remove(&t, &b->ke);
    free(a);
    free(b);
    free(dup);
    ok(t.head == NULL && t.tail == NULL && t.n == 0, "empty again");

    /* Many keys: growth keeps every key findable and the load at most 1. */
    enum { N = 100000 };
    obj **v = calloc(N, sizeof(*v));
    size_t nb_seen = 0, grows = 0;
    int bad = 0;
    for (int i = 0; i < N; i++) {
        v[i] = mk(i);
        if (le_keytab_insert(&t, &v[i]->ke, v[i]->key) != LE_OK)
            bad++;
        if (t.nb != nb_seen) {
            grows++;
            nb_seen = t.nb;
        }
        if (t.n > t.nb || (t.nb & (t.nb - 1)))
            bad++;
    }
    is_int(bad, 0, "100000 inserts, load <= 1, power-of-two buckets");
    ok(grows >= 10, "the bucket array grew (%zu times, now %zu)", grows, t.nb);
    is_int(le_keytab_count(&t), N, "count %d", N);
    bad = 0;
    for (int i = 0; i < N; i++)
        if (get(&t, v[i]->key) != v[i])
            bad++;
    is_int(bad, 0, "every key found after growth");
    size_t longest = 0;
    for (size_t s = 0; s < t.nb; s++) {
        size_t len = 0;
        for (le_keytab_ent *e = t.b[s]; e; e = e->hnext)
            len++;
        if (len > longest)
            longest = len;
    }
    ok(longest <= 16, "longest bucket chain %zu (keys differ only in their tail)", longest);

    /* A walk is in insertion order, also across growth. */
    int i = 0;
    bad = 0;
    LE_KEYTAB_FOREACH(&t, e, nx) {
        if (LE_KEYTAB_OBJ(e, obj, ke)->val != i)
            bad++;
        i++;
    }
    ok(bad == 0 && i == N, "walk visits %d entries in insertion order", i);

    /* Removing (and freeing) the current entry during a walk. */
    LE_KEYTAB_FOREACH(&t, e, nx) {
        obj *o = LE_KEYTAB_OBJ(e, obj, ke);
        if (o->val % 2) {
            le_keytab_remove(&t, e);
            v[o->val] = NULL;
            free(o);
        }
    }
    is_int(le_keytab_count(&t), N / 2, "odd entries removed during a walk");
    bad = 0;
    char k[48];
    for (int j = 0; j < N; j++) {
        snprintf(k, sizeof(k), "example.com/live/cam%d", j);
        if ((get(&t, k) != NULL) != (j % 2 == 0))
            bad++;
    }
    is_int(bad, 0, "exactly the even keys remain");

    /* Inserting during a walk (it may grow the buckets) leaves the walk and
     * the table intact. */
    size_t before = t.nb;
    int visited = 0, added = 0;
    obj **w = calloc(N / 2, sizeof(*w));
    LE_KEYTAB_FOREACH(&t, e, nx) {
        visited++;
        obj *o = LE_KEYTAB_OBJ(e, obj, ke);
        if (o->val < N && o->val % 2 == 0) {   /* two new per old: 150000 > the buckets */
            obj *n = mk(N + o->val), *m = mk(N + o->val + 1);
            added += le_keytab_insert(&t, &n->ke, n->key) == LE_OK;
            added += le_keytab_insert(&t, &m->ke, m->key) == LE_OK;
            v[o->val + 1] = n;   /* the freed odd slot */
            w[o->val / 2] = m;
        }
    }
    ok(added == N && t.nb > before, "%d inserted during a walk, buckets %zu -> %zu", added, before, t.nb);
    ok(visited >= N / 2 && visited <= N / 2 + N, "the walk ended (%d visited)", visited);
    bad = 0;
    for (int j = 0; j < N; j++)
        if (!v[j] || get(&t, v[j]->key) != v[j])
            bad++;
    for (int j = 0; j < N / 2; j++)
        if (!w[j] || get(&t, w[j]->key) != w[j])
            bad++;
    is_int(bad, 0, "all %d entries findable after inserts during a walk", N + N / 2);
    free(w);

    /* Emptying by popping the first entry. */
    le_keytab_ent *e;
    size_t popped = 0;
    while ((e = le_keytab_first(&t))) {
        le_keytab_remove(&t, e);
        free(LE_KEYTAB_OBJ(e, obj, ke));
        popped++;
    }
    ok(popped == N + N / 2 && le_keytab_count(&t) == 0, "popped %zu", popped);
    le_keytab_free(&t);
    ok(t.b == NULL && t.nb == 0, "free empties the table");
    obj *z = mk(7);
    is_int(le_keytab_insert(&t, &z->ke, z->key), LE_OK, "a freed table is usable again");
    ok(get(&t, z->key) == z, "and finds");
    le_keytab_remove(&t, &z->ke);
    free(z);
    le_keytab_free(&t);
    free(v);
    return done_testing();
}
