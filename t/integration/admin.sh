# t/integration/admin.sh: helpers for the scripts that drive the admin API
# (41, 42, 43). Source after lib.sh.

# api ACTION [NAME=VALUE...]: an unsigned JSON call to the current node's
# admin port. Sets API_CODE (HTTP status, 000 if none) and API_BODY.
api() {
    local action=$1 kv out
    shift
    local -a args=(--data-urlencode "Action=$action" --data-urlencode "Format=JSON")
    for kv in "$@"; do args+=(--data-urlencode "$kv"); done
    out=$(curl -s -G --max-time 10 -w '\n%{http_code}' "${args[@]}" "http://127.0.0.1:$LE_ADMIN_PORT/")
    API_CODE=${out##*$'\n'}
    API_BODY=${out%$'\n'*}
    if [ "$API_CODE" = 000 ] && ! le_alive "$LE_PID"; then le_abort "livedge died during $action"; fi
    [ "$API_CODE" = 200 ]
}

# j JSON EXPR: evaluates the python expression EXPR with d = the parsed JSON;
# strings print raw, anything else as JSON. "ERR ..." if JSON is not JSON.
j() {
    [ -f "$LE_DIR/j.py" ] || cat >"$LE_DIR/j.py" <<'PY'
import json, sys
try:
    d = json.loads(sys.stdin.read())
except Exception as e:
    print("ERR not JSON: %s" % e); sys.exit(0)
try:
    r = eval(sys.argv[1], {"d": d})
except Exception as e:
    print("ERR %s: %s" % (type(e).__name__, e)); sys.exit(0)
print(r if isinstance(r, str) else json.dumps(r, sort_keys=True))
PY
    printf '%s' "$1" | "$LE_PY" "$LE_DIR/j.py" "$2"
}

# utc OFFSET: UTC time OFFSET seconds from now, in the API's format.
utc() { date -u -d "@$(( $(date +%s) + $1 ))" +%Y-%m-%dT%H:%M:%SZ; }

# pub NAME [SECS]: publishes NAME (may carry ?vhost=) and waits until live.
pub() {
    LE_PUB_SECS=${2:-60} le_publish "$1"
    le_wait_publishing "$LE_PUB_PROGRESS" 15
}
# pub_refused NAME: a publish of NAME ends, non-zero, within 10 s.
pub_refused() {
    LE_PUB_SECS=30 le_publish "$1"
    if le_wait_exit "$LE_PUB_PID" 10; then
        [ "$LE_EXIT_RC" != 0 ]
    else
        le_kill "$LE_PUB_PID"
        return 1
    fi
}
