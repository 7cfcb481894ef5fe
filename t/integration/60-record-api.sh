#!/bin/sh
# 60-record-api: the recording actions (man livedge.8), two nodes on one Redis:
#  - AddLiveAppRecordConfig / DescribeLiveRecordConfig / DeleteLiveAppRecordConfig:
#    the stored JSON and Redis keys, exact Describe fields, paging (PageSize
#    4 and 31 refused, 5 works), Order, the AppName filter, replacing, and
#    every refused parameter (bad OssObjectPrefix templates among them);
#  - the notify config actions, NeedStatusNotify as a JSON bool;
#  - RealTimeRecordCommand: its parameter errors, StreamNotFound for a stream
#    not live (a stale online entry does not count), CodeConfigNotFound for
#    a live stream without config, start -> the task key and a PUBLISH on
#    the record command channel naming the node holding the publisher, a
#    second start -> TaskAlreadyStarted 409, stop.
# Node A has admin keys and is driven with the official SDK
# (@alicloud/pop-core); node B is unsigned (loopback) and driven with curl.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
: "${LE_SCRIPT_TIMEOUT:=300}"
# shellcheck source=t/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=t/integration/admin.sh
. "$(dirname "$0")/admin.sh"

le_require_daemon
le_require_tool ffmpeg python3 curl redis-server redis-cli
LE_POPCORE_DIR=${LE_POPCORE_DIR:-$top_builddir/t/npm}
le_npm_require "$LE_POPCORE_DIR" @alicloud/pop-core

LE_BASE_NAME=$LE_NAME
LE_WAIT_PORTS="rtmp http admin"
AK=LTAItestid4record
SK=test-secret-4record
LE_EXTRA_CONF="admin {
    access_key_id     \"$AK\";
    access_key_secret \"$SK\";
}"
start_node A || le_abort "node A did not start"
LE_EXTRA_CONF=""
start_node B || le_abort "node B did not start"
use B
NODE_B=le-test-$LE_BASE_NAME-b
PFX="letest$$:"
D=DomainName=live.test
rcli() { redis-cli -p "$LE_REDIS_PORT" "$@"; }
UUID='^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$'


# sdk ACTION JSON-PARAMS: the official SDK against node A. "OK {json}" or "ERR CODE".
cat >"$LE_DIR/sdk.js" <<'JS'
const RPCClient = require('@alicloud/pop-core').RPCClient;
const [port, ak, sk, action, params] = process.argv.slice(2);
const client = new RPCClient({
    accessKeyId: ak, accessKeySecret: sk,
    endpoint: 'http://127.0.0.1:' + port, apiVersion: '2016-11-01',
});
client.request(action, JSON.parse(params), { method: 'POST', timeout: 10000 })
    .then((r) => { console.log('OK ' + JSON.stringify(r)); process.exit(0); },
          (e) => { console.log('ERR ' + e.code); process.exit(0); });
JS
sdk() { NODE_PATH=$LE_POPCORE_DIR/node_modules timeout 30 node "$LE_DIR/sdk.js" "$N_A_ADMIN" "$AK" "$SK" "$@" 2>&1; }

# ---- AddLiveAppRecordConfig / DescribeLiveRecordConfig ------------------------------
SLICE='rec/{AppName}/{StreamName}/{UnixTimestamp}_{Sequence}'
api AddLiveAppRecordConfig $D AppName=live OssBucket=bkt-1 OssEndpoint=oss-cn-shanghai.aliyuncs.com \
    RecordFormat.1.Format=flv RecordFormat.2.Format=m3u8 RecordFormat.2.CycleDuration=600 \
    "RecordFormat.2.SliceOssObjectPrefix=$SLICE" OnDemand=1
ok $? "AddLiveAppRecordConfig at app level" || diag "$API_BODY"
like "$(j "$API_BODY" 'd["RequestId"]')" "$UUID" "... answers a RequestId"
is "$(rcli SISMEMBER "${PFX}recdomains" live.test)" 1 "... the domain joins recdomains"
stored=$(rcli HGET "${PFX}reccfg:live.test" live/)
is "$(j "$stored" '[d["AppName"], d["StreamName"], d["OssBucket"], d["OnDemand"]]')" '["live", "", "bkt-1", 1]' \
    "... stored in reccfg:live.test field live/"

api DescribeLiveRecordConfig $D
ok $? "DescribeLiveRecordConfig" || diag "$API_BODY"
is "$(j "$API_BODY" '[d["PageNum"], d["PageSize"], d["Order"], d["TotalPage"], d["TotalNum"]]')" \
    '[1, 10, "desc", 1, 1]' "... paging fields and defaults"
is "$(j "$API_BODY" 'sorted(d.keys())')" \
    '["LiveAppRecordList", "Order", "PageNum", "PageSize", "RequestId", "TotalNum", "TotalPage"]' "... exactly these keys"
rec=$(j "$API_BODY" 'd["LiveAppRecordList"]["LiveAppRecord"][0]')
like "$(j "$rec" 'd["CreateTime"]')" '^20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]Z$' \
    "... CreateTime in ISO 8601 UTC"
is "$(j "$rec" '{k: v for k, v in d.items() if k != "CreateTime"}')" \
    '{"AppName": "live", "DomainName": "live.test", "EndTime": "", "OnDemand": 1, "OssBucket": "bkt-1", "OssEndpoint": "oss-cn-shanghai.aliyuncs.com", "RecordFormatList": {"RecordFormat": [{"CycleDuration": 3600, "Format": "flv", "OssObjectPrefix": "", "SliceOssObjectPrefix": ""}, {"CycleDuration": 600, "Format": "m3u8", "OssObjectPrefix": "", "SliceOssObjectPrefix": "rec/{AppName}/{StreamName}/{UnixTimestamp}_{Sequence}"}]}, "StartTime": "", "StreamName": ""}' \
    "... the LiveAppRecord, exact"

# six stream-level configs (one with a window), then paging
START=$(utc 60)
END=$(utc 7200)
for s in s1 s2 s3 s4 s5 s6; do
    extra=()
    [ $s = s1 ] && extra=("StartTime=$START" "EndTime=$END")
    api AddLiveAppRecordConfig $D AppName=live StreamName=$s OssBucket=bkt-2 OssEndpoint=oss.example.com \
        RecordFormat.1.Format=mp4 "RecordFormat.1.OssObjectPrefix=r/{AppName}/{StreamName}/{EscapedStartTime}" \
        "${extra[@]}" || break
done
ok $? "six stream-level configs added" || diag "$API_BODY"
api DescribeLiveRecordConfig $D PageSize=5
is "$API_CODE $(j "$API_BODY" '[d["TotalNum"], d["TotalPage"], d["PageSize"], len(d["LiveAppRecordList"]["LiveAppRecord"])]')" \
    "200 [7, 2, 5, 5]" "PageSize 5: 7 configs, 2 pages, 5 on the first"
api DescribeLiveRecordConfig $D PageSize=5 PageNum=2
is "$(j "$API_BODY" '[d["PageNum"], len(d["LiveAppRecordList"]["LiveAppRecord"])]')" "[2, 2]" "... 2 on the second"
api DescribeLiveRecordConfig $D PageSize=5 PageNum=3
is "$(j "$API_BODY" '[d["TotalNum"], len(d["LiveAppRecordList"]["LiveAppRecord"])]')" "[7, 0]" "... none on a third"
bad 400 InvalidParameter "PageSize 4 refused" DescribeLiveRecordConfig $D PageSize=4
bad 400 InvalidParameter "PageSize 31 refused" DescribeLiveRecordConfig $D PageSize=31
bad 400 InvalidParameter "PageNum 0 refused" DescribeLiveRecordConfig $D PageNum=0
bad 400 InvalidParameter "Order sideways refused" DescribeLiveRecordConfig $D Order=sideways
api DescribeLiveRecordConfig $D PageSize=30 Order=asc
asc=$(j "$API_BODY" '[r["AppName"] + "/" + r["StreamName"] for r in d["LiveAppRecordList"]["LiveAppRecord"]]')
ctimes=$(j "$API_BODY" '[r["CreateTime"] for r in d["LiveAppRecordList"]["LiveAppRecord"]]')
is "$(j "$ctimes" 'd == sorted(d)')" true "Order asc: CreateTime ascending"
api DescribeLiveRecordConfig $D PageSize=30 Order=desc
desc=$(j "$API_BODY" '[r["AppName"] + "/" + r["StreamName"] for r in d["LiveAppRecordList"]["LiveAppRecord"]]')
is "$(j "$desc" 'list(reversed(d))')" "$asc" "Order desc is asc reversed"
api DescribeLiveRecordConfig $D PageSize=30
s1=$(j "$API_BODY" '[r for r in d["LiveAppRecordList"]["LiveAppRecord"] if r["StreamName"] == "s1"][0]')
is "$(j "$s1" '[d["StartTime"], d["EndTime"], d["RecordFormatList"]["RecordFormat"][0]["OssObjectPrefix"]]')" \
    "[\"$START\", \"$END\", \"r/{AppName}/{StreamName}/{EscapedStartTime}\"]" "s1 keeps its window and prefix"
api DescribeLiveRecordConfig $D AppName=other
is "$(j "$API_BODY" '[d["TotalNum"], d["LiveAppRecordList"]["LiveAppRecord"]]')" "[0, []]" "AppName filter: none for other"
api DescribeLiveRecordConfig $D AppName=live
is "$(j "$API_BODY" 'd["TotalNum"]')" 7 "AppName filter: 7 for live"

# the same field again replaces
api AddLiveAppRecordConfig $D AppName=live OssBucket=bkt-3 OssEndpoint=oss.example.com RecordFormat.1.Format=FLV
api DescribeLiveRecordConfig $D PageSize=30
is "$(j "$API_BODY" '[d["TotalNum"]] + [r["OssBucket"] + ":" + r["RecordFormatList"]["RecordFormat"][0]["Format"] for r in d["LiveAppRecordList"]["LiveAppRecord"] if r["StreamName"] == ""]')" \
    '[7, "bkt-3:flv"]' "adding live/ again replaces it"

# refused parameters
A=(AddLiveAppRecordConfig $D AppName=live OssBucket=bkt OssEndpoint=oss.example.com)
long=$(printf 'k%.0s' $(seq 1 256))
for p in '../x' '/abs' '{Nope}' "$long" 'a//b'; do
    api "${A[@]}" RecordFormat.1.Format=flv "RecordFormat.1.OssObjectPrefix=$p"
    is "$API_CODE $(j "$API_BODY" 'd.get("Code")')" "400 InvalidParameter" "OssObjectPrefix ${p:0:12} refused" ||
        diag "$API_BODY"
done
api "${A[@]}" RecordFormat.1.Format=flv 'RecordFormat.1.OssObjectPrefix={Nope}'
is "$(j "$API_BODY" 'd["Message"]')" \
    'The specified parameter "RecordFormat.1.OssObjectPrefix" is not valid: an unknown variable {Nope}.' \
    "... the message gives the reason"
api "${A[@]}" RecordFormat.1.Format=flv 'RecordFormat.1.OssObjectPrefix=../x'
is "$(j "$API_BODY" 'd["Message"]')" \
    'The specified parameter "RecordFormat.1.OssObjectPrefix" is not valid: a . or .. path segment.' \
    "... for .. too"
bad 400 InvalidParameter "SliceOssObjectPrefix {Nope} refused" "${A[@]}" RecordFormat.1.Format=m3u8 \
    'RecordFormat.1.SliceOssObjectPrefix=s/{Nope}'
bad 400 InvalidParameter "SliceOssObjectPrefix without {UnixTimestamp} or {Sequence} refused" "${A[@]}" \
    RecordFormat.1.Format=m3u8 'RecordFormat.1.SliceOssObjectPrefix=s/{AppName}'
bad 400 MissingParameter "no RecordFormat" "${A[@]}"
bad 400 MissingParameter "a RecordFormat without Format" "${A[@]}" RecordFormat.1.CycleDuration=60
bad 400 InvalidParameter "Format avi" "${A[@]}" RecordFormat.1.Format=avi
bad 400 InvalidParameter "Format twice" "${A[@]}" RecordFormat.1.Format=flv RecordFormat.2.Format=FLV
bad 400 InvalidParameter "RecordFormat.4" "${A[@]}" RecordFormat.1.Format=flv RecordFormat.4.Format=mp4
bad 400 InvalidParameter "CycleDuration 4" "${A[@]}" RecordFormat.1.Format=flv RecordFormat.1.CycleDuration=4
bad 400 InvalidParameter "CycleDuration 21601" "${A[@]}" RecordFormat.1.Format=flv RecordFormat.1.CycleDuration=21601
bad 400 InvalidParameter "OnDemand 3" "${A[@]}" RecordFormat.1.Format=flv OnDemand=3
bad 400 InvalidParameter "StartTime without StreamName" "${A[@]}" RecordFormat.1.Format=flv "StartTime=$(utc 60)"
bad 400 InvalidParameter "EndTime 16 days out" "${A[@]}" StreamName=x RecordFormat.1.Format=flv "EndTime=$(utc $((16 * 86400)))"
bad 400 InvalidEndTime.Mismatch "EndTime before StartTime" "${A[@]}" StreamName=x RecordFormat.1.Format=flv \
    "StartTime=$(utc 3600)" "EndTime=$(utc 60)"
bad 400 InvalidParameter "EndTime in the past" "${A[@]}" StreamName=x RecordFormat.1.Format=flv "EndTime=$(utc -60)"
bad 400 InvalidStartTime.Malformed "StartTime malformed" "${A[@]}" StreamName=x RecordFormat.1.Format=flv StartTime=soon
bad 400 InvalidParameter "AppName * with a StreamName" AddLiveAppRecordConfig $D 'AppName=*' StreamName=x \
    OssBucket=bkt OssEndpoint=oss.example.com RecordFormat.1.Format=flv
bad 400 InvalidParameter "OssBucket with capitals" AddLiveAppRecordConfig $D AppName=live OssBucket=Bkt \
    OssEndpoint=oss.example.com RecordFormat.1.Format=flv
bad 400 MissingParameter "no OssBucket" AddLiveAppRecordConfig $D AppName=live OssEndpoint=oss.example.com \
    RecordFormat.1.Format=flv
bad 404 InvalidDomain.NotFound "an unknown domain" AddLiveAppRecordConfig DomainName=nope.test AppName=live \
    OssBucket=bkt OssEndpoint=oss.example.com RecordFormat.1.Format=flv
api DescribeLiveRecordConfig $D PageSize=30
is "$(j "$API_BODY" 'd["TotalNum"]')" 7 "refused calls stored nothing"

# delete
api DeleteLiveAppRecordConfig $D AppName=live StreamName=s6
ok $? "DeleteLiveAppRecordConfig live/s6" || diag "$API_BODY"
is "$(rcli HEXISTS "${PFX}reccfg:live.test" live/s6)" 0 "... the field is gone"
api DeleteLiveAppRecordConfig $D AppName=live StreamName=s6
ok $? "deleting it again succeeds (no-op)" || diag "$API_BODY"
api DescribeLiveRecordConfig $D
is "$(j "$API_BODY" 'd["TotalNum"]')" 6 "... 6 left"

# quota: 1000 configs a domain (filler fields straight into the hash, removed after)
rcli EVAL "for i=1,994 do redis.call('HSET', KEYS[1], 'q/s'..i, '{}') end return 1" 1 "${PFX}reccfg:live.test" >/dev/null
bad 400 QuotaExceeded.RecordConfig "the 1001st config of a domain refused" AddLiveAppRecordConfig $D AppName=q \
    StreamName=over OssBucket=bkt-1 OssEndpoint=oss-cn-shanghai.aliyuncs.com RecordFormat.1.Format=flv
like "$(j "$API_BODY" 'd["Message"]')" "record configs of the domain exceeds the limit of 1000" "... the message names the limit"
api AddLiveAppRecordConfig $D AppName=live OssBucket=bkt-1 OssEndpoint=oss-cn-shanghai.aliyuncs.com \
    RecordFormat.1.Format=flv RecordFormat.2.Format=m3u8 RecordFormat.2.CycleDuration=600 \
    "RecordFormat.2.SliceOssObjectPrefix=$SLICE" OnDemand=1
ok $? "at the quota, replacing a config still works" || diag "$API_BODY"
rcli EVAL "for i=1,994 do redis.call('HDEL', KEYS[1], 'q/s'..i) end return 1" 1 "${PFX}reccfg:live.test" >/dev/null
is "$(rcli HLEN "${PFX}reccfg:live.test")" 6 "... the filler is gone"

# ---- notify configs ---------------------------------------------------------------------
api DescribeLiveRecordNotifyConfig $D
is "$API_CODE $(j "$API_BODY" 'd["LiveRecordNotifyConfig"]')" "200 {}" "no notify config: an empty object"
bad 400 CodeConfigNotFound "Update of a missing notify config" UpdateLiveRecordNotifyConfig $D NeedStatusNotify=true
api AddLiveRecordNotifyConfig $D NotifyUrl=http://cb.example/rec NeedStatusNotify=true
ok $? "AddLiveRecordNotifyConfig" || diag "$API_BODY"
out=$(sdk DescribeLiveRecordNotifyConfig '{"DomainName":"live.test"}')
is "$(j "${out#OK }" 'd["LiveRecordNotifyConfig"]')" \
    '{"DomainName": "live.test", "NeedStatusNotify": true, "NotifyUrl": "http://cb.example/rec", "OnDemandUrl": ""}' \
    "pop-core DescribeLiveRecordNotifyConfig: exact, NeedStatusNotify a JSON bool" || diag "$out"
api UpdateLiveRecordNotifyConfig $D NeedStatusNotify=false OnDemandUrl=https://od.example/q
ok $? "UpdateLiveRecordNotifyConfig" || diag "$API_BODY"
api DescribeLiveRecordNotifyConfig $D
is "$(j "$API_BODY" 'd["LiveRecordNotifyConfig"]')" \
    '{"DomainName": "live.test", "NeedStatusNotify": false, "NotifyUrl": "http://cb.example/rec", "OnDemandUrl": "https://od.example/q"}' \
    "... NeedStatusNotify false, OnDemandUrl set, NotifyUrl kept"
is "$(j "$(rcli GET "${PFX}recnotify:live.test")" 'd["NeedStatusNotify"]')" false "... stored as a JSON bool"
bad 400 InvalidParameter "NotifyUrl ftp://" AddLiveRecordNotifyConfig $D NotifyUrl=ftp://cb.example/rec
bad 400 InvalidParameter "OnDemandUrl not a URL" UpdateLiveRecordNotifyConfig $D OnDemandUrl=od.example
bad 400 InvalidParameter "NeedStatusNotify maybe" UpdateLiveRecordNotifyConfig $D NeedStatusNotify=maybe
bad 400 MissingParameter "Add without NotifyUrl" AddLiveRecordNotifyConfig $D
api DeleteLiveRecordNotifyConfig $D
ok $? "DeleteLiveRecordNotifyConfig" || diag "$API_BODY"
api DescribeLiveRecordNotifyConfig $D
is "$(j "$API_BODY" 'd["LiveRecordNotifyConfig"]')" "{}" "... gone"
api DeleteLiveRecordNotifyConfig $D
ok $? "... deleting again succeeds"

# ---- RealTimeRecordCommand --------------------------------------------------------------
R=(RealTimeRecordCommand $D AppName=rec StreamName=cam)
bad 400 MissingParam "no Command" "${R[@]}"
bad 400 MissingParam "no StreamName" RealTimeRecordCommand $D AppName=rec Command=start
bad 400 MalformedParam "Command pause" "${R[@]}" Command=pause
bad 400 MalformedParam "StreamName *" RealTimeRecordCommand $D AppName=rec 'StreamName=*' Command=start
bad 400 MalformedParam "AppName *" RealTimeRecordCommand $D 'AppName=*' StreamName=cam Command=start
is "$(j "$API_BODY" 'd["Message"]')" "AppName is not a single valid name, please check and try again later." \
    "... its message"
bad 404 InvalidDomain.NotFound "an unknown domain" RealTimeRecordCommand DomainName=nope.test AppName=rec \
    StreamName=cam Command=start
bad 409 StreamNotFound "a stream not live" "${R[@]}" Command=start
rcli HSET "${PFX}online" "ghost-node|live.test/rec/ghost" \
    '{"DomainName":"live.test","AppName":"rec","StreamName":"ghost","Node":"ghost-node","Heartbeat":1000}' >/dev/null
bad 409 StreamNotFound "a stale online entry does not count" RealTimeRecordCommand $D AppName=rec \
    StreamName=ghost Command=start

# the publisher is on node B; the commands go to node A (SDK) and B (curl)
LE_APP=rec pub cam 120
ok $? "publishing rec/cam on node B"
onl() { api DescribeLiveStreamsOnlineList $D && [ "$(j "$API_BODY" 'd["TotalNum"]')" -ge 1 ]; }
le_wait_for 10 onl
ok $? "... it is in the online list" || diag "$API_BODY"
out=$(sdk RealTimeRecordCommand '{"DomainName":"live.test","AppName":"rec","StreamName":"cam","Command":"start"}')
is "$out" "ERR CodeConfigNotFound" "pop-core RealTimeRecordCommand on node A without a config: CodeConfigNotFound"
bad 400 CodeConfigNotFound "... on node B too" "${R[@]}" Command=start

api AddLiveAppRecordConfig $D AppName=rec OssBucket=bkt OssEndpoint=oss.example.com RecordFormat.1.Format=flv
ok $? "a config for app rec" || diag "$API_BODY"
SUBLOG=$LE_DIR/sub.log
le_bg SUB_PID timeout 60 redis-cli -p "$LE_REDIS_PORT" SUBSCRIBE "${PFX}record:cmd" >"$SUBLOG" 2>&1
subscribed() { [ "$(rcli PUBSUB NUMSUB "${PFX}record:cmd" | tail -1)" -ge 1 ]; }
le_wait_for 5 subscribed
ok $? "a SUBSCRIBE on ${PFX}record:cmd is active"
out=$(sdk RealTimeRecordCommand '{"DomainName":"live.test","AppName":"rec","StreamName":"cam","Command":"start"}')
like "$out" '^OK \{"RequestId":"[0-9A-F-]{36}"\}$' "pop-core RealTimeRecordCommand start on node A: Success" || diag "$out"
seen() { grep -qx "$1" "$SUBLOG"; }
le_wait_for 5 seen "start $NODE_B live.test/rec/cam"
ok $? "... PUBLISH \"start $NODE_B live.test/rec/cam\" names node B" || diag "$(cat "$SUBLOG")"
task=$(rcli GET "${PFX}rectask:live.test/rec/cam")
# ("pending" until node B's recorder takes the task over and rewrites the key)
is "$(j "$task" '[d["node"], d["manual"], isinstance(d["start"], int)]')" "[\"$NODE_B\", true, true]" \
    "... the task key names node B, manual, with its start"
pttl=$(rcli PTTL "${PFX}rectask:live.test/rec/cam")
cmp_ok "$pttl" -gt 0 "... and expires (PTTL $pttl ms)"
cmp_ok "$pttl" -le 15000 "... within 15 s"
out=$(sdk RealTimeRecordCommand '{"DomainName":"live.test","AppName":"rec","StreamName":"cam","Command":"start"}')
is "$out" "ERR TaskAlreadyStarted" "pop-core: a second start is TaskAlreadyStarted"
bad 409 TaskAlreadyStarted "... 409 over curl on node B" "${R[@]}" Command=start
is "$(grep -c '^start ' "$SUBLOG")" 1 "... and published nothing more"
api "${R[@]}" Command=stop
ok $? "stop: Success" || diag "$API_BODY"
le_wait_for 5 seen "stop $NODE_B live.test/rec/cam"
ok $? "... PUBLISH \"stop $NODE_B live.test/rec/cam\"" || diag "$(cat "$SUBLOG")"
api RealTimeRecordCommand $D AppName=rec StreamName=nolive Command=stop
is "$API_CODE $(j "$API_BODY" 'd.get("Code")')" "409 StreamNotFound" "stop of a stream neither live nor recording"
le_kill "$SUB_PID"
le_kill "$LE_PUB_PID"

le_alive_ok "node B still running"
use A
le_alive_ok "node A still running"
le_stop
use B
le_stop
done_testing
