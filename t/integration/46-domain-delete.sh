#!/bin/sh
# 46-domain-delete: DeleteLiveDomain deletes every record of the domain (man
# livedge.8): its functions, notify config, forbidden streams, publish and
# control history and per-minute samples leave Redis, and both nodes sharing
# that Redis forget them, so adding the domain again brings nothing back.
# Also AddLiveDomain's checks: Region among the reference's three, and the
# wildcard form ".a.com", which then serves publishes on x.a.com.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
: "${LE_SCRIPT_TIMEOUT:=240}"
# shellcheck source=t/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=t/integration/admin.sh
. "$(dirname "$0")/admin.sh"

le_require_daemon
le_require_tool ffmpeg python3 curl redis-server redis-cli

LE_WAIT_PORTS="rtmp http admin"
LE_BASE_NAME=$LE_NAME
start_node A || le_abort "node A did not start"
start_node B || le_abort "node B did not start"
P="letest$$:"
X=del.test
D=DomainName=$X
rcli() { redis-cli -p "$LE_REDIS_PORT" "$@"; }
keys_of() { rcli --scan --pattern "${P}*$X*" | sort | tr '\n' ' '; }
FN='[{"functionName":"ip_black_list_set","functionArgs":[{"argName":"ip_list","argValue":"192.0.2.7"}]}]'
fnames() { j "$API_BODY" "sorted(x['FunctionName'] for x in d['DomainConfigs']['DomainConfig'])"; }

# ---- AddLiveDomain: Region and wildcard domains -------------------------------------------
use A
api AddLiveDomain DomainName=.wild.test LiveDomainType=liveVideo Region=cn-hangzhou
is "$API_CODE $(j "$API_BODY" "d['Code']")" "400 InvalidParameter" "Region cn-hangzhou is refused"
api AddLiveDomain DomainName=.test LiveDomainType=liveVideo Region=cn-beijing
is "$API_CODE $(j "$API_BODY" "d['Code']")" "400 InvalidParameter" "a wildcard of one label (.test) is refused"
api AddLiveDomain DomainName=.wild.test LiveDomainType=liveVideo Region=ap-southeast-1
is "$API_CODE" 200 "AddLiveDomain .wild.test (ap-southeast-1)" || diag "$API_BODY"
pub "w1?vhost=cam.wild.test" 30
ok $? "a publish on cam.wild.test is served by .wild.test"
api DescribeLiveStreamsOnlineList DomainName=.wild.test
is "$(j "$API_BODY" "[x['StreamName'] for x in d['OnlineInfo']['LiveStreamOnlineInfo']]")" '["w1"]' \
    "... and listed under .wild.test"
le_kill "$LE_PUB_PID"

# ---- a domain with every kind of record ---------------------------------------------
use A
api AddLiveDomain $D LiveDomainType=liveVideo Region=cn-shanghai
is "$API_CODE" 200 "A: AddLiveDomain $X" || diag "$API_BODY"
api BatchSetLiveDomainConfigs DomainNames=$X "Functions=$FN"
is "$API_CODE" 200 "A: BatchSetLiveDomainConfigs ip_black_list_set" || diag "$API_BODY"
api SetLiveStreamsNotifyUrlConfig $D NotifyUrl=http://127.0.0.1:9/notify
is "$API_CODE" 200 "A: SetLiveStreamsNotifyUrlConfig" || diag "$API_BODY"
pub "s0?vhost=$X" 30
ok $? "A: a publish on $X (publish history)"
le_kill "$LE_PUB_PID"
api ForbidLiveStream $D AppName=live StreamName=s1 LiveStreamType=publisher
is "$API_CODE" 200 "A: ForbidLiveStream live/s1" || diag "$API_BODY"
m=$(( $(le_now_ms) / 60000 * 60000 ))
rcli ZADD "${P}sampled:$X" "$m" live/s0 >/dev/null
rcli ZADD "${P}bitrate:$X/live/s0" "$m" '{"BitRate":1}' >/dev/null
rcli ZADD "${P}usernum:$X/live/s0" "$m" "$m|n|1" >/dev/null
rcli SADD "${P}samples:$X" live/old >/dev/null
rcli ZADD "${P}bitrate:$X/live/old" "$m" '{"BitRate":1}' >/dev/null
before=$(keys_of)
for k in domain domaincfg pubhist ctlhist sampled samples bitrate usernum; do
    like "$before" "${P}$k:$X" "before: a $k key of $X exists"
done

use B
seen_on_b() { api DescribeLiveDomainConfigs $D && [ "$(fnames)" = '["alilive", "ip_black_list_set"]' ]; }
le_wait_for 10 seen_on_b
ok $? "B: sees the functions of $X" || diag "$API_CODE $API_BODY"
api DescribeLiveStreamsBlockList $D
is "$(j "$API_BODY" "d['StreamUrls']['StreamUrl']")" "[\"$X/live/s1\"]" "B: sees the forbidden stream"

# ---- delete on A -----------------------------------------------------------------------
use A
api DeleteLiveDomain $D
is "$API_CODE" 200 "A: DeleteLiveDomain $X" || diag "$API_BODY"
gone() { [ -z "$(keys_of)" ]; }
le_wait_for 5 gone
ok $? "no key of $X is left in Redis" || diag "left: $(keys_of)"
use B
b_forgot() { api DescribeLiveDomainDetail $D; [ "$API_CODE" = 404 ]; }
le_wait_for 5 b_forgot
ok $? "B: $X is gone" || diag "$API_CODE $API_BODY"

# ---- add it again (on B): nothing comes back, on either node ------------------------------
api AddLiveDomain $D LiveDomainType=liveVideo Region=cn-beijing
is "$API_CODE" 200 "B: AddLiveDomain $X again" || diag "$API_BODY"
a_sees() { api DescribeLiveDomainDetail $D; }
use A
le_wait_for 5 a_sees
ok $? "A: sees $X again"
sleep 1
for n in A B; do
    use $n
    api DescribeLiveDomainConfigs $D
    is "$API_CODE $(j "$API_BODY" "d['DomainConfigs']['DomainConfig']")" "200 []" "$n: no function came back"
    api DescribeLiveStreamsNotifyUrlConfig $D
    is "$(j "$API_BODY" "d['NotifyUrlConfig']['NotifyUrl']")" "" "$n: no notify URL came back"
    api DescribeLiveStreamsBlockList $D
    is "$(j "$API_BODY" "[d['TotalNum'], d['StreamUrls']['StreamUrl']]")" "[0, []]" "$n: no forbidden stream came back"
    win
    api DescribeLiveStreamsControlHistory $D "${WIN[@]}"
    is "$(j "$API_BODY" "len(d['ControlInfo']['LiveStreamControlInfo'])")" 0 "$n: no control history came back"
    api DescribeLiveStreamsPublishList $D "${WIN[@]}"
    is "$(j "$API_BODY" "d['TotalNum']")" 0 "$n: no publish history came back"
    api DescribeLiveStreamBitRateData $D "${WIN[@]}"
    is "$(j "$API_BODY" "len(d['FrameRateAndBitRateInfos']['FrameRateAndBitRateInfo'])")" 0 "$n: no samples came back"
done
use B
pub "s1?vhost=$X" 30
ok $? "B: live/s1 on $X publishes again (the forbid went with the domain)"
le_kill "$LE_PUB_PID"

le_stop
use A
le_stop
done_testing
