#!/bin/sh
# 70-timeshift: time-shift (livedge.conf(5), TIME-SHIFT). About 40 s of publishing with
# 1 s fragments (two publishes with a gap), then: event playlists that grow,
# an offset playlist that slides, start+end gaining ENDLIST once end passed,
# a 20 s VOD window that ffmpeg reads end to end (the same window as unix s,
# unix ms and human time in zone 8), discontinuities at the gap, the timeline
# (one span per publish), node and Redis restarts keeping the history,
# --reindex restoring a wiped index, a 20 s retention sweeping files and
# entries, a 2-hour (3,600 segment) playlist timed, and 400 for each bad
# argument. Wall time ~100 s.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
# shellcheck source=t/integration/lib.sh
. "$(dirname "$0")/lib.sh"

le_require_daemon
le_require_tool ffmpeg ffprobe curl python3 redis-server redis-cli

# A Redis that keeps its data over a restart (append-only file), unlike
# le_start_redis: the restart test needs it.
ts_start_redis() {
    le_bg LE_REDIS_PID redis-server --bind 127.0.0.1 --port "$LE_REDIS_PORT" --save '' \
        --appendonly yes --appendfsync always --dir "$LE_DIR" --daemonize no --logfile "$LE_DIR/redis.log"
    export LE_REDIS_PID
    le_wait_for 5 le_port_open "$LE_REDIS_PORT"
}
LE_REDIS_PORT=$(le_free_port 1)
export LE_REDIS_PORT
ts_start_redis || le_abort "redis-server (append-only) did not start"

SHORT=short.test
LE_DOMAIN_CONF="    timeshift on;
    timeshift_retention 3h;"
AUTHD=auth.test
AK=ts-auth-secret
LE_EXTRA_CONF="domain $SHORT {
    hls_fragment 1s;
    timeshift on;
    timeshift_retention 20s;
}
domain $AUTHD {
    timeshift on;
    aliauth { auth_type type_a; auth_key1 $AK; }
}"
le_start || le_abort "livedge did not start"
H=http://127.0.0.1:$LE_HTTP_PORT
PFX="letest$$:"
KEY="${PFX}ts:$LE_DOMAIN/live/cam"
SKEY="${PFX}ts:$SHORT/live/s1"
rc() { redis-cli -p "$LE_REDIS_PORT" "$@"; }
zcard() { rc ZCARD "$1" 2>/dev/null | tr -dc '0-9'; }
zcard_ge() { [ "$(zcard "$1")" -ge "$2" ] 2>/dev/null; }
get() { curl -s --max-time 10 "$H$1" | tr -d '\r'; }
status() { curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$H$1"; }
nlines() { grep -c -- "$2" <<<"$1"; }

# ---- publish 1 (25 s), and a short-retention stream alongside --------------
T0=$(le_now_ms)
LE_PUB_SECS=25 le_publish cam
PUB1=$LE_PUB_PID
le_wait_publishing "$LE_PUB_PROGRESS" 15
ok $? "ffmpeg publishes live/cam" || diag "$(cat "$LE_PUB_LOG")"
LE_PUB_SECS=8 le_publish "s1?vhost=$SHORT"
PUBS=$LE_PUB_PID
le_wait_for 20 zcard_ge "$KEY" 6
ok $? "segments are indexed in Redis as they are sealed"
member=$(rc ZRANGE "$KEY" 0 0)
like "$member" '^[0-9]{13}\|[0-9]+\|[0-9]+\|1\|[0-9]+\|[0-9]{8}/[0-9]{13}-[0-9]+-[0-9]+-[0-9]+-d\.ts$' \
    "index member: start|duration|seq|disc|dseq|day/file"
S1=${member%%|*}
rel=${member##*|}
f="$LE_DATA_DIR/ts/$LE_DOMAIN/live/cam/$rel"
ok "$([ -s "$f" ]; echo $?)" "the indexed file is on disk under data_dir/ts/domain/app/stream/day/"
cmp_ok "$(find "$LE_DATA_DIR/ts/$SHORT" -name '*.ts' 2>/dev/null | wc -l)" -ge 1 \
    "the short-retention domain's segments are written too"

EV="/live/cam.m3u8?lhs_start=1&lhs_start_unix_ms_0=$((T0 - 2000))"
EVE="/live/cam.m3u8?aliyunols=on&lhs_start_unix_ms_0=$((T0 - 2000))&lhs_end_unix_ms_0=$((T0 + 14000))"
SL="/live/cam.m3u8?lhs_offset_unix_s_0=3"
ev1=$(get "$EV"); eve1=$(get "$EVE"); sl1=$(get "$SL")
like "$ev1" '#EXT-X-PLAYLIST-TYPE:EVENT' "start only: an EVENT playlist"
like "$ev1" '#EXT-X-START:TIME-OFFSET=0' "start only: EXT-X-START:TIME-OFFSET=0"
unlike "$ev1" 'ENDLIST' "start only: no ENDLIST"
is "$(nlines "$ev1" '^#EXT-X-PROGRAM-DATE-TIME:')" "$(nlines "$ev1" '^#EXTINF')" \
    "EXT-X-PROGRAM-DATE-TIME on every segment"
like "$(grep -v '^#' <<<"$ev1" | head -n 1)" '^cam\.lhs\.[0-9]+-[0-9]+-[0-9]+-[0-9]+(-d)?\.ts$' \
    "segment URIs: relative Stream.lhs.{start}-{seq}-{dur}-{dseq}.ts"
unlike "$eve1" 'ENDLIST' "start+end before end: no ENDLIST yet"
like "$sl1" '#EXT-X-MEDIA-SEQUENCE:' "offset: a live playlist"
unlike "$sl1" 'PLAYLIST-TYPE|ENDLIST' "offset: no type, no ENDLIST"
c1=$(nlines "$ev1" '^#EXTINF')
m1=$(sed -n 's/^#EXT-X-MEDIA-SEQUENCE://p' <<<"$sl1")
sleep 4
ev2=$(get "$EV"); sl2=$(get "$SL")
c2=$(nlines "$ev2" '^#EXTINF')
cmp_ok "$c2" -gt "$c1" "the event playlist grows ($c1 -> $c2 segments)"
is "$(sed -n 's/^#EXT-X-MEDIA-SEQUENCE://p' <<<"$ev2")" "$(sed -n 's/^#EXT-X-MEDIA-SEQUENCE://p' <<<"$ev1")" \
    "... from the same first segment"
m2=$(sed -n 's/^#EXT-X-MEDIA-SEQUENCE://p' <<<"$sl2")
cmp_ok "$m2" -gt "$m1" "the offset playlist slides (media sequence $m1 -> $m2)"
last_pdt=$(grep '^#EXT-X-PROGRAM-DATE-TIME:' <<<"$sl2" | tail -n 1 | cut -d: -f2-)
last_ms=$(( $(date -u -d "$last_pdt" +%s%N) / 1000000 ))
cmp_ok "$last_ms" -le "$(( $(le_now_ms) - 3000 ))" "the offset playlist ends 3 s before now"

# start+end gains ENDLIST once end has passed.
has_endlist() { get "$EVE" | grep -q ENDLIST; }
le_wait_for 15 has_endlist
ok $? "start+end: ENDLIST once the end has passed"
eve2=$(get "$EVE")
last_eve=$(grep '^#EXT-X-PROGRAM-DATE-TIME:' <<<"$eve2" | tail -n 1 | cut -d: -f2-)
cmp_ok "$(( $(date -u -d "$last_eve" +%s%N) / 1000000 ))" -lt "$((T0 + 14000))" \
    "start+end: lists only segments starting before the end"

# ---- gap, publish 2 (15 s) ---------------------------------------------------
le_wait_exit "$PUB1" 40
sleep 5
LE_PUB_SECS=15 le_publish cam
PUB2=$LE_PUB_PID
le_wait_publishing "$LE_PUB_PROGRESS" 15
le_wait_exit "$PUB2" 40
ok $? "second publish of live/cam done"
sleep 2   # the last segment reaches the index

# ---- a 20 s VOD window, three ways ------------------------------------------
A=$(( S1 / 1000 + 2 )); B=$(( A + 20 ))
hA=$(date -u -d "@$((A + 8 * 3600))" +%Y%m%d%H%M%S); hB=$(date -u -d "@$((B + 8 * 3600))" +%Y%m%d%H%M%S)
VOD="/live/cam.m3u8?lhs_start_unix_s_0=$A&lhs_vodend_unix_s_0=$B"
v_s=$(get "$VOD")
v_ms=$(get "/live/cam.m3u8?lhs_start_unix_ms_0=${A}000&lhs_vodend_unix_ms_0=${B}000")
v_h=$(get "/live/cam.m3u8?lhs_start=1&lhs_start_human_s_8=$hA&lhs_vodend_human_s_8=$hB")
like "$v_s" '#EXT-X-PLAYLIST-TYPE:VOD' "vodend: a VOD playlist"
like "$v_s" '#EXT-X-ENDLIST' "vodend: ENDLIST"
is "$v_ms" "$v_s" "the same window as unix ms: the same playlist"
is "$v_h" "$v_s" "the same window as human time in zone 8: the same playlist"
sum=$(sed -n 's/^#EXTINF:\([0-9.]*\),.*/\1/p' <<<"$v_s" | awk '{ s += $1 } END { printf "%.3f", s }')
awk -v d="$sum" 'BEGIN { exit !(d >= 18.9 && d <= 21.1) }'
ok $? "VOD EXTINF total $sum s is 20 s within one segment"
curl -s -D "$LE_DIR/vod.hdr" -o /dev/null --max-time 5 "$H$VOD"
like "$(tr -d '\r' <"$LE_DIR/vod.hdr")" 'Access-Control-Allow-Origin: \*' "playlist: CORS"
timeout -k 3 60 ffmpeg -hide_banner -nostdin -v warning -i "$H$VOD" -c copy -f mpegts -y "$LE_DIR/vod.ts" \
    >"$LE_DIR/ffvod.log" 2>&1
ok $? "ffmpeg reads the VOD playlist end to end" || diag "$(tail -n 20 "$LE_DIR/ffvod.log")"
unlike "$(cat "$LE_DIR/ffvod.log")" '[Tt]imestamp|DTS|PTS|[Ee]rror|[Ii]nvalid' "ffmpeg: no timestamp errors"
dur=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$LE_DIR/vod.ts" 2>/dev/null)
awk -v d="$dur" 'BEGIN { exit !(d >= 18.9 && d <= 21.1) }'
ok $? "the VOD copy lasts ${dur} s: 20 s within one segment"
uri=$(grep -v '^#' <<<"$v_s" | head -n 1)
curl -s -D "$LE_DIR/seg.hdr" -o "$LE_DIR/seg.ts" --max-time 5 "$H/live/$uri"
like "$(tr -d '\r' <"$LE_DIR/seg.hdr")" '^HTTP/1.1 200' "a listed segment is served"
like "$(tr -d '\r' <"$LE_DIR/seg.hdr")" 'Content-Type: video/mp2t' "... as video/mp2t"
sname=${uri#cam.lhs.}
sfile="$LE_DATA_DIR/ts/$LE_DOMAIN/live/cam/$(date -u -d "@$(( ${sname%%-*} / 1000 ))" +%Y%m%d)/$sname"
cmp -s "$LE_DIR/seg.ts" "$sfile"
ok $? "... byte for byte the file on disk"
is "$(status "/live/cam.lhs.1-2-3-4.ts")" 404 "an unknown time-shift segment: 404"

# Both publishes: a discontinuity at the gap, PDT everywhere.
all=$(get "/live/cam.m3u8?lhs_start_unix_ms_0=$((T0 - 2000))&lhs_vodend_unix_ms_0=$(le_now_ms)")
cmp_ok "$(nlines "$all" '^#EXT-X-DISCONTINUITY$')" -ge 1 "EXT-X-DISCONTINUITY where the publisher stopped"
is "$(nlines "$all" '^#EXT-X-PROGRAM-DATE-TIME:')" "$(nlines "$all" '^#EXTINF')" "PDT on every segment of both runs"

# ---- the timeline --------------------------------------------------------------
TL="/openapi/timeline/query?app=live&stream=cam&format=ts&lhs_start_unix_s_0=$((T0 / 1000 - 5))&lhs_end_unix_s_0=$(( $(le_now_ms) / 1000 + 5 ))"
tl=$(get "$TL")
like "$tl" '^\{"retCode":0,"description":"success","content":\{"current":[0-9]+,"timeline":\[' "timeline: the reference's envelope"
spans=$("$LE_PY" -c 'import json,sys; t=json.loads(sys.argv[1])["content"]["timeline"]
print(len(t), t[1]["start"] - t[0]["end"] if len(t) > 1 else -1)' "$tl" 2>/dev/null)
is "${spans%% *}" 2 "timeline: one span per publish"
cmp_ok "${spans##* }" -ge 3 "timeline: a gap of ${spans##* } s where the publisher stopped"
tlf=$(curl -s -w '\n%{http_code}' --max-time 5 "$H${TL/format=ts/format=flv}")
like "$tlf" '"retCode":[1-9]' "timeline format=flv: non-zero retCode (TS only)"
is "${tlf##*$'\n'}" 400 "timeline format=flv: HTTP 400"

# ---- under aliauth: signed playlist, signed segment URLs, signed timeline ---------
# One real segment, copied to the auth domain's tree and indexed there.
md5() { printf '%s' "$1" | md5sum | cut -d' ' -f1; }
sign_a() { local ts; ts=$(( $(le_now_ms) / 1000 )); echo "auth_key=$ts-0-0-$(md5 "$1-$ts-0-0-$AK")"; }
amember=$(rc ZRANGEBYSCORE "$KEY" "${sname%%-*}" "${sname%%-*}" | head -n 1)
afile="$LE_DATA_DIR/ts/$AUTHD/live/cam/${amember##*|}"
mkdir -p "$(dirname "$afile")" && cp "$sfile" "$afile"
rc ZADD "${PFX}ts:$AUTHD/live/cam" "${sname%%-*}" "$amember" >/dev/null
AQ="vhost=$AUTHD&lhs_start_unix_ms_0=$(( ${sname%%-*} - 1000 ))&lhs_vodend_unix_ms_0=$(( ${sname%%-*} + 1000 ))"
is "$(status "/live/cam.m3u8?$AQ")" 403 "auth: an unsigned time-shift playlist is refused"
apl=$(get "/live/cam.m3u8?$AQ&$(sign_a /live/cam.m3u8)")
auri=$(grep -v '^#' <<<"$apl" | head -n 1)
like "$auri" '^cam\.lhs\.[0-9-]+(-d)?\.ts\?vhost=auth\.test&auth_key=[0-9]+-0-0-[0-9a-f]{32}$' \
    "auth: the playlist signs its segment URIs" || diag "$apl"
is "$(status "/live/$auri")" 200 "auth: a signed segment URI is served"
is "$(status "/live/${auri%%&auth_key=*}")" 403 "auth: the same segment unsigned is refused"
ATL="/openapi/timeline/query?app=live&stream=cam&format=ts&domain=$AUTHD&lhs_start_unix_s_0=$((T0 / 1000))&lhs_end_unix_s_0=$(( $(le_now_ms) / 1000 ))"
r=$(curl -s -w '\n%{http_code}' --max-time 5 "$H$ATL")
is "${r##*$'\n'}" 403 "auth: an unsigned timeline query is refused"
like "${r%$'\n'*}" '"retCode":403' "... in the timeline envelope"
like "$(get "$ATL&$(sign_a /openapi/timeline/query)")" '"retCode":0,.*"timeline":\[\{"start"' \
    "auth: a signed timeline query (URI /openapi/timeline/query) answers"

# ---- node restart ------------------------------------------------------------------
n_before=$(zcard "$KEY")
le_stop
ln -s "data.$LE_START_N" "$LE_DIR/data.$((LE_START_N + 1))"
LE_FIXED_PORTS="$LE_RTMP_PORT $LE_HTTP_PORT $LE_ADMIN_PORT" le_start || le_abort "livedge did not restart"
pl_is() { [ "$(get "$VOD")" = "$v_s" ]; }
le_wait_for 10 pl_is
ok $? "after a node restart: the same VOD playlist"
is "$(status "/live/$uri")" 200 "after a node restart: the segment is served"

# ---- Redis restart ---------------------------------------------------------------
le_kill "$LE_REDIS_PID"
ts_start_redis || le_abort "redis-server did not restart"
le_wait_for 15 pl_is
ok $? "after a Redis restart: the same VOD playlist"
is "$(zcard "$KEY")" "$n_before" "after a Redis restart: every index entry is there"

# ---- reindex ---------------------------------------------------------------------
rc DEL "$KEY" >/dev/null
is "$(status "$VOD")" 404 "index wiped: the window is empty"
mapfile -t envs < <(le__san_env)
out=$(env "${envs[@]}" "$LE_BIN" --reindex -c "$LE_CONF" 2>&1)
ok $? "livedge --reindex exits 0" || diag "$out"
like "$out" 'reindex: [0-9]+ segments' "--reindex reports what it did"
unlike "$out" 'AddressSanitizer|runtime error|LeakSanitizer' "--reindex: no sanitizer report"
is "$(zcard "$KEY")" "$n_before" "reindex restores every entry"
le_wait_for 5 pl_is
ok $? "reindex: the same VOD playlist again"

# ---- retention -------------------------------------------------------------------
swept() { [ "$(zcard "$SKEY")" = 0 ] && [ "$(find "$LE_DATA_DIR/ts/$SHORT" -name '*.ts' 2>/dev/null | wc -l)" = 0 ]; }
wait_s=$(( (T0 + 8000 + 20000 + 10000 - $(le_now_ms)) / 1000 ))
[ "$wait_s" -gt 10 ] || wait_s=10
le_wait_for "$wait_s" swept
ok $? "retention 20 s: expired files and index entries are removed together"

# ---- a 2-hour window: 3,600 segments, one range query -------------------------
NOW=$(le_now_ms); BASE=$(( NOW - 2 * 3600 * 1000 - 60000 ))
"$LE_PY" - "${PFX}ts:$LE_DOMAIN/live/synth" "$BASE" <<'EOF' | redis-cli -p "$LE_REDIS_PORT" --pipe >/dev/null
import sys, time
key, base = sys.argv[1], int(sys.argv[2])
def resp(*a):
    out = "*%d\r\n" % len(a)
    for x in a:
        x = str(x); out += "$%d\r\n%s\r\n" % (len(x.encode()), x)
    return out
w = sys.stdout.write
for i in range(3600):
    s = base + i * 2000; d = time.strftime("%Y%m%d", time.gmtime(s // 1000)); f = "-d" if i == 0 else ""
    m = "%d|2000|%d|%d|%d|%s/%d-%d-2000-%d%s.ts" % (s, base + i, 1 if i == 0 else 0, base, d, s, base + i, base, f)
    w(resp("ZADD", key, s, m))
EOF
is "$(zcard "${PFX}ts:$LE_DOMAIN/live/synth")" 3600 "3,600 synthetic entries indexed"
BIG="/live/synth.m3u8?lhs_start_unix_ms_0=$BASE&lhs_vodend_unix_ms_0=$((BASE + 7200000))"
t=$(curl -s -o "$LE_DIR/big.m3u8" -w '%{time_total}' --max-time 10 "$H$BIG")
is "$(grep -c '^#EXTINF' "$LE_DIR/big.m3u8")" 3600 "2-hour VOD playlist lists 3,600 segments"
awk -v t="$t" 'BEGIN { exit !(t < 1.0) }'
ok $? "2-hour playlist answered in $t s (< 1 s)"
diag "2-hour playlist (3,600 segments, $(le_file_size "$LE_DIR/big.m3u8") bytes): $t s"

# ---- bad arguments: 400 ----------------------------------------------------------------
# bad_400 LABEL PATH BODY-ERE BODY-DESC: HTTP 400 and a body matching BODY-ERE.
bad_400() {
    local r
    r=$(curl -s -w '\n%{http_code}' --max-time 5 "$H$2")
    is "${r##*$'\n'}" 400 "$1: 400"
    like "${r%$'\n'*}" "$3" "$1: $4"
}
N=$(( $(le_now_ms) / 1000 ))
for q in "lhs_begin_unix_s_0=$N" "lhs_start_unix_min_0=$N" "lhs_start_unix_s_0=12ab" \
    "lhs_start_human_s_8=20171332160220" "lhs_start_unix_s_10=$N" \
    "lhs_start_unix_s_0=$((N - 10))&lhs_end_unix_s_0=$((N - 20))" "lhs_start_unix_s_0=$((N - 4 * 3600))" \
    "aliyunols=off&lhs_start_unix_s_0=$N" "lhs_start=1" \
    "lhs_start=1&lhs_start_unix_s_0=$((N - 60))%00" "lhs_start=1%00&lhs_start_unix_s_0=$((N - 60))" \
    "lhs_start_unix_s_0=$((N - 60))&lhs_end_unix_ms_0=9223372036854775807" \
    "lhs_start_unix_s_0=$((N - 60))&lhs_vodend_unix_us_0=9223372036854775807"; do
    bad_400 "playlist $q" "/live/cam.m3u8?$q" '"Code":"InvalidParameter"' "error body"
done
TLB="/openapi/timeline/query?app=live&stream=cam&format=ts"
for q in "lhs_begin_unix_s_0=$N&lhs_end_unix_s_0=$N" "lhs_start_unix_min_0=$N&lhs_end_unix_s_0=$N" \
    "lhs_start_unix_s_0=12ab&lhs_end_unix_s_0=$N" "lhs_start_human_s_8=20171332160220&lhs_end_unix_s_0=$N" \
    "lhs_start_unix_s_10=$N&lhs_end_unix_s_0=$N" "lhs_start_unix_s_0=$N&lhs_end_unix_s_0=$((N - 20))" \
    "lhs_start_unix_s_0=$((N - 4 * 3600))&lhs_end_unix_s_0=$N" "lhs_start_unix_s_0=$N" \
    "lhs_start_unix_s_0=$((N - 60))%00&lhs_end_unix_s_0=$N" \
    "lhs_start_unix_s_0=$((N - 60))&lhs_end_unix_ms_0=9223372036854775807"; do
    bad_400 "timeline $q" "$TLB&$q" '^\{"retCode":[1-9][0-9]*,"description":"[^"]+"' "non-zero retCode"
done
r=$(curl -s -w '\n%{http_code}' --max-time 5 "$H/openapi/timeline/query?app=live&stream=cam&format=ts&lhs_start_unix_s_0=$N&lhs_end_unix_s_0=$N&domain=unknown.example.org")
like "${r%$'\n'*}" '"retCode":[1-9]' "timeline, unknown domain: the envelope with a non-zero retCode"
is "${r##*$'\n'}" 403 "timeline, unknown domain: HTTP 403"

le_alive_ok
le_stop
le_kill "$PUBS"
done_testing
