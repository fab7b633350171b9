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
# refusal CLIENTID REASON: the plugin's refusal line for a device whose
# certificate CN is its client id.
refusal() { echo "x509ca: refused client '$1' [(]CN '$1'[)]: $2"; }
CHAIN="certificate chain does not lead to a verified CA"
for d in dev-a dev-b dev-c dev-w; do device "$d" status enabled; done
ca root
xca_wait_for "the CA is trusted: dev-b connects" 3 connects dev-b

# --- The decision uses the CA set of the CONNECT, not of the handshake ----------
PROBE=$XCA_BUILD_DIR/tests/integration/xca_resume_probe
probe_first_connack() {
    "$PROBE" 127.0.0.1 "$B1_TLS_PORT" "$XCA_TMP/pki/server-ca.crt" "$XCA_TMP/pki/dev-a.chain.pem" \
        "$XCA_TMP/pki/dev-a.key" dev-a "$@" | sed -n 's/^first_connack=\([-0-9]*\) .*/\1/p'
}
# The pause is what the control tests: a CONNECT sent well after the
# handshake is accepted when nothing changed.
xca_check "control: handshake, pause, CONNECT is accepted" \
    test "$(probe_first_connack --before-connect 'sleep 0.5')" = 0
# Run by the probe after its handshake: delete the CA and wait until b1
# refuses another device of that CA for it (the change has reached the
# broker), then mark b1's log for the probe's own refusal.
xca_script "$XCA_TMP/delete_ca.sh" xca_change_seen b1 dev-b dev-b "$(refusal dev-b "$CHAIN")" \
    xca_rcli DEL x509ca:ca:root
# refused_after_handshake: the probe's CONNECT after delete_ca.sh gets
# CONNACK 5 and b1 logged why, after delete_ca.sh's mark.
refused_after_handshake() {
    local connack
    connack=$(probe_first_connack --before-connect "bash $XCA_TMP/delete_ca.sh")
    echo "first_connack=$connack"
    [[ $connack == 5 ]] && xca_wait_log b1 "$(refusal dev-a "$CHAIN")"
}
xca_check "CA deleted between handshake and CONNECT: refused, no chain to a verified CA" \
    refused_after_handshake
ca root

# --- Changes while notifications are off --------------------------------------
xca_wait_for "dev-b connects (and is cached)" 3 connects dev-b
xca_log_mark b1
xca_rcli CONFIG SET notify-keyspace-events "" >/dev/null
device dev-b status disabled # no notification is sent for this change
xca_wait_for "the broker notices that changes are no longer followed" 6 \
    xca_log_has_since b1 "x509ca: lost the Redis change feed"
xca_wait_for "the change made meanwhile is applied: dev-b refused, identity is disabled" 8 \
    xca_refused b1 "$(refusal dev-b "identity is disabled")" connects dev-b
xca_wait_for "notifications are switched on again by the plugin" 8 \
    bash -c "redis-cli -p $REDIS_PORT CONFIG GET notify-keyspace-events | grep -q K"
device dev-b status enabled
xca_wait_for "and followed again: dev-b re-enabled connects" 8 connects dev-b

# --- CA keys the admin API could not see or delete are not trusted ---------
xca_rcli DEL x509ca:ca:root >/dev/null
xca_rcli HSET 'x509ca:ca:root ca' certificate "$(cat "$XCA_TMP/pki/root.crt")" status verified >/dev/null
xca_rcli HSET 'x509ca:ca:a,b' certificate "$(cat "$XCA_TMP/pki/root.crt")" status verified >/dev/null
xca_check "plugin restarted with such keys present" xca_stop_broker b1
xca_log_mark b1
xca_start_broker b1 "acl_file $XCA_TMP/acl"
xca_wait_for "the restarted plugin follows registry changes" 5 \
    xca_log_has_since b1 "x509ca: following registry changes in Redis"
xca_check "no CA is trusted under those names" \
    xca_log_has_since b1 "x509ca: 0 verified CA[(]s[)] trusted"
xca_check_refused "a CA under an invalid name does not admit devices: no chain to a verified CA" b1 \
    "$(refusal dev-c "$CHAIN")" connects dev-c
xca_rcli DEL 'x509ca:ca:root ca' 'x509ca:ca:a,b' >/dev/null
ca root
xca_wait_for "the CA under its valid name does" 3 connects dev-c

# --- Hostile registry values ------------------------------------------------------
args=()
for i in $(seq 20); do args+=("tag$i" "v$i"); done
xca_rcli DEL x509ca:device:dev-c >/dev/null
device dev-c "${args[@]}"
device dev-c status disabled
xca_wait_for "status written after 20 other fields is honoured: refused, identity is disabled" 3 \
    xca_refused b1 "$(refusal dev-c "identity is disabled")" connects dev-c
# From an enabled device, so that only the NUL status can refuse it.
device dev-c status enabled
xca_wait_for "dev-c enabled again: accepted" 3 connects dev-c
printf 'enabled\0no' | redis-cli -p "$REDIS_PORT" -x HSET x509ca:device:dev-c status >/dev/null
xca_check "the stored status really holds a NUL byte" \
    bash -c "redis-cli -p $REDIS_PORT HSTRLEN x509ca:device:dev-c status | grep -qx 10"
xca_wait_for "a status with a NUL byte fails closed: refused, identity is disabled" 3 \
    xca_refused b1 "$(refusal dev-c "identity is disabled")" connects dev-c

# --- A will is confined like every other publish ---------------------------------
xca_log_mark b1
xca_bg watcher timeout 20 mosquitto_sub -h 127.0.0.1 -p "$B1_ADMIN_PORT" -u admin -P adminpw \
    -i will-watcher -t 'public/#' -t 'devices/#' -v -W 15
xca_wait_for "the watcher is subscribed" 5 xca_log_has_since b1 'Sending SUBACK to will-watcher$'
xca_log_mark b1
xca_bg willer xca_sub_tls b1 dev-w dev-w 'devices/dev-w/messages/devicebound/#' -W 30 \
    --will-topic public/escape --will-payload escaped
xca_bg willer2 xca_sub_tls b1 dev-a dev-a 'devices/dev-a/messages/devicebound/#' -W 30 \
    --will-topic devices/dev-a/messages/events/ --will-payload own-will
# both_online: since the mark, the broker acknowledged both subscriptions.
both_online() { xca_log_has_since b1 'Sending SUBACK to dev-w$' && xca_log_has_since b1 'Sending SUBACK to dev-a$'; }
xca_wait_for "both will senders are online" 5 both_online
xca_log_mark b1
xca_pub_tls b1 dev-b dev-b public/escape plain >/dev/null 2>&1 || true
xca_check "a plain publish outside the device's topics is denied" \
    xca_wait_log b1 "Denied PUBLISH from dev-b [(]d0, q1, r0, m1, 'public/escape'"
# The broker drops a denied will without a log line, so the proof is the
# order: dev-w's connection is seen gone before dev-a's client is killed,
# and dev-a's own will reaches the watcher; dev-w's would have come first.
xca_log_mark b1
xca_check "the first device's client is killed" xca_bg_crash willer
xca_wait_for "the broker saw dev-w's connection end" 5 \
    xca_log_has_since b1 "Client dev-w (closed its connection|disconnected)"
xca_check "the second device's client is killed" xca_bg_crash willer2
xca_wait_for "a will to its own telemetry topic is delivered" 5 grep -q own-will "$XCA_TMP/watcher.out"
xca_check_fails "a will outside the device's topics is dropped" grep -q escaped "$XCA_TMP/watcher.out"
xca_check_fails "the plain publish was not delivered either" grep -q plain "$XCA_TMP/watcher.out"

# --- Client-chosen text is sanitised in log lines ------------------------------
xca_check_refused "a non-ASCII client id is refused and logged with '?' for each byte" b1 \
    "refused client 'dev-\?\?' \(CN 'dev-a'\): invalid identity id" connects dev-a -i $'dev-\u00e9'

xca_check "broker exits 0" xca_stop_broker b1
xca_done
