#!/bin/sh
# 55-relay-client: the relay clients (src/relay/client.h) through the
# le-relaycat test tool: RTMP play from nginx-rtmp and from livedge, HTTP-FLV
# from livedge, RTMP publish of a file to nginx-rtmp and to livedge (ffprobe
# reads the copy there), a publish refused by tx_secret, and the faults: an
# HTTP 404, a non-FLV body, a redirect loop, a garbage RTMP server, a server
# that never completes the handshake, an unresolvable host; https:// with an
# untrusted and a trusted certificate; secrets masked in every error text.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
# shellcheck source=t/integration/lib.sh
. "$(dirname "$0")/lib.sh"

le_require_daemon
le_require_tool ffmpeg ffprobe python3
RC=$top_builddir/t/tools/le-relaycat
[ -x "$RC" ] || le_skip_all "le-relaycat not built (make check builds it)"

PUSH=push.$LE_DOMAIN
PK=relay-push-key
LE_DOMAIN_CONF="    push_domain $PUSH;
    push_aliauth {
        auth_type tx_secret;
        auth_key1 $PK;
    }"
le_start || le_abort "livedge did not start"
H=http://127.0.0.1:$LE_HTTP_PORT

# probe URL_OR_FILE: "codec_type=...|codec_name=...|width=..|height=.." lines.
probe() {
    timeout -k 3 20 ffprobe -hide_banner -v error -show_entries stream=codec_type,codec_name,width,height \
        -of compact=p=0 "$1" 2>>"$LE_DIR/ffprobe.log" | sort
}
# pull URL FILE SECONDS [opts...]: le-relaycat pull; stderr in $LE_DIR/last.err.
pull() {
    local url=$1 file=$2 secs=$3; shift 3
    local rc
    timeout -k 3 $((secs + 20)) "$RC" "$@" pull "$url" "$file" "$secs" 2>"$LE_DIR/last.err"
    rc=$?
    cat "$LE_DIR/last.err" >>"$LE_DIR/all.err"
    return $rc
}
err() { cat "$LE_DIR/last.err"; }

# ---- pull from nginx-rtmp --------------------------------------------------------------------------
if le_start_nginx_rtmp; then
    le_bg NGX_PUB ffmpeg -hide_banner -nostdin -loglevel warning -re -f lavfi -i "testsrc2=size=480x272:rate=25" \
        -f lavfi -i "sine=frequency=440:sample_rate=44100" -t 60 -c:v libx264 -preset ultrafast -tune zerolatency \
        -g 25 -pix_fmt yuv420p -c:a aac -b:a 64k -ac 1 -f flv "$(le_ngx_url src)" >"$LE_DIR/ngx-pub.log" 2>&1
    le_wait_for 15 le_port_open "$LE_NGX_PORT"
    sleep 2
    pull "$(le_ngx_url src)" "$LE_DIR/ngx.flv" 4
    is "$?" 0 "pull from nginx-rtmp: exits 0" || diag "$(err)"
    p=$(probe "$LE_DIR/ngx.flv")
    like "$p" 'codec_name=h264\|codec_type=video\|width=480\|height=272' "pull from nginx-rtmp: H.264 480x272" ||
        diag "$p"
    like "$p" 'codec_name=aac\|codec_type=audio' "pull from nginx-rtmp: AAC"
    like "$(err)" 'packets [1-9][0-9]+' "pull from nginx-rtmp: packets counted"

    # push the pulled file back to nginx under another name; ffprobe it there.
    le_bg PUSHN "$RC" push "$LE_DIR/ngx.flv" "$(le_ngx_url pushed)" 2>"$LE_DIR/push-ngx.err"
    le_wait_for 10 grep -q '^ready' "$LE_DIR/push-ngx.err"
    ok $? "push to nginx-rtmp: publish accepted" || diag "$(cat "$LE_DIR/push-ngx.err")"
    p=$(probe "$(le_ngx_url pushed)")
    like "$p" 'codec_name=h264\|codec_type=video\|width=480\|height=272' "push to nginx-rtmp: ffprobe reads H.264 480x272 there" ||
        diag "$p"
    like "$p" 'codec_name=aac\|codec_type=audio' "push to nginx-rtmp: and AAC"
    le_wait_exit "$PUSHN" 20
    is "${LE_EXIT_RC:-x}" 0 "push to nginx-rtmp: the file is sent whole, exit 0" ||
        diag "$(cat "$LE_DIR/push-ngx.err")"
    le_kill "$NGX_PUB" "$LE_NGX_PID"
else
    skip 8 "nginx with libnginx-mod-rtmp is not available"
fi

# ---- pull from livedge: rtmp:// and http://...flv ---------------------------------------------------
LE_PUB_SECS=60 le_publish cam
le_wait_publishing "$LE_PUB_PROGRESS" 15
ok $? "ffmpeg publishes live/cam on livedge" || diag "$(cat "$LE_PUB_LOG")"
pull "$(le_url cam)" "$LE_DIR/le-rtmp.flv" 3
is "$?" 0 "pull from livedge over rtmp://: exits 0" || diag "$(err)"
p=$(probe "$LE_DIR/le-rtmp.flv")
like "$p" 'codec_name=h264\|codec_type=video\|width=640\|height=360' "pull over rtmp://: H.264 640x360" || diag "$p"
like "$p" 'codec_name=aac\|codec_type=audio' "pull over rtmp://: AAC"
pull "$H/live/cam.flv" "$LE_DIR/le-http.flv" 3
is "$?" 0 "pull from livedge over http://...flv: exits 0" || diag "$(err)"
p=$(probe "$LE_DIR/le-http.flv")
like "$p" 'codec_name=h264\|codec_type=video\|width=640\|height=360' "pull over HTTP-FLV: H.264 640x360" || diag "$p"
like "$p" 'codec_name=aac\|codec_type=audio' "pull over HTTP-FLV: AAC"
# The URL names the domain (Host header); connect_to says where to connect.
pull "http://$LE_DOMAIN/live/cam.flv" "$LE_DIR/le-http2.flv" 2 -c "127.0.0.1:$LE_HTTP_PORT"
is "$?" 0 "HTTP-FLV with connect_to: the URL's host is the Host header, the socket goes to connect_to" ||
    diag "$(err)"

pull "$(le_url nothere)" "$LE_DIR/x.flv" 3
is "$?" 1 "play of a stream that is not live: exit 1"
like "$(err)" 'not found.*StreamNotFound' "... NetStream.Play.StreamNotFound, LE_ENOTFOUND"

# ---- push to livedge ----------------------------------------------------------------------------------
txt() {   # txt KEY STREAM: txSecret/txTime valid for a minute
    local t h
    t=$(printf %X $(( $(date +%s) + 60 )))
    h=$(printf '%s' "$1$2$t" | md5sum | cut -d' ' -f1)
    echo "txSecret=$h&txTime=$t"
}
le_bg PUSHL "$RC" -c "127.0.0.1:$LE_RTMP_PORT" push "$LE_DIR/le-rtmp.flv" \
    "rtmp://$PUSH/live/pk1?$(txt $PK pk1)" 2>"$LE_DIR/push-le.err"
le_wait_for 10 grep -q '^ready' "$LE_DIR/push-le.err"
ok $? "push to livedge's push domain with a good txSecret (tcUrl host + connect_to): accepted" ||
    diag "$(cat "$LE_DIR/push-le.err")"
p=$(probe "$(le_url pk1)")
like "$p" 'codec_name=h264\|codec_type=video\|width=640\|height=360' "push to livedge: ffprobe reads H.264 640x360 there" ||
    diag "$p"
like "$p" 'codec_name=aac\|codec_type=audio' "push to livedge: and AAC"
le_wait_exit "$PUSHL" 20
is "${LE_EXIT_RC:-x}" 0 "push to livedge: exit 0" || diag "$(cat "$LE_DIR/push-le.err")"

timeout -k 3 20 "$RC" -c "127.0.0.1:$LE_RTMP_PORT" push "$LE_DIR/le-rtmp.flv" \
    "rtmp://user:hunter2@$PUSH/live/pk2?txSecret=0123456789abcdef0123456789abcdef&txTime=7FFFFFFF" \
    2>"$LE_DIR/last.err"
is "$?" 1 "push with a wrong txSecret: exit 1"
cat "$LE_DIR/last.err" >>"$LE_DIR/all.err"
like "$(err)" 'refused by policy: publish refused: NetStream.Publish.BadName' "... LE_EDENIED with NetStream.Publish.BadName" ||
    diag "$(err)"
unlike "$(err)" '0123456789abcdef|hunter2' "... the txSecret and the password are not in the error text"
like "$(err)" 'rtmp://\*\*\*@.*txSecret=\*\*\*&txTime=7FFFFFFF' "... they are masked as ***"

# ---- faulty servers ---------------------------------------------------------------------------------
cat >"$LE_DIR/srv.py" <<'EOF'
import socket, ssl, sys, threading
mode, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port)); s.listen(16)
tls = None
if mode == "tls":
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(sys.argv[3], sys.argv[4])
def serve(c):
    try:
        if tls:
            c = tls.wrap_socket(c, server_side=True)
        if mode == "rtmpjunk":
            c.recv(4096)
            c.sendall(b"\x03" + b"\xab" * 3072 + b"\xff\xff\xff\xff\xff\xff\xff\xff" * 64)
            c.recv(4096)
            return
        if mode == "silent":
            c.recv(65536); threading.Event().wait(30); return
        req = b""
        while b"\r\n\r\n" not in req:
            d = c.recv(4096)
            if not d: return
            req += d
        path = req.split(b" ")[1].decode()
        if mode == "tls":
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: video/x-flv\r\nConnection: close\r\n\r\n")
            c.sendall(open(sys.argv[5], "rb").read())
            return
        if mode == "404":
            c.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot here\n")
        elif mode == "html":
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n<html>hello</html>\n")
        elif mode == "loop":
            n = int(path.split("?")[0].rsplit("/", 1)[1].split(".")[0])
            c.sendall(("HTTP/1.1 302 Found\r\nLocation: %d.flv\r\nContent-Length: 0\r\n\r\n" % (n + 1)).encode())
        elif mode == "redir":
            c.sendall(b"HTTP/1.1 301 Moved\r\nLocation: /final.flv\r\nContent-Length: 0\r\n\r\n" if "final" not in path
                      else b"HTTP/1.1 200 OK\r\nContent-Type: video/x-flv\r\nTransfer-Encoding: chunked\r\n\r\n"
                           b"d\r\nFLV\x01\x05\x00\x00\x00\x09\x00\x00\x00\x00\r\n0\r\n\r\n")
        c.shutdown(socket.SHUT_WR)
        c.recv(4096)
    except (OSError, ssl.SSLError):
        pass
    finally:
        c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
srv() {   # srv MODE [ARGS...]: starts the fake server, sets SRV_PORT
    local mode=$1; shift
    SRV_PORT=$(le_free_port 1)
    le_bg SRV_PID "$LE_PY" "$LE_DIR/srv.py" "$mode" "$SRV_PORT" "$@"
    le_wait_for 5 le_port_open "$SRV_PORT"
}

srv 404
pull "http://u:pw@127.0.0.1:$SRV_PORT/live/a.flv?auth_key=1-0-0-SECRETSIG" "$LE_DIR/x.flv" 3
is "$?" 1 "HTTP source answering 404: exit 1"
like "$(err)" 'not found: HTTP 404 Not Found' "... the status in the reason" || diag "$(err)"
unlike "$(err)" 'SECRETSIG|u:pw' "... auth_key and credentials masked"
le_kill "$SRV_PID"

srv html
pull "http://127.0.0.1:$SRV_PORT/live/a.flv" "$LE_DIR/x.flv" 3
is "$?" 1 "HTTP source with a non-FLV body: exit 1"
like "$(err)" 'protocol error: not an FLV body' "... not an FLV body" || diag "$(err)"
le_kill "$SRV_PID"

srv loop
pull "http://127.0.0.1:$SRV_PORT/live/0.flv?token=SECRETTOKEN" "$LE_DIR/x.flv" 5
is "$?" 1 "HTTP redirect loop: exit 1"
like "$(err)" 'redirect loop \(more than 5 redirects\)' "... a redirect loop after 5 relative redirects" || diag "$(err)"
unlike "$(err)" 'SECRETTOKEN' "... token masked"
le_kill "$SRV_PID"

srv redir
pull "http://127.0.0.1:$SRV_PORT/live/a.flv" "$LE_DIR/x.flv" 3
is "$?" 0 "a 301 to an absolute path, then a chunked FLV body that ends: exit 0" || diag "$(err)"
like "$(err)" 'end: end of the HTTP body' "... a clean end at the chunked terminator" || diag "$(err)"
le_kill "$SRV_PID"

srv rtmpjunk
t0=$(le_now_ms)
pull "rtmp://127.0.0.1:$SRV_PORT/live/a?txSecret=SECRETTX" "$LE_DIR/x.flv" 10
is "$?" 1 "garbage RTMP server: exit 1"
like "$(err)" 'protocol error' "... a protocol error" || diag "$(err)"
cmp_ok $(( $(le_now_ms) - t0 )) -lt 5000 "... at once, not after a timeout"
unlike "$(err)" 'SECRETTX' "... txSecret masked"
le_kill "$SRV_PID"

srv silent
t0=$(le_now_ms)
pull "rtmp://127.0.0.1:$SRV_PORT/live/a" "$LE_DIR/x.flv" 10 -t 1500
is "$?" 1 "a server that never answers the handshake: exit 1"
like "$(err)" 'timed out after 1500 ms waiting for the handshake' "... the connect timeout, naming the step" || diag "$(err)"
cmp_ok $(( $(le_now_ms) - t0 )) -lt 8000 "... within the timeout, not the pull's 10 s"
le_kill "$SRV_PID"

# https:// (a self-signed certificate for 127.0.0.1): refused until trusted
# (SSL_CERT_FILE is OpenSSL's default CA file), then the body plays.
if command -v openssl >/dev/null 2>&1 &&
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -addext "subjectAltName=IP:127.0.0.1" \
        -keyout "$LE_DIR/key.pem" -out "$LE_DIR/cert.pem" >/dev/null 2>&1; then
    srv tls "$LE_DIR/cert.pem" "$LE_DIR/key.pem" "$LE_DIR/le-http.flv"
    pull "https://127.0.0.1:$SRV_PORT/live/cam.flv" "$LE_DIR/x.flv" 3
    is "$?" 1 "https:// with an untrusted certificate: exit 1"
    like "$(err)" 'TLS: certificate verify failed' "... certificate verify failed" || diag "$(err)"
    SSL_CERT_FILE=$LE_DIR/cert.pem pull "https://127.0.0.1:$SRV_PORT/live/cam.flv" "$LE_DIR/tls.flv" 5
    is "$?" 0 "https:// with the certificate trusted: exit 0" || diag "$(err)"
    like "$(probe "$LE_DIR/tls.flv")" 'codec_name=h264\|codec_type=video\|width=640\|height=360' "... and the FLV plays"
    le_kill "$SRV_PID"
else
    skip 4 "openssl cannot make a test certificate"
fi

pull "rtmp://no-such-host.invalid/live/a" "$LE_DIR/x.flv" 5
is "$?" 1 "an unresolvable host: exit 1"
like "$(err)" 'DNS|timed out' "... a DNS failure (or a timeout where no resolver answers)" || diag "$(err)"

cat "$LE_DIR"/push-*.err "$LE_DIR/last.err" >>"$LE_DIR/all.err" 2>/dev/null
unlike "$(cat "$LE_DIR/all.err")" 'Sanitizer|runtime error' "no sanitizer report from le-relaycat"

le_stop
done_testing
