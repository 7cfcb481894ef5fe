#!/bin/sh
# 72-transcode-api: the transcoding actions (man livedge.8, docs/TRANSCODE.md):
#  - AddLiveStreamTranscode / AddCustomLiveStreamTranscode /
#    DeleteLiveStreamTranscode / DescribeLiveStreamTranscodeInfo round-trip:
#    the Redis hash trans:{Domain} and its JSON, the exact Describe shape
#    (DomainTranscodeList.DomainTranscodeInfo[] with TranscodeName,
#    TranscodeApp, TranscodeTemplate, CustomTranscodeParameters), Mode,
#    replacing, deleting (the domain leaves transdomains with its last);
#  - every refused parameter: missing ones, unknown domain, standard names,
#    the custom limits (Width >= 100, max side 1920, min side 1080, FPS
#    1..30, VideoBitrate 1..6000, TemplateType, names);
#  - AddTrancodeSEI: its parameter errors (Text over 4000 bytes, Pattern,
#    Repeat, Delay), InvalidStream.NotFound for a stream not live, and for a
#    live one the stored request and the message on the SEI channel naming
#    the node holding the publisher.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
# shellcheck shell=bash
: "${LE_SCRIPT_TIMEOUT:=200}"
# shellcheck source=t/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=t/integration/admin.sh
. "$(dirname "$0")/admin.sh"

le_require_daemon
le_require_tool ffmpeg python3 curl redis-server redis-cli

LE_WAIT_PORTS="rtmp http admin"
le_start || le_abort "livedge did not start"
PFX="letest$$:"
rcli() { redis-cli -p "$LE_REDIS_PORT" "$@"; }
UUID='^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$'
D=(Domain=live.test App=live)


# sub ARRAY NAME=VALUE...: CA, the parameters in ARRAY with these replaced or
# added (a parameter given twice is refused as such).
sub() {
    local -n base=$1
    local kv n skip
    shift
    CA=()
    for kv in "${base[@]}"; do
        skip=
        for n in "$@"; do [ "${kv%%=*}" = "${n%%=*}" ] && skip=1; done
        [ -n "$skip" ] || CA+=("$kv")
    done
    CA+=("$@")
}

# ---- AddLiveStreamTranscode ---------------------------------------------------------
api AddLiveStreamTranscode "${D[@]}" Template=lld
ok $? "AddLiveStreamTranscode lld" || diag "$API_BODY"
like "$(j "$API_BODY" 'd["RequestId"]')" "$UUID" "... answers a RequestId"
is "$(j "$API_BODY" 'sorted(d.keys())')" '["RequestId"]' "... and nothing else"
stored=$(rcli HGET "${PFX}trans:live.test" live/lld)
is "$(j "$stored" '[d["App"], d["Template"], d["Mode"], "Custom" in d]')" '["live", "lld", "ondemand", false]' \
    "... stored in trans:live.test field live/lld, on demand"
is "$(rcli SISMEMBER "${PFX}transdomains" live.test)" 1 "... the domain joins transdomains"
api AddLiveStreamTranscode "${D[@]}" Template=ld
ok $? "AddLiveStreamTranscode ld (the API reference's example)" || diag "$API_BODY"
api AddLiveStreamTranscode Domain=live.test App=other Template=lhd Mode=always
ok $? "AddLiveStreamTranscode lhd Mode=always in app other" || diag "$API_BODY"
is "$(j "$(rcli HGET "${PFX}trans:live.test" other/lhd)" 'd["Mode"]')" always "... stored as always"

# ---- AddCustomLiveStreamTranscode -----------------------------------------------------
C=(Domain=live.test App=live Template=LDtest TemplateType=h264 Height=1280 Width=720 FPS=25 VideoBitrate=2400)
api AddCustomLiveStreamTranscode "${C[@]}"
ok $? "AddCustomLiveStreamTranscode with the API reference's example" || diag "$API_BODY"
stored=$(rcli HGET "${PFX}trans:live.test" live/LDtest)
is "$(j "$stored" '[d["Custom"], d["Width"], d["Height"], d["FPS"], d["VideoBitrate"], d["TemplateType"]]')" \
    '[true, 720, 1280, 25, 2400, "h264"]' "... stored with its parameters"
sub C VideoBitrate=6000 Mode=ondemand
api AddCustomLiveStreamTranscode "${CA[@]}"
ok $? "adding it again (VideoBitrate 6000) replaces it" || diag "$API_BODY"
is "$(j "$(rcli HGET "${PFX}trans:live.test" live/LDtest)" 'd["VideoBitrate"]')" 6000 "... the new VideoBitrate"
api AddCustomLiveStreamTranscode Domain=live.test App=live Template=nb-1 TemplateType=h264-nbhd Height=100 \
    Width=1920 FPS=1 VideoBitrate=1
ok $? "the custom limits' edges: 1920x100, FPS 1, VideoBitrate 1, h264-nbhd" || diag "$API_BODY"

# ---- DescribeLiveStreamTranscodeInfo --------------------------------------------------
api DescribeLiveStreamTranscodeInfo DomainTranscodeName=live.test
ok $? "DescribeLiveStreamTranscodeInfo" || diag "$API_BODY"
is "$(j "$API_BODY" 'sorted(d.keys())')" '["DomainTranscodeList", "RequestId"]' "... top-level keys"
is "$(j "$API_BODY" '[i["TranscodeApp"] + "/" + i["TranscodeTemplate"] for i in d["DomainTranscodeList"]["DomainTranscodeInfo"]]')" \
    '["live/LDtest", "live/ld", "live/lld", "live/nb-1", "other/lhd"]' "... every template, sorted by app and name"
is "$(j "$API_BODY" 'd["DomainTranscodeList"]["DomainTranscodeInfo"][2]')" \
    '{"Mode": "ondemand", "TranscodeApp": "live", "TranscodeName": "live.test", "TranscodeTemplate": "lld"}' \
    "... a standard template, exact (no CustomTranscodeParameters)"
is "$(j "$API_BODY" 'd["DomainTranscodeList"]["DomainTranscodeInfo"][0]')" \
    '{"CustomTranscodeParameters": {"FPS": 25, "Height": 1280, "TemplateType": "h264", "Type": "h264", "VideoBitrate": 6000, "Width": 720}, "Mode": "ondemand", "TranscodeApp": "live", "TranscodeName": "live.test", "TranscodeTemplate": "LDtest"}' \
    "... a custom template, exact"
is "$(j "$API_BODY" 'd["DomainTranscodeList"]["DomainTranscodeInfo"][4]["Mode"]')" always "... Mode always echoed"
like "$(curl -s "http://127.0.0.1:$LE_ADMIN_PORT/?Action=DescribeLiveStreamTranscodeInfo&DomainTranscodeName=live.test&Format=XML")" \
    '<DomainTranscodeList><DomainTranscodeInfo>.*<TranscodeTemplate>LDtest</TranscodeTemplate>' "... XML too"

# ---- refused parameters ----------------------------------------------------------------
bad 400 MissingParameter "AddLiveStreamTranscode without Domain" AddLiveStreamTranscode App=live Template=lld
bad 400 MissingParameter "... without App" AddLiveStreamTranscode Domain=live.test Template=lld
bad 400 MissingParameter "... without Template" AddLiveStreamTranscode "${D[@]}"
bad 404 InvalidDomain.NotFound "... an unknown Domain" AddLiveStreamTranscode Domain=nope.test App=live Template=lld
bad 400 MissingParameter "... DomainName instead of Domain" AddLiveStreamTranscode DomainName=live.test \
    App=live Template=lld
like "$(j "$API_BODY" 'd["Message"]')" '"Domain"' "... the message names Domain"
bad 400 InvalidParameter "... Template LLD (case-sensitive)" AddLiveStreamTranscode "${D[@]}" Template=LLD
bad 400 InvalidParameter "... Template LDtest (custom names need AddCustomLiveStreamTranscode)" \
    AddLiveStreamTranscode "${D[@]}" Template=LDtest
bad 400 InvalidParameter "... App with a /" AddLiveStreamTranscode Domain=live.test App=a/b Template=lld
bad 400 InvalidParameter "... App *" AddLiveStreamTranscode Domain=live.test App='*' Template=lld
bad 400 InvalidParameter "... Mode sometimes" AddLiveStreamTranscode "${D[@]}" Template=lld Mode=sometimes
for p in Domain App Template TemplateType Height Width FPS VideoBitrate; do
    CA=()
    for kv in "${C[@]}"; do [ "${kv%%=*}" = "$p" ] || CA+=("$kv"); done
    bad 400 MissingParameter "AddCustomLiveStreamTranscode without $p" AddCustomLiveStreamTranscode "${CA[@]}"
done
for case in Width=99 Height=99 Width=1921 "Height=1921" "Width=1081 Height=1081" "Width=1920 Height=1081" \
    FPS=0 FPS=31 FPS=2.5 FPS=abc VideoBitrate=0 VideoBitrate=6001 VideoBitrate=-5 TemplateType=h265 \
    TemplateType=H264 Template=lld Template=ud Template=my_t "Template=a.b" Mode=never; do
    # shellcheck disable=SC2086 # case is a list of words
    sub C $case
    bad 400 InvalidParameter "AddCustomLiveStreamTranscode $case refused" AddCustomLiveStreamTranscode "${CA[@]}"
done
bad 400 MissingParameter "DescribeLiveStreamTranscodeInfo without DomainTranscodeName" DescribeLiveStreamTranscodeInfo
bad 404 InvalidDomain.NotFound "... an unknown one" DescribeLiveStreamTranscodeInfo DomainTranscodeName=nope.test
bad 400 MissingParameter "DeleteLiveStreamTranscode without Template" DeleteLiveStreamTranscode "${D[@]}"
is "$(rcli HLEN "${PFX}trans:live.test")" 5 "the refused calls stored nothing (5 templates)"

# ---- DeleteLiveStreamTranscode ----------------------------------------------------------
api DeleteLiveStreamTranscode "${D[@]}" Template=lld
ok $? "DeleteLiveStreamTranscode lld" || diag "$API_BODY"
is "$(rcli HEXISTS "${PFX}trans:live.test" live/lld)" 0 "... gone from Redis"
api DescribeLiveStreamTranscodeInfo DomainTranscodeName=live.test
is "$(j "$API_BODY" '[i["TranscodeApp"] + "/" + i["TranscodeTemplate"] for i in d["DomainTranscodeList"]["DomainTranscodeInfo"]]')" \
    '["live/LDtest", "live/ld", "live/nb-1", "other/lhd"]' "... and from Describe"
api DeleteLiveStreamTranscode "${D[@]}" Template=lld
ok $? "deleting it again succeeds" || diag "$API_BODY"
for t in live/LDtest live/ld live/nb-1; do
    api DeleteLiveStreamTranscode Domain=live.test "App=${t%%/*}" "Template=${t#*/}" || break
done
ok $? "three more deleted" || diag "$API_BODY"
is "$(rcli SISMEMBER "${PFX}transdomains" live.test)" 1 "... the domain stays in transdomains with one left"
api DeleteLiveStreamTranscode Domain=live.test App=other Template=lhd
is "$(rcli EXISTS "${PFX}trans:live.test") $(rcli SISMEMBER "${PFX}transdomains" live.test)" "0 0" \
    "with the last template the hash and the transdomains entry go"
api DescribeLiveStreamTranscodeInfo DomainTranscodeName=live.test
is "$(j "$API_BODY" 'd["DomainTranscodeList"]')" '{"DomainTranscodeInfo": []}' "Describe of none: an empty list"

# ---- AddTrancodeSEI ------------------------------------------------------------------------
S=(DomainName=live.test AppName=live StreamName=seis Pattern=keyframe Repeat=1 Delay=100 Text=firsttxt)
for p in DomainName AppName StreamName Pattern Repeat Delay Text; do
    SA=()
    for kv in "${S[@]}"; do [ "${kv%%=*}" = "$p" ] || SA+=("$kv"); done
    bad 400 MissingParameter "AddTrancodeSEI without $p" AddTrancodeSEI "${SA[@]}"
done
for case in Pattern=sometimes Pattern=KEYFRAME Repeat=0 Repeat=-2 Repeat=abc Delay=-1 Delay=86400001 Delay=1.5; do
    sub S "$case"
    bad 400 InvalidParameter "AddTrancodeSEI $case refused" AddTrancodeSEI "${CA[@]}"
done
T4001=$(head -c 4001 /dev/zero | tr '\0' 'x')
sub S "Text=$T4001"
bad 400 InvalidParameter "AddTrancodeSEI Text of 4001 bytes refused" AddTrancodeSEI "${CA[@]}"
like "$(j "$API_BODY" 'd["Message"]')" "Text.*4000" "... the message says why"
sub S "Text=$(printf 'a\377b')"
bad 400 InvalidParameter "AddTrancodeSEI Text not UTF-8 refused" AddTrancodeSEI "${CA[@]}"
like "$(j "$API_BODY" 'd["Message"]')" "Text.*UTF-8" "... the message says why"
sub S DomainName=nope.test
bad 404 InvalidDomain.NotFound "AddTrancodeSEI unknown domain" AddTrancodeSEI "${CA[@]}"
bad 404 InvalidStream.NotFound "AddTrancodeSEI for a stream not live" AddTrancodeSEI "${S[@]}"

pub seis 30 || le_abort "publish of seis did not start"
SUBLOG=$LE_DIR/sei-sub.log
le_bg SUBPID redis-cli -p "$LE_REDIS_PORT" SUBSCRIBE "${PFX}trans:sei" >"$SUBLOG" 2>&1
le_wait_for 5 grep -q "^subscribe" "$SUBLOG"
T4000=$(head -c 4000 /dev/zero | tr '\0' 'y')
sub S "Text=$T4000" Pattern=frame Repeat=-1
api AddTrancodeSEI "${CA[@]}"
ok $? "AddTrancodeSEI with 4000 bytes of text, frame, Repeat -1, on a live stream" || diag "$API_BODY"
is "$(j "$API_BODY" 'sorted(d.keys())')" '["RequestId"]' "... answers a RequestId only"
api AddTrancodeSEI "${S[@]}"
ok $? "AddTrancodeSEI with the API reference's example" || diag "$API_BODY"
stored=$(rcli GET "${PFX}transsei:live.test/live/seis")
is "$(j "$stored" '[d["Text"], d["Pattern"], d["Repeat"], d["Delay"]]')" '["firsttxt", "keyframe", 1, 100]' \
    "... stored in transsei:live.test/live/seis (the latest)"
ttl=$(rcli PTTL "${PFX}transsei:live.test/live/seis")
ok "$([ "$ttl" -gt 86000000 ] && [ "$ttl" -le 86400000 ]; echo $?)" "... for a day (PTTL $ttl)"
le_wait_for 5 grep -q firsttxt "$SUBLOG"
msg=$(grep '"Text":"firsttxt"' "$SUBLOG" | head -1)
like "$msg" "^le-test-$LE_NAME live.test/live/seis \\{.*\"Pattern\":\"keyframe\"" \
    "... published on trans:sei: the node holding the publisher, the stream, the request"
is "$(grep -c "$T4000" "$SUBLOG")" 1 "... the 4000-byte request too"
le_kill "$SUBPID"

# ---- the SEI in the played stream (the node's passthrough path) ---------------------------
# flvsei FILE TEXT: for each video tag holding TEXT, "K" (keyframe) or "F", then
# the NAL types of its body in order (4-byte lengths, as x264 sends them).
cat >"$LE_DIR/flvsei.py" <<'PY'
import sys
data, text = open(sys.argv[1], "rb").read(), sys.argv[2].encode()
if sys.argv[2] == "UUID":
    text = bytes.fromhex("0de153518b2643108533322014653b99")
p, out = 13, []
while p + 11 <= len(data):
    t, n = data[p], int.from_bytes(data[p + 1:p + 4], "big")
    body = data[p + 11:p + 11 + n]
    if len(body) < n:
        break
    if t == 9 and text in body and body[0] & 15 == 7 and body[1] == 1:
        q, types = 5, []
        while q + 4 <= len(body):
            l = int.from_bytes(body[q:q + 4], "big")
            types.append(body[q + 4] & 31)
            q += 4 + l
        out.append(("K" if body[0] >> 4 == 1 else "F") + ":" + ",".join(map(str, types)))
    p += 11 + n + 4
print(" ".join(out))
PY
flvsei() { "$LE_PY" "$LE_DIR/flvsei.py" "$1" "$2"; }
PF=$LE_DIR/sei-play.flv
le_player seis "$PF"
# The texts go out on the next keyframes: the player must be receiving first
# (CI's parallel run once started it after the first text had passed).
le_wait_for 30 le_size_gt "$PF" 20000
ok $? "a player of the stream is receiving before the texts are sent"
M1=livedge-sei-key-$RANDOM
sub S "Text=$M1" Repeat=2 Delay=100
mark=$(le_log_lines)
api AddTrancodeSEI "${CA[@]}"
ok $? "AddTrancodeSEI Pattern keyframe Repeat 2 while a player plays" || diag "$API_BODY"
le_wait_log "SEI of ${#M1} bytes on keyframes, repeat 2" 5 >/dev/null
ok $? "... the node holding the publisher takes it (log)"
le_wait_log "seis: SEI done" 15 "$mark" >/dev/null
ok $? "... done after its second keyframe (log)"
mark=$(le_log_lines)
M2=livedge-sei-frame-$RANDOM
sub S "Text=$M2" Pattern=frame Repeat=5 Delay=0
api AddTrancodeSEI "${CA[@]}"
ok $? "AddTrancodeSEI Pattern frame Repeat 5" || diag "$API_BODY"
le_wait_log "seis: SEI done" 15 "$mark" >/dev/null
ok $? "... done after 5 frames (log)"
# The player has written everything up to the second text (under load it lags the node's log).
le_wait_for 15 grep -qaF "$M2" "$PF"
sleep 0.5
le_kill "$LE_PLAYER_PID"
k=$(flvsei "$PF" "$M1")
is "$(wc -w <<<"$k" | tr -d ' ') $(tr ' ' '\n' <<<"$k" | cut -c1 | sort -u | tr -d '\n')" "2 K" \
    "the played stream: the first text in exactly 2 frames, both keyframes ($k)"
like "$k" '^K:([79],)*6,5(,5)* K:([79],)*6,5' "... our SEI (6) after any AUD or parameter sets (9, 7), before the IDR slices (5)"
f=$(flvsei "$PF" "$M2")
is "$(wc -w <<<"$f" | tr -d ' ')" 5 "the second text in exactly 5 frames ($f)"
dec=$(timeout 60 ffmpeg -hide_banner -nostdin -v error -i "$PF" -map 0:v -f null - 2>&1 | grep -icE 'sei|nal|error while')
is "$dec" 0 "ffmpeg decodes the played stream without SEI or NAL complaints"
trace=$(timeout 60 ffmpeg -hide_banner -nostdin -v trace -i "$PF" -map 0:v -c copy -bsf:v trace_headers -f null - 2>&1)
ours=$(grep -c 'uuid_iso_iec_11578\[0\] *00001101 *= *13$' <<<"$trace" | tr -d ' ')
# 7, plus frames of the earlier requests when the player's GOP cache replay had them
all=$(flvsei "$PF" UUID | wc -w | tr -d ' ')
ok "$([ "$all" -ge 7 ] && [ "$ours" = "$all" ]; echo $?)" \
    "ffmpeg's trace_headers parses a user-data SEI with our UUID in each of the $all frames that carry one" ||
    diag "$(grep -m3 'uuid_iso_iec_11578\[0\]' <<<"$trace")"
met=$(curl -s --max-time 5 "http://127.0.0.1:$LE_ADMIN_PORT/metrics")
reqs=$(sed -n 's/^livedge_sei_requests_total //p' <<<"$met")
ins=$(sed -n 's/^livedge_sei_inserted_total //p' <<<"$met")
ok "$([ "$reqs" = 4 ] && [ "${ins:-0}" -ge 7 ]; echo $?)" \
    "/metrics: livedge_sei_requests_total 4, livedge_sei_inserted_total at least 7 (got $reqs, $ins)"
le_kill "$LE_PUB_PID"

le_stop
done_testing
