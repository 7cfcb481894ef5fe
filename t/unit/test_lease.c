/* The cluster lease (src/control/lease.c): the token format, the margin
 * rule that decides how long a lease that cannot be renewed is kept, and
 * what the calls do while the store is not connected (nothing is sent;
 * releases wait, at most LE_LEASE_RELEASES of them, oldest forgotten). */
#include <stdio.h>
#include <string.h>

#include "control/lease.h"
#include "core/err.h"
#include "tap.h"

static const le_lease_opts O = { .lease_ms = 9000, .renew_ms = 2000, .margin_ms = 1000, .tick_ms = 1000 };

int main(void)
{
    char tok[LE_LEASE_TOKEN_MAX], small[12];

    /* tokens: node/pid/seq */
    is_int(le_lease_make_token(tok, sizeof(tok), "node-a", 4242, 7), LE_OK, "a token is made");
    is_str(tok, "node-a/4242/7", "... as node/pid/seq");
    is_int(le_lease_make_token(tok, sizeof(tok), "", 1, 18446744073709551615ULL), LE_OK, "an empty node name");
    is_str(tok, "/1/18446744073709551615", "... still carries pid and sequence");
    /* a long node name is cut, never the part that keeps tokens unique */
    is_int(le_lease_make_token(small, sizeof(small), "a-very-long-node-name", 42, 9), LE_OK, "a long node name");
    is_str(small, "a-very/42/9", "... is cut; pid and sequence stay whole");
    char big[300];
    memset(big, 'n', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    is_int(le_lease_make_token(tok, sizeof(tok), big, 123, 456), LE_OK, "a node name longer than a token");
    is_int((int)strlen(tok), LE_LEASE_TOKEN_MAX - 1, "... fills the token");
    ok(strcmp(tok + strlen(tok) - 8, "/123/456") == 0, "... and ends with /pid/seq");
    is_int(le_lease_make_token(small, 6, "n", 12345, 678), LE_ETOOBIG, "no room for /pid/seq: LE_ETOOBIG");
    is_str(small, "", "... and an empty token");

    /* the margin rule: kept while now + tick < sent + lease - margin */
    le_lease l;
    le_lease_init(&l, "test:lease:x", &O, NULL, NULL);
    is_str(l.key, "test:lease:x", "init keeps the key");
    is_str(le_lease_token(&l), "", "no token before a claim");
    ok(!le_lease_holding(&l) && !le_lease_held(&l, 0), "a new lease is not held");
    l.holding = 1;   /* as after a claim won, sent at 10000 */
    l.lease_sent = 10000;
    ok(le_lease_holding(&l), "holding after a claim won");
    ok(le_lease_held(&l, 10000), "held right after the claim was sent");
    ok(le_lease_held(&l, 16999), "held at 16999: it cannot expire before 18000 (19000 - margin)");
    ok(!le_lease_held(&l, 17000), "not at 17000: the next tick would reach the margin");
    ok(!le_lease_held(&l, 25000), "nor long after");
    is_int((int)le_lease_sent(&l), 10000, "le_lease_sent: when the last success was sent");

    /* the store is not connected: nothing is sent, nothing is pending */
    is_int(le_lease_claim(&l, 20000), 0, "no claim while holding");
    l.holding = 0;
    is_int(le_lease_claim(&l, 20000), 0, "no claim while the store is not connected");
    ok(!le_lease_claiming(&l) && !le_lease_busy(&l), "... nothing in flight");
    l.holding = 1;
    le_lease_renew(&l, 20000);
    ok(!le_lease_busy(&l), "a renewal that cannot be sent leaves nothing in flight");
    is_int(l.renew_failed, 1, "... and counts as a failed renewal");

    /* release: queued until Redis ran it; at most LE_LEASE_RELEASES */
    for (int i = 0; i < LE_LEASE_RELEASES + 2; i++) {
        snprintf(l.token, sizeof(l.token), "node/1/%d", i);
        l.holding = 1;
        le_lease_release(&l);
        if (i == 0) {
            ok(!le_lease_holding(&l), "released: no longer holding");
            is_int(l.renew_failed, 0, "... its failed renewals forgotten");
            ok(le_lease_releasing(&l), "... and the release waits for the store");
        }
    }
    is_int(l.nrel, LE_LEASE_RELEASES, "releases waiting are bounded");
    is_str(l.rel[0], "node/1/2", "... the oldest are forgotten first");
    is_str(l.rel[LE_LEASE_RELEASES - 1], "node/1/5", "... the newest is kept");
    le_lease_release(&l);
    is_int(l.nrel, LE_LEASE_RELEASES, "releasing a lease not held does nothing");
    l.holding = 1;   /* the same token again: not queued twice */
    le_lease_release(&l);
    is_int(l.nrel, LE_LEASE_RELEASES, "a token already waiting is not queued twice");
    is_str(l.rel[LE_LEASE_RELEASES - 1], "node/1/5", "... the queue is unchanged");
    le_lease_flush(&l);
    ok(!le_lease_busy(&l), "flush while disconnected sends nothing");

    le_lease_defer(&l, 99999);
    is_int((int)l.next_claim, 99999, "defer sets the next claim time");
    return done_testing();
}
