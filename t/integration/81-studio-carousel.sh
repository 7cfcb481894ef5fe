#!/bin/sh
# 81-studio-carousel: carousels (docs/STUDIO.md, "Carousels"):
#  - AddCasterEpisodeGroupContent (POST, the Content JSON) with two short
#    files (red with 440 Hz, blue with 880 Hz, 3 s each) and RepeatNum 1,
#    SideOutputUrl on a second livedge and CallbackUrl on a local HTTP
#    server: the second node receives one stream whose video timestamps
#    rise by one tick a frame across the item changes (steps over a tick
#    only for ticks the engine counted as skipped) and whose pictures go red, blue,
#    red, blue; the callback server gets start, item, item, item, end with
#    the documented fields; the carousel is then finished (status 2) and
#    its lease given back;
#  - AddCasterEpisodeGroup's ClientToken is idempotent, its errors;
#  - DeleteCasterEpisodeGroup answers retCode 0 "OK" and stops a carousel
#    that plays forever; a second delete answers retCode 1.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
# shellcheck shell=bash
: "${LE_SCRIPT_TIMEOUT:=240}"
# shellcheck source=t/integration/studio.sh
. "$(dirname "$0")/studio.sh"

for c in red:440 blue:880; do
    ffmpeg -hide_banner -loglevel error -y -f lavfi -i "color=c=${c%%:*}:s=320x180:r=25" \
        -f lavfi -i "sine=frequency=${c##*:}:sample_rate=44100" -t 3 -c:v libx264 -preset ultrafast -g 25 \
        -pix_fmt yuv420p -c:a aac -b:a 64k -shortest "$MAT/${c%%:*}.mp4" || le_abort "cannot make the files"
done

# ---- the callback server: one JSON line per POST body -----------------------------
CBLOG=$LE_DIR/callbacks.jsonl
cb_recorder "$CBLOG"
CB_URL="http://127.0.0.1:$CB_PORT/carousel"

# ---- two nodes sharing the Redis: A runs carousels, B (caster_max 0) receives ----
LE_EXTRA_CONF="caster_fps 15;
caster_source_timeout 1s;
caster_max 0;"
start_node B || le_abort "node B did not start"
LE_EXTRA_CONF="caster_fps 15;
caster_source_timeout 1s;"
start_node A || le_abort "node A did not start"

# ---- parameters ---------------------------------------------------------------------
api AddCasterEpisodeGroup ClientToken=crl-81-x DomainName="$LE_DOMAIN" Items.1.ItemName=red
is "$API_CODE $(j "$API_BODY" 'd["Code"]')" "400 MissingParameter" "an item without VodUrl: 400 MissingParameter"
api AddCasterEpisodeGroup ClientToken=crl-81-x DomainName="$LE_DOMAIN" Items.1.ItemName=red \
    Items.1.VodUrl="$MAT/red.mp4" RepeatNum=-2
is "$API_CODE $(j "$API_BODY" 'd["Code"]')" "400 InvalidParameter" "RepeatNum -2: 400 InvalidParameter"
api AddCasterEpisodeGroup ClientToken=crl-81-x DomainName=nope.test Items.1.ItemName=red \
    Items.1.VodUrl="$MAT/red.mp4"
is "$API_CODE $(j "$API_BODY" 'd["Code"]')" "404 InvalidDomain.NotFound" "an unknown DomainName: 404"

# ---- the carousel: red, blue, red, blue to node B ---------------------------------
SIDE="rtmp://127.0.0.1:$N_B_RTMP/live/crl"
OUT=$LE_DIR/side.flv
# The reader on node B: tried until the pushed stream exists, then kept
# until it ends (one stream: it is not started again).
( for _ in $(seq 1 150); do
      timeout 90 ffmpeg -hide_banner -nostdin -loglevel error -i "$SIDE" -c copy -f flv "$OUT" 2>>"$LE_DIR/reader.log"
      [ -s "$OUT" ] && break
      sleep 0.2
  done ) &
READER=$!
CONTENT=$(printf '{"DomainName":"%s","Items":[{"ItemName":"red","VodUrl":"file://%s"},{"ItemName":"blue","VodUrl":"%s"}],"RepeatNum":1,"StartTime":"%s","SideOutputUrl":"%s","CallbackUrl":"%s"}' \
    "$LE_DOMAIN" "$MAT/red.mp4" "$MAT/blue.mp4" "$(utc 2)" "$SIDE" "$CB_URL")
out=$(curl -s --max-time 10 -w '\n%{http_code}' --data-urlencode "Action=AddCasterEpisodeGroupContent" \
    --data-urlencode "Format=JSON" --data-urlencode "ClientToken=crl-81-a" --data-urlencode "Content=$CONTENT" \
    "http://127.0.0.1:$LE_ADMIN_PORT/")
API_CODE=${out##*$'\n'}
API_BODY=${out%$'\n'*}
is "$API_CODE" 200 "AddCasterEpisodeGroupContent (POST)" || diag "$API_BODY"
P=$(j "$API_BODY" 'd["ProgramId"]')
IDS=$(j "$API_BODY" '" ".join(d["ItemIds"])')
like "$P" '^[0-9a-f-]{36}$' "... a ProgramId"
like "$IDS" '^[0-9a-f-]{36} [0-9a-f-]{36}$' "... two ItemIds"
out=$(curl -s --max-time 10 --data-urlencode "Action=AddCasterEpisodeGroupContent" --data-urlencode "Format=JSON" \
    --data-urlencode "ClientToken=crl-81-a" --data-urlencode "Content=$CONTENT" "http://127.0.0.1:$LE_ADMIN_PORT/")
is "$(j "$out" 'd["ProgramId"] + " " + " ".join(d["ItemIds"])')" "$P $IDS" \
    "the same ClientToken again: the same ProgramId and ItemIds"
PS=${P//-/}

le_wait_for 30 grep -qsF 'Event\":\"start' "$CBLOG"
ok $? "the carousel starts (start callback)"
le_wait_for 60 grep -qsF 'Event\":\"end' "$CBLOG"
ok $? "... and ends (end callback)"
le_wait_for 20 sh -c "! kill -0 $READER 2>/dev/null"
ok $? "... the stream on node B ends with it"
kill "$READER" 2>/dev/null
wait "$READER" 2>/dev/null

# The stream node B received: video timestamps, and colours in order.
ffprobe -v error -select_streams v -show_entries packet=pts_time -of csv=p=0 "$OUT" >"$LE_DIR/pts.txt" 2>/dev/null
DROPPED=$(curl -s --max-time 5 "http://127.0.0.1:$N_A_ADMIN/metrics" |
    sed -n 's/^livedge_carousel_dropped_ticks_total //p')
read -r NPKT BAD EXTRA <<<"$(python3 - "$LE_DIR/pts.txt" 15 <<'PY'
import sys
ts = [round(float(l) * 1000) for l in open(sys.argv[1]) if l.strip() and l.strip() != "N/A"]
tick = 1000.0 / int(sys.argv[2])
bad = extra = 0
for a, b in zip(ts, ts[1:]):
    n = round((b - a) / tick)
    if n < 1 or abs((b - a) - n * tick) > 2:
        bad += 1
    else:
        extra += n - 1
print(len(ts), bad, extra)
PY
)"
cmp_ok "$NPKT" -ge 120 "node B received the carousel's video ($NPKT frames at 15 fps)"
is "$BAD" 0 "... its timestamps rise by whole ticks, across the item changes too"
cmp_ok "$EXTRA" -le "${DROPPED:-0}" "... ticks missing from the stream ($EXTRA) are only those the engine skipped on a loaded machine (${DROPPED:-?})"
ffmpeg -hide_banner -loglevel error -i "$OUT" -vf "crop=iw/2:ih/2,scale=1:1,format=rgb24" -f rawvideo - \
    2>/dev/null >"$LE_DIR/px.raw"
SEQ=$(python3 - "$LE_DIR/px.raw" <<'PY'
import sys
b = open(sys.argv[1], "rb").read()
runs = []
for i in range(0, len(b) - 2, 3):
    r, g, bl = b[i], b[i + 1], b[i + 2]
    c = "R" if r > 150 and g < 80 and bl < 80 else "B" if bl > 150 and r < 80 and g < 80 else None
    if c is None:
        continue
    if runs and runs[-1][0] == c:
        runs[-1][1] += 1
    else:
        runs.append([c, 1])
print(" ".join(c for c, n in runs if n >= 5))
PY
)
is "$SEQ" "R B R B" "... its pictures: red, blue, red, blue (RepeatNum 1: the list twice)"
is "$(ffprobe -v error -select_streams a -show_entries stream=codec_name -of csv=p=0 "$OUT")" aac "... with its sound"
is "$(ffprobe -v error -select_streams v -show_entries stream=width,height -of csv=p=0 "$OUT")" "854,480" \
    "... at 854x480"

# The callbacks.
CBS=$(python3 - "$CBLOG" "$P" "$IDS" "$PS" <<'PY'
import json, re, sys
log, pid, ids, ps = sys.argv[1], sys.argv[2], sys.argv[3].split(), sys.argv[4]
out, bad = [], []
for line in open(log):
    e = json.loads(line)
    b = json.loads(e["body"])
    if b.get("ProgramId") != pid:
        continue
    out.append("%s:%s" % (b["Event"], b["ItemName"]))
    if not e["ct"].startswith("application/json"):
        bad.append("content type " + e["ct"])
    if b["ItemId"] != ids[0 if b["ItemName"] == "red" else 1]:
        bad.append("ItemId of " + b["ItemName"])
    if not re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", b.get("Time", "")):
        bad.append("Time " + str(b.get("Time")))
    if b.get("StreamName") != "carousel/" + ps or b.get("DomainName") == "":
        bad.append("StreamName " + str(b.get("StreamName")))
    if not isinstance(b.get("StreamTime"), int) or not isinstance(b.get("Loop"), int):
        bad.append("StreamTime/Loop")
print(" ".join(out) + " | " + (";".join(bad) or "fields ok"))
PY
)
is "$CBS" "start:red item:blue item:red item:blue end:blue | fields ok" \
    "CallbackUrl: start, each item change, end, with ProgramId, ItemId, ItemName, Time, StreamName"
RC=(redis-cli -p "$LE_REDIS_PORT")
is "$("${RC[@]}" HGET "letest$$:carousel:$P" status)" 2 "the carousel is finished (status 2), its state kept"
is "$("${RC[@]}" EXISTS "letest$$:carousel:lease:$P")" 0 "... its lease given back"

# ---- AddCasterEpisodeGroup (flat parameters), forever; a takeover; the delete ----
api AddCasterEpisodeGroup ClientToken=crl-81-b DomainName="$LE_DOMAIN" Items.1.ItemName=red \
    Items.1.VodUrl="$MAT/red.mp4" Items.2.ItemName=blue Items.2.VodUrl="file://$MAT/blue.mp4" RepeatNum=-1 \
    CallbackUrl="$CB_URL"
ok $? "AddCasterEpisodeGroup (Items.N.*), RepeatNum -1" || diag "$API_BODY"
P2=$(j "$API_BODY" 'd["ProgramId"]')
le_wait_for 30 sh -c "curl -s --max-time 5 'http://127.0.0.1:$N_A_ADMIN/metrics' | grep -q '^livedge_carousels_running 1'"
ok $? "... it runs on node A"
# cb_of ID: "Event:ItemIndex:Loop" of ID's callbacks, in order.
cb_of() {
    python3 - "$CBLOG" "$1" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    b = json.loads(json.loads(line)["body"])
    if b.get("ProgramId") == sys.argv[2]:
        print("%s:%s:%s" % (b["Event"], b["ItemIndex"], b["Loop"]))
PY
}
le_wait_for 30 sh -c "grep -F '$P2' '$CBLOG' | grep -qF 'Event\\\":\\\"item'"
ok $? "... it moves to its second item"
use A
le_stop
NCB=$(cb_of "$P2" | wc -l)
POS="$("${RC[@]}" HGET "letest$$:carousel:$P2" item):$("${RC[@]}" HGET "letest$$:carousel:$P2" loop)"
like "$POS" '^[01]:[0-9]+$' "node A stopped; the stored position is item:loop $POS"
LE_EXTRA_CONF="caster_fps 15;
caster_source_timeout 1s;"
start_node C || le_abort "node C did not start"
le_wait_for 30 sh -c "curl -s --max-time 5 'http://127.0.0.1:$N_C_ADMIN/metrics' | grep -q '^livedge_carousels_running 1'"
ok $? "node C takes the carousel over"
le_wait_for 10 sh -c "[ \$(grep -cF '$P2' '$CBLOG') -gt $NCB ]"
is "$(cb_of "$P2" | sed -n "$((NCB + 1))p")" "item:$POS" "... and resumes at the stored item (an item callback)"
api DeleteCasterEpisodeGroup ProgramId="$P2"
is "$API_CODE $(j "$API_BODY" '"%s %s %s" % (d["retCode"], d["description"], d["requestId"] == d["RequestId"])')" \
    "200 0 OK True" "DeleteCasterEpisodeGroup: requestId, retCode 0, description OK"
le_wait_for 15 sh -c "curl -s --max-time 5 'http://127.0.0.1:$N_C_ADMIN/metrics' | grep -q '^livedge_carousels_running 0'"
ok $? "... the carousel stops"
is "$("${RC[@]}" EXISTS "letest$$:carousel:$P2")" 0 "... its state is removed"
le_wait_for 10 sh -c "grep -F '$P2' '$CBLOG' | grep -qF 'Reason\\\":\\\"deleted'"
ok $? "... the end callback says Reason deleted"
api DeleteCasterEpisodeGroup ProgramId="$P2"
is "$API_CODE $(j "$API_BODY" 'd["retCode"]')" "200 1" "a second delete: retCode 1"
api DeleteCasterEpisodeGroup ProgramId="$P"
is "$(j "$API_BODY" 'd["retCode"]')" 0 "the finished carousel is deleted"
is "$("${RC[@]}" EXISTS "letest$$:carousel:$P" "letest$$:carouseltoken:crl-81-a" "letest$$:carouseltoken:crl-81-b") $("${RC[@]}" SCARD "letest$$:carousels")" \
    "0 0" "... the deletes removed the hashes, the ClientTokens and the set's entries"

le_kill "$CB_PID"
le_stop
use B
le_stop
done_testing
