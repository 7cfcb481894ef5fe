#!/bin/sh
# 88-tls-abuse: bad and idle TLS clients do not disturb the players
# (docs/TLS.md). livedge with rtmps_listen and https_listen (a test CA's
# certificate), handshake_timeout and http_header_timeout 10 s. ffmpeg
# publishes over rtmps://, an https-FLV reader (curl) and an rtmps reader
# (ffmpeg) play. Meanwhile tls-abuse.py, on both TLS ports: plaintext HTTP,
# random bytes, a bogus handshake record, the first 50 bytes of a real
# ClientHello then EOF, and the same then silence; then 500 TCP connections
# that never send a byte and 500 that complete a TLS handshake and go
# silent, per port, all held at once. Asserted:
#  - every bad client is closed by the node, the stalled ones by its timers
#    (within the timeout plus a generous margin), every idle one too;
#  - each bad client's failure is logged (a line naming its address and
#    TLS/SSL or the handshake), and no more than a few lines each;
#  - both readers keep receiving while the idle connections are held and
#    after; a new https client and a new rtmps player are served afterwards;
#  - the node's peak resident size stays under a bound; no crash, a clean
#    exit, no sanitizer report.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
: "${LE_SCRIPT_TIMEOUT:=240}"
# shellcheck source=t/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=t/integration/tls.sh
. "$(dirname "$0")/tls.sh"

le_require_daemon
le_require_tool ffmpeg ffprobe python3 curl openssl redis-server
ulimit -n 16384 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null
[ "$(ulimit -n)" -ge 4500 ] || le_missing "open files limit $(ulimit -n): 2000 idle connections need more"

PKI=$LE_DIR/pki
le_tls_make_ca "$PKI" && le_tls_make_cert "$PKI" node live.test live.test 127.0.0.1 ||
    le_abort "openssl could not make the test certificates"

IDLE=${LE_TLS_IDLE:-500}
TMO=10
read -r RTMPS_PORT HTTPS_PORT <<<"$(le_free_port 2)"
LE_EXTRA_CONF="rtmps_listen 127.0.0.1:$RTMPS_PORT;
https_listen 127.0.0.1:$HTTPS_PORT;
tls_certificate $PKI/node.pem;
tls_certificate_key $PKI/node.key;
handshake_timeout ${TMO}s;
http_header_timeout ${TMO}s;"
LE_WAIT_PORTS="rtmp http $RTMPS_PORT $HTTPS_PORT"
le_start || le_abort "livedge did not start"
RTMPS=rtmps://127.0.0.1:$RTMPS_PORT/live
HTTPS=https://live.test:$HTTPS_PORT
CURL=(curl -s --cacert "$PKI/ca.pem" --resolve "live.test:$HTTPS_PORT:127.0.0.1")

# ---- a publisher and two readers, over TLS --------------------------------------
le_bg PUB ffmpeg -hide_banner -nostdin -loglevel warning -nostats -progress "$LE_DIR/pub.progress" \
    -stats_period 0.1 -re -f lavfi -i "testsrc2=size=640x360:rate=25" \
    -f lavfi -i "sine=frequency=440:sample_rate=44100" -t 150 -c:v libx264 -preset ultrafast \
    -tune zerolatency -g 25 -pix_fmt yuv420p -c:a aac -b:a 64k -ac 1 -f flv "$RTMPS/cam" \
    >"$LE_DIR/pub.log" 2>&1
le_wait_publishing "$LE_DIR/pub.progress" 20
ok $? "ffmpeg publishes live/cam over rtmps://" || diag "$(cat "$LE_DIR/pub.log")"

FLV=$LE_DIR/https.flv
RFLV=$LE_DIR/rtmps.flv
le_bg HREAD "${CURL[@]}" -o "$FLV" "$HTTPS/live/cam.flv"
le_bg RREAD ffmpeg -hide_banner -nostdin -loglevel warning -i "$RTMPS/cam" -c copy -f flv -y "$RFLV" \
    >"$LE_DIR/rread.log" 2>&1
le_wait_for 15 le_size_gt "$FLV" 50000
ok $? "an https-FLV reader (curl, the test CA) receives live/cam"
le_wait_for 20 le_size_gt "$RFLV" 50000
ok $? "an rtmps reader (ffmpeg) receives live/cam" || diag "$(cat "$LE_DIR/rread.log")"

# ---- the abuse ----------------------------------------------------------------------
rss0=$(awk '/^VmRSS:/ { print $2 }' "/proc/$LE_PID/status" 2>/dev/null)
mark=$(le_log_lines)
h0=$(le_file_size "$FLV") r0=$(le_file_size "$RFLV")
t0=$(le_now_ms)
le_bg ABUSE "$LE_PY" "$LE_T_SRCDIR/tls-abuse.py" --port "rtmps=$RTMPS_PORT" --port "https=$HTTPS_PORT" \
    --idle "$IDLE" --garbage 3 --pid "$LE_PID" --hold-max 60 --marker "$LE_DIR/held" \
    >"$LE_DIR/abuse.json" 2>"$LE_DIR/abuse.err"
le_wait_for 120 test -s "$LE_DIR/held"
ok $? "tls-abuse.py: the bad clients done, $((4 * IDLE)) idle connections opened ($(( $(le_now_ms) - t0 )) ms)" ||
    diag "$(tail -n 5 "$LE_DIR/abuse.err")"
# the raw ones open in well under a second, the TLS ones take a few (all
# handshakes in one client process): most of them are open at once
cmp_ok "$(cat "$LE_DIR/held" 2>/dev/null)" -ge $((2 * IDLE)) "... of which at least $((2 * IDLE)) open at once ($(cat "$LE_DIR/held" 2>/dev/null))"
h1=$(le_file_size "$FLV") r1=$(le_file_size "$RFLV")
sleep 2
h2=$(le_file_size "$FLV") r2=$(le_file_size "$RFLV")
cmp_ok $((h2 - h1)) -gt 20000 "the https-FLV reader receives while the idle connections are held (+$((h2 - h1)) bytes in 2 s)"
cmp_ok $((r2 - r1)) -gt 20000 "the rtmps reader too (+$((r2 - r1)) bytes)"
le_wait_exit "$ABUSE" 100
ok $? "tls-abuse.py ends: the idle connections closed or held 60 s ($(( $(le_now_ms) - t0 )) ms)"
A=$(tail -n 1 "$LE_DIR/abuse.json")
[ -n "$A" ] || { diag "$(tail -n 20 "$LE_DIR/abuse.err")"; le_abort "tls-abuse.py printed no result"; }
diag "$A"
a() { j "$A" "$1"; }
j() { "$LE_PY" -c 'import json, sys
d = json.loads(sys.argv[1])
v = eval(sys.argv[2])
print(json.dumps(v) if isinstance(v, (dict, list, bool)) or v is None else v)' "$1" "$2" 2>/dev/null; }

for p in rtmps https; do
    # the bad clients: closed, the stalled one by a timer
    is "$(a "' '.join(sorted(set(str(b['closed_after'] is not None) for b in d['ports']['$p']['bad'])))")" True \
        "$p: the node closes every bad client ($(a "' '.join('%s=%s' % (b['kind'], b['closed_after'] and round(b['closed_after'], 2)) for b in d['ports']['$p']['bad'])"))"
    cmp_ok "$(a "max(int(b['closed_after'] * 1000) for b in d['ports']['$p']['bad'] if b['kind'] != 'trunc-hold')")" \
        -lt $((TMO * 1000 - 500)) "$p: the malformed ones at once, before the timers would"
    t=$(a "int(d['ports']['$p']['bad'][-1]['closed_after'] * 1000)")
    cmp_ok "$t" -ge $((TMO * 1000 - 500)) "$p: a truncated ClientHello left hanging is closed by the node's timer ($t ms)"
    cmp_ok "$t" -le $((TMO * 1000 + 15000)) "... within the timeout plus 15 s"
    for k in raw tls; do
        s="$(a "d['ports']['$p']['$k']")"
        is "$(a "d['ports']['$p']['$k']['opened']")" "$IDLE" "$p: $IDLE idle $k connections opened ($s)"
        is "$(a "d['ports']['$p']['$k']['closed']")" "$IDLE" "... every one closed by the node"
        cmp_ok "$(a "int((d['ports']['$p']['$k']['close_max_s'] or 99) * 1000)")" -le $((TMO * 1000 + 20000)) \
            "... each within the timeout plus 20 s"
        cmp_ok "$(a "int((d['ports']['$p']['$k']['close_min_s'] or 0) * 1000)")" -ge $((TMO * 1000 - 500)) \
            "... none before the timeout"
    done
done

# ---- the log: one line per failed handshake, not a flood ----------------------------
tail -n +"$((mark + 1))" "$LE_LOG" >"$LE_DIR/abuse.log"
nb=0 nbad=0 many=""
for pl in $(a "' '.join('%s:%s' % (k, b['lport']) for k, p in d['ports'].items() for b in p['bad'] if b['kind'] != 'trunc-hold')"); do
    nbad=$((nbad + 1))
    # "MOD: #ID ADDR: TLS handshake failed: REASON" (the close line after it
    # names the same cause without a reason). By module and client port: a
    # client of the other listener may have had the same local port.
    lp=${pl#*:}
    mod=rtmp; [ "${pl%%:*}" = https ] && mod=http
    n=$(grep -cE " $mod: #[0-9]+ 127\.0\.0\.1:$lp\b.*TLS (handshake failed|error): " "$LE_DIR/abuse.log")
    [ "$n" -ge 1 ] && nb=$((nb + 1))
    [ "$n" -le 1 ] || many="$many $pl:$n"
done
is "$nb" "$nbad" "each malformed handshake logs a TLS error line with the client's address and the reason ($nbad clients)" ||
    diag "$(grep -iE 'tls|ssl|handshake' "$LE_DIR/abuse.log" | head -20)"
is "$many" "" "... exactly one per client"
diag "$(grep -iE 'tls|ssl|handshake' "$LE_DIR/abuse.log" | head -8)"
diag "log lines during the abuse: $(wc -l <"$LE_DIR/abuse.log") (for $((4 * IDLE)) idle and $((nbad + 2)) bad clients)"

# ---- the readers go on, new clients are served ---------------------------------------
h3=$(le_file_size "$FLV") r3=$(le_file_size "$RFLV")
cmp_ok $((h3 - h0)) -gt 100000 "the https-FLV reader received all along the abuse (+$((h3 - h0)) bytes)"
cmp_ok $((r3 - r0)) -gt 100000 "the rtmps reader too (+$((r3 - r0)) bytes)"
le_grows "$FLV" 20000 10
ok $? "the https-FLV reader still receives after it"
le_grows "$RFLV" 20000 10
ok $? "the rtmps reader too"
le_alive "$HREAD" && le_alive "$RREAD"
ok $? "both readers are still connected"
code=$("${CURL[@]}" -o /dev/null -m 10 -w '%{http_code}' "$HTTPS/live/cam.m3u8")
is "$code" 200 "a new https client gets the HLS playlist"
pr=$(timeout -k 3 20 ffprobe -v error -show_entries stream=codec_name,width,height -of compact=p=0 "$RTMPS/cam" 2>&1 |
    sort | tr '\n' ' ')
like "$pr" 'codec_name=h264\|width=640\|height=360' "a new rtmps player (ffprobe) gets the stream ($pr)"

# ---- memory -------------------------------------------------------------------------
# The bound: the size before the abuse plus 80 KiB per idle connection (an
# OpenSSL connection with its buffers released while idle, its bufferevent
# and the server's state are well under that; about 35 KiB measured). ASan's
# shadow and quarantine multiply a build's footprint: 1 GiB in all there.
rss=$(a "d['peak_rss_kb']")
hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$LE_PID/status" 2>/dev/null)
bound=$(( ${rss0:-0} + 4 * IDLE * 80 ))
grep -Eq '^(SAN_CFLAGS|CFLAGS) = .*-fsanitize' "$top_builddir/Makefile" 2>/dev/null && bound=$((1024 * 1024))
cmp_ok "${rss:-0}" -gt 0 "the node's resident size was sampled during the abuse"
cmp_ok "${hwm:-999999999}" -lt "$bound" "the node's peak resident size stays under $((bound / 1024)) MiB (VmHWM ${hwm} KiB, sampled peak $rss KiB, $rss0 KiB before the abuse)"

le_kill "$PUB" "$HREAD" "$RREAD"
le_alive_ok
le_stop
done_testing
