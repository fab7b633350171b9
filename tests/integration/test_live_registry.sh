#!/usr/bin/env bash
# The live registry across three brokers sharing one Redis (issue 5): the
# cache, changes made with redis-cli reaching every broker and dropping the
# sessions they affect within 1 s, a Redis outage (bounded staleness, fail
# closed, reconnect by itself) and durability of the registry (AOF).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
xca_setup

xca_pki root root >/dev/null
xca_pki intermediate int1 --ca root >/dev/null
for d in dev-a dev-b dev-c dev-d dev-e dev-new dev-x; do xca_pki device "$d" --ca int1 >/dev/null; done
xca_pki module dev-a mod1 --ca int1 >/dev/null
xca_pki root root2 >/dev/null
xca_pki device dev-r2 --ca root2 >/dev/null
xca_pki selfsigned ss1 >/dev/null
xca_pki selfsigned ss-other >/dev/null
xca_server_cert
SS1=$(sed -n 's/^sha256=//p' "$XCA_TMP/pki/ss1.thumbprints")
OTHER=$(sed -n 's/^sha256=//p' "$XCA_TMP/pki/ss-other.thumbprints")

export XCA_REDIS_AOF=1 # the registry must survive a Redis restart
xca_start_redis
xca_rcli CONFIG SET notify-keyspace-events "" >/dev/null # the plugin must turn them on
xca_start_broker b1
xca_start_broker b2
xca_start_broker b3 'plugin_opt_stale_max 3' 'plugin_opt_redis_timeout_ms 50'

ca() { xca_rcli HSET "x509ca:ca:$1" certificate "$(cat "$XCA_TMP/pki/$1.crt")" status "${2:-verified}" >/dev/null; }
device() { xca_rcli HSET "x509ca:device:$1" "${@:2}" >/dev/null; }
connects() { xca_pub_tls "$1" "$2" "$3" "devices/${3%%/*}/${4:-messages/events/}" hello; }
refused() { ! "$@"; }
# online LABEL BROKER CERTBASE CLIENTID: keep a subscriber connected.
online() {
    local topic="devices/$4/messages/devicebound/#"
    [[ $4 == */* ]] && topic="devices/${4%%/*}/modules/${4#*/}/#"
    xca_bg "$1" xca_sub_tls "$2" "$3" "$4" "$topic" -W 60 -C 100
    xca_wait_for "$4 is online on $2" 5 xca_log_has "$2" "x509ca: accepted client '$4'"
}
# dropped LABEL BROKER CLIENTID: the broker kicked the client and the
# client's connection ended, within 1 s.
dropped() {
    xca_wait_for "$3 dropped by $2 within 1 s" 1 xca_log_has "$2" "x509ca: disconnecting client '$3'"
    xca_check "$3's client saw its connection end" ended "$1" 3
}
# ended LABEL TIMEOUT_S: the background client LABEL exited (any status).
ended() {
    local rc=0
    xca_bg_wait "$1" "$2" || rc=$?
    [[ $rc -ne 124 ]]
}
hgetall_calls() { xca_rcli INFO commandstats | sed -n 's/^cmdstat_hgetall:calls=\([0-9]*\),.*/\1/p'; }

ca root
ca root2
for d in dev-a dev-b dev-c dev-d dev-e dev-x dev-r2 dev-a/mod1; do device "$d" status enabled; done
device ss1 authentication selfSigned primaryThumbprint "$SS1"
xca_check "keyspace notifications were turned on by the plugin" \
    bash -c "redis-cli -p $REDIS_PORT CONFIG GET notify-keyspace-events | grep -q K"
sleep 0.3

# --- Cache ----------------------------------------------------------------
xca_check "first connect of dev-a on b1" connects b1 dev-a dev-a
before=$(hgetall_calls)
xca_check "reconnect of dev-a on b1" connects b1 dev-a dev-a
after=$(hgetall_calls)
xca_check "the reconnect of a known device cost no Redis lookup ($before -> $after)" test "$before" = "$after"
device dev-a status enabled note changed
sleep 0.3
xca_check "after a change of its entry dev-a still connects" connects b1 dev-a dev-a
xca_check "and the changed entry was read again" test "$(hgetall_calls)" -gt "$after"

# --- redis-cli edits reach every broker and drop affected sessions ---------
online s1 b2 dev-a dev-a
device dev-a status disabled
dropped s1 b2 dev-a
xca_check_fails "disabled dev-a refused on b3" connects b3 dev-a dev-a
xca_check_fails "disabled dev-a refused on b1 (its cache was invalidated)" connects b1 dev-a dev-a
xca_rcli HDEL x509ca:device:dev-a status >/dev/null
xca_wait_for "status field removed (absent = enabled): dev-a connects on b1" 2 connects b1 dev-a dev-a

online s2 b3 dev-b dev-b
xca_rcli DEL x509ca:device:dev-b >/dev/null
dropped s2 b3 dev-b

online s3 b1 dev-c dev-c
xca_rcli EXPIRE x509ca:device:dev-c 1 >/dev/null
xca_wait_for "dev-c dropped by b1 after its key expired" 3 xca_log_has b1 "x509ca: disconnecting client 'dev-c'"

online s4 b2 dev-a--mod1 dev-a/mod1
device dev-a status disabled
dropped s4 b2 dev-a/mod1
device dev-a status enabled

online s5 b3 ss1 ss1
device ss1 primaryThumbprint "$OTHER"
dropped s5 b3 ss1
device ss1 primaryThumbprint "$SS1"

online s6 b1 dev-d dev-d
online s7 b2 dev-r2 dev-r2
xca_rcli DEL x509ca:ca:root >/dev/null
dropped s6 b1 dev-d
xca_check_fails "a device under another CA stays connected" ended s7 1
xca_check_fails "dev-d refused on b3 once its CA is deleted" connects b3 dev-d dev-d
ca root2 unverified
dropped s7 b2 dev-r2
ca root
ca root2
xca_wait_for "CA registered again: dev-d connects on b3" 2 connects b3 dev-d dev-d

# --- Redis outage ------------------------------------------------------------
xca_check "dev-e connects on b3 (now cached there)" connects b3 dev-e dev-e
xca_check "dev-e connects on b1 (now cached there)" connects b1 dev-e dev-e
xca_stop_redis
xca_wait_for "b3 logs that it lost the change feed" 3 xca_log_has b3 "x509ca: lost the Redis change feed"
xca_check "during the outage a cached device still connects on b3" connects b3 dev-e dev-e
xca_check "b3 logs that it lost Redis" xca_log_has b3 "x509ca: lost Redis at"
xca_check_fails "during the outage an identity never seen is refused" connects b3 dev-x dev-x
xca_check "the refusal says the registry is unavailable" \
    xca_log_has b3 "refused client 'dev-x'.*registry unavailable"
start=$(date +%s%N)
connects b1 dev-x dev-x >/dev/null 2>&1 || true
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
echo "# refused connect during the outage took ${elapsed_ms} ms (client included)"
xca_check "a connect during the outage does not hang (${elapsed_ms} ms)" test "$elapsed_ms" -lt 3000
sleep 3.5
xca_check_fails "after stale_max (3 s) the cached device is refused on b3" connects b3 dev-e dev-e
xca_check "the refusal says the cached entry is too old" \
    xca_log_has b3 "refused client 'dev-e'.*too old"
xca_check "b1 (stale_max 300 s) still admits the cached device" connects b1 dev-e dev-e
xca_check "the loss was logged once, not at every reconnect attempt" \
    test "$(grep -c 'x509ca: lost Redis at' "$BROKER_LOG_B3")" -eq 1

# Devices keep connecting while Redis comes back.
xca_bg storm bash -c "for i in \$(seq 40); do mosquitto_pub -h 127.0.0.1 -p $B2_TLS_PORT \
    --cafile $XCA_TMP/pki/server-ca.crt --cert $XCA_TMP/pki/dev-e.chain.pem --key $XCA_TMP/pki/dev-e.key \
    -i dev-e -t devices/dev-e/messages/events/ -m storm -q 1 && echo ok || echo refused; sleep 0.1; done"
sleep 1
xca_restart_redis
xca_bg_wait storm 30 || true
xca_check "connects during the restart ended with successes" grep -q ok "$XCA_TMP/storm.out"
for b in b1 b2 b3; do
    xca_wait_for "$b reconnected to Redis by itself" 5 xca_log_has "$b" "x509ca: following registry changes in Redis"
done
xca_check "registry survived the Redis restart (AOF)" \
    bash -c "redis-cli -p $REDIS_PORT HGET x509ca:device:dev-e status | grep -qx enabled"
xca_check "notifications were turned on again after the restart" \
    bash -c "redis-cli -p $REDIS_PORT CONFIG GET notify-keyspace-events | grep -q K"
xca_wait_for "after the outage dev-e connects on b3 again" 5 connects b3 dev-e dev-e
online s8 b1 dev-x dev-x
device dev-x status disabled
dropped s8 b1 dev-x

# --- Durability across a broker restart ---------------------------------------
xca_check "b2 stops cleanly" xca_stop_broker b2
xca_check "b2 starts again" xca_start_broker b2
xca_wait_for "after the broker restart the CA is trusted and dev-d connects" 5 connects b2 dev-d dev-d

for b in b1 b2 b3; do
    xca_check "$b exits 0 on SIGTERM" xca_stop_broker "$b"
done
xca_done
