#!/usr/bin/env bash
# The plugin loads into Mosquitto 2.0.11, reaches Redis, leaves the device
# listener requiring a client certificate, refuses to start on an invalid or
# unknown option, and lets the broker exit 0 on SIGTERM.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
xca_setup

# shellcheck disable=SC2317 # called through xca_check
# True when the device gets a CONNACK (whatever its code): the TLS handshake
# with its certificate was accepted.
connack_with_cert() {
    local out
    out=$(xca_pub_tls "$1" "$2" "$2" "devices/$2/messages/events/" hello -d 2>&1) || true
    echo "$out"
    grep -q 'received CONNACK' <<<"$out"
}

xca_start_redis
xca_server_cert
# A self-signed device registered by thumbprint with redis-cli (README "The
# registry in Redis"), so that a connection with its certificate can succeed.
thumb=$(xca_pki selfsigned dev-ss1 | sed -n 's/^sha256=//p')
xca_rcli HSET x509ca:device:dev-ss1 authentication selfSigned \
    primaryThumbprint "$thumb" status enabled >/dev/null

xca_check "broker starts with the plugin" xca_start_broker b1
xca_wait_for "plugin logs that it connected to Redis" 5 \
    xca_log_has b1 "x509ca: connected to Redis at 127\.0\.0\.1:$REDIS_PORT\b"

xca_check "TLS connect with a client certificate gets past the handshake (CONNACK)" \
    connack_with_cert b1 dev-ss1
xca_check_refused "TLS connect without a client certificate is refused: peer did not return a certificate" \
    b1 '(OpenSSL Error|Client connection from .* failed).*peer did not return a certificate' \
    xca_pub_tls b1 - dev-ss1 devices/dev-ss1/messages/events/ hello -d

xca_check "broker with plugin_opt_redis_port abc fails to start" \
    xca_start_broker_expect_fail bad_port 'plugin_opt_redis_port abc'
xca_check "its log names the invalid option" \
    xca_log_has bad_port '^[^ ]+: x509ca: .*redis_port'
xca_check "broker with an unknown plugin option fails to start" \
    xca_start_broker_expect_fail bad_opt 'plugin_opt_no_such_option 1'
xca_check "its log names the unknown option" \
    xca_log_has bad_opt '^[^ ]+: x509ca: .*no_such_option'

xca_check "broker exits with status 0 on SIGTERM" xca_stop_broker b1
xca_done
