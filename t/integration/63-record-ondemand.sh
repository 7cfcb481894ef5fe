#!/bin/sh
# 63-record-ondemand: on-demand recording (OnDemand 1: the OnDemandUrl query
# and its reply; OnDemand 2: the publish argument) and the record callbacks
# (docs/RECORD.md, "On demand" and "Callbacks"). One python3 http.server on
# loopback plays both the OnDemandUrl (GET, answers per stream name: NeedRecord
# true/false, Format intersection, Interval override, 500, a 10 kB reply, a
# body that is not the JSON) and the NotifyUrl (POST, records every body and
# header). Checked: one query per publish with domain, app, stream, codec,
# vbitrate; only the streams the reply asks for are recorded, in the formats
# of the intersection, cut at the reply's Interval; one callback per file
# with exact fields (uri = the object key of a file on disk, duration the
# file's ffprobe duration); record_started only with NeedStatusNotify=true;
# the callbacks signed with the domain's notify_auth_key.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
LE_SCRIPT_TIMEOUT=${LE_SCRIPT_TIMEOUT:-300}
# shellcheck source=t/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=t/integration/admin.sh
. "$(dirname "$0")/admin.sh"

le_require_daemon
le_require_tool ffmpeg ffprobe python3 curl

# ---- the server: OnDemandUrl (GET /od) and NotifyUrl (POST /cb) -------------
cat >"$LE_DIR/srv.py" <<'PY'
import http.server, json, sys, threading, time, urllib.parse
port_file, odlog, cblog = sys.argv[1], sys.argv[2], sys.argv[3]
lock = threading.Lock()
REPLIES = {
    # stream name -> (status, body)
    "odflv":  (200, '{"ApiVersion":"1.0","NeedRecord":true,"Interval":{"Flv":5,"Mp4":600},"Format":["FLV"]}'),
    "odall":  (200, '{"ApiVersion":"1.0","NeedRecord":true}'),
    "odall2": (200, '{"NeedRecord":true,"Format":["mp4","flv","avi"]}'),
    "odno":   (200, '{"ApiVersion":"1.0","NeedRecord":false,"Format":["flv"]}'),
    "odnone": (200, '{"NeedRecord":true,"Format":["m3u8"]}'),
    "oderr":  (500, '{"NeedRecord":true}'),
    "odbig":  (200, '{"NeedRecord":true,"Pad":"' + "x" * 10240 + '"}'),
    "odbad":  (200, '{"NeedRecord":"yes"}'),
}
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    def log_message(self, *a):
        pass
    def reply(self, code, body):
        body = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        path, _, q = self.path.partition("?")
        p = urllib.parse.parse_qs(q, keep_blank_values=True)
        rec = {"t": time.time(), "path": path, "q": q, "p": p,
               "h": {k.lower(): v for k, v in self.headers.items()}}
        with lock, open(odlog, "a") as f:
            f.write(json.dumps(rec) + "\n")
        code, body = REPLIES.get(p.get("stream", [""])[-1], (404, "{}"))
        self.reply(code, body)
    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(n, 65536)).decode("utf-8", "replace")
        rec = {"t": time.time(), "path": self.path, "body": body,
               "h": {k.lower(): v for k, v in self.headers.items()}}
        with lock, open(cblog, "a") as f:
            f.write(json.dumps(rec) + "\n")
        self.reply(200, "{}")
class S(http.server.ThreadingHTTPServer):
    daemon_threads = True
srv = S(("127.0.0.1", 0), H)
with open(port_file + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.rename(port_file + ".tmp", port_file)
srv.serve_forever()
PY

# q.py CMD ARGS: questions about the requests, the callbacks and the files.
cat >"$LE_DIR/q.py" <<'PY'
import glob, hashlib, json, os, re, subprocess, sys
odlog, cblog, root, cmd, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
def load(fn):
    out = []
    try:
        with open(fn) as f:
            for line in f:
                if line.strip():
                    out.append(json.loads(line))
    except FileNotFoundError:
        pass
    return out
ods, cbs = load(odlog), load(cblog)
for c in cbs:
    try:
        c["j"] = json.loads(c["body"])
    except Exception:
        c["j"] = {}
def files(stream, ext):
    return sorted(p for p in glob.glob(os.path.join(root, "**", "*." + ext), recursive=True)
                  if ("/%s/" % stream) in p and not p.endswith(".tmp"))
def of(stream, kind=None):
    r = [c for c in cbs if c["j"].get("stream") == stream]
    if kind == "file":
        r = [c for c in r if "uri" in c["j"]]
    elif kind:
        r = [c for c in r if c["j"].get("event") == kind]
    return r
def probe(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path],
                         capture_output=True, text=True, timeout=60).stdout.strip()
    try:
        return float(out)
    except ValueError:
        return -1.0
if cmd == "asks":                 # asks STREAM: requests for it
    print(sum(1 for r in ods if r["p"].get("stream", [""])[-1] == args[0]))
elif cmd == "query":              # query STREAM DOMAIN APP: "ok" or why not
    m = [r for r in ods if r["p"].get("stream", [""])[-1] == args[0]]
    if not m:
        print("no request"); sys.exit()
    p = m[0]["p"]
    want = {"domain": args[1], "app": args[2], "stream": args[0], "codec": "h264", "k": "v"}
    bad = ["%s=%r" % (k, p.get(k)) for k, v in want.items() if p.get(k) != [v]]
    vb = (p.get("vbitrate") or [""])[-1]
    if not re.fullmatch(r"[0-9]+", vb) or not 600 <= int(vb) <= 1000:
        bad.append("vbitrate=%r (want about 800)" % p.get("vbitrate"))
    if m[0]["path"] != "/od":
        bad.append("path " + m[0]["path"])
    print("ok" if not bad else " ".join(bad))
elif cmd == "nfiles":             # nfiles STREAM EXT
    print(len(files(args[0], args[1])))
elif cmd == "durations":          # durations STREAM EXT: ffprobe durations, 1 decimal
    print(" ".join("%.1f" % probe(p) for p in files(args[0], args[1])))
elif cmd == "ncb":                # ncb STREAM [file|EVENT]
    print(len(of(args[0], args[1] if len(args) > 1 else None)))
elif cmd == "events":             # events STREAM: the status events in order
    print(" ".join(c["j"]["event"] for c in of(args[0]) if "event" in c["j"]))
elif cmd == "filecbs":            # filecbs STREAM DOMAIN APP BUCKETDIR T0 T1: "ok" or the problems
    stream, domain, app, bdir, t0, t1 = args[0], args[1], args[2], args[3], int(args[4]), int(args[5])
    bad = []
    uris = []
    for c in of(stream, "file"):
        j, body = c["j"], c["body"]
        if sorted(j) != sorted(["domain", "app", "stream", "uri", "duration", "start_time", "stop_time"]):
            bad.append("keys %s" % sorted(j))
        if j.get("domain") != domain or j.get("app") != app:
            bad.append("domain/app %r/%r" % (j.get("domain"), j.get("app")))
        if not re.search(r'"duration":\s*[0-9]+\.[0-9]{3}[,}]', body):
            bad.append("duration not 3 decimals: " + body)
        if not isinstance(j.get("start_time"), int) or not isinstance(j.get("stop_time"), int):
            bad.append("times not integers: " + body); continue
        if c["h"].get("content-type", "").split(";")[0] != "application/json":
            bad.append("content-type %r" % c["h"].get("content-type"))
        uri = j.get("uri", "")
        uris.append(uri)
        path = os.path.join(bdir, uri)
        if uri.startswith("/") or not os.path.isfile(path):
            bad.append("uri %s: no such file under the bucket" % uri); continue
        d = probe(path)
        if abs(d - j["duration"]) > 0.5:
            bad.append("%s: duration %s, ffprobe %.3f" % (uri, j["duration"], d))
        span = j["stop_time"] - j["start_time"]
        if span < 0 or abs(span - j["duration"]) > 2:
            bad.append("%s: stop-start %d vs duration %s" % (uri, span, j["duration"]))
        if j["start_time"] < t0 - 2 or j["stop_time"] > t1 + 2:
            bad.append("%s: times %d..%d outside %d..%d" % (uri, j["start_time"], j["stop_time"], t0, t1))
    if len(set(uris)) != len(uris):
        bad.append("duplicate uris %s" % uris)
    ondisk = sorted(os.path.relpath(p, bdir) for e in ("flv", "mp4", "m3u8")
                    for p in files(stream, e))
    if sorted(uris) != ondisk:
        bad.append("callbacks %s, files %s" % (sorted(uris), ondisk))
    print("ok" if not bad else "; ".join(bad))
elif cmd == "sigcheck":           # sigcheck STREAM DOMAIN KEY: every callback of STREAM signed
    m = of(args[0])
    if not m:
        print("no callback"); sys.exit()
    for c in m:
        h = c["h"]
        ts, sig = h.get("ali-live-timestamp"), h.get("ali-live-signature")
        if not ts or not sig:
            print("headers missing: %r" % sorted(h)); sys.exit()
        want = hashlib.md5(("%s|%s|%s" % (args[1], ts, args[2])).encode()).hexdigest()
        if sig != want or abs(int(ts) - c["t"]) > 30:
            print("signature %s ts %s, want %s" % (sig, ts, want)); sys.exit()
    print("ok")
PY

ODLOG=$LE_DIR/ondemand.jsonl
CBLOG=$LE_DIR/callbacks.jsonl
ROOT=$LE_DIR/rec
BDIR=$ROOT/bkt
q() { "$LE_PY" "$LE_DIR/q.py" "$ODLOG" "$CBLOG" "$ROOT" "$@"; }
# cbs_ge STREAM N: at least N file callbacks for STREAM, and as many as its
# files on disk (a wait condition).
cbs_ge() {
    local n f
    n=$(q ncb "$1" file)
    f=$(( $(q nfiles "$1" flv) + $(q nfiles "$1" mp4) ))
    [ "$n" -ge "$2" ] && [ "$n" -ge "$f" ]
}

le_bg SRV_PID "$LE_PY" "$LE_DIR/srv.py" "$LE_DIR/srvport" "$ODLOG" "$CBLOG"
le_wait_for 10 test -s "$LE_DIR/srvport" || le_abort "the test HTTP server did not start"
SP=$(cat "$LE_DIR/srvport")

mkdir -p "$ROOT"
LE_EXTRA_CONF="record_root $ROOT;
record_min_free 0;
record_stitch 1s;"
LE_DOMAIN_CONF='    notify_auth_key "rk1";'
LE_WAIT_PORTS="rtmp http admin"
le_start || le_abort "livedge did not start"

api AddLiveRecordNotifyConfig "DomainName=$LE_DOMAIN" "NotifyUrl=http://127.0.0.1:$SP/cb" \
    "OnDemandUrl=http://127.0.0.1:$SP/od?k=v" "NeedStatusNotify=true"
ok $? "AddLiveRecordNotifyConfig with OnDemandUrl and NeedStatusNotify=true ($API_CODE)" || diag "$API_BODY"
REC=("DomainName=$LE_DOMAIN" "OssEndpoint=oss-test.example.com" "OssBucket=bkt"
     "RecordFormat.1.Format=flv" "RecordFormat.1.CycleDuration=3600"
     "RecordFormat.2.Format=mp4" "RecordFormat.2.CycleDuration=3600")
api AddLiveAppRecordConfig "${REC[@]}" "AppName=live" "OnDemand=1"
ok $? "AddLiveAppRecordConfig live, flv + mp4, OnDemand=1 ($API_CODE)" || diag "$API_BODY"
api AddLiveAppRecordConfig "${REC[@]}" "AppName=arg" "OnDemand=2"
ok $? "AddLiveAppRecordConfig arg, flv + mp4, OnDemand=2 ($API_CODE)" || diag "$API_BODY"

# ---- phase 1: OnDemand 1 with status events ---------------------------------
T0=$(date +%s)
# A set video bitrate puts codec and videodatarate in onMetaData, so the
# query goes out as soon as the metadata arrives, whatever the load.
BR=(-b:v 800k -maxrate 800k -bufsize 800k)
PIDS=()
for s in odflv odall odno odnone oderr odbig odbad; do
    LE_PUB_SECS=13 le_publish "$s" "${BR[@]}"
    PIDS+=("$LE_PUB_PID")
done
# OnDemand 2: the publish argument
LE_APP=arg LE_PUB_SECS=8 le_publish "argon?record=ON"
PIDS+=("$LE_PUB_PID")
LE_APP=arg LE_PUB_SECS=8 le_publish "argoff?record=off"
PIDS+=("$LE_PUB_PID")
for p in "${PIDS[@]}"; do le_wait_exit "$p" 40 || le_kill "$p"; done
T1=$(date +%s)

# the queries
for s in odflv odall odno odnone oderr odbig odbad; do
    is "$(q asks "$s")" 1 "$s: one OnDemandUrl request"
    is "$(q query "$s" "$LE_DOMAIN" live)" ok "$s: query domain, app, stream, codec=h264, vbitrate about 800 (kbit/s), the URL's own k=v"
done
is "$(q asks argon)$(q asks argoff)" 00 "OnDemand 2: no OnDemandUrl request"

# the files and their callbacks
le_wait_for 30 cbs_ge odall 2
le_wait_for 20 cbs_ge odflv 2
le_wait_for 20 cbs_ge argon 2
sleep 1
n=$(q nfiles odflv flv)
cmp_ok "$n" -ge 2 "odflv: Interval.Flv 5 overrides CycleDuration 3600: several flv files ($n)"
is "$(q nfiles odflv mp4)" 0 "odflv: Format [FLV] intersected with flv+mp4: no mp4"
durs=$(q durations odflv flv)
like "$durs" '^([4-6]\.[0-9] )+[0-9.]+$' "odflv: every flv file but the last lasts about 5 s ($durs)"
is "$(q nfiles odall flv) $(q nfiles odall mp4)" "1 1" "odall: no Format/Interval: one flv and one mp4 (CycleDuration 3600)"
for s in odno odnone oderr odbig odbad argoff; do
    is "$(q nfiles "$s" flv) $(q nfiles "$s" mp4) $(q ncb "$s")" "0 0 0" "$s: not recorded, no callback"
done
is "$(q nfiles argon flv) $(q nfiles argon mp4)" "1 1" "OnDemand 2: record=ON records flv + mp4"

is "$(q filecbs odflv "$LE_DOMAIN" live "$BDIR" "$T0" "$T1")" ok "odflv: one callback per file, fields exact"
is "$(q filecbs odall "$LE_DOMAIN" live "$BDIR" "$T0" "$T1")" ok "odall: one callback per file, fields exact"
is "$(q filecbs argon "$LE_DOMAIN" arg "$BDIR" "$T0" "$T1")" ok "argon: one callback per file, fields exact"
# the publisher left: the task waits record_stitch for it (record_paused)
is "$(q events odflv)" "record_started record_paused" "odflv: record_started, record_paused (NeedStatusNotify=true)"
is "$(q events odall)" "record_started record_paused" "odall: record_started, record_paused"
is "$(q sigcheck odall "$LE_DOMAIN" rk1)" ok "callbacks signed: ALI-LIVE-SIGNATURE md5(domain|timestamp|notify_auth_key)"

# ---- phase 2: NeedStatusNotify false ------------------------------------------
api DeleteLiveRecordNotifyConfig "DomainName=$LE_DOMAIN"
ok $? "DeleteLiveRecordNotifyConfig ($API_CODE)" || diag "$API_BODY"
api AddLiveRecordNotifyConfig "DomainName=$LE_DOMAIN" "NotifyUrl=http://127.0.0.1:$SP/cb" \
    "OnDemandUrl=http://127.0.0.1:$SP/od?k=v"
ok $? "AddLiveRecordNotifyConfig without NeedStatusNotify ($API_CODE)" || diag "$API_BODY"
T2=$(date +%s)
LE_PUB_SECS=6 le_publish odall2 "${BR[@]}"
le_wait_exit "$LE_PUB_PID" 30 || le_kill "$LE_PUB_PID"
T3=$(date +%s)
le_wait_for 30 cbs_ge odall2 2
sleep 1
is "$(q asks odall2)" 1 "odall2: one OnDemandUrl request"
is "$(q nfiles odall2 flv) $(q nfiles odall2 mp4)" "1 1" "odall2: Format mp4, flv, avi: flv + mp4"
is "$(q filecbs odall2 "$LE_DOMAIN" live "$BDIR" "$T2" "$T3")" ok "odall2: one callback per file, fields exact"
is "$(q events odall2)" "" "odall2: no status events (NeedStatusNotify false)"

le_stop
kill "$SRV_PID" 2>/dev/null
done_testing
