#!/bin/sh
# 44-admin-nonce: a signed admin call is accepted once by the whole cluster
# (man livedge.8, ADMIN API). Two nodes, A and B, share one Redis:
#  - the same signed URL sent to A (200) and then to B is refused
#    (400 SignatureNonceUsed);
#  - after a restart of A it is still refused on A;
#  - with Redis down, a fresh signed call fails closed (503
#    ServiceUnavailable), and once Redis is back it is served again.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
# shellcheck source=t/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=t/integration/admin.sh
. "$(dirname "$0")/admin.sh"

le_require_daemon
le_require_tool python3 curl redis-server

AK=LTAInonce4test
SK=nonce-secret-4test
LE_EXTRA_CONF="admin {
    access_key_id     \"$AK\";
    access_key_secret \"$SK\";
}"
LE_WAIT_PORTS="rtmp http admin"
LE_BASE_NAME=$LE_NAME

# call QUERY: GET on the current node; sets CODE and BODY.
call() {
    local out
    out=$(curl -s --max-time 10 -w '\n%{http_code}' "http://127.0.0.1:$LE_ADMIN_PORT/?$1")
    CODE=${out##*$'\n'}
    BODY=${out%$'\n'*}
}
code_of() { sed -n 's/.*"Code":"\([^"]*\)".*/\1/p' <<<"$1"; }

start_node A || le_abort "node A did not start"
start_node B || le_abort "node B did not start"

q=$(signed_query "$AK" "$SK" DescribeLiveUserDomains)
use A
call "$q"
is "$CODE" 200 "signed call on node A: 200" || diag "$BODY"
call "$q"
is "$CODE $(code_of "$BODY")" "400 SignatureNonceUsed" "replayed on node A: SignatureNonceUsed"
use B
call "$q"
is "$CODE $(code_of "$BODY")" "400 SignatureNonceUsed" "replayed on node B: SignatureNonceUsed" || diag "$BODY"
q2=$(signed_query "$AK" "$SK" DescribeLiveUserDomains)
call "$q2"
is "$CODE" 200 "another signed call on node B: 200" || diag "$BODY"

use A
le_stop
start_node A same || le_abort "node A did not restart"
call "$q"
is "$CODE $(code_of "$BODY")" "400 SignatureNonceUsed" "after a restart of A, replayed on A: refused" || diag "$BODY"
call "$q2"
is "$CODE $(code_of "$BODY")" "400 SignatureNonceUsed" "after a restart of A, B's call replayed on A: refused" || diag "$BODY"

# ---- Redis down: fail closed ----------------------------------------------------
le_kill "$LE_REDIS_PID"
le_wait_for 10 sh -c "! redis-cli -p $LE_REDIS_PORT ping >/dev/null 2>&1"
q3=$(signed_query "$AK" "$SK" DescribeLiveUserDomains)
call "$q3"
is "$CODE $(code_of "$BODY")" "503 ServiceUnavailable" "Redis down: a fresh signed call fails closed" || diag "$BODY"
use B
call "$(signed_query "$AK" "$SK" DescribeLiveUserDomains)"
is "$CODE $(code_of "$BODY")" "503 ServiceUnavailable" "... on node B too" || diag "$BODY"
le_bg LE_REDIS_PID redis-server --bind 127.0.0.1 --port "$LE_REDIS_PORT" --save '' --appendonly no \
    --dir "$LE_DIR" --daemonize no --logfile "$LE_DIR/redis2.log"
le_wait_for 10 le_port_open "$LE_REDIS_PORT"
ok_served() { call "$(signed_query "$AK" "$SK" DescribeLiveUserDomains)"; [ "$CODE" = 200 ]; }
le_wait_for 15 ok_served
ok $? "Redis back: signed calls are served again" || diag "$CODE $BODY"

use B
le_stop
use A
le_stop
done_testing
