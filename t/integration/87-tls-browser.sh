#!/bin/sh
# 87-tls-browser: a browser plays HLS over HTTPS from an https page of
# another origin (docs/TLS.md). A test CA signs two certificates: live.test
# (livedge's https_listen) and page.test (the page). The page is served over
# HTTPS by the test (python3 http.server in an ssl context) and loads hls.js;
# the node's domain names the page's origin in cors_origin. Debian's
# Chromium, headless, driven by playwright-core (tls-browser.js), resolves
# both names to 127.0.0.1 (--host-resolver-rules) and trusts the test CA's
# keys through --ignore-certificate-errors-spki-list (the SHA-256 of the
# SubjectPublicKeyInfo of the CA and both leaves: no NSS database needed, and
# a certificate signed by another key is still refused). Asserted:
#  - curl: the https playlist with the CA (and refused without it), the CORS
#    header for the page's origin;
#  - Chromium: the page is a secure context on https://page.test:PORT, the
#    playlist at https://live.test:PORT answers 200 over TLS with the
#    node's certificate (issuer: the test CA) and the CORS header; hls.js
#    plays: the first frame, currentTime advances 3 s, videoWidth x
#    videoHeight is the published 640x360; no console error, no failed
#    request, no answer >= 400, no fatal hls.js error.
# Prerequisites: chromium (Debian package), playwright-core and hls.js (npm,
# installed into the build tree by le_browser_require / le_hlsjs_require).
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
: "${LE_SCRIPT_TIMEOUT:=180}"
# shellcheck source=t/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=t/integration/tls.sh
. "$(dirname "$0")/tls.sh"
# shellcheck source=t/integration/browser.sh
. "$(dirname "$0")/browser.sh"

le_require_daemon
le_require_tool ffmpeg ffprobe python3 curl openssl redis-server
le_browser_require || exit 0
le_hlsjs_require || exit 0

PKI=$LE_DIR/pki
le_tls_make_ca "$PKI" && le_tls_make_cert "$PKI" node live.test live.test &&
    le_tls_make_cert "$PKI" page page.test page.test || le_abort "openssl could not make the test certificates"
# spki FILE: base64 SHA-256 of the certificate's SubjectPublicKeyInfo
spki() {
    openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform der |
        openssl dgst -sha256 -binary | base64
}
SPKI="$(spki "$PKI/ca.pem"),$(spki "$PKI/node.leaf.pem"),$(spki "$PKI/page.leaf.pem")"

le_page_dir "tls player" hls

# ---- the page's origin: https://page.test:PAGE_PORT ---------------------------------
le_page_server "$WWW" "$PKI/page.pem" "$PKI/page.key" page.test "$PKI/ca.pem"

HTTPS_PORT=$(le_free_port 1)
LE_EXTRA_CONF="https_listen 127.0.0.1:$HTTPS_PORT;
tls_certificate $PKI/node.pem;
tls_certificate_key $PKI/node.key;"
LE_DOMAIN_CONF="    cors_origin $ORIGIN;"
LE_WAIT_PORTS="rtmp http $HTTPS_PORT"
le_start || le_abort "livedge did not start"
SRC=https://live.test:$HTTPS_PORT/live/cam.m3u8
CURL=(curl -s -m 5 --resolve "live.test:$HTTPS_PORT:127.0.0.1")

LE_PUB_SECS=120 le_publish cam
le_wait_publishing "$LE_PUB_PROGRESS" 15
ok $? "ffmpeg publishes live/cam at 640x360 over rtmp" || diag "$(cat "$LE_PUB_LOG")"
pub=$LE_PUB_PID

nseg() { "${CURL[@]}" --cacert "$PKI/ca.pem" "$SRC" | grep -c '^#EXTINF'; }
three() { [ "$(nseg)" -ge 3 ]; }
le_wait_for 30 three
ok $? "the https playlist lists 3 segments (curl --cacert the test CA)"
"${CURL[@]}" -o /dev/null "$SRC"
rc=$?
cmp_ok "$rc" -ne 0 "... and curl without the test CA refuses the node's certificate (curl exit $rc)"
hdr=$("${CURL[@]}" --cacert "$PKI/ca.pem" -D - -o /dev/null -H "Origin: $ORIGIN" "$SRC" | tr -d '\r')
like "$hdr" "^[Aa]ccess-[Cc]ontrol-[Aa]llow-[Oo]rigin: ($ORIGIN|\*)$" "... with Access-Control-Allow-Origin for the page's origin"

# ---- Chromium + hls.js -----------------------------------------------------------------
le_browser_run 120 tls-browser.js "$ORIGIN/index.html" "$SRC" \
    "--ignore-certificate-errors-spki-list=$SPKI" \
    "--host-resolver-rules=MAP live.test 127.0.0.1, MAP page.test 127.0.0.1"
is "$(b 'd["origin"]')" "$ORIGIN" "the page's origin is https://page.test, not the node's"
is "$(b 'd["secureContext"]')" true "... a secure context (status $(b 'd["page"]["status"]'), $(b 'd["page"]["security"]["protocol"]'))"
is "$(b 'd["hls"]["supported"]')" true "hls.js $LE_HLSJS_VERSION is supported (MSE)"
is "$(b 'd["playlist"]["status"]')" 200 "the playlist from https://live.test answers 200 in Chromium"
is "$(b 'd["playlist"]["security"]["subjectName"]')" live.test "... over TLS with the node's certificate ($(b 'd["playlist"]["security"]'))"
is "$(b 'd["playlist"]["security"]["issuer"]')" "livedge test CA" "... issued by the test CA"
like "$(b 'd["playlist"]["acao"]')" "^($ORIGIN|\\*)$" "... with Access-Control-Allow-Origin for the page"
p=$(b 'd["play"]')
like "$(b 'd["play"]["firstFrameMs"]')" '^[0-9]+$' "hls.js plays: the first frame in $(b 'd["play"]["firstFrameMs"]') ms ($p)"
"$LE_PY" -c 'import json, sys
p = json.loads(sys.argv[1]); sys.exit(0 if p["currentTime"] >= p["from"] + 3 and not p["paused"] else 1)' "$p" 2>/dev/null
ok $? "... currentTime advances 3 s ($(b 'd["play"]["from"]') -> $(b 'd["play"]["currentTime"]'))"
is "$(b '"%dx%d" % (d["play"]["width"], d["play"]["height"])')" 640x360 "... the decoded frames are the published 640x360"
is "$(b '" | ".join(d["consoleErrors"])')" "" "no console error"
is "$(b '" | ".join(d["failed"])')" "" "no failed request (network or TLS)"
is "$(b '" | ".join(d["bad"])')" "" "no answer >= 400"
is "$(b '" ".join("%s/%s" % (e["type"], e["details"]) for e in d["errors"] if e["fatal"])')" "" "no fatal hls.js error"
diag "hls.js non-fatal errors: $(b '"; ".join("%s/%s %s" % (e["type"], e["details"], e["url"]) for e in d["errors"] if not e["fatal"]) or "none"')"
diag "requests: $(b 'd["requests"]'); browser console: $(b '" | ".join(d["console"][-8:])')"

le_kill "$pub"
le_alive_ok
le_stop
le_kill "$PAGE_PID"
done_testing
