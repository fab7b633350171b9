#!/usr/bin/env bash
# Refusals found in review: a CA removed between the TLS handshake and the
# CONNECT, registry changes while keyspace notifications are switched off,
# CA keys with names the admin API cannot manage, hostile registry values,
# wills published in a closed session's name, and client text in log lines.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
xca_setup

xca_pki root root >/dev/null
for d in dev-a dev-b dev-c dev-w; do xca_pki device "$d" --ca root >/dev/null; done
xca_server_cert
xca_start_redis
printf 'pattern write public/#\nuser admin\ntopic read #\n' >"$XCA_TMP/acl"
xca_start_broker b1 "acl_file $XCA_TMP/acl"

ca() { xca_rcli HSET "x509ca:ca:$1" certificate "$(cat "$XCA_TMP/pki/root.crt")" status verified >/dev/null; }
device() { xca_rcli HSET "x509ca:device:$1" "${@:2}" >/dev/null; }
connects() { xca_pub_tls b1 "$1" "$1" "devices/$1/messages/events/" hello "${@:2}"; }
refused() { ! "$@"; }
for d in dev-a dev-b dev-c dev-w; do device "$d" status enabled; done
ca root
sleep 0.3

# --- The decision uses the CA set of the CONNECT, not of the handshake ----------
PROBE=$XCA_BUILD_DIR/tests/integration/xca_resume_probe
probe_first_connack() {
    "$PROBE" 127.0.0.1 "$B1_TLS_PORT" "$XCA_TMP/pki/server-ca.crt" "$XCA_TMP/pki/dev-a.chain.pem" \
        "$XCA_TMP/pki/dev-a.key" dev-a "$@" | sed -n 's/^first_connack=\([-0-9]*\) .*/\1/p'
}
xca_check "control: handshake, pause, CONNECT is accepted" \
    test "$(probe_first_connack --before-connect 'sleep 0.5')" = 0
xca_check "CA deleted between handshake and CONNECT: refused" \
    test "$(probe_first_connack --before-connect "redis-cli -p $REDIS_PORT DEL x509ca:ca:root >/dev/null; sleep 0.5")" = 5
ca root
sleep 0.3

# --- Changes while notifications are off --------------------------------------
xca_check "dev-b connects (and is cached)" connects dev-b
xca_rcli CONFIG SET notify-keyspace-events "" >/dev/null
device dev-b status disabled # no notification is sent for this change
xca_wait_for "the broker notices that changes are no longer followed" 6 \
    xca_log_has b1 "x509ca: lost the Redis change feed"
xca_wait_for "the change made meanwhile is applied: dev-b refused" 8 refused connects dev-b
xca_wait_for "notifications are switched on again by the plugin" 8 \
    bash -c "redis-cli -p $REDIS_PORT CONFIG GET notify-keyspace-events | grep -q K"
device dev-b status enabled
xca_wait_for "and followed again: dev-b re-enabled connects" 8 connects dev-b

# --- CA keys the admin API could not see or delete are not trusted ---------
xca_rcli DEL x509ca:ca:root >/dev/null
xca_rcli HSET 'x509ca:ca:root ca' certificate "$(cat "$XCA_TMP/pki/root.crt")" status verified >/dev/null
xca_rcli HSET 'x509ca:ca:a,b' certificate "$(cat "$XCA_TMP/pki/root.crt")" status verified >/dev/null
xca_check "plugin restarted with such keys present" xca_stop_broker b1
xca_start_broker b1 "acl_file $XCA_TMP/acl"
sleep 0.5
xca_check_fails "a CA under an invalid name does not admit devices" connects dev-c
xca_rcli DEL 'x509ca:ca:root ca' 'x509ca:ca:a,b' >/dev/null
ca root
xca_wait_for "the CA under its valid name does" 3 connects dev-c

# --- Hostile registry values ------------------------------------------------------
args=()
for i in $(seq 20); do args+=("tag$i" "v$i"); done
xca_rcli DEL x509ca:device:dev-c >/dev/null
device dev-c "${args[@]}"
device dev-c status disabled
xca_wait_for "status written after 20 other fields is honoured: refused" 3 refused connects dev-c
printf 'enabled\0no' | redis-cli -p "$REDIS_PORT" -x HSET x509ca:device:dev-c status >/dev/null
xca_check "the stored status really holds a NUL byte" \
    bash -c "redis-cli -p $REDIS_PORT HSTRLEN x509ca:device:dev-c status | grep -qx 10"
xca_wait_for "a status with a NUL byte fails closed: refused" 3 refused connects dev-c

# --- A will is confined like every other publish ---------------------------------
xca_bg watcher timeout 20 mosquitto_sub -h 127.0.0.1 -p "$B1_ADMIN_PORT" -u admin -P adminpw \
    -t 'public/#' -t 'devices/#' -v -W 15
sleep 0.5
xca_bg willer xca_sub_tls b1 dev-w dev-w 'devices/dev-w/messages/devicebound/#' -W 30 \
    --will-topic public/escape --will-payload escaped
xca_bg willer2 xca_sub_tls b1 dev-a dev-a 'devices/dev-a/messages/devicebound/#' -W 30 \
    --will-topic devices/dev-a/messages/events/ --will-payload own-will
xca_wait_for "both will senders are online" 5 bash -c \
    "grep -c 'Sending SUBACK to dev-[wa]' '$BROKER_LOG_B1' | grep -qx 2"
xca_pub_tls b1 dev-b dev-b public/escape plain >/dev/null 2>&1 || true
# crash LABEL: SIGKILL the mosquitto_sub that the background job LABEL runs
# (bash -> timeout -> mosquitto_sub), so the broker sees a broken connection.
crash() {
    local pid depth
    pid=$(cat "$XCA_TMP/.pids/bg-$1")
    for ((depth = 0; depth < 4; depth++)); do
        [[ -n $pid ]] || return 1
        if [[ $(ps -o comm= -p "$pid") == mosquitto_sub ]]; then
            kill -9 "$pid"
            return 0
        fi
        pid=$(pgrep -P "$pid" | head -1)
    done
    return 1
}
xca_check "the first device's client is killed" crash willer
xca_check "the second device's client is killed" crash willer2
xca_wait_for "a will to its own telemetry topic is delivered" 5 grep -q own-will "$XCA_TMP/watcher.out"
xca_check_fails "a will outside the device's topics is dropped" grep -q escaped "$XCA_TMP/watcher.out"
xca_check_fails "the plain publish was not delivered either" grep -q plain "$XCA_TMP/watcher.out"

# --- Client-chosen text is sanitised in log lines ------------------------------
connects dev-a -i $'dev-\u00e9' >/dev/null 2>&1 || true
xca_check "a non-ASCII client id is logged with '?' for each byte" \
    xca_log_has b1 "refused client 'dev-\?\?' \(CN 'dev-a'\): invalid identity id"

xca_check "broker exits 0" xca_stop_broker b1
xca_done
