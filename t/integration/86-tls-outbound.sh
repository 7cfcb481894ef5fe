#!/bin/sh
# 86-tls-outbound: outbound TLS (docs/TLS.md "Outbound TLS", docs/RELAY.md
# "TLS: rtmps:// and https://"). A test CA made by openssl signs one
# certificate for 127.0.0.1, used by node A's rtmps_listen and by an https
# server run here (python3 http.server + ssl) that records callbacks (GET)
# and S3 uploads (PUT). ffmpeg publishes live/cam to A. Three nodes then
# pull rtmps://A/live/cam (AddLivePullStreamInfoConfig), send their publish
# callback to the https server, push app up to rtmps://A (a push rule) and
# upload recordings of app up to the https S3 endpoint:
#  - N, without tls_ca_file (and a tls_verify_skip entry for another port):
#    every one fails verification, one log line each naming the certificate
#    problem with the masked URL; no stream, no request reaches the servers;
#  - C, with tls_ca_file = the test CA: the pulled copy plays (ffprobe), the
#    pushed copy plays on A, the callback and the upload arrive, and a
#    caster's SideOutputUrl rtmps://A/... plays on A;
#  - S, without tls_ca_file but tls_verify_skip for A's rtmps host:port and
#    the https server's: the same as C.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
# shellcheck shell=bash
LE_SCRIPT_TIMEOUT=${LE_SCRIPT_TIMEOUT:-400}
# shellcheck source=t/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=t/integration/admin.sh
. "$(dirname "$0")/admin.sh"
# shellcheck source=t/integration/tls.sh
. "$(dirname "$0")/tls.sh"

le_require_daemon
le_require_tool ffmpeg ffprobe python3 curl redis-server openssl

LE_BASE_NAME=$LE_NAME
D=DomainName=live.test
PKI=$LE_DIR/pki
if ! le_tls_make_ca "$PKI" || ! le_tls_make_cert "$PKI" a 127.0.0.1 localhost || [ ! -s "$PKI/a.pem" ]; then
    le_abort "openssl could not make the test CA and certificate"
fi

# ---- the https server: callbacks (GET) and S3 (PUT), one JSON line each -------------
SRVLOG=$LE_DIR/https.jsonl
touch "$SRVLOG"
cat >"$LE_DIR/tlssrv.py" <<'PY'
import http.server, json, os, ssl, sys, threading
port_file, log, cert, key = sys.argv[1:5]
lock = threading.Lock()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def record(self, n):
        path, _, q = self.path.partition("?")
        with lock, open(log, "a") as f:
            f.write(json.dumps({"m": self.command, "path": path, "q": q, "n": n}) + "\n")
        self.send_response(200)
        self.send_header("ETag", '"0123456789abcdef0123456789abcdef"')
        self.send_header("Content-Length", "0")
        self.end_headers()
    def do_GET(self):
        self.record(0)
    def do_PUT(self):
        n = int(self.headers.get("Content-Length") or 0)
        left = n
        while left > 0:
            b = self.rfile.read(min(left, 65536))
            if not b:
                break
            left -= len(b)
        self.record(n)
class S(http.server.ThreadingHTTPServer):
    daemon_threads = True
    def get_request(self):
        sock, addr = super().get_request()
        # Handshake in the handler's thread: a client that fails verification
        # closes during it and must not stop the accept loop.
        return ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr
    def handle_error(self, request, client_address):
        pass
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv = S(("127.0.0.1", 0), H)
with open(port_file + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(port_file + ".tmp", port_file)
srv.serve_forever()
PY
le_bg TS_PID "$LE_PY" "$LE_DIR/tlssrv.py" "$LE_DIR/tls.port" "$SRVLOG" "$PKI/a.pem" "$PKI/a.key"
le_wait_for 10 test -s "$LE_DIR/tls.port" || le_abort "the https server did not start"
TS_PORT=$(cat "$LE_DIR/tls.port")
TS=127.0.0.1:$TS_PORT
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$PKI/ca.pem" "https://$TS/ping")
is "$code" 200 "the https server answers with the test CA's certificate (curl --cacert)"
# srv_count METHOD PATH_PREFIX: requests the https server recorded.
srv_count() {
    "$LE_PY" -c 'import json, sys
n = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    n += r["m"] == sys.argv[2] and r["path"].startswith(sys.argv[3])
print(n)' "$SRVLOG" "$1" "$2"
}
srv_has() { [ "$(srv_count "$1" "$2")" -ge 1 ]; }

# ---- node A: rtmps_listen with the test certificate; ffmpeg publishes live/cam ----------
RTMPS_A=$(le_free_port 1)
LE_EXTRA_CONF="rtmps_listen 127.0.0.1:$RTMPS_A;
tls_certificate $PKI/a.pem;
tls_certificate_key $PKI/a.key;"
LE_WAIT_PORTS="rtmp http admin $RTMPS_A"
start_node A || le_abort "node A did not start"
LE_PUB_SECS=300 le_publish cam -s 320x240
le_wait_publishing "$LE_PUB_PROGRESS" 15
ok $? "ffmpeg publishes live/cam 320x240 to A" || le_abort "no origin: $(cat "$LE_PUB_LOG")"
CAM_PID=$LE_PUB_PID
SRC=rtmps://127.0.0.1:$RTMPS_A/live/cam
is "$(probe "$SRC" 20)" "320x240 audio" "A plays live/cam over rtmps:// (ffprobe, no verification)"
SRC_RE="rtmps://127\\.0\\.0\\.1:$RTMPS_A/live/cam"

# b_node X TLS_CONF: node X with TLS_CONF, its own redis; a notify_url on the
# https server (/notify-X), a push rule for app up to rtmps://A/live/X-{StreamName},
# recordings uploaded to the https server as S3 (bucket rec).
b_node() {
    LE_REDIS_PID="" LE_REDIS_PORT=""
    mkdir -p "$LE_DIR/rec-$1"
    LE_EXTRA_CONF="$2
record_root $LE_DIR/rec-$1;
record_min_free 0;
s3 {
    endpoint   https://$TS;
    region     us-east-1;
    access_key TESTKEY;
    secret_key TESTSECRET;
    keep_local on;
}"
    LE_DOMAIN_CONF="    notify_url https://$TS/notify-$1;
    push {
        app up;
        target \"rtmps://127.0.0.1:$RTMPS_A/live/$1-{StreamName}\";
    }"
    LE_WAIT_PORTS="rtmp http admin"
    start_node "$1" || le_abort "node $1 did not start"
    api AddLivePullStreamInfoConfig $D AppName=live StreamName=p SourceUrl="$SRC" \
        StartTime="$(utc -60)" EndTime="$(utc 3600)"
    ok $? "$1: AddLivePullStreamInfoConfig live/p SourceUrl=rtmps://A/live/cam answers 200" ||
        diag "$API_CODE $API_BODY"
    api AddLiveAppRecordConfig $D AppName=up OssBucket=rec OssEndpoint=oss.example.com \
        RecordFormat.1.Format=flv RecordFormat.1.CycleDuration=300 \
        "RecordFormat.1.OssObjectPrefix=rec/{AppName}/{StreamName}-$1-{Sequence}"
    ok $? "$1: AddLiveAppRecordConfig app up (flv) answers 200" || diag "$API_CODE $API_BODY"
    LE_APP=up LE_PUB_SECS=150 le_publish cam -s 320x240
    le_wait_publishing "$LE_PUB_PROGRESS" 15
    ok $? "$1: ffmpeg publishes up/cam" || diag "$(cat "$LE_PUB_LOG")"
    UP_PID=$LE_PUB_PID
}
# end_up X: the publish of up/cam on X ends (its recording's file is closed
# and queued for upload).
end_up() {
    le_kill "$UP_PID"
    le_wait_log "up/cam: publisher left: files closed" 15 >/dev/null
    ok $? "$1: the recording's file of up/cam is closed with its publish"
}

# ---- N: no tls_ca_file, a skip entry for another port: everything fails verification ----
b_node N "tls_verify_skip 127.0.0.1:1;"
line=$(le_wait_log "pull .*live/p $SRC_RE: TLS: certificate verify failed: [^(]+\\(retry in" 20)
ok $? "N: the rtmps pull fails verification: one line with the URL and the reason" && diag "$line"
like "$line" "unable to get local issuer certificate|self.signed" "... the reason names the certificate problem"
line=$(le_wait_log "push .*rtmps://127\\.0\\.0\\.1:$RTMPS_A/live/N-cam: TLS: certificate verify failed" 20)
ok $? "N: the rtmps push fails verification (log)" && diag "$line"
pull_fails() { grep -cE "pull .*live/p $SRC_RE: TLS: certificate verify failed" "$LE_LOG"; }
pull_fails_ge() { [ "$(pull_fails)" -ge "$1" ]; }
le_wait_for 10 pull_fails_ge 2
ok $? "N: the pull is retried after the backoff ($(pull_fails) failure lines)"
is "$(probe "rtmp://127.0.0.1:$LE_RTMP_PORT/live/p" 5)" "" "N: no stream live/p"
is "$(probe "rtmp://127.0.0.1:$N_A_RTMP/live/N-cam" 5)" "" "N: A has no pushed copy"
line=$(le_wait_log "publish .*notify-N.*gave up after [0-9]+ attempts.*certificate verify failed" 30)
ok $? "N: the https callback fails verification and is given up (log)" && diag "$line"
is "$(srv_count GET /notify-N)" 0 "N: the https server saw no callback"
end_up N
line=$(le_wait_log "PutObject s3://rec/rec/up/cam-N-[^:]*: SSL certificate problem" 20)
ok $? "N: the S3 upload fails verification (log)" && diag "$line"
is "$(srv_count PUT /rec/rec/up/cam-N-)" 0 "N: the https server saw no upload"
le_stop

# pulled_copy: what ffprobe sees of the current node's pulled live/p (three tries).
pulled_copy() {
    local i got=""
    for i in 1 2 3; do
        got=$(probe "rtmp://127.0.0.1:$LE_RTMP_PORT/live/p" 20)
        [ "$got" = "320x240 audio" ] && break
        sleep 1
    done
    echo "$got"
}

# ---- C: tls_ca_file = the test CA -------------------------------------------------------
b_node C "tls_ca_file $PKI/ca.pem;"
got=$(pulled_copy)
is "$got" "320x240 audio" "C: the rtmps pull from A plays on C (ffprobe)"
le_wait_log "push: .*rtmps://127\\.0\\.0\\.1:$RTMPS_A/live/C-cam: publishing" 20 >/dev/null
ok $? "C: the push rule publishes to rtmps://A (log)"
is "$(probe "rtmp://127.0.0.1:$N_A_RTMP/live/C-cam" 20)" "320x240 audio" "C: the pushed copy plays on A (ffprobe)"
le_wait_for 15 srv_has GET /notify-C
ok $? "C: the publish callback arrives over https"
# The studio's SideOutputUrl over rtmps: a caster on C mixes up/cam into PGM
# and pushes it to rtmps://A/live/side (docs/STUDIO.md, side output).
api CreateCaster ClientToken=tls-86 NormType=1 ChargeType=PostPaid CasterTemplate=lp_ld
CID=$(j "$API_BODY" 'd.get("CasterId", "")')
api SetCasterConfig CasterId="$CID" DomainName=live.test 'TranscodeConfig={"CasterTemplate":"lp_ld"}' \
    SideOutputUrl="rtmps://127.0.0.1:$RTMPS_A/live/side"
ok $? "C: SetCasterConfig SideOutputUrl=rtmps://A/live/side" || diag "$API_CODE $API_BODY"
api AddCasterVideoResource CasterId="$CID" LocationId=RV01 ResourceName=cam \
    LiveStreamUrl="rtmp://127.0.0.1:$LE_RTMP_PORT/up/cam"
api AddCasterLayout CasterId="$CID" VideoLayer.1.HeightNormalized=1 VideoLayer.1.WidthNormalized=1 \
    AudioLayer.1.VolumeRate=1 BlendList.1=RV01 MixList.1=RV01
LID=$(j "$API_BODY" 'd.get("LayoutId", "")')
api StartCaster CasterId="$CID"
PGM=$(j "$API_BODY" 'd["PgmSceneInfos"]["SceneInfo"][0]["SceneId"]')
api SetCasterSceneConfig CasterId="$CID" SceneId="$PGM" LayoutId="$LID"
ok $? "C: the caster runs with PGM showing up/cam" || diag "$API_CODE $API_BODY"
for i in 1 2 3 4 5; do
    got=$(probe "rtmp://127.0.0.1:$N_A_RTMP/live/side" 15)
    [ "$got" = "640x360 audio" ] && break
    sleep 2
done
is "$got" "640x360 audio" "C: the studio's rtmps side output plays on A (ffprobe)" ||
    diag "$(grep -iE 'side output|caster' "$LE_LOG" | tail -5)"
api StopCaster CasterId="$CID"
unlike "$(cat "$LE_LOG")" "certificate verify failed|SSL certificate problem" "C: no verification failure logged"
end_up C
le_wait_for 20 srv_has PUT /rec/rec/up/cam-C-
ok $? "C: the recording is uploaded to the https S3 endpoint"
le_stop

# ---- S: no tls_ca_file, tls_verify_skip for A's rtmps and the https server -----------------
b_node S "tls_verify_skip 127.0.0.1:$RTMPS_A;
tls_verify_skip 127.0.0.1:$TS_PORT;"
got=$(pulled_copy)
is "$got" "320x240 audio" "S: the rtmps pull from a skipped host:port plays (ffprobe)"
is "$(probe "rtmp://127.0.0.1:$N_A_RTMP/live/S-cam" 20)" "320x240 audio" "S: the pushed copy plays on A (ffprobe)"
le_wait_for 15 srv_has GET /notify-S
ok $? "S: the publish callback arrives over https"
end_up S
le_wait_for 20 srv_has PUT /rec/rec/up/cam-S-
ok $? "S: the recording is uploaded to the https S3 endpoint"
unlike "$(cat "$LE_LOG")" "certificate verify failed|SSL certificate problem" "S: no verification failure logged"
le_stop

le_kill "$CAM_PID"
use A
le_stop
done_testing
