#!/bin/sh
# 47-domain-configs: domain functions and per-domain switches.
#  - BatchSetLiveDomainConfigs / DescribeLiveDomainConfigs /
#    BatchDeleteLiveDomainConfigs with the API reference's own example
#    payloads: functions the node does not act on (set_req_host_header,
#    filetype_based_ttl_set) are stored and echoed as given, logged
#    "stored, not enforced", kept across a restart; the enforced ones (among
#    them https_force, whose redirect 84-tls tests) keep their exact checks,
#    and a bad one fails the whole call.
#  - The white and black referer lists each keep their own allow_empty
#    (HTTP-FLV and HLS, with and without a Referer).
#  - Push and play keys: the file's push_aliauth block and aliauth set on the
#    push domain govern publishes through it; the play domain's keys govern
#    playback; a push domain without keys of its own falls back.
#  - hls_count_viewers off: HLS clients are not in OnlineUserNum.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
# shellcheck shell=bash
LE_SCRIPT_TIMEOUT=${LE_SCRIPT_TIMEOUT:-400}
. "$(dirname "$0")/lib.sh"
# shellcheck source=t/integration/admin.sh
. "$(dirname "$0")/admin.sh"

le_require_daemon
le_require_tool ffmpeg rtmpdump python3 curl redis-server

PUSH=push.$LE_DOMAIN
NOHLS=nohls.test
PK=push-file-key          # the file's push_aliauth key (tx_secret)
PK2=push-api-key          # aliauth set on the push domain through the API
PLK=play-api-key          # aliauth set on the play domain through the API
LE_DOMAIN_CONF="    push_domain $PUSH;
    push_aliauth {
        auth_type tx_secret;
        auth_key1 $PK;
    }"
LE_EXTRA_CONF="domain $NOHLS {
    hls_fragment 1s;
    hls_count_viewers off;
}"
LE_WAIT_PORTS="rtmp http admin"
le_start || le_abort "livedge did not start"

H=http://127.0.0.1:$LE_HTTP_PORT
# tx KEY STREAM: a txSecret token valid for a minute (computed here, md5sum).
tx() {
    local t h
    t=$(printf %X $(( $(date +%s) + 60 )))
    h=$(printf '%s' "$1$2$t" | md5sum | cut -d' ' -f1)
    echo "txSecret=$h&txTime=$t"
}
# hget URL [curl args...]: the status of a GET (HTTP-FLV never ends: 2 s at most).
hget() { local u=$1; shift; curl -s -o /dev/null --max-time 2 -w '%{http_code}' "$@" "$u"; }
# rplay NAME QUERY: ok if rtmpdump receives media within 4 s, else refused.
rplay() {
    local f=$LE_DIR/play-$RANDOM.flv pid
    le_bg pid rtmpdump -q -m 3 -r "$(le_url "$1")${2:+?$2}" -o "$f" >>"$LE_DIR/rtmpdump.log" 2>&1
    le_wait_for 4 le_size_gt "$f" 2000
    if [ "$(le_file_size "$f")" -gt 2000 ]; then echo ok; else echo refused; fi
    le_kill "$pid"
}
# rpub NAME_AND_QUERY: a 1 s ffmpeg publish; ok (finished cleanly) or refused.
rpub() {
    if timeout -k 3 20 ffmpeg -hide_banner -nostdin -loglevel error -re -f lavfi \
        -i "testsrc2=size=160x120:rate=25" -t 1 -c:v libx264 -preset ultrafast -g 25 \
        -f flv "$(le_url "$1")" >>"$LE_DIR/rpub.log" 2>&1; then echo ok; else echo refused; fi
}
fn() {   # fn NAME ARG=VALUE...: one Functions entry (JSON)
    local out a sep=""
    out="{\"functionName\":\"$1\",\"functionArgs\":["; shift
    for a in "$@"; do out+="$sep{\"argName\":\"${a%%=*}\",\"argValue\":\"${a#*=}\"}"; sep=,; done
    echo "$out]}"
}
# setcfg DOMAIN FUNCTION-JSON...: BatchSetLiveDomainConfigs, must answer 200.
setcfg() {
    local d=$1 IFS=,
    shift
    api BatchSetLiveDomainConfigs "DomainNames=$d" "Functions=[$*]" || diag "BatchSet: $API_CODE $API_BODY"
}
code() { j "$API_BODY" 'd.get("Code", "")'; }
# fnargs FUNCTION: [ConfigId, [[ArgName, ArgValue]...]] of that record in API_BODY.
fnargs() {
    j "$API_BODY" "[[c['ConfigId'], [[a['ArgName'], a['ArgValue']] for a in c['FunctionArgs']['FunctionArg']], c['Status']]
        for c in d['DomainConfigs']['DomainConfig'] if c['FunctionName'] == '$1']"
}

# ---- push and play keys: the file's push_aliauth ---------------------------------------
is "$(rpub "pk0?vhost=$PUSH")" refused "push_aliauth tx_secret: a publish through the push domain without a token is refused"
is "$(rpub "pk0?vhost=$PUSH&$(tx $PK pk0)")" ok "... with a txSecret signed with the push key it passes"
is "$(rpub "pk0?vhost=$PUSH&$(tx wrong pk0)")" refused "... signed with another key it is refused"
LE_PUB_SECS=300 le_publish "cam1?vhost=$PUSH&$(tx $PK cam1)"
CAM=$LE_PUB_PID
le_wait_publishing "$LE_PUB_PROGRESS" 15
ok $? "live/cam1 published through $PUSH with the push key" || diag "$(cat "$LE_PUB_LOG")"
is "$(rplay cam1 "")" ok "the play domain has no keys: RTMP play without a token passes"
is "$(hget "$H/live/cam1.flv")" 200 "... HTTP-FLV without a token: 200"
is "$(rpub "pk1")" ok "a publish on the play domain itself checks the play domain's keys (none)"

# ---- referer lists: each with its own allow_empty ---------------------------------------
hls_up() { [ "$(hget "$H/live/cam1.m3u8")" = 200 ]; }
le_wait_for 15 hls_up
ok $? "live/cam1 has an HLS playlist"
for u in /live/cam1.flv /live/cam1.m3u8; do
    # One call, white list first: its allow_empty must survive the black list's.
    setcfg "$LE_DOMAIN" "$(fn referer_white_list_set 'refer_domain_allow_list=example.com' allow_empty=off)" \
        "$(fn referer_black_list_set refer_domain_deny_list=evil.example.com allow_empty=on)"
    m=$(le_log_lines)
    is "$(hget "$H$u")" 403 "$u: white allow_empty off + black allow_empty on: no Referer refused"
    le_wait_log 'empty Referer \(referer_white_list allow_empty off\)' 3 "$m" >/dev/null
    ok $? "... logged as the white list's refusal"
    is "$(hget "$H$u" -H 'Referer: http://www.example.com/p')" 200 "... a white-listed Referer passes"
    is "$(hget "$H$u" -H 'Referer: http://evil.example.com/p')" 403 "... a black-listed one is refused"
    api BatchDeleteLiveDomainConfigs "DomainNames=$LE_DOMAIN" FunctionNames=referer_white_list_set
    is "$(hget "$H$u")" 200 "... white list deleted: the black list's allow_empty on lets no Referer pass"
    # The other order: black list first, white list last.
    setcfg "$LE_DOMAIN" "$(fn referer_black_list_set refer_domain_deny_list=evil.example.com allow_empty=off)" \
        "$(fn referer_white_list_set 'refer_domain_allow_list=example.com' allow_empty=on)"
    m=$(le_log_lines)
    is "$(hget "$H$u")" 403 "$u: black allow_empty off + white allow_empty on: no Referer refused"
    le_wait_log 'empty Referer \(referer_black_list allow_empty off\)' 3 "$m" >/dev/null
    ok $? "... logged as the black list's refusal"
    is "$(hget "$H$u" -H 'Referer: http://example.com/')" 200 "... a white-listed Referer passes"
    api BatchDeleteLiveDomainConfigs "DomainNames=$LE_DOMAIN" FunctionNames=referer_black_list_set
    is "$(hget "$H$u")" 200 "... black list deleted: the white list's allow_empty on lets no Referer pass"
    api BatchDeleteLiveDomainConfigs "DomainNames=$LE_DOMAIN" FunctionNames=referer_white_list_set
done

# ---- hls_count_viewers off --------------------------------------------------------------
LE_PUB_SECS=300 le_publish "nh?vhost=$NOHLS"
NH=$LE_PUB_PID
le_wait_publishing "$LE_PUB_PROGRESS" 15
ok $? "live/nh published on $NOHLS" || diag "$(cat "$LE_PUB_LOG")"
nh_up() { curl -sf --max-time 3 -A "$1" -o /dev/null "$H/live/nh.m3u8?vhost=$NOHLS"; }
le_wait_for 15 nh_up viewer-a
ok $? "$NOHLS: live/nh has an HLS playlist"
nh_up viewer-b; nh_up viewer-c
users='[[x["StreamUrl"], x["UserNumber"]] for x in d["OnlineUserInfo"]["LiveStreamOnlineUserNumInfo"]]'
# The playlist fetches above (curl's own User-Agent) leave the count first.
cam1_idle() { api DescribeLiveStreamOnlineUserNum "DomainName=$LE_DOMAIN" StreamName=cam1 &&
    [ "$(j "$API_BODY" "$users")" = "[[\"rtmp://$LE_DOMAIN/live/cam1\", 0]]" ]; }
le_wait_for 15 cam1_idle
ok $? "live/cam1 has no viewer left" || diag "$API_BODY"
curl -sf --max-time 3 -A viewer-a -o /dev/null "$H/live/cam1.m3u8"
curl -sf --max-time 3 -A viewer-b -o /dev/null "$H/live/cam1.m3u8"
api DescribeLiveStreamOnlineUserNum "DomainName=$NOHLS"
is "$(j "$API_BODY" "[$users, d['TotalUserNumber']]")" "[[[\"rtmp://$NOHLS/live/nh\", 0]], 0]" \
    "hls_count_viewers off: three HLS clients are not counted"
api DescribeLiveStreamOnlineUserNum "DomainName=$LE_DOMAIN" StreamName=cam1
is "$(j "$API_BODY" "$users")" "[[\"rtmp://$LE_DOMAIN/live/cam1\", 2]]" \
    "hls_count_viewers on (the default): two HLS clients counted on $LE_DOMAIN"
le_kill "$NH"

# ---- unenforced functions: the API reference's examples ---------------------------------
EX1='[{"functionArgs":[{"argName":"domain_name","argValue":"www.testdomain.com"}],"functionName":"set_req_host_header"}]'
EX2='[{"functionArgs":[{"argName":"file_type","argValue":"jpg"},{"argName":"ttl","argValue":"18"},{"argName":"weight","argValue":"30"}],"functionName":"filetype_based_ttl_set","configId":5068123}]'
m=$(le_log_lines)
api BatchSetLiveDomainConfigs "DomainName=$LE_DOMAIN" "Functions=$EX1"
is "$API_CODE" 200 "BatchSet, the reference's example (set_req_host_header): 200" || diag "$API_BODY"
like "$API_BODY" '^\{"RequestId":"[0-9A-F-]{36}"\}$' "... the body is RequestId only"
le_wait_log "set_req_host_header set \\(ConfigId [0-9]+\\): stored, not enforced" 3 "$m" >/dev/null
ok $? "... logged as stored, not enforced"
api BatchSetLiveDomainConfigs "DomainNames=$LE_DOMAIN" "Functions=$EX2"
is "$API_CODE" 200 "BatchSet, the reference's configId example (filetype_based_ttl_set): 200" || diag "$API_BODY"
api DescribeLiveDomainConfigs "DomainName=$LE_DOMAIN"
is "$(fnargs set_req_host_header | sed 's/^\[\[[0-9]*,/[[N,/')" '[[N, [["domain_name", "www.testdomain.com"]], "success"]]' \
    "Describe echoes set_req_host_header with its args"
is "$(fnargs filetype_based_ttl_set)" '[[5068123, [["file_type", "jpg"], ["ttl", "18"], ["weight", "30"]], "success"]]' \
    "Describe echoes filetype_based_ttl_set under its configId, args in order"
api DescribeLiveDomainConfigs "DomainName=$LE_DOMAIN" FunctionNames=filetype_based_ttl_set,https_force
is "$(j "$API_BODY" '[c["FunctionName"] for c in d["DomainConfigs"]["DomainConfig"]]')" '["filetype_based_ttl_set"]' \
    "Describe FunctionNames filters (an unenforced one and https_force)"
api BatchSetLiveDomainConfigs "DomainNames=$LE_DOMAIN" \
    "Functions=[$(fn https_force enable=on),$(fn ip_black_list_set ip_list=10.0.0.0/33)]"
is "$API_CODE $(code)" "400 InvalidArgValue.Malformed" "an unenforced function beside a bad enforced one: the whole call fails"
api DescribeLiveDomainConfigs "DomainName=$LE_DOMAIN" FunctionNames=https_force
is "$(fnargs https_force)" '[]' "... and nothing of it is stored"
api BatchSetLiveDomainConfigs "DomainNames=$LE_DOMAIN" "Functions=[$(fn aliauth auth_kind=x),$(fn gzip enable=on)]"
is "$API_CODE $(code)" "400 InvalidArgName.ValueNotSupported" "the enforced functions keep their exact arg names"
long=$(printf 'a%.0s' $(seq 1 65))
api BatchSetLiveDomainConfigs "DomainNames=$LE_DOMAIN" "Functions=[$(fn gzip "$long=on")]"
is "$API_CODE $(code)" "400 InvalidArgName.ValueNotSupported" "unenforced: an arg name over 64 bytes is refused"
api BatchSetLiveDomainConfigs "DomainNames=$LE_DOMAIN" "Functions=[$(fn "$long" enable=on)]"
is "$API_CODE $(code)" "400 InvalidFunctionName.ValueNotSupported" "unenforced: a function name over 64 bytes is refused"
api BatchSetLiveDomainConfigs "DomainNames=$LE_DOMAIN" 'Functions=[{"functionName":"gzip","functionArgs":[{"argName":"enable","argValue":{"x":1}}]}]'
is "$API_CODE $(code)" "400 InvalidFunctions.Malformed" "unenforced: an arg value that is not a string is refused"
api BatchSetLiveDomainConfigs "DomainNames=$LE_DOMAIN" 'Functions=[{"functionName":"gzip","functionArgs":[{"argName":"enable","argValue":"on"}]'
is "$API_CODE $(code)" "400 InvalidFunctions.Malformed" "unenforced: JSON that does not parse is refused"
api BatchDeleteLiveDomainConfigs "DomainNames=$LE_DOMAIN" FunctionNames=referer_white_list_set,https_force
is "$API_CODE" 200 "BatchDelete, the reference's example FunctionNames (referer_white_list_set,https_force): 200" ||
    diag "$API_BODY"
api BatchDeleteLiveDomainConfigs "DomainNames=$LE_DOMAIN" FunctionNames=set_req_host_header
api DescribeLiveDomainConfigs "DomainName=$LE_DOMAIN"
is "$(j "$API_BODY" '[c["FunctionName"] for c in d["DomainConfigs"]["DomainConfig"]]')" '["filetype_based_ttl_set"]' \
    "BatchDelete removed set_req_host_header, filetype_based_ttl_set stays"

# ---- push and play keys through the API --------------------------------------------------
setcfg "$PUSH" "$(fn aliauth auth_type=tx_secret auth_key1=$PK2)"
is "$(rpub "pk2?vhost=$PUSH&$(tx $PK pk2)")" refused "aliauth on the push domain: the file's push key no longer passes"
is "$(rpub "pk2?vhost=$PUSH&$(tx $PK2 pk2)")" ok "... the push domain's API key does"
is "$(rplay cam1 "")" ok "... playback still needs no token"
api DescribeLiveDomainConfigs "DomainName=$PUSH" FunctionNames=aliauth
is "$(fnargs aliauth | sed 's/^\[\[[0-9]*,/[[N,/')" "[[N, [[\"auth_type\", \"tx_secret\"], [\"auth_key1\", \"$PK2\"]], \"success\"]]" \
    "Describe on the push domain: its own aliauth"
api DescribeLiveDomainConfigs "DomainName=$LE_DOMAIN" FunctionNames=aliauth
is "$(fnargs aliauth)" '[]' "Describe on the play domain: no aliauth of its own"

# The reverse: the play domain signs playback, the push domain has none.
setcfg "$LE_DOMAIN" "$(fn aliauth auth_type=tx_secret auth_key1=$PLK)"
setcfg "$PUSH" "$(fn aliauth auth_type=no_auth)"
is "$(rpub "pk3?vhost=$PUSH")" ok "play domain tx_secret, push domain no_auth: a publish needs no token"
is "$(rplay cam1 "")" refused "... RTMP play without a token is refused"
is "$(rplay cam1 "$(tx $PLK cam1)")" ok "... RTMP play with the play key passes"
is "$(hget "$H/live/cam1.flv")" 403 "... HTTP-FLV without a token: 403"
is "$(hget "$H/live/cam1.flv?$(tx $PLK cam1)")" 200 "... HTTP-FLV with the play key: 200"
is "$(rpub "pk4?$(tx $PLK pk4)")" ok "a publish on the play domain itself uses the play key"
is "$(rpub "pk4")" refused "... and needs it"

# No keys of its own: a push domain falls back to the file's push_aliauth.
api BatchDeleteLiveDomainConfigs "DomainNames=$PUSH" FunctionNames=aliauth
is "$API_CODE" 200 "BatchDelete aliauth on the push domain: 200"
is "$(rpub "pk5?vhost=$PUSH")" refused "... publishes fall back to the file's push_aliauth"
is "$(rpub "pk5?vhost=$PUSH&$(tx $PK pk5)")" ok "... whose key passes again"
api DescribeLiveDomainConfigs "DomainName=$LE_DOMAIN" FunctionNames=aliauth
is "$(fnargs aliauth | sed 's/^\[\[[0-9]*,/[[N,/')" "[[N, [[\"auth_type\", \"tx_secret\"], [\"auth_key1\", \"$PLK\"]], \"success\"]]" \
    "... the play domain's aliauth is untouched"
le_kill "$CAM"

# ---- kept across a restart ---------------------------------------------------------------
le_stop
LE_QUIET_START=1 le_start || le_abort "livedge did not restart"
loaded() { api DescribeLiveDomainConfigs "DomainName=$LE_DOMAIN" FunctionNames=filetype_based_ttl_set &&
    [ "$(fnargs filetype_based_ttl_set)" = '[[5068123, [["file_type", "jpg"], ["ttl", "18"], ["weight", "30"]], "success"]]' ]; }
le_wait_for 5 loaded
ok $? "after a restart: the unenforced function is loaded from Redis"

le_alive_ok
le_stop
done_testing
