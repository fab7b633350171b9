#!/usr/bin/env bash
# A client without a certificate is never judged by a device's session, and
# a closed session confines only the will of that exact closed connection:
# password users taking a device's client id (after it left, by taking over
# the live device, or inheriting its persistent session), wills of devices
# that were kicked or disabled meanwhile (also delayed ones), and the will
# of a device taken over by its own reconnect.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
xca_setup

xca_pki root root >/dev/null
for d in dev-t dev-w dev-d dev-e dev-k dev-r; do xca_pki device "$d" --ca root >/dev/null; done
xca_server_cert
xca_start_redis
mkdir -p "$XCA_TMP/b1"
mosquitto_passwd -b -c "$XCA_TMP/b1/passwd" admin adminpw >/dev/null
mosquitto_passwd -b "$XCA_TMP/b1/passwd" eve evepw >/dev/null
printf 'user admin\ntopic readwrite #\n\nuser eve\ntopic readwrite eve/#\n' >"$XCA_TMP/acl"
xca_start_broker b1 "acl_file $XCA_TMP/acl"
for d in dev-t dev-w dev-d dev-e dev-k dev-r; do
    xca_rcli HSET "x509ca:device:$d" status enabled >/dev/null
done
xca_rcli HSET x509ca:ca:root certificate "$(cat "$XCA_TMP/pki/root.crt")" status verified >/dev/null
xca_wait_for "dev-t connects under the verified root" 3 xca_pub_tls b1 dev-t dev-t devices/dev-t/messages/events/ hello

# --- A password user with a device's client id ----------------------------------
xca_check "36 rounds (after, takeover, inherit): eve never reads or writes dev-t's topics" \
    /usr/bin/python3 "$XCA_SOURCE_DIR/tests/integration/clients/takeover.py" \
    --tls-port "$B1_TLS_PORT" --admin-port "$B1_ADMIN_PORT" \
    --cafile "$XCA_TMP/pki/server-ca.crt" --cert "$XCA_TMP/pki/dev-t.chain.pem" \
    --key "$XCA_TMP/pki/dev-t.key" --device dev-t --rounds 36
xca_check "the broker is still running" xca__is_child "$(xca__pid broker-b1)"

# --- Wills --------------------------------------------------------------------
xca_bg watcher mosquitto_sub -h 127.0.0.1 -p "$B1_ADMIN_PORT" -u admin -P adminpw \
    -t 'devices/#' -t 'public/#' -v -W 60
# willer LABEL DEVICE [ARGS...]: DEVICE online with a will to its own
# telemetry topic (payload "will-LABEL"), MQTT 5, waiting in the background.
willer() {
    local label=$1 dev=$2
    shift 2
    xca_log_mark b1
    xca_bg "$label" xca_sub_tls b1 "$dev" "$dev" "devices/$dev/messages/devicebound/#" -W 60 \
        -V mqttv5 --will-topic "devices/$dev/messages/events/" --will-payload "will-$label" "$@"
    xca_wait_log b1 "Sending SUBACK to $dev" 5 >/dev/null
}
delivered() { grep -q "will-$1" "$XCA_TMP/watcher.out"; }

willer w1 dev-w
xca_check "a device's will: online" true
xca_check "its client is killed" xca_bg_crash w1
xca_wait_for "the will to its own topic is delivered" 5 delivered w1

willer w2 dev-d -x 60 -D will will-delay-interval 2
xca_check "a device with a delayed will (2 s) is killed" xca_bg_crash w2
xca_rcli HSET x509ca:device:dev-d status disabled >/dev/null
xca_log_mark b1
xca_check "the device is disabled before its will is due: the will is refused, reason logged" \
    xca_wait_log b1 "x509ca: refused the will of client 'dev-d': identity is disabled" 6
xca_check_fails "and it was not delivered" delivered w2

willer w3 dev-e -x 60 -D will will-delay-interval 2
xca_check "an enabled device with a delayed will is killed" xca_bg_crash w3
xca_wait_for "its will is delivered once due" 6 delivered w3

willer w4 dev-k
xca_log_mark b1
xca_rcli HSET x509ca:device:dev-k status disabled >/dev/null
xca_check "a device disabled while online is dropped, reason logged" \
    xca_wait_log b1 "x509ca: disconnecting client 'dev-k': identity is disabled" 3
sleep 0.5 # a will is published at once or never: give it time to show up
xca_check_fails "the will of a device the plugin dropped is not delivered" delivered w4

willer w5 dev-r --will-topic public/escape
xca_log_mark b1
xca_check "a device reconnecting takes over its own live session" \
    xca_pub_tls b1 dev-r dev-r devices/dev-r/messages/events/ hello
sleep 0.5 # the old connection's will is published at the takeover or never
xca_check_fails "the old connection's will outside its topics is not delivered" \
    grep -q "public/escape will-w5" "$XCA_TMP/watcher.out"

willer w6 dev-r
xca_check "the device takes over its own live session again" \
    xca_pub_tls b1 dev-r dev-r devices/dev-r/messages/events/ hello
xca_wait_for "the old connection's will to its own topic is delivered at the takeover" 5 \
    delivered w6

xca_check "broker exits 0" xca_stop_broker b1
xca_done
