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

# signed_query ACTION: a signed query string (fresh nonce, Timestamp now).
cat >"$LE_DIR/sq.py" <<'PY'
import base64, datetime, hashlib, hmac, sys, urllib.parse, uuid
ak, sk, action = sys.argv[1:4]
enc = lambda s: urllib.parse.quote(s, safe="-_.~")
p = {"Action": action, "Format": "JSON", "Version": "2016-11-01", "AccessKeyId": ak,
     "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "SignatureNonce": str(uuid.uuid4()),
     "Timestamp": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
canon = "&".join(enc(k) + "=" + enc(v) for k, v in sorted(p.items()))
sts = "GET&" + enc("/") + "&" + enc(canon)
sig = base64.b64encode(hmac.new((sk + "&").encode(), sts.encode(), hashlib.sha1).digest()).decode()
print(canon + "&Signature=" + enc(sig))
PY
signed_query() { python3 "$LE_DIR/sq.py" "$AK" "$SK" "$1"; }
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

q=$(signed_query DescribeLiveUserDomains)
use A
call "$q"
is "$CODE" 200 "signed call on node A: 200" || diag "$BODY"
call "$q"
is "$CODE $(code_of "$BODY")" "400 SignatureNonceUsed" "replayed on node A: SignatureNonceUsed"
use B
call "$q"
is "$CODE $(code_of "$BODY")" "400 SignatureNonceUsed" "replayed on node B: SignatureNonceUsed" || diag "$BODY"
q2=$(signed_query DescribeLiveUserDomains)
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
q3=$(signed_query DescribeLiveUserDomains)
call "$q3"
is "$CODE $(code_of "$BODY")" "503 ServiceUnavailable" "Redis down: a fresh signed call fails closed" || diag "$BODY"
use B
call "$(signed_query DescribeLiveUserDomains)"
is "$CODE $(code_of "$BODY")" "503 ServiceUnavailable" "... on node B too" || diag "$BODY"
le_bg LE_REDIS_PID redis-server --bind 127.0.0.1 --port "$LE_REDIS_PORT" --save '' --appendonly no \
    --dir "$LE_DIR" --daemonize no --logfile "$LE_DIR/redis2.log"
le_wait_for 10 le_port_open "$LE_REDIS_PORT"
ok_served() { call "$(signed_query DescribeLiveUserDomains)"; [ "$CODE" = 200 ]; }
le_wait_for 15 ok_served
ok $? "Redis back: signed calls are served again" || diag "$CODE $BODY"

use B
le_stop
use A
le_stop
done_testing
