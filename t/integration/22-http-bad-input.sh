#!/bin/sh
# 22-http-bad-input: the HTTP side stays up under bad input. Each bad request
# gets its 4xx (with the JSON error body) and only that client is closed,
# while an HTTP-FLV viewer keeps playing: request lines and headers over the
# limits, too many headers, a slowloris client, unknown methods, `..` and
# encoded slashes, names outside the name charset, bodies, garbage. Then the
# admin port under 300 idle connections from another address (kept open, reopened
# when closed): unsigned and signed API calls all succeed meanwhile.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
# shellcheck source=t/integration/lib.sh
. "$(dirname "$0")/lib.sh"

le_require_daemon
le_require_tool ffmpeg ffprobe curl python3
LE_EXTRA_CONF="http_header_timeout 2s;"
le_start || le_abort "livedge did not start"
H=http://127.0.0.1:$LE_HTTP_PORT

LE_PUB_SECS=60 le_publish cam
le_wait_publishing "$LE_PUB_PROGRESS" 15
ok $? "ffmpeg publishes live/cam" || diag "$(cat "$LE_PUB_LOG")"
viewer=
le_bg viewer curl -s -o "$LE_DIR/viewer.flv" --max-time 25 "$H/live/cam.flv"
sleep 1

# raw EXPR: sends the bytes of the Python expression EXPR, prints
# "STATUS closed|open body|nobody" (the server must close after a 4xx).
raw() {
    timeout 20 python3 - "$LE_HTTP_PORT" "$1" <<'PY'
import socket, sys, time
req = eval(sys.argv[2])
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
try:
    if isinstance(req, list):          # trickled pieces: (bytes, delay)
        for piece, delay in req:
            s.sendall(piece); time.sleep(delay)
    else:
        s.sendall(req)
except OSError:
    pass
data = b""; closed = "open"
try:
    while True:
        b = s.recv(65536)
        if not b:
            closed = "closed"; break
        data += b
except socket.timeout:
    pass
except OSError:
    closed = "closed"
line = data.split(b"\r\n", 1)[0].decode("latin1")
status = line.split(" ")[1] if line.startswith("HTTP/1.1 ") else "none"
body = "body" if b'"Code":"' in data and b'"RequestId":"' in data else "nobody"
print(status, closed, body)
PY
}

check() {   # DESC WANT_STATUS EXPR
    local got
    got=$(raw "$3")
    is "$got" "$2 closed body" "$1: $2, error body, connection closed"
}

check "request line over 8 KiB" 414 'b"GET /live/" + b"a" * 9000 + b".flv HTTP/1.1\r\nHost: x\r\n\r\n"'
check "request line over 8 KiB, never ended" 414 'b"GET /" + b"a" * 20000'
check "headers over 16 KiB" 431 'b"GET /live/cam.m3u8 HTTP/1.1\r\nHost: x\r\nX-Big: " + b"v" * 17000 + b"\r\n\r\n"'
check "65 headers" 431 'b"GET /live/cam.m3u8 HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(64)) + b"\r\n"'
check "slowloris (a header byte per 0.5 s)" 408 '[(b"GET /live/cam.flv HTTP/1.1\r\nHost: x\r\n", 0.5)] + [(b"X", 0.5)] * 12'
check "unknown method" 405 'b"BREW /live/cam.flv HTTP/1.1\r\nHost: x\r\n\r\n"'
check "DELETE" 405 'b"DELETE /live/cam.flv HTTP/1.1\r\nHost: x\r\n\r\n"'
check "POST with a body" 405 'b"POST /live/cam.flv HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"'
check "GET with a body" 413 'b"GET /live/cam.m3u8 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"'
check "dot-dot" 400 'b"GET /live/../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n"'
check "encoded dot-dot" 400 'b"GET /live/%2e%2e/cam.flv HTTP/1.1\r\nHost: x\r\n\r\n"'
check "encoded slash" 400 'b"GET /live%2Fcam.flv HTTP/1.1\r\nHost: x\r\n\r\n"'
check "encoded slash in the name" 400 'b"GET /live/a%2fb.m3u8 HTTP/1.1\r\nHost: x\r\n\r\n"'
check "encoded NUL" 400 'b"GET /live/cam%00.flv HTTP/1.1\r\nHost: x\r\n\r\n"'
check "bad escape" 400 'b"GET /live/cam%zz.flv HTTP/1.1\r\nHost: x\r\n\r\n"'
check "name outside the charset" 400 'b"GET /live/ca$m.flv HTTP/1.1\r\nHost: x\r\n\r\n"'
check "app outside the charset" 400 'b"GET /li%20ve/cam.flv HTTP/1.1\r\nHost: x\r\n\r\n"'
check "name of 256 bytes" 400 'b"GET /live/" + b"n" * 256 + b".flv HTTP/1.1\r\nHost: x\r\n\r\n"'
check "raw UTF-8 in the path" 400 'b"GET /live/caf\xc3\xa9.flv HTTP/1.1\r\nHost: x\r\n\r\n"'
check "NUL in the request line" 400 'b"GET /live/c\x00am.flv HTTP/1.1\r\nHost: x\r\n\r\n"'
check "bad Host header" 400 'b"GET /live/cam.flv HTTP/1.1\r\nHost: a\"b\r\n\r\n"'
check "no Host on HTTP/1.1" 400 'b"GET /live/cam.flv HTTP/1.1\r\n\r\n"'
check "obs-fold header" 400 'b"GET /live/cam.flv HTTP/1.1\r\nHost: x\r\nA: b\r\n c\r\n\r\n"'
check "binary garbage" 400 'bytes(range(1, 256)) * 4'
check "TLS client hello" 400 'b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + b"\x00" * 40'
resp=$(raw 'b"GET /live/cam.flv HTTP/2.0\r\nHost: x\r\n\r\n"')
is "$resp" "505 closed body" "HTTP/2.0 request line: 505, closed"
resp=$(curl -s -i --max-time 5 "$H/live/cam.flv?vhost=unknown.example.org" | tr -d '\r')
like "$resp" '^HTTP/1.1 403' "unknown vhost: 403"
like "$resp" '"Code":"InvalidDomain.NotFound"' "unknown vhost: error body"
resp=$(curl -s -i --max-time 5 "$H/favicon.ico" | tr -d '\r')
like "$resp" '^HTTP/1.1 404' "unknown path: 404 (keep-alive, not a bad client)"

# The server log shows escaped, never raw, bytes of the bad requests.
unlike "$(cat "$LE_LOG")" $'\xc3\xa9' "log lines hold no raw non-ASCII bytes from requests"
like "$(cat "$LE_LOG")" 'caf\\xc3\\xa9\.flv' "... the raw UTF-8 request is logged with its bytes escaped"

# A keep-alive client gets several answers on one connection.
n=$(curl -s --max-time 10 -o /dev/null -w "%{num_connects}\n" "$H/live/x.m3u8" "$H/live/y.m3u8" "$H/live/z.m3u8" | awk "{ s += \$1 } END { print s }")
is "$n" 1 "three playlist requests share one keep-alive connection"

le_wait_exit "$viewer" 40
cmp_ok "$(le_count_frames "$LE_DIR/viewer.flv" v)" -ge 400 "meanwhile the HTTP-FLV viewer played on (>= 400 frames)"
le_alive_ok
le_stop

# ---- the admin port under idle connections ---------------------------------------
cat >"$LE_DIR/idle.py" <<'PY'
# idle.py PORT N SECS READY_FILE: keeps N idle connections open to PORT for
# SECS, reopening those the server closes; READY_FILE once the first N are up.
# They come from 127.0.0.2, another address than the real calls (127.0.0.1),
# as a flood from elsewhere would: the per-address limit holds it.
import select, socket, sys, time
port, n, secs, ready = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
socks, opened, t0 = {}, 0, time.monotonic()
while time.monotonic() - t0 < secs:
    while len(socks) < n:
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=1,
                                         source_address=("127.0.0.2", 0))
        except OSError:
            time.sleep(0.05)
            break
        socks[s.fileno()] = s
        opened += 1
    if opened >= n and ready:
        open(ready, "w").write("%d\n" % opened)
        ready = ""
    p = select.poll()
    for fd in socks:
        p.register(fd, select.POLLRDHUP | select.POLLERR | select.POLLHUP)
    for fd, ev in p.poll(50):
        socks.pop(fd).close()
PY
cat >"$LE_DIR/pop.py" <<'PY'
# pop.py PORT AK SECRET ACTION: one signed GET call; prints the HTTP status.
import base64, datetime, hashlib, hmac, http.client, sys, urllib.parse, uuid
port, ak, secret, action = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
enc = lambda s: urllib.parse.quote(s, safe="-_.~")
params = {
    "Action": action, "Format": "JSON", "Version": "2016-11-01", "AccessKeyId": ak,
    "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "SignatureNonce": str(uuid.uuid4()),
    "Timestamp": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
}
canon = "&".join(enc(k) + "=" + enc(v) for k, v in sorted(params.items()))
sig = base64.b64encode(hmac.new((secret + "&").encode(), ("GET&%2F&" + enc(canon)).encode(), hashlib.sha1).digest()).decode()
try:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request("GET", "/?" + canon + "&Signature=" + enc(sig))
    print(c.getresponse().status)
except Exception as e:
    print("000 %s" % repr(e).replace(" ", "_"))
PY
# idle_calls DESC CALL...: 300 idle connections held open while 20 calls run;
# every call must answer 200.
idle_calls() {
    local desc=$1 i good=0 codes="" holder mark
    shift
    rm -f "$LE_DIR/idle.ready"
    mark=$(le_log_lines)
    le_bg holder timeout 60 "$LE_PY" "$LE_DIR/idle.py" "$LE_ADMIN_PORT" 300 40 "$LE_DIR/idle.ready"
    le_wait_for 20 test -s "$LE_DIR/idle.ready"
    ok $? "$desc: 300 idle connections to the admin port opened"
    for i in $(seq 20); do
        code=$("$@")
        codes="$codes ${code%% *}"
        [ "${code%% *}" = 200 ] && good=$((good + 1))
    done
    is "$good" 20 "$desc: 20 of 20 API calls answered 200 meanwhile" || diag "codes:$codes $code"
    le_wait_log 'closed \(idle\) to make room' 3 "$mark" >/dev/null
    ok $? "$desc: the log says idle connections were closed to make room"
    le_kill "$holder"
}
unsigned_call() {
    curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
        "http://127.0.0.1:$LE_ADMIN_PORT/?Action=DescribeLiveUserDomains&Format=JSON" || true
}
AK=LTAItestid22
SK=test-secret-22
signed_call() { timeout 10 "$LE_PY" "$LE_DIR/pop.py" "$LE_ADMIN_PORT" "$AK" "$SK" DescribeLiveUserDomains; }

LE_WAIT_PORTS="rtmp http admin"
LE_EXTRA_CONF=""
le_start || le_abort "livedge (admin without keys) did not start"
idle_calls "unsigned (loopback, no keys)" unsigned_call
le_alive_ok
le_stop

LE_EXTRA_CONF="admin_max_connections_per_ip 16;
admin {
    access_key_id     \"$AK\";
    access_key_secret \"$SK\";
}"
le_start || le_abort "livedge (admin with keys) did not start"
idle_calls "signed (admin_max_connections_per_ip 16)" signed_call
le_alive_ok
le_stop
done_testing
