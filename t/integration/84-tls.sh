#!/bin/sh
# 84-tls: the TLS listeners (livedge.conf(5), TLS; livedge.8).
#  - rtmps_listen and https_listen with a default certificate and two domain
#    blocks with their own ssl_certificate (one EC, one RSA key): each server
#    name gets its own certificate, a name without one and a client without
#    SNI get the default; the same on the RTMPS port.
#  - TLS 1.2 and 1.3 are served, TLS 1.1 is refused (one log line).
#  - ffmpeg publishes over rtmps://; ffprobe reads rtmps://, https FLV and
#    https HLS; curl --cacert verifies the domain's certificate by name and
#    is answered with ALPN http/1.1; plain RTMP and HTTP serve the same
#    stream.
#  - https_force set through BatchSetLiveDomainConfigs: a plaintext HTTP play
#    of the domain gets 301 to https_listen (path and query kept), HTTPS
#    still serves, other domains are not redirected; off, then deleted: no
#    redirect.
#  - SIGHUP loads changed certificate files; a reload whose certificate does
#    not load keeps the running set. /metrics counts handshakes, failures and
#    certificates.
#  - admin_tls on: a signed call over HTTPS on the admin port; plaintext
#    there gets no answer. A TLS listener without a loadable certificate is
#    refused by -t and at start with a clear message.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
# shellcheck shell=bash
LE_SCRIPT_TIMEOUT=${LE_SCRIPT_TIMEOUT:-300}
. "$(dirname "$0")/lib.sh"
# shellcheck source=t/integration/admin.sh
. "$(dirname "$0")/admin.sh"
# shellcheck source=t/integration/tls.sh
. "$(dirname "$0")/tls.sh"

le_require_daemon
le_require_tool ffmpeg ffprobe openssl curl python3 redis-server

C=$LE_DIR/certs
A=a.tls.test
B=b.tls.test
le_tls_make_ca "$C"
le_tls_make_cert "$C" node node.tls.test 127.0.0.1
le_tls_make_cert "$C" a "$A"
KEYTYPE=rsa le_tls_make_cert "$C" b "$B"
le_tls_make_cert "$C" b2 b2.tls.test "$B"
[ -s "$C/node.pem" ] && [ -s "$C/a.pem" ] && [ -s "$C/b.pem" ] && [ -s "$C/b2.pem" ] ||
    le_abort "openssl could not make the test certificates"
cp "$C/b.pem" "$C/bcur.pem"
cp "$C/b.key" "$C/bcur.key"

read -r RTMPS HTTPS <<<"$(le_free_port 2)"
tls_conf() {
    LE_EXTRA_CONF="rtmps_listen 127.0.0.1:$RTMPS;
https_listen ${HTTPS_ADDR:-127.0.0.1:$HTTPS};
tls_certificate $C/node.pem;
tls_certificate_key $C/node.key;
${1:-}
domain $A { hls_fragment 1s; timeshift on; ssl_certificate $C/a.pem; ssl_certificate_key $C/a.key; }
domain $B { ssl_certificate $C/bcur.pem; ssl_certificate_key $C/bcur.key; }"
}
tls_conf
LE_WAIT_PORTS="rtmp http admin $RTMPS $HTTPS"
le_start || le_abort "livedge did not start with TLS listeners"
like "$(grep -m1 ' ready: ' "$LE_LOG")" "rtmps 127.0.0.1:$RTMPS \\(port $RTMPS\\), https 127.0.0.1:$HTTPS \\(port $HTTPS\\)" \
    "the startup line lists the TLS ports"

# ---- certificates by SNI -----------------------------------------------------------------
H=127.0.0.1:$HTTPS
R=127.0.0.1:$RTMPS
is "$(le_tls_subject "$H" "$A")" "$A" "https, SNI $A: its own certificate"
is "$(le_tls_subject "$H" "$B")" "$B" "https, SNI $B: its own certificate (RSA key)"
is "$(le_tls_subject "$H" "$LE_DOMAIN")" node.tls.test "https, SNI $LE_DOMAIN (no ssl_certificate): the default"
is "$(le_tls_subject "$H" x.$A)" node.tls.test "https, SNI x.$A (a name under a domain): the default"
nosni=$(openssl s_client -connect "$H" -noservername </dev/null 2>/dev/null |
    openssl x509 -noout -subject -nameopt multiline 2>/dev/null | sed -n 's/^ *commonName *= *//p')
is "$nosni" node.tls.test "https, no SNI: the default certificate"
is "$(le_tls_subject "$R" "$A")" "$A" "rtmps, SNI $A: its own certificate"
is "$(le_tls_subject "$R" "$B")" "$B" "rtmps, SNI $B: its own certificate"

# ---- protocols -----------------------------------------------------------------------------
proto() {   # proto HOST:PORT -tls1_x: the protocol agreed, "(NONE)" when refused
    openssl s_client -connect "$1" -servername "$A" "$2" -cipher 'DEFAULT@SECLEVEL=0' </dev/null 2>/dev/null |
        sed -n 's/^New, \([^,]*\), Cipher is .*/\1/p' | head -n 1
}
is "$(proto "$H" -tls1_3)" TLSv1.3 "TLS 1.3 is served"
is "$(proto "$H" -tls1_2)" TLSv1.2 "TLS 1.2 is served"
m=$(le_log_lines)
is "$(proto "$H" -tls1_1)" "(NONE)" "TLS 1.1 is refused"
le_wait_log "http: .*TLS handshake failed: .*unsupported protocol" 5 "$m" >/dev/null
ok $? "... with a log line naming the reason" || diag "$(tail -n +"$((m + 1))" "$LE_LOG" | head -5)"
m=$(le_log_lines)
is "$(proto "$R" -tls1_1)" "(NONE)" "TLS 1.1 is refused on rtmps too"
le_wait_log "rtmp: .*TLS handshake failed: .*unsupported protocol" 5 "$m" >/dev/null
sleep 0.3
is "$(tail -n +"$((m + 1))" "$LE_LOG" | grep -c "127.0.0.1:")" 1 "... in one log line" ||
    diag "$(tail -n +"$((m + 1))" "$LE_LOG")"
is "$(proto "$R" -tls1_2)" TLSv1.2 "... which serves TLS 1.2"

# ---- RTMPS publish, plays over every transport -----------------------------------------------
S=cam
VH="vhost=$A"
LE_CLIENT_N=$((LE_CLIENT_N + 1))
PUBLOG=$LE_DIR/pub-rtmps.log
PROG=$LE_DIR/pub-rtmps.progress
T0=$(le_now_ms)
le_bg PUB ffmpeg -hide_banner -nostdin -loglevel warning -nostats -progress "$PROG" -stats_period 0.1 -re \
    -f lavfi -i "testsrc2=size=640x360:rate=25" -f lavfi -i "sine=frequency=440:sample_rate=44100" -t 60 \
    -c:v libx264 -preset ultrafast -tune zerolatency -g 25 -pix_fmt yuv420p -c:a aac -b:a 64k -ac 1 \
    -tls_verify 1 -ca_file "$C/ca.pem" -f flv "rtmps://127.0.0.1:$RTMPS/live/$S?$VH" >"$PUBLOG" 2>&1
le_wait_publishing "$PROG" 20
ok $? "ffmpeg publishes over rtmps:// (verifying the node's certificate against the test CA)" ||
    diag "$(tail -n 5 "$PUBLOG")"
le_wait_log "publish.*$A/live/$S|$A/live/$S.*publish" 5 >/dev/null
ok $? "... the node took the publish on $A" || diag "$(grep -i publish "$LE_LOG" | tail -3)"

probe() {   # probe URL [ffprobe options...]: "codec_type=video|codec_name=h264|width=640|height=360" lines
    local u=$1
    shift
    timeout -k 3 25 ffprobe -hide_banner -v error "$@" -show_entries stream=codec_type,codec_name,width,height \
        -of compact=p=0 "$u" 2>>"$LE_DIR/ffprobe.log" | sort | tr '\n' ' '
}
WANTV="codec_name=h264|width=640|height=360"
like "$(probe "rtmps://127.0.0.1:$RTMPS/live/$S?$VH" -tls_verify 1 -ca_file "$C/ca.pem")" "$WANTV" \
    "ffprobe plays rtmps:// and sees H.264 640x360"
like "$(probe "https://127.0.0.1:$HTTPS/live/$S.flv?$VH" -tls_verify 1 -ca_file "$C/ca.pem")" "$WANTV" \
    "ffprobe plays https FLV and sees H.264 640x360"
le_wait_for 15 curl -sfk --max-time 3 -o /dev/null "https://127.0.0.1:$HTTPS/live/$S.m3u8?$VH"
like "$(probe "https://127.0.0.1:$HTTPS/live/$S.m3u8?$VH" -tls_verify 1 -ca_file "$C/ca.pem")" "$WANTV" \
    "ffprobe plays https HLS (playlist and segments over TLS) and sees H.264 640x360"
like "$(probe "rtmp://127.0.0.1:$LE_RTMP_PORT/live/$S?$VH")" "codec_name=aac\\|codec_type=audio .*$WANTV" \
    "plain RTMP plays the same stream, audio and video"
like "$(probe "http://127.0.0.1:$LE_HTTP_PORT/live/$S.flv?$VH")" "$WANTV" "plain HTTP-FLV plays it too"

# curl checks the certificate against the name it asked for.
CURL_A=(--resolve "$A:$HTTPS:127.0.0.1" --cacert "$C/ca.pem")
out=$(curl -sv "${CURL_A[@]}" --max-time 3 -o "$LE_DIR/a.flv" "https://$A:$HTTPS/live/$S.flv" 2>&1)
ls_flv=$(le_file_size "$LE_DIR/a.flv")
cmp_ok "$ls_flv" -gt 20000 "curl --cacert https://$A/...flv: the name verifies, FLV flows ($ls_flv bytes in 3 s)" ||
    diag "$(grep -E '^\* ' <<<"$out" | tail -5)"
like "$out" "ALPN[:,] server accepted( to use)? http/1.1" "... ALPN http/1.1"
like "$(le_count_frames "$LE_DIR/a.flv" v)" '^[1-9][0-9]+$' "... and the FLV decodes"
pl=$(curl -sf "${CURL_A[@]}" --max-time 3 "https://$A:$HTTPS/live/$S.m3u8")
like "$pl" '^#EXTM3U' "curl --cacert https://$A/...m3u8: a live playlist"
seg=$(grep -v '^#' <<<"$pl" | head -n 1)
n=$(curl -sf "${CURL_A[@]}" --max-time 5 -o "$LE_DIR/a.ts" -w '%{size_download}' "https://$A:$HTTPS/live/$seg")
cmp_ok "${n:-0}" -gt 10000 "... and its first segment over HTTPS ($n bytes)"
# Time-shift: files on disk, queued with evbuffer_add_file (sendfile on a plain socket).
tsl=$(curl -sf "${CURL_A[@]}" --max-time 3 \
    "https://$A:$HTTPS/live/$S.m3u8?lhs_start_unix_ms_0=$((T0 - 2000))&lhs_vodend_unix_ms_0=$(le_now_ms)")
tseg=$(grep -m1 '\.lhs\..*\.ts' <<<"$tsl")
like "$tseg" "^$S\\.lhs\\." "time-shift playlist over HTTPS lists segments" || diag "$tsl"
curl -sf "${CURL_A[@]}" --max-time 5 -o "$LE_DIR/ts-tls.ts" "https://$A:$HTTPS/live/$tseg"
curl -sf -H "Host: $A" --max-time 5 -o "$LE_DIR/ts-plain.ts" "http://127.0.0.1:$LE_HTTP_PORT/live/$tseg"
n=$(le_file_size "$LE_DIR/ts-tls.ts")
cmp_ok "$n" -gt 10000 "... a time-shift segment file over HTTPS ($n bytes)"
cmp -s "$LE_DIR/ts-tls.ts" "$LE_DIR/ts-plain.ts"
ok $? "... the same bytes as over plain HTTP"
like "$(curl -sf "${CURL_A[@]}" --max-time 3 "https://$A:$HTTPS/openapi/timeline/query?app=live&stream=$S&format=ts&lhs_start_unix_s_0=$((T0 / 1000 - 5))&lhs_end_unix_s_0=$(( $(le_now_ms) / 1000 + 5 ))")" \
    '^\{"retCode":0,"description":"success","content":\{"current":[0-9]+,"timeline":\[\{' "the time-shift timeline over HTTPS"
out=$(curl -s --resolve "$B:$HTTPS:127.0.0.1" --cacert "$C/ca.pem" --max-time 3 -o /dev/null -w '%{http_code}' \
    "https://$B:$HTTPS/live/none.flv")
is "$out" 404 "curl --cacert https://$B/: its RSA certificate verifies (404: nothing live there)"
out=$(curl -s --resolve "$LE_DOMAIN:$HTTPS:127.0.0.1" --cacert "$C/ca.pem" --max-time 3 -o /dev/null \
    -w '%{http_code}' "https://$LE_DOMAIN:$HTTPS/live/none.flv")
is "$out" 000 "curl --cacert https://$LE_DOMAIN/: the default certificate does not name it, curl refuses"

# ---- https_force ---------------------------------------------------------------------------
fn() { echo "{\"functionName\":\"$1\",\"functionArgs\":[{\"argName\":\"${2%%=*}\",\"argValue\":\"${2#*=}\"}]}"; }
hdr() {   # hdr URL [curl options...]: "STATUS LOCATION CONTENT-LENGTH" of a plaintext GET
    local u=$1
    shift
    curl -s -D - -o /dev/null --max-time 3 "$@" "$u" | tr -d '\r' |
        awk 'NR==1{s=$2} tolower($1)=="location:"{l=$2} tolower($1)=="content-length:"{n=$2} END{print s, l, n}'
}
HP=127.0.0.1:$LE_HTTP_PORT
is "$(hdr "http://$HP/live/$S.flv?$VH" --max-time 1)" "200  " "before https_force: HTTP-FLV serves"
api BatchSetLiveDomainConfigs "DomainNames=$A" "Functions=[$(fn https_force enable=on)]"
is "$API_CODE" 200 "BatchSetLiveDomainConfigs https_force enable=on: 200" || diag "$API_BODY"
is "$(hdr "http://$HP/live/$S.flv?a=1&b=2" -H "Host: $A:$LE_HTTP_PORT")" \
    "301 https://$A:$HTTPS/live/$S.flv?a=1&b=2 0" \
    "https_force: HTTP-FLV for $A gets 301 to https://$A:$HTTPS (Host without its port, path and query kept), no body"
is "$(hdr "http://$HP/live/$S.m3u8?$VH")" "301 https://127.0.0.1:$HTTPS/live/$S.m3u8?$VH 0" \
    "https_force: HLS named by vhost: 301 to the Host header's name"
like "$(hdr "http://$HP/live/$S.m3u8" -H "Host: $B")" "^404  [0-9]+$" "a domain without https_force is not redirected"
out=$(curl -sL "${CURL_A[@]}" --max-time 2 -o /dev/null -w '%{http_code} %{num_redirects} %{size_download}' \
    "http://$A:$LE_HTTP_PORT/live/$S.flv" --resolve "$A:$LE_HTTP_PORT:127.0.0.1")
like "$out" '^200 1 [1-9][0-9]+$' "curl -L follows the 301 and plays over HTTPS ($out)"
api BatchSetLiveDomainConfigs "DomainNames=$A" "Functions=[$(fn https_force enable=off)]"
is "$API_CODE" 200 "BatchSetLiveDomainConfigs https_force enable=off: 200" || diag "$API_BODY"
is "$(hdr "http://$HP/live/$S.flv" -H "Host: $A" --max-time 1)" "200  " "https_force off: HTTP-FLV serves again"
api BatchSetLiveDomainConfigs "DomainNames=$A" "Functions=[$(fn https_force enable=on)]"
is "$(hdr "http://$HP/live/$S.flv" -H "Host: $A")" "301 https://$A:$HTTPS/live/$S.flv 0" "on again: 301"
api BatchDeleteLiveDomainConfigs "DomainNames=$A" FunctionNames=https_force
is "$API_CODE" 200 "BatchDeleteLiveDomainConfigs https_force: 200" || diag "$API_BODY"
is "$(hdr "http://$HP/live/$S.flv" -H "Host: $A" --max-time 1)" "200  " "deleted: no redirect"
api BatchSetLiveDomainConfigs "DomainNames=$A" "Functions=[$(fn https_force enable=on)]"
api DescribeLiveDomainConfigs "DomainName=$A" FunctionNames=https_force
cid=$(j "$API_BODY" 'd["DomainConfigs"]["DomainConfig"][0]["ConfigId"]')
is "$(hdr "http://$HP/live/$S.flv" -H "Host: $A")" "301 https://$A:$HTTPS/live/$S.flv 0" "on once more: 301"
api DeleteLiveSpecificConfig "DomainName=$A" "ConfigId=$cid"
is "$API_CODE" 200 "DeleteLiveSpecificConfig of its ConfigId ($cid): 200" || diag "$API_BODY"
is "$(hdr "http://$HP/live/$S.flv" -H "Host: $A" --max-time 1)" "200  " "... no redirect"
api BatchSetLiveDomainConfigs "DomainNames=$A" "Functions=[$(fn https_force enable=yes)]"
is "$API_CODE" 400 "https_force enable=yes: 400" || diag "$API_BODY"
api BatchSetLiveDomainConfigs "DomainNames=$A" 'Functions=[{"functionName":"https_force","functionArgs":[]}]'
is "$API_CODE" 400 "https_force without enable: 400" || diag "$API_BODY"

# ---- SIGHUP ----------------------------------------------------------------------------------
cp "$C/b2.pem" "$C/bcur.pem"
cp "$C/b2.key" "$C/bcur.key"
m=$(le_log_lines)
kill -HUP "$LE_PID"
le_wait_log "configuration reloaded" 5 "$m" >/dev/null
is "$(le_tls_subject "$H" "$B")" b2.tls.test "SIGHUP: $B is served the certificate its files hold now"
is "$(le_tls_subject "$H" "$A")" "$A" "... $A keeps its own"
tls_conf
LE_EXTRA_CONF=${LE_EXTRA_CONF//$C\/a.key/$C\/missing.key}
le_write_conf "$LE_CONF"
m=$(le_log_lines)
kill -HUP "$LE_PID"
le_wait_log "reload of .* failed, keeping the running configuration: .*missing.key" 5 "$m" >/dev/null
ok $? "SIGHUP with a key file that does not load: refused, one error line" ||
    diag "$(tail -n +"$((m + 1))" "$LE_LOG" | head -5)"
is "$(le_tls_subject "$H" "$A")" "$A" "... $A is still served its certificate"

mt=$(curl -s --max-time 3 "http://127.0.0.1:$LE_ADMIN_PORT/metrics")
hs=$(sed -n 's/^livedge_tls_handshakes_total //p' <<<"$mt")
hf=$(sed -n 's/^livedge_tls_handshake_failures_total //p' <<<"$mt")
nc=$(sed -n 's/^livedge_tls_certificates //p' <<<"$mt")
cmp_ok "${hs:-0}" -ge 15 "/metrics: livedge_tls_handshakes_total counts the handshakes ($hs)"
cmp_ok "${hf:-0}" -ge 2 "/metrics: livedge_tls_handshake_failures_total counts the TLS 1.1 refusals ($hf)"
is "$nc" 3 "/metrics: livedge_tls_certificates 3 (the default and two domains)"
# Left on for the next start: functions live in Redis.
api BatchSetLiveDomainConfigs "DomainNames=$A" "Functions=[$(fn https_force enable=on)]"
le_kill "$PUB"
le_stop

# ---- admin_tls -------------------------------------------------------------------------------
AK=LTAItls4test
SK=tls-admin-secret
# https_listen on port 443 where this script may bind it (root), on an
# address of its own: the redirect then names no port.
HTTPS_ADDR=""
if [ "$(id -u)" = 0 ] && "$LE_PY" -c 'import socket; socket.socket().bind(("127.0.0.84", 443))' 2>/dev/null; then
    HTTPS_ADDR=127.0.0.84:443
fi
tls_conf "admin_tls on;
admin { access_key_id $AK; access_key_secret $SK; }"
LE_WAIT_PORTS="rtmp http admin"
le_start || le_abort "livedge did not start with admin_tls on"
if [ -n "$HTTPS_ADDR" ]; then
    is "$(hdr "http://127.0.0.1:$LE_HTTP_PORT/live/$S.flv?x=1" -H "Host: $A:$LE_HTTP_PORT")" \
        "301 https://$A/live/$S.flv?x=1 0" "https_force kept in Redis across a restart; https_listen on 443: no port in Location"
else
    skip 1 "https_listen on port 443 needs root and a free 127.0.0.84:443"
fi
q=$(signed_query "$AK" "$SK" DescribeLiveUserDomains)
out=$(curl -sv --cacert "$C/ca.pem" --max-time 5 -w '\n%{http_code}' "https://127.0.0.1:$LE_ADMIN_PORT/?$q" 2>"$LE_DIR/admin-curl.log")
is "${out##*$'\n'}" 200 "admin_tls: a signed call over HTTPS, the node's certificate verified: 200" || diag "$out"
like "${out%$'\n'*}" "\"DomainName\":\"$A\"" "... its answer lists the domains"
like "$(cat "$LE_DIR/admin-curl.log")" "ALPN[:,] server accepted( to use)? http/1.1" "... ALPN http/1.1"
out=$(curl -s --max-time 3 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$LE_ADMIN_PORT/metrics")
is "$out" 000 "admin_tls: plaintext HTTP on the admin port gets no HTTP answer"
like "$(curl -s --cacert "$C/ca.pem" --max-time 3 "https://127.0.0.1:$LE_ADMIN_PORT/metrics")" \
    'livedge_tls_certificates 3' "/metrics over HTTPS"
le_stop

# ---- refusals ----------------------------------------------------------------------------------
printf 'https_listen 127.0.0.1:0;\n' >"$LE_DIR/nocert.conf"
"$LE_BIN" -t -c "$LE_DIR/nocert.conf" >"$LE_DIR/nocert.out" 2>&1
is "$?" 1 "-t: https_listen without tls_certificate fails the check"
like "$(cat "$LE_DIR/nocert.out")" "line 1: https_listen needs the default certificate: set tls_certificate and tls_certificate_key" \
    "... saying what is missing"
printf 'rtmps_listen 127.0.0.1:0;\ntls_certificate %s;\ntls_certificate_key %s;\n' "$C/node.pem" "$C/a.key" \
    >"$LE_DIR/badcert.conf"
"$LE_BIN" -t -c "$LE_DIR/badcert.conf" >"$LE_DIR/badcert.out" 2>&1
is "$?" 1 "-t: a key that is not the certificate's fails the check"
like "$(cat "$LE_DIR/badcert.out")" "node.pem|a.key" "... naming the files" || diag "$(cat "$LE_DIR/badcert.out")"
tls_conf
LE_EXTRA_CONF=${LE_EXTRA_CONF//$C\/node.pem/$C\/absent.pem}
le_write_conf "$LE_DIR/absent.conf"
timeout -k 3 15 "$LE_BIN" -c "$LE_DIR/absent.conf" >"$LE_DIR/absent.out" 2>&1
is "$?" 1 "a start with a certificate file that does not exist exits with status 1"
like "$(cat "$LE_DIR/absent.out")" "cannot start: .*absent.pem" "... with a message naming the file" ||
    diag "$(cat "$LE_DIR/absent.out")"

done_testing
