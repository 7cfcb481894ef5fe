#!/bin/sh
# 40-admin-api: the admin port speaks the Alibaba Cloud RPC style (man livedge.8, ADMIN API):
# signature v1 checked against an independent signer (python3 hmac/hashlib/
# base64/urllib, below) for GET and POST; wrong secret, stale Timestamp,
# reused nonce, unknown AccessKeyId, missing and unknown Action; XML and JSON
# shapes; /metrics; and the official SDK, @alicloud/pop-core from the npm
# registry, pointed at the node (success and a refused signature).
#
# pop-core is installed once into $LE_POPCORE_DIR (default
# $top_builddir/t/npm, reused by later runs). No node/npm, or no registry:
# skipped on a laptop, a failure in CI (CI=true).
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
# shellcheck source=t/integration/lib.sh
. "$(dirname "$0")/lib.sh"

le_require_daemon
le_require_tool python3 curl

AK=LTAItestid4admin
SK=test-secret-4admin
LE_EXTRA_CONF="admin {
    access_key_id     \"$AK\";
    access_key_secret \"$SK\";
}"
LE_WAIT_PORTS="rtmp http admin"
le_start || le_abort "livedge did not start"
A=http://127.0.0.1:$LE_ADMIN_PORT
UUID='[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}'

# ---- an independent signer --------------------------------------------------
# pop METHOD SECRET [NAME=VALUE...]: a signed call. Common parameters are
# added unless given; "NAME=" with an empty value drops NAME; TS_OFFSET=N
# shifts the Timestamp by N seconds. Prints "STATUS CONTENT-TYPE" then the body.
cat >"$LE_DIR/pop.py" <<'PY'
import base64, datetime, hashlib, hmac, http.client, sys, urllib.parse, uuid
port, method, secret = int(sys.argv[1]), sys.argv[2], sys.argv[3]
enc = lambda s: urllib.parse.quote(s, safe="-_.~")
offset = 0
given = {}
for a in sys.argv[4:]:
    k, v = a.split("=", 1)
    if k == "TS_OFFSET":
        offset = int(v)
    else:
        given[k] = v
ts = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=offset)
params = {
    "Format": "JSON", "Version": "2016-11-01", "AccessKeyId": "LTAItestid4admin",
    "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0",
    "SignatureNonce": str(uuid.uuid4()), "Timestamp": ts.strftime("%Y-%m-%dT%H:%M:%SZ"),
}
params.update(given)
params = {k: v for k, v in params.items() if v != ""}
canon = "&".join(enc(k) + "=" + enc(v) for k, v in sorted(params.items()))
sts = method + "&" + enc("/") + "&" + enc(canon)
sig = base64.b64encode(hmac.new((secret + "&").encode(), sts.encode(), hashlib.sha1).digest()).decode()
query = canon + "&Signature=" + enc(sig)
c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
if method == "GET":
    c.request("GET", "/?" + query)
else:
    c.request("POST", "/", body=query, headers={"Content-Type": "application/x-www-form-urlencoded"})
r = c.getresponse()
print(r.status, r.getheader("Content-Type"))
print(r.read().decode("utf-8"))
PY
pop() { timeout 20 python3 "$LE_DIR/pop.py" "$LE_ADMIN_PORT" "$@" 2>&1; }

# jget JSON KEY: a top-level string member of a compact JSON body, without
# escaped quotes in it ("" if absent). sed, not python: one process per check.
jget() { sed -n 's/.*[{,]"'"$2"'":"\([^"\\]*\)".*/\1/p' <<<"$1"; }
# xml_root XML: prints the root element's name if XML is well-formed.
xml_root() {
    python3 -c 'import sys, xml.etree.ElementTree as E
try: print(E.fromstring(sys.argv[1].encode()).tag)
except Exception as e: print("ERR", e)' "$1"
}

# ---- signed calls -----------------------------------------------------------
out=$(pop GET "$SK" Action=DescribeLiveUserDomains)
head=$(head -n 1 <<<"$out"); body=$(tail -n +2 <<<"$out")
is "$head" "200 application/json;charset=utf-8" "signed GET DescribeLiveUserDomains: 200 JSON" || diag "$out"
like "$(jget "$body" RequestId)" "^$UUID\$" "... with a RequestId"
like "$body" '^\{"RequestId":' "... RequestId first, no envelope"

out=$(pop POST "$SK" Action=DescribeLiveUserDomains)
is "$(head -n 1 <<<"$out")" "200 application/json;charset=utf-8" "signed POST (form body): 200" || diag "$out"
like "$(jget "$(tail -n +2 <<<"$out")" RequestId)" "^$UUID\$" "... with a RequestId"

out=$(pop GET "$SK" Action=DescribeLiveUserDomains Format=XML)
head=$(head -n 1 <<<"$out"); body=$(tail -n +2 <<<"$out")
is "$head" "200 text/xml;charset=utf-8" "Format=XML: 200 text/xml"
like "$body" "^<\\?xml version='1.0' encoding='UTF-8'\\?><DescribeLiveUserDomainsResponse><RequestId>$UUID</RequestId>" \
    "XML: root <ActionResponse>, RequestId first"
is "$(xml_root "$body")" DescribeLiveUserDomainsResponse "XML body is well-formed"

out=$(pop GET "$SK" Action=DescribeLiveUserDomains Format=)
like "$(head -n 1 <<<"$out")" '^200 text/xml' "no Format: XML is the default"

# ---- refusals ---------------------------------------------------------------------
out=$(pop GET wrong-secret Action=DescribeLiveUserDomains)
body=$(tail -n +2 <<<"$out")
is "$(head -n 1 <<<"$out")" "400 application/json;charset=utf-8" "wrong secret: 400"
is "$(jget "$body" Code)" SignatureDoesNotMatch "... SignatureDoesNotMatch"
is "$(jget "$body" Message)" "Specified signature is not matched with our calculation." "... with the service's message"
is "$(jget "$body" HostId)" "le-test-$LE_NAME" "... HostId is node_name"
like "$(jget "$body" RequestId)" "^$UUID\$" "... and a RequestId"

out=$(pop POST "$SK" Action=DescribeLiveUserDomains Extra=1)
is "$(head -n 1 <<<"$out" | cut -d' ' -f1)" 200 "POST with an extra parameter: 200"

out=$(pop GET "$SK" Action=DescribeLiveUserDomains TS_OFFSET=-1200)
is "$(jget "$(tail -n +2 <<<"$out")" Code)" InvalidTimeStamp.Expired "Timestamp 20 min old: InvalidTimeStamp.Expired"
is "$(head -n 1 <<<"$out" | cut -d' ' -f1)" 400 "... 400"
out=$(pop GET "$SK" Action=DescribeLiveUserDomains TS_OFFSET=1200)
is "$(jget "$(tail -n +2 <<<"$out")" Code)" InvalidTimeStamp.Expired "Timestamp 20 min ahead: InvalidTimeStamp.Expired"

nonce=itest-nonce-$$-$RANDOM
out=$(pop GET "$SK" Action=DescribeLiveUserDomains SignatureNonce="$nonce")
is "$(head -n 1 <<<"$out" | cut -d' ' -f1)" 200 "first use of a nonce: 200"
out=$(pop GET "$SK" Action=DescribeLiveUserDomains SignatureNonce="$nonce")
is "$(jget "$(tail -n +2 <<<"$out")" Code)" SignatureNonceUsed "same nonce again: SignatureNonceUsed"
is "$(head -n 1 <<<"$out" | cut -d' ' -f1)" 400 "... 400"

out=$(pop GET "$SK" Action=DescribeLiveUserDomains AccessKeyId=LTAIunknown)
is "$(jget "$(tail -n +2 <<<"$out")" Code)" InvalidAccessKeyId.NotFound "unknown AccessKeyId: InvalidAccessKeyId.NotFound"
is "$(head -n 1 <<<"$out" | cut -d' ' -f1)" 404 "... 404"

out=$(pop GET "$SK" Action=DescribeLiveUserDomains SignatureMethod=HMAC-SHA256)
is "$(jget "$(tail -n +2 <<<"$out")" Code)" InvalidParameter "SignatureMethod HMAC-SHA256: InvalidParameter"
is "$(head -n 1 <<<"$out" | cut -d' ' -f1)" 400 "... 400"

out=$(pop GET "$SK" Action=NoSuchLiveAction)
is "$(jget "$(tail -n +2 <<<"$out")" Code)" InvalidAction.NotFound "unknown Action: InvalidAction.NotFound"
is "$(head -n 1 <<<"$out" | cut -d' ' -f1)" 404 "... 404"

out=$(pop GET "$SK" Action=)
is "$(jget "$(tail -n +2 <<<"$out")" Code)" MissingParameter "no Action: MissingParameter"
like "$out" '"Message":"The input parameter \\"Action\\" that is mandatory for processing this request is not supplied\."' \
    "... with the service's wording"

body=$(curl -s --max-time 10 "$A/?Format=XML&Version=2016-11-01")
code=$(curl -s -o /dev/null -w '%{http_code} %{content_type}' --max-time 10 "$A/?Format=XML")
is "$code" "400 text/xml;charset=utf-8" "unsigned call without Action: 400 XML"
is "$(xml_root "$body")" Error "XML error root <Error>"
like "$body" '<Code>MissingParameter</Code>' "... MissingParameter"

code=$(curl -s -o "$LE_DIR/unsigned.json" -w '%{http_code}' --max-time 10 "$A/?Action=DescribeLiveUserDomains&Format=JSON")
is "$code" 400 "keys configured: an unsigned call is refused"
is "$(jget "$(cat "$LE_DIR/unsigned.json")" Code)" MissingParameter "... MissingParameter (AccessKeyId)"

code=$(curl -s -o "$LE_DIR/path.json" -w '%{http_code}' --max-time 10 "$A/elsewhere?Format=JSON")
is "$code" 404 "another path: 404"
is "$(jget "$(cat "$LE_DIR/path.json")" Code)" NotFound "... with an error body"

# ---- /metrics -------------------------------------------------------------------------
m=$(curl -s --max-time 10 "$A/metrics")
like "$m" '^# TYPE livedge_admin_requests_total counter$' "/metrics: Prometheus text with # TYPE lines"
like "$m" '^livedge_admin_requests_total\{status="400",code="SignatureDoesNotMatch"\} [1-9]' \
    "/metrics counts the refused signature"
like "$m" '^livedge_admin_requests_total\{status="200",code="OK"\} [1-9]' "/metrics counts successes"
unlike "$m" '^[^#].*[^0-9.e+-]$' "/metrics: every sample line ends with a number"

# ---- the official SDK -------------------------------------------------------------------
LE_POPCORE_DIR=${LE_POPCORE_DIR:-$top_builddir/t/npm}
le_npm_require "$LE_POPCORE_DIR" @alicloud/pop-core
cat >"$LE_DIR/sdk.js" <<'JS'
const RPCClient = require('@alicloud/pop-core').RPCClient;
const [port, ak, sk, method] = process.argv.slice(2);
const client = new RPCClient({
    accessKeyId: ak, accessKeySecret: sk,
    endpoint: 'http://127.0.0.1:' + port, apiVersion: '2016-11-01',
});
client.request('DescribeLiveUserDomains', { RegionId: 'cn-shanghai' }, { method, timeout: 10000 })
    .then((r) => { console.log('OK ' + JSON.stringify(r)); process.exit(0); },
          (e) => { console.log('ERR ' + e.code + ' ' + e.message); process.exit(0); });
JS
sdk() { NODE_PATH=$LE_POPCORE_DIR/node_modules timeout 30 node "$LE_DIR/sdk.js" "$LE_ADMIN_PORT" "$@" 2>&1; }
out=$(sdk "$AK" "$SK" GET)
like "$out" "^OK \\{\"RequestId\":\"$UUID\"" "pop-core GET DescribeLiveUserDomains succeeds" || diag "$out"
out=$(sdk "$AK" "$SK" POST)
like "$out" "^OK \\{\"RequestId\":\"$UUID\"" "pop-core POST DescribeLiveUserDomains succeeds" || diag "$out"
out=$(sdk "$AK" not-the-secret GET)
like "$out" '^ERR SignatureDoesNotMatch Specified signature is not matched with our calculation' \
    "pop-core with a wrong secret: SignatureDoesNotMatch" || diag "$out"
out=$(sdk LTAIunknown "$SK" GET)
like "$out" '^ERR InvalidAccessKeyId.NotFound ' "pop-core with an unknown key: InvalidAccessKeyId.NotFound" || diag "$out"

le_alive_ok "livedge still running after the admin calls"
le_stop
done_testing
