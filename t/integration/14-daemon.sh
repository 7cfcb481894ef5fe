#!/bin/sh
# 14-daemon: the process contract (livedge.8): -V, -t, SIGHUP reload without
# dropping connections, SIGTERM within 10 s, and the systemd notify protocol
# (READY/RELOADING/STOPPING/WATCHDOG) on a NOTIFY_SOCKET we listen on; the
# open-file limit: the soft limit raised to the hard one at start, a warning
# when max_connections does not fit, and out of descriptors the accept loop
# pauses (low CPU, few log lines) and accepts again once some are free.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
# shellcheck source=t/integration/lib.sh
. "$(dirname "$0")/lib.sh"

le_require_daemon
le_require_tool ffmpeg ffprobe rtmpdump python3

# ---- -V and -t -------------------------------------------------------------------
out=$(timeout 10 "$LE_BIN" -V 2>&1); rc=$?
is "$rc" 0 "livedge -V exits 0"
like "$out" '[0-9]+\.[0-9]+(\.[0-9]+)?' "livedge -V prints a version ($(head -n 1 <<<"$out"))"

cat >"$LE_DIR/good.conf" <<CONF
# a valid file
rtmp_listen    127.0.0.1:1935;
http_listen    127.0.0.1:8080;
data_dir       $LE_DIR/check-data;
redis          127.0.0.1:6379;
default_domain live.test;
domain live.test {
    hls_fragment 1s;   # comment
    hls_window   6;
}
CONF
out=$(timeout 10 "$LE_BIN" -t -c "$LE_DIR/good.conf" 2>&1); rc=$?
is "$rc" 0 "livedge -t on a valid file exits 0" || diag "$out"

# check_bad NAME LINE TEXT: -t on TEXT exits 1 with a message naming LINE.
check_bad() {
    local f=$LE_DIR/bad-${1// /-}.conf
    printf '%s\n' "$3" >"$f"
    out=$(timeout 10 "$LE_BIN" -t -c "$f" 2>&1); rc=$?
    is "$rc" 1 "livedge -t on a file with $1 exits 1" || diag "$out"
    like "$out" "(line $2|:$2)([^0-9]|\$)" "... and names line $2 ($(head -n 1 <<<"$out"))"
}
check_bad "an unknown key" 4 "rtmp_listen 127.0.0.1:1935;
data_dir $LE_DIR/check-data;

no_such_key on;
default_domain live.test;"
check_bad "a bad value in a domain block" 7 "rtmp_listen 127.0.0.1:1935;
data_dir $LE_DIR/check-data;
default_domain live.test;
# comment

domain live.test {
    hls_window lots;
}"
check_bad "a missing semicolon" 2 "rtmp_listen 127.0.0.1:1935;
log_level debug
default_domain live.test;"
out=$(timeout 10 "$LE_BIN" -t -c "$LE_DIR/no-such-file.conf" 2>&1); rc=$?
is "$rc" 1 "livedge -t on a missing file exits 1" || diag "$out"
like "$out" 'no-such-file\.conf' "... and names the file ($(head -n 1 <<<"$out"))"

# ---- a node under a fake systemd -----------------------------------------------------
read -r rtmp http admin <<<"$(le_free_port 3)"
LE_FIXED_PORTS="$rtmp $http $admin"
cat >"$LE_DIR/notify.py" <<'PY'
# notify.py SOCKET OUT PORT...: records each sd_notify line as "MS LINE";
# on READY=1 it also records whether PORT... accepted connections just then.
import socket, sys, time
path, out, ports = sys.argv[1], sys.argv[2], sys.argv[3:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
f = open(out, "a", buffering=1)
while True:
    d = s.recv(65536)
    for line in d.decode("utf-8", "replace").split("\n"):
        if not line:
            continue
        extra = ""
        if line == "READY=1":
            st = []
            for p in ports:
                c = socket.socket()
                c.settimeout(1)
                try:
                    c.connect(("127.0.0.1", int(p)))
                    st.append("up")
                except OSError:
                    st.append("down")
                c.close()
            extra = " ports=" + ",".join(st)
        f.write("%d %s%s\n" % (time.monotonic() * 1000, line, extra))
PY
NOTIFY=$LE_DIR/notify.log
: >"$NOTIFY"
le_bg listener "$LE_PY" "$LE_DIR/notify.py" "$LE_DIR/notify.sock" "$NOTIFY" "$rtmp" "$http"
le_wait_for 15 test -S "$LE_DIR/notify.sock" || le_abort "the notify listener did not start"
LE_DAEMON_ENV="NOTIFY_SOCKET=$LE_DIR/notify.sock WATCHDOG_USEC=2000000"
le_start || le_abort "livedge did not start"

notified() { grep -q -- "$1" "$NOTIFY"; }
le_wait_for 5 notified ' READY=1'
ok $? "sd_notify: READY=1 arrives" || diag "$(cat "$NOTIFY")"
like "$(grep -m1 ' READY=1' "$NOTIFY")" 'ports=up,up$' "sd_notify: READY=1 only once the RTMP and HTTP ports accept"
# sd_watchdog_enabled(3): send WATCHDOG=1 every half of WATCHDOG_USEC, so a
# late tick never lets systemd's deadline pass. Allow 1.5 s for 1 s.
sleep 4.5
gaps=$(awk '$2 == "WATCHDOG=1" { if (p != "") print $1 - p; p = $1 }' "$NOTIFY")
cmp_ok "$(grep -c . <<<"$gaps")" -ge 2 "sd_notify: WATCHDOG=1 repeats with WATCHDOG_USEC=2000000"
maxgap=$(sort -n <<<"$gaps" | tail -n 1)
cmp_ok "${maxgap:-0}" -le 1500 "sd_notify: WATCHDOG=1 at least every 1.5 s (half of WATCHDOG_USEC; largest gap ${maxgap:-?} ms)"

le_publish_and_play hup 120 "$LE_DIR/player.flv"
pub=$LE_PUB_PID
player=$LE_PLAYER_PID

# ---- SIGHUP: a changed setting applies, connections stay -----------------------------
unlike "$(cat "$LE_LOG")" '^[^ ]+ debug ' "no debug lines at log_level info"
LE_LOG_LEVEL=debug le_write_conf "$LE_CONF"
mark=$(le_log_lines); nmark=$(wc -l <"$NOTIFY")
kill -HUP "$LE_PID"
reloaded() { tail -n +"$((nmark + 1))" "$NOTIFY" | grep -q ' READY=1'; }
le_wait_for 5 reloaded
seq=$(tail -n +"$((nmark + 1))" "$NOTIFY" | grep -E ' (RELOADING|READY)=1' | awk '{print $2}' | tr '\n' ' ')
like "$seq" '^RELOADING=1 READY=1' "sd_notify: RELOADING=1 then READY=1 around SIGHUP" || diag "$(cat "$NOTIFY")"
line=$(le_wait_log '^[^ ]+ debug ' 5 "$mark")
ok $? "SIGHUP applies log_level debug (debug lines appear)" && diag "$line"
le_grows "$LE_DIR/player.flv" 20000 5
ok $? "the player keeps receiving after SIGHUP"
le_alive "$player"; ok $? "the player is still connected after SIGHUP"
le_alive "$pub"; ok $? "the publisher is still connected after SIGHUP"

# A reload with a broken file keeps the running configuration.
printf 'rtmp_listen 127.0.0.1:%s;\nno_such_key 1;\n' "$rtmp" >"$LE_CONF"
mark=$(le_log_lines)
kill -HUP "$LE_PID"
line=$(le_wait_log '(line 2|:2)([^0-9]|$)' 5 "$mark")
ok $? "a reload with a broken file logs the error and its line" && diag "$line"
mark=$(le_log_lines)
le_wait_log '^[^ ]+ debug ' 5 "$mark" >/dev/null
ok $? "... and keeps the running configuration (log_level debug: debug lines go on)"
sleep 1
le_alive_ok "livedge keeps running after a failed reload"
le_grows "$LE_DIR/player.flv" 20000 5
ok $? "the player keeps receiving after a failed reload"

# ---- SIGTERM -------------------------------------------------------------------------------
nmark=$(wc -l <"$NOTIFY")
le_stop
tail -n +"$((nmark + 1))" "$NOTIFY" | grep -q ' STOPPING=1'
ok $? "sd_notify: STOPPING=1 on SIGTERM" || diag "$(tail -n 5 "$NOTIFY")"
le_wait_exit "$pub" 5; ok $? "the publisher was disconnected at shutdown"
le_wait_exit "$player" 5; ok $? "the player was disconnected at shutdown"
for p in "$rtmp" "$http" "$admin"; do
    le_port_free "$p"; ok $? "port $p is released after exit"
done

# ---- open-file limit ------------------------------------------------------------------------
# The daemon runs under a wrapper that sets the limit first (same pid: exec).
REAL_BIN=$LE_BIN
printf '#!/bin/sh\nulimit %s -n %s || exit 99\nexec "%s" "$@"\n' -S 64 "$REAL_BIN" >"$LE_DIR/soft64.sh"
printf '#!/bin/sh\nulimit -n %s || exit 99\nexec "%s" "$@"\n' 64 "$REAL_BIN" >"$LE_DIR/hard64.sh"
chmod +x "$LE_DIR/soft64.sh" "$LE_DIR/hard64.sh"
LE_DAEMON_ENV=""
LE_EXTRA_CONF=""

LE_BIN=$LE_DIR/soft64.sh
le_start || le_abort "livedge (soft open-file limit 64) did not start"
soft=$(awk '/^Max open files/ {print $4}' "/proc/$LE_PID/limits")
hard=$(awk '/^Max open files/ {print $5}' "/proc/$LE_PID/limits")
is "$soft" "$hard" "a soft open-file limit of 64 is raised to the hard limit ($hard) at start"
le_stop

LE_BIN=$LE_DIR/hard64.sh
le_start || le_abort "livedge (open-file limit 64) did not start"
LE_BIN=$REAL_BIN
grep -q 'open-file limit 64 is below max_connections' "$LE_LOG"
ok $? "start-up warns that max_connections does not fit an open-file limit of 64"
cat >"$LE_DIR/fds.py" <<'PY'
# fds.py PORT PID N SECS: opens N idle connections (more than the node has
# descriptors for), then measures the node's CPU time (ticks) over SECS while
# they stay open. Prints "TICKS OPENED"; closes them on exit.
import os, socket, sys, time
port, pid, n, secs = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
def ticks():
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])  # utime + stime
socks = []
for i in range(n):
    try:
        socks.append(socket.create_connection(("127.0.0.1", port), timeout=2))
    except OSError:
        break
time.sleep(0.5)
t0 = ticks()
time.sleep(secs)
print(ticks() - t0, len(socks))
PY
mark=$(le_log_lines)
read -r ticks opened <<<"$(timeout 60 "$LE_PY" "$LE_DIR/fds.py" "$LE_HTTP_PORT" "$LE_PID" 120 4)"
hz=$(getconf CLK_TCK)
cmp_ok "${ticks:-99999}" -le $(( hz * 4 / 8 )) "out of descriptors ($opened connections open, limit 64): the node used ${ticks:-?} ticks of CPU in 4 s (bound: an eighth of the time; spinning took a third or more)"
naccept=$(tail -n +"$((mark + 1))" "$LE_LOG" | grep -c 'accept:')
cmp_ok "$naccept" -le 3 "... and logged $naccept accept warning line(s) (rate-limited)"
like "$(tail -n +"$((mark + 1))" "$LE_LOG" | grep -m1 'accept:')" 'paused' "... saying that accepting is paused"
http_ok() { [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$LE_HTTP_PORT/live/none.flv")" = 404 ]; }
le_wait_for 10 http_ok
ok $? "once the clients are gone, a new HTTP request is accepted and answered"
le_alive_ok "livedge still running"
le_stop
done_testing
