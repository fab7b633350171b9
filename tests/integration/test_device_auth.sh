#!/usr/bin/env bash
# Device authentication on every TLS connect (README "How a device connects"): chains,
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
# refusal CLIENTID CN REASON: the plugin's refusal line for CLIENTID (as
# logged, sanitised) presenting a certificate with CN, refused for REASON
# (an extended regex).
refusal() { echo "x509ca: refused client '$1' [(]CN '$2'[)]: $3"; }
CHAIN="certificate chain does not lead to a verified CA"

for d in dev-a dev-b dev-c dev-exp dev-under-exp dev-under-notca dev-m dev-m/mod1 dev-rogue; do
    device "$d" status enabled
done
device dev-off status disabled
device dev-off/mod1 status enabled

# --- Chains ---------------------------------------------------------------
ca_verified root
xca_wait_for "3-level chain, only the root verified: accepted" 3 connects dev-a dev-a
xca_check "the acceptance is logged" xca_log_has b1 "x509ca: accepted client 'dev-a'"
xca_check_refused "leaf sent without its intermediates: refused, no chain to a verified CA" b1 \
    "$(refusal dev-a dev-a "$CHAIN [(]unable to get local issuer certificate[)]")" connects dev-a-leaf dev-a
xca_check_refused "expired leaf: refused, certificate has expired" b1 \
    "$(refusal dev-exp dev-exp "$CHAIN [(]certificate has expired[)]")" connects dev-exp dev-exp
xca_check_refused "expired intermediate: refused, certificate has expired" b1 \
    "$(refusal dev-under-exp dev-under-exp "$CHAIN [(]certificate has expired[)]")" \
    connects dev-under-exp dev-under-exp
xca_check_refused "intermediate without CA:TRUE: refused, invalid CA certificate" b1 \
    "$(refusal dev-under-notca dev-under-notca "$CHAIN [(]invalid CA certificate[)]")" \
    connects dev-under-notca dev-under-notca
xca_check_refused "chain to an unregistered root: refused, no chain to a verified CA" b1 \
    "$(refusal dev-rogue dev-rogue "$CHAIN [(]unable to get local issuer certificate[)]")" \
    connects dev-a-rogue dev-rogue

ca_delete root
ca_verified int2
xca_wait_for "only the intermediate verified: accepted" 3 connects dev-a dev-a
xca_check "leaf alone is enough under a verified intermediate" connects dev-a-leaf dev-a

# The root is written unverified *before* int2 goes: changes are applied in
# order, so once int2's removal refuses dev-a, the unverified root is known
# to the broker too and is what keeps refusing it.
ca_unverified root
ca_delete int2
xca_wait_for "CA registered but unverified: refused, no chain to a verified CA" 3 \
    xca_refused b1 "$(refusal dev-a dev-a "$CHAIN")" connects dev-a dev-a

ca_verified root
xca_wait_for "CA verified while the broker runs: accepted" 3 connects dev-a dev-a
ca_delete root
xca_wait_for "CA removed from Redis while the broker runs: refused, no chain to a verified CA" 3 \
    xca_refused b1 "$(refusal dev-a dev-a "$CHAIN")" connects dev-a dev-a
ca_verified root
xca_wait_for "CA verified again: accepted" 3 connects dev-a dev-a

# --- Identity rules ------------------------------------------------------
xca_check_refused "CN differs from the client id: refused, CN mismatch" b1 \
    "$(refusal dev-b dev-a "certificate CN does not match the client id")" connects dev-a dev-b
xca_check_refused "device unknown to the registry: refused, not found" b1 \
    "$(refusal dev-unknown dev-unknown "not found")" connects dev-unknown dev-unknown
xca_rcli DEL x509ca:device:dev-b >/dev/null
xca_wait_for "device deleted from the registry: refused, not found" 3 \
    xca_refused b1 "$(refusal dev-b dev-b "not found")" connects dev-b dev-b
device dev-b status enabled
xca_check_refused "device disabled: refused, identity is disabled" b1 \
    "$(refusal dev-off dev-off "identity is disabled")" connects dev-off dev-off
xca_check_refused "client id outside the allowed character set: refused, invalid identity id" b1 \
    "$(refusal "dev a" dev-a "invalid identity id")" connects dev-a "dev a"
xca_check "module identity deviceId/moduleId: accepted" connects dev-m--mod1 dev-m/mod1
xca_check_refused "module whose device is disabled: refused, parent device disabled" b1 \
    "$(refusal dev-off/mod1 dev-off/mod1 "parent device is disabled or missing")" \
    connects dev-off--mod1 dev-off/mod1
xca_check_refused "module certificate used as its device: refused, CN mismatch" b1 \
    "$(refusal dev-m dev-m/mod1 "certificate CN does not match the client id")" connects dev-m--mod1 dev-m
xca_check "IoT-Hub username naming the client id: accepted" \
    connects dev-a dev-a -u "hub.example.net/dev-a/?api-version=2021-04-12"
xca_check_refused "IoT-Hub username naming another device: refused, username names another identity" b1 \
    "$(refusal dev-a dev-a "username does not name this identity")" \
    connects dev-a dev-a -u "hub.example.net/dev-b/?api-version=2021-04-12"
xca_check "username equal to the client id: accepted" connects dev-a dev-a -u dev-a
xca_start_broker hub 'plugin_opt_hub_hostname Hub.Example.Net'
hub_connects() { xca_pub_tls hub dev-a dev-a devices/dev-a/messages/events/ hello -u "$1"; }
xca_check "hub_hostname set: username naming that host (any case): accepted" \
    hub_connects "hub.example.net/dev-a/?api-version=2021-04-12"
xca_check_refused "hub_hostname set: username naming another host: refused, another hub hostname" hub \
    "$(refusal dev-a dev-a "username names another hub hostname")" \
    hub_connects "other.example.net/dev-a/?api-version=2021-04-12"
xca_check "hub broker exits 0" xca_stop_broker hub
# refused_v5 CERTBASE CLIENTID: an MQTT 5 connect fails with "not authorized".
refused_v5() {
    ! connects "$@" -V mqttv5 >"$XCA_TMP/v5.out" 2>&1 && grep -q "Connection error: Not authorized" "$XCA_TMP/v5.out"
}
xca_log_mark b1
xca_check "MQTT 5 client refused with CONNACK not authorized" refused_v5 dev-off dev-off
xca_check "MQTT 5 refusal logged with its reason" \
    xca_wait_log b1 "$(refusal dev-off dev-off "identity is disabled")"
xca_check "MQTT 5 client accepted" connects dev-a dev-a -V mqttv5

# --- selfSigned thumbprints ---------------------------------------------
device ss1 authentication selfSigned primaryThumbprint "$SS1_SHA1"
xca_wait_for "selfSigned, SHA-1 primary thumbprint: accepted" 3 connects ss1 ss1
device ss1 primaryThumbprint "$OTHER_SHA256" secondaryThumbprint "${SS1_SHA256^^}"
xca_wait_for "selfSigned, upper-case SHA-256 secondary thumbprint: accepted" 3 connects ss1 ss1
device ss1 secondaryThumbprint "$(sed 's/../&:/g; s/:$//' <<<"$SS1_SHA256")"
xca_wait_for "selfSigned, colon-separated thumbprint: accepted" 3 connects ss1 ss1
device ss1 secondaryThumbprint "$OTHER_SHA256"
xca_wait_for "selfSigned, wrong thumbprints: refused, thumbprint does not match" 3 \
    xca_refused b1 "$(refusal ss1 ss1 "certificate thumbprint does not match the registry")" connects ss1 ss1
xca_check_refused "selfSigned certificate for a CA-authenticated identity: refused, no chain to a verified CA" b1 \
    "$(refusal dev-a ss1 "$CHAIN [(]self-signed certificate[)]")" \
    connects ss1 dev-a --cert "$XCA_TMP/pki/ss1.crt" --key "$XCA_TMP/pki/ss1.key"

# --- Topic confinement ---------------------------------------------------
# Each client id is used by one connection at a time (a second connect with
# the same id would take the session over).
xca_log_mark b1
xca_bg mine xca_sub_tls b1 dev-b dev-b 'devices/dev-b/messages/devicebound/#' -W 8
xca_bg spy xca_sub_tls b1 dev-c dev-c 'devices/+/messages/events/#' -W 8
xca_bg spy2 xca_sub_tls b1 dev-m--mod1 dev-m/mod1 'devices/dev-a/#' -W 8
xca_bg backend timeout 10 mosquitto_sub -h 127.0.0.1 -p "$B1_ADMIN_PORT" -u admin -P adminpw \
    -i backend -t 'devices/#' -v -W 8
# subscribed ID...: the broker answered the SUBSCRIBE of each ID since the mark.
subscribed() {
    local id
    for id in "$@"; do xca_wait_log b1 "Sending SUBACK to $id\$" || return 1; done
}
xca_check "the four subscribers got their SUBACK" subscribed dev-b dev-c dev-m/mod1 backend
xca_check "device publishes its own telemetry" \
    xca_pub_tls b1 dev-a dev-a devices/dev-a/messages/events/prop=1 own-telemetry
xca_log_mark b1
xca_pub_tls b1 dev-a dev-a devices/dev-c/messages/events/ forged-telemetry >/dev/null 2>&1 || true
xca_pub_tls b1 dev-a dev-a devices/dev-a/messages/devicebound/x forged-c2d >/dev/null 2>&1 || true
xca_pub_tls b1 dev-a dev-a '$CONTROL/x509ca/v1' '{"commands":[{"command":"listCAs"}]}' >/dev/null 2>&1 || true
# denied TOPIC: the broker logged that it denied dev-a's publish to TOPIC.
denied() { xca_wait_log b1 "Denied PUBLISH from dev-a [(]d0, q1, r0, m1, '$1'"; }
xca_check "telemetry forged into another device's topic: publish denied" denied 'devices/dev-c/messages/events/'
xca_check "a cloud-to-device message forged by the device: publish denied" denied 'devices/dev-a/messages/devicebound/x'
xca_check "a device publishing to \$CONTROL: publish denied" denied '\$CONTROL/x509ca/v1'
xca_check "backend sends a cloud-to-device message" timeout 10 mosquitto_pub -h 127.0.0.1 \
    -p "$B1_ADMIN_PORT" -u admin -P adminpw -q 1 -t devices/dev-b/messages/devicebound/cmd -m c2d
xca_bg_wait mine 10 || true
xca_bg_wait spy 10 || true
xca_bg_wait spy2 10 || true
xca_bg_wait backend 10 || true
xca_check "device receives its cloud-to-device message" grep -qx c2d "$XCA_TMP/mine.out"
xca_check_fails "wildcard subscription reaching other devices receives nothing" grep -q telemetry "$XCA_TMP/spy.out"
xca_check "that subscription was denied (SUBACK failure)" \
    grep -qx "All subscription requests were denied." "$XCA_TMP/spy.out"
xca_check_fails "a module cannot subscribe to its device's topics" grep -q telemetry "$XCA_TMP/spy2.out"
xca_check "that subscription was denied (SUBACK failure)" \
    grep -qx "All subscription requests were denied." "$XCA_TMP/spy2.out"
xca_check "backend saw the device's own telemetry" grep -q "devices/dev-a/messages/events/prop=1 own-telemetry" "$XCA_TMP/backend.out"
xca_check_fails "telemetry forged into another device's topic was dropped" grep -q forged-telemetry "$XCA_TMP/backend.out"
xca_check_fails "device cannot publish cloud-to-device messages" grep -q forged-c2d "$XCA_TMP/backend.out"

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
# Run by the probe between its two connects: disable dev-b and wait until b1
# refuses a plain connect of dev-b for that reason (the change has reached
# the broker), then mark b1's log so that the probe's own refusal is told
# apart from those of the wait.
xca_script "$XCA_TMP/disable_b.sh" xca_change_seen b1 dev-b dev-b \
    "$(refusal dev-b dev-b "identity is disabled")" \
    xca_rcli HSET x509ca:device:dev-b status disabled
# probe_refused ARGS...: the probe's first connect is accepted; its second
# (resumption offered, after disable_b.sh) gets a full handshake and CONNACK
# 5, and b1 logged that refusal with its reason after disable_b.sh's mark.
probe_refused() {
    probe_expect "first_connack=0 first_reused=0 second_connack=5 second_reused=0" "$@" \
        --between "bash $XCA_TMP/disable_b.sh" &&
        xca_wait_log b1 "$(refusal dev-b dev-b "identity is disabled")"
}
for version in tls13 tls12; do
    device dev-b status enabled
    xca_wait_for "$version: dev-b enabled again: accepted" 3 connects dev-b dev-b
    extra=()
    [[ $version == tls12 ]] && extra=(--tls12)
    xca_check "$version: reconnect after disabling, resumption offered: full handshake, refused (disabled)" \
        probe_refused "${extra[@]}"
done

xca_check "broker exits 0 on SIGTERM" xca_stop_broker b1
xca_done
