#!/bin/sh
# 85-tls-certs: certificates set through the API (docs/TLS.md, "Certificates
# from the API"; man livedge.8): two nodes sharing one Redis, both with
# https_listen, a default certificate and the same tls_key_secret.
#  - SetLiveDomainCertificate through the official SDK (@alicloud/pop-core)
#    on node A: node B, not restarted, serves that certificate for the
#    domain's SNI, while an https FLV player connected before keeps playing;
#    a second certificate switches it again on both; SSLProtocol off falls
#    back to the default;
#  - DescribeLiveCertificateList (fields checked against openssl),
#    DescribeLiveCertificateDetail, DescribeLiveDomainDetail's SSLProtocol,
#    SSLPub and CertName;
#  - a node started later loads them from Redis; one with another
#    tls_key_secret warns and serves the default; one without refuses to
#    store a key; a binding the nodes missed loads when they reconnect;
#  - every error code; the Redis keys; the private key (a line of it) in no
#    answer, no node's log and no Redis value.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
# shellcheck shell=bash
: "${LE_SCRIPT_TIMEOUT:=240}"
# shellcheck source=t/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=t/integration/admin.sh
. "$(dirname "$0")/admin.sh"
# shellcheck source=t/integration/tls.sh
. "$(dirname "$0")/tls.sh"

le_require_daemon
le_require_tool python3 curl openssl ffmpeg redis-server redis-cli
LE_POPCORE_DIR=${LE_POPCORE_DIR:-$top_builddir/t/npm}
le_npm_require "$LE_POPCORE_DIR" @alicloud/pop-core || exit 0

C=$LE_DIR/certs
le_tls_make_ca "$C" || le_abort "openssl: no test CA"
le_tls_make_cert "$C" default "livedge default" localhost || le_abort "openssl: no default certificate"
le_tls_make_cert "$C" one one.live.test "$LE_DOMAIN" || le_abort "openssl: no certificate one"
le_tls_make_cert "$C" two two.live.test "$LE_DOMAIN" || le_abort "openssl: no certificate two"
SECRET="a-test-tls-key-secret-of-85"

LE_BASE_NAME=$LE_NAME
LE_WAIT_PORTS="rtmp http admin"
AK=LTAItestid4certs
SK=test-secret-4certs
read -r HA HB <<<"$(le_free_port 2)"
tls_conf() {
    printf 'https_listen 127.0.0.1:%s;\ntls_certificate %s;\ntls_certificate_key %s;\ntls_key_secret %s;\n' \
        "$1" "$C/default.pem" "$C/default.key" "$SECRET"
}
LE_EXTRA_CONF="$(tls_conf "$HA")
admin {
    access_key_id     \"$AK\";
    access_key_secret \"$SK\";
}"
start_node A || le_abort "node A did not start"
LE_EXTRA_CONF=$(tls_conf "$HB")
start_node B || le_abort "node B did not start"
LE_EXTRA_CONF=""
le_wait_for 10 le_port_open "$HA" && le_wait_for 10 le_port_open "$HB"
ok $? "both nodes listen for https"
PFX="letest$$:"
rcli() { redis-cli -p "$LE_REDIS_PORT" "$@"; }
D=$LE_DOMAIN
ANSWERS=$LE_DIR/answers.txt
: >"$ANSWERS"
# Every answer lands in $ANSWERS for the private key check at the end.
api_b() { use B; api "$@"; local rc=$?; printf '%s\n' "$API_BODY" >>"$ANSWERS"; return $rc; }
bad_b() { use B; bad "$@"; printf '%s\n' "$API_BODY" >>"$ANSWERS"; }
subj() { le_tls_subject "127.0.0.1:$1" "$2"; }
# subj_is PORT SNI CN: the node on PORT serves CN for SNI now.
subj_is() { [ "$(subj "$1" "$2")" = "$3" ]; }
# until_subj PORT SNI CN: within 10 s (le_wait_for runs subj_is anew at each try).
until_subj() { le_wait_for 10 subj_is "$@"; }

# ---- the SDK ------------------------------------------------------------------
# sdk ACTION [NAME=VALUE | NAME=@FILE ...]: a POST through pop-core to node A;
# prints "OK {json}" or "ERR Code".
cat >"$LE_DIR/sdk.js" <<'JS'
const fs = require('fs');
const RPCClient = require('@alicloud/pop-core').RPCClient;
const [port, ak, sk, action, ...kv] = process.argv.slice(2);
const params = { RegionId: 'cn-shanghai' };
for (const a of kv) {
    const i = a.indexOf('=');
    const v = a.slice(i + 1);
    params[a.slice(0, i)] = v.startsWith('@') ? fs.readFileSync(v.slice(1), 'utf8') : v;
}
const client = new RPCClient({
    accessKeyId: ak, accessKeySecret: sk,
    endpoint: 'http://127.0.0.1:' + port, apiVersion: '2016-11-01',
});
client.request(action, params, { method: 'POST', timeout: 10000 })
    .then((r) => { console.log('OK ' + JSON.stringify(r)); process.exit(0); },
          (e) => { console.log('ERR ' + e.code); process.exit(0); });
JS
sdk() {
    local out
    out=$(NODE_PATH=$LE_POPCORE_DIR/node_modules timeout 30 node "$LE_DIR/sdk.js" "$N_A_ADMIN" "$AK" "$SK" "$@" 2>&1)
    printf '%s\n' "$out" >>"$ANSWERS"
    printf '%s\n' "$out"
}

# ---- before: the default certificate; a player on node B over https ---------
is "$(subj "$HB" "$D")" "livedge default" "node B serves the default certificate for $D"
use B
LE_PUB_SECS=90 le_publish cam1
le_wait_publishing "$LE_PUB_PROGRESS" 15
ok $? "ffmpeg publishes live/cam1 on node B" || diag "$(cat "$LE_PUB_LOG")"
FLV=$LE_DIR/https.flv
le_bg PLAYER_PID curl -sk --max-time 120 --resolve "$D:$HB:127.0.0.1" -o "$FLV" "https://$D:$HB/live/cam1.flv"
le_wait_for 10 le_size_gt "$FLV" 20000
ok $? "an https FLV player of live/cam1 on node B receives data"

# ---- SetLiveDomainCertificate through pop-core on node A ------------------------
out=$(sdk SetLiveDomainCertificate DomainName="$D" SSLProtocol=on CertName=c1 SSLPub=@"$C/one.pem" SSLPri=@"$C/one.key")
like "$out" '^OK \{"RequestId":"[0-9A-F-]{36}"\}$' "pop-core SetLiveDomainCertificate c1 on node A" || diag "$out"
until_subj "$HB" "$D" one.live.test
ok $? "node B (not restarted) serves certificate one for SNI $D" || diag "got '$(subj "$HB" "$D")'"
is "$(subj "$HA" "$D")" one.live.test "... and node A too"
is "$(subj "$HB" other.example)" "livedge default" "... another SNI still gets the default"
got=$(curl -s --max-time 10 --cacert "$C/ca.pem" --resolve "$D:$HB:127.0.0.1" -o /dev/null -w '%{http_code}' \
    "https://$D:$HB/live/cam1.flv" --max-filesize 1 2>/dev/null)
like "$got" '^(200|000)$' "curl verifying against the test CA accepts node B's certificate for $D" || true
le_grows "$FLV" 50000 10
ok $? "the https player connected before the change keeps receiving"
le_alive "$PLAYER_PID"
ok $? "... its connection was not dropped"

# ---- the Redis records ---------------------------------------------------------
is "$(rcli HGET "${PFX}domaincert:$D" ssl) $(rcli HGET "${PFX}domaincert:$D" cert)" "on c1" \
    "domaincert:$D holds ssl on, cert c1"
is "$(rcli SISMEMBER "${PFX}certs" c1) $(rcli SISMEMBER "${PFX}domaincerts" "$D")" "1 1" "certs and domaincerts list them"
like "$(rcli HGET "${PFX}cert:c1" pri)" '^v1:[A-Za-z0-9+/=]{40,}$' "cert:c1 pri is sealed (v1:base64)"
is "$(rcli HGET "${PFX}cert:c1" pub)" "$(cat "$C/one.pem")" "cert:c1 pub is the certificate"
is "$(rcli HGET "${PFX}cert:c1" id)" "$(rcli GET "${PFX}cert:id")" "cert:c1 id is the counter's value"

# ---- a second certificate switches both nodes ------------------------------------
out=$(sdk SetLiveDomainCertificate DomainName="$D" SSLProtocol=on CertName=c2 SSLPub=@"$C/two.pem" SSLPri=@"$C/two.key")
like "$out" '^OK ' "pop-core SetLiveDomainCertificate c2" || diag "$out"
until_subj "$HB" "$D" two.live.test
ok $? "node B serves certificate two" || diag "got '$(subj "$HB" "$D")'"
until_subj "$HA" "$D" two.live.test
ok $? "node A serves certificate two"
le_grows "$FLV" 50000 10
ok $? "the https player still receives"
# A node started now loads the certificates and bindings when it connects.
HC=$(le_free_port 1)
LE_EXTRA_CONF=$(tls_conf "$HC")
start_node C || le_abort "node C did not start"
LE_EXTRA_CONF=""
le_wait_for 10 le_port_open "$HC"
until_subj "$HC" "$D" two.live.test
ok $? "node C, started after the change, serves certificate two from Redis" || diag "got '$(subj "$HC" "$D")'"
use C
le_stop
# A node with another tls_key_secret cannot unseal the key: a warning naming
# the CertName (only), and the default certificate.
HD=$(le_free_port 1)
LE_EXTRA_CONF=$(tls_conf "$HD" | sed "s/$SECRET/another-secret-of-85-tls/")
start_node D || le_abort "node D did not start"
LE_EXTRA_CONF=""
use D
line=$(le_wait_log "certificate c2 not served: its private key does not unseal" 10)
ok $? "node D with another tls_key_secret: a warning naming c2" || diag "$(tail -n 5 "$LE_LOG")"
is "$(subj "$HD" "$D")" "livedge default" "... and it serves the default certificate"
unlike "$line" "$D|BEGIN|v1:" "... the warning names neither the domain nor any key text"
le_stop
# A node without tls_key_secret refuses to store a key.
start_node E || le_abort "node E did not start"
use E
api SetLiveDomainCertificate DomainName="$D" SSLProtocol=on CertName=c9 SSLPub="$(cat "$C/one.pem")" \
    SSLPri="$(cat "$C/one.key")"
printf '%s\n' "$API_BODY" >>"$ANSWERS"
is "$API_CODE $(j "$API_BODY" 'd["Code"]')" "400 SetDomainSSLPub.ParameterError" \
    "node E without tls_key_secret: SetDomainSSLPub.ParameterError"
like "$(j "$API_BODY" 'd["Message"]')" "tls_key_secret is not set" "... the message says tls_key_secret is not set"
le_stop
out=$(sdk SetLiveDomainCertificate DomainName="$D" SSLProtocol=on CertName=c3 SSLPub=@"$C/one.pem" SSLPri=@"$C/two.key")
is "$out" "ERR Certificate.MissMatch" "pop-core with a key of another certificate: Certificate.MissMatch"

# ---- the Describe actions ----------------------------------------------------------
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f'; }
notafter_ms() { echo $(( $(date -d "$(openssl x509 -in "$1" -noout -enddate | sed 's/.*=//')" +%s) * 1000 )); }
ID1=$(rcli HGET "${PFX}cert:c1" id)
ID2=$(rcli HGET "${PFX}cert:c2" id)
api_b DescribeLiveCertificateList
ok $? "DescribeLiveCertificateList on node B" || diag "$API_BODY"
is "$(keys)" '["CertificateListModel", "RequestId"]' "... keys"
is "$(j "$API_BODY" '[d["CertificateListModel"]["Count"], len(d["CertificateListModel"]["CertList"]["Cert"])]')" \
    "[2, 2]" "... Count 2, two certificates"
is "$(j "$API_BODY" 'sorted(d["CertificateListModel"]["CertList"]["Cert"][0].keys())')" \
    '["CertId", "CertName", "Common", "Fingerprint", "Issuer", "LastTime"]' "... a certificate's fields"
is "$(j "$API_BODY" 'd["CertificateListModel"]["CertList"]["Cert"][0]')" \
    "{\"CertId\": $ID1, \"CertName\": \"c1\", \"Common\": \"one.live.test\", \"Fingerprint\": \"$(fp "$C/one.leaf.pem")\", \"Issuer\": \"livedge test CA\", \"LastTime\": $(notafter_ms "$C/one.leaf.pem")}" \
    "... c1: CertId, Fingerprint (openssl's SHA-256), Common, Issuer, LastTime (notAfter in ms)"
is "$(j "$API_BODY" 'd["CertificateListModel"]["CertList"]["Cert"][1]')" \
    "{\"CertId\": $ID2, \"CertName\": \"c2\", \"Common\": \"two.live.test\", \"Fingerprint\": \"$(fp "$C/two.leaf.pem")\", \"Issuer\": \"livedge test CA\", \"LastTime\": $(notafter_ms "$C/two.leaf.pem")}" \
    "... c2"
api_b DescribeLiveCertificateList DomainName="$D"
is "$(j "$API_BODY" '[d["CertificateListModel"]["Count"], [c["CertName"] for c in d["CertificateListModel"]["CertList"]["Cert"]]]')" \
    '[1, ["c2"]]' "DescribeLiveCertificateList DomainName=$D: the certificate bound to it"
bad_b 404 InvalidDomain.NotFound "DescribeLiveCertificateList of an unknown domain" DescribeLiveCertificateList DomainName=nope.test
api_b DescribeLiveCertificateDetail CertName=c1
ok $? "DescribeLiveCertificateDetail c1" || diag "$API_BODY"
is "$(keys)" '["Cert", "CertId", "CertName", "RequestId"]' "... keys"
is "$(j "$API_BODY" 'd["Cert"]')" "$(cat "$C/one.pem")" "... Cert is the certificate chain"
is "$(j "$API_BODY" '[d["CertId"], d["CertName"]]')" "[$ID1, \"c1\"]" "... CertId, CertName"
bad_b 400 Certificate.NotFind "DescribeLiveCertificateDetail of an unknown name" DescribeLiveCertificateDetail CertName=nope
bad_b 400 MissingParameter "DescribeLiveCertificateDetail without CertName" DescribeLiveCertificateDetail
api_b DescribeLiveDomainDetail DomainName="$D"
is "$(j "$API_BODY" '[d["DomainDetail"]["SSLProtocol"], d["DomainDetail"]["CertName"]]')" '["on", "c2"]' \
    "DescribeLiveDomainDetail: SSLProtocol on, CertName c2"
is "$(j "$API_BODY" 'd["DomainDetail"]["SSLPub"]')" "$(cat "$C/two.pem")" "... SSLPub is certificate two"

# ---- errors ------------------------------------------------------------------------
PUB1=$(cat "$C/one.pem"); PRI1=$(cat "$C/one.key"); PRI2=$(cat "$C/two.key")
bad_b 400 SSLPub.MissingParameter "on without SSLPub" SetLiveDomainCertificate DomainName="$D" SSLProtocol=on SSLPri="$PRI1"
bad_b 400 SSLPri.MissingParameter "on without SSLPri" SetLiveDomainCertificate DomainName="$D" SSLProtocol=on SSLPub="$PUB1"
bad_b 400 SSLPub.MissingParameter "on with neither nor a CertName" SetLiveDomainCertificate DomainName="$D" SSLProtocol=on
bad_b 400 InvalidCertificate "a malformed certificate" SetLiveDomainCertificate DomainName="$D" SSLProtocol=on \
    SSLPub="-----BEGIN CERTIFICATE-----
bm90IGEgY2VydGlmaWNhdGU=
-----END CERTIFICATE-----" SSLPri="$PRI1"
bad_b 400 InvalidSSLPri "a malformed key" SetLiveDomainCertificate DomainName="$D" SSLProtocol=on SSLPub="$PUB1" \
    SSLPri="-----BEGIN PRIVATE KEY-----
bm90IGEga2V5
-----END PRIVATE KEY-----"
bad_b 400 Certificate.MissMatch "the key of another certificate" SetLiveDomainCertificate DomainName="$D" \
    SSLProtocol=on SSLPub="$PUB1" SSLPri="$PRI2"
N129=$(printf 'n%.0s' $(seq 129))
bad_b 400 InvalidCertName.TooLong "a CertName of 129 characters" SetLiveDomainCertificate DomainName="$D" \
    SSLProtocol=on CertName="$N129" SSLPub="$PUB1" SSLPri="$PRI1"
# A 40 KB SSLPub, POSTed (a query string cannot carry it): over the 32 KiB bound, under the admin body's 64 KiB.
{ echo "-----BEGIN CERTIFICATE-----"; head -c 30000 /dev/urandom | base64 -w 64; echo "-----END CERTIFICATE-----"; } \
    >"$LE_DIR/big.pem"
use B
out=$(curl -s --max-time 10 -w '\n%{http_code}' --data-urlencode Action=SetLiveDomainCertificate \
    --data-urlencode Format=JSON --data-urlencode "DomainName=$D" --data-urlencode SSLProtocol=on \
    --data-urlencode "SSLPub@$LE_DIR/big.pem" --data-urlencode "SSLPri=$PRI1" "http://127.0.0.1:$LE_ADMIN_PORT/")
printf '%s\n' "${out%$'\n'*}" >>"$ANSWERS"
is "${out##*$'\n'} $(j "${out%$'\n'*}" 'd.get("Code")')" "400 InvalidCertificate.TooLong" \
    "a 40 KB SSLPub (POST): 400 InvalidCertificate.TooLong"
bad_b 400 InvalidSSLProtocol.ValueNotSupported "SSLProtocol maybe" SetLiveDomainCertificate DomainName="$D" SSLProtocol=maybe
bad_b 400 MissingParameter "no SSLProtocol" SetLiveDomainCertificate DomainName="$D"
bad_b 404 InvalidDomain.NotFound "an unknown domain" SetLiveDomainCertificate DomainName=nope.test SSLProtocol=on \
    SSLPub="$PUB1" SSLPri="$PRI1"
bad_b 400 Certificate.NotFind "binding an unknown CertName" SetLiveDomainCertificate DomainName="$D" SSLProtocol=on CertName=nope
api_b AddLiveDomain DomainName=other.test LiveDomainType=liveVideo Region=cn-shanghai
ok $? "AddLiveDomain other.test" || diag "$API_BODY"
api_b SetLiveDomainCertificate DomainName=other.test SSLProtocol=on CertName=c1
ok $? "binding the stored c1 to other.test by CertName" || diag "$API_BODY"
bad_b 400 Certificate.Duplicated "c1 with other content while bound to other.test" SetLiveDomainCertificate \
    DomainName="$D" SSLProtocol=on CertName=c1 SSLPub="$(cat "$C/two.pem")" SSLPri="$PRI2"
is "$(rcli HGET "${PFX}cert:c1" fp)" "$(fp "$C/one.leaf.pem")" "... c1 is unchanged"
until_subj "$HB" other.test one.live.test
ok $? "node B serves c1 for SNI other.test (a binding by name)"
api_b SetLiveDomainCertificate DomainName=other.test SSLProtocol=off
ok $? "SSLProtocol off for other.test"
until_subj "$HB" other.test "livedge default"
ok $? "... node B serves the default for it again"
api_b SetLiveDomainCertificate DomainName=other.test SSLProtocol=on CertName=c1
until_subj "$HA" other.test one.live.test
ok $? "c1 bound to other.test again: node A serves it"
api_b DeleteLiveDomain DomainName=other.test
ok $? "DeleteLiveDomain other.test (bound to c1 again)"
is "$(rcli EXISTS "${PFX}domaincert:other.test") $(rcli SISMEMBER "${PFX}domaincerts" other.test)" "0 0" \
    "... its binding is gone from Redis"
until_subj "$HA" other.test "livedge default"
ok $? "... node A serves the default for it"

# ---- off falls back to the default ----------------------------------------------------
out=$(sdk SetLiveDomainCertificate DomainName="$D" SSLProtocol=off)
like "$out" '^OK ' "pop-core SetLiveDomainCertificate SSLProtocol off" || diag "$out"
until_subj "$HB" "$D" "livedge default"
ok $? "node B serves the default certificate for $D again"
until_subj "$HA" "$D" "livedge default"
ok $? "... node A too"
api_b DescribeLiveDomainDetail DomainName="$D"
is "$(j "$API_BODY" '[d["DomainDetail"]["SSLProtocol"], d["DomainDetail"]["SSLPub"], d["DomainDetail"]["CertName"]]')" \
    '["off", "", ""]' "DescribeLiveDomainDetail: SSLProtocol off, no SSLPub, no CertName"
api_b DescribeLiveCertificateList
is "$(j "$API_BODY" 'd["CertificateListModel"]["Count"]')" 2 "the certificates stay listed"
api_b DescribeLiveCertificateList DomainName="$D"
is "$(j "$API_BODY" 'd["CertificateListModel"]["Count"]')" 0 "... but none for $D"
le_grows "$FLV" 50000 10
ok $? "the https player still receives after three changes"
le_kill "$PLAYER_PID" "$LE_PUB_PID"

# ---- a wildcard domain served a wildcard certificate ----------------------------------
le_tls_make_cert "$C" wild "*.w.test" || le_abort "openssl: no wildcard certificate"
api_b AddLiveDomain DomainName=.w.test LiveDomainType=liveVideo Region=cn-shanghai
ok $? "AddLiveDomain .w.test (a wildcard domain)" || diag "$API_BODY"
api_b SetLiveDomainCertificate DomainName=.w.test SSLProtocol=on CertName=wild SSLPub="$(cat "$C/wild.pem")" \
    SSLPri="$(cat "$C/wild.key")"
ok $? "SetLiveDomainCertificate .w.test: a certificate for *.w.test" || diag "$API_BODY"
until_subj "$HB" cam.w.test "*.w.test"
ok $? "node B serves it for SNI cam.w.test (one label under the wildcard)" || diag "got '$(subj "$HB" cam.w.test)'"
is "$(subj "$HB" a.cam.w.test) / $(subj "$HB" w.test)" "livedge default / livedge default" \
    "... and the default for a.cam.w.test (two labels) and w.test (the bare name)"
api_b DeleteLiveDomain DomainName=.w.test
until_subj "$HB" cam.w.test "livedge default"
ok $? "DeleteLiveDomain .w.test: cam.w.test gets the default again"

# ---- a change the nodes missed is loaded when they reconnect to Redis ----------------
rcli HSET "${PFX}domaincert:$D" ssl on cert c1 >/dev/null
sleep 1
is "$(subj "$HB" "$D")" "livedge default" "a binding written to Redis without an event: not seen yet"
rcli CLIENT KILL TYPE pubsub >/dev/null
rcli CLIENT KILL TYPE normal >/dev/null
le_wait_for 20 subj_is "$HB" "$D" one.live.test
ok $? "node B reloads everything when it reconnects to Redis: it serves c1" || diag "got '$(subj "$HB" "$D")'"

# ---- the private keys are nowhere in clear -------------------------------------------
dump=$LE_DIR/redis-values.txt
: >"$dump"
while IFS= read -r k; do
    case $(rcli TYPE "$k") in
    string) rcli GET "$k" ;;
    hash) rcli HGETALL "$k" ;;
    set) rcli SMEMBERS "$k" ;;
    list) rcli LRANGE "$k" 0 -1 ;;
    zset) rcli ZRANGE "$k" 0 -1 WITHSCORES ;;
    stream) rcli XRANGE "$k" - + ;;
    esac >>"$dump"
    rcli --no-raw DUMP "$k" >>"$dump"
done < <(rcli --scan)
cmp_ok "$(grep -c "cert:c1" < <(rcli --scan))" -ge 1 "the Redis scan sees the certificate keys"
for n in one two; do
    line=$(sed -n 2p "$C/$n.key")
    [ ${#line} -ge 40 ]
    ok $? "key $n: a distinctive line (${#line} characters)"
    ! grep -qF -- "$line" "$ANSWERS"
    ok $? "... in no answer"
    ! grep -qF -- "$line" "$N_A_LOG" "$N_B_LOG" "$N_C_LOG" "$N_D_LOG" "$N_E_LOG"
    ok $? "... in no node's log (A, B, C, D, E)"
    ! grep -qF -- "$line" "$dump"
    ok $? "... in no Redis value"
done
! grep -q "PRIVATE KEY" "$dump" "$N_A_LOG" "$N_B_LOG" "$N_C_LOG" "$N_D_LOG" "$N_E_LOG"
ok $? "no PEM private key header in Redis or the logs"

use A
le_alive_ok "node A still running"
le_stop
use B
le_alive_ok "node B still running"
le_stop
done_testing
