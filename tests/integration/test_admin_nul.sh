#!/usr/bin/env bash
# Admin strings holding a NUL (issue 9 item 6): cJSON decodes "\u0000" into
# a C string that ends early, so deleteDevice "victim-7\u0000-old" used to
# delete victim-7 and createDevice "a\u0000b" created "a". Such a request is
# now refused as a whole, with a clear error, and Redis is left untouched.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
xca_setup

NUL_ERROR='invalid argument: string contains NUL'

xca_start_redis
xca_start_broker b1
xca_wait_for "plugin connected to Redis" 5 xca_log_has b1 'x509ca: connected to Redis'

# request COMMAND [NAME VALUE]...: one request with one command, written by
# python3's json, which spells a NUL character as the escape \u0000.
request() {
    python3 - "$@" <<'EOF'
import json, sys
args = sys.argv[2:]
cmd = {"command": sys.argv[1]}
cmd.update(zip(args[0::2], (a.replace("<NUL>", "\0") for a in args[1::2])))
print(json.dumps({"commands": [cmd]}))
EOF
}
# reply_error REPLYFILE: prints the error of the only response ("" if none).
reply_error() {
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["responses"]; assert len(r)==1, r; print(r[0].get("error",""))' "$1"
}
# admin EXPECTED_ERROR COMMAND [NAME VALUE]...: sends the command; passes
# when its only response has error EXPECTED_ERROR ("" = success).
admin() {
    local want=$1 json got
    shift
    json=$(request "$@")
    echo "request: $json"
    xca_admin_rr b1 "$json" >"$XCA_TMP/reply.json" || { echo "no reply"; return 1; }
    cat "$XCA_TMP/reply.json"
    got=$(reply_error "$XCA_TMP/reply.json")
    [[ $got == "$want" ]] || { echo "error '$got', expected '$want'"; return 1; }
}
key_exists() { [[ $(xca_rcli EXISTS "$1") == 1 ]]; }
keys_under() { xca_rcli --scan --pattern 'x509ca:device:*' | sort | tr '\n' ' '; }

# --- createDevice "a\u0000b" -------------------------------------------------
xca_log_mark b1
xca_check "createDevice \"a\\u0000b\" is refused: $NUL_ERROR" \
    admin "$NUL_ERROR" createDevice deviceId 'a<NUL>b'
xca_check "the refusal is audited" xca_wait_log b1 \
    "x509ca: audit admin=admin command=- target=- result=error \($NUL_ERROR\)"
xca_check_fails "redis has no key x509ca:device:a" key_exists x509ca:device:a
xca_check "redis has no device key at all (got: $(keys_under))" test -z "$(keys_under)"
xca_check "createDevice \"a\" (no NUL) is stored" admin "" createDevice deviceId a
xca_check "redis now has x509ca:device:a" key_exists x509ca:device:a

# --- deleteDevice "victim-7\u0000-old" ---------------------------------------
xca_check "createDevice victim-7" admin "" createDevice deviceId victim-7
xca_check "createDevice victim-7/m" admin "" createDevice deviceId victim-7 moduleId m
xca_log_mark b1
xca_check "deleteDevice \"victim-7\\u0000-old\" is refused: $NUL_ERROR" \
    admin "$NUL_ERROR" deleteDevice deviceId 'victim-7<NUL>-old'
xca_check "the refusal is audited" xca_wait_log b1 \
    "x509ca: audit admin=admin command=- target=- result=error \($NUL_ERROR\)"
xca_check "victim-7 still exists" key_exists x509ca:device:victim-7
xca_check "victim-7/m still exists" key_exists x509ca:device:victim-7/m
xca_check "updateDevice victim-7 with status \"disabled\\u0000\" is refused" \
    admin "$NUL_ERROR" updateDevice deviceId victim-7 status 'disabled<NUL>'
xca_check "victim-7 is still enabled" \
    test "$(xca_rcli HGET x509ca:device:victim-7 status)" = enabled
xca_check "deleteDevice victim-7 (no NUL) deletes it" admin "" deleteDevice deviceId victim-7
xca_check_fails "victim-7 is gone" key_exists x509ca:device:victim-7
xca_check_fails "and its module with it" key_exists x509ca:device:victim-7/m

xca_check "b1 exits 0 on SIGTERM" xca_stop_broker b1
xca_done
