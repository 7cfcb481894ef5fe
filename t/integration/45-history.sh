#!/bin/sh
# 45-history: the history actions read bounded replies (man livedge.8,
# ADMIN API), rates render as the API reference writes them, and the
# time and paging limits answer the reference's codes. One node, a private
# redis-server:
#  - 200,000 publish records written straight into Redis (redis-cli --pipe):
#    DescribeLiveStreamsPublishList pages inside Redis (correct TotalNum and
#    page contents, fast), filtered queries find the oldest record, an RTMP
#    player of a live stream on the node sees no multi-second stall meanwhile,
#    and the node's RSS stays bounded;
#  - frame rates and bitrates stored with float noise render as "832.46";
#  - StartTime/EndTime of DescribeLiveStreamsFrameRateAndBitRateData (7 days),
#    EndTime of DescribeLiveStreamHistoryUserNum (not after now) and the
#    PageNumber/PageSize of DescribeLiveUserDomains are checked.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
: "${LE_SCRIPT_TIMEOUT:=300}"
# shellcheck source=t/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=t/integration/admin.sh
. "$(dirname "$0")/admin.sh"

le_require_daemon
le_require_tool ffmpeg rtmpdump python3 curl redis-server redis-cli

LE_WAIT_PORTS="rtmp http admin"
le_start || le_abort "livedge did not start"
P="letest$$:"
H=hist.test
rcli() { redis-cli -p "$LE_REDIS_PORT" "$@"; }
code() { j "$API_BODY" "d.get('Code', 'none')"; }

api AddLiveDomain DomainName=$H LiveDomainType=liveVideo Region=cn-shanghai
is "$API_CODE" 200 "AddLiveDomain $H" || diag "$API_BODY"

# ---- 200,000 publish records ---------------------------------------------------------
N=200000
now_ms=$(le_now_ms)
"$LE_PY" - "$P" "$H" "$N" "$now_ms" >"$LE_DIR/pubhist.resp" <<'PY'
import json, sys, datetime
prefix, dom, n, now = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
key = (prefix + "pubhist:" + dom).encode()
out = sys.stdout.buffer
def utc(ms): return datetime.datetime.utcfromtimestamp(ms / 1000).strftime("%Y-%m-%dT%H:%M:%SZ")
for i in range(n):
    ms = now - 60000 - i * 10000          # newest first, 10 s apart: 23 days
    app = "live" if i % 2 == 0 else "other"
    rec = json.dumps({"DomainName": dom, "AppName": app, "StreamName": "s%06d" % i,
                      "StreamUrl": "http://%s/%s/s%06d.flv" % (dom, app, i), "PublishTime": utc(ms),
                      "StopTime": utc(ms + 5000), "ClientAddr": "127.0.0.1", "EdgeNodeAddr": "127.0.0.1",
                      "PublishUrl": "rtmp://%s/%s/s%06d" % (dom, app, i), "PublishDomain": dom,
                      "Node": "n1"}, separators=(",", ":")).encode()
    args = [b"ZADD", key, str(ms).encode(), rec]
    out.write(b"*%d\r\n" % len(args))
    for a in args:
        out.write(b"$%d\r\n%s\r\n" % (len(a), a))
PY
rcli --pipe <"$LE_DIR/pubhist.resp" >"$LE_DIR/pipe.log" 2>&1
is "$(rcli ZCARD "${P}pubhist:$H")" "$N" "$N records in ${P}pubhist:$H"

# A live stream and an RTMP player, sampled every 0.2 s while the queries run.
LE_PUB_SECS=120 le_publish hs
le_wait_publishing "$LE_PUB_PROGRESS" 15
ok $? "publishing live/hs"
le_player hs "$LE_DIR/hs.flv"; player=$LE_PLAYER_PID
le_grows "$LE_DIR/hs.flv" 20000 15
ok $? "the player receives the stream"
( while :; do echo "$(le_now_ms) $(le_file_size "$LE_DIR/hs.flv")"; sleep 0.2; done ) >"$LE_DIR/growth" &
sampler=$!

WIN=("StartTime=$(utc $(( -29 * 86400 )))" "EndTime=$(utc 60)")
t0=$(le_now_ms)
api DescribeLiveStreamsPublishList DomainName=$H "${WIN[@]}" PageSize=10 PageNum=1
el=$(ms_since "$t0")
is "$API_CODE" 200 "PublishList over $N records: 200" || diag "$(head -c 300 <<<"$API_BODY")"
is "$(j "$API_BODY" "d['TotalNum']")" "$N" "... TotalNum $N"
is "$(j "$API_BODY" "d['TotalPage']")" "$(( N / 10 ))" "... TotalPage"
is "$(j "$API_BODY" "[x['StreamName'] for x in d['PublishInfo']['LiveStreamPublishInfo']]")" \
    '["s000000", "s000001", "s000002", "s000003", "s000004", "s000005", "s000006", "s000007", "s000008", "s000009"]' \
    "... page 1 holds the 10 newest, newest first"
cmp_ok "$el" -lt 3000 "... answered in $el ms"
api DescribeLiveStreamsPublishList DomainName=$H "${WIN[@]}" PageSize=100 PageNumber=1500
is "$(j "$API_BODY" "[len(d['PublishInfo']['LiveStreamPublishInfo']), d['PublishInfo']['LiveStreamPublishInfo'][0]['StreamName'], d['PublishInfo']['LiveStreamPublishInfo'][-1]['StreamName'], d['PageNum']]")" \
    '[100, "s149900", "s149999", 1500]' "page 1500 of 100 (PageNumber alias): s149900..s149999"
api DescribeLiveStreamsPublishList DomainName=$H "${WIN[@]}" PageSize=3000 PageNum=67
is "$(j "$API_BODY" "[len(d['PublishInfo']['LiveStreamPublishInfo']), d['PublishInfo']['LiveStreamPublishInfo'][-1]['StreamName']]")" \
    '[2000, "s199999"]' "the last page holds the remainder, down to the oldest"
t0=$(le_now_ms)
api DescribeLiveStreamsPublishList DomainName=$H "${WIN[@]}" AppName=other StreamName=s199999 QueryType=strict
el=$(ms_since "$t0")
is "$(j "$API_BODY" "[d['TotalNum'], [x['StreamName'] for x in d['PublishInfo']['LiveStreamPublishInfo']]]")" \
    '[1, ["s199999"]]' "filtered (strict): the oldest record is found" || diag "$(head -c 300 <<<"$API_BODY")"
cmp_ok "$el" -lt 10000 "... a full filtered read answered in $el ms"
api DescribeLiveStreamsPublishList DomainName=$H "${WIN[@]}" AppName=live StreamName=s19999 PageSize=3
is "$(j "$API_BODY" "[d['TotalNum'], [x['StreamName'] for x in d['PublishInfo']['LiveStreamPublishInfo']]]")" \
    '[5, ["s199990", "s199992", "s199994"]]' "filtered (fuzzy, AppName): TotalNum and the first page"
start_s=$(( now_ms / 1000 - 3600 ))
want=$(( (now_ms - 60000 - start_s * 1000) / 10000 + 1 ))
api DescribeLiveStreamsPublishList DomainName=$H "StartTime=$(date -u -d "@$start_s" +%Y-%m-%dT%H:%M:%SZ)" \
    "EndTime=$(utc 60)" PageSize=5
is "$(j "$API_BODY" "d['TotalNum']")" "$want" "a one-hour window counts only its records (ZCOUNT)"

kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null
stall=$("$LE_PY" - "$LE_DIR/growth" <<'PY'
import sys
rows = [tuple(map(int, l.split())) for l in open(sys.argv[1]) if len(l.split()) == 2]
worst, last_t, last_s = 0, None, None
for t, s in rows:
    if last_s is None or s > last_s:
        if last_t is not None:
            worst = max(worst, t - last_t)
        last_t, last_s = t, s
print(worst)
PY
)
cmp_ok "${stall:-99999}" -lt 2500 "the RTMP player never stalled 2.5 s during the queries (longest gap $stall ms)"
rss=$(awk '/^VmRSS/ {print $2}' "/proc/$LE_PID/status")
# AddressSanitizer keeps freed memory in its quarantine (up to 256 MiB by
# default) and maps shadow memory: a sanitizer build gets that on top.
bound=400000
grep -q asan "/proc/$LE_PID/maps" 2>/dev/null && bound=$((bound + 262144))
cmp_ok "${rss:-999999999}" -lt "$bound" "node RSS stays bounded (${rss} kB, bound $bound)"

# The node's own writes trim by age: a record older than the retention goes.
old=$(( now_ms - 40 * 86400000 ))
rcli ZADD "${P}pubhist:$H" "$old" '{"AppName":"live","StreamName":"ancient"}' >/dev/null
LE_PUB_SECS=5 le_publish "hs2?vhost=$H"
le_wait_publishing "$LE_PUB_PROGRESS" 15
ancient_gone() { [ "$(rcli ZCOUNT "${P}pubhist:$H" -inf $(( old + 1 )))" = 0 ]; }
le_wait_for 5 ancient_gone
ok $? "a publish on $H trims records older than the retention"
le_kill "$LE_PUB_PID"

# ---- rates render as the API reference writes them -----------------------------------------
minute=$(( now_ms / 60000 * 60000 - 60000 ))
rcli ZADD "${P}bitrate:$H/live/noise" "$minute" \
    "{\"StreamUrl\":\"rtmp://$H/live/noise\",\"VideoFrameRate\":29.999999999999996,\"AudioFrameRate\":43.07,\"BitRate\":832.4559999999999,\"Time\":\"$(date -u -d "@$(( minute / 1000 ))" +%Y-%m-%dT%H:%M:%SZ)\",\"Node\":\"n1\"}" >/dev/null
rcli ZADD "${P}sampled:$H" "$minute" live/noise >/dev/null
api DescribeLiveStreamBitRateData DomainName=$H AppName=live StreamName=noise
like "$API_BODY" '"VideoFrameRate":"30","AudioFrameRate":"43.07","BitRate":"832.46"' \
    "BitRateData: rates as strings with two decimals at most" || diag "$API_BODY"
rcli HSET "${P}online" "n1|$H/live/noise" \
    "{\"DomainName\":\"$H\",\"AppName\":\"live\",\"StreamName\":\"noise\",\"Heartbeat\":$(le_now_ms),\"VideoFrameRate\":25.000000000000004,\"AudioFrameRate\":46.875,\"BitRate\":1210.5049999999999}" >/dev/null
api DescribeLiveStreamsFrameRateAndBitRateData DomainName=$H AppName=live
like "$API_BODY" '"VideoFrameRate":"25","AudioFrameRate":"46.88","BitRate":"1210.5"' \
    "FrameRateAndBitRateData: the same rendering" || diag "$API_BODY"

# ---- time and paging limits -------------------------------------------------------------------
F=DescribeLiveStreamsFrameRateAndBitRateData
api $F DomainName=$H AppName=live StartTime=yesterday "EndTime=$(utc 0)"
is "$API_CODE $(code)" "400 InvalidStartTime.Malformed" "$F: a malformed StartTime is refused"
api $F DomainName=$H AppName=live "StartTime=$(utc -3600)" EndTime=2017-12-22T08:00:00:00Z
is "$API_CODE $(code)" "400 InvalidEndTime.Malformed" "$F: a malformed EndTime is refused"
api $F DomainName=$H AppName=live "StartTime=$(utc $(( -8 * 86400 )))" "EndTime=$(utc 0)"
is "$API_CODE $(code)" "400 InvalidStartTime.ValueNotSupported" "$F: a window over 7 days is refused"
api $F DomainName=$H AppName=live "StartTime=$(utc 0)" "EndTime=$(utc -3600)"
is "$API_CODE $(code)" "400 InvalidEndTime.Mismatch" "$F: EndTime before StartTime is refused"
api $F DomainName=$H AppName=live "StartTime=$(utc -3600)" "EndTime=$(utc 0)"
is "$API_CODE" 200 "$F: a 1-hour window is accepted"
api DescribeLiveStreamHistoryUserNum DomainName=$H AppName=live StreamName=noise \
    "StartTime=$(utc -3600)" "EndTime=$(utc 3600)"
is "$API_CODE $(code)" "400 InvalidEndTime.BeyondCurrent" "HistoryUserNum: EndTime after now is refused"
api DescribeLiveStreamHistoryUserNum DomainName=$H AppName=live StreamName=noise \
    "StartTime=$(utc -3600)" "EndTime=$(utc 0)"
is "$API_CODE" 200 "HistoryUserNum: EndTime now is accepted"
U=DescribeLiveUserDomains
api $U PageNumber=100001
is "$API_CODE $(code)" "400 InvalidParameter" "$U: PageNumber 100001 is refused"
api $U PageNumber=0
is "$API_CODE $(code)" "400 InvalidParameter" "$U: PageNumber 0 is refused"
api $U PageNumber=100000 PageSize=5
is "$API_CODE $(j "$API_BODY" "len(d['Domains']['PageData'])")" "200 0" "$U: PageNumber 100000 is an empty page"
api $U PageSize=abc
is "$API_CODE $(code)" "400 InvalidParameter" "$U: PageSize abc is refused"
api $U PageSize=3001
is "$API_CODE $(code)" "400 InvalidParameter" "$U: PageSize 3001 is refused"

le_kill "$player"
le_stop
done_testing
