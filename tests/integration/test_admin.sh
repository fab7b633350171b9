#!/usr/bin/env bash
# Admin commands over $CONTROL/x509ca/v1 through a real Mosquitto + Redis
# (README "Admin topics", "The registry in Redis"): every command and its
# refusals, the reply shape, MQTT 5 Response Topic + Correlation Data, who
# may use the admin topics, audit lines, and the effect of changes on
# devices: a verified CA admits its devices at once; deleting a CA,
# disabling or deleting a device drops the live sessions it affects within
# 1 second.
# shellcheck disable=SC2016,SC2317 # literal $CONTROL topics; helpers run through xca_check
set -euo pipefail
source "$(dirname "$0")/lib.sh"
xca_setup

# --- PKI ------------------------------------------------------------------
xca_pki root company-x >/dev/null
xca_pki intermediate factory-y --ca company-x >/dev/null
for d in widget-1 widget-2 widget-3 widget-4; do xca_pki device "$d" --ca factory-y >/dev/null; done
xca_pki root other >/dev/null
xca_pki intermediate old --ca company-x --expired >/dev/null
xca_server_cert
P=$XCA_TMP/pki

# --- Servers --------------------------------------------------------------
xca_start_redis
# bob is a password user who is not an admin; the acl_file even grants him
# the admin request topic (a misconfiguration the plugin must survive).
mkdir -p "$XCA_TMP/b1"
mosquitto_passwd -b -c "$XCA_TMP/b1/passwd" admin adminpw >/dev/null
mosquitto_passwd -b "$XCA_TMP/b1/passwd" bob bobpw >/dev/null
cat >"$XCA_TMP/acl" <<'EOF'
user admin
topic readwrite devices/#
topic readwrite x509ca-test/#
user bob
topic readwrite #
topic readwrite $CONTROL/x509ca/v1
topic readwrite $CONTROL/x509ca/v1/response
EOF
xca_start_broker b1 "acl_file $XCA_TMP/acl"
xca_wait_for "plugin connected to Redis" 5 xca_log_has b1 'x509ca: connected to Redis'

# --- Helpers --------------------------------------------------------------
# JSON string literal of a file's contents (PEM newlines as \n).
pem_json() { awk 'BEGIN { printf "\"" } { gsub(/\\/, "\\\\"); gsub(/"/, "\\\""); printf "%s\\n", $0 } END { printf "\"" }' "$1"; }
# One request with one command; extra arguments are raw JSON members.
req() {
    local cmd=$1 members=""
    shift
    (($#)) && members=",$(IFS=,; echo "$*")"
    printf '{"commands":[{"command":"%s"%s}]}' "$cmd" "$members"
}
# ok CMD MEMBERS...: the command succeeds (reply has data, no error).
ok() {
    local out
    out=$(xca_admin_rr b1 "$(req "$@")") || { echo "no reply"; return 1; }
    echo "$out" | tee "$XCA_TMP/reply"
    [[ $out == *'"data":'* && $out != *'"error":'* ]]
}
# refused REGEX CMD MEMBERS...: the command fails with an error matching
# REGEX, and the broker wrote its audit line with that error after the
# request was sent.
refused() {
    local re=$1 cmd=$2 out
    shift
    : >"$XCA_TMP/reply"
    xca_log_mark b1
    out=$(xca_admin_rr b1 "$(req "$@")") || { echo "no reply"; return 1; }
    echo "$out" | tee "$XCA_TMP/reply"
    grep -Eq "\"error\":\"[^\"]*($re)" <<<"$out" && [[ $out != *'"data":'* ]] &&
        xca_wait_log b1 "x509ca: audit admin=admin command=$cmd target=[^ ]+( verificationCode=[*]{5})? result=error [(][^)]*($re)"
}
# raw_refused PAYLOAD REPLY_REGEX AUDIT_REGEX: the reply to a raw payload
# matches REPLY_REGEX and the broker logged an audit line matching
# "x509ca: audit admin=admin AUDIT_REGEX" after the request was sent.
raw_refused() {
    local out
    xca_log_mark b1
    out=$(xca_admin_rr b1 "$1") || { echo "no reply"; return 1; }
    echo "$out"
    grep -Eq -- "$2" <<<"$out" && xca_wait_log b1 "x509ca: audit admin=admin $3"
}
# raw_reply PAYLOAD REGEX: the reply to a raw payload matches REGEX.
raw_reply() {
    local out
    out=$(xca_admin_rr b1 "$1") || { echo "no reply"; return 1; }
    echo "$out"
    grep -Eq -- "$2" <<<"$out"
}
# Prints the string member NAME of the last reply saved in $XCA_TMP/last.
last_get() { grep -o "\"$1\":\"[^\"]*\"" "$XCA_TMP/last" | head -n 1 | cut -d'"' -f4; }
save() { xca_admin_rr b1 "$(req "$@")" >"$XCA_TMP/last"; cat "$XCA_TMP/last"; }
verification() { xca_pki verification "$1" --ca "$2" --out "$P/$3.crt" >/dev/null; }
connects() { xca_pub_tls b1 "$1" "$1" "devices/$1/messages/events/" hello; }
# refusal CLIENTID REASON: the plugin's refusal line for a device whose
# certificate CN is its client id.
refusal() { echo "x509ca: refused client '$1' [(]CN '$1'[)]: $2"; }
CHAIN="certificate chain does not lead to a verified CA"
hget() { [[ $(xca_rcli HGET "$1" "$2") == "$3" ]]; }
key_absent() { [[ $(xca_rcli EXISTS "$1") == 0 ]]; }
key_present() { [[ $(xca_rcli EXISTS "$1") == 1 ]]; }
# live LABEL ID: an MQTT 5 subscriber with ID's certificate, kept running
# (b1's log is marked first, for `subscribed`).
live() {
    xca_log_mark b1
    XCA_SUB_TIMEOUT=60 xca_bg "$1" xca_sub_tls b1 "$2" "$2" "devices/$2/messages/devicebound/#" \
        -V mqttv5 -d -W 50
}
# dropped_within LABEL MS ID REASON: the xca_bg process LABEL ends within MS
# ms, and since the last mark of b1's log the plugin logged that it kicked
# ID for REASON.
dropped_within() {
    local pid start
    pid=$(xca__pid "bg-$1") || { echo "no process $1"; return 1; }
    start=$(xca__now_ms)
    while xca__is_child "$pid"; do
        if (($(xca__now_ms) - start > $2)); then
            echo "still connected after $2 ms"
            return 1
        fi
        sleep 0.02
    done
    echo "dropped after $(($(xca__now_ms) - start)) ms"
    cat "$XCA_TMP/$1.out"
    xca_wait_log b1 "x509ca: disconnecting client '$3': $4\$" 1
}
# subscribed ID: since the mark `live` set, the broker acknowledged ID's
# subscription (the client's own output is block-buffered, so the broker
# log tells).
subscribed() { xca_log_has_since b1 "Sending SUBACK to $1\$"; }

CA=$(pem_json "$P/company-x.crt")

# --- Request shape ----------------------------------------------------------
xca_check "invalid JSON gets one error response" raw_refused 'not json' \
    '^\{"responses":\[\{"command":"unknown","error":"invalid JSON"\}\]\}$' \
    'command=- target=- result=error [(]invalid JSON[)]'
xca_check "no commands array gets one error response" raw_refused '{"cmds":[]}' \
    '^\{"responses":\[\{"command":"unknown","error":"missing or invalid argument: commands"\}\]\}$' \
    'command=- target=- result=error [(]missing or invalid argument: commands[)]'
xca_check "unknown command is refused by name" raw_refused '{"commands":[{"command":"dropAll"}]}' \
    '"command":"dropAll","error":"unknown command"' \
    'command=unknown target=- result=error [(]unknown command[)]'
xca_check "responses come in order with their correlationData" raw_reply \
    '{"commands":[{"command":"getCA","name":"none","correlationData":"c1"},{"command":"listCAs","correlationData":"c2"}]}' \
    '^\{"responses":\[\{"command":"getCA","error":"CA not found","correlationData":"c1"\},\{"command":"listCAs","data":\{"cas":\[\]\},"correlationData":"c2"\}\]\}$'
big=$(printf '{"commands":[]}%70000s' '')
xca_check "payload over max_admin_payload is refused" raw_refused "$big" '"error":"payload too large"' \
    'command=- target=- result=error [(]payload too large[)]'

# rr_v5_topic: the reply also goes to the request's Response Topic, with its
# Correlation Data.
rr_v5_topic() {
    local out
    out=$(timeout 10 mosquitto_rr -h 127.0.0.1 -p "$B1_ADMIN_PORT" -u admin -P adminpw -V 5 \
        -t '$CONTROL/x509ca/v1' -e 'x509ca-test/replies' -D publish correlation-data corr-42 \
        -F '%D|%p' -W 5 -m '{"commands":[{"command":"listCAs"}]}') || return 1
    echo "$out"
    [[ $out == 'corr-42|{"responses":[{"command":"listCAs","data":{"cas":[]}}]}' ]]
}
xca_log_mark b1
xca_check "MQTT 5 Response Topic gets the reply with the Correlation Data" rr_v5_topic
xca_check "audit line per command" \
    xca_log_has_since b1 'x509ca: audit admin=admin command=listCAs target=- result=ok'

# --- uploadCA ---------------------------------------------------------------
xca_check "uploadCA refuses invalid PEM" refused "invalid PEM" uploadCA '"name":"company-x"' '"certificate":"junk"'
cat "$P/factory-y.crt" "$P/company-x.crt" >"$P/two.pem"
xca_check "uploadCA refuses two certificates" refused "more than one certificate" uploadCA \
    '"name":"company-x"' "\"certificate\":$(pem_json "$P/two.pem")"
cat "$P/company-x.crt" "$P/company-x.key" >"$P/with-key.pem"
KEYLINE=$(sed -n 2p "$P/company-x.key")
xca_check "uploadCA refuses a private key" refused "private key" uploadCA \
    '"name":"company-x"' "\"certificate\":$(pem_json "$P/with-key.pem")"
xca_check "the refused key is not in the reply" refused "private key" uploadCA \
    '"name":"keyonly"' "\"certificate\":$(pem_json "$P/company-x.key")"
xca_check_fails "the refused key is not in the reply text" grep -qF "$KEYLINE" "$XCA_TMP/reply"
xca_check_fails "the refused key is not in the broker log" grep -qF "$KEYLINE" "$BROKER_LOG_B1"
xca_check "nothing was stored for the refused uploads" key_absent x509ca:ca:company-x
xca_check "uploadCA refuses a non-CA certificate" refused "not a CA" uploadCA \
    '"name":"leaf"' "\"certificate\":$(pem_json "$P/widget-1.crt")"
xca_check "uploadCA refuses an expired CA" refused "validity" uploadCA \
    '"name":"old"' "\"certificate\":$(pem_json "$P/old.crt")"
xca_check "uploadCA refuses a bad name" refused "invalid name" uploadCA '"name":"a b"' "\"certificate\":$CA"
xca_check "uploadCA stores the CA unverified with a code" ok uploadCA '"name":"company-x"' "\"certificate\":$CA"
xca_check "uploadCA reply has the contract's fields" grep -Eq \
    '"name":"company-x","status":"unverified","subject":"[^"]+","thumbprint":"[0-9a-f]{64}","notAfter":"[^"]+","verificationCode":"[0-9A-F]{48}","verificationCodeExpiry":[0-9]+' \
    "$XCA_TMP/reply"
xca_check "Redis holds the CA (the fields the README's registry table lists)" hget x509ca:ca:company-x status unverified
xca_check "Redis holds the certificate" hget x509ca:ca:company-x certificate "$(cat "$P/company-x.crt")"
xca_check "uploadCA refuses a duplicate name" refused "CA already exists" uploadCA \
    '"name":"company-x"' "\"certificate\":$(pem_json "$P/other.crt")"
xca_check_fails "the audit line masks the code" xca_log_has b1 'audit .*verificationCode=[0-9A-F]'
xca_check "the audit line shows a masked code" xca_log_has b1 \
    'audit admin=admin command=uploadCA target=ca:company-x verificationCode=\*\*\*\*\* result=ok'

# --- getCA / listCAs -------------------------------------------------------
xca_check "getCA returns the certificate" ok getCA '"name":"company-x"'
xca_check "getCA reply has certificate and status" grep -q '"status":"unverified".*"certificate":"-----BEGIN CERTIFICATE' "$XCA_TMP/reply"
xca_check "getCA of an unknown CA" refused "CA not found" getCA '"name":"nope"'
xca_check "listCAs lists it" ok listCAs
xca_check "listCAs entry" grep -q '"cas":\[{"name":"company-x","status":"unverified"' "$XCA_TMP/reply"

# --- Devices before verification -------------------------------------------
xca_check "createDevice widget-1" ok createDevice '"deviceId":"widget-1"'
xca_check "createDevice reply is the stored identity" grep -q \
    '"data":{"deviceId":"widget-1","status":"enabled","authentication":"certificateAuthority","primaryThumbprint":null,"secondaryThumbprint":null}' \
    "$XCA_TMP/reply"
xca_check "Redis holds the device" hget x509ca:device:widget-1 status enabled
for d in widget-2 widget-3 widget-4; do ok createDevice "\"deviceId\":\"$d\"" >/dev/null; done
xca_check_refused "a device under an unverified CA cannot connect: no chain to a verified CA" b1 \
    "$(refusal widget-1 "$CHAIN")" connects widget-1

# --- generateVerificationCode / verifyCA ------------------------------------
save uploadCA '"name":"other"' "\"certificate\":$(pem_json "$P/other.crt")" >/dev/null
save generateVerificationCode '"name":"company-x"' >/dev/null
CODE=$(last_get verificationCode)
xca_check "generateVerificationCode gives a fresh 192-bit code" grep -Eq '^[0-9A-F]{48}$' <<<"$CODE"
xca_check "Redis holds the new code" hget x509ca:ca:company-x verificationCode "$CODE"
xca_check "generateVerificationCode of an unknown CA" refused "CA not found" generateVerificationCode '"name":"nope"'
verification 0123456789ABCDEF company-x v-wrong-cn
xca_check "verifyCA refuses a CN that is not the code" refused "does not match the live code" verifyCA \
    '"name":"company-x"' "\"certificate\":$(pem_json "$P/v-wrong-cn.crt")"
verification "$CODE" other v-wrong-key
xca_check "verifyCA refuses a certificate not signed by the CA's key" refused "not signed by this CA" \
    verifyCA '"name":"company-x"' "\"certificate\":$(pem_json "$P/v-wrong-key.crt")"
verification "$CODE" company-x v-good
xca_rcli HSET x509ca:ca:company-x verificationCodeExpiry "$(($(date +%s) - 1))" >/dev/null
xca_check "verifyCA refuses an expired code" refused "verification code expired" verifyCA \
    '"name":"company-x"' "\"certificate\":$(pem_json "$P/v-good.crt")"
xca_check "the CA stays unverified" hget x509ca:ca:company-x status unverified
save generateVerificationCode '"name":"company-x"' >/dev/null
CODE2=$(last_get verificationCode)
# differs A B: B is a value and not A.
differs() { [[ -n $2 && $1 != "$2" ]]; }
xca_check "each code is new" differs "$CODE" "$CODE2"
xca_check "verifyCA refuses the replaced code" refused "does not match the live code" verifyCA \
    '"name":"company-x"' "\"certificate\":$(pem_json "$P/v-good.crt")"
verification "$CODE2" company-x v-good2
xca_check "verifyCA accepts the proof" ok verifyCA '"name":"company-x"' "\"certificate\":$(pem_json "$P/v-good2.crt")"
xca_check "verifyCA reply" grep -q '"data":{"name":"company-x","status":"verified"}' "$XCA_TMP/reply"
xca_check "a device under the CA connects at once" connects widget-1
xca_check "Redis: verified, code gone" hget x509ca:ca:company-x status verified
xca_check "Redis: code field deleted" hget x509ca:ca:company-x verificationCode ""
xca_check "the code is single-use" refused "already verified" verifyCA '"name":"company-x"' \
    "\"certificate\":$(pem_json "$P/v-good2.crt")"
xca_check "generateVerificationCode of a verified CA is refused" refused "already verified" \
    generateVerificationCode '"name":"company-x"'
xca_check "audit of verifyCA" xca_log_has b1 'audit admin=admin command=verifyCA target=ca:company-x verificationCode=\*\*\*\*\* result=ok'
xca_check_fails "no code appears in the log" xca_log_has b1 "$CODE2"

# --- Device commands ---------------------------------------------------------
xca_check "createDevice refuses a duplicate" refused "device already exists" createDevice '"deviceId":"widget-1"'
xca_check "createDevice refuses a bad id" refused "invalid identity id" createDevice '"deviceId":"a/b"'
xca_check "createDevice refuses a bad status" refused "invalid status" createDevice '"deviceId":"x","status":"on"'
xca_check "createDevice refuses a bad authentication" refused "invalid authentication" createDevice '"deviceId":"x","authentication":"psk"'
xca_check "createDevice refuses a bad thumbprint" refused "invalid thumbprint" createDevice '"deviceId":"x","primaryThumbprint":"xyz"'
xca_check "selfSigned needs a primary thumbprint" refused "requires a primaryThumbprint" createDevice '"deviceId":"x","authentication":"selfSigned"'
xca_check "a module needs its device" refused "device does not exist" createDevice '"deviceId":"ghost","moduleId":"m"'
xca_check "createDevice of a module" ok createDevice '"deviceId":"widget-1","moduleId":"sensor"'
xca_check "Redis holds the module" key_present 'x509ca:device:widget-1/sensor'
T=AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01
xca_check "createDevice selfSigned stores the thumbprint normalised" ok createDevice \
    '"deviceId":"ss-1","authentication":"selfSigned"' "\"primaryThumbprint\":\"$T\""
xca_check "normalised thumbprint in Redis" hget x509ca:device:ss-1 primaryThumbprint abcdef0123456789abcdef0123456789abcdef01
xca_check "getDevice" ok getDevice '"deviceId":"ss-1"'
xca_check "getDevice reply" grep -q '"deviceId":"ss-1","status":"enabled","authentication":"selfSigned","primaryThumbprint":"abcdef' "$XCA_TMP/reply"
xca_check "getDevice of a module" ok getDevice '"deviceId":"widget-1","moduleId":"sensor"'
xca_check "getDevice of an unknown device" refused "device not found" getDevice '"deviceId":"nope"'
xca_check "updateDevice changes only the given fields" ok updateDevice '"deviceId":"ss-1","status":"disabled"'
xca_check "updateDevice reply keeps the rest" grep -q '"status":"disabled","authentication":"selfSigned","primaryThumbprint":"abcdef' "$XCA_TMP/reply"
xca_check "updateDevice refuses removing the only thumbprint of a selfSigned device" \
    refused "requires a primaryThumbprint" updateDevice '"deviceId":"ss-1","primaryThumbprint":""'
xca_check "updateDevice of an unknown device" refused "device not found" updateDevice '"deviceId":"nope","status":"enabled"'

# listDevices paging: 30 more devices, pages of 7, every identity once.
for i in $(seq -w 1 30); do printf 'HSET x509ca:device:bulk-%s status enabled\n' "$i"; done | xca_rcli >/dev/null
# all_pages COUNT: follows the cursor; prints the ids; fails on an error.
all_pages() {
    local cursor=0 out pages=0
    : >"$XCA_TMP/ids"
    while :; do
        out=$(xca_admin_rr b1 "$(req listDevices "\"cursor\":\"$cursor\"" "\"count\":$1")") || return 1
        [[ $out != *'"error":'* ]] || { echo "$out"; return 1; }
        grep -o '"deviceId":"[^"]*"\(,"moduleId":"[^"]*"\)\?' <<<"$out" >>"$XCA_TMP/ids" || true
        cursor=$(grep -o '"cursor":"[0-9]*"' <<<"$out" | cut -d'"' -f4)
        pages=$((pages + 1))
        [[ $cursor != 0 && $pages -lt 100 ]] || break
    done
    echo "pages=$pages"
    [[ $cursor == 0 ]]
}
xca_check "listDevices pages through everything" all_pages 7
xca_check "every identity listed (36)" test "$(sort -u "$XCA_TMP/ids" | wc -l)" -eq 36
xca_check "the module is listed with its moduleId" grep -q '"deviceId":"widget-1","moduleId":"sensor"' "$XCA_TMP/ids"
xca_check "listDevices of one device's modules" raw_reply \
    '{"commands":[{"command":"listDevices","deviceId":"widget-1"}]}' \
    '"devices":\[\{"deviceId":"widget-1","moduleId":"sensor",[^]]*\],"cursor":"0"'
xca_check "listDevices refuses a bad cursor" refused "cursor" listDevices '"cursor":"x"'

# --- Who may use the admin topics --------------------------------------------
# An admin listens on the response topic while bob, a non-admin password user,
# sends a request and then an admin sends one: requests are handled in order
# (bob's publish is acknowledged only once it was handled), so if bob's got a
# reply it would be the first response the listener receives.
xca_log_mark b1
xca_bg replies timeout 10 mosquitto_sub -h 127.0.0.1 -p "$B1_ADMIN_PORT" -u admin -P adminpw \
    -i admin-listener -t '$CONTROL/x509ca/v1/response' -C 1 -W 8
xca_wait_for "an admin listens on the response topic" 5 \
    xca_log_has_since b1 'Sending SUBACK to admin-listener$'
xca_log_mark b1
timeout 10 mosquitto_pub -h 127.0.0.1 -p "$B1_ADMIN_PORT" -u bob -P bobpw -i bob-pub -q 1 \
    -t '$CONTROL/x509ca/v1' \
    -m '{"commands":[{"command":"createDevice","deviceId":"bob-dev","correlationData":"from-bob"}]}' || true
xca_check "a non-admin user's request is denied by the plugin's ACL" \
    xca_wait_log b1 "Denied PUBLISH from bob-pub [(]d0, q1, r0, m1, '\\\$CONTROL/x509ca/v1'"
xca_check "and has no effect" key_absent x509ca:device:bob-dev
xca_check "an admin's request after it is answered" ok listCAs '"correlationData":"from-admin"'
xca_bg_wait replies 10 || true
xca_check "the first response on the topic is the admin's: bob's request got none" \
    grep -q '"correlationData":"from-admin"' "$XCA_TMP/replies.out"
# denied_sub OUTFILE: the subscriber's output says that its SUBACK refused
# every subscription (the broker does not log a denied SUBSCRIBE).
denied_sub() { cat "$1"; grep -qx "All subscription requests were denied." "$1"; }
# bob_rr_denied: a non-admin user's mosquitto_rr cannot subscribe to the
# responses (Not authorized), so it never even sends its request.
bob_rr_denied() {
    timeout 10 mosquitto_rr -h 127.0.0.1 -p "$B1_ADMIN_PORT" -u bob -P bobpw -i bob-rr \
        -t '$CONTROL/x509ca/v1' -e '$CONTROL/x509ca/v1/response' -W 2 \
        -m '{"commands":[{"command":"listCAs"}]}' >"$XCA_TMP/bob-rr.out" 2>&1 || true
    cat "$XCA_TMP/bob-rr.out"
    grep -qx "Not authorized" "$XCA_TMP/bob-rr.out" && ! grep -q responses "$XCA_TMP/bob-rr.out"
}
xca_check "a non-admin user's mosquitto_rr is refused its response subscription" bob_rr_denied
# bob_sub_denied: a non-admin user's subscription to the responses is denied.
bob_sub_denied() {
    timeout 10 mosquitto_sub -h 127.0.0.1 -p "$B1_ADMIN_PORT" -u bob -P bobpw -i bob-sub -V 5 \
        -t '$CONTROL/x509ca/v1/response' -W 2 >"$XCA_TMP/bob-sub.out" 2>&1 || true
    denied_sub "$XCA_TMP/bob-sub.out"
}
xca_check "a non-admin user cannot subscribe to the responses" bob_sub_denied
xca_log_mark b1
xca_pub_tls b1 widget-1 widget-1 '$CONTROL/x509ca/v1' \
    '{"commands":[{"command":"createDevice","deviceId":"dev-evil"}]}' >/dev/null 2>&1 || true
xca_check "a certificate-authenticated device's admin request is denied" \
    xca_wait_log b1 "Denied PUBLISH from widget-1 [(]d0, q1, r0, m1, '\\\$CONTROL/x509ca/v1'"
xca_check "and has no effect" key_absent x509ca:device:dev-evil
# dev_sub_denied: a device's subscription to the responses is denied.
dev_sub_denied() {
    xca_sub_tls b1 widget-1 widget-1 '$CONTROL/x509ca/v1/response' -V mqttv5 -W 2 \
        >"$XCA_TMP/dev-sub.out" 2>&1 || true
    denied_sub "$XCA_TMP/dev-sub.out"
}
xca_check "a device cannot subscribe to the responses" dev_sub_denied

# --- Changes drop live sessions within 1 second ------------------------------
live s3 widget-3
xca_wait_for "widget-3 holds a live session" 5 subscribed widget-3
xca_log_mark b1
xca_check "disable widget-3" ok updateDevice '"deviceId":"widget-3","status":"disabled"'
xca_check "widget-3's live session is dropped within 1 s: identity is disabled" \
    dropped_within s3 1000 widget-3 "identity is disabled"
xca_check_refused "widget-3 cannot reconnect: identity is disabled" b1 \
    "$(refusal widget-3 "identity is disabled")" connects widget-3
xca_check "enable widget-3" ok updateDevice '"deviceId":"widget-3","status":"enabled"'
xca_check "widget-3 connects again at once" connects widget-3

live s4 widget-4
xca_wait_for "widget-4 holds a live session" 5 subscribed widget-4
xca_log_mark b1
xca_check "delete widget-4" ok deleteDevice '"deviceId":"widget-4"'
xca_check "deleteDevice reply" grep -q '"data":{"modulesDeleted":0}' "$XCA_TMP/reply"
xca_check "widget-4's live session is dropped within 1 s: not found" \
    dropped_within s4 1000 widget-4 "not found"
xca_check_refused "widget-4 cannot reconnect: not found" b1 "$(refusal widget-4 "not found")" connects widget-4
xca_check "deleteDevice of an unknown device" refused "device not found" deleteDevice '"deviceId":"widget-4"'

live s2 widget-2
xca_wait_for "widget-2 holds a live session" 5 subscribed widget-2
xca_log_mark b1
xca_check "deleteCA company-x" ok deleteCA '"name":"company-x"'
xca_check "widget-2's live session is dropped within 1 s: no chain to a verified CA" \
    dropped_within s2 1000 widget-2 "$CHAIN"
xca_check "Redis: the CA is gone" key_absent x509ca:ca:company-x
xca_check_refused "a device under the deleted CA cannot connect: no chain to a verified CA" b1 \
    "$(refusal widget-1 "$CHAIN")" connects widget-1
xca_check "deleteCA of an unknown CA" refused "CA not found" deleteCA '"name":"company-x"'

# deleteDevice of a device deletes its modules.
xca_check "deleteDevice widget-1 (with a module)" ok deleteDevice '"deviceId":"widget-1"'
xca_check "one module deleted" grep -q '"modulesDeleted":1' "$XCA_TMP/reply"
xca_check "Redis: the module is gone" key_absent 'x509ca:device:widget-1/sensor'

xca_check "broker exits 0 on SIGTERM" xca_stop_broker b1
xca_done
