#!/usr/bin/env bash
# A broker stopped while certificate clients are connected: it exits with
# status 0 and, in the sanitizer pass (XCA_BROKER_CHECK=asan) and under
# valgrind, leaks nothing. Regression: the plugin used to stop OpenSSL
# calling its free function for the handshake record hung on each client's
# leaf before dropping its sessions' references to those leaves, so every
# session open at shutdown leaked its record (found by integration-faults,
# which stops a broker under load). Devices and modules, a session that
# closed before the stop (its will is still remembered), and a client in
# the middle of nothing at all (TLS done, no CONNECT yet).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
xca_setup

xca_pki root root >/dev/null
for d in dev-a dev-b dev-gone; do xca_pki device "$d" --ca root >/dev/null; done
xca_pki module dev-a mod-1 --ca root >/dev/null
xca_server_cert
xca_start_redis
"$XCA_BUILD_DIR/tests/bench/xca_pkigen" ca-resp --cert "$XCA_TMP/pki/root.crt" --name root |
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" --pipe >/dev/null
for id in dev-a dev-b dev-gone dev-a/mod-1; do
    xca_rcli HSET "x509ca:device:$id" status enabled >/dev/null
done
xca_start_broker b1

# online LABEL CERTBASE CLIENTID TOPIC: a subscriber that stays connected.
online() {
    xca_log_mark b1
    XCA_SUB_TIMEOUT=120 xca_bg "$1" xca_sub_tls b1 "$2" "$3" "$4" -W 120 -C 100
    xca_wait_for "$3 is connected" 10 xca_log_has_since b1 "Sending SUBACK to $3\$"
}
online sub-a dev-a dev-a 'devices/dev-a/messages/devicebound/#'
online sub-b dev-b dev-b 'devices/dev-b/messages/devicebound/#'
online sub-m dev-a--mod-1 dev-a/mod-1 'devices/dev-a/modules/mod-1/#'
xca_check "a session that closed before the stop" \
    xca_pub_tls b1 dev-gone dev-gone devices/dev-gone/messages/events/ bye
# TLS only: the handshake record exists, no CONNECT ever comes.
xca_bg tls-only timeout 60 openssl s_client -quiet -connect "127.0.0.1:$B1_TLS_PORT" \
    -cert "$XCA_TMP/pki/dev-b.crt" -key "$XCA_TMP/pki/dev-b.key" \
    -CAfile "$XCA_TMP/pki/server-ca.crt"
xca_wait_for "the TLS-only client completed its handshake" 10 \
    grep -q 'verify return:1' "$XCA_TMP/tls-only.out"
xca_check "x509ca counts the three open sessions" \
    bash -c "mosquitto_rr -h 127.0.0.1 -p $B1_ADMIN_PORT -u $XCA_ADMIN_USER -P $XCA_ADMIN_PASSWORD \
        -t '\$CONTROL/x509ca/v1' -e '\$CONTROL/x509ca/v1/response' -W 5 \
        -m '{\"commands\":[{\"command\":\"getStats\"}]}' | grep -q '\"sessions\":3'"
xca_check "the broker stops with sessions open, exit status 0" xca_stop_broker b1
xca_done
