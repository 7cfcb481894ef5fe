#!/bin/sh
# 50-auth: access control (livedge.conf(5), ACCESS CONTROL). Domain functions through the
# admin API (BatchSet/BatchDelete/Describe/DeleteLiveSpecificConfig, their
# errors, 503 without Redis, kept across a restart), the file's values as the
# initial ones, and enforcement on RTMP publish and play: types A, B and C,
# tx_secret, key1 and key2, a key rotation without restart, expiry at the
# edge and one second past it, tampered and malformed tokens, upper-case hex,
# IP black and white lists. Over HTTP (HTTP-FLV, playlists, segments): the
# same checks, B/C path forms, signed segment URIs (ffmpeg plays a signed
# playlist; unsigned and mis-signed segments are refused), IP lists from
# 127.0.0.1 and 127.0.0.2, referer white/black lists with allow_empty, and
# nothing but the error code on the wire. Every token is computed here by an
# independent signer (md5sum), never by the node's code.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
# shellcheck source=t/integration/lib.sh
LE_SCRIPT_TIMEOUT=${LE_SCRIPT_TIMEOUT:-600}
. "$(dirname "$0")/lib.sh"

le_require_daemon
le_require_tool ffmpeg ffprobe rtmpdump python3 curl redis-server

K1=k1-file-secret
K2=k2-rotated-secret
DELTA=60
LE_DOMAIN_CONF="    referer_black_list file-banned.example;
    aliauth {
        auth_type      type_a;
        auth_key1      $K1;
        ali_auth_delta $DELTA;
    }"
LE_WAIT_PORTS="rtmp http admin"
le_start || le_abort "livedge did not start"

# ---- the independent signer ------------------------------------------------------
# sign FORM URI_OR_STREAM TS KEY [upper]: prints the token (a query string, or
# a path prefix for the *-path forms). TS is unix seconds (B: any second of
# the minute). "upper" writes the digest in upper case. md5sum and date, not
# python: on a loaded machine a python start can take seconds, and the edge
# tests sign right before the second they test.
md5() { printf '%s' "$1" | md5sum | cut -d' ' -f1; }
sign() {
    local form=$1 uri=$2 ts=$3 key=$4 h x
    case $form in
    a) h=$(md5 "$uri-$ts-0-0-$key") ;;
    b|b-path) x=$(date -u -d "@$((ts + 8 * 3600))" +%Y%m%d%H%M); h=$(md5 "$key$x$uri") ;;
    c|c-path) x=$(printf %x "$ts"); h=$(md5 "$key$uri$x") ;;
    tx) x=$(printf %X "$ts"); h=$(md5 "$key$uri$x") ;;
    esac
    [ "${5:-}" = upper ] && h=$(tr a-f A-F <<<"$h")
    case $form in
    a) echo "auth_key=$ts-0-0-$h" ;;
    b-path) echo "/$x/$h" ;;
    c-path) echo "/$h/$x" ;;
    b|c) echo "KEY1=$h&KEY2=$x" ;;
    tx) echo "txSecret=$h&txTime=$x" ;;
    esac
}

# edge_ok DESC TOKFN [CLIENTFN]: TOKFN T prints a token that expires exactly
# at second T; CLIENTFN (default: rtmpdump plays cam1) starts at T and must
# pass. A busy machine may start it too late (then it is refused as
# expired), so up to three tries; a pass proves the edge: the check ran at T
# or later.
wait_until() {   # wait_until T: sleeps until 5 ms into second T
    local d=$(( $1 * 1000000000 + 5000000 - $(date +%s%N) ))
    [ "$d" -gt 0 ] && sleep "$((d / 1000000000)).$(printf %09d $((d % 1000000000)))"
    return 0
}
edge_ok() {
    local try T t r client=${3:-rplay_cam1}
    # A pass proves the edge (the client never starts before second T); a
    # refusal may only mean the client reached the node a second late on a
    # loaded sanitizer build, so it gets several tries.
    for try in 1 2 3 4 5 6; do
        T=$(( $(date +%s) + 2 )); t=$("$2" "$T"); wait_until "$T"
        r=$("$client" "$t")
        [ "$r" = ok ] && break
        diag "edge try $try refused (late start on a busy machine?)"
    done
    is "$r" ok "$1"
}
# past_edge DESC TOKFN [CLIENTFN]: the same token a second older is refused.
past_edge() {
    local T t client=${3:-rplay_cam1}
    T=$(( $(date +%s) + 2 )); t=$("$2" $((T - 1))); wait_until "$T"
    is "$("$client" "$t")" refused "$1"
}

# ---- admin API (unsigned: loopback without keys) -----------------------------------
# api Action [NAME=VALUE...]: prints "STATUS" then the JSON body.
api() {
    local -a args=(--data-urlencode Format=JSON --data-urlencode "Action=$1")
    local a; shift
    for a in "$@"; do args+=(--data-urlencode "$a"); done
    curl -s -G --max-time 10 -w '\n%{http_code}' "http://127.0.0.1:$LE_ADMIN_PORT/" "${args[@]}" |
        awk '{ l[NR] = $0 } END { print l[NR]; for (i = 1; i < NR; i++) print l[i] }'
}
jcode() { tail -n +2 <<<"$1" | grep -o '"Code":"[^"]*"' | cut -d'"' -f4; }
jstr() { local v=${1//\\/\\\\}; printf '"%s"' "${v//\"/\\\"}"; }
fn() {   # fn NAME ARG=VALUE...: one Functions entry (JSON)
    local out a sep=""
    out="{\"functionName\":$(jstr "$1"),\"functionArgs\":["; shift
    for a in "$@"; do
        out+="$sep{\"argName\":$(jstr "${a%%=*}"),\"argValue\":$(jstr "${a#*=}")}"; sep=,
    done
    echo "$out]}"
}
setcfg() {   # setcfg FUNCTION-JSON...: BatchSetLiveDomainConfigs on the test domain, must succeed
    local IFS=, out
    out=$(api BatchSetLiveDomainConfigs "DomainNames=$LE_DOMAIN" "Functions=[$*]")
    [ "$(head -n 1 <<<"$out")" = 200 ] || { diag "BatchSet failed: $out"; return 1; }
}
# delcfg FUNCTION: BatchDeleteLiveDomainConfigs of FUNCTION on the test
# domain answers 200 (one TAP line).
delcfg() {
    local out
    out=$(api BatchDeleteLiveDomainConfigs "DomainNames=$LE_DOMAIN" "FunctionNames=$1")
    is "$(head -n 1 <<<"$out")" 200 "BatchDeleteLiveDomainConfigs $1: 200" || diag "$out"
}
# batch_err DESC "STATUS Code" MESSAGE NAME=VALUE...: BatchSetLiveDomainConfigs
# with these parameters fails with STATUS and Code, and (unless MESSAGE is
# empty) the API reference's Message ERE.
batch_err() {
    local desc=$1 want=$2 msg=$3 out
    shift 3
    out=$(api BatchSetLiveDomainConfigs "$@")
    is "$(head -n 1 <<<"$out") $(jcode "$out")" "$want" "$desc" || diag "$out"
    [ -z "$msg" ] || like "$out" "\"Message\":\"$msg\"" "... with the API reference's message"
}

# ---- clients -------------------------------------------------------------------------
# rplay NAME QUERY: rtmpdump plays; prints ok (media arrived within 4 s) or
# refused (it gave up without media).
rplay() {
    local f=$LE_DIR/play-$BASHPID-$RANDOM.flv pid
    rm -f "$f"
    le_bg pid rtmpdump -q -v -m 3 -r "$(le_url "$1")${2:+?$2}" -o "$f" >>"$LE_DIR/rtmpdump.log" 2>&1
    le_wait_for 4 rplay_done "$pid" "$f"
    if [ "$(le_file_size "$f")" -gt 2000 ]; then echo ok; else echo refused; fi
    le_kill "$pid"
}
rplay_cam1() { rplay cam1 "$1"; }
rplay_done() { ! le_alive "$1" || [ "$(le_file_size "$2")" -gt 2000 ]; }
# rpub NAME QUERY: a 1 s ffmpeg publish; prints ok (ffmpeg finished cleanly) or refused.
rpub() {
    local N=$BASHPID-$RANDOM
    if timeout -k 3 20 ffmpeg -hide_banner -nostdin -loglevel error -re -f lavfi \
        -i "testsrc2=size=320x240:rate=25" -t 1 -c:v libx264 -preset ultrafast -g 25 \
        -f flv "$(le_url "$1")${2:+?$2}" >"$LE_DIR/rpub-$N.log" 2>&1; then echo ok; else echo refused; fi
}
# refused_because MARK ERE DESC: the daemon logged a refusal matching ERE after MARK.
refused_because() { le_wait_log "refused NetStream\\.[A-Za-z.]+: .*$2" 3 "$1" >/dev/null; ok $? "$3"; }

# ---- the file's aliauth (type A, key1) is in force from the start ------------------------
now=$(date +%s)
LE_PUB_SECS=1200 le_publish "cam1?$(sign a /live/cam1 "$now" "$K1")"
CAM_PID=$LE_PUB_PID
le_wait_publishing "$LE_PUB_PROGRESS" 15
ok $? "publish with a type A token signed with the file's key1" || diag "$(cat "$LE_PUB_LOG")"

out=$(api DescribeLiveDomainConfigs "DomainName=$LE_DOMAIN")
is "$(head -n 1 <<<"$out")" 200 "DescribeLiveDomainConfigs: 200"
like "$(tail -n +2 <<<"$out")" '"DomainConfigs":\{"DomainConfig":\[\]\}' "... nothing stored yet (the file's values are not API records)"

# ---- type A over RTMP play -------------------------------------------------------------------
now=$(date +%s)
is "$(rplay cam1 "$(sign a /live/cam1 "$now" "$K1")")" ok "A: play with key1"
m=$(le_log_lines)
is "$(rplay cam1 "$(sign a /live/cam1 "$now" wrong-key)")" refused "A: wrong key refused"
refused_because "$m" 'url auth \(type_a\): signature mismatch' "... logged as a signature mismatch"
m=$(le_log_lines)
is "$(rplay cam1 "$(sign a /live/other "$now" "$K1")")" refused "A: token for another path refused"
refused_because "$m" 'signature mismatch' "... logged"
t=$(sign a /live/cam1 "$now" "$K1"); t=${t/auth_key=$now-/auth_key=$((now + 100))-}
m=$(le_log_lines)
is "$(rplay cam1 "$t")" refused "A: tampered timestamp refused"
refused_because "$m" 'signature mismatch' "... logged"
m=$(le_log_lines)
is "$(rplay cam1 "")" refused "A: no token refused"
refused_because "$m" 'url auth \(type_a\): missing token' "... logged as a missing token"
m=$(le_log_lines)
is "$(rplay cam1 "auth_key=$now-0-$(sign a /live/cam1 "$now" "$K1" | cut -d- -f4)")" refused \
    "A: three fields refused"
refused_because "$m" 'malformed token' "... logged as malformed"
m=$(le_log_lines)
is "$(rplay cam1 "auth_key=$now-0-0-0-$(sign a /live/cam1 "$now" "$K1" | cut -d- -f4)")" refused \
    "A: five fields refused"
refused_because "$m" 'malformed token' "... logged as malformed"
is "$(rplay cam1 "$(sign a /live/cam1 "$now" "$K1" upper)")" ok "A: upper-case hex digest accepted"
is "$(rplay cam1 "x=1&$(sign a /live/cam1 "$now" "$K1")&y=2")" ok "A: token among other arguments"

tok_a() { sign a /live/cam1 $(( $1 - DELTA )) "$K1"; }
edge_ok "A: now == ts + ali_auth_delta passes" tok_a
m=$(le_log_lines)
past_edge "A: one second past the edge refused" tok_a
refused_because "$m" 'url auth \(type_a\): expired' "... logged as expired"

m=$(le_log_lines)
wire=$(timeout 10 ffprobe -hide_banner -v error "$(le_url cam1)?$(sign a /live/cam1 "$now" wrong-key)" 2>&1)
refused_because "$m" 'signature mismatch' "ffprobe refused"
unlike "$wire" 'mismatch|expired|malformed|url auth|type_a' "the wire carries the code only, not the reason"

# ---- type A over RTMP publish ----------------------------------------------------------------------
m=$(le_log_lines)
is "$(rpub cam2 "")" refused "A: publish without a token refused"
le_wait_log 'refused NetStream\.Publish\.BadName: url auth \(type_a\): missing token' 3 "$m" >/dev/null
ok $? "... NetStream.Publish.BadName, reason logged"
m=$(le_log_lines)
is "$(rpub cam2 "$(sign a /live/cam2 $(( $(date +%s) - DELTA - 5 )) "$K1")")" refused "A: publish with an expired token refused"
refused_because "$m" 'expired' "... logged as expired"
is "$(rpub cam2 "$(sign a /live/cam2 "$(date +%s)" "$K1")")" ok "A: publish with a valid token"

# ---- key rotation through the API, no restart --------------------------------------------------------
setcfg "$(fn aliauth auth_type=type_a "auth_key1=$K1" "auth_key2=$K2" ali_auth_delta=$DELTA)"
ok $? "BatchSet aliauth: key2 added"
now=$(date +%s)
is "$(rplay cam1 "$(sign a /live/cam1 "$now" "$K2")")" ok "rotation: key2 accepted at once"
is "$(rplay cam1 "$(sign a /live/cam1 "$now" "$K1")")" ok "rotation: key1 still accepted"
setcfg "$(fn aliauth auth_type=type_a auth_key1= "auth_key2=$K2" ali_auth_delta=$DELTA)"
ok $? "BatchSet aliauth: key1 dropped"
m=$(le_log_lines)
is "$(rplay cam1 "$(sign a /live/cam1 "$now" "$K1")")" refused "rotation: key1 refused once dropped"
refused_because "$m" 'signature mismatch' "... logged"
is "$(rplay cam1 "$(sign a /live/cam1 "$now" "$K2")")" ok "rotation: key2 still accepted"

out=$(api DescribeLiveDomainConfigs "DomainName=$LE_DOMAIN")
got=$(tail -n +2 <<<"$out" | python3 -c 'import json,sys
d = json.load(sys.stdin)["DomainConfigs"]["DomainConfig"]
for c in d:
    print(c["FunctionName"], c["Status"], type(c["ConfigId"]).__name__,
          ",".join("%s=%s" % (a["ArgName"], a["ArgValue"]) for a in c["FunctionArgs"]["FunctionArg"]))' 2>&1)
is "$got" "aliauth success int auth_type=type_a,auth_key1=,auth_key2=$K2,ali_auth_delta=$DELTA" \
    "DescribeLiveDomainConfigs returns what BatchSet stored"

# ---- type C (query form on RTMP) ----------------------------------------------------------------------
setcfg "$(fn aliauth auth_type=type_c "auth_key1=$K1" "auth_key2=$K2" ali_auth_delta=$DELTA)"
now=$(date +%s)
is "$(rplay cam1 "$(sign c /live/cam1 "$now" "$K1")")" ok "C: KEY1/KEY2 with key1"
is "$(rplay cam1 "$(sign c /live/cam1 "$now" "$K2" upper)")" ok "C: key2, upper-case digest"
m=$(le_log_lines)
is "$(rplay cam1 "$(sign c /live/cam1 "$now" nope)")" refused "C: wrong key refused"
refused_because "$m" 'url auth \(type_c\): signature mismatch' "... logged"
is "$(rplay cam1 "$(sign c /live/cam9 "$now" "$K1")")" refused "C: tampered path refused"
m=$(le_log_lines)
is "$(rplay cam1 "$(sign c /live/cam1 "$now" "$K1" | sed 's/&KEY2=.*//')")" refused "C: KEY1 alone refused"
refused_because "$m" 'malformed token' "... logged as malformed"
is "$(rplay cam1 "$(sign a /live/cam1 "$now" "$K1")")" refused "C: a type A token is no type C token"
tok_c() { sign c /live/cam1 $(( $1 - DELTA )) "$K1"; }
edge_ok "C: at the edge passes" tok_c
past_edge "C: one second past refused" tok_c

# ---- type B (query form on RTMP; minutes in UTC+8) ---------------------------------------------------
# The edge: the minute M is signed and ali_auth_delta set so that M + delta
# is the very second of the check.
setcfg "$(fn aliauth auth_type=type_b "auth_key1=$K1" "auth_key2=$K2" ali_auth_delta=600)"
now=$(date +%s)
is "$(rplay cam1 "$(sign b /live/cam1 "$now" "$K2")")" ok "B: KEY1/KEY2 with key2"
m=$(le_log_lines)
is "$(rplay cam1 "$(sign b /live/cam1 "$now" nope)")" refused "B: wrong key refused"
refused_because "$m" 'url auth \(type_b\): signature mismatch' "... logged"
bt=$(sign b /live/cam1 "$now" "$K1"); bm=${bt##*KEY2=}
is "$(rplay cam1 "${bt%%KEY2=*}KEY2=$((bm + 1))")" refused "B: tampered minute refused"
is "$(rplay cam1 "${bt%%KEY2=*}KEY2=${bm}9")" refused "B: 13-digit minute refused"
tok_b() {   # the minute two minutes back, ali_auth_delta set so it expires at $1
    local m=$(( $1 / 60 * 60 - 120 ))
    setcfg "$(fn aliauth auth_type=type_b "auth_key1=$K1" ali_auth_delta=$(( $1 - m )))" >&2
    sign b /live/cam1 "$m" "$K1"
}
edge_ok "B: minute + delta == now passes" tok_b
past_edge "B: one second past refused" tok_b

# ---- tx_secret (Tencent) -------------------------------------------------------------------------------
setcfg "$(fn aliauth auth_type=tx_secret "auth_key1=$K1" "auth_key2=$K2")"
now=$(date +%s)
is "$(rpub cam3 "$(sign tx cam3 $((now + 60)) "$K2")")" ok "tx: publish with txSecret/txTime (key2)"
m=$(le_log_lines)
is "$(rpub cam3 "$(sign tx cam3 $((now - 1)) "$K1")")" refused "tx: txTime in the past refused"
refused_because "$m" 'url auth \(tx_secret\): expired' "... logged as expired"
is "$(rplay cam1 "$(sign tx cam1 $((now + 60)) "$K1")")" ok "tx: play with key1"
is "$(rplay cam1 "$(sign tx cam3 $((now + 60)) "$K1")")" refused "tx: another stream's secret refused"
tok_tx() { sign tx cam1 "$1" "$K1"; }
edge_ok "tx: now == txTime passes" tok_tx
past_edge "tx: a second past txTime refused" tok_tx

# ---- IP lists (RTMP from 127.0.0.1) -----------------------------------------------------------------
setcfg "$(fn aliauth auth_type=no_auth)" "$(fn ip_black_list_set ip_list=10.0.0.0/8,127.0.0.1)"
ok $? "BatchSet: no_auth and an IP black list with 127.0.0.1"
m=$(le_log_lines)
is "$(rplay cam1 "")" refused "black list: play refused"
refused_because "$m" 'client 127\.0\.0\.1 is in ip_black_list' "... logged"
m=$(le_log_lines)
is "$(rpub cam4 "")" refused "black list: publish refused"
refused_because "$m" 'in ip_black_list' "... logged"
setcfg "$(fn ip_black_list_set ip_list=127.0.0.2/32,2001:db8::/32)"
is "$(rplay cam1 "")" ok "black list without us: play allowed"
delcfg ip_black_list_set
setcfg "$(fn ip_white_list_set "ip_list=10.0.0.0/8 ::1")"
m=$(le_log_lines)
is "$(rplay cam1 "")" refused "white list without us: play refused"
refused_because "$m" 'client 127\.0\.0\.1 is not in ip_white_list' "... logged"
setcfg "$(fn ip_white_list_set ip_list=::1,127.0.0.0/8)"
is "$(rplay cam1 "")" ok "white list with 127.0.0.0/8: play allowed"
is "$(rpub cam4 "")" ok "white list with 127.0.0.0/8: publish allowed"

# ---- HTTP: FLV, playlists, segments ---------------------------------------------------------------------
H=http://127.0.0.1:$LE_HTTP_PORT
# hget URL [curl args...]: the status of a GET (HTTP-FLV never ends: 2 s at most).
hget() { local u=$1; shift; curl -s -o /dev/null --max-time 2 -w '%{http_code}' "$@" "$u"; }
hflv() { if [ "$(hget "$H/live/cam1.flv${1:+?$1}")" = 200 ]; then echo ok; else echo refused; fi; }
# refused_http MARK ERE DESC: the daemon logged a 403 with a reason matching ERE.
refused_http() { le_wait_log "http: #[0-9]+ [^ ]+: 403 .*$2" 3 "$1" >/dev/null; ok $? "$3"; }
delcfg ip_white_list_set
setcfg "$(fn aliauth auth_type=type_a "auth_key1=$K1" "auth_key2=$K2" ali_auth_delta=$DELTA)"
ok $? "HTTP: type A with both keys"
now=$(date +%s)
F=/live/cam1.flv
is "$(hflv "$(sign a $F "$now" "$K1")")" ok "HTTP-FLV A: key1"
is "$(hflv "$(sign a $F "$now" "$K2")")" ok "HTTP-FLV A: key2"
is "$(hflv "$(sign a $F "$now" "$K2" upper)")" ok "HTTP-FLV A: upper-case hex"
m=$(le_log_lines)
resp=$(curl -s -i --max-time 5 "$H$F?$(sign a $F "$now" wrong-key)")
like "$resp" '^HTTP/1.1 403' "HTTP-FLV A: wrong key: 403"
like "$resp" '"Code":"AccessDenied"' "... with the error body"
like "$resp" 'Access-Control-Allow-Origin: \*' "... and the CORS header"
unlike "$resp" 'mismatch|expired|malformed|type_a|url auth' "... and no reason on the wire"
refused_http "$m" 'url auth \(type_a\): signature mismatch' "... the reason is in the log"
is "$(hflv "$(sign a /live/cam1.m3u8 "$now" "$K1")")" refused "HTTP-FLV A: token of another URI refused"
t=$(sign a $F "$now" "$K1"); t=${t/auth_key=$now-/auth_key=$((now - 1))-}
is "$(hflv "$t")" refused "HTTP-FLV A: tampered timestamp refused"
m=$(le_log_lines)
is "$(hflv "")" refused "HTTP-FLV A: no token refused"
refused_http "$m" 'missing token' "... logged as missing"
m=$(le_log_lines)
is "$(hflv "auth_key=$now-0-$(sign a $F "$now" "$K1" | cut -d- -f4)")" refused "HTTP-FLV A: three fields refused"
refused_http "$m" 'malformed token' "... logged as malformed"
hflv_tok_a() { sign a $F $(( $1 - DELTA )) "$K1"; }
edge_ok "HTTP-FLV A: now == ts + delta passes" hflv_tok_a hflv
m=$(le_log_lines)
past_edge "HTTP-FLV A: one second past refused" hflv_tok_a hflv
refused_http "$m" 'expired' "... logged as expired"
is "$(hget "$H/$(sign c-path $F "$now" "$K1" | cut -c2-)$F")" 404 "type A domain: a type C path is no resource (404)"

# File-configured referer black list (no API record yet); RTMP ignores referers.
m=$(le_log_lines)
is "$(hget "$H$F?$(sign a $F "$now" "$K1")" -H 'Referer: http://file-banned.example/page')" 403 \
    "file's referer_black_list: listed Referer refused"
refused_http "$m" 'Referer host file-banned\.example is in referer_black_list' "... logged"
is "$(hget "$H$F?$(sign a $F "$now" "$K1")" -H 'Referer: http://fine.example/')" 200 "... another Referer passes"

# ---- HLS: a signed playlist signs its segments --------------------------------------------------------------
P=/live/cam1.m3u8
pt=$(sign a $P "$now" "$K2")
pl=$(curl -s --max-time 5 "$H$P?$pt")
like "$pl" '^#EXTM3U' "HLS A: signed playlist served"
segs=$(grep -v '^#' <<<"$pl")
cmp_ok "$(grep -c . <<<"$segs")" -ge 3 "HLS A: the playlist lists segments"
bad=""
while read -r line; do
    if [[ $line =~ ^(cam1-[0-9]+\.ts)\?auth_key=([0-9]+)-0-0-([0-9a-f]{32})$ ]]; then
        f=${BASH_REMATCH[1]} ts=${BASH_REMATCH[2]} h=${BASH_REMATCH[3]}
        [ "$ts" = "$now" ] && [ "$(md5 "/live/$f-$ts-0-0-$K2")" = "$h" ] && continue
    fi
    bad+="$line "
done <<<"$segs"
is "$bad" "" "HLS A: every segment URI carries its own signature, same key and timestamp (checked independently)"
seg1=$(head -n 1 <<<"$segs")
is "$(hget "$H/live/$seg1")" 200 "HLS A: a listed (signed) segment URL: 200"
m=$(le_log_lines)
is "$(hget "$H/live/${seg1%%\?*}")" 403 "HLS A: the same segment unsigned: 403"
refused_http "$m" 'missing token' "... logged"
is "$(hget "$H/live/${seg1%%\?*}?$pt")" 403 "HLS A: the playlist's own token on a segment: 403"
seg2=$(sed -n 2p <<<"$segs")
is "$(hget "$H/live/${seg1%%\?*}?${seg2#*\?}")" 403 "HLS A: another segment's token: 403"

# ffmpeg plays the signed playlist from the start of its window, segments and reloads included.
m=$(le_log_lines)
timeout -k 3 40 ffmpeg -hide_banner -nostdin -v error -live_start_index 0 -i "$H$P?$(sign a $P "$(date +%s)" "$K1")" \
    -t 8 -c copy -f mpegts "$LE_DIR/hls-signed.ts" >"$LE_DIR/hls-signed.log" 2>&1
ok $? "ffmpeg plays a signed playlist" || diag "$(tail -5 "$LE_DIR/hls-signed.log")"
dur=$(timeout 30 ffprobe -v error -show_entries format=duration -of csv=p=0 "$LE_DIR/hls-signed.ts" 2>/dev/null)
cmp_ok "${dur%.*}" -ge 7 "... through the window and on (${dur:-0} s of media)"
refs=$(tail -n +"$((m + 1))" "$LE_LOG" | grep -c ': 403 ')
is "$refs" 0 "... without a single refused request"

# Type C path form over HTTP: absolute signed segment URIs.
setcfg "$(fn aliauth auth_type=type_c "auth_key1=$K1" ali_auth_delta=$DELTA)"
now=$(date +%s)
is "$(hget "$H$(sign c-path $F "$now" "$K1")$F")" 200 "HTTP-FLV C path form: 200"
is "$(hget "$H$(sign c-path $F "$now" nope)$F")" 403 "HTTP-FLV C path form, wrong key: 403"
is "$(hget "$H$F?$(sign c $F "$now" "$K1")")" 200 "HTTP-FLV C query form: 200"
pl=$(curl -s --max-time 5 "$H$(sign c-path $P "$now" "$K1")$P")
seg1=$(grep -v '^#' <<<"$pl" | head -n 1)
like "$seg1" "^/[0-9a-f]{32}/$(printf %x "$now")/live/cam1-[0-9]+\\.ts\$" "HLS C path form: segment URIs are signed absolute paths"
is "$(hget "$H$seg1")" 200 "... and are served"
setcfg "$(fn aliauth auth_type=type_b "auth_key1=$K1" ali_auth_delta=600)"
is "$(hget "$H$(sign b-path $F "$now" "$K1")$F")" 200 "HTTP-FLV B path form: 200"
bt=$(sign b-path $F "$now" "$K1")
is "$(hget "$H/209901010000/${bt##*/}$F")" 403 "HTTP-FLV B path form, tampered minute: 403"
setcfg "$(fn aliauth auth_type=tx_secret "auth_key1=$K1")"
is "$(hget "$H$F?$(sign tx cam1 $((now + 60)) "$K1")")" 200 "HTTP-FLV tx_secret: 200"
pl=$(curl -s --max-time 5 "$H$P?$(sign tx cam1 $((now + 60)) "$K1")")
seg1=$(grep -v '^#' <<<"$pl" | head -n 1)
is "$(hget "$H/live/$seg1")" 200 "HLS tx_secret: listed segment served"

# ---- HTTP IP lists (127.0.0.1 and 127.0.0.2 on loopback) and referer lists ---------------------------------------
setcfg "$(fn aliauth auth_type=no_auth)" "$(fn ip_black_list_set ip_list=127.0.0.2)"
m=$(le_log_lines)
is "$(hget "$H$F" --interface 127.0.0.2)" 403 "IP black list: 127.0.0.2 refused"
refused_http "$m" 'client 127\.0\.0\.2 is in ip_black_list' "... logged"
is "$(hget "$H$F")" 200 "IP black list: 127.0.0.1 allowed"
delcfg ip_black_list_set
setcfg "$(fn ip_white_list_set ip_list=127.0.0.2/32,::1)"
is "$(hget "$H$P" --interface 127.0.0.2)" 200 "IP white list: 127.0.0.2 allowed"
m=$(le_log_lines)
is "$(hget "$H$P")" 403 "IP white list: 127.0.0.1 refused"
refused_http "$m" 'client 127\.0\.0\.1 is not in ip_white_list' "... logged"
delcfg ip_white_list_set

setcfg "$(fn referer_white_list_set 'refer_domain_allow_list=example.com, *.cdn.test' allow_empty=off)"
m=$(le_log_lines)
is "$(hget "$H$F")" 403 "referer white list, allow_empty off: no Referer refused"
refused_http "$m" 'empty Referer' "... logged"
is "$(hget "$H$F" -H 'Referer: https://www.example.com/player')" 200 "... subdomain of a listed host passes"
is "$(hget "$H$F" -H 'Referer: https://EXAMPLE.com:8443/')" 200 "... the host itself, any case and port, passes"
m=$(le_log_lines)
is "$(hget "$H$F" -H 'Referer: https://badexample.com/')" 403 "... badexample.com refused"
refused_http "$m" 'Referer host badexample\.com is not in referer_white_list' "... logged"
is "$(hget "$H$F" -H 'Referer: https://a.cdn.test/')" 200 "... *.cdn.test matches a subdomain"
is "$(hget "$H$F" -H 'Referer: https://cdn.test/')" 403 "... but not cdn.test itself"
is "$(rplay cam1 "")" ok "referer lists do not apply to RTMP"
setcfg "$(fn referer_white_list_set 'refer_domain_allow_list=example.com' allow_empty=on)"
is "$(hget "$H$F")" 200 "allow_empty on: no Referer passes"
delcfg referer_white_list_set
setcfg "$(fn referer_black_list_set refer_domain_deny_list=evil.test allow_empty=on)"
is "$(hget "$H$F" -H 'Referer: http://sub.evil.test/x')" 403 "referer black list: a subdomain of a listed host refused"
is "$(hget "$H$F" -H 'Referer: http://file-banned.example/')" 200 "... the API list replaced the file's"
is "$(hget "$H$F" -H 'Referer: http://good.test/')" 200 "... others pass"
is "$(hget "$H$F")" 200 "... no Referer passes (allow_empty on)"
delcfg referer_black_list_set
is "$(hget "$H$F" -H 'Referer: http://file-banned.example/')" 403 "deleted through the API: the file's list is back"

# ---- API errors ------------------------------------------------------------------------------------------
D=DomainNames=$LE_DOMAIN
batch_err "BatchSet: bad JSON" "400 InvalidFunctions.Malformed" 'Specified Functions is malformed\.' \
    "$D" 'Functions=[{"functionName":"aliauth",'
batch_err "BatchSet: an object, not a list" "400 InvalidFunctions.Malformed" "" \
    "$D" 'Functions={"functionName":"aliauth"}'
batch_err "BatchSet: a malformed function name" "400 InvalidFunctionName.ValueNotSupported" \
    'FunctionName https force is not supported\.' "$D" "Functions=[$(fn 'https force' enable=on)]"
batch_err "BatchSet: unknown arg name" "400 InvalidArgName.ValueNotSupported" \
    'ArgName auth_kind is not supported\.' "$D" "Functions=[$(fn aliauth auth_kind=type_a)]"
batch_err "BatchSet: a bad CIDR" "400 InvalidArgValue.Malformed" 'Specified ArgValue is malformed\.' \
    "$D" "Functions=[$(fn ip_white_list_set ip_list=10.0.0.0/33)]"
batch_err "BatchSet: unknown auth_type" "400 InvalidArgValue.Malformed" "" \
    "$D" "Functions=[$(fn aliauth auth_type=type_z)]"
batch_err "BatchSet: a bad referer pattern" "400 InvalidArgValue.Malformed" "" \
    "$D" "Functions=[$(fn referer_white_list_set 'refer_domain_allow_list=a*b.com')]"
batch_err "BatchSet: unknown domain" "404 InvalidDomain.NotFound" "" \
    DomainNames=nosuch.example "Functions=[$(fn aliauth auth_type=no_auth)]"
batch_err "BatchSet: no DomainNames" "400 MissingParameter" "" "Functions=[$(fn aliauth auth_type=no_auth)]"
out=$(api BatchSetLiveDomainConfigs "DomainName=$LE_DOMAIN" "Functions=[$(fn alilive notify_url=http://127.0.0.1:9/cb)]")
is "$(head -n 1 <<<"$out")" 200 "BatchSet: DomainName (the API reference example's spelling) accepted"
out=$(api BatchDeleteLiveDomainConfigs "DomainNames=$LE_DOMAIN" 'FunctionNames=alilive,https*force')
is "$(jcode "$out")" InvalidFunctionName.ValueNotSupported "BatchDelete: malformed function name"
out=$(api DescribeLiveDomainConfigs "DomainName=$LE_DOMAIN" 'FunctionNames=g zip!')
is "$(jcode "$out")" InvalidFunctionName.ValueNotSupported "Describe: malformed function name"

out=$(api DescribeLiveDomainConfigs "DomainName=$LE_DOMAIN" FunctionNames=alilive)
id=$(tail -n +2 <<<"$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["DomainConfigs"]["DomainConfig"][0]["ConfigId"])' 2>/dev/null)
like "$id" '^[0-9]+$' "Describe FunctionNames=alilive: one record with a numeric ConfigId"
out=$(api DeleteLiveSpecificConfig "DomainName=$LE_DOMAIN" "ConfigId=$id")
is "$(head -n 1 <<<"$out")" 200 "DeleteLiveSpecificConfig: 200"
out=$(api DescribeLiveDomainConfigs "DomainName=$LE_DOMAIN" FunctionNames=alilive)
like "$out" '"DomainConfig":\[\]' "... the record is gone"
out=$(api DeleteLiveSpecificConfig "DomainName=$LE_DOMAIN" "ConfigId=$id")
is "$(head -n 1 <<<"$out")" 404 "DeleteLiveSpecificConfig again: 404"
out=$(api DeleteLiveSpecificConfig "DomainName=$LE_DOMAIN")
like "$out" 'ConfigId can not be empty|MissingParameter' "DeleteLiveSpecificConfig without ConfigId: MissingParameter"
is "$(head -n 1 <<<"$out")" 400 "... with status 400"

# ---- stored in Redis: a restarted node keeps the API's settings over the file's ----------------------------
setcfg "$(fn aliauth auth_type=type_a "auth_key1=$K2")" "$(fn ip_white_list_set ip_list=127.0.0.0/8)"
le_kill "$CAM_PID"
le_stop
LE_QUIET_START=1 le_start || le_abort "livedge did not restart"
stored_key2() { api DescribeLiveDomainConfigs "DomainName=$LE_DOMAIN" FunctionNames=aliauth |
    grep -q "\"ArgName\":\"auth_key1\",\"ArgValue\":\"$K2\""; }
le_wait_for 5 stored_key2
ok $? "after a restart: Describe returns the stored aliauth (loaded from Redis)"
now=$(date +%s)
is "$(rpub cam5 "$(sign a /live/cam5 "$now" "$K1")")" refused "after a restart: the file's key1 is overridden"
is "$(rpub cam5 "$(sign a /live/cam5 "$now" "$K2")")" ok "after a restart: the stored key is in force"

# ---- Redis down: changes are refused with 503 ---------------------------------------------------------------
le_kill "$LE_REDIS_PID"
# A harmless change until the node notices (it is applied while Redis is up).
refused_503() { [ "$(api BatchSetLiveDomainConfigs "DomainNames=$LE_DOMAIN" \
    "Functions=[$(fn ip_black_list_set ip_list=10.9.9.9)]" | head -n 1)" = 503 ]; }
le_wait_for 10 refused_503
ok $? "the node notices Redis is gone"
out=$(api BatchSetLiveDomainConfigs "DomainNames=$LE_DOMAIN" "Functions=[$(fn aliauth auth_type=no_auth)]")
is "$(head -n 1 <<<"$out")" 503 "BatchSet with Redis down: 503"
out=$(api DescribeLiveDomainConfigs "DomainName=$LE_DOMAIN" FunctionNames=aliauth)
is "$(head -n 1 <<<"$out")" 200 "Describe with Redis down: served from memory"
is "$(rpub cam5 "$(sign a /live/cam5 "$(date +%s)" "$K2")")" ok "Redis down: publishes still checked from memory"

le_alive_ok
le_stop
done_testing
