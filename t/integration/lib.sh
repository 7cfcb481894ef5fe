# t/integration/lib.sh: the harness every integration script sources.
#
# Scripts run under bash (automake's SH_LOG_COMPILER is /bin/sh, so each script
# re-execs itself with bash first) and print TAP for build-aux/tap-driver.sh:
#   ok N - desc / not ok N - desc / a trailing plan 1..N / "1..0 # SKIP why".
# Every script starts its own livedge (and its own redis-server) on free
# loopback ports, in a private directory under ${TMPDIR:-/tmp} that is removed
# when all tests passed and kept (with a diag naming it) when one failed.
# Every process a script starts is killed on exit, whatever happens. Every
# wait is bounded in time. Network: 127.0.0.1 only.
#
# Usage, in a script:
#   [ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
#   . "$(dirname "$0")/lib.sh"
#   le_require_daemon; le_require_tool ffmpeg ffprobe rtmpdump python3
#   le_start || le_abort "livedge did not start"
#   le_publish cam1; le_wait_publishing "$LE_PUB_PROGRESS" 15
#   ... ok/is/like/cmp_ok ...
#   le_stop
#   done_testing

# ---- locations ------------------------------------------------------------

LE_T_SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${top_srcdir:=$(cd "$LE_T_SRCDIR/../.." && pwd)}"
if [ -z "${top_builddir:-}" ]; then
    # Run by hand: prefer an in-tree build, then the usual build dirs.
    top_builddir=$top_srcdir
    for d in "$top_srcdir" "$top_srcdir/build" "$top_srcdir/build-tests"; do
        if [ -x "$d/src/livedge" ]; then top_builddir=$d; break; fi
    done
fi
LE_BIN=${LE_BIN:-$top_builddir/src/livedge}
# The system python3 first: a version-manager shim on PATH (pyenv) can take
# seconds to start on a loaded machine, and every port pick runs python.
if [ -z "${LE_PY:-}" ]; then
    if [ -x /usr/bin/python3 ]; then LE_PY=/usr/bin/python3; else LE_PY=python3; fi
fi
LE_NAME=$(basename "$0" .sh)
export top_srcdir top_builddir

LE_DIR=$(mktemp -d "${TMPDIR:-/tmp}/le-${LE_NAME%%-*}.XXXXXX") || {
    echo "Bail out! cannot create a temp dir"; exit 1; }
export LE_DIR

# ---- TAP --------------------------------------------------------------------

LE_T_NUM=0          # tests run so far
LE_T_FAILED=0       # of which failed
LE_T_PLANNED=""     # set by plan, else done_testing prints the plan
LE_T_HEADER_DONE="" # something was printed: a whole-file skip is no longer possible

plan() { LE_T_PLANNED=$1; LE_T_HEADER_DONE=1; echo "1..$1"; }

diag() {
    local line
    while IFS= read -r line; do printf '# %s\n' "$line"; done <<<"$*"
}

# ok RC DESC: passes when RC is 0 (pass "$?" after a command or a [ ] test).
ok() {
    local rc=$1; shift
    LE_T_NUM=$((LE_T_NUM + 1)); LE_T_HEADER_DONE=1
    if [ "$rc" = 0 ]; then
        echo "ok $LE_T_NUM - $*"
    else
        LE_T_FAILED=$((LE_T_FAILED + 1))
        echo "not ok $LE_T_NUM - $*"
    fi
    [ "$rc" = 0 ]
}

# is GOT WANT DESC: string equality.
is() {
    local got=$1 want=$2; shift 2
    if [ "$got" = "$want" ]; then ok 0 "$*"; else
        ok 1 "$*"; diag "  got:      '$got'"; diag "  expected: '$want'"; return 1; fi
}

# like GOT ERE DESC: GOT matches the extended regular expression.
like() {
    local got=$1 re=$2; shift 2
    if printf '%s\n' "$got" | grep -Eq -- "$re"; then ok 0 "$*"; else
        ok 1 "$*"; diag "  got:  '$(printf '%s' "$got" | head -c 600)'"; diag "  want: /$re/"; return 1; fi
}

# unlike GOT ERE DESC: GOT does not match.
unlike() {
    local got=$1 re=$2; shift 2
    if ! printf '%s\n' "$got" | grep -Eq -- "$re"; then ok 0 "$*"; else
        ok 1 "$*"; diag "  matched /$re/:"; diag "$(printf '%s\n' "$got" | grep -E -- "$re" | head -5)"; return 1; fi
}

# cmp_ok A OP B DESC: integer comparison, OP one of -eq -ne -lt -le -gt -ge.
cmp_ok() {
    local a=$1 op=$2 b=$3; shift 3
    case $a in ''|*[!0-9-]*) ok 1 "$*"; diag "  not a number: '$a'"; return 1;; esac
    if test "$a" "$op" "$b"; then ok 0 "$*"; else
        ok 1 "$*"; diag "  $a $op $b is false"; return 1; fi
}

# skip N REASON: N skipped tests.
skip() {
    local n=$1 i; shift
    for ((i = 0; i < n; i++)); do
        LE_T_NUM=$((LE_T_NUM + 1)); LE_T_HEADER_DONE=1
        echo "ok $LE_T_NUM # SKIP $*"
    done
}

# done_testing: prints the trailing plan (`done` is a shell keyword).
done_testing() {
    if [ -z "$LE_T_PLANNED" ]; then
        echo "1..$LE_T_NUM"; LE_T_PLANNED=$LE_T_NUM
    elif [ "$LE_T_PLANNED" != "$LE_T_NUM" ]; then
        diag "planned $LE_T_PLANNED tests but ran $LE_T_NUM"
    fi
}

# le_abort MSG: a failed test with MSG, the plan, and exit (cleanup runs).
le_abort() {
    ok 1 "$*"
    le__dump_log
    done_testing
    exit 0
}

# le_skip_all REASON: the whole script is skipped (only before any output).
le_skip_all() {
    LE_T_PLANNED=0
    echo "1..0 # SKIP $*"
    exit 0
}

# le_missing REASON: a missing prerequisite skips the whole script on a
# developer's machine and fails it in CI (CI=true).
le_missing() {
    if [ "${CI:-}" = true ]; then
        if [ -n "$LE_T_HEADER_DONE" ]; then le_abort "$* (CI=true: a missing prerequisite is a failure)"; fi
        echo "1..1"; LE_T_PLANNED=1; LE_T_NUM=1; LE_T_FAILED=1
        echo "not ok 1 - $* (CI=true: a missing prerequisite is a failure)"
        exit 0
    fi
    if [ -n "$LE_T_HEADER_DONE" ]; then
        skip 1 "$*"; done_testing; exit 0
    fi
    le_skip_all "$*"
}

le_require_tool() {
    local t
    for t in "$@"; do
        command -v "$t" >/dev/null 2>&1 || le_missing "required tool '$t' not found"
    done
    # rtmpdump, ffmpeg and redis-server are useless without these: check once.
    for t in "$@"; do
        case $t in
        ffmpeg)
            ffmpeg -hide_banner -encoders 2>/dev/null | grep -q ' libx264 ' ||
                le_missing "ffmpeg has no libx264 encoder" ;;
        esac
    done
    command -v timeout >/dev/null 2>&1 || le_missing "required tool 'timeout' (coreutils) not found"
}

le_require_daemon() {
    [ -x "$LE_BIN" ] || le_missing "livedge binary not built at $LE_BIN"
}

# ---- time, processes ----------------------------------------------------------

le_now_ms() { local t; t=$(date +%s%N); echo $((t / 1000000)); }

# le_alive PID: running and not a zombie.
le_alive() {
    local st
    [ -r "/proc/$1/stat" ] || return 1
    read -r st <"/proc/$1/stat" 2>/dev/null || return 1
    st=${st##*) }
    [ "${st%% *}" != Z ] && [ "${st%% *}" != X ]
}

# le_descendants PID: PID's descendants, deepest first (from /proc).
le_descendants() {
    local c f kids
    for f in /proc/"$1"/task/*/children; do
        [ -r "$f" ] || continue
        kids=()
        read -r -a kids <"$f" 2>/dev/null
        for c in "${kids[@]}"; do
            le_descendants "$c"
            echo "$c"
        done
    done
}

LE_BG_PIDS=""   # every background process a script started through the harness

# le_bg VAR CMD...: starts CMD in the background, tracked for cleanup; VAR=pid.
le_bg() {
    local __var=$1; shift
    "$@" &
    local __pid=$!
    LE_BG_PIDS="$LE_BG_PIDS $__pid"
    printf -v "$__var" '%s' "$__pid"
}

# le_kill PID...: SIGCONT+SIGTERM to each PID and its descendants, then
# SIGKILL whatever is left after 3 s. Only processes started by this script.
le_kill() {
    local p all="" d deadline
    for p in "$@"; do
        [ -n "$p" ] || continue
        all="$all $(le_descendants "$p" | tr '\n' ' ') $p"
    done
    [ -n "${all// /}" ] || return 0
    for p in $all; do kill -CONT "$p" 2>/dev/null; kill -TERM "$p" 2>/dev/null; done
    deadline=$(( $(le_now_ms) + 3000 ))
    while [ "$(le_now_ms)" -lt "$deadline" ]; do
        d=""
        for p in $all; do le_alive "$p" && d=1; done
        [ -n "$d" ] || break
        sleep 0.1
    done
    for p in $all; do le_alive "$p" && kill -KILL "$p" 2>/dev/null; done
    for p in "$@"; do wait "$p" 2>/dev/null; done
    return 0
}

# le_wait_exit PID SECONDS: waits for PID (a child of this shell) to exit;
# returns 0 and sets LE_EXIT_RC to its status, or 1 on timeout.
le_wait_exit() {
    local pid=$1 deadline=$(( $(le_now_ms) + $2 * 1000 ))
    while le_alive "$pid"; do
        [ "$(le_now_ms)" -lt "$deadline" ] || return 1
        sleep 0.1
    done
    wait "$pid" 2>/dev/null
    LE_EXIT_RC=$?
    return 0
}

# le_wait_for SECONDS CMD...: runs CMD every 0.2 s until it succeeds.
le_wait_for() {
    local deadline=$(( $(le_now_ms) + $1 * 1000 )); shift
    until "$@"; do
        [ "$(le_now_ms)" -lt "$deadline" ] || return 1
        sleep 0.2
    done
}

le_file_size() { stat -c %s "$1" 2>/dev/null || echo 0; }
# le_size_gt FILE N: FILE is larger than N bytes (for le_wait_for).
le_size_gt() { [ "$(le_file_size "$1")" -gt "$2" ]; }

# ---- ports ------------------------------------------------------------------

# le_free_port [N]: N distinct ports free on 127.0.0.1. Taken from below the
# kernel's ephemeral range so that client sockets cannot grab them meanwhile,
# at random so that scripts run in parallel (make -j) do not collide.
le_free_port() {
    "$LE_PY" - "${1:-1}" <<'EOF'
import random, socket, sys
n = int(sys.argv[1]); out = []; held = []
lo, hi = 20000, 32000
try:
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        eph = int(f.read().split()[0])
        if eph - 1000 < hi: hi = max(lo + 2000, eph - 1)
except OSError:
    pass
while len(out) < n:
    p = random.randrange(lo, hi)
    if p in out: continue
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        s.close(); continue
    held.append(s); out.append(p)
for s in held: s.close()
print(" ".join(map(str, out)))
EOF
}

# le_port_open PORT: something accepts TCP connections on 127.0.0.1:PORT.
le_port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# le_port_free PORT: PORT can be bound on 127.0.0.1 (nothing listens on it).
le_port_free() {
    "$LE_PY" -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1)' "$1" 2>/dev/null
}

# ---- redis ------------------------------------------------------------------

# le_start_redis: a private redis-server on a free loopback port, no disk.
# Sets LE_REDIS_PORT and LE_REDIS_PID. Returns 1 if it does not come up.
le_start_redis() {
    local try
    for try in 1 2 3; do
        LE_REDIS_PORT=$(le_free_port 1)
        le_bg LE_REDIS_PID redis-server --bind 127.0.0.1 --port "$LE_REDIS_PORT" \
            --save '' --appendonly no --dir "$LE_DIR" --daemonize no \
            --logfile "$LE_DIR/redis.log"
        if le_wait_for 5 le_port_open "$LE_REDIS_PORT"; then
            export LE_REDIS_PORT LE_REDIS_PID
            return 0
        fi
        le_kill "$LE_REDIS_PID"
    done
    return 1
}

# ---- the daemon ----------------------------------------------------------------

# Knobs a script may set before le_start:
#   LE_EXTRA_CONF   node-level config text appended after the defaults
#   LE_DOMAIN_CONF  text inside the default domain block
#   LE_LOG_LEVEL    default info
#   LE_REDIS        "embedded", "HOST:PORT", or unset: a private redis-server
#   LE_WAIT_PORTS   which listeners must accept before le_start returns
#                   (words among rtmp http admin; default "rtmp http")
#   LE_DAEMON_ENV   extra VAR=value words for the daemon's environment
#   LE_FIXED_PORTS  "RTMP HTTP ADMIN" ports to use instead of free ones
#   LE_QUIET_START  non-empty: le_start prints no TAP line for itself
LE_DOMAIN=${LE_DOMAIN:-live.test}
LE_START_N=0
LE_PID=""

# Sanitizer builds: a report must end the process with a distinct status and
# land in the daemon's log, where le_stop looks for it. Harmless otherwise.
le__san_env() {
    echo "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}halt_on_error=1:abort_on_error=0:exitcode=86:detect_leaks=1:print_summary=1"
    echo "UBSAN_OPTIONS=${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}halt_on_error=1:print_stacktrace=1:exitcode=87"
    echo "LSAN_OPTIONS=${LSAN_OPTIONS:+$LSAN_OPTIONS:}exitcode=88"
}

# le_write_conf FILE: the config le_start uses, from the current ports/knobs.
le_write_conf() {
    local redis=${LE_REDIS:-127.0.0.1:$LE_REDIS_PORT}
    cat >"$1" <<EOF
# written by t/integration/lib.sh for $LE_NAME
node_name      le-test-$LE_NAME;
rtmp_listen    127.0.0.1:$LE_RTMP_PORT;
http_listen    127.0.0.1:$LE_HTTP_PORT;
admin_listen   127.0.0.1:$LE_ADMIN_PORT;
data_dir       $LE_DATA_DIR;
redis          $redis;
redis_prefix   letest$$:;
log_level      ${LE_LOG_LEVEL:-info};
default_domain $LE_DOMAIN;
${LE_EXTRA_CONF:-}
domain $LE_DOMAIN {
    hls_fragment 1s;
    hls_window   6;
${LE_DOMAIN_CONF:-}
}
EOF
}

le__dump_log() {
    [ -n "${LE_LOG:-}" ] && [ -s "$LE_LOG" ] || return 0
    diag "last lines of $LE_LOG:"
    diag "$(tail -n "${LE_DUMP_LINES:-30}" "$LE_LOG")"
}

# le_start: writes the config, starts livedge, waits (10 s) until its ports
# accept. Exports LE_RTMP_PORT LE_HTTP_PORT LE_ADMIN_PORT LE_CONF LE_LOG
# LE_PID LE_DIR LE_DATA_DIR. Prints one TAP line; returns 1 on failure.
le_start() {
    local try p ok_ports w
    if [ -z "${LE_REDIS:-}" ] && [ -z "${LE_REDIS_PID:-}" ]; then
        if ! command -v redis-server >/dev/null 2>&1; then
            le_missing "required tool 'redis-server' not found"
        fi
        le_start_redis || { le_abort "private redis-server did not start"; }
    fi
    for try in 1 2 3; do
        LE_START_N=$((LE_START_N + 1))
        if [ -n "${LE_FIXED_PORTS:-}" ]; then
            read -r LE_RTMP_PORT LE_HTTP_PORT LE_ADMIN_PORT <<<"$LE_FIXED_PORTS"
        else
            read -r LE_RTMP_PORT LE_HTTP_PORT LE_ADMIN_PORT <<<"$(le_free_port 3)"
        fi
        LE_CONF=$LE_DIR/livedge.$LE_START_N.conf
        LE_LOG=$LE_DIR/livedge.$LE_START_N.log
        LE_DATA_DIR=$LE_DIR/data.$LE_START_N
        mkdir -p "$LE_DATA_DIR"
        export LE_RTMP_PORT LE_HTTP_PORT LE_ADMIN_PORT LE_CONF LE_LOG LE_DATA_DIR
        le_write_conf "$LE_CONF"
        local -a envs
        mapfile -t envs < <(le__san_env)
        # shellcheck disable=SC2086 # LE_DAEMON_ENV is a list of words
        le_bg LE_PID env -u NOTIFY_SOCKET -u WATCHDOG_USEC -u WATCHDOG_PID \
            "${envs[@]}" ${LE_DAEMON_ENV:-} "$LE_BIN" -c "$LE_CONF" >>"$LE_LOG" 2>&1
        export LE_PID
        local deadline=$(( $(le_now_ms) + 10000 ))
        ok_ports=""
        while [ "$(le_now_ms)" -lt "$deadline" ] && le_alive "$LE_PID"; do
            ok_ports=1
            for w in ${LE_WAIT_PORTS:-rtmp http}; do
                case $w in
                rtmp) p=$LE_RTMP_PORT ;; http) p=$LE_HTTP_PORT ;; admin) p=$LE_ADMIN_PORT ;;
                *) p=$w ;;
                esac
                le_port_open "$p" || { ok_ports=""; break; }
            done
            [ -n "$ok_ports" ] && break
            sleep 0.1
        done
        if [ -n "$ok_ports" ] && le_alive "$LE_PID"; then
            [ -n "${LE_QUIET_START:-}" ] ||
                ok 0 "livedge started (rtmp $LE_RTMP_PORT, http $LE_HTTP_PORT, admin $LE_ADMIN_PORT)"
            return 0
        fi
        if ! le_alive "$LE_PID" && grep -qiE 'in use|EADDRINUSE' "$LE_LOG" &&
            [ -z "${LE_FIXED_PORTS:-}" ] && [ "$try" -lt 3 ]; then
            diag "port collision, retrying: $(grep -iE 'in use|EADDRINUSE' "$LE_LOG" | head -1)"
            wait "$LE_PID" 2>/dev/null
            continue
        fi
        break
    done
    if le_alive "$LE_PID"; then
        ok 1 "livedge started: ports ${LE_WAIT_PORTS:-rtmp http} accept within 10 s"
        le_kill "$LE_PID"
    else
        wait "$LE_PID" 2>/dev/null
        ok 1 "livedge started (it exited with status $?)"
    fi
    diag "config $LE_CONF:"; diag "$(cat "$LE_CONF")"
    le__dump_log
    LE_PID=""
    return 1
}

# le_sanitizer_check LOG: one TAP line, failing on any sanitizer report.
le_sanitizer_check() {
    local log=${1:-$LE_LOG} hits
    hits=$(grep -E 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer|ERROR: UndefinedBehaviorSanitizer' "$log" 2>/dev/null)
    if [ -z "$hits" ]; then
        ok 0 "no sanitizer report in the daemon log"
    else
        ok 1 "no sanitizer report in the daemon log"
        diag "$(grep -E -A 25 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer|ERROR: UndefinedBehaviorSanitizer' "$log" | head -60)"
    fi
}

# le_alive_ok DESC: the daemon is still running.
le_alive_ok() {
    if [ -n "$LE_PID" ] && le_alive "$LE_PID"; then ok 0 "${*:-livedge still running}"; else
        ok 1 "${*:-livedge still running}"; le__dump_log; return 1; fi
}

# le_stop: SIGTERM, 10 s for a clean exit (livedge(8), SIGNALS), then SIGKILL. Asserts a
# prompt exit with status 0, that no child of the daemon (its redis) is left,
# and that the log holds no sanitizer report.
le_stop() {
    local t0 kids p left="" rc
    if [ -z "$LE_PID" ]; then ok 1 "livedge stopped (it was not running)"; return 1; fi
    kids=$(le_descendants "$LE_PID" | tr '\n' ' ')
    t0=$(le_now_ms)
    kill -TERM "$LE_PID" 2>/dev/null
    if le_wait_exit "$LE_PID" 10; then
        rc=$LE_EXIT_RC
        ok 0 "livedge exited within 10 s of SIGTERM ($(( $(le_now_ms) - t0 )) ms)"
        is "$rc" 0 "livedge exit status is 0" || le__dump_log
    else
        ok 1 "livedge exited within 10 s of SIGTERM"
        le_kill "$LE_PID"
        le__dump_log
        skip 1 "exit status (it had to be killed)"
    fi
    sleep 0.3
    for p in $kids; do le_alive "$p" && left="$left $p"; done
    if [ -z "$left" ]; then ok 0 "no child process of livedge left running"; else
        ok 1 "no child process of livedge left running"
        diag "left:$(for p in $left; do printf ' %s(%s)' "$p" "$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"; done)"
        # shellcheck disable=SC2086 # a list of pids
        le_kill $left
    fi
    le_sanitizer_check "$LE_LOG"
    LE_PID=""
}

# le_wait_log ERE SECONDS [FROM_LINE]: the daemon log (after line FROM_LINE)
# gets a line matching ERE (case-insensitive). Prints the first such line.
le_wait_log() {
    local re=$1 deadline=$(( $(le_now_ms) + ${2:-10} * 1000 )) from=${3:-0} m
    while :; do
        m=$(tail -n +"$((from + 1))" "$LE_LOG" 2>/dev/null | grep -iE -m1 -- "$re")
        if [ -n "$m" ]; then printf '%s\n' "$m"; return 0; fi
        [ "$(le_now_ms)" -lt "$deadline" ] || return 1
        sleep 0.2
    done
}

# le_log_lines: the daemon log's current line count (a mark for le_wait_log).
le_log_lines() { wc -l <"$LE_LOG" 2>/dev/null | tr -d ' ' || echo 0; }

# ---- clients ----------------------------------------------------------------

le_url() { echo "rtmp://127.0.0.1:$LE_RTMP_PORT/${LE_APP:-live}/$1"; }

LE_CLIENT_N=0

# le_publish NAME [ffmpeg output args...]: ffmpeg publishes a generated
# 640x360 25 fps H.264 (GOP 25 unless overridden) + AAC stream for
# LE_PUB_SECS (30) seconds, in the background. Sets LE_PUB_PID, LE_PUB_LOG,
# LE_PUB_PROGRESS (ffmpeg -progress file, see le_wait_publishing).
le_publish() { le__publish av "$@"; }
le_publish_audio() { le__publish a "$@"; }
le_publish_video() { le__publish v "$@"; }

le__publish() {
    local kind=$1 name=$2; shift 2
    local -a in=() enc=()
    LE_CLIENT_N=$((LE_CLIENT_N + 1))
    LE_PUB_LOG=$LE_DIR/pub-$name-$LE_CLIENT_N.log
    LE_PUB_PROGRESS=$LE_DIR/pub-$name-$LE_CLIENT_N.progress
    case $kind in
    av|v) in+=(-f lavfi -i "testsrc2=size=640x360:rate=25")
          enc+=(-c:v libx264 -preset ultrafast -tune zerolatency -g 25 -pix_fmt yuv420p) ;;
    esac
    case $kind in
    av|a) in+=(-f lavfi -i "sine=frequency=440:sample_rate=44100")
          enc+=(-c:a aac -b:a 64k -ac 1) ;;
    esac
    le_bg LE_PUB_PID ffmpeg -hide_banner -nostdin -loglevel warning -nostats \
        -progress "$LE_PUB_PROGRESS" -stats_period 0.1 -re "${in[@]}" -t "${LE_PUB_SECS:-30}" \
        "${enc[@]}" "$@" -f flv "$(le_url "$name")" >"$LE_PUB_LOG" 2>&1
    export LE_PUB_PID LE_PUB_LOG LE_PUB_PROGRESS
}

# le_wait_publishing PROGRESS_FILE SECONDS: ffmpeg has been sending for at
# least half a second (ffmpeg writes no media before NetStream.Publish.Start).
le_wait_publishing() {
    le_wait_for "${2:-15}" le__progress_past "$1" 500000
}
le__progress_past() {
    local us
    us=$(le_pub_time_us "$1")
    [ "$us" -ge "$2" ]
}
# le_pub_time_us PROGRESS_FILE: the media time (us) ffmpeg has sent so far,
# updated every 0.1 s; 0 before the first report.
le_pub_time_us() {
    local us
    us=$(grep -E '^out_time_us=' "$1" 2>/dev/null | tail -n 1 | cut -d= -f2)
    case $us in ''|*[!0-9]*) us=0 ;; esac
    echo "$us"
}

# le_dump NAME FILE SECONDS: rtmpdump (librtmp, simple handshake) plays NAME
# live into FILE for SECONDS seconds, in the foreground.
le_dump() {
    timeout -s INT -k 3 "$3" rtmpdump -q -v -m 10 -r "$(le_url "$1")" -o "$2" \
        >>"$LE_DIR/rtmpdump.log" 2>&1
    return 0
}

# le_player NAME FILE: rtmpdump plays NAME into FILE in the background until
# killed or the stream ends. Sets LE_PLAYER_PID.
le_player() {
    le_bg LE_PLAYER_PID rtmpdump -q -v -m 10 -r "$(le_url "$1")" -o "$2" \
        >>"$LE_DIR/rtmpdump.log" 2>&1
    export LE_PLAYER_PID
}

# le_ffread NAME FILE SECONDS: ffmpeg (its own RTMP client, digest
# handshake) reads NAME and copies SECONDS seconds into the FLV FILE.
le_ffread() {
    timeout -k 3 $(( $3 + 20 )) ffmpeg -hide_banner -nostdin -loglevel error -y \
        -i "$(le_url "$1")" -t "$3" -c copy -f flv "$2" >>"$LE_DIR/ffread.log" 2>&1
}

# le_probe NAME: ffprobe of the live RTMP stream, one line per stream:
# "codec_type=video|codec_name=h264|width=640|height=360". Empty on failure.
le_probe() {
    timeout -k 3 "${LE_PROBE_TIMEOUT:-20}" ffprobe -hide_banner -v error \
        -show_entries stream=codec_type,codec_name,width,height \
        -of compact=p=0 "$(le_url "$1")" 2>>"$LE_DIR/ffprobe.log" | sort
}

# le_count_frames FILE v|a: decoded video frames / audio packets in FILE.
le_count_frames() {
    local what=nb_read_frames opt=-count_frames
    [ "$2" = a ] && { what=nb_read_packets; opt=-count_packets; }
    timeout -k 3 60 ffprobe -v error "$opt" -select_streams "$2:0" \
        -show_entries "stream=$what" -of csv=p=0 "$1" 2>/dev/null | head -n 1 | tr -dc '0-9'
}

# ---- cleanup --------------------------------------------------------------------

le__cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    # shellcheck disable=SC2086 # word lists of pids
    le_kill $LE_BG_PIDS ${LE_WATCHDOG_PID:-} >/dev/null 2>&1
    if [ "$LE_T_FAILED" -gt 0 ] || [ -n "${LE_KEEP:-}" ] || [ "$rc" != 0 ]; then
        diag "test files kept in $LE_DIR"
    else
        rm -rf "$LE_DIR"
    fi
}
trap le__cleanup EXIT
trap 'echo "Bail out! interrupted"; exit 1' INT HUP
trap 'echo "Bail out! $LE_NAME: killed (timeout ${LE_SCRIPT_TIMEOUT:-300} s?)"; exit 1' TERM

# A script that runs away is stopped: every wait is bounded, so this only
# fires on a harness bug or a wedged client.
( sleep "${LE_SCRIPT_TIMEOUT:-300}" && kill -TERM $$ ) >/dev/null 2>&1 &
LE_WATCHDOG_PID=$!

# ---- helpers added later ------------------------------------------------------

# le_grows FILE BYTES SECONDS: FILE grows by BYTES (from its size now)
# within SECONDS; for a player's output file.
le_grows() { le_wait_for "$3" le_size_gt "$1" $(( $(le_file_size "$1") + $2 )); }

# le_publish_and_play NAME SECS FILE: ffmpeg publishes NAME for SECS seconds
# and an rtmpdump player of it writes FILE (LE_PUB_PID, LE_PLAYER_PID); two
# TAP lines: the publish is live, the player receives data (20 kB in 10 s).
le_publish_and_play() {
    local name=$1 file=$3
    LE_PUB_SECS=$2 le_publish "$name"
    le_wait_publishing "$LE_PUB_PROGRESS" 15
    ok $? "ffmpeg publishes ${LE_APP:-live}/$name" || diag "$(cat "$LE_PUB_LOG")"
    le_player "$name" "$file"
    le_wait_for 10 le_size_gt "$file" 20000
    ok $? "an rtmpdump player of ${LE_APP:-live}/$name receives data"
}

# ---- npm packages (the official SDKs) -----------------------------------------

# le_npm_require DIR PACKAGE [SPEC]: PACKAGE (npm install SPEC, e.g. a pinned
# PACKAGE@VERSION; default PACKAGE) from npm, installed into DIR once (kept
# across runs, a bounded install). Returns when it is there; otherwise the
# script ends as le_missing says (no node/npm, or the install failed, its
# log shown).
le_npm_require() {
    local dir=$1 pkg=$2 spec=${3:-$2}
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        le_missing "node/npm not found for the $pkg test"
        return 1
    fi
    [ -f "$dir/node_modules/$pkg/package.json" ] && return 0
    # Scripts running in parallel share DIR (66 and 67 both need s3rver): one
    # installs while the others wait on the lock, then find it there. Two npm
    # installs into one prefix at once replace each other's node_modules.
    mkdir -p "$dir" || { le_missing "cannot create $dir"; return 1; }
    if (
        flock -w 600 9 || exit 1
        [ -f "$dir/node_modules/$pkg/package.json" ] && exit 0
        timeout 300 npm install --prefix "$dir" --no-audit --no-fund --no-save \
            --no-package-lock --loglevel=error "$spec" >"$LE_DIR/npm.log" 2>&1 &&
            [ -f "$dir/node_modules/$pkg/package.json" ]
    ) 9>"$dir.lock"; then
        return 0
    fi
    diag "$(tail -n 20 "$LE_DIR/npm.log" 2>/dev/null)"
    le_missing "npm install $pkg failed"
}

# ---- a browser: Debian's Chromium driven by playwright-core (npm) ------------

# le_browser_require: playwright-core, installed into $top_builddir/t/npm-pw
# once (as le_npm_require), and Chromium (LE_CHROMIUM, else the chromium
# package's /usr/bin/chromium). Exports LE_PW_MODULE (the playwright-core
# directory, for require()) and LE_CHROMIUM. No Chromium: the script ends as
# le_missing says (returns 1 if it goes on).
le_browser_require() {
    : "${LE_CHROMIUM:=/usr/bin/chromium}"
    if [ ! -x "$LE_CHROMIUM" ]; then
        le_missing "chromium not found at $LE_CHROMIUM (apt-get install chromium)"
        return 1
    fi
    le_npm_require "$top_builddir/t/npm-pw" playwright-core || return 1
    LE_PW_MODULE=$(cd "$top_builddir/t/npm-pw/node_modules/playwright-core" && pwd) || return 1
    export LE_PW_MODULE LE_CHROMIUM
}

# le_hlsjs_require: hls.js (the version the tests were written against,
# LE_HLSJS_SPEC), installed into $top_builddir/t/npm-hls once (as
# le_npm_require). Exports LE_HLSJS (its dist/hls.min.js, for a page to
# load) and LE_HLSJS_VERSION.
le_hlsjs_require() {
    local d=$top_builddir/t/npm-hls/node_modules/hls.js
    le_npm_require "$top_builddir/t/npm-hls" hls.js "${LE_HLSJS_SPEC:-hls.js@1.7.4}" || return 1
    LE_HLSJS=$d/dist/hls.min.js
    [ -f "$LE_HLSJS" ] || { le_missing "hls.js has no dist/hls.min.js"; return 1; }
    LE_HLSJS_VERSION=$("$LE_PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["version"])' \
        "$d/package.json" 2>/dev/null)
    export LE_HLSJS LE_HLSJS_VERSION
}

# ---- nginx with libnginx-mod-rtmp: a third-party RTMP server -----------------

# le_start_nginx_rtmp [EXTRA]: nginx on a free loopback port with one
# `application live { live on; EXTRA }` (EXTRA: more directives inside it,
# e.g. "record off;"). Runs in the foreground under the harness (killed on
# exit), its files in $LE_DIR/nginx. Sets LE_NGX_PORT, LE_NGX_PID and
# le_ngx_url NAME prints rtmp://127.0.0.1:PORT/live/NAME. Returns 1 when
# nginx or the module is missing (callers le_missing) or it does not start.
LE_NGX_MODULE=${LE_NGX_MODULE:-/usr/lib/nginx/modules/ngx_rtmp_module.so}
le_start_nginx_rtmp() {
    command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || return 1
    [ -f "$LE_NGX_MODULE" ] || return 1
    local d="$LE_DIR/nginx" ngx=nginx
    command -v nginx >/dev/null 2>&1 || ngx=/usr/sbin/nginx
    mkdir -p "$d/logs" "$d/tmp"
    LE_NGX_PORT=$(le_free_port 1)
    cat >"$d/nginx.conf" <<NGX
load_module $LE_NGX_MODULE;
daemon off;
master_process off;
worker_processes 1;
pid $d/nginx.pid;
error_log $d/logs/error.log info;
events { worker_connections 256; }
rtmp {
    server {
        listen 127.0.0.1:$LE_NGX_PORT;
        chunk_size 4096;
        application live { live on; ${1:-} }
    }
}
NGX
    le_bg LE_NGX_PID "$ngx" -p "$d" -c "$d/nginx.conf"
    le_wait_for 5 le_port_open "$LE_NGX_PORT" || { le_kill "$LE_NGX_PID"; return 1; }
    export LE_NGX_PORT LE_NGX_PID
}
le_ngx_url() { echo "rtmp://127.0.0.1:$LE_NGX_PORT/live/$1"; }

# ---- s3rver (npm): an S3-compatible server for the upload tests -------------

# le_start_s3rver [BUCKET...]: s3rver, installed from npm into
# $top_builddir/t/npm-s3 once (as le_npm_require), on a free loopback port
# with its data in $LE_DIR/s3, each BUCKET created at start; waits (15 s)
# until it answers. Exports LE_S3_PORT, LE_S3_DIR, LE_S3_PID (killed on
# exit; its access and secret key are both S3RVER; it does not check
# SigV4 signatures). Called again after `le_kill "$LE_S3_PID"`, it restarts
# on the same port and directory. Returns 1 if it does not come up.
le_start_s3rver() {
    local b args=() code
    le_npm_require "$top_builddir/t/npm-s3" s3rver || return 1
    : "${LE_S3_DIR:=$LE_DIR/s3}"
    mkdir -p "$LE_S3_DIR"
    [ -n "${LE_S3_PORT:-}" ] || LE_S3_PORT=$(le_free_port 1)
    for b in "$@"; do args+=(--configure-bucket "$b"); done
    le_bg LE_S3_PID node "$top_builddir/t/npm-s3/node_modules/s3rver/bin/s3rver.js" -d "$LE_S3_DIR" \
        -a 127.0.0.1 -p "$LE_S3_PORT" --no-vhost-buckets --silent "${args[@]}" >>"$LE_DIR/s3rver.log" 2>&1
    export LE_S3_PORT LE_S3_DIR LE_S3_PID
    le__s3rver_up() {
        code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$LE_S3_PORT/" 2>/dev/null)
        [ -n "$code" ] && [ "$code" != 000 ]
    }
    le_wait_for 15 le__s3rver_up && le_alive "$LE_S3_PID" && return 0
    diag "$(tail -n 20 "$LE_DIR/s3rver.log" 2>/dev/null)"
    le_kill "$LE_S3_PID"
    return 1
}
