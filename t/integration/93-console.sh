#!/bin/sh
# 93-console: the web console at /console/ on the admin port (livedge(8),
# THE CONSOLE; docs/CONSOLE.md), driven in Debian's Chromium (headless,
# playwright-core) by console-browser.js. The node has admin keys and its
# domain signs URLs (aliauth type A, set through the API, so the console
# reads the key and signs play URLs in the browser); ffmpeg publishes with a
# signed URL. Asserted:
#  - curl: /console redirects to /console/, index.html, a script and the
#    vendored libraries with their types, a strict CSP, ETag and 304 on
#    If-None-Match; traversal, dotfiles and POST refused; the files listed in
#    vendor/LICENSES.md exist;
#  - Chromium: the first load (time and bytes, printed); a wrong secret and a
#    wrong AccessKeyId show the API's Code and Message and nothing else (no
#    nav, no page, no key kept); sign in (the secret in sessionStorage only);
#    the streams page lists the stream (fps, bitrate) and its player plays
#    640x360 with currentTime advancing; the stream page draws graphs,
#    forbid cuts the publisher (ffmpeg exits) and the block list shows the
#    stream; resume empties it (the API agrees); the domains page masks the
#    key until revealed; relays and node pages render; a phone-sized
#    viewport does not scroll sideways; sign out forgets the key; no console
#    error, no failed request, no answer >= 400 but the wrong keys' own.
#  - a node without keys: "No keys (loopback)" lists and plays a stream.
# Screenshots of every page are kept in the test's directory ($LE_DIR/shots;
# the directory is kept when LE_KEEP is set or a test fails).
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
: "${LE_SCRIPT_TIMEOUT:=240}"
# shellcheck source=t/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=t/integration/browser.sh
. "$(dirname "$0")/browser.sh"

le_require_daemon
le_require_tool ffmpeg python3 curl redis-server
le_browser_require || exit 0

AK=console-test-id
SK=console-test-secret
PLAYKEY=play-key-93
LE_EXTRA_CONF="console_root $top_srcdir/www;
admin {
    access_key_id \"$AK\";
    access_key_secret \"$SK\";
}"
LE_DOMAIN_CONF="    timeshift on;
    timeshift_retention 3h;"
LE_WAIT_PORTS="rtmp http admin"
le_start || le_abort "livedge did not start"
ADMIN=http://127.0.0.1:$LE_ADMIN_PORT

# signed ACTION [NAME=VALUE...]: a signed JSON call; prints the body, status in SIGNED_CODE.
signed() {
    local out
    out=$("$LE_PY" - "$AK" "$SK" "$ADMIN" "$@" <<'PY'
import base64, datetime, hashlib, hmac, sys, urllib.error, urllib.parse, urllib.request, uuid
ak, sk, url, action = sys.argv[1:5]
enc = lambda s: urllib.parse.quote(s, safe="-_.~")
p = {"Action": action, "Format": "JSON", "Version": "2016-11-01", "AccessKeyId": ak,
     "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "SignatureNonce": str(uuid.uuid4()),
     "Timestamp": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
for kv in sys.argv[5:]:
    k, v = kv.split("=", 1)
    p[k] = v
canon = "&".join(enc(k) + "=" + enc(v) for k, v in sorted(p.items()))
sts = "GET&" + enc("/") + "&" + enc(canon)
sig = base64.b64encode(hmac.new((sk + "&").encode(), sts.encode(), hashlib.sha1).digest()).decode()
try:
    r = urllib.request.urlopen(url + "/?" + canon + "&Signature=" + enc(sig), timeout=10)
    print(r.read().decode() + "\n200")
except urllib.error.HTTPError as e:
    print(e.read().decode() + "\n" + str(e.code))
PY
)
    SIGNED_CODE=${out##*$'\n'}
    printf '%s\n' "${out%$'\n'*}"
}

# ---- the files, with curl ----------------------------------------------------------
hdr() { curl -s -m 5 -D - -o /dev/null "$@" | tr -d '\r'; }
h=$(hdr "$ADMIN/console")
like "$h" $'^HTTP/1.1 301 .*\nLocation: /console/' "GET /console answers 301 to /console/" || diag "$h"
h=$(hdr "$ADMIN/console/")
like "$h" '^HTTP/1.1 200 ' "GET /console/ answers 200" || diag "$h"
like "$h" 'Content-Type: text/html; charset=utf-8' "... index.html as text/html"
like "$h" "Content-Security-Policy: default-src 'self'; script-src 'self';" "... with a CSP allowing scripts from the console only"
like "$h" 'X-Content-Type-Options: nosniff' "... and nosniff"
etag=$(printf '%s\n' "$h" | sed -n 's/^ETag: //p')
like "$etag" '^"[0-9a-f]{16}"$' "... and a strong ETag ($etag)"
is "$(curl -s -m 5 -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$ADMIN/console/")" 304 "If-None-Match with it answers 304"
is "$(curl -s -m 5 "$ADMIN/console/js/api.js" | cmp - "$top_srcdir/www/js/api.js" && echo same)" same "js/api.js is served byte for byte"
like "$(hdr "$ADMIN/console/js/app.js")" 'Content-Type: text/javascript' "... scripts as text/javascript"
for f in vendor/hls.min.js vendor/mpegts.js vendor/uPlot.iife.min.js vendor/uPlot.min.css; do
    n=$(curl -s -m 5 -o /dev/null -w '%{http_code} %{size_download}' "$ADMIN/console/$f")
    is "$n" "200 $(stat -c %s "$top_srcdir/www/$f")" "the vendored $f is served whole"
    grep -q "^| .*${f#vendor/}.* | [0-9.]* | [A-Za-z0-9.-]* | " "$top_srcdir/www/vendor/LICENSES.md"
    ok $? "... and listed in vendor/LICENSES.md with its version and licence"
done
for p in /console/../conf/livedge.conf /console/%2e%2e/x /console/.hidden /console/js//app.js /console/nope.js; do
    is "$(curl -s -m 5 --path-as-is -o /dev/null -w '%{http_code}' "$ADMIN$p")" 404 "GET $p answers 404"
done
is "$(curl -s -m 5 -o /dev/null -w '%{http_code}' -X POST -d x=1 "$ADMIN/console/")" 405 "POST /console/ answers 405"
is "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$ADMIN/?Action=DescribeLiveUserDomains&Format=JSON")" 400 \
    "the API itself still refuses an unsigned call (the console adds no way in)"

# ---- a domain that signs URLs, a signed publisher ------------------------------------
signed BatchSetLiveDomainConfigs "DomainNames=$LE_DOMAIN" \
    "Functions=[{\"functionName\":\"aliauth\",\"functionArgs\":[{\"argName\":\"auth_type\",\"argValue\":\"type_a\"},{\"argName\":\"auth_key1\",\"argValue\":\"$PLAYKEY\"}]}]" >/dev/null
is "$SIGNED_CODE" 200 "aliauth type A set on $LE_DOMAIN through the API"
ts=$(date +%s)
tok="$ts-0-0-$(printf '%s' "/live/cam1-$ts-0-0-$PLAYKEY" | md5sum | cut -d' ' -f1)"
LE_PUB_SECS=180 le_publish "cam1?auth_key=$tok"
le_wait_publishing "$LE_PUB_PROGRESS" 15
ok $? "ffmpeg publishes live/cam1 with a signed URL" || diag "$(cat "$LE_PUB_LOG")"
pub=$LE_PUB_PID
sampled() { signed DescribeLiveStreamsFrameRateAndBitRateData "DomainName=$LE_DOMAIN" | grep -q '"BitRate"'; }
le_wait_for 15 sampled
ok $? "... and its rates are sampled"
sized() { signed DescribeLiveStreamsOnlineList "DomainName=$LE_DOMAIN" | grep -q '"Width":640'; }
le_wait_for 15 sized
ok $? "... and the online list has its picture size (Width 640)"
is "$(curl -s -m 3 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$LE_HTTP_PORT/live/cam1.flv")" 403 \
    "an unsigned play URL is refused (so the console's players must sign)"

# ---- Chromium ----------------------------------------------------------------------
SHOTS=$LE_DIR/shots
mkdir -p "$SHOTS"
le_browser_run 200 console-browser.js "$ADMIN/console/" "http://127.0.0.1:$LE_HTTP_PORT" \
    "$AK" "$SK" "$LE_DOMAIN" live cam1 "$pub" "$SHOTS"

fl='d["firstLoad"]'
like "$(b "$fl[\"msToSignin\"]")" '^[0-9]+$' "first load, no cache: the sign-in form after $(b "$fl[\"msToSignin\"]") ms, $(b "$fl[\"bytes\"]") bytes in $(b "$fl[\"files\"]") files (load event at $(b "$fl[\"nav\"][\"load\"]") ms)"
cmp_ok "$(b "$fl[\"bytes\"]")" -lt 400000 "... under 400 kB: the players' libraries wait until a player opens"

is "$(b 'd["wrongSecret"]["code"]')" SignatureDoesNotMatch "a wrong secret shows the API's Code ..."
is "$(b 'd["wrongSecret"]["message"]')" "Specified signature is not matched with our calculation." "... and Message"
is "$(b '[d["wrongSecret"][k] for k in ("navLinks", "tables", "signinShown", "stored")]')" '[0, 0, true, null]' \
    "... and nothing else: no nav, no page, the form again, no key kept"
is "$(b 'd["wrongId"]["code"] + " / " + d["wrongId"]["message"]')" "InvalidAccessKeyId.NotFound / Specified access key is not found." \
    "a wrong AccessKeyId shows InvalidAccessKeyId.NotFound and its Message"
is "$(b '[d["wrongId"][k] for k in ("navLinks", "tables")]')" '[0, 0]' "... and nothing else"
is "$(b 'd["signin"]["nav"]')" '["streams", "domains", "relays", "studio", "node"]' "signed in: the nav lists the pages"
is "$(b '[d["signin"]["localSecret"], d["signin"]["sessionHasSecret"]]')" '[null, true]' "... the secret in sessionStorage only"

is "$(b 'd["streams"]["row"][1:4]')" "[\"$LE_DOMAIN\", \"live\", \"cam1\"]" "the streams page lists $LE_DOMAIN/live/cam1 ($(b '" | ".join(d["streams"]["row"][4:11])'))"
is "$(b 'd["streams"]["row"][5:7]')" '["H.264 + AAC", "640x360"]' "... with its codecs and picture size"
like "$(b 'd["streams"]["row"][7]')" '^[0-9.]+$' "... its frame rate"
like "$(b 'd["streams"]["row"][8]')" '^[0-9.]+ kbps$' "... and bitrate"
s='d["streams"]'
"$LE_PY" -c 'import json, sys; s = json.loads(sys.argv[1]); sys.exit(0 if s["currentTime"] >= s["t1"] + 2 else 1)' "$(b "$s")" 2>/dev/null
ok $? "its player plays: currentTime $(b "$s[\"t1\"]") -> $(b "$s[\"currentTime\"]")"
is "$(b '"%dx%d" % (d["streams"]["width"], d["streams"]["height"])')" 640x360 "... the published 640x360"
like "$(b "$s[\"urls\"][1]")" "^http://127\\.0\\.0\\.1:$LE_HTTP_PORT/live/cam1\\.flv\\?vhost=$LE_DOMAIN&auth_key=[0-9]+-[0-9a-f]+-0-[0-9a-f]{32}$" \
    "... from a play URL signed in the browser (aliauth A)"
like "$(b "$s[\"urls\"][0]")" "^rtmp://$LE_DOMAIN/live/cam1\\?auth_key=" "a signed push URL is offered to copy"
url=$(b "$s[\"urls\"][1]")
IFS=- read -r kts krand kuid khash <<<"${url##*auth_key=}"
is "$khash" "$(printf '%s' "/live/cam1.flv-$kts-$krand-$kuid-$PLAYKEY" | md5sum | cut -d' ' -f1)" \
    "... whose MD5, computed in the browser, is md5(URI-ts-rand-uid-key)"
is "$(b 'd["stream"]["charts"]')" 3 "the stream page draws bitrate, frame rate and viewers (or says there is no sample yet)"
like "$(b 'd["stream"]["ffmpegExitedMs"]')" '^[0-9]+$' "forbid on the stream page cuts the publisher: ffmpeg exited $(b 'd["stream"]["ffmpegExitedMs"]') ms after the click"
like "$(b 'd["blockList"]["text"]')" "$LE_DOMAIN/live/cam1" "the streams page's block list shows it"
is "$(b 'd["resume"]["state"]')" offline "resume on the stream page: no longer forbidden"
like "$(b 'd["resume"]["blockList"]')" "No stream is forbidden" "... and the block list is empty"
bl=$(signed DescribeLiveStreamsBlockList "DomainName=$LE_DOMAIN")
unlike_cam=$(printf '%s' "$bl" | grep -c 'live/cam1')
is "$unlike_cam" 0 "... as the API says"
ctl=$(signed DescribeLiveStreamsControlHistory "DomainName=$LE_DOMAIN" AppName=live \
    "StartTime=$(date -u -d @$(( $(date +%s) - 600 )) +%Y-%m-%dT%H:%M:%SZ)" "EndTime=$(date -u +%Y-%m-%dT%H:%M:%SZ)")
like "$(printf '%s' "$ctl" | tr -d ' \n')" '"Action":"resume".*"Action":"forbid"|"Action":"forbid".*"Action":"resume"' \
    "the control history holds the console's forbid and resume"

is "$(b 'd["domains"]["masked"][0]')" "••••••••" "the domains page masks the aliauth key"
is "$(b 'd["domains"]["revealed"]')" "$PLAYKEY" "... until revealed"
like "$(b 'd["relays"]["text"]')" "No relay runs on this node" "the relays page renders"
like "$(b '" | ".join(d["node"])')" "Live streams" "the node page shows the metrics ($(b '" | ".join(d["node"][:3])'))"
is "$(b 'd["phone"]')" true "a phone-sized viewport (390 px) does not scroll sideways on the streams, stream, domains and node pages"
is "$(b 'd["signout"]')" null "sign out forgets the key"
md5() { printf '%s' "$1" | md5sum | cut -d' ' -f1; }
sa=$(b 'd["signForms"]["a"]')
IFS=- read -r ats arand auid ahash <<<"${sa##*auth_key=}"
is "$sa" "/live/x.flv?vhost=v&auth_key=$ats-$arand-0-$(md5 "/live/x.flv-$ats-$arand-0-k93")" "the console signs type A as livedge.conf(5) says"
sb=$(b 'd["signForms"]["b"]')
bmin=$(cut -d/ -f2 <<<"$sb")
is "$sb" "/$bmin/$(md5 "k93$bmin/live/x.flv")/live/x.flv" "... type B (/minute/md5(key minute URI)/URI)"
like "$bmin" "^$(TZ=Asia/Shanghai date +%Y%m%d%H)[0-9]{2}$" "... the minute in UTC+8 ($bmin)"
sc=$(b 'd["signForms"]["c"]')
chex=$(cut -d/ -f3 <<<"$sc")
is "$sc" "/$(md5 "k93/live/x.flv$chex")/$chex/live/x.flv" "... type C (/md5(key URI hexts)/hexts/URI)"
cmp_ok "$(( $(date +%s) - 16#$chex ))" -lt 600 "... with the time now in hex"
is "$(b 'd["signForms"]["none"]')" "/live/x.flv?vhost=v" "... and leaves a URL unsigned without a key"

is "$(b '" | ".join(d["consoleErrors"])')" "" "no console error"
is "$(b '" | ".join(d["failed"])')" "" "no failed request"
is "$(b '" | ".join(d["bad"])')" "" "no answer >= 400 (but the wrong keys': $(b '" ".join(d["expectedBad"])'))"
n=0
for p in signin wrong-key streams streams-player stream stream-forbidden streams-blocked domains relays node phone-streams phone-stream; do
    [ -s "$SHOTS/$p.png" ] && n=$((n + 1))
done
is "$n" 12 "12 screenshots in $SHOTS"

le_kill "$pub"
le_alive_ok
le_stop

# ---- a node without keys: the console works on loopback, unsigned ---------------------
LE_EXTRA_CONF="console_root $top_srcdir/www;"
LE_DOMAIN_CONF=""
LE_DOMAIN=nokeys.test    # the first node's aliauth stays in the shared Redis for live.test
le_start || le_abort "livedge without keys did not start"
ADMIN=http://127.0.0.1:$LE_ADMIN_PORT
LE_PUB_SECS=60 le_publish cam2
le_wait_publishing "$LE_PUB_PROGRESS" 15
ok $? "ffmpeg publishes live/cam2 to a node without admin keys"
pub=$LE_PUB_PID
LE_BROWSER_TAG=browser2 LE_BROWSER_WHAT="console-browser.js ran the no-keys way in" \
    le_browser_run 120 console-browser.js "$ADMIN/console/" "http://127.0.0.1:$LE_HTTP_PORT" \
    - - "$LE_DOMAIN" live cam2 "$pub" "$SHOTS"
is "$(b 'd["nokeys"]["mode"]')" loopback "\"No keys (loopback)\": the streams page lists live/cam2 and plays it, the node page renders"
like "$(b 'd["nokeys"]["who"]')" "loopback, no keys" "... the header says so"
is "$(b '" | ".join(d["consoleErrors"] + d["failed"] + d["bad"])')" "" "... with no console error, failed request or answer >= 400"
le_kill "$pub"
le_alive_ok
le_stop
done_testing
