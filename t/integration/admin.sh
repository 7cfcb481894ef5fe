# t/integration/admin.sh: helpers for the scripts that drive the admin API
# (15, 40-47, 56-75, 76-77; 78-83 through studio.sh). Source after lib.sh.

# api ACTION [NAME=VALUE...]: an unsigned JSON call to the current node's
# admin port. Sets API_CODE (HTTP status, 000 if none) and API_BODY.
api() {
    local action=$1 kv out
    shift
    local -a args=(--data-urlencode "Action=$action" --data-urlencode "Format=JSON")
    for kv in "$@"; do args+=(--data-urlencode "$kv"); done
    out=$(curl -s -G --max-time 10 -w '\n%{http_code}' "${args[@]}" "http://127.0.0.1:$LE_ADMIN_PORT/")
    API_CODE=${out##*$'\n'}
    API_BODY=${out%$'\n'*}
    if [ "$API_CODE" = 000 ] && ! le_alive "$LE_PID"; then le_abort "livedge died during $action"; fi
    [ "$API_CODE" = 200 ]
}

# signed_query AK SK ACTION: a signature v1 query string for ACTION (fresh
# SignatureNonce, Timestamp now), for calls that must be signed.
signed_query() {
    [ -f "$LE_DIR/sq.py" ] || cat >"$LE_DIR/sq.py" <<'PY'
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
    python3 "$LE_DIR/sq.py" "$@"
}

# j JSON EXPR: evaluates the python expression EXPR with d = the parsed JSON;
# strings print raw, anything else as JSON. "ERR ..." if JSON is not JSON.
j() {
    [ -f "$LE_DIR/j.py" ] || cat >"$LE_DIR/j.py" <<'PY'
import json, sys
try:
    d = json.loads(sys.stdin.read())
except Exception as e:
    print("ERR not JSON: %s" % e); sys.exit(0)
try:
    r = eval(sys.argv[1], {"d": d})
except Exception as e:
    print("ERR %s: %s" % (type(e).__name__, e)); sys.exit(0)
print(r if isinstance(r, str) else json.dumps(r, sort_keys=True))
PY
    printf '%s' "$1" | "$LE_PY" "$LE_DIR/j.py" "$2"
}

# utc OFFSET: UTC time OFFSET seconds from now, in the API's format.
utc() { date -u -d "@$(( $(date +%s) + $1 ))" +%Y-%m-%dT%H:%M:%SZ; }

# pub NAME [SECS]: publishes NAME (may carry ?vhost=) and waits until live.
pub() {
    LE_PUB_SECS=${2:-60} le_publish "$1"
    le_wait_publishing "$LE_PUB_PROGRESS" 15
}
# pub_refused NAME: a publish of NAME ends, non-zero, within 10 s.
pub_refused() {
    LE_PUB_SECS=30 le_publish "$1"
    if le_wait_exit "$LE_PUB_PID" 10; then
        [ "$LE_EXIT_RC" != 0 ]
    else
        le_kill "$LE_PUB_PID"
        return 1
    fi
}

# ---- several nodes, forbids, timings (41, 42) -----------------------------------

# save_node X: saves the current daemon's globals as node X. use X: makes node X
# the current one (le_url, le_publish, le_stop, le_wait_log, api act on it).
save_node() {
    eval "N_$1_PID=\$LE_PID N_$1_LOG=\$LE_LOG N_$1_RTMP=\$LE_RTMP_PORT N_$1_HTTP=\$LE_HTTP_PORT"
    eval "N_$1_ADMIN=\$LE_ADMIN_PORT N_$1_CONF=\$LE_CONF"
}
# start_node X [same]: starts node X (LE_NAME $LE_BASE_NAME-x, which the script
# sets) on fresh ports, or with "same" on the ports it had before; saves it.
start_node() {
    local lc rc
    lc=$(tr 'AB' 'ab' <<<"$1")
    if [ "${2:-}" = same ]; then
        eval "LE_FIXED_PORTS=\"\$N_$1_RTMP \$N_$1_HTTP \$N_$1_ADMIN\""
    else
        LE_FIXED_PORTS=""
    fi
    LE_NAME=$LE_BASE_NAME-$lc
    le_start; rc=$?
    LE_NAME=$LE_BASE_NAME
    LE_FIXED_PORTS=""
    [ "$rc" = 0 ] && save_node "$1"
    return $rc
}
use() {
    eval "LE_PID=\$N_$1_PID LE_LOG=\$N_$1_LOG LE_RTMP_PORT=\$N_$1_RTMP LE_HTTP_PORT=\$N_$1_HTTP"
    eval "LE_ADMIN_PORT=\$N_$1_ADMIN LE_CONF=\$N_$1_CONF"
}

# win: WIN, a window around now for the history calls.
win() { WIN=("StartTime=$(utc -3600)" "EndTime=$(utc 600)"); }

# ms_since T0: milliseconds from T0 (le_now_ms) to now.
ms_since() { echo $(( $(le_now_ms) - $1 )); }
# log_ms LINE: a daemon log line's timestamp in unix ms (0 if unreadable).
log_ms() { date -d "${1%% *}" +%s%3N 2>/dev/null || echo 0; }

# cut_checks PID T0 MARK KEY WHO: after a forbid sent at T0 (le_now_ms), the
# daemon log (after line MARK) shows KEY's publisher cut within 1 s (man livedge.8),
# and the publisher's ffmpeg (PID) exits. Three TAP lines.
cut_checks() {
    local pid=$1 t0=$2 mark=$3 key=$4 who=$5 line el
    line=$(le_wait_log "$key: cutting the publisher" 3 "$mark")
    if ok $? "$who is cut (daemon log)"; then
        el=$(log_ms "$line")
        [ "$el" -gt 0 ] && el=$(( el - t0 )) || el="unreadable timestamp"
        cmp_ok "$el" -le 1000 "... within 1 s of the call ($el ms)"
    else
        skip 1 "no cut"
    fi
    # ffmpeg's own shutdown takes a while on a loaded machine: the 1 s
    # bound is the daemon's, this only checks that the client was dropped.
    if le_wait_exit "$pid" 5; then
        ok 0 "... its ffmpeg exits ($(ms_since "$t0") ms after the call)"
    else
        ok 1 "... its ffmpeg exits (still running 5 s after the call)"
        le_kill "$pid"
    fi
}

# bad STATUS CODE WHAT ACTION [NAME=VALUE...]: the call answers STATUS and
# the Alibaba-style Code.
bad() {
    local st=$1 code=$2 what=$3
    shift 3
    api "$@"
    is "$API_CODE $(j "$API_BODY" 'd.get("Code")')" "$st $code" "$what" || diag "$API_BODY"
}

# keys: the sorted top-level names of the last answer.
keys() { j "$API_BODY" 'sorted(d.keys())'; }

# ---- helpers beyond the API: a callback recorder, a stream's shape -----------------

# cb_recorder LOG: starts an HTTP server on a loopback port (its pid in CB_PID,
# its port in CB_PORT) that answers every GET and POST 200 "{}" and appends
# one JSON line a request to LOG: {"t": arrival (unix s), "method", "path"
# (without the query), "q" (the query), "ct" (Content-Type), "body"}.
cb_recorder() {
    cat >"$LE_DIR/cb_recorder.py" <<'PY'
import http.server, json, os, sys, threading, time
port_file, log = sys.argv[1], sys.argv[2]
lock = threading.Lock()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    def log_message(self, *a):
        pass
    def record(self, body):
        path, _, q = self.path.partition("?")
        rec = {"t": time.time(), "method": self.command, "path": path, "q": q,
               "ct": self.headers.get("Content-Type", ""), "body": body}
        with lock, open(log, "a") as f:
            f.write(json.dumps(rec) + "\n")
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")
    def do_GET(self):
        self.record("")
    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        self.record(self.rfile.read(min(n, 65536)).decode("utf-8", "replace"))
class S(http.server.ThreadingHTTPServer):
    daemon_threads = True
srv = S(("127.0.0.1", 0), H)
with open(port_file + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(port_file + ".tmp", port_file)
srv.serve_forever()
PY
    rm -f "$LE_DIR/cb_recorder.port"
    le_bg CB_PID "$LE_PY" "$LE_DIR/cb_recorder.py" "$LE_DIR/cb_recorder.port" "$1"
    le_wait_for 10 test -s "$LE_DIR/cb_recorder.port" || le_abort "the callback recorder did not start"
    CB_PORT=$(cat "$LE_DIR/cb_recorder.port")
}

# probe URL [SECS]: "WxH audio" of the first video and any audio stream that
# plays at URL ("" if nothing within SECS, default 25).
probe() {
    timeout -k 3 "${2:-25}" ffprobe -hide_banner -v error -show_entries stream=codec_type,width,height \
        -of compact=p=0 "$1" 2>>"$LE_DIR/ffprobe.log" |
        "$LE_PY" -c '
import sys
v = a = ""
for l in sys.stdin:
    kv = dict(x.split("=", 1) for x in l.strip().split("|") if "=" in x)
    if kv.get("codec_type") == "video" and not v: v = kv.get("width", "") + "x" + kv.get("height", "")
    if kv.get("codec_type") == "audio": a = "audio"
print((v + " " + a).strip())'
}
