#!/usr/bin/env bash
# Messages (issue 14 item 5), through a real broker: admin errors name the
# value and the rule; a client id that is not the certificate's CN is
# refused for that before "not found"; a stored status that is neither
# enabled nor disabled is shown as stored; a clean shutdown logs no lost
# change feed; scripts/demo prints real values, not ${...}, and plays its
# enrollment-group and revocation chapters (and can be played again).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
xca_setup

xca_pki story >/dev/null # Company-X ... Smart-X-Widgets and the server certificate
xca_pki root root >/dev/null
for d in dev-a dev-b ghost2; do xca_pki device "$d" --ca root >/dev/null; done
xca_pki selfsigned ss1 >/dev/null
xca_server_cert
xca_start_redis
xca_start_broker b1 "acl_file $XCA_SOURCE_DIR/mosquitto-conf/backend.acl"
xca_wait_for "b1 follows registry changes" 5 xca_log_has b1 "x509ca: following registry changes in Redis"

connects() { xca_pub_tls b1 "$1" "$2" "devices/${2%%/*}/messages/events/" hello; }
refusal() { echo "x509ca: refused client '$1' [(]CN '$2'[)]: $3"; }
# reply_field JSON_COMMAND FIELD...: sends one command on b1's admin topic
# and prints the value at FIELD... of its response (e.g. error; data status).
reply_field() {
    local json=$1
    shift
    xca_admin_rr b1 "{\"commands\":[$json]}" | python3 -c '
import json, sys
value = json.load(sys.stdin)["responses"][0]
for key in sys.argv[1:]:
    value = value[int(key)] if isinstance(value, list) else value.get(key)
print("<none>" if value is None else value)' "$@"
}
# says JSON_COMMAND TEXT FIELD...: the response's FIELD... is exactly TEXT.
says() {
    local json=$1 want=$2 got
    shift 2
    got=$(reply_field "$json" "$@")
    [[ $got == "$want" ]] && return 0
    printf 'want: %s\ngot:  %s\n' "$want" "$got"
    return 1
}
ID_RULE="must be 1–128 of A-Z a-z 0-9 - . % _ * ? ! ( ) , : = @ \$ '"

# --- Admin errors name the value and the rule -----------------------------------
xca_check "a bad device id: the error names it and the rule" says \
    '{"command":"createDevice","deviceId":"bad id"}' \
    "invalid identity id: deviceId 'bad id' $ID_RULE" error
xca_check "a bad module id: the error names it and the rule" says \
    '{"command":"getDevice","deviceId":"d","moduleId":"m/x"}' \
    "invalid identity id: moduleId 'm/x' $ID_RULE" error
xca_check "a bad status: the error names it and the allowed values" says \
    '{"command":"createDevice","deviceId":"d","status":"on"}' \
    "invalid status: status 'on' must be enabled or disabled" error
xca_check "a bad authentication: the error names it and the allowed values" says \
    '{"command":"createDevice","deviceId":"d","authentication":"psk"}' \
    "invalid authentication type: authentication 'psk' must be certificateAuthority or selfSigned" error
xca_check "a count out of range: the error states the range" says \
    '{"command":"listDevices","count":5000}' "missing or invalid argument: count must be 1–1000" error
xca_check "a bad CA name: the error names it and the rule" says \
    '{"command":"getCA","name":"a b"}' "invalid name: name 'a b' must be 1–64 of A-Z a-z 0-9 . _ -" error
xca_log_mark b1
xca_check "a control character in a bad id is shown as '?' (reply)" says \
    '{"command":"createDevice","deviceId":"evil\nline"}' \
    "invalid identity id: deviceId 'evil?line' $ID_RULE" error
xca_check "... and the audit line names the argument only (no request text)" xca_wait_log b1 \
    "x509ca: audit admin=admin command=createDevice target=- result=error [(]invalid identity id: deviceId[)]\$"
xca_check "the refused commands wrote nothing" test -z "$(xca_rcli KEYS 'x509ca:device:*')"

# --- A stored status is shown as stored ------------------------------------------------
xca_rcli HSET x509ca:device:odd status paused >/dev/null
xca_check "getDevice shows a stored status 'paused' as stored" says \
    '{"command":"getDevice","deviceId":"odd"}' paused data status
xca_check "listDevices shows it as stored too" says \
    '{"command":"listDevices"}' paused data devices 0 status
xca_rcli HSET x509ca:device:ss1 authentication selfSigned primaryThumbprint \
    "$(sed -n 's/^sha256=//p' "$XCA_TMP/pki/ss1.thumbprints")" status paused >/dev/null
xca_check_refused "... and counts as disabled: refused, identity is disabled" b1 \
    "$(refusal ss1 ss1 "identity is disabled")" connects ss1 ss1
xca_rcli HSET x509ca:device:ss1 status enabled >/dev/null
xca_wait_for "with status enabled the same device connects" 3 connects ss1 ss1

# --- A client id that is not the certificate's CN ---------------------------------------
xca_rcli HSET x509ca:ca:root certificate "$(cat "$XCA_TMP/pki/root.crt")" status verified >/dev/null
xca_rcli HSET x509ca:device:dev-a status enabled >/dev/null
xca_rcli HSET x509ca:device:dev-b status enabled >/dev/null
xca_wait_for "dev-a connects as itself" 3 connects dev-a dev-a
xca_check_refused "dev-a's certificate with an unregistered client id: CN mismatch, not 'not found'" b1 \
    "$(refusal ghost dev-a "certificate CN does not match the client id\$")" connects dev-a ghost
xca_check_refused "... with a registered client id: CN mismatch" b1 \
    "$(refusal dev-b dev-a "certificate CN does not match the client id\$")" connects dev-a dev-b
xca_check_refused "an unregistered id with its own certificate: not found" b1 \
    "$(refusal ghost2 ghost2 "not found\$")" connects ghost2 ghost2
xca_check_refused "a self-signed leaf with an unregistered id: not found (no CN rule)" b1 \
    "$(refusal ghost ss1 "not found\$")" connects ss1 ghost

# --- scripts/demo prints real values ---------------------------------------------------------
echo "$XCA_ADMIN_PASSWORD" >"$XCA_TMP/admin.password"
demo() {
    env X509CA_STATE_DIR="$XCA_TMP" X509CA_ADMIN_PORT="$B1_ADMIN_PORT" \
        X509CA_DEVICE_PORT="$B1_TLS_PORT" X509CA_REDIS_PORT="$REDIS_PORT" \
        timeout 180 "$XCA_SOURCE_DIR/scripts/demo" && echo "demo exit status 0"
}
xca_log_mark b1
xca_check "scripts/demo runs against the broker" demo
cp "$XCA__OUT_FILE" "$XCA_TMP/demo.out"
xca_check "the demo printed no unexpanded \${...}" bash -c "! grep -F '\${' '$XCA_TMP/demo.out'"
xca_check "the demo printed the real Redis port" \
    grep -F "redis-cli -p $REDIS_PORT HGETALL x509ca:device:smart-x-widget-3" "$XCA_TMP/demo.out"
# The demo's later chapters: Factory-Y's enrollment group, then Technician-Z's
# revocation (INTERFACE §9).
demo_says() { grep -E -- "$1" "$XCA_TMP/demo.out"; }
xca_check "demo: a widget signed by Factory-Y is refused before the group exists" \
    demo_says '^   smart-x-widget-4 is refused: no registry entry \(not found\)\.$'
xca_check "demo: the group's widgets enroll on their first connect" \
    demo_says '^   smart-x-widget-5: enrolled and accepted, telemetry published\.$'
xca_check "demo: getDevice shows enrollmentGroup and enrolledAt" \
    demo_says '"command":"getDevice","data":\{"deviceId":"smart-x-widget-4",.*"enrollmentGroup":"factory-y","enrolledAt":[0-9]+'
xca_check "Redis: smart-x-widget-4 was created by the group" \
    test "$(xca_rcli HGET x509ca:device:smart-x-widget-4 enrollmentGroup)" = factory-y
xca_check "demo: four live sessions, two of each CA" \
    test "$(demo_says '^   smart-x-widget-[1245] \((Technician-Z|Factory-Y) CA, pid [0-9]+\): subscribed' | wc -l)" -eq 4
# dropped_within ID MS: the demo saw ID's live session dropped no later
# than MS ms after x509ca-admin revoke returned (the time the command itself
# took, starting python3 and mosquitto_rr, is not the broker's).
dropped_within() {
    local line ms took
    line=$(demo_says "^   $1 \(Technician-Z\): live session dropped [0-9]+ ms after x509ca-admin revoke started \(the command took [0-9]+ ms") ||
        return 1
    ms=$(sed -E 's/.* dropped ([0-9]+) ms.*/\1/' <<<"$line")
    took=$(sed -E 's/.*the command took ([0-9]+) ms.*/\1/' <<<"$line")
    echo "dropped after $ms ms, the command took $took ms"
    ((ms <= took + $2))
}
xca_check "demo: smart-x-widget-1 (Technician-Z) dropped within 1 s of the revocation's reply" \
    dropped_within smart-x-widget-1 1000
xca_check "demo: smart-x-widget-2 (Technician-Z) dropped within 1 s of the revocation's reply" \
    dropped_within smart-x-widget-2 1000
xca_check "demo: Factory-Y's widgets kept their sessions" \
    test "$(demo_says '^   smart-x-widget-[45] \(Factory-Y\): still connected\.$' | wc -l)" -eq 2
xca_check "demo: Factory-Y's widgets published after the revocation, the back-end got it" \
    demo_says '^     devices/smart-x-widget-5/messages/events/ \{"deviceId":"smart-x-widget-5"'
xca_check "demo: Technician-Z's widgets are refused afterwards" \
    demo_says '^   smart-x-widget-2: refused \(its chain holds a revoked certificate\)\.$'
TZ_SHA=$("$XCA_SOURCE_DIR/scripts/x509ca-pki" thumbprint --sha256 "$XCA_TMP/pki/technician-z.crt")
xca_check "Redis: Technician-Z's certificate is revoked for keyCompromise" \
    test "$(xca_rcli HGET "x509ca:revoked:$TZ_SHA" reason)" = keyCompromise
xca_check "the broker refused smart-x-widget-1 for the revocation" \
    xca_log_has_since b1 "refused client 'smart-x-widget-1'.*revoked"
xca_check "demo: listRevoked shows Technician-Z" \
    demo_says "\"command\":\"listRevoked\",\"data\":\\{\"revoked\":\\[\\{\"thumbprint\":\"$TZ_SHA\""
xca_check "scripts/demo runs again (it resets its CA, group, devices and revocation)" demo
cp "$XCA__OUT_FILE" "$XCA_TMP/demo2.out"
xca_check "the second run enrolled the widgets anew" \
    grep -E '^   smart-x-widget-4: enrolled and accepted' "$XCA_TMP/demo2.out"

# --- A clean shutdown is not a lost change feed --------------------------------------------
xca_log_mark b1
xca_check "b1 exits 0 on SIGTERM" xca_stop_broker b1
xca_check "b1 logged its shutdown" xca_log_has_since b1 "mosquitto version .* terminating"
no_lost_feed_since_mark() { ! xca_log_has_since b1 "x509ca: lost the Redis change feed"; }
xca_check "b1 logged no lost change feed while stopping" no_lost_feed_since_mark
xca_done
