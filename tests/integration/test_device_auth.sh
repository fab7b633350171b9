#!/usr/bin/env bash
# Device authentication on every TLS connect (INTERFACE §4, §5): chains,
# CN = client id, registry status, modules, selfSigned thumbprints,
# IoT-Hub usernames, topic confinement and no TLS session resumption.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
xca_setup

# --- PKI ------------------------------------------------------------------
xca_pki root root >/dev/null
xca_pki intermediate int1 --ca root >/dev/null
xca_pki intermediate int2 --ca int1 >/dev/null
for d in dev-a dev-b dev-c dev-off dev-unknown; do xca_pki device "$d" --ca int2 >/dev/null; done
xca_pki device dev-exp --ca int2 --expired >/dev/null
xca_pki intermediate int-exp --ca root --expired >/dev/null
xca_pki device dev-under-exp --ca int-exp >/dev/null
xca_pki intermediate int-notca --ca root --not-ca >/dev/null
xca_pki device dev-under-notca --ca int-notca >/dev/null
xca_pki module dev-m mod1 --ca int2 >/dev/null
xca_pki module dev-off mod1 --ca int2 >/dev/null
xca_pki root rogue >/dev/null
xca_pki device dev-rogue --ca rogue --out dev-a-rogue >/dev/null
xca_pki selfsigned ss1 >/dev/null
xca_pki selfsigned ss-other >/dev/null
xca_server_cert
# The leaf alone, without the intermediates it needs.
cp "$XCA_TMP/pki/dev-a.crt" "$XCA_TMP/pki/dev-a-leaf.crt"
cp "$XCA_TMP/pki/dev-a.key" "$XCA_TMP/pki/dev-a-leaf.key"
SS1_SHA1=$(sed -n 's/^sha1=//p' "$XCA_TMP/pki/ss1.thumbprints")
SS1_SHA256=$(sed -n 's/^sha256=//p' "$XCA_TMP/pki/ss1.thumbprints")
OTHER_SHA256=$(sed -n 's/^sha256=//p' "$XCA_TMP/pki/ss-other.thumbprints")

# --- Servers --------------------------------------------------------------
xca_start_redis
printf 'user admin\ntopic readwrite devices/#\n' >"$XCA_TMP/acl"
xca_start_broker b1 "acl_file $XCA_TMP/acl"

ca_verified() { xca_rcli HSET "x509ca:ca:$1" certificate "$(cat "$XCA_TMP/pki/$1.crt")" status verified >/dev/null; }
ca_unverified() { xca_rcli HSET "x509ca:ca:$1" certificate "$(cat "$XCA_TMP/pki/$1.crt")" status unverified >/dev/null; }
ca_delete() { xca_rcli DEL "x509ca:ca:$1" >/dev/null; }
device() { xca_rcli HSET "x509ca:device:$1" "${@:2}" >/dev/null; }
# connects CERTBASE CLIENTID [ARGS...]: publish one telemetry message.
connects() {
    local topic="devices/${2%%/*}/messages/events/"
    [[ $2 == */* ]] && topic="devices/${2%%/*}/modules/${2#*/}/messages/events/"
    xca_pub_tls b1 "$1" "$2" "$topic" hello "${@:3}"
}
# refused_because CLIENTID REGEX: the broker logged the refusal and reason.
refused() { ! "$@"; }
refused_because() { xca_log_has b1 "x509ca: refused client '$1'.*$2"; }

for d in dev-a dev-b dev-c dev-exp dev-under-exp dev-under-notca dev-m dev-m/mod1 dev-rogue; do
    device "$d" status enabled
done
device dev-off status disabled
device dev-off/mod1 status enabled

# --- Chains ---------------------------------------------------------------
ca_verified root
sleep 0.3
xca_check "3-level chain, only the root verified: accepted" connects dev-a dev-a
xca_check "the acceptance is logged" xca_log_has b1 "x509ca: accepted client 'dev-a'"
xca_check_fails "leaf sent without its intermediates: refused" connects dev-a-leaf dev-a
xca_check_fails "expired leaf: refused" connects dev-exp dev-exp
xca_check "expired leaf: reason logged" refused_because dev-exp "expired"
xca_check_fails "expired intermediate: refused" connects dev-under-exp dev-under-exp
xca_check_fails "intermediate without CA:TRUE: refused" connects dev-under-notca dev-under-notca
xca_check "CA:FALSE intermediate: reason logged" refused_because dev-under-notca "invalid CA certificate"
xca_check_fails "chain to an unregistered root: refused" connects dev-a-rogue dev-rogue

ca_delete root
ca_verified int2
xca_wait_for "only the intermediate verified: accepted" 3 connects dev-a dev-a
xca_check "leaf alone is enough under a verified intermediate" connects dev-a-leaf dev-a

ca_delete int2
ca_unverified root
sleep 0.3
xca_check_fails "CA registered but unverified: refused" connects dev-a dev-a
xca_check "unverified CA: reason logged" refused_because dev-a "chain does not lead to a verified CA"

ca_verified root
xca_wait_for "CA verified while the broker runs: accepted" 3 connects dev-a dev-a
ca_delete root
xca_wait_for "CA removed from Redis while the broker runs: refused" 3 refused connects dev-a dev-a
ca_verified root
sleep 0.3

# --- Identity rules ------------------------------------------------------
xca_check_fails "CN differs from the client id: refused" connects dev-a dev-b
xca_check "CN mismatch: reason logged" refused_because dev-b "CN does not match"
xca_check_fails "device unknown to the registry: refused" connects dev-unknown dev-unknown
xca_rcli DEL x509ca:device:dev-b >/dev/null
xca_check_fails "device deleted from the registry: refused" connects dev-b dev-b
xca_check "unknown device: reason logged" refused_because dev-b "not found"
device dev-b status enabled
xca_check_fails "device disabled: refused" connects dev-off dev-off
xca_check "disabled device: reason logged" refused_because dev-off "disabled"
xca_check_fails "client id outside the allowed character set: refused" connects dev-a "dev a"
xca_check "module identity deviceId/moduleId: accepted" connects dev-m--mod1 dev-m/mod1
xca_check_fails "module whose device is disabled: refused" connects dev-off--mod1 dev-off/mod1
xca_check "module of a disabled device: reason logged" refused_because dev-off/mod1 "parent device"
xca_check_fails "module certificate used as its device: refused" connects dev-m--mod1 dev-m
xca_check "IoT-Hub username naming the client id: accepted" \
    connects dev-a dev-a -u "hub.example.net/dev-a/?api-version=2021-04-12"
xca_check_fails "IoT-Hub username naming another device: refused" \
    connects dev-a dev-a -u "hub.example.net/dev-b/?api-version=2021-04-12"
xca_check "username equal to the client id: accepted" connects dev-a dev-a -u dev-a
xca_start_broker hub 'plugin_opt_hub_hostname Hub.Example.Net'
hub_connects() { xca_pub_tls hub dev-a dev-a devices/dev-a/messages/events/ hello -u "$1"; }
xca_check "hub_hostname set: username naming that host (any case): accepted" \
    hub_connects "hub.example.net/dev-a/?api-version=2021-04-12"
xca_check_fails "hub_hostname set: username naming another host: refused" \
    hub_connects "other.example.net/dev-a/?api-version=2021-04-12"
xca_check "hub_hostname refusal logged" xca_log_has hub "refused client 'dev-a'.*another hub hostname"
xca_check "hub broker exits 0" xca_stop_broker hub
# refused_v5 CERTBASE CLIENTID: an MQTT 5 connect fails with "not authorized".
refused_v5() {
    ! connects "$@" -V mqttv5 >"$XCA_TMP/v5.out" 2>&1 && grep -qi "not authori" "$XCA_TMP/v5.out"
}
xca_check "MQTT 5 client refused with CONNACK not authorized" refused_v5 dev-off dev-off
xca_check "MQTT 5 client accepted" connects dev-a dev-a -V mqttv5

# --- selfSigned thumbprints ---------------------------------------------
device ss1 authentication selfSigned primaryThumbprint "$SS1_SHA1"
xca_wait_for "selfSigned, SHA-1 primary thumbprint: accepted" 3 connects ss1 ss1
device ss1 primaryThumbprint "$OTHER_SHA256" secondaryThumbprint "${SS1_SHA256^^}"
xca_wait_for "selfSigned, upper-case SHA-256 secondary thumbprint: accepted" 3 connects ss1 ss1
device ss1 secondaryThumbprint "$(sed 's/../&:/g; s/:$//' <<<"$SS1_SHA256")"
xca_wait_for "selfSigned, colon-separated thumbprint: accepted" 3 connects ss1 ss1
device ss1 secondaryThumbprint "$OTHER_SHA256"
xca_wait_for "selfSigned, wrong thumbprints: refused" 3 refused connects ss1 ss1
xca_check "wrong thumbprint: reason logged" refused_because ss1 "thumbprint"
xca_check_fails "selfSigned certificate for a CA-authenticated identity: refused" connects ss1 dev-a --cert "$XCA_TMP/pki/ss1.crt" --key "$XCA_TMP/pki/ss1.key"

# --- Topic confinement ---------------------------------------------------
# Each client id is used by one connection at a time (a second connect with
# the same id would take the session over).
xca_bg mine xca_sub_tls b1 dev-b dev-b 'devices/dev-b/messages/devicebound/#' -W 8
xca_bg spy xca_sub_tls b1 dev-c dev-c 'devices/+/messages/events/#' -W 8
xca_bg spy2 xca_sub_tls b1 dev-m--mod1 dev-m/mod1 'devices/dev-a/#' -W 8
xca_bg backend timeout 10 mosquitto_sub -h 127.0.0.1 -p "$B1_ADMIN_PORT" -u admin -P adminpw \
    -t 'devices/#' -v -W 8
sleep 1
xca_check "device publishes its own telemetry" \
    xca_pub_tls b1 dev-a dev-a devices/dev-a/messages/events/prop=1 own-telemetry
xca_pub_tls b1 dev-a dev-a devices/dev-c/messages/events/ forged-telemetry >/dev/null 2>&1 || true
xca_pub_tls b1 dev-a dev-a devices/dev-a/messages/devicebound/x forged-c2d >/dev/null 2>&1 || true
xca_pub_tls b1 dev-a dev-a '$CONTROL/x509ca/v1' '{"commands":[{"command":"listCAs"}]}' >/dev/null 2>&1 || true
xca_check "backend sends a cloud-to-device message" timeout 10 mosquitto_pub -h 127.0.0.1 \
    -p "$B1_ADMIN_PORT" -u admin -P adminpw -q 1 -t devices/dev-b/messages/devicebound/cmd -m c2d
xca_bg_wait mine 10 || true
xca_bg_wait spy 10 || true
xca_bg_wait spy2 10 || true
xca_bg_wait backend 10 || true
xca_check "device receives its cloud-to-device message" grep -qx c2d "$XCA_TMP/mine.out"
xca_check_fails "wildcard subscription reaching other devices receives nothing" grep -q telemetry "$XCA_TMP/spy.out"
xca_check "that subscription was denied" grep -q "denied" "$XCA_TMP/spy.out"
xca_check_fails "a module cannot subscribe to its device's topics" grep -q telemetry "$XCA_TMP/spy2.out"
xca_check "backend saw the device's own telemetry" grep -q "devices/dev-a/messages/events/prop=1 own-telemetry" "$XCA_TMP/backend.out"
xca_check_fails "telemetry forged into another device's topic was dropped" grep -q forged-telemetry "$XCA_TMP/backend.out"
xca_check_fails "device cannot publish cloud-to-device messages" grep -q forged-c2d "$XCA_TMP/backend.out"
xca_check "a device publishing to \$CONTROL got no admin reply" \
    xca_log_has b1 "Denied PUBLISH from dev-a .*CONTROL"

# --- Every connect is verified: no TLS session resumption -----------------
PROBE=$XCA_BUILD_DIR/tests/integration/xca_resume_probe
probe() {
    "$PROBE" 127.0.0.1 "$B1_TLS_PORT" "$XCA_TMP/pki/server-ca.crt" "$XCA_TMP/pki/dev-b.chain.pem" \
        "$XCA_TMP/pki/dev-b.key" dev-b "$@"
}
# probe_expect LINE ARGS...: the probe's report is exactly LINE.
probe_expect() {
    local want=$1
    shift
    probe "$@" | tee /dev/stderr | grep -qx "$want"
}
disable_b="redis-cli -p $REDIS_PORT HSET x509ca:device:dev-b status disabled >/dev/null; sleep 0.3"
enable_b() { device dev-b status enabled; sleep 0.3; }
for version in tls13 tls12; do
    enable_b
    extra=()
    [[ $version == tls12 ]] && extra=(--tls12)
    xca_check "$version: reconnect after disabling, resumption offered: full handshake, refused" \
        probe_expect "first_connack=0 first_reused=0 second_connack=5 second_reused=0" \
        "${extra[@]}" --between "$disable_b"
done
enable_b

xca_check "broker exits 0 on SIGTERM" xca_stop_broker b1
xca_done
