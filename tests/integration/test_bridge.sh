#!/usr/bin/env bash
# The plugin hooks only TLS *server* contexts: a bridge from a broker that
# runs the plugin keeps OpenSSL's normal checks of the remote server's
# certificate (a wrong CA is refused, the right one accepted).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
xca_setup

xca_server_cert
xca_pki root other-ca >/dev/null
xca_start_redis

# The remote: stock Mosquitto with a TLS listener for anonymous clients.
remote_port=$(xca_free_port)
XCA_NO_PLUGIN=1 xca_start_broker remote "allow_anonymous true" <<CONF
listener $remote_port 127.0.0.1
certfile $XCA_TMP/pki/server.crt
keyfile $XCA_TMP/pki/server.key
CONF
xca_wait_for "remote broker listens" 5 xca_port_listening "$remote_port"

bridge_lines() { # NAME CAFILE
    printf '%s\n' "connection $1" "address 127.0.0.1:$remote_port" "bridge_cafile $2" \
        "topic bridged/# out 0" "restart_timeout 1" "try_private false"
}
bridge_lines good "$XCA_TMP/pki/server-ca.crt" | xca_start_broker good
xca_wait_for "bridge trusting the remote's CA connects" 10 \
    grep -q "New client connected from .* as [^ ]*good" "$XCA_TMP/remote/mosquitto.log"
# From here on, a refused handshake at the remote can only be the bad bridge's.
xca_log_mark remote
mkdir -p "$XCA_TMP/bad"
xca_log_mark bad
# Stock Mosquitto 2.0.11 frees a bridge context twice at shutdown after a
# failed TLS bridge connect (it sometimes aborts, also with no plugin
# loaded): in the sanitizer pass this broker's reports are kept apart
# (bad/stock-bridge-bug.*), not counted as failures.
bridge_lines bad "$XCA_TMP/pki/other-ca.crt" | XCA__MEMCHECK_NAME=stock-bridge-bug xca_start_broker bad

xca_check "bridge trusting another CA fails the server check: certificate verify failed" \
    xca_wait_log bad "(OpenSSL Error|Client connection from .* failed).*certificate verify failed" 10
xca_check "the remote saw the bridge abort its handshake: unknown ca" \
    xca_wait_log remote "(OpenSSL Error|Client connection from .* failed).*tlsv1 alert unknown ca" 10
xca_check_fails "and never connects" \
    grep -q "New client connected from .* as [^ ]*bad" "$XCA_TMP/remote/mosquitto.log"
xca_check "plugin broker with a bridge exits 0" xca_stop_broker good
xca_check "the broker with the failing bridge keeps running" \
    kill -0 "$(cat "$XCA_TMP/.pids/broker-bad")"
# Not asserted: stock Mosquitto 2.0.11 itself sometimes aborts (SIGABRT) at
# shutdown after a failed TLS bridge connect - seen here with no plugin loaded.
xca_stop_broker bad || echo "# broker 'bad' exit status $? on SIGTERM (see comment)"
xca_done
