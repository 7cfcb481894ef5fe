#!/bin/sh
# 41-control: the control plane through the admin API (man livedge.8, ADMIN API,
# domains and stream management), against a private redis-server and real clients.
#  - domains: AddLiveDomain (liveVideo, liveEdge), DescribeLiveUserDomains
#    (search types, type filter, paging), DescribeLiveDomainDetail, push ->
#    play mapping (a publish on the push domain lands on the play domain),
#    StopLiveDomain refuses publish and play until StartLiveDomain,
#    DeleteLiveDomain; error codes.
#  - block list: ForbidLiveStream cuts the publisher within 1 s and refuses
#    the next until ResumeLiveStream; Oneshot; paging; control history and
#    its parameter checks.
#  - stream lists: online list filters, publish history, viewers, rates.
#  - then a second node on the same Redis: a domain added on one node is
#    served by the other, and a ResumeTime expiry is recorded exactly once.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
: "${LE_SCRIPT_TIMEOUT:=420}"
# shellcheck source=t/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=t/integration/admin.sh
. "$(dirname "$0")/admin.sh"

le_require_daemon
le_require_tool ffmpeg ffprobe rtmpdump python3 curl redis-server

LE_WAIT_PORTS="rtmp http admin"
LE_BASE_NAME=$LE_NAME
le_start || le_abort "livedge did not start"

# ---- helpers ----------------------------------------------------------------
# save_node/use, win, ms_since, log_ms and cut_checks: admin.sh.
save_node A

# api_err DESC HTTP CODE ACTION [NAME=VALUE...]: the call fails with HTTP and Code.
api_err() {
    local desc=$1 http=$2 code=$3
    shift 3
    api "$@"
    is "$API_CODE $(j "$API_BODY" 'd["Code"]')" "$http $code" "$desc: $http $code" || diag "$API_BODY"
}

# probe_ok NAME: ffprobe finds a video stream in the live stream NAME.
probe_ok() { LE_PROBE_TIMEOUT=10 le_probe "$1" | grep -q 'codec_type=video'; }

# ---- domains ----------------------------------------------------------------
PLAY=play.ctl.test
PUSH=push.ctl.test
api AddLiveDomain DomainName=$PLAY LiveDomainType=liveVideo Region=cn-shanghai
ok $? "AddLiveDomain $PLAY liveVideo: 200" || diag "$API_CODE $API_BODY"
like "$(j "$API_BODY" 'd["RequestId"]')" '^[0-9A-F-]{36}$' "... RequestId"
api AddLiveDomain DomainName=$PUSH LiveDomainType=liveEdge Region=cn-shanghai
ok $? "AddLiveDomain $PUSH liveEdge: 200" || diag "$API_CODE $API_BODY"
api_err "AddLiveDomain without LiveDomainType" 400 MissingParameter \
    AddLiveDomain DomainName=x.ctl.test Region=cn-shanghai
api_err "AddLiveDomain without DomainName" 400 MissingParameter \
    AddLiveDomain LiveDomainType=liveVideo Region=cn-shanghai
api_err "AddLiveDomain LiveDomainType=liveBogus" 400 InvalidParameter \
    AddLiveDomain DomainName=x.ctl.test LiveDomainType=liveBogus Region=cn-shanghai

api DescribeLiveUserDomains
is "$(j "$API_BODY" '[d["TotalCount"], sorted(x["DomainName"] for x in d["Domains"]["PageData"])]')" \
    '[3, ["live.test", "play.ctl.test", "push.ctl.test"]]' "DescribeLiveUserDomains: all three domains"
is "$(j "$API_BODY" 'sorted(k for k in d["Domains"]["PageData"][0])')" \
    '["Cname", "Description", "DomainName", "GmtCreated", "GmtModified", "LiveDomainStatus", "LiveDomainType", "RegionName"]' \
    "... PageData fields"
is "$(j "$API_BODY" '[d["PageNumber"], d["PageSize"]]')" '[1, 2000]' "... PageNumber 1, PageSize 2000 by default"
api DescribeLiveUserDomains LiveDomainType=liveEdge
is "$(j "$API_BODY" '[d["TotalCount"]] + [[x["DomainName"], x["LiveDomainType"]] for x in d["Domains"]["PageData"]]')" \
    '[1, ["push.ctl.test", "liveEdge"]]' "LiveDomainType=liveEdge: the push domain only"
api DescribeLiveUserDomains LiveDomainType=liveVideo
is "$(j "$API_BODY" 'sorted(x["DomainName"] for x in d["Domains"]["PageData"])')" \
    '["live.test", "play.ctl.test"]' "LiveDomainType=liveVideo: the play domains"
api DescribeLiveUserDomains DomainName=ctl DomainSearchType=fuzzy_match
is "$(j "$API_BODY" 'd["TotalCount"]')" 2 "DomainSearchType=fuzzy_match 'ctl': 2"
api DescribeLiveUserDomains DomainName=play DomainSearchType=pre_match
is "$(j "$API_BODY" '[x["DomainName"] for x in d["Domains"]["PageData"]]')" '["play.ctl.test"]' \
    "DomainSearchType=pre_match 'play': the play domain"
api DescribeLiveUserDomains DomainName=ctl DomainSearchType=pre_match
is "$(j "$API_BODY" 'd["TotalCount"]')" 0 "DomainSearchType=pre_match 'ctl': none"
api DescribeLiveUserDomains DomainName=.ctl.test DomainSearchType=suf_match
is "$(j "$API_BODY" 'd["TotalCount"]')" 2 "DomainSearchType=suf_match '.ctl.test': 2"
api DescribeLiveUserDomains DomainName=push.ctl.test DomainSearchType=full_match
is "$(j "$API_BODY" '[x["DomainName"] for x in d["Domains"]["PageData"]]')" '["push.ctl.test"]' \
    "DomainSearchType=full_match: exactly one"
api DescribeLiveUserDomains DomainName=push.ctl DomainSearchType=full_match
is "$(j "$API_BODY" 'd["TotalCount"]')" 0 "DomainSearchType=full_match of a prefix: none"
api DescribeLiveUserDomains PageSize=2 PageNumber=2
is "$(j "$API_BODY" '[d["PageNumber"], d["PageSize"], d["TotalCount"], len(d["Domains"]["PageData"])]')" \
    '[2, 2, 3, 1]' "PageSize=2 PageNumber=2: the last one of 3"
api_err "DomainSearchType=bogus" 400 InvalidParameter DescribeLiveUserDomains DomainSearchType=bogus

api DescribeLiveDomainDetail DomainName=$PLAY
ok $? "DescribeLiveDomainDetail $PLAY: 200" || diag "$API_CODE $API_BODY"
is "$(j "$API_BODY" '[d["DomainDetail"][k] for k in ("DomainName", "LiveDomainType", "DomainStatus", "Region", "Scope")]')" \
    '["play.ctl.test", "liveVideo", "online", "cn-shanghai", "domestic"]' "... name, type, online, region, scope"
like "$(j "$API_BODY" 'd["DomainDetail"]["GmtCreated"]')" '^20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$' \
    "... GmtCreated in UTC"
api_err "DescribeLiveDomainDetail of an unknown domain" 404 InvalidDomain.NotFound \
    DescribeLiveDomainDetail DomainName=nope.ctl.test
api_err "DescribeLiveDomainDetail without DomainName" 400 MissingParameter DescribeLiveDomainDetail

# Mapping: errors first.
api_err "AddLiveDomainMapping with the types swapped" 400 DomainType.Malformed \
    AddLiveDomainMapping PushDomain=$PLAY PullDomain=$PUSH
api_err "AddLiveDomainMapping play -> play" 400 DomainType.Malformed \
    AddLiveDomainMapping PushDomain=live.test PullDomain=$PLAY
api_err "AddLiveDomainMapping without PullDomain" 400 MissingParameter AddLiveDomainMapping PushDomain=$PUSH
api_err "AddLiveDomainMapping unknown push domain" 400 InvalidPushDomain.Miss \
    AddLiveDomainMapping PushDomain=nope.ctl.test PullDomain=$PLAY

pub_refused "unmapped?vhost=$PUSH"
ok $? "before the mapping, a publish on the push domain is refused"

api AddLiveDomainMapping PushDomain=$PUSH PullDomain=$PLAY
ok $? "AddLiveDomainMapping $PUSH -> $PLAY: 200" || diag "$API_CODE $API_BODY"
pub "mapped?vhost=$PUSH"
ok $? "a publish with ?vhost=$PUSH is accepted" || diag "$(cat "$LE_PUB_LOG")"
mapped_pub=$LE_PUB_PID
api DescribeLiveStreamsOnlineList DomainName=$PLAY
is "$(j "$API_BODY" '[[x[k] for k in ("DomainName", "AppName", "StreamName", "PublishDomain", "PublishUrl")] for x in d["OnlineInfo"]["LiveStreamOnlineInfo"]]')" \
    '[["play.ctl.test", "live", "mapped", "push.ctl.test", "rtmp://push.ctl.test/live/mapped"]]' \
    "... it is online on $PLAY with PublishDomain $PUSH"
api DescribeLiveStreamsOnlineList DomainName=live.test StreamName=mapped
is "$(j "$API_BODY" 'd["TotalNum"]')" 0 "... and not on the default domain"
probe_ok "mapped?vhost=$PLAY"
ok $? "... and plays on the play domain (ffprobe ?vhost=$PLAY)"
mark=$(le_log_lines)
t0=$(le_now_ms)
api ForbidLiveStream DomainName=$PUSH AppName=live StreamName=mapped LiveStreamType=publisher
ok $? "ForbidLiveStream named by the push domain: 200" || diag "$API_CODE $API_BODY"
cut_checks "$mapped_pub" "$t0" "$mark" $PLAY/live/mapped "... the publisher on the mapped play domain"
api DescribeLiveStreamsBlockList DomainName=$PLAY
is "$(j "$API_BODY" 'd["StreamUrls"]["StreamUrl"]')" '["play.ctl.test/live/mapped"]' "... the play domain's block list has it"
pub_refused "mapped?vhost=$PUSH"
ok $? "... a new publish through the push domain is refused"
api ResumeLiveStream DomainName=$PUSH AppName=live StreamName=mapped
api DescribeLiveStreamsBlockList DomainName=$PLAY
is "$API_CODE $(j "$API_BODY" 'd["TotalNum"]')" "200 0" "ResumeLiveStream named by the push domain empties it"
le_kill "$mapped_pub"

api DeleteLiveDomainMapping PushDomain=$PUSH PullDomain=$PLAY
ok $? "DeleteLiveDomainMapping: 200" || diag "$API_CODE $API_BODY"
pub_refused "mapped2?vhost=$PUSH"
ok $? "after DeleteLiveDomainMapping a publish on the push domain is refused"

# Stop / start.
pub "live1?vhost=$PLAY"
ok $? "a publish on $PLAY is accepted" || diag "$(cat "$LE_PUB_LOG")"
live1_pub=$LE_PUB_PID
probe_ok "live1?vhost=$PLAY"; ok $? "... and plays"
api StopLiveDomain DomainName=$PLAY
ok $? "StopLiveDomain $PLAY: 200" || diag "$API_CODE $API_BODY"
api DescribeLiveDomainDetail DomainName=$PLAY
is "$(j "$API_BODY" 'd["DomainDetail"]["DomainStatus"]')" offline "... DomainStatus offline"
api DescribeLiveUserDomains DomainStatus=offline
is "$(j "$API_BODY" '[x["DomainName"] + " " + x["LiveDomainStatus"] for x in d["Domains"]["PageData"]]')" \
    '["play.ctl.test offline"]' "... DomainStatus=offline filter lists it"
mark=$(le_log_lines)
pub_refused "live2?vhost=$PLAY"
ok $? "an offline domain refuses a publish (ffmpeg fails)"
! probe_ok "live1?vhost=$PLAY"
ok $? "an offline domain refuses a play (ffprobe fails)"
le_wait_log "offline" 3 "$mark" >/dev/null
ok $? "... the refusals are logged"
api StartLiveDomain DomainName=$PLAY
ok $? "StartLiveDomain $PLAY: 200" || diag "$API_CODE $API_BODY"
api DescribeLiveDomainDetail DomainName=$PLAY
is "$(j "$API_BODY" 'd["DomainDetail"]["DomainStatus"]')" online "... DomainStatus online"
pub "live3?vhost=$PLAY"
ok $? "after StartLiveDomain a publish is accepted" || diag "$(cat "$LE_PUB_LOG")"
live3_pub=$LE_PUB_PID
probe_ok "live3?vhost=$PLAY"; ok $? "... and plays"
le_kill "$live1_pub" "$live3_pub"

api_err "StopLiveDomain of an unknown domain" 404 InvalidDomain.NotFound StopLiveDomain DomainName=nope.ctl.test
api_err "DeleteLiveDomain of an unknown domain" 404 InvalidDomain.NotFound DeleteLiveDomain DomainName=nope.ctl.test
api_err "DeleteLiveDomain without DomainName" 400 MissingParameter DeleteLiveDomain
api AddLiveDomain DomainName=gone.ctl.test LiveDomainType=liveVideo Region=cn-shanghai
api DeleteLiveDomain DomainName=gone.ctl.test
ok $? "DeleteLiveDomain: 200" || diag "$API_CODE $API_BODY"
api_err "... then DescribeLiveDomainDetail" 404 InvalidDomain.NotFound DescribeLiveDomainDetail DomainName=gone.ctl.test
api DescribeLiveUserDomains DomainName=gone
is "$(j "$API_BODY" 'd["TotalCount"]')" 0 "... and it is gone from DescribeLiveUserDomains"
pub_refused "x?vhost=gone.ctl.test"
ok $? "... and a publish on it is refused"

# ---- ForbidLiveStream / ResumeLiveStream --------------------------------------------
D=DomainName=live.test
pub fb1
ok $? "publisher on live/fb1 is live" || diag "$(cat "$LE_PUB_LOG")"
fb_pub=$LE_PUB_PID
mark=$(le_log_lines)
t0=$(le_now_ms)
api ForbidLiveStream $D AppName=live StreamName=fb1 LiveStreamType=publisher
ok $? "ForbidLiveStream live/fb1: 200" || diag "$API_CODE $API_BODY"
cut_checks "$fb_pub" "$t0" "$mark" live.test/live/fb1 "the publisher"
t0=$(le_now_ms)
pub_refused fb1
ok $? "a new publish on the forbidden stream is refused"
cmp_ok "$(ms_since "$t0")" -le 6000 "... quickly (ffmpeg exited non-zero within 6 s)"
le_wait_log 'refused.*forbidden' 3 "$mark" >/dev/null
ok $? "... the refusal is logged as forbidden"
api DescribeLiveStreamsBlockList $D
is "$(j "$API_BODY" '[d["DomainName"], d["StreamUrls"]["StreamUrl"], d["TotalNum"], d["TotalPage"], d["PageNum"], d["PageSize"]]')" \
    '["live.test", ["live.test/live/fb1"], 1, 1, 1, 2000]' "DescribeLiveStreamsBlockList lists live.test/live/fb1"
pub fb2 20
ok $? "another stream of the domain still publishes" || diag "$(cat "$LE_PUB_LOG")"
le_kill "$LE_PUB_PID"
api ResumeLiveStream $D AppName=live StreamName=fb1 LiveStreamType=publisher
ok $? "ResumeLiveStream live/fb1: 200" || diag "$API_CODE $API_BODY"
api DescribeLiveStreamsBlockList $D
is "$(j "$API_BODY" '[d["StreamUrls"]["StreamUrl"], d["TotalNum"], d["TotalPage"]]')" '[[], 0, 0]' "... the block list is empty"
pub fb1 20
ok $? "after ResumeLiveStream the stream publishes again" || diag "$(cat "$LE_PUB_LOG")"
le_kill "$LE_PUB_PID"
api ResumeLiveStream $D AppName=live StreamName=fb1
ok $? "ResumeLiveStream of a free stream, without LiveStreamType: 200" || diag "$API_CODE $API_BODY"
api_err "ForbidLiveStream without LiveStreamType" 400 MissingParameter ForbidLiveStream $D AppName=live StreamName=fb1
api_err "ForbidLiveStream LiveStreamType=player" 400 InvalidParameter \
    ForbidLiveStream $D AppName=live StreamName=fb1 LiveStreamType=player
api_err "ForbidLiveStream without StreamName" 400 MissingParameter ForbidLiveStream $D AppName=live LiveStreamType=publisher
api_err "ForbidLiveStream StreamName='a b'" 400 InvalidParameter \
    ForbidLiveStream $D AppName=live "StreamName=a b" LiveStreamType=publisher
api_err "ForbidLiveStream on an unknown domain" 404 InvalidDomain.NotFound \
    ForbidLiveStream DomainName=nope.ctl.test AppName=live StreamName=fb1 LiveStreamType=publisher
api_err "ForbidLiveStream ResumeTime=tomorrow" 400 InvalidParameter \
    ForbidLiveStream $D AppName=live StreamName=fb1 LiveStreamType=publisher ResumeTime=tomorrow

# Oneshot: cuts the current publisher, blocks nothing.
pub os1
ok $? "publisher on live/os1 is live" || diag "$(cat "$LE_PUB_LOG")"
os_pub=$LE_PUB_PID
mark=$(le_log_lines)
t0=$(le_now_ms)
api ForbidLiveStream $D AppName=live StreamName=os1 LiveStreamType=publisher Oneshot=yes
ok $? "ForbidLiveStream Oneshot=yes: 200" || diag "$API_CODE $API_BODY"
cut_checks "$os_pub" "$t0" "$mark" live.test/live/os1 "Oneshot: the current publisher"
pub os1 20
ok $? "... the next publish is accepted" || diag "$(cat "$LE_PUB_LOG")"
le_kill "$LE_PUB_PID"
api DescribeLiveStreamsBlockList $D
is "$(j "$API_BODY" 'd["TotalNum"]')" 0 "... and the block list stays empty"

# Paging.
n=0
for i in $(seq -w 1 25); do
    api ForbidLiveStream $D AppName=page StreamName="s$i" LiveStreamType=publisher && n=$((n + 1))
done
is "$n" 25 "25 streams forbidden: 25 times 200"
api DescribeLiveStreamsBlockList $D PageSize=10 PageNum=3
is "$(j "$API_BODY" '[len(d["StreamUrls"]["StreamUrl"]), d["TotalNum"], d["TotalPage"], d["PageNum"], d["PageSize"]]')" \
    '[5, 25, 3, 3, 10]' "block list PageSize=10 PageNum=3: 5 of 25, 3 pages"
is "$(j "$API_BODY" 'd["StreamUrls"]["StreamUrl"][0]')" "live.test/page/s21" "... sorted: page 3 starts at s21"
api DescribeLiveStreamsBlockList $D PageSize=10 PageNumber=1
is "$(j "$API_BODY" '[len(d["StreamUrls"]["StreamUrl"]), d["PageNum"]]')" '[10, 1]' "PageNumber is an alias of PageNum"
api DescribeLiveStreamsBlockList $D PageSize=10 PageNum=4
is "$(j "$API_BODY" '[len(d["StreamUrls"]["StreamUrl"]), d["TotalNum"]]')" '[0, 25]' "PageNum past the end: empty page"
api_err "block list PageSize=0" 400 InvalidParameter DescribeLiveStreamsBlockList $D PageSize=0
api_err "block list PageSize=3001" 400 InvalidParameter DescribeLiveStreamsBlockList $D PageSize=3001
api_err "block list PageNum=0" 400 InvalidParameter DescribeLiveStreamsBlockList $D PageNum=0
api DescribeLiveStreamsBlockList $D PageSize=3000
ok $? "block list PageSize=3000: 200"
for i in $(seq -w 1 25); do
    api ResumeLiveStream $D AppName=page StreamName="s$i" LiveStreamType=publisher
done
api DescribeLiveStreamsBlockList $D
is "$(j "$API_BODY" 'd["TotalNum"]')" 0 "all 25 resumed"

# Control history.
win
api DescribeLiveStreamsControlHistory $D "${WIN[@]}" AppName=live
ok $? "DescribeLiveStreamsControlHistory: 200" || diag "$API_CODE $API_BODY"
is "$(j "$API_BODY" '[x["Action"] for x in sorted(d["ControlInfo"]["LiveStreamControlInfo"], key=lambda x: x["TimeStamp"]) if x["StreamName"] == "fb1"]')" \
    '["forbid", "resume"]' "... live/fb1: forbid, then resume (a resume of a free stream is not recorded)"
is "$(j "$API_BODY" '[x["Action"] for x in d["ControlInfo"]["LiveStreamControlInfo"] if x["StreamName"] == "os1"]')" \
    '["forbid_oneshot"]' "... live/os1: forbid_oneshot"
is "$(j "$API_BODY" 'sorted(set(k for x in d["ControlInfo"]["LiveStreamControlInfo"] for k in x))')" \
    '["Action", "AppName", "ClientIP", "StreamName", "TimeStamp"]' "... entry fields"
is "$(j "$API_BODY" '[x["ClientIP"] for x in d["ControlInfo"]["LiveStreamControlInfo"]][0]')" 127.0.0.1 "... ClientIP is the caller"
is "$(j "$API_BODY" 'sorted(set(x["AppName"] for x in d["ControlInfo"]["LiveStreamControlInfo"]))')" '["live"]' \
    "... AppName filter"
api DescribeLiveStreamsControlHistory $D "${WIN[@]}" AppName=page
is "$(j "$API_BODY" 'len(d["ControlInfo"]["LiveStreamControlInfo"])')" 50 "... AppName=page: 25 forbids + 25 resumes"
api_err "control history over 31 days" 400 InvalidStartTime.ValueNotSupported \
    DescribeLiveStreamsControlHistory $D "StartTime=$(utc -$((31 * 86400)))" "EndTime=$(utc 0)"
api DescribeLiveStreamsControlHistory $D "StartTime=$(utc -$((30 * 86400 - 60)))" "EndTime=$(utc 0)"
ok $? "control history over 30 days less a minute: 200" || diag "$API_CODE $API_BODY"
api_err "control history StartTime=2024-01-01 10:00:00" 400 InvalidStartTime.Malformed \
    DescribeLiveStreamsControlHistory $D "StartTime=2024-01-01 10:00:00" "EndTime=$(utc 0)"
api_err "control history EndTime 2017-12-22T08:00:00:00Z (the reference's typo)" 400 InvalidEndTime.Malformed \
    DescribeLiveStreamsControlHistory $D "StartTime=2017-12-22T07:00:00Z" "EndTime=2017-12-22T08:00:00:00Z"
api_err "control history without StartTime" 400 MissingParameter \
    DescribeLiveStreamsControlHistory $D "EndTime=$(utc 0)"
like "$(j "$API_BODY" 'd["Message"]')" StartTime "... the message names StartTime"
api_err "control history EndTime before StartTime" 400 InvalidEndTime.Mismatch \
    DescribeLiveStreamsControlHistory $D "StartTime=$(utc 0)" "EndTime=$(utc -60)"

# ---- online list, publish list, viewers, rates --------------------------------------------
pub ol-alpha 60
ok $? "publisher live/ol-alpha is live" || diag "$(cat "$LE_PUB_LOG")"
alpha_pub=$LE_PUB_PID
alpha_t0=$(date +%s)
LE_APP=other pub ol-beta 60
ok $? "publisher other/ol-beta is live" || diag "$(cat "$LE_PUB_LOG")"
beta_pub=$LE_PUB_PID

onl='sorted(x["AppName"] + "/" + x["StreamName"] for x in d["OnlineInfo"]["LiveStreamOnlineInfo"])'
api DescribeLiveStreamsOnlineList $D
is "$(j "$API_BODY" "$onl")" '["live/ol-alpha", "other/ol-beta"]' "online list: both streams"
is "$(j "$API_BODY" '[d["PageNum"], d["PageSize"], d["TotalNum"], d["TotalPage"]]')" '[1, 2000, 2, 1]' "... paging fields"
is "$(j "$API_BODY" '[x[k] for x in d["OnlineInfo"]["LiveStreamOnlineInfo"][:1] for k in ("DomainName", "PublishDomain", "PublishUrl")]')" \
    '["live.test", "live.test", "rtmp://live.test/live/ol-alpha"]' "... PublishDomain is the play domain for a direct publish"
like "$(j "$API_BODY" 'd["OnlineInfo"]["LiveStreamOnlineInfo"][0]["PublishTime"]')" '^20[0-9-]{8}T[0-9:]{8}Z$' "... PublishTime"
api DescribeLiveStreamsOnlineList $D AppName=other
is "$(j "$API_BODY" "$onl")" '["other/ol-beta"]' "AppName=other: ol-beta only"
api DescribeLiveStreamsOnlineList $D StreamName=ol- QueryType=fuzzy
is "$(j "$API_BODY" "$onl")" '["live/ol-alpha", "other/ol-beta"]' "StreamName=ol- QueryType=fuzzy: both"
api DescribeLiveStreamsOnlineList $D StreamName=ALPHA QueryType=fuzzy
is "$(j "$API_BODY" "$onl")" '["live/ol-alpha"]' "StreamName=ALPHA QueryType=fuzzy: ol-alpha"
api DescribeLiveStreamsOnlineList $D StreamName=ol- QueryType=strict
is "$(j "$API_BODY" "$onl")" '[]' "StreamName=ol- QueryType=strict: none"
api DescribeLiveStreamsOnlineList $D StreamName=ol-beta QueryType=strict
is "$(j "$API_BODY" "$onl")" '["other/ol-beta"]' "StreamName=ol-beta QueryType=strict: ol-beta"
api DescribeLiveStreamsOnlineList $D StreamType=trans
is "$(j "$API_BODY" "[$onl, d['TotalNum']]")" '[[], 0]' "StreamType=trans: empty (no transcoding)"
api DescribeLiveStreamsOnlineList $D StreamType=all PageSize=1 PageNum=2
is "$(j "$API_BODY" "[$onl, d['TotalNum'], d['TotalPage']]")" '[["other/ol-beta"], 2, 2]' "PageSize=1 PageNum=2: the second"
api_err "online list QueryType=bogus" 400 InvalidParameter DescribeLiveStreamsOnlineList $D QueryType=bogus
api_err "online list over 31 days" 400 InvalidStartTime.ValueNotSupported DescribeLiveStreamsOnlineList $D \
    "StartTime=$(utc -$((31 * 86400)))" "EndTime=$(utc 0)"
api_err "online list without DomainName" 400 MissingParameter DescribeLiveStreamsOnlineList

le_player ol-alpha "$LE_DIR/ol-alpha-1.flv"
p1=$LE_PLAYER_PID
le_player ol-alpha "$LE_DIR/ol-alpha-2.flv"
p2=$LE_PLAYER_PID
le_wait_for 10 le_size_gt "$LE_DIR/ol-alpha-1.flv" 20000 && le_wait_for 10 le_size_gt "$LE_DIR/ol-alpha-2.flv" 20000
ok $? "two rtmpdump players receive live/ol-alpha"
api DescribeLiveStreamOnlineUserNum $D
is "$(j "$API_BODY" '[[x["StreamUrl"], x["UserNumber"]] for x in d["OnlineUserInfo"]["LiveStreamOnlineUserNumInfo"]]')" \
    '[["rtmp://live.test/live/ol-alpha", 2], ["rtmp://live.test/other/ol-beta", 0]]' \
    "DescribeLiveStreamOnlineUserNum: 2 on ol-alpha, 0 on ol-beta"
is "$(j "$API_BODY" 'd["TotalUserNumber"]')" 2 "... TotalUserNumber 2"

# HLS viewers have no connection: a client (address + User-Agent) that fetched
# the live playlist counts for three fragments (at least 5 s).
hls_get() { curl -sf --max-time 3 -A "$1" -o /dev/null "http://127.0.0.1:$LE_HTTP_PORT/live/ol-alpha.m3u8"; }
le_wait_for 15 hls_get le-probe
ok $? "live/ol-alpha has a live HLS playlist"
hls_get viewer-a && hls_get viewer-b && hls_get viewer-a
ok $? "two more HLS clients fetch it (one twice)"
ol_alpha_users='[x["UserNumber"] for x in d["OnlineUserInfo"]["LiveStreamOnlineUserNumInfo"] if x["StreamUrl"].endswith("/ol-alpha")]'
api DescribeLiveStreamOnlineUserNum $D
is "$(j "$API_BODY" "$ol_alpha_users")" '[5]' "UserNumber counts HLS clients: 2 RTMP players + 3 HLS clients"
hls_gone() { api DescribeLiveStreamOnlineUserNum $D; [ "$(j "$API_BODY" "$ol_alpha_users")" = '[2]' ]; }
t0=$(le_now_ms)
le_wait_for 15 hls_gone
ok $? "HLS clients that stop fetching leave the count ($(( $(le_now_ms) - t0 )) ms)"
le_kill "$p1" "$p2"

# Rates: 25 fps published; wait until the stream has run ~6 s.
while [ $(( $(date +%s) - alpha_t0 )) -lt 7 ]; do sleep 0.5; done
api DescribeLiveStreamsFrameRateAndBitRateData $D AppName=live
ok $? "DescribeLiveStreamsFrameRateAndBitRateData: 200" || diag "$API_CODE $API_BODY"
is "$(j "$API_BODY" '[x["StreamUrl"] for x in d["FrameRateAndBitRateInfos"]["FrameRateAndBitRateInfo"]]')" \
    '["rtmp://live.test/live/ol-alpha"]' "... AppName=live: ol-alpha only"
fps=$(j "$API_BODY" 'round(float(d["FrameRateAndBitRateInfos"]["FrameRateAndBitRateInfo"][0]["VideoFrameRate"]))')
cmp_ok "$fps" -ge 22 "... VideoFrameRate ~25 ($fps)" && cmp_ok "$fps" -le 28 "... VideoFrameRate ~25 ($fps), at most 28"
br=$(j "$API_BODY" 'int(float(d["FrameRateAndBitRateInfos"]["FrameRateAndBitRateInfo"][0]["BitRate"]))')
cmp_ok "$br" -gt 64 "... BitRate above the audio alone ($br kbps)"
like "$(j "$API_BODY" 'd["FrameRateAndBitRateInfos"]["FrameRateAndBitRateInfo"][0]["Time"]')" '^20[0-9-]{8}T[0-9:]{8}Z$' "... Time"

le_kill "$alpha_pub"
sleep 0.5
api DescribeLiveStreamsOnlineList $D
is "$(j "$API_BODY" "$onl")" '["other/ol-beta"]' "a publisher that left leaves the online list"
win
api DescribeLiveStreamsPublishList $D "${WIN[@]}" StreamName=ol-alpha
ok $? "DescribeLiveStreamsPublishList: 200" || diag "$API_CODE $API_BODY"
rec=$(j "$API_BODY" '[x for x in d["PublishInfo"]["LiveStreamPublishInfo"] if x["StreamName"] == "ol-alpha"][0]')
is "$(j "$rec" '[d[k] for k in ("DomainName", "AppName", "StreamName", "ClientAddr", "EdgeNodeAddr", "PublishUrl", "StreamUrl", "PublishDomain")]')" \
    '["live.test", "live", "ol-alpha", "127.0.0.1", "127.0.0.1", "rtmp://live.test/live/ol-alpha", "http://live.test/live/ol-alpha.flv", "live.test"]' \
    "... the finished publish: ClientAddr, EdgeNodeAddr, PublishUrl, StreamUrl"
like "$(j "$rec" 'd["PublishTime"] + " " + d["StopTime"]')" '^20[0-9-]{8}T[0-9:]{8}Z 20[0-9-]{8}T[0-9:]{8}Z$' "... PublishTime and StopTime"
is "$(j "$rec" 'd["StopTime"] >= d["PublishTime"]')" true "... StopTime not before PublishTime"
is "$(j "$API_BODY" '[d["TotalNum"], d["TotalPage"], d["PageNum"]]')" '[1, 1, 1]' "... paging fields"
api DescribeLiveStreamsPublishList $D "${WIN[@]}" AppName=other
is "$(j "$API_BODY" '[x["StreamName"] + " " + x["StopTime"] for x in d["PublishInfo"]["LiveStreamPublishInfo"]]')" \
    '["ol-beta "]' "... a publish still running has an empty StopTime"
api_err "publish list without StartTime" 400 MissingParameter DescribeLiveStreamsPublishList $D "EndTime=$(utc 0)"
api_err "publish list over 31 days" 400 InvalidStartTime.ValueNotSupported DescribeLiveStreamsPublishList $D \
    "StartTime=$(utc -$((31 * 86400)))" "EndTime=$(utc 0)"
le_kill "$beta_pub"

# ---- a second node on the same Redis --------------------------------------------------
LE_NAME=$LE_BASE_NAME-b
le_start || le_abort "second livedge did not start"
LE_NAME=$LE_BASE_NAME
save_node B
api DescribeLiveDomainDetail DomainName=$PLAY
is "$API_CODE $(j "$API_BODY" 'd["DomainDetail"]["DomainStatus"]')" "200 online" \
    "node B knows the domain node A added through the API"
pub "b1?vhost=$PLAY" 20
ok $? "... and accepts a publish on it" || diag "$(cat "$LE_PUB_LOG")"
le_kill "$LE_PUB_PID"
use A
api AddLiveDomain DomainName=late.ctl.test LiveDomainType=liveVideo Region=cn-beijing
use B
le_wait_for 3 api DescribeLiveDomainDetail DomainName=late.ctl.test
ok $? "a domain added on A while B runs reaches B within 3 s" || diag "$API_CODE $API_BODY"
use A
api StopLiveDomain DomainName=late.ctl.test
use B
late_offline() {
    api DescribeLiveDomainDetail DomainName=late.ctl.test &&
        [ "$(j "$API_BODY" 'd["DomainDetail"]["DomainStatus"]')" = offline ]
}
le_wait_for 3 late_offline
ok $? "... and so does its StopLiveDomain" || diag "$API_CODE $API_BODY"
pub_refused "x?vhost=late.ctl.test"
ok $? "... B refuses a publish on it"

# ResumeTime with two nodes: the expiry is recorded once.
use A
rt=$(utc 4)
rt_t0=$(date +%s)
api ForbidLiveStream $D AppName=live StreamName=rt1 LiveStreamType=publisher ResumeTime="$rt"
ok $? "ForbidLiveStream live/rt1 ResumeTime=$rt (now + 4 s): 200" || diag "$API_CODE $API_BODY"
use B
pub_refused rt1
ok $? "... node B refuses live/rt1 now"
use A
api DescribeLiveStreamsBlockList $D
is "$(j "$API_BODY" 'd["StreamUrls"]["StreamUrl"]')" '["live.test/live/rt1"]' "... it is on the block list"
while [ $(( $(date +%s) - rt_t0 )) -lt 5 ]; do sleep 0.2; done
pub rt1 20
ok $? "... node A accepts live/rt1 after ~5 s" || diag "$(cat "$LE_PUB_LOG")"
le_kill "$LE_PUB_PID"
use B
pub rt1 20
ok $? "... and so does node B" || diag "$(cat "$LE_PUB_LOG")"
le_kill "$LE_PUB_PID"
sleep 2.5        # both nodes' once-a-second expiry ticks have run
use A
api DescribeLiveStreamsBlockList $D
is "$(j "$API_BODY" 'd["TotalNum"]')" 0 "... the expired entry left the block list"
win
api DescribeLiveStreamsControlHistory $D "${WIN[@]}"
is "$(j "$API_BODY" '[x["Action"] for x in sorted(d["ControlInfo"]["LiveStreamControlInfo"], key=lambda x: x["TimeStamp"]) if x["StreamName"] == "rt1"]')" \
    '["forbid", "resume_expired"]' "control history of live/rt1: forbid, then exactly one resume_expired"
use B
api DescribeLiveStreamsControlHistory $D "${WIN[@]}"
is "$(j "$API_BODY" '[x["Action"] for x in d["ControlInfo"]["LiveStreamControlInfo"] if x["StreamName"] == "rt1"].count("resume_expired")')" \
    1 "... node B's API says the same"

use B
le_stop
use A
le_stop
done_testing
