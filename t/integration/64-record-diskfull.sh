#!/bin/sh
# 64-record-diskfull: record_root on a small tmpfs that fills during an FLV
# recording (docs/RECORD.md, "Tasks"): HTTP-FLV playback goes on, the log
# says why the recording paused, livedge_record_paused is 1 and the
# record_paused callback is sent (NeedStatusNotify); once space is freed the
# recording resumes by itself (a new file, record_resumed, paused 0).
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
: "${LE_SCRIPT_TIMEOUT:=150}"
# shellcheck source=t/integration/lib.sh
. "$(dirname "$0")/lib.sh"

le_require_daemon
le_require_tool ffmpeg ffprobe python3 curl redis-server redis-cli

PFX="letest$$:"
D=$LE_DOMAIN
ROOT=$LE_DIR/recfs
LE_WAIT_PORTS="rtmp http admin"
metric() {
    curl -s --max-time 5 "http://127.0.0.1:$LE_ADMIN_PORT/metrics" | awk -v k="$1" '$1 == k {print $2; exit}'
}
nfiles() { find "$ROOT/fb" -name '*.flv' 2>/dev/null | wc -l; }

# Mounting needs privileges (CI runs as root); elsewhere the test is skipped.
mkdir -p "$ROOT"
mounted=""
if mount_err=$(mount -t tmpfs -o size=8m tmpfs "$ROOT" 2>&1); then mounted=1; fi
fs_cleanup() {
    local rc=$?
    if [ -n "$mounted" ]; then
        # shellcheck disable=SC2086
        le_kill $LE_BG_PIDS >/dev/null 2>&1
        umount "$ROOT" 2>/dev/null || umount -l "$ROOT" 2>/dev/null
    fi
    (exit $rc); le__cleanup
}
trap fs_cleanup EXIT
[ -n "$mounted" ] || le_skip_all "mount -t tmpfs refused ($mount_err)"

# Callbacks: every POST body, one JSON line each.
CBLOG=$LE_DIR/cb.log
cat >"$LE_DIR/cb.py" <<'PY'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        b = self.rfile.read(n).decode("utf-8", "replace").replace("\n", " ")
        with open(sys.argv[2], "a") as f:
            f.write(b + "\n")
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write(str(s.server_address[1]))
s.serve_forever()
PY
: >"$CBLOG"
le_bg CB_PID python3 "$LE_DIR/cb.py" "$LE_DIR/cbport" "$CBLOG"
le_wait_for 5 test -s "$LE_DIR/cbport" || le_abort "callback server did not start"
CBPORT=$(cat "$LE_DIR/cbport")
events() { grep -o '"event" *: *"[a-z_]*"' "$CBLOG" | sed 's/.*"\([a-z_]*\)"$/\1/' | tr '\n' ' '; }
has_event() { grep -q "\"$1\"" "$CBLOG"; }

le_start_redis || le_abort "redis did not start"
redis-cli -p "$LE_REDIS_PORT" HSET "${PFX}reccfg:$D" "live/" '{"DomainName":"'"$D"'","AppName":"live","StreamName":"","OssBucket":"fb","OnDemand":0,
"RecordFormatList":{"RecordFormat":[{"Format":"flv","CycleDuration":600}]}}' >/dev/null
redis-cli -p "$LE_REDIS_PORT" SET "${PFX}recnotify:$D" '{"DomainName":"'"$D"'","NotifyUrl":"http://127.0.0.1:'"$CBPORT"'/rec","OnDemandUrl":"","NeedStatusNotify":true}' >/dev/null
# About 2 MiB free for the recording, of which record_min_free keeps 512 KiB.
dd if=/dev/zero of="$ROOT/filler" bs=64k count=96 2>/dev/null
LE_EXTRA_CONF="record_root $ROOT;
record_min_free 512k;
record_stitch 1s;"
le_start || le_abort "livedge did not start"

LE_PUB_SECS=60 le_publish full -b:v 2000k
le_wait_publishing "$LE_PUB_PROGRESS" 15
ok $? "publishing live/full (2 Mbit/s)" || diag "$(cat "$LE_PUB_LOG")"
le_wait_for 5 has_event record_started
ok $? "record_started callback"
paused() { [ "$(metric livedge_record_paused)" = 1 ]; }
le_wait_for 30 paused
ok $? "the disk fills: livedge_record_paused 1"
line=$(le_wait_log 'live/full: flv recording paused: .+' 5)
ok $? "the log says why" && diag "$line"
le_wait_for 5 has_event record_paused
ok $? "record_paused callback"
diag "tmpfs: $(df -k "$ROOT" | tail -1)"
is "$(find "$ROOT" -name '*.tmp' | wc -l)" 0 "the file cut by the full disk was finished (no .tmp)"
before=$(nfiles)
cmp_ok "$before" -ge 1 "the first file was kept ($before)"

curl -s --max-time 4 -o "$LE_DIR/live.flv" "http://127.0.0.1:$LE_HTTP_PORT/live/full.flv"
cmp_ok "$(le_file_size "$LE_DIR/live.flv")" -gt 200000 "HTTP-FLV playback goes on with the disk full"
le_alive_ok "livedge still running"
sleep 2
is "$(nfiles)" "$before" "nothing new is written while paused"

rm -f "$ROOT/filler"
more() { [ "$(nfiles)" -gt "$before" ] || [ -n "$(find "$ROOT/fb" -name '*.flv.tmp' 2>/dev/null)" ]; }
le_wait_for 10 more
ok $? "space freed: a new file starts by itself"
not_paused() { [ "$(metric livedge_record_paused)" = 0 ]; }
le_wait_for 5 not_paused
ok $? "livedge_record_paused 0"
le_wait_for 5 has_event record_resumed
ok $? "record_resumed callback"
is "$(events)" "record_started record_paused record_resumed " "status callbacks in order"
cmp_ok "$(metric livedge_record_pauses_total)" -eq 1 "livedge_record_pauses_total 1"
le_kill "$LE_PUB_PID"
le_wait_log 'live/full: recording ended' 10 >/dev/null
ok $? "the task ends with the publish"
le_stop
done_testing
