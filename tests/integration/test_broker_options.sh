#!/usr/bin/env bash
# Redis password and database options, and the refusal of
# per_listener_settings true (the plugin must be initialised once).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
xca_setup

xca_pki root root >/dev/null
xca_pki device dev-a --ca root >/dev/null
xca_server_cert
xca_start_redis
xca_rcli CONFIG SET requirepass 's3cret-pw' >/dev/null
export REDISCLI_AUTH='s3cret-pw'
db2() { redis-cli -p "$REDIS_PORT" -n 2 "$@" >/dev/null; }
# refusal CLIENTID REASON: the plugin's refusal line for a device whose
# certificate CN is its client id.
refusal() { echo "x509ca: refused client '$1' [(]CN '$1'[)]: $2"; }

db2 HSET x509ca:ca:root certificate "$(cat "$XCA_TMP/pki/root.crt")" status verified
db2 HSET x509ca:device:dev-a status enabled

xca_start_broker good 'plugin_opt_redis_password s3cret-pw' 'plugin_opt_redis_db 2'
xca_wait_for "with the right password the plugin reaches Redis" 5 \
    xca_log_has good "x509ca: connected to Redis"
xca_wait_for "a device registered in db 2 connects" 5 \
    xca_pub_tls good dev-a dev-a devices/dev-a/messages/events/ hello
xca_bg sub xca_sub_tls good dev-a dev-a 'devices/dev-a/messages/devicebound/#' -W 30
xca_wait_for "dev-a online" 5 xca_log_has good "Sending SUBACK to dev-a"
xca_wait_for "the plugin follows registry changes (db 2)" 5 \
    xca_log_has good "x509ca: following registry changes in Redis"
xca_log_mark good
db2 HSET x509ca:device:dev-a status disabled
xca_check "a change in db 2 drops the session (keyspace channel of db 2): identity is disabled" \
    xca_wait_log good "x509ca: disconnecting client 'dev-a': identity is disabled\$" 2
db2 HSET x509ca:device:dev-a status enabled

xca_start_broker bad 'plugin_opt_redis_password wrong-pw'
xca_wait_for "with a wrong password the failure is logged" 5 xca_log_has bad "x509ca: lost Redis at .*AUTH failed"
xca_check_refused "and devices are refused (fail closed): registry unavailable" bad \
    "$(refusal dev-a "registry unavailable\$")" xca_pub_tls bad dev-a dev-a devices/dev-a/messages/events/ hello
xca_check_fails "no log line holds the password" grep -rq 'wrong-pw\|s3cret-pw' \
    "$XCA_TMP/good/mosquitto.log" "$XCA_TMP/bad/mosquitto.log"
xca_check "good broker exits 0" xca_stop_broker good
xca_check "bad broker exits 0" xca_stop_broker bad

# A Redis whose CONFIG command is renamed away: the plugin cannot switch
# notifications on. Without them in redis.conf it warns once and reads Redis on
# every connect; with them set in the server's configuration it follows changes.
for mode in off on; do
    rport=$(xca_free_port)
    [[ $mode == off ]] && rport_off=$rport
    nke=""
    [[ $mode == on ]] && nke="KA"
    xca_bg "redis_$mode" redis-server --port "$rport" --bind 127.0.0.1 --save '' \
        --rename-command CONFIG "" --notify-keyspace-events "$nke" --dir "$XCA_TMP"
    xca_wait_for "redis without CONFIG ($mode) answers" 5 bash -c "redis-cli -p $rport ping | grep -q PONG"
    redis-cli -p "$rport" HSET x509ca:ca:root certificate "$(cat "$XCA_TMP/pki/root.crt")" status verified >/dev/null
    redis-cli -p "$rport" HSET x509ca:device:dev-a status enabled >/dev/null
    xca_start_broker "nocfg_$mode" "plugin_opt_redis_port $rport"
    xca_wait_for "no CONFIG, notifications $mode: a registered device connects" 5 \
        xca_pub_tls "nocfg_$mode" dev-a dev-a devices/dev-a/messages/events/ hello
    redis-cli -p "$rport" HSET x509ca:device:dev-a status disabled >/dev/null
    xca_check_refused "no CONFIG, notifications $mode: the disabled device is refused at once" "nocfg_$mode" \
        "$(refusal dev-a "identity is disabled")" \
        xca_pub_tls "nocfg_$mode" dev-a dev-a devices/dev-a/messages/events/ hello
done
# Without notifications the watcher never sees its canary, so it reconnects
# every few seconds, and each reconnect asks CONFIG GET again. Once its
# subscription was replaced twice, a repeated warning would have been logged.
# new_subscription OLD_ID: the watcher's subscription on the CONFIG-less
# Redis (a client id) is there and is not OLD_ID; prints its id.
new_subscription() {
    local id
    id=$(env -u REDISCLI_AUTH redis-cli -p "$rport_off" CLIENT LIST TYPE pubsub | sed -n 's/^id=\([0-9]*\) .*/\1/p')
    echo "subscription: ${id:-none}"
    [[ -n $id && $id != "$1" ]]
}
sub_id() { new_subscription "" | sed -n 's/^subscription: \([0-9]*\)$/\1/p'; }
xca_wait_for "the watcher without notifications is subscribed" 5 new_subscription ""
sub0=$(sub_id)
xca_wait_for "it reconnects by itself (a new subscription)" 10 new_subscription "$sub0"
sub1=$(sub_id)
xca_wait_for "and again" 10 new_subscription "$sub1"
xca_check "without notifications the CONFIG refusal is logged once" \
    test "$(grep -c 'CONFIG GET notify-keyspace-events refused' "$XCA_TMP/nocfg_off/mosquitto.log")" -eq 1
xca_check_fails "and changes are never claimed to be followed" \
    xca_log_has nocfg_off "following registry changes"
xca_check "with notify-keyspace-events in the server's configuration changes are followed" \
    xca_log_has nocfg_on "following registry changes"
xca_check "nocfg_off exits 0" xca_stop_broker nocfg_off
xca_check "nocfg_on exits 0" xca_stop_broker nocfg_on

# per_listener_settings true with the plugin on two listeners.
p1=$(xca_free_port)
p2=$(xca_free_port)
mkdir -p "$XCA_TMP/pls"
cat >"$XCA_TMP/pls/mosquitto.conf" <<CONF
per_listener_settings true
user root
log_dest file $XCA_TMP/pls/mosquitto.log
listener $p1 127.0.0.1
plugin $XCA_PLUGIN
plugin_opt_redis_port $REDIS_PORT
plugin_opt_redis_password s3cret-pw
listener $p2 127.0.0.1
plugin $XCA_PLUGIN
plugin_opt_redis_port $REDIS_PORT
plugin_opt_redis_password s3cret-pw
CONF
XCA__LEAKS=0 xca_bg pls xca__broker "$XCA_TMP/pls"
# exited_nonzero LABEL: the background process LABEL ended with a failure.
exited_nonzero() {
    local rc=0
    xca_bg_wait "$1" 10 || rc=$?
    [[ $rc -ne 0 && $rc -ne 124 ]]
}
xca_check "per_listener_settings true: the broker does not start" exited_nonzero pls
xca_check "and the log says why" grep -q "x509ca: initialised twice: set per_listener_settings false" \
    "$XCA_TMP/pls/mosquitto.log"
xca_done
