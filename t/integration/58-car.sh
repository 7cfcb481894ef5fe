#!/bin/sh
# 58-car: the Tencent CAR push actions (man livedge.8, "Tencent CAR actions";
# the car { } block of livedge.conf.5), pushing to nginx with
# libnginx-mod-rtmp on loopback.
#   1. No car block: StartPublishStream answers OperationDenied.
#   2. Unsigned node with a car block, RPC form (admin.sh api):
#      StartPublishStreamWithURL copies a live stream to nginx (ffprobe: H.264,
#      640x360), a second start of the same UserId is FailedOperation,
#      StopPublishStream ends the copy at nginx (nginx logs the pushing
#      connection leaving, its reader gets nothing more), a second stop and an unknown
#      UserId are ResourceNotFound.SessionNotFound; the API 3.0 form with a
#      malformed JSON body is InvalidParameter.JsonParseError (HTTP 200).
#   3. Signed node: the official tencentcloud-sdk-nodejs CAR client
#      (car v20220110, httpProfile endpoint 127.0.0.1:PORT, protocol http://)
#      starts a push to car.push_url (txSecret/txTime and PublishStreamArgs on
#      the URL), nginx serves the copy, the SDK stops it and the copy ends; a
#      wrong SecretKey is AuthFailure.SignatureFailure, an unknown SecretId
#      AuthFailure.SecretIdNotFound, an unknown UserId
#      ResourceNotFound.SessionNotFound. An independent python3 signer
#      (x-tc-action signed too) is accepted once: its replay, a stale
#      timestamp and a changed signed X-TC-Action are refused.
#
# tencentcloud-sdk-nodejs (the whole SDK: there is no per-product CAR package
# on npm) is installed once into $LE_TCSDK_DIR (default
# $top_builddir/t/npm-tencent, reused by later runs). No node/npm, nginx or
# registry: skipped on a laptop, a failure in CI (CI=true).
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
# shellcheck source=t/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=t/integration/admin.sh
. "$(dirname "$0")/admin.sh"

le_require_daemon
le_require_tool ffmpeg ffprobe curl python3
le_start_nginx_rtmp || le_missing "nginx with libnginx-mod-rtmp not found, or it did not start"

# ngx_probe NAME: ffprobe of nginx's copy of NAME, "codec_type=...|codec_name=...|width=...|height=..."
# lines; empty when there is none within 8 s.
ngx_probe() {
    timeout -k 3 8 ffprobe -hide_banner -v error -rw_timeout 6000000 \
        -show_entries stream=codec_type,codec_name,width,height \
        -of compact=p=0 "$(le_ngx_url "$1")" 2>>"$LE_DIR/ffprobe.log" | sort
}
# ngx_probe_av NAME: ngx_probe until it sees H.264 (3 tries: a probe that
# starts before the copy's first keyframe may time out).
ngx_probe_av() {
    local got="" i
    for i in 1 2 3; do
        got=$(ngx_probe "$1")
        case $got in *codec_name=h264*) break ;; esac
        sleep 1
    done
    printf '%s' "$got"
}
# ngx_reader NAME: ffmpeg reads nginx's copy of NAME in the background until it
# ends. Sets READER_PID.
ngx_reader() {
    le_bg READER_PID ffmpeg -hide_banner -nostdin -loglevel warning -i "$(le_ngx_url "$1")" \
        -c copy -f flv "$LE_DIR/reader-$1.flv" >"$LE_DIR/reader-$1.log" 2>&1
}
# ngx_session NAME: nginx's number ("*N") of the connection publishing NAME.
ngx_session() {
    grep -o "\*[0-9]* publish: name='$1'" "$LE_DIR/nginx/logs/error.log" 2>/dev/null | tail -n 1 | cut -d' ' -f1
}
# ngx_gone SESSION: nginx logged that connection's disconnect.
ngx_gone() { [ -n "$1" ] && grep -qF "$1 disconnect," "$LE_DIR/nginx/logs/error.log"; }
# copy_ends NAME SESSION DESC: after a stop, nginx sees the pushing connection
# leave within 10 s and the reader of its copy gets nothing more.
copy_ends() {
    local size
    le_wait_for 10 ngx_gone "$2"
    ok $? "$3: nginx logs the pushing connection ($2) leaving within 10 s"
    sleep 1
    size=$(le_file_size "$LE_DIR/reader-$1.flv")
    sleep 3
    is "$(le_file_size "$LE_DIR/reader-$1.flv")" "$size" "... and the reader of nginx's copy gets nothing more"
    le_kill "$READER_PID"
    is "$(ngx_probe "$1")" "" "... and nginx has no $1 any more"
}
# tc3_raw BODY: an unsigned API 3.0 StopPublishStream (curl). Sets TC3_CODE (HTTP status) and TC3_BODY.
tc3_raw() {
    local out
    out=$(curl -s --max-time 10 -w '\n%{http_code}' -H 'Content-Type: application/json' \
        -H 'X-TC-Action: StopPublishStream' -H 'X-TC-Version: 2022-01-10' \
        -H "X-TC-Timestamp: $(date +%s)" --data-binary "$1" "http://127.0.0.1:$LE_ADMIN_PORT/")
    TC3_CODE=${out##*$'\n'}
    TC3_BODY=${out%$'\n'*}
}

LE_WAIT_PORTS="rtmp http admin"
NGX_TMPL="rtmp://127.0.0.1:$LE_NGX_PORT/live/{UserId}"

# ---- 1. no car block --------------------------------------------------------------
le_start || le_abort "livedge did not start"
api StartPublishStream UserId=cam0
is "$API_CODE" 403 "no car block: StartPublishStream answers 403"
is "$(j "$API_BODY" 'd["Code"]')" OperationDenied "... OperationDenied" || diag "$API_BODY"
le_stop

# ---- 2. unsigned, RPC form -----------------------------------------------------------
LE_EXTRA_CONF="car {
    domain   $LE_DOMAIN;
    push_url \"$NGX_TMPL\";
}"
le_start || le_abort "livedge did not start"
pub cam1 90 || le_abort "ffmpeg did not start publishing cam1"

api StartPublishStreamWithURL UserId=cam1 "PublishStreamURL=$(le_ngx_url copy1)"
is "$API_CODE" 200 "RPC StartPublishStreamWithURL: 200" || diag "$API_BODY"
like "$(j "$API_BODY" 'd["RequestId"]')" '^[0-9A-F-]{36}$' "... with a RequestId"
probe=$(ngx_probe_av copy1)
like "$probe" 'codec_name=h264\|codec_type=video\|width=640\|height=360' \
    "nginx serves the pushed copy: H.264 640x360" || { diag "$probe"; le__dump_log; }
like "$probe" 'codec_name=aac\|codec_type=audio' "... and its AAC audio" || diag "$probe"

api StartPublishStreamWithURL UserId=cam1 "PublishStreamURL=$(le_ngx_url copy1)"
is "$(j "$API_BODY" 'd["Code"]')" FailedOperation "a second start of the same UserId: FailedOperation" ||
    diag "$API_BODY"
is "$API_CODE" 409 "... 409"
api StartPublishStreamWithURL UserId=cam2 PublishStreamURL=http://127.0.0.1/x
is "$(j "$API_BODY" 'd["Code"]')" InvalidParameter "a PublishStreamURL that is not rtmp://: InvalidParameter"
api StartPublishStream "UserId=a/b"
is "$(j "$API_BODY" 'd["Code"]')" InvalidParameter "a UserId with '/': InvalidParameter"
api StartPublishStream
is "$(j "$API_BODY" 'd["Code"]')" MissingParameter "no UserId: MissingParameter"

ngx_reader copy1
le_wait_for 10 le_size_gt "$LE_DIR/reader-copy1.flv" 20000
ok $? "a reader of nginx's copy receives media"
sess=$(ngx_session copy1)
api StopPublishStream UserId=cam1
is "$API_CODE" 200 "RPC StopPublishStream: 200" || diag "$API_BODY"
copy_ends copy1 "$sess" "RPC StopPublishStream ends the copy"
api StopPublishStream UserId=cam1
is "$(j "$API_BODY" 'd["Code"]')" ResourceNotFound.SessionNotFound "a second stop: ResourceNotFound.SessionNotFound"
is "$API_CODE" 404 "... 404"

tc3_raw '{"UserId": "cam1",'
body=$TC3_BODY
is "$TC3_CODE" 200 "API 3.0 form, malformed JSON: HTTP 200"
is "$(j "$body" 'd["Response"]["Error"]["Code"]')" InvalidParameter.JsonParseError \
    "... InvalidParameter.JsonParseError" || diag "$body"
like "$(j "$body" 'd["Response"]["RequestId"]')" '^[0-9A-F-]{36}$' "... with Response.RequestId"
tc3_raw '{"UserId": "nobody"}'
body=$TC3_BODY
is "$(j "$body" 'd["Response"]["Error"]["Code"]')" ResourceNotFound.SessionNotFound \
    "API 3.0 form, unsigned node: StopPublishStream of an unknown UserId: ResourceNotFound.SessionNotFound" ||
    diag "$body"
le_kill "$LE_PUB_PID"
le_alive_ok "livedge still running after the RPC calls"
le_stop

# ---- 3. signed, the official SDK ------------------------------------------------------
LE_TCSDK_DIR=${LE_TCSDK_DIR:-$top_builddir/t/npm-tencent}
le_npm_require "$LE_TCSDK_DIR" tencentcloud-sdk-nodejs
cat >"$LE_DIR/car.js" <<'JS'
const car = require('tencentcloud-sdk-nodejs/tencentcloud/services/car').car;
const [port, id, key, action, json] = process.argv.slice(2);
const client = new car.v20220110.Client({
    credential: { secretId: id, secretKey: key },
    region: '',
    profile: { httpProfile: { endpoint: '127.0.0.1:' + port, protocol: 'http://', reqTimeout: 10 } },
});
client[action](JSON.parse(json)).then(
    (r) => { console.log('OK ' + JSON.stringify(r)); process.exit(0); },
    (e) => { console.log('ERR ' + e.code + ' ' + e.message); process.exit(0); });
JS
sdk() { NODE_PATH=$LE_TCSDK_DIR/node_modules timeout 30 node "$LE_DIR/car.js" "$LE_ADMIN_PORT" "$@" 2>&1; }

AK=AKIDcartest58
SK=car-secret-58
LE_EXTRA_CONF="admin {
    access_key_id     \"$AK\";
    access_key_secret \"$SK\";
}
car {
    push_url           \"$NGX_TMPL\";
    tx_secret_key      \"tx-key-58\";
    tx_secret_validity 1h;
}"
LE_LOG_LEVEL=debug
le_start || le_abort "livedge did not start"
pub cam3 90 || le_abort "ffmpeg did not start publishing cam3"

out=$(sdk "$AK" "$SK" StartPublishStream '{"UserId":"cam3","PublishStreamArgs":"from=sdk"}')
like "$out" '^OK \{"RequestId":"[0-9A-F-]{36}"\}$' "SDK StartPublishStream succeeds" || diag "$out"
probe=$(ngx_probe_av cam3)
like "$probe" 'codec_name=h264\|codec_type=video\|width=640\|height=360' \
    "nginx serves the copy at car.push_url: H.264 640x360" || { diag "$probe"; le__dump_log; }
# nginx logs each publish: name='cam3' args='txSecret=...&txTime=...&from=sdk'.
args=$(grep -ho "name='cam3' args='[^']*'" "$LE_DIR"/nginx/logs/error.log 2>/dev/null | head -n 1)
like "$args" "args='txSecret=[0-9a-f]{32}&txTime=[0-9A-F]{8}&from=sdk'" \
    "the push URL carries txSecret, txTime and then PublishStreamArgs" || diag "nginx: $args"
tx_time=$(sed -n "s/.*txTime=\([0-9A-F]*\).*/\1/p" <<<"$args")
tx_secret=$(sed -n "s/.*txSecret=\([0-9a-f]*\).*/\1/p" <<<"$args")
now=$(date +%s)
cmp_ok "$(( 16#${tx_time:-0} ))" -ge $(( now + 3600 - 120 )) "... txTime is now + tx_secret_validity (1h)"
cmp_ok "$(( 16#${tx_time:-0} ))" -le $(( now + 3600 )) "... and not later"
is "$tx_secret" "$(printf '%s' "tx-key-58cam3$tx_time" | md5sum | cut -c1-32)" \
    "... txSecret = md5(key + StreamName + txTime)"

out=$(sdk "$AK" "$SK" StartPublishStream '{"UserId":"cam3"}')
like "$out" '^ERR FailedOperation ' "SDK: a second StartPublishStream of cam3 is FailedOperation" || diag "$out"
out=$(sdk "$AK" not-the-secret StartPublishStream '{"UserId":"cam4"}')
like "$out" '^ERR AuthFailure.SignatureFailure ' "SDK with a wrong SecretKey: AuthFailure.SignatureFailure" ||
    diag "$out"
le_wait_log "Action=StartPublishStream: 200 AuthFailure.SignatureFailure" 5 >/dev/null
ok $? "... and the node logs the refusal"

# An independent TC3 signer (python3 hashlib/hmac) that also signs
# x-tc-action (lower-cased, as Tencent's reference does) and Host with its port.
# tc3py ACTION BODY TS_OFFSET SENDS [HEADER_ACTION]: one signed request sent
# SENDS times; prints "STATUS BODY" per send.
cat >"$LE_DIR/tc3.py" <<'PY'
import hashlib, hmac, http.client, sys, time
port, sid, sk, action, body, offset, sends = sys.argv[1:8]
hdr_action = sys.argv[8] if len(sys.argv) > 8 else action
ts = int(time.time()) + int(offset)
host = "127.0.0.1:" + port
date = time.strftime("%Y-%m-%d", time.gmtime(ts))
ct = "application/json; charset=utf-8"
h = lambda b: hashlib.sha256(b.encode()).hexdigest()
canon = "POST\n/\n\ncontent-type:%s\nhost:%s\nx-tc-action:%s\n\ncontent-type;host;x-tc-action\n%s" % (
    ct, host, action.lower(), h(body))
scope = date + "/car/tc3_request"
sts = "TC3-HMAC-SHA256\n%d\n%s\n%s" % (ts, scope, h(canon))
k = hmac.new(("TC3" + sk).encode(), date.encode(), hashlib.sha256).digest()
k = hmac.new(k, b"car", hashlib.sha256).digest()
k = hmac.new(k, b"tc3_request", hashlib.sha256).digest()
sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
headers = {"Authorization": "TC3-HMAC-SHA256 Credential=%s/%s, SignedHeaders=content-type;host;x-tc-action, "
                            "Signature=%s" % (sid, scope, sig),
           "Content-Type": ct, "Host": host, "X-TC-Action": hdr_action, "X-TC-Timestamp": str(ts),
           "X-TC-Version": "2022-01-10"}
for i in range(int(sends)):
    c = http.client.HTTPConnection("127.0.0.1", int(port), timeout=10)
    c.request("POST", "/", body=body.encode(), headers=headers)
    r = c.getresponse()
    print(r.status, r.read().decode())
PY
tc3py() { timeout 30 "$LE_PY" "$LE_DIR/tc3.py" "$LE_ADMIN_PORT" "$AK" "$SK" "$@" 2>&1; }
code_of() { j "${1#* }" 'd["Response"].get("Error", {}).get("Code", "none")'; }
out=$(tc3py StopPublishStream '{"UserId":"nobody"}' 0 2)
is "$(code_of "$(sed -n 1p <<<"$out")")" ResourceNotFound.SessionNotFound \
    "independent signer (x-tc-action signed, Host with port): accepted, SessionNotFound" || diag "$out"
is "$(code_of "$(sed -n 2p <<<"$out")")" AuthFailure.SignatureFailure \
    "... the same signed request again: refused as a replay" || diag "$out"
out=$(tc3py StopPublishStream '{"UserId":"nobody"}' -400 1)
is "$(code_of "$out")" AuthFailure.SignatureExpire "a timestamp 400 s old: AuthFailure.SignatureExpire" ||
    diag "$out"
like "$out" '^200 ' "... answered with HTTP 200"
out=$(tc3py StopPublishStream '{"UserId":"nobody"}' 0 1 StartPublishStream)
is "$(code_of "$out")" AuthFailure.SignatureFailure \
    "a signed X-TC-Action changed in transit: AuthFailure.SignatureFailure" || diag "$out"
out=$(sdk AKIDunknown "$SK" StopPublishStream '{"UserId":"cam3"}')
like "$out" '^ERR AuthFailure.SecretIdNotFound ' "SDK with an unknown SecretId: AuthFailure.SecretIdNotFound" ||
    diag "$out"
out=$(sdk "$AK" "$SK" StopPublishStream '{"UserId":"nobody"}')
like "$out" '^ERR ResourceNotFound.SessionNotFound ' \
    "SDK StopPublishStream of an unknown UserId: ResourceNotFound.SessionNotFound" || diag "$out"
out=$(sdk "$AK" "$SK" CreateSession '{"UserId":"cam3","UserIp":"127.0.0.1"}')
like "$out" '^ERR InvalidAction ' "SDK: an action the node does not serve is InvalidAction" || diag "$out"

ngx_reader cam3
le_wait_for 10 le_size_gt "$LE_DIR/reader-cam3.flv" 20000
ok $? "a reader of nginx's copy of cam3 receives media"
sess=$(ngx_session cam3)
out=$(sdk "$AK" "$SK" StopPublishStream '{"UserId":"cam3"}')
like "$out" '^OK \{"RequestId":"[0-9A-F-]{36}"\}$' "SDK StopPublishStream succeeds" || diag "$out"
copy_ends cam3 "$sess" "SDK StopPublishStream ends the copy"

le_kill "$LE_PUB_PID"
le_alive_ok "livedge still running after the SDK calls"
le_stop
done_testing
