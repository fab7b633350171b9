#!/usr/bin/env bash
# Redis Sentinel (issue 14 item 2), with real processes: a primary, a
# replica and three Sentinels (quorum 2, down after 1 s), two brokers that
# find the primary only through the Sentinels (their redis_port points at
# nothing). Devices connect continuously while the primary is killed
# (SIGKILL): nothing unauthorized is admitted at any moment, both brokers
# follow the new primary by themselves, turn keyspace notifications on
# there, and a disable written to the NEW primary drops a live session on
# both within 1 s. The time from the kill until a device is accepted again
# is measured (README, "Redis Sentinel"); an idle broker, whose registry
# connection still points at the dead primary when its feed comes back,
# admits devices at once. Also: a Sentinel's answer is checked with ROLE, a
# primary demoted under a live connection (READONLY) is left, an unknown
# master name, and an invalid option.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
xca_setup
if ! command -v redis-sentinel >/dev/null 2>&1; then
    echo "# redis-sentinel not found: run scripts/install-deps" >&2
    exit 1
fi

xca_pki root root >/dev/null
for d in dev-ok dev-off dev-ghost dev-live; do xca_pki device "$d" --ca root >/dev/null; done
xca_server_cert

rcli() { redis-cli --raw -h 127.0.0.1 -p "$1" "${@:2}"; }
connects() { xca_pub_tls "$1" "$2" "$2" "devices/$2/messages/events/" hello; }
refusal() { echo "x509ca: refused client '$1' [(]CN '$1'[)]: $2"; }
# ended LABEL TIMEOUT_S: the background client LABEL exited (any status).
ended() {
    local rc=0
    xca_bg_wait "$1" "$2" || rc=$?
    [[ $rc -ne 124 ]]
}
# online LABEL BROKER CLIENTID: keep a subscriber of CLIENTID connected.
online() {
    xca_log_mark "$2"
    XCA_SUB_TIMEOUT=300 xca_bg "$1" xca_sub_tls "$2" "$3" "$3" "devices/$3/messages/devicebound/#" -W 300 -C 100
    xca_wait_for "$3 is online on $2" 5 xca_log_has_since "$2" "Sending SUBACK to $3\$"
}

# --- Primary, replica, three Sentinels ----------------------------------------
xca_start_redis primary
xca_start_redis replica
PRIMARY=$REDIS_PORT_PRIMARY
REPLICA=$REDIS_PORT_REPLICA
rcli "$REPLICA" REPLICAOF 127.0.0.1 "$PRIMARY" >/dev/null
# Off on both: the plugin must turn them on, on whichever node is primary.
for p in "$PRIMARY" "$REPLICA"; do rcli "$p" CONFIG SET notify-keyspace-events "" >/dev/null; done
xca_wait_for "the replica follows the primary" 10 \
    bash -c "redis-cli -p $REPLICA INFO replication | grep -q '^master_link_status:up'"

SENTINELS=""
SENTINEL_PORTS=()
# start_sentinel NAME: a Sentinel on a free port monitoring the primary as
# 'mymaster' (quorum 2, down after 1 s); config (which Sentinel rewrites),
# dir and log (named redis.log, so a failed test prints it) in $XCA_TMP/NAME.
start_sentinel() {
    local dir=$XCA_TMP/$1 port n
    mkdir -p "$dir"
    port=$(xca_free_port)
    cat >"$dir/sentinel.conf" <<CONF
port $port
bind 127.0.0.1
daemonize no
dir $dir
logfile $dir/redis.log
sentinel monitor mymaster 127.0.0.1 $PRIMARY 2
sentinel down-after-milliseconds mymaster 1000
sentinel failover-timeout mymaster 5000
sentinel parallel-syncs mymaster 1
CONF
    xca_bg "$1" redis-sentinel "$dir/sentinel.conf"
    for ((n = 0; n < 100; n++)); do
        [[ $(rcli "$port" PING 2>/dev/null) == PONG ]] && break
        sleep 0.1
    done
    SENTINELS+="${SENTINELS:+,}127.0.0.1:$port"
    SENTINEL_PORTS+=("$port")
}
for s in sentinel1 sentinel2 sentinel3; do start_sentinel "$s"; done
# knows_all PORT: that Sentinel sees the replica and the two other Sentinels.
knows_all() {
    local info
    info=$(rcli "$1" SENTINEL master mymaster | paste - -)
    grep -qx $'num-slaves\t1' <<<"$info" && grep -qx $'num-other-sentinels\t2' <<<"$info"
}
for p in "${SENTINEL_PORTS[@]}"; do
    xca_wait_for "Sentinel $p knows the replica and the other two Sentinels" 30 knows_all "$p"
done

# --- Option validation ---------------------------------------------------------
xca_check "an invalid plugin_opt_redis_sentinels stops the broker" \
    xca_start_broker_expect_fail badopt 'plugin_opt_redis_sentinels 127.0.0.1'
xca_check "... with a log line naming the option, the value and the rule" xca_log_has badopt \
    "x509ca: plugin_opt_redis_sentinels: '127\.0\.0\.1' is not a comma-separated list of 1-16 host:port"

# --- Two brokers that know only the Sentinels ----------------------------------
DEAD=$(xca_free_port) # nothing listens here: redis_host:redis_port is not used
BROKER_OPTS=("plugin_opt_redis_sentinels $SENTINELS" "plugin_opt_redis_port $DEAD")
# b1 admits nothing from its cache while changes are not followed
# (stale_max 0): the time until it accepts again is the failover's cost.
xca_start_broker b1 "${BROKER_OPTS[@]}" 'plugin_opt_stale_max 0'
xca_start_broker b2 "${BROKER_OPTS[@]}"
# b5 stays idle during the failover: no connect makes it notice the loss
# before its change feed does.
xca_start_broker b5 "${BROKER_OPTS[@]}"
for b in b1 b2 b5; do
    xca_wait_for "$b found the primary through the Sentinels" 5 xca_log_has "$b" \
        "x509ca: connected to Redis at 127\.0\.0\.1:$PRIMARY [(]primary of 'mymaster' per Sentinel[)]"
    xca_wait_for "$b follows registry changes" 5 xca_log_has "$b" "x509ca: following registry changes in Redis"
done
xca_check "the plugin turned keyspace notifications on, on the primary" \
    bash -c "redis-cli -p $PRIMARY CONFIG GET notify-keyspace-events | sed -n 2p | grep -q K"
xca_check "... and not on the replica" \
    bash -c "test -z \"\$(redis-cli -p $REPLICA CONFIG GET notify-keyspace-events | sed -n 2p)\""

rcli "$PRIMARY" HSET x509ca:ca:root certificate "$(cat "$XCA_TMP/pki/root.crt")" status verified >/dev/null
rcli "$PRIMARY" HSET x509ca:device:dev-ok status enabled >/dev/null
rcli "$PRIMARY" HSET x509ca:device:dev-off status disabled >/dev/null
rcli "$PRIMARY" HSET x509ca:device:dev-live status enabled >/dev/null
# Replication is asynchronous: let the replica have the registry before the
# primary dies, or the failover itself would lose it.
xca_check "the registry reached the replica" test "$(rcli "$PRIMARY" WAIT 1 5000)" -ge 1
for b in b1 b2 b5; do
    xca_wait_for "dev-ok is accepted on $b" 5 connects "$b" dev-ok
    xca_check_refused "disabled dev-off refused on $b: identity is disabled" "$b" \
        "$(refusal dev-off "identity is disabled")" connects "$b" dev-off
    xca_check_refused "unregistered dev-ghost refused on $b: not found" "$b" \
        "$(refusal dev-ghost "not found")" connects "$b" dev-ghost
done

# --- A Sentinel's answer is checked with ROLE ----------------------------------
FAKE=$(xca_free_port)
xca_bg fake python3 "$XCA_SOURCE_DIR/tests/integration/clients/fake_sentinel.py" \
    "$FAKE" 127.0.0.1 "$REPLICA"
xca_wait_for "a fake Sentinel naming the replica as primary listens" 5 grep -q listening "$XCA_TMP/fake.out"
xca_start_broker b3 "plugin_opt_redis_sentinels 127.0.0.1:$FAKE" "plugin_opt_redis_port $DEAD"
xca_wait_for "b3 refuses the replica it was given: ROLE is not master" 5 xca_log_has b3 \
    "x509ca: lost Redis at 127\.0\.0\.1:$REPLICA [(]primary of 'mymaster' per Sentinel[)]: 127\.0\.0\.1:$REPLICA is not the primary [(]ROLE: slave[)]"
xca_check_refused "b3 admits nothing from a replica: registry unavailable" b3 \
    "$(refusal dev-ok "registry unavailable\$")" connects b3 dev-ok
xca_check "b3's watcher did not follow the replica either (no resync logged)" \
    bash -c "! grep -q 'following registry changes' '$BROKER_LOG_B3'"
xca_check "... nor turned notifications on there" \
    bash -c "test -z \"\$(redis-cli -p $REPLICA CONFIG GET notify-keyspace-events | sed -n 2p)\""
xca_check "b3 exits 0 on SIGTERM" xca_stop_broker b3
xca_bg_stop fake || true

# --- A primary demoted under a live connection ---------------------------------------
# A standalone Redis named as primary by a fake Sentinel; made a replica
# with REPLICAOF (which keeps its clients connected), it answers writes with
# READONLY: the broker must drop the connection and ask again.
xca_start_redis solo
SOLO=$REDIS_PORT_SOLO
FAKE2=$(xca_free_port)
xca_bg fake2 python3 "$XCA_SOURCE_DIR/tests/integration/clients/fake_sentinel.py" \
    "$FAKE2" 127.0.0.1 "$SOLO"
xca_wait_for "a fake Sentinel naming the standalone Redis listens" 5 grep -q listening "$XCA_TMP/fake2.out"
xca_start_broker b6 "plugin_opt_redis_sentinels 127.0.0.1:$FAKE2" "plugin_opt_redis_port $DEAD"
xca_wait_for "b6 uses the standalone Redis (ROLE master)" 5 xca_log_has b6 \
    "x509ca: connected to Redis at 127\.0\.0\.1:$SOLO [(]primary of 'mymaster' per Sentinel[)]"
# creates ID REGEX: createDevice ID on b6; its reply matches REGEX.
creates() { xca_admin_rr b6 "{\"commands\":[{\"command\":\"createDevice\",\"deviceId\":\"$1\"}]}" | grep -q -- "$2"; }
xca_check "b6 writes to it: createDevice" creates w1 '"data"'
rcli "$SOLO" REPLICAOF 127.0.0.1 "$REPLICA" >/dev/null
xca_log_mark b6
xca_check "after the demotion a write fails: registry unavailable" creates w2 '"error":"registry unavailable"'
# Admin commands run on the admin worker's own connection (README "Admin topics").
xca_check "b6 dropped the connection for the READONLY reply" xca_wait_log b6 \
    "x509ca: admin worker: lost Redis at 127\.0\.0\.1:$SOLO [(]primary of 'mymaster' per Sentinel[)]: the node became a replica [(]READONLY[)]"
xca_check "b6 exits 0 on SIGTERM" xca_stop_broker b6
xca_bg_stop fake2 || true
xca_stop_redis solo || true

# --- An unknown master name ------------------------------------------------------
xca_start_broker b4 "plugin_opt_redis_sentinels $SENTINELS" "plugin_opt_redis_port $DEAD" \
    'plugin_opt_redis_sentinel_master nosuch'
xca_wait_for "b4 logs that no Sentinel knows master 'nosuch'" 5 xca_log_has b4 \
    "x509ca: lost Redis at .*: no Sentinel gave the primary of 'nosuch' [(]last: Sentinel 127\.0\.0\.1:[0-9]+ does not know master 'nosuch'[)]"
xca_check_refused "b4 admits nothing: registry unavailable" b4 \
    "$(refusal dev-ok "registry unavailable\$")" connects b4 dev-ok
xca_check "b4 exits 0 on SIGTERM" xca_stop_broker b4

# --- Failover while devices keep connecting ---------------------------------------
online s1 b1 dev-live
online s2 b2 dev-live
# storm BROKER CLIENTID...: until $XCA_TMP/stop exists, connect each CLIENTID
# in turn on BROKER; one line per attempt: "<start ms> <end ms> <id> ok|refused".
storm() {
    local broker=$1 id t0 result
    shift
    until [[ -f $XCA_TMP/stop ]]; do
        for id in "$@"; do
            t0=$(xca__now_ms)
            result=refused
            connects "$broker" "$id" >/dev/null 2>&1 && result=ok
            echo "$t0 $(xca__now_ms) $id $result"
        done
    done
}
for b in b1 b2; do
    xca_bg "storm-$b-ok" storm "$b" dev-ok
    xca_bg "storm-$b-bad" storm "$b" dev-off dev-ghost
done
# lines FILE N: FILE has N lines or more.
lines() { test "$(wc -l <"$1")" -ge "$2"; }
for f in storm-b1-ok storm-b2-ok storm-b1-bad storm-b2-bad; do
    xca_wait_for "the $f connects are running" 10 lines "$XCA_TMP/$f.out" 2
done
for b in b1 b2 b5; do xca_log_mark "$b"; done
KILL_MS=$(xca__now_ms)
xca_stop_redis primary KILL || true
echo "# primary (port $PRIMARY) killed at $KILL_MS"

for b in b1 b2; do
    xca_check "$b follows the new primary by itself" xca_wait_log "$b" \
        "x509ca: connected to Redis at 127\.0\.0\.1:$REPLICA [(]primary of 'mymaster' per Sentinel[)]" 30
    xca_check "$b resyncs after the failover" \
        xca_wait_log "$b" "x509ca: following registry changes in Redis" 10
done
# The idle broker's registry connection still points at the dead primary
# when its feed comes back: the resync must reread from the new one.
xca_check "b5 (idle) resyncs after the failover" \
    xca_wait_log b5 "x509ca: following registry changes in Redis" 30
xca_check "b5 admits dev-ok at the first try right after its resync" connects b5 dev-ok
xca_check "b5 follows the new primary" xca_log_has_since b5 \
    "x509ca: connected to Redis at 127\.0\.0\.1:$REPLICA [(]primary of 'mymaster' per Sentinel[)]"
# recovery_ms FILE: the ms from the kill until the end of the first accepted
# connect that followed a refusal after the kill (fails when there is none).
recovery_ms() {
    awk -v kill="$KILL_MS" '
        $1 >= kill && $4 == "refused" { refused = 1 }
        refused && $4 == "ok" { print $2 - kill; found = 1; exit }
        END { exit !found }' "$1"
}
xca_wait_for "b1 (stale_max 0) accepts dev-ok again after refusing it during the failover" 30 \
    recovery_ms "$XCA_TMP/storm-b1-ok.out"
# after_ms FILE MS: FILE has 2 attempts that started MS after the kill or later.
after_ms() { test "$(awk -v t=$((KILL_MS + $2)) '$1 >= t' "$1" | wc -l)" -ge 2; }
RECOVERED=$(recovery_ms "$XCA_TMP/storm-b1-ok.out" || echo 0)
for f in storm-b1-bad storm-b2-bad; do
    xca_wait_for "the $f connects go on once the new primary serves" 10 after_ms "$XCA_TMP/$f.out" "$RECOVERED"
done
touch "$XCA_TMP/stop"
for f in storm-b1-ok storm-b2-ok storm-b1-bad storm-b2-bad; do xca_bg_wait "$f" 20 || true; done

RECOVERY_MS=$(recovery_ms "$XCA_TMP/storm-b1-ok.out" || echo none)
echo "# failover recovery: b1 accepted dev-ok again ${RECOVERY_MS} ms after the primary was killed"
# attempts FILE ID RESULT: attempts of ID that ended in RESULT after the kill.
attempts() { awk -v kill="$KILL_MS" -v id="$2" -v r="$3" '$1 >= kill && $3 == id && $4 == r' "$1" | wc -l; }
B2_REFUSED=$(attempts "$XCA_TMP/storm-b2-ok.out" dev-ok refused)
B2_OK=$(attempts "$XCA_TMP/storm-b2-ok.out" dev-ok ok)
echo "# b2 (stale_max 300): dev-ok accepted $B2_OK and refused $B2_REFUSED times after the kill"
xca_check "the recovery took less than 20 s (${RECOVERY_MS} ms)" test "$RECOVERY_MS" -lt 20000
for b in b1 b2; do
    f=$XCA_TMP/storm-$b-bad.out
    for id in dev-off dev-ghost; do
        xca_check "$b: $id was tried during the failover ($(attempts "$f" "$id" refused) attempts)" \
            test "$(attempts "$f" "$id" refused)" -ge 3
        xca_check "$b: $id was never accepted" bash -c "! grep -q ' $id ok\$' '$f'"
        xca_check "$b never logged $id as accepted" \
            bash -c "! grep -q \"x509ca: accepted client '$id'\" '$XCA_TMP/$b/mosquitto.log'"
    done
done
xca_check "b2 admitted the cached dev-ok during the failover (stale_max 300)" test "$B2_OK" -ge 3

# --- After the failover --------------------------------------------------------------
xca_check "the Sentinels name the replica as primary" \
    bash -c "redis-cli -p ${SENTINEL_PORTS[0]} SENTINEL get-master-addr-by-name mymaster | sed -n 2p | grep -qx $REPLICA"
xca_check "the new primary says ROLE master" bash -c "redis-cli -p $REPLICA ROLE | head -1 | grep -qx master"
xca_check "the plugin turned keyspace notifications on, on the new primary" \
    bash -c "redis-cli -p $REPLICA CONFIG GET notify-keyspace-events | sed -n 2p | grep -q K"
# alive LABEL: the background client LABEL is still running (its exit
# status cannot tell: timeout(1) also exits 124).
alive() {
    local pid
    pid=$(xca__pid "bg-$1") && xca__is_child "$pid"
}
xca_check "dev-live's session on b1 survived the failover" alive s1
xca_check "dev-live's session on b2 survived the failover" alive s2
for b in b1 b2; do xca_log_mark "$b"; done
rcli "$REPLICA" HSET x509ca:device:dev-live status disabled >/dev/null
for b in b1 b2; do
    xca_check "a disable written to the new primary drops dev-live on $b within 1 s" \
        xca_wait_log "$b" "x509ca: disconnecting client 'dev-live': identity is disabled\$" 1
done
xca_check "b1's dev-live client saw its connection end" ended s1 3
xca_check "b2's dev-live client saw its connection end" ended s2 3
xca_check_refused "dev-live is refused on b1 now: identity is disabled" b1 \
    "$(refusal dev-live "identity is disabled")" connects b1 dev-live
xca_check "dev-ok still connects on b2" connects b2 dev-ok

for b in b1 b2 b5; do
    xca_check "$b exits 0 on SIGTERM" xca_stop_broker "$b"
done
xca_done
