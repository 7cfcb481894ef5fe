#!/bin/sh
# 43-samples: the per-minute history actions against a private
# redis-server: a publish with two RTMP players that spans a minute boundary
# leaves a sample in DescribeLiveStreamHistoryUserNum (viewers counted) and in
# DescribeLiveStreamBitRateData (frame rate and bitrate), and their parameter
# checks (1-day window, required names) answer the right codes.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
: "${LE_SCRIPT_TIMEOUT:=240}"
# shellcheck source=t/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=t/integration/admin.sh
. "$(dirname "$0")/admin.sh"

le_require_daemon
le_require_tool ffmpeg rtmpdump python3 curl redis-server

LE_WAIT_PORTS="rtmp http admin"
le_start || le_abort "livedge did not start"

at() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }   # at EPOCH: UTC in the API format

t0=$(date +%s)
LE_PUB_SECS=120 le_publish smp
le_wait_publishing "$LE_PUB_PROGRESS" 15
ok $? "publishing live/smp"
le_player smp "$LE_DIR/p1.flv"; p1=$LE_PLAYER_PID
le_player smp "$LE_DIR/p2.flv"; p2=$LE_PLAYER_PID

# Samples are written when the wall-clock minute turns: wait for the first
# turn plus a few seconds for the write (bounded: at most ~75 s).
now=$(date +%s)
turn=$(( (now / 60 + 1) * 60 ))
[ $(( turn - now )) -lt 8 ] && turn=$(( turn + 60 ))
while [ "$(date +%s)" -lt $(( turn + 4 )) ]; do sleep 1; done
sampled_minute=$turn   # a sample is labelled with the instant it is taken: the turn
diag "minute sampled: $(at "$sampled_minute")"

api DescribeLiveStreamHistoryUserNum "DomainName=$LE_DOMAIN" AppName=live StreamName=smp \
    "StartTime=$(at $(( t0 - 120 )))" "EndTime=$(at "$(date +%s)")"
is "$API_CODE" 200 "DescribeLiveStreamHistoryUserNum answers" || diag "$API_BODY"
users=$(j "$API_BODY" "max([e['UserNum'] for e in d['LiveStreamUserNumInfos']['LiveStreamUserNumInfo'] if e['StreamTime']=='$(at "$sampled_minute")'] or [-1])")
is "$users" 2 "the sampled minute counts the two RTMP players" || diag "$API_BODY"
n=$(j "$API_BODY" "len(d['LiveStreamUserNumInfos']['LiveStreamUserNumInfo'])")
cmp_ok "${n:-0}" -ge 2 "one point per minute of the window ($n)"
first=$(j "$API_BODY" "d['LiveStreamUserNumInfos']['LiveStreamUserNumInfo'][0]['StreamTime'] > d['LiveStreamUserNumInfos']['LiveStreamUserNumInfo'][-1]['StreamTime']")
is "$first" true "newest minute first"

api DescribeLiveStreamBitRateData "DomainName=$LE_DOMAIN" AppName=live StreamName=smp \
    "StartTime=$(at $(( t0 - 120 )))" "EndTime=$(at "$(date +%s)")"
is "$API_CODE" 200 "DescribeLiveStreamBitRateData answers" || diag "$API_BODY"
fps=$(j "$API_BODY" "[e for e in d['FrameRateAndBitRateInfos']['FrameRateAndBitRateInfo'] if e['Time']=='$(at "$sampled_minute")'][0]['VideoFrameRate']")
rate=$(j "$API_BODY" "[e for e in d['FrameRateAndBitRateInfos']['FrameRateAndBitRateInfo'] if e['Time']=='$(at "$sampled_minute")'][0]['BitRate']")
url=$(j "$API_BODY" "d['FrameRateAndBitRateInfos']['FrameRateAndBitRateInfo'][0]['StreamUrl']")
"$LE_PY" -c "import sys; sys.exit(0 if 15 <= float('${fps:-0}') <= 35 else 1)" 2>/dev/null
ok $? "the sample's video frame rate is about 25 ($fps)"
"$LE_PY" -c "import sys; sys.exit(0 if float('${rate:-0}') > 50 else 1)" 2>/dev/null
ok $? "the sample's bitrate is positive, kbit/s ($rate)"
is "$url" "rtmp://$LE_DOMAIN/live/smp" "StreamUrl names the stream"

api DescribeLiveStreamBitRateData "DomainName=$LE_DOMAIN" AppName=live StreamName=nosuch
is "$API_CODE $(j "$API_BODY" "len(d['FrameRateAndBitRateInfos']['FrameRateAndBitRateInfo'])")" "200 0" \
    "a stream without samples has none"

# Parameter checks.
api DescribeLiveStreamHistoryUserNum "DomainName=$LE_DOMAIN" AppName=live StreamName=smp \
    "StartTime=$(at $(( t0 - 2 * 86400 )))" "EndTime=$(at "$t0")"
is "$API_CODE $(j "$API_BODY" "d['Code']")" "400 InvalidStartTime.ValueNotSupported" "a window over one day is refused"
api DescribeLiveStreamHistoryUserNum "DomainName=$LE_DOMAIN" AppName=live \
    "StartTime=$(at $(( t0 - 60 )))" "EndTime=$(at "$t0")"
is "$API_CODE $(j "$API_BODY" "d['Code']")" "400 MissingParameter" "StreamName is required"
api DescribeLiveStreamBitRateData "DomainName=$LE_DOMAIN" "StartTime=2026-13-01T00:00:00Z"
is "$API_CODE $(j "$API_BODY" "d['Code']")" "400 InvalidStartTime.Malformed" "a bad time format is refused"

le_kill "$p1" "$p2" "$LE_PUB_PID"
le_stop
done_testing
