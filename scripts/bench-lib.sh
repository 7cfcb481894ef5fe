# scripts/bench-lib.sh: what scripts/bench and scripts/bench-relay share:
# processes killed on exit, loopback ports, the plain build, the test file,
# the machine line and the docs/BENCHMARKS.md sections. Sourced after the
# caller sets ROOT, CACHE, BUILD, OUT, DOC and PY.
# shellcheck shell=bash

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

mkdir -p "$OUT" "$CACHE" || die "cannot create $OUT or $CACHE"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null
[ "$(ulimit -n)" -ge 2200 ] || die "open files limit $(ulimit -n) is too low for 1000 players"

# ---- processes: everything started here is killed on exit ------------------

PIDS=""
now_ms() { local t; t=$(date +%s%N); echo $((t / 1000000)); }
alive() {
    local st
    [ -r "/proc/$1/stat" ] || return 1
    read -r st <"/proc/$1/stat" 2>/dev/null || return 1
    st=${st##*) }
    [ "${st%% *}" != Z ] && [ "${st%% *}" != X ]
}
descendants() {
    local c f kids
    for f in /proc/"$1"/task/*/children; do
        [ -r "$f" ] || continue
        kids=()
        read -r -a kids <"$f" 2>/dev/null
        for c in "${kids[@]}"; do descendants "$c"; echo "$c"; done
    done
}
# stop PID...: TERM to each and its descendants, KILL after 3 s.
stop() {
    local p all="" d deadline
    for p in "$@"; do
        [ -n "$p" ] || continue
        all="$all $(descendants "$p" | tr '\n' ' ') $p"
    done
    [ -n "${all// /}" ] || return 0
    for p in $all; do kill -CONT "$p" 2>/dev/null; kill -TERM "$p" 2>/dev/null; done
    deadline=$(( $(now_ms) + 3000 ))
    while [ "$(now_ms)" -lt "$deadline" ]; do
        d=""
        for p in $all; do alive "$p" && d=1; done
        [ -n "$d" ] || break
        sleep 0.1
    done
    for p in $all; do alive "$p" && kill -KILL "$p" 2>/dev/null; done
    for p in "$@"; do wait "$p" 2>/dev/null; done
    return 0
}
cleanup() { stop $PIDS; PIDS=""; }
trap cleanup EXIT
trap 'exit 130' INT TERM

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() {
    local deadline=$(( $(now_ms) + $2 * 1000 ))
    until port_open "$1"; do
        [ "$(now_ms)" -lt "$deadline" ] || return 1
        sleep 0.1
    done
}
# free_ports N: N distinct free ports on 127.0.0.1, below the ephemeral range.
free_ports() {
    "$PY" - "$1" <<'EOF'
import random, socket, sys
n = int(sys.argv[1]); out = []; held = []
lo, hi = 20000, 32000
while len(out) < n:
    p = random.randrange(lo, hi)
    if p in out: continue
    s = socket.socket()
    try: s.bind(("127.0.0.1", p))
    except OSError: s.close(); continue
    held.append(s); out.append(p)
for s in held: s.close()
print(" ".join(map(str, out)))
EOF
}

# ---- prerequisites ----------------------------------------------------------

apt_install() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    [ "$(id -u)" = 0 ] || { say "not root: cannot install ${missing[*]}"; return 1; }
    say "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

build() {
    if [ ! -f "$BUILD/Makefile" ]; then
        say "configuring $BUILD (no sanitizers, default -O2)"
        mkdir -p "$BUILD" && (cd "$BUILD" && "$ROOT/configure" >"$OUT/configure.log" 2>&1) ||
            die "configure failed: $OUT/configure.log"
    fi
    grep -Eq '^(SAN_CFLAGS|CFLAGS) = .*-fsanitize' "$BUILD/Makefile" && die "$BUILD is a sanitizer build; benchmarks need a plain one"
    say "building livedge and bench/loadgen in $BUILD"
    make -C "$BUILD" -j2 src/livedge bench/loadgen bench/floor >"$OUT/make.log" 2>&1 || die "build failed: $OUT/make.log"
    LIVEDGE=$BUILD/src/livedge
    LOADGEN=$BUILD/bench/loadgen
    FLOOR=$BUILD/bench/floor
}

MEDIA=$CACHE/test720.flv
make_media() {
    [ -s "$MEDIA" ] && return 0
    command -v ffmpeg >/dev/null || apt_install ffmpeg || die "ffmpeg is required"
    say "generating $MEDIA (60 s 720p25 H.264 2.4 Mbit/s + AAC 128k; once)"
    ffmpeg -hide_banner -loglevel error -y \
        -f lavfi -i testsrc2=size=1280x720:rate=25 -f lavfi -i sine=frequency=440:sample_rate=48000 \
        -t 60 -c:v libx264 -preset veryfast -pix_fmt yuv420p -b:v 2400k -maxrate 2500k -bufsize 5000k \
        -g 50 -keyint_min 50 -sc_threshold 0 -c:a aac -b:a 128k -ac 2 -f flv "$MEDIA.tmp" &&
        mv "$MEDIA.tmp" "$MEDIA" || die "could not generate the test file"
}

machine() {
    printf '%s, %s cores (%s), %s GiB RAM, Linux %s' "$(date -u +%Y-%m-%d)" "$(nproc)" \
        "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')" \
        "$(awk '/MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)" "$(uname -r)"
}

# replace_section NAME FILE: the text between <!-- bench:NAME:begin/end --> in
# docs/BENCHMARKS.md becomes FILE's content.
replace_section() {
    local name=$1 file=$2
    [ -f "$DOC" ] || { say "$DOC missing: results left in $file"; return; }
    "$PY" - "$DOC" "$name" "$file" <<'EOF'
import sys
doc, name, file = sys.argv[1:]
s = open(doc).read()
b, e = "<!-- bench:%s:begin -->" % name, "<!-- bench:%s:end -->" % name
i, j = s.find(b), s.find(e)
if i < 0 or j < i:
    sys.exit("markers %s missing in %s" % (b, doc))
s = s[:i + len(b)] + "\n" + open(file).read().rstrip("\n") + "\n" + s[j:]
open(doc, "w").write(s)
EOF
    say "updated the $name section of $DOC"
}
