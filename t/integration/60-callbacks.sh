#!/bin/sh
# 60-callbacks: publish / publish_done callbacks (livedge.conf(5), CALLBACKS). A real
# HTTP server on loopback (python3 http.server, below) records every request
# with its arrival time, path, query and headers. Checked: the parameters and
# their encoding; exactly one publish_done per publish for every way a
# publish ends (normal end with FCUnpublish+deleteStream, close without
# unpublish, silent publisher cut by idle_timeout, ForbidLiveStream,
# takeover, SIGTERM of the node) and none for a refused publish; order per
# stream; retries 1 s apart after 500s; a server that never answers gets 6
# attempts 5 s apart-plus-1 s while publish and playback start at once and
# another domain's callbacks are not delayed; the notify URL set over the
# admin API (Set/Describe/Delete) and the ALI-LIVE-SIGNATURE header.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
LE_SCRIPT_TIMEOUT=${LE_SCRIPT_TIMEOUT:-600}
# shellcheck source=t/integration/lib.sh
. "$(dirname "$0")/lib.sh"

le_require_daemon
le_require_tool ffmpeg ffprobe python3 curl

# ---- the callback server ----------------------------------------------------
# Paths: /notify* answers 200; /flaky* 500 to the first two requests (per
# path) then 200; /hang* accepts, reads the request and never answers.
cat >"$LE_DIR/cbserver.py" <<'PY'
import collections, http.server, json, sys, threading, time
port_file, log = sys.argv[1], sys.argv[2]
lock = threading.Lock()
seen = collections.Counter()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    def log_message(self, *a):
        pass
    def do_GET(self):
        t = time.time()
        path, _, q = self.path.partition("?")
        rec = {"t": t, "path": path, "q": q, "h": {k.lower(): v for k, v in self.headers.items()}}
        with lock:
            with open(log, "a") as f:
                f.write(json.dumps(rec) + "\n")
            seen[path] += 1
            n = seen[path]
        if path.startswith("/hang"):
            time.sleep(120)
            return
        code = 500 if path.startswith("/flaky") and n <= 2 else 200
        body = b"ok\n"
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
class S(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
srv = S(("127.0.0.1", 0), H)
if len(sys.argv) > 3:     # https: argv[3] holds the certificate and its key
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[3])
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
with open(port_file + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.rename(port_file + ".tmp", port_file)
srv.serve_forever()
PY

# cbq CMD ARGS: questions about the recorded requests (see the script).
cat >"$LE_DIR/cbq.py" <<'PY'
import hashlib, json, sys, urllib.parse
log, cmd, args = sys.argv[1], sys.argv[2], sys.argv[3:]
recs = []
try:
    with open(log) as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                r["p"] = urllib.parse.parse_qs(r["q"], keep_blank_values=True)
                r["pl"] = urllib.parse.parse_qsl(r["q"], keep_blank_values=True)
                recs.append(r)
except FileNotFoundError:
    pass
def match(r, sid, action=None):
    return r["p"].get("id", [None])[-1] == sid and (action is None or r["p"].get("action", [None])[-1] == action)
if cmd == "count":            # count ID [ACTION]
    print(sum(1 for r in recs if match(r, *args)))
elif cmd == "actions":        # actions ID: the actions in arrival order
    print(" ".join(r["p"].get("action", ["?"])[-1] for r in recs if match(r, args[0])))
elif cmd == "actionsc":       # actionsc ID: the same, retries (repeats in a row) collapsed
    out = []
    for r in recs:
        if match(r, args[0]):
            a = r["p"].get("action", ["?"])[-1]
            if not out or out[-1] != a:
                out.append(a)
    print(" ".join(out))
elif cmd == "field":          # field ID ACTION NAME [N]: decoded value of the Nth (default 1st)
    m = [r for r in recs if match(r, args[0], args[1])]
    n = int(args[3]) if len(args) > 3 else 1
    print(m[n - 1]["p"].get(args[2], ["<absent>"])[-1] if len(m) >= n else "<no request>")
elif cmd == "names":          # names ID ACTION: parameter names of the 1st, in order
    m = [r for r in recs if match(r, args[0], args[1])]
    print(" ".join(k for k, v in m[0]["pl"]) if m else "<no request>")
elif cmd == "raw":            # raw ID ACTION: the raw query of the 1st
    m = [r for r in recs if match(r, args[0], args[1])]
    print(m[0]["q"] if m else "<no request>")
elif cmd == "path":           # path ID ACTION
    m = [r for r in recs if match(r, args[0], args[1])]
    print(m[0]["path"] if m else "<no request>")
elif cmd == "times":          # times ID ACTION: arrival times (s, 3 decimals)
    print(" ".join("%.3f" % r["t"] for r in recs if match(r, args[0], args[1])))
elif cmd == "gaps":           # gaps ID ACTION: gaps between successive arrivals, ms
    t = [r["t"] for r in recs if match(r, args[0], args[1])]
    print(" ".join(str(int((b - a) * 1000)) for a, b in zip(t, t[1:])))
elif cmd == "sigcheck":       # sigcheck ID ACTION DOMAIN KEY: "ok" or why not
    m = [r for r in recs if match(r, args[0], args[1])]
    if not m:
        print("no request"); sys.exit()
    h = m[0]["h"]
    ts, sig = h.get("ali-live-timestamp"), h.get("ali-live-signature")
    if not ts or not sig:
        print("headers missing: %r" % sorted(h)); sys.exit()
    want = hashlib.md5(("%s|%s|%s" % (args[2], ts, args[3])).encode()).hexdigest()
    if sig != want:
        print("signature %s, want %s" % (sig, want))
    elif abs(int(ts) - m[0]["t"]) > 30:
        print("timestamp %s is %d s off" % (ts, int(ts) - m[0]["t"]))
    else:
        print("ok")
elif cmd == "header":         # header ID ACTION NAME: its value in the 1st
    m = [r for r in recs if match(r, args[0], args[1])]
    print(m[0]["h"].get(args[2].lower(), "<absent>") if m else "<no request>")
elif cmd == "hasheader":      # hasheader ID ACTION NAME: yes|no
    m = [r for r in recs if match(r, args[0], args[1])]
    print("yes" if m and args[2].lower() in m[0]["h"] else "no")
PY
CBLOG=$LE_DIR/callbacks.jsonl
cbq() { python3 "$LE_DIR/cbq.py" "$CBLOG" "$@"; }
cb_has() { [ "$(cbq count "$@")" -ge 1 ]; }
cb_count_ge() { [ "$(cbq count "$1" "$2")" -ge "$3" ]; }

le_bg CB_PID python3 "$LE_DIR/cbserver.py" "$LE_DIR/cbport" "$CBLOG"
le_wait_for 10 test -s "$LE_DIR/cbport" || le_abort "the callback server did not start"
CBP=$(cat "$LE_DIR/cbport")
CB=http://127.0.0.1:$CBP

# The same server over https, with a self-signed certificate for 127.0.0.1
# only, which the daemon trusts through SSL_CERT_FILE (OpenSSL's default
# verify paths honour it).
TLS=""
if command -v openssl >/dev/null 2>&1 &&
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
        -addext subjectAltName=IP:127.0.0.1 -keyout "$LE_DIR/tls.key" -out "$LE_DIR/tls.crt" \
        >"$LE_DIR/openssl.log" 2>&1; then
    cat "$LE_DIR/tls.crt" "$LE_DIR/tls.key" >"$LE_DIR/tls.pem"
    le_bg CBS_PID python3 "$LE_DIR/cbserver.py" "$LE_DIR/cbsport" "$CBLOG" "$LE_DIR/tls.pem"
    le_wait_for 10 test -s "$LE_DIR/cbsport" && TLS=1
    LE_DAEMON_ENV="SSL_CERT_FILE=$LE_DIR/tls.crt"
fi

# ---- the node -----------------------------------------------------------------
# A second domain, with its own callback URL, shows that one hanging server
# does not hold back another's callbacks.
LE_EXTRA_CONF="publish_takeover always;
idle_timeout 3s;
domain other.test {
    notify_url $CB/notify-other;
}"
LE_DOMAIN_CONF="    notify_url $CB/notify;
    push_domain push.test;"
LE_WAIT_PORTS="rtmp http admin"
le_start || le_abort "livedge did not start"
NODE=le-test-$LE_NAME

# api ACTION [NAME=VALUE...]: an unsigned admin call (no keys, loopback).
# Prints the body, then the HTTP status on a last line.
api() {
    local action=$1 a; shift
    local -a d=(--data-urlencode "Action=$action" --data-urlencode "Format=JSON")
    for a in "$@"; do d+=(--data-urlencode "$a"); done
    curl -sS -m 10 -G -w '\n%{http_code}' "${d[@]}" "http://127.0.0.1:$LE_ADMIN_PORT/" 2>&1
}
# jq_get JSON PATH: a member by dotted path ("" if absent).
jq_get() {
    python3 -c 'import json,sys
try:
    v = json.loads(sys.argv[1])
    for k in sys.argv[2].split("."): v = v[k]
    print(v)
except Exception: print("")' "$1" "$2"
}
status_of() { tail -n 1 <<<"$1"; }
body_of() { sed '$d' <<<"$1"; }
# set_notify DESC URL [NAME=VALUE...]: SetLiveStreamsNotifyUrlConfig on the
# test domain must answer 200 (one TAP line); R is the answer.
set_notify() {
    local desc=$1 url=$2; shift 2
    R=$(api SetLiveStreamsNotifyUrlConfig DomainName="$LE_DOMAIN" NotifyUrl="$url" "$@")
    is "$(status_of "$R")" 200 "$desc" || diag "$R"
}

# live_cb NAME DESC: a 60 s publish of NAME (PUB its ffmpeg) goes live and
# its publish callback arrives (one TAP line).
live_cb() {
    LE_PUB_SECS=60 le_publish "$1"
    PUB=$LE_PUB_PID
    le_wait_publishing "$LE_PUB_PROGRESS" 15 && le_wait_for 10 cb_has "$1" publish
    ok $? "$2" || diag "$(cat "$LE_PUB_LOG")"
}
# refused_pub NAME DESC: a publish of NAME is turned away: its ffmpeg exits
# non-zero within 15 s (one TAP line).
refused_pub() {
    LE_PUB_SECS=30 le_publish "$1"
    if le_wait_exit "$LE_PUB_PID" 15; then
        cmp_ok "$LE_EXIT_RC" -ne 0 "$2 (ffmpeg exits $LE_EXIT_RC)" || diag "$(cat "$LE_PUB_LOG")"
    else
        ok 1 "$2 (still publishing after 15 s)"
        le_kill "$LE_PUB_PID"
    fi
}

# ---- 1. parameters; a normal end (ffmpeg sends FCUnpublish + deleteStream) ---------
t0=$(date +%s)
LE_PUB_SECS=5 le_publish 'cb1?foo=bar&x=1'
pub=$LE_PUB_PID
le_wait_for 10 cb_has cb1 publish
ok $? "publish callback for live/cb1 arrives"
is "$(cbq path cb1 publish)" /notify "it goes to the configured notify_url's path"
is "$(cbq names cb1 publish)" "action ip id app appname time usrargs node width height" \
    "publish: exactly the callback's parameters, width/height included"
is "$(cbq field cb1 publish action)" publish "action=publish"
is "$(cbq field cb1 publish ip)" 127.0.0.1 "ip is the broadcaster's address"
is "$(cbq field cb1 publish id)" cb1 "id is the stream name, query split off"
is "$(cbq field cb1 publish app)" "$LE_DOMAIN" "app is the play domain (no push domain)"
is "$(cbq field cb1 publish appname)" live "appname is the AppName"
is "$(cbq field cb1 publish usrargs)" 'foo=bar&x=1' "usrargs is the publish URL's query"
like "$(cbq raw cb1 publish)" '(^|&)usrargs=foo%3Dbar%26x%3D1(&|$)' "usrargs is percent-encoded (RFC 3986)"
is "$(cbq field cb1 publish node)" "$NODE" "node is node_name"
is "$(cbq field cb1 publish width)" 640 "width from onMetaData"
is "$(cbq field cb1 publish height)" 360 "height from onMetaData"
tm=$(cbq field cb1 publish time)
cmp_ok "$(( ${tm:-0} - t0 ))" -le 5 "time is the unix time of the publish (within 5 s)"
cmp_ok "$(( ${tm:-0} - t0 ))" -ge -1 "time is not in the past"
le_wait_exit "$pub" 20
ok $? "ffmpeg ends its 5 s publish normally"
le_wait_for 10 cb_has cb1 publish_done
ok $? "publish_done for live/cb1 arrives after the normal end"
is "$(cbq names cb1 publish_done)" "action ip id app appname time usrargs node" \
    "publish_done: the callback's parameters, no width/height"
is "$(cbq field cb1 publish_done usrargs)" 'foo=bar&x=1' "publish_done carries the same usrargs"
line=$(le_wait_log 'notify.*publish_done .*/live/cb1 .*200.*ended: client unpublished' 5)
ok $? "the log shows the end came from FCUnpublish/deleteStream" || diag "$(grep -i 'cb1' "$LE_LOG" | tail -5)"

# ---- 1b. a publish on the push domain: app is the push domain --------------------
LE_APP='live?vhost=push.test' LE_PUB_SECS=3 le_publish cbp
pub=$LE_PUB_PID
le_wait_for 10 cb_has cbp publish
ok $? "publish callback for a publish on the push domain"
is "$(cbq field cbp publish app)" push.test "app is the push domain the publish came in on"
le_wait_exit "$pub" 20 || le_kill "$pub"
le_wait_for 10 cb_has cbp publish_done
is "$(cbq field cbp publish_done app)" push.test "publish_done: app is the push domain too"

# ---- 2. close without unpublish (kill -9) -------------------------------------------
live_cb cb2 "publish callback for live/cb2"
pub=$PUB
{ kill -KILL "$pub"; wait "$pub"; } 2>/dev/null
le_wait_for 10 cb_has cb2 publish_done
ok $? "kill -9 of the publisher: publish_done arrives"
le_wait_log 'publish_done .*/live/cb2 .*ended: (peer closed|connection reset)' 5 >/dev/null
ok $? "... from a close without unpublish (log: peer closed or reset)" || diag "$(grep -i 'cb2' "$LE_LOG" | tail -5)"

# ---- 3. a publisher that vanishes without FIN (idle_timeout 3s) ---------------------
live_cb cb3 "publish callback for live/cb3"
pub=$PUB
kill -STOP "$pub"
ts=$(le_now_ms)
le_wait_for 12 cb_has cb3 publish_done
ok $? "a stopped (silent) publisher: publish_done after the idle timeout"
cmp_ok "$(( $(le_now_ms) - ts ))" -ge 2500 "... not before idle_timeout (3 s)"
le_wait_log 'publish_done .*/live/cb3 .*ended: publisher idle timeout' 5 >/dev/null
ok $? "... the end reason is the idle timeout" || diag "$(grep -i 'cb3' "$LE_LOG" | tail -5)"
le_kill "$pub"

# ---- 4. ForbidLiveStream, and a refused (forbidden) publish -------------------------
live_cb cb4 "publish callback for live/cb4"
pub=$PUB
r=$(api ForbidLiveStream DomainName="$LE_DOMAIN" AppName=live StreamName=cb4 LiveStreamType=publisher)
is "$(status_of "$r")" 200 "ForbidLiveStream live/cb4" || diag "$r"
le_wait_for 10 cb_has cb4 publish_done
ok $? "forbid: publish_done arrives"
le_wait_exit "$pub" 10 || le_kill "$pub"
refused_pub cb4 "a forbidden publish of live/cb4 is refused"
sleep 1.5
is "$(cbq count cb4 publish)" 1 "a publish refused (forbidden) gets no publish callback"
is "$(cbq count cb4 publish_done)" 1 "... and no publish_done"
r=$(api ResumeLiveStream DomainName="$LE_DOMAIN" AppName=live StreamName=cb4 LiveStreamType=publisher)
is "$(status_of "$r")" 200 "ResumeLiveStream live/cb4" || diag "$r"

# ---- 5. takeover (publish_takeover always) ---------------------------------------
live_cb cb5 "publish callback for the first publisher of live/cb5"
puba=$PUB
LE_PUB_SECS=60 le_publish cb5
pubb=$LE_PUB_PID
le_wait_publishing "$LE_PUB_PROGRESS" 15
ok $? "a second publisher takes live/cb5 over"
le_wait_for 10 cb_count_ge cb5 publish 2
ok $? "the newcomer's publish callback arrives"
is "$(cbq actions cb5)" "publish publish_done publish" \
    "takeover: the old publish_done comes before the new publish"
le_kill "$puba"
le_kill "$pubb"
le_wait_for 10 cb_count_ge cb5 publish_done 2
ok $? "the new publisher's end: its publish_done"

# ---- 6. a refused second publisher (publish_takeover never) -----------------------
LE_EXTRA_CONF=${LE_EXTRA_CONF/publish_takeover always;/publish_takeover never;}
le_write_conf "$LE_CONF"
mark=$(le_log_lines)
kill -HUP "$LE_PID"
le_wait_log 'reload' 10 "$mark" >/dev/null
ok $? "reloaded with publish_takeover never"
live_cb cb6 "publish callback for live/cb6"
puba=$PUB
refused_pub cb6 "a second publisher of live/cb6 is refused (publish_takeover never)"
sleep 1.5
is "$(cbq actions cb6)" "publish" "a refused second publisher: no publish, no publish_done"
le_alive "$puba"
ok $? "the first publisher of live/cb6 is still live"
le_kill "$puba"
le_wait_for 10 cb_has cb6 publish_done
ok $? "the first publisher's end: its publish_done"

# ---- 7. admin API: Set / Describe / Delete ------------------------------------------
r=$(api SetLiveStreamsNotifyUrlConfig DomainName="$LE_DOMAIN" NotifyUrl="rtmp://127.0.0.1/x")
is "$(status_of "$r")" 400 "Set with an rtmp:// URL: 400"
is "$(jq_get "$(body_of "$r")" Code)" InvalidParameter "... InvalidParameter"
r=$(api SetLiveStreamsNotifyUrlConfig DomainName="$LE_DOMAIN")
is "$(status_of "$r") $(jq_get "$(body_of "$r")" Code)" "400 MissingParameter" "Set without NotifyUrl: MissingParameter"
r=$(api SetLiveStreamsNotifyUrlConfig DomainName=nope.test NotifyUrl="$CB/x")
is "$(status_of "$r")" 404 "Set on an unknown domain: 404 InvalidDomain.NotFound"
is "$(jq_get "$(body_of "$r")" Code)" InvalidDomain.NotFound "... with Code InvalidDomain.NotFound"
set_notify "SetLiveStreamsNotifyUrlConfig" "http://localhost:$CBP/flaky?tok=a%20b"
like "$(jq_get "$(body_of "$R")" RequestId)" '.' "... answers a RequestId"
r=$(api DescribeLiveStreamsNotifyUrlConfig DomainName="$LE_DOMAIN")
is "$(jq_get "$(body_of "$r")" LiveStreamsNotifyConfig.NotifyUrl)" "http://localhost:$CBP/flaky?tok=a%20b" \
    "Describe: LiveStreamsNotifyConfig.NotifyUrl is the new URL"
is "$(jq_get "$(body_of "$r")" LiveStreamsNotifyConfig.DomainName)" "$LE_DOMAIN" "... with DomainName"
is "$(jq_get "$(body_of "$r")" NotifyUrlConfig.NotifyUrl)" "http://localhost:$CBP/flaky?tok=a%20b" \
    "... and the API reference example's NotifyUrlConfig"

# ---- 8. retries: 500, 500, then 200 (URL applied without a restart) ------------------
LE_PUB_SECS=60 le_publish cb7
pub=$LE_PUB_PID
le_wait_for 15 cb_count_ge cb7 publish 3
ok $? "500 twice: three publish requests"
sleep 2.5
is "$(cbq count cb7 publish)" 3 "... and no more after the 200"
is "$(cbq path cb7 publish)" /flaky "the URL set over the API is used at once"
is "$(cbq header cb7 publish host)" "localhost:$CBP" "a host name (resolved with evdns) and its Host header"
like "$(cbq raw cb7 publish)" '^tok=a%20b&action=publish&' "the URL's own query comes first, then &"
gaps=$(cbq gaps cb7 publish)
ok "$(python3 -c 'import sys; g=[int(x) for x in sys.argv[1:]]; print(0 if len(g)==2 and all(900<=x<=1700 for x in g) else 1)' $gaps)" \
    "retries ~1 s apart (gaps ms: $gaps)"
le_kill "$pub"
le_wait_for 10 cb_has cb7 publish_done
ok $? "publish_done for live/cb7"

# ---- 9. a server that never answers -------------------------------------------
set_notify "notify URL set to a server that never answers" "$CB/hang"
t0=$(le_now_ms)
LE_PUB_SECS=90 le_publish cb8
hpub=$LE_PUB_PID
le_wait_publishing "$LE_PUB_PROGRESS" 10
ok $? "with a hanging callback server, the publish starts at once"
t1=$(le_now_ms)
probe=$(LE_PROBE_TIMEOUT=10 le_probe cb8)
t2=$(le_now_ms)
like "$probe" 'codec_name=h264' "... and ffprobe plays it"
cmp_ok "$(( t2 - t0 ))" -le 8000 "... within a few seconds ($(( t1 - t0 )) ms to publish, $(( t2 - t0 )) ms to play)"
# Another domain's callback is not held back by the hanging one.
t3=$(date +%s.%N)
LE_APP='live?vhost=other.test' LE_PUB_SECS=60 le_publish cb9
opub=$LE_PUB_PID
le_wait_for 5 cb_has cb9 publish
ok $? "another domain's publish callback arrives meanwhile"
is "$(cbq path cb9 publish)" /notify-other "... to its own URL"
is "$(cbq field cb9 publish app)" other.test "... with app = its domain"
dt=$(python3 -c 'import sys; print(int((float(sys.argv[1]) - float(sys.argv[2])) * 1000))' \
    "$(cbq times cb9 publish | cut -d' ' -f1)" "$t3")
cmp_ok "$dt" -le 3000 "... within 3 s of its publish ($dt ms)"
le_wait_for 45 cb_count_ge cb8 publish 6
ok $? "the hanging server gets 6 attempts"
le_wait_log 'publish .*/live/cb8 .*gave up after 6 attempts' 10 >/dev/null
ok $? "then the callback is given up with a log line" || diag "$(grep -i 'cb8' "$LE_LOG" | tail -5)"
gaps=$(cbq gaps cb8 publish)
ok "$(python3 -c 'import sys; g=[int(x) for x in sys.argv[1:]]; print(0 if len(g)==5 and all(5800<=x<=7000 for x in g) else 1)' $gaps)" \
    "attempts 5 s timeout + 1 s apart (gaps ms: $gaps)"
sleep 1
is "$(cbq count cb8 publish)" 6 "no seventh attempt"
m=$(curl -sS -m 10 "http://127.0.0.1:$LE_ADMIN_PORT/metrics")
like "$m" '^livedge_callbacks_failed_total [1-9]' "/metrics: livedge_callbacks_failed_total counts it"
like "$m" '^livedge_callbacks_retried_total [1-9]' "/metrics: livedge_callbacks_retried_total"
like "$m" '^livedge_callbacks_dropped_total 0' "/metrics: livedge_callbacks_dropped_total"
like "$m" '^livedge_callbacks_succeeded_total [1-9]' "/metrics: livedge_callbacks_succeeded_total"
like "$m" '^livedge_callbacks_pending [0-9]' "/metrics: livedge_callbacks_pending"
le_alive "$hpub"
ok $? "the publisher stayed connected throughout"
# Its publish_done goes to the URL in force when it ends.
set_notify "notify URL set back to /notify" "$CB/notify"
le_kill "$hpub" "$opub"
le_wait_for 10 cb_has cb8 publish_done
ok $? "publish_done for live/cb8 (publish given up) still follows"
le_wait_for 10 cb_has cb9 publish_done
ok $? "publish_done for other.test's cb9"

# ---- 9b. https:// (bufferevent_openssl), the certificate verified ---------------
if [ -n "$TLS" ]; then
    CBS=https://127.0.0.1:$(cat "$LE_DIR/cbsport")
    set_notify "Set an https:// notify URL" "$CBS/notify-tls"
    LE_PUB_SECS=3 le_publish cbs
    pub=$LE_PUB_PID
    le_wait_for 10 cb_has cbs publish
    ok $? "https: the publish callback arrives over TLS"
    is "$(cbq path cbs publish)" /notify-tls "... at the https URL's path"
    le_wait_exit "$pub" 20 || le_kill "$pub"
    le_wait_for 10 cb_has cbs publish_done
    ok $? "https: publish_done too"
    # The certificate names 127.0.0.1 only: "localhost" fails verification.
    set_notify "Set an https:// notify URL naming localhost" \
        "https://localhost:$(cat "$LE_DIR/cbsport")/notify-badname"
    mark=$(le_log_lines)
    LE_PUB_SECS=30 le_publish cbt
    pub=$LE_PUB_PID
    le_wait_log 'publish .*/live/cbt .*gave up after 6 attempts' 20 "$mark" >/dev/null
    ok $? "https: a certificate not valid for the host fails (6 attempts, given up)" ||
        diag "$(grep -i 'cbt' "$LE_LOG" | tail -3)"
    is "$(cbq count cbt)" 0 "... and the server never saw the request"
    set_notify "notify URL set back to plain http" "$CB/notify"
    le_kill "$pub"
else
    skip 8 "openssl could not make a test certificate"
fi

# ---- 10. notify_auth_key: ALI-LIVE-TIMESTAMP / ALI-LIVE-SIGNATURE ---------------------
KEY=s3cret-Key
set_notify "Set with NotifyReqAuth=yes and NotifyAuthKey" "$CB/notify-signed" \
    NotifyReqAuth=yes NotifyAuthKey="$KEY"
r=$(api DescribeLiveStreamsNotifyUrlConfig DomainName="$LE_DOMAIN")
is "$(jq_get "$(body_of "$r")" LiveStreamsNotifyConfig.NotifyAuthKey) $(jq_get "$(body_of "$r")" LiveStreamsNotifyConfig.NotifyReqAuth)" \
    "****ey yes" "Describe masks NotifyAuthKey (\"****\" and its last 2 characters), NotifyReqAuth yes"
unlike "$r" "$KEY" "... the key is nowhere in the answer"
r=$(api DescribeLiveDomainConfigs DomainName="$LE_DOMAIN" FunctionNames=alilive)
like "$r" '"ArgName":"notify_auth_key","ArgValue":"\*\*\*\*ey"' "DescribeLiveDomainConfigs masks alilive's notify_auth_key too"
unlike "$r" "$KEY" "... the key is nowhere in that answer"
r=$(api SetLiveStreamsNotifyUrlConfig DomainName="$LE_DOMAIN" NotifyUrl="$CB/notify-signed" NotifyReqAuth=yes)
is "$(status_of "$r") $(jq_get "$(body_of "$r")" Code)" "400 MissingParameter" "NotifyReqAuth=yes without a key: MissingParameter"
LE_PUB_SECS=3 le_publish cb10
pub=$LE_PUB_PID
le_wait_for 10 cb_has cb10 publish
ok $? "publish callback for live/cb10"
is "$(cbq sigcheck cb10 publish "$LE_DOMAIN" "$KEY")" ok \
    "ALI-LIVE-SIGNATURE = md5hex(play domain|ALI-LIVE-TIMESTAMP|key)"
le_wait_exit "$pub" 20 || le_kill "$pub"
le_wait_for 10 cb_has cb10 publish_done
is "$(cbq sigcheck cb10 publish_done "$LE_DOMAIN" "$KEY")" ok "publish_done is signed too"
is "$(cbq hasheader cb1 publish ali-live-signature)" no "without a key, no signature header"

# ---- 11. Delete: no callbacks (the file's notify_url is overridden too) ------------
r=$(api DeleteLiveStreamsNotifyUrlConfig DomainName="$LE_DOMAIN")
is "$(status_of "$r")" 200 "DeleteLiveStreamsNotifyUrlConfig" || diag "$r"
r=$(api DescribeLiveStreamsNotifyUrlConfig DomainName="$LE_DOMAIN")
is "$(status_of "$r")" 200 "Describe after Delete: 200" || diag "$r"
is "$(jq_get "$(body_of "$r")" LiveStreamsNotifyConfig.NotifyUrl)" "" "Describe after Delete: no NotifyUrl"
LE_PUB_SECS=60 le_publish cb11
pub=$LE_PUB_PID
le_wait_publishing "$LE_PUB_PROGRESS" 15
ok $? "live/cb11 is published after Delete" || diag "$(cat "$LE_PUB_LOG")"
sleep 2
le_kill "$pub"
sleep 1
is "$(cbq count cb11)" 0 "after Delete a publish makes no callback"

# ---- 12. SIGTERM: every publisher's publish_done goes out before exit -----------------
set_notify "notify URL set again after Delete" "$CB/notify"
LE_PUB_SECS=60 le_publish cb12
p12=$LE_PUB_PID
LE_PUB_SECS=60 le_publish cb13
p13=$LE_PUB_PID
le_wait_for 10 cb_has cb12 publish
ok $? "publish callback for live/cb12"
le_wait_for 10 cb_has cb13 publish
ok $? "publish callback for live/cb13"
le_stop
is "$(cbq count cb12 publish_done)" 1 "SIGTERM: publish_done for live/cb12 sent before exit"
is "$(cbq count cb13 publish_done)" 1 "SIGTERM: publish_done for live/cb13 sent before exit"
le_kill "$p12" "$p13"

# ---- exactly one publish_done per publish, in order, at the end -----------------
sleep 1
for id in cb1 cbp cb2 cb3 cb4 cb6 cb9 cb10 cb12 cb13 ${TLS:+cbs}; do
    is "$(cbq actions $id)" "publish publish_done" "live/$id: exactly one publish then one publish_done" ||
        diag "$id: $(cbq actions $id)"
done
for id in cb7 cb8; do
    is "$(cbq actionsc $id)" "publish publish_done" "live/$id: publish (with its retries), then one publish_done"
    is "$(cbq count $id publish_done)" 1 "live/$id: one publish_done request"
done
is "$(cbq actions cb5)" "publish publish_done publish publish_done" \
    "live/cb5 (takeover): publish, publish_done, publish, publish_done"

# ---- 13. SIGTERM while the callback server hangs ---------------------------------
# The publish_done still gets its first attempt before exit (it waits only
# for its publish's first attempt then), and what is left at the stop
# deadline is abandoned with a log line; the node exits within 10 s.
le_start || le_abort "livedge did not restart"
set_notify "notify URL set to a server that never answers" "$CB/hang-stop"
LE_PUB_SECS=60 le_publish cb14
p14=$LE_PUB_PID
le_wait_for 10 cb_has cb14 publish
ok $? "the publish callback of live/cb14 reaches the hanging server"
le_stop
cmp_ok "$(cbq count cb14 publish_done)" -ge 1 "SIGTERM: publish_done attempted before exit though its publish is unanswered"
like "$(cbq actions cb14)" '^publish publish_done' "... after the publish request (then both retried until the deadline)"
grep -qiE 'publish_done .*/live/cb14 .*abandoned at shutdown' "$LE_LOG"
ok $? "what is unfinished at the stop deadline is abandoned with a log line" ||
    diag "$(grep -i notify "$LE_LOG" | tail -5)"
le_kill "$p14"
done_testing
