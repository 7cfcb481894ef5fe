# t/integration/browser.sh: what the scripts that drive headless Chromium
# (68, 74, 87, 91, 93, 94) share: the page a player runs on, served from an
# origin of its own; running a driver (a *-browser.js, built on
# browser-lib.js) to its one JSON object; reading that object. Source it after
# lib.sh; le_browser_require / le_hlsjs_require (lib.sh) install what the
# drivers need.
# shellcheck shell=bash

# le_page_dir TITLE [hls]: WWW=$LE_DIR/www with an index.html titled TITLE;
# with "hls", the page also loads hls.js (copied there from LE_HLSJS, as
# le_hlsjs_require left it).
le_page_dir() {
    local head=""
    WWW=$LE_DIR/www
    mkdir -p "$WWW"
    if [ "${2:-}" = hls ]; then
        cp "$LE_HLSJS" "$WWW/hls.min.js"
        head='<script src="hls.min.js"></script>'
    fi
    printf '<!doctype html>\n<html><head><title>%s</title><link rel="icon" href="data:,">%s</head><body></body></html>\n' \
        "$1" "$head" >"$WWW/index.html"
}

# le_page_server DIR [CERT KEY NAME CA]: python's http.server serving DIR on a
# free loopback port (three tries), the page's own origin: every request to
# the node is cross-origin. With CERT and KEY it serves HTTPS as NAME (which
# the browser must resolve to 127.0.0.1; CA signed CERT). Sets PAGE_PORT,
# PAGE_PID (killed on exit) and ORIGIN; the script aborts if none comes up.
# le__page_up [NAME CA]: the page server answers 200 (over HTTPS as NAME).
le__page_up() {
    if [ -n "${1:-}" ]; then
        [ "$(curl -s -m 3 --cacert "$2" --resolve "$1:$PAGE_PORT:127.0.0.1" -o /dev/null \
            -w '%{http_code}' "https://$1:$PAGE_PORT/")" = 200 ]
    else
        [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$PAGE_PORT/")" = 200 ]
    fi
}
le_page_server() {
    local dir=$1 cert=${2:-} key=${3:-} name=${4:-} ca=${5:-}
    PAGE_PID=""
    for _ in 1 2 3; do
        PAGE_PORT=$(le_free_port 1)
        if [ -n "$cert" ]; then
            le_bg PAGE_PID "$LE_PY" -c '
import functools, http.server, ssl, sys
port, root, cert, key = sys.argv[1:]
h = functools.partial(http.server.SimpleHTTPRequestHandler, directory=root)
srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), h)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()' "$PAGE_PORT" "$dir" "$cert" "$key" >"$LE_DIR/page.log" 2>&1
        else
            le_bg PAGE_PID "$LE_PY" -m http.server "$PAGE_PORT" --bind 127.0.0.1 --directory "$dir" \
                >"$LE_DIR/page.log" 2>&1
        fi
        le_wait_for 10 le__page_up ${cert:+"$name" "$ca"} && break
        le_kill "$PAGE_PID"; PAGE_PID=""
    done
    [ -n "$PAGE_PID" ] || le_abort "the ${cert:+https }page server did not start"
    # shellcheck disable=SC2034 # ORIGIN: for the script
    if [ -n "$cert" ]; then ORIGIN=https://$name:$PAGE_PORT; else ORIGIN=http://127.0.0.1:$PAGE_PORT; fi
}

# le_browser_run SECONDS SCRIPT.js ARG...: node runs t/integration/SCRIPT.js
# with ARGs, at most SECONDS. Its JSON in OUT and in $LE_DIR/TAG.json, its
# stderr in $LE_DIR/TAG.err (TAG: LE_BROWSER_TAG, else "browser"). One
# assertion: it exited 0 (named LE_BROWSER_WHAT, else "SCRIPT.js ran Chromium
# to the end (N ms)"); if not, the start of its output and the end of its
# stderr as diag.
le_browser_run() {
    local secs=$1 js=$2 tag=${LE_BROWSER_TAG:-browser} t0 rc
    shift 2
    t0=$(le_now_ms)
    OUT=$(timeout -k 5 "$secs" node "$LE_T_SRCDIR/$js" "$@" 2>"$LE_DIR/$tag.err")
    rc=$?
    is "$rc" 0 "${LE_BROWSER_WHAT:-$js ran Chromium to the end ($(( $(le_now_ms) - t0 )) ms)}" ||
        diag "$(head -c 2000 <<<"$OUT")"$'\n'"$(tail -n 20 "$LE_DIR/$tag.err")"
    printf '%s\n' "$OUT" >"$LE_DIR/$tag.json"
}

# b EXPR: the python expression EXPR over d, the driver's JSON (OUT): strings
# as they are, anything else as JSON; "ERR ..." when EXPR fails.
b() {
    "$LE_PY" -c 'import json, sys
d = json.loads(sys.argv[1])
try:
    v = eval(sys.argv[2])
except Exception as e:
    v = "ERR %s: %s" % (type(e).__name__, e)
print(json.dumps(v) if isinstance(v, (dict, list, bool)) or v is None else v)' "$OUT" "$1" 2>/dev/null
}
