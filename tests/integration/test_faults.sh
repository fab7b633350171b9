#!/usr/bin/env bash
# Faults under load (issue 15 item 5), loopback only, bounded in count and
# time. One broker with the plugin, one Redis (AOF), the load from
# tests/bench/xca_loadgen (full TLS handshakes, raw MQTT):
#   A  Redis killed (SIGKILL) and restarted during a connect storm
#   B  Redis frozen (SIGSTOP) for 10 s during load, then continued
#   C  the broker reloaded (SIGHUP), then stopped and started again, under load
#   D  one device reconnecting in a tight loop
#   E  sessions held at once while their CA is deleted: every one dropped
#      within 1 s of the DEL (first to last drop, as the clients see them;
#      the broker's "disconnecting client" lines are counted too)
# Throughout every case a disabled device and an unregistered one (both
# under the trusted CA) keep connecting: each must get no CONNACK 0 and no
# "accepted client" line, ever. The broker's pid must not change except
# where it is restarted on purpose, and it exits with status 0 at the end.
# Recovery times are measured and printed ("# figure: ...").
#
# Sizes: CI runs 1,000 connects in the storm, 1,000 tight-loop reconnects
# and 1,000 held sessions; XCA_FAULTS_FULL=1 (by hand) runs 5,000 of each.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
xca_setup

if [[ ${XCA_FAULTS_FULL:-0} == 1 ]]; then
    STORM=5000 LOOP=5000 HOLD=5000
else
    # CI: 300 sessions opened at once stay well inside a 2-core machine
    # under load (1,000 at once lost handshakes there).
    STORM=1000 LOOP=1000 HOLD=300
fi
# The contract's bound on dropping held sessions is 1 s, asserted in the
# normal pass. Under the sanitizer pass the broker and the load generator
# (both instrumented) run several times slower, so there the bound is 3 s:
# that pass is about memory, not latency (300 drops took 1.03 s under ASan
# on an idle 2-core machine, 0.2-0.6 s without).
DROP_BOUND_MS=1000
[[ ${XCA_BROKER_CHECK:-} == asan ]] && DROP_BOUND_MS=3000
LOADGEN=$XCA_BUILD_DIR/tests/bench/xca_loadgen
PKIGEN=$XCA_BUILD_DIR/tests/bench/xca_pkigen
for tool in "$LOADGEN" "$PKIGEN"; do
    [[ -x $tool ]] || { echo "# $tool not built" >&2; exit 1; }
done
# Every session is a socket in the broker and in the load generator.
ulimit -n "$(ulimit -Hn)"
echo "# sizes: storm $STORM, tight loop $LOOP, held sessions $HOLD"

# --- PKI and registry -----------------------------------------------------------
PKI=$XCA_TMP/pki
xca_server_cert
"$PKIGEN" ca --out "$PKI" --name faults-root >/dev/null
"$PKIGEN" ca --out "$PKI" --name faults-int --ca faults-root >/dev/null
"$PKIGEN" devices --out "$PKI" --ca faults-int --prefix widget- --count "$HOLD" >/dev/null
"$PKIGEN" devices --out "$PKI" --ca faults-int --prefix probe- --count 8 >/dev/null
"$PKIGEN" devices --out "$PKI" --ca faults-int --prefix disabled- --count 1 >/dev/null
"$PKIGEN" devices --out "$PKI" --ca faults-int --prefix unregistered- --count 1 >/dev/null
DISABLED=disabled-000000
UNREGISTERED=unregistered-000000

export XCA_REDIS_AOF=1 # the registry survives the Redis restart of case A
xca_start_redis

# register_all: the root as a verified CA, every widget and probe enabled,
# the disabled device disabled (redis-cli --pipe, as scripts/bench does).
register_all() {
    {
        "$PKIGEN" ca-resp --cert "$PKI/faults-root.crt" --name faults-root
        LC_ALL=C awk -v n="$HOLD" 'BEGIN {
            for (i = 0; i < n + 8; i++) {
                k = i < n ? sprintf("x509ca:device:widget-%06d", i) \
                          : sprintf("x509ca:device:probe-%06d", i - n)
                printf "*4\r\n$4\r\nHSET\r\n$%d\r\n%s\r\n$6\r\nstatus\r\n$7\r\nenabled\r\n", length(k), k
            }
        }'
    } | redis-cli -h 127.0.0.1 -p "$REDIS_PORT" --pipe >"$XCA_TMP/pipe.out" 2>&1
    grep -q 'errors: 0,' "$XCA_TMP/pipe.out" || { cat "$XCA_TMP/pipe.out"; return 1; }
    xca_rcli HSET "x509ca:device:$DISABLED" status disabled >/dev/null
}
register_all
# Written to the AOF before any fault (appendfsync everysec).
xca_rcli BGREWRITEAOF >/dev/null
sleep 1.5

BROKER_LINES=("set_tcp_nodelay true")
xca_start_broker b1 "${BROKER_LINES[@]}"
BROKER_PID=$(xca__pid broker-b1)

# --- Helpers -----------------------------------------------------------------------
now_ms() { xca__now_ms; }
# jget FILE KEY: KEY of the last JSON object in FILE (xca_loadgen's
# report); fails when there is none.
jget() {
    python3 -c 'import json, sys
lines = [l for l in open(sys.argv[1]) if l.startswith("{")]
print(json.loads(lines[-1])[sys.argv[2]])' "$1" "$2" 2>/dev/null || {
        echo "no report with '$2' in $1:" >&2
        tail -n 5 "$1" >&2
        return 1
    }
}
# figure TEXT: a measured figure, printed with the others at the end.
figure() {
    echo "# figure: $*" | tee -a "$XCA_TMP/figures"
}
# loadgen ARGS...: xca_loadgen at broker b1 with the widgets' certificates.
loadgen() {
    "$LOADGEN" --host 127.0.0.1 --port "$B1_TLS_PORT" --cafile "$PKI/server-ca.crt" "$@"
}
widgets() {
    loadgen --cert-pattern "$PKI/widget-%06d.chain.pem" --key-pattern "$PKI/widget-%06d.key" "$@"
}
# storm LABEL COUNT CONCURRENCY: COUNT widget connects in the background.
storm() {
    xca_bg "$1" widgets --ids "$HOLD" --count "$2" --concurrency "$3" --timeout-ms 20000 --quiet
}
# attackers LABEL SECONDS: the disabled and the unregistered device connect
# one after the other, without pause, for SECONDS.
attackers() {
    local who
    for who in disabled unregistered; do
        xca_bg "$1-$who" loadgen --cert-pattern "$PKI/$who-%06d.chain.pem" \
            --key-pattern "$PKI/$who-%06d.key" --ids 1 --count 10000000 --concurrency 1 \
            --timeout-ms 5000 --max-seconds "$2" --quiet
    done
}
# attackers_refused LABEL: both attackers ended with tries made, none of
# them given CONNACK 0.
attackers_refused() {
    local who f ok refused
    for who in disabled unregistered; do
        xca_bg_wait "$1-$who" 30 || { echo "attacker $who did not end"; return 1; }
        f=$XCA_TMP/$1-$who.out
        ok=$(jget "$f" ok) && refused=$(jget "$f" refused) || return 1
        echo "$who: CONNACK 0: $ok, refused (CONNACK 5): $refused," \
            "TLS alert: $(jget "$f" tls_fail), no connection: $(jget "$f" conn_fail)"
        echo "$1 $who $ok $refused" >>"$XCA_TMP/attacks"
        [[ $ok == 0 && $refused -gt 0 ]] || return 1
    done
}
# never_accepted: no "accepted client" line for either attacker in the whole log.
never_accepted() {
    local n
    n=$(grep -cE "x509ca: accepted client '($DISABLED|$UNREGISTERED)'" "$BROKER_LOG_B1" || true)
    echo "accepted lines for the attackers: $n"
    [[ $n == 0 ]]
}
same_broker() {
    [[ $(xca__pid broker-b1) == "$BROKER_PID" ]] && xca__is_child "$BROKER_PID"
}
# accepted_since N: broker b1 logged at least N "accepted client" lines
# since its mark.
accepted_since() {
    local n
    n=$(xca_log_since b1 | grep -c "x509ca: accepted client 'widget-" || true)
    ((n >= $1))
}
probe() { xca_pub_tls b1 "$1" "$1" "devices/$1/messages/events/" hello -q 0; }
# recovery LABEL T0_MS PROBE: retries PROBE (a registered device the broker
# has not cached) every 0.1 s for 30 s; prints and records the time from
# T0_MS until it was accepted.
recovery() {
    local label=$1 t0=$2 who=$3 deadline t
    deadline=$((t0 + 30000))
    until probe "$who" >/dev/null 2>&1; do
        (($(now_ms) < deadline)) || { echo "not accepted within 30 s"; return 1; }
        sleep 0.1
    done
    t=$(now_ms)
    figure "$(printf '%s: %d.%03d s' "$label" $(((t - t0) / 1000)) $(((t - t0) % 1000)))"
}
# storm_done LABEL COUNT: the storm ended and accounted for every connect.
storm_done() {
    local f=$XCA_TMP/$1.out sum=0 k v
    xca_bg_wait "$1" 120 || { echo "storm $1 did not end"; return 1; }
    for k in ok refused tls_fail timeouts conn_fail closed proto_err; do
        v=$(jget "$f" "$k") || return 1
        sum=$((sum + v))
    done
    echo "$1: ok=$(jget "$f" ok) refused=$(jget "$f" refused) tls_fail=$(jget "$f" tls_fail) conn_fail=$(jget "$f" conn_fail) timeouts=$(jget "$f" timeouts) of $2"
    [[ $sum == "$2" && $(jget "$f" ok) -gt 0 && $(jget "$f" proto_err) == 0 ]]
}
# all_widgets_connect N: N widget connects now all accepted.
all_widgets_connect() {
    local f=$XCA_TMP/check.json
    widgets --ids "$1" --count "$1" --concurrency 8 --max-seconds 60 --quiet >"$f" || return 1
    echo "ok=$(jget "$f" ok) of $1"
    [[ $(jget "$f" ok) == "$1" ]]
}

# --- A: Redis killed and restarted during a connect storm ---------------------------
xca_log_mark b1
attackers a 20
storm storm-a "$STORM" 2
xca_wait_for "A: the storm is under way" 30 accepted_since $((STORM / 10))
t_kill=$(now_ms)
redis_killed() {
    local rc=0
    xca_stop_redis redis KILL 2>/dev/null || rc=$?
    [[ $rc == 137 ]]
}
xca_check "A: Redis killed (SIGKILL)" redis_killed
sleep 0.3
xca_check "A: Redis restarted (same port, AOF)" xca_start_redis
t_up=$(now_ms)
echo "# Redis was down $((t_up - t_kill)) ms"
xca_check "A: the storm was still running when Redis came back" xca__is_child "$(xca__pid bg-storm-a)"
xca_check "A: a device never seen before is accepted again" \
    recovery "recovery after Redis SIGKILL + restart (from PONG)" "$t_up" probe-000000
xca_check "A: the storm ended, every connect accounted for" storm_done storm-a "$STORM"
xca_check "A: the registry is whole after the restart (200 widgets accepted)" \
    all_widgets_connect 200
xca_check "A: the attackers got no CONNACK 0" attackers_refused a
xca_check "A: broker pid unchanged" same_broker

# --- B: Redis frozen (SIGSTOP) for 10 s ----------------------------------------------
REDIS_PID=$(xca__pid redis-redis)
xca_check "B: widget-000000 connects before the freeze (cached)" probe widget-000000
xca_log_mark b1
attackers b 20
storm storm-b "$STORM" 4
xca_wait_for "B: the storm is under way" 30 accepted_since 20
kill -STOP "$REDIS_PID"
t_stop=$(now_ms)
xca_check_refused "B: while Redis is frozen an uncached device is refused (fail closed)" \
    b1 "refused client 'probe-000001' .*registry unavailable" probe probe-000001
xca_check "B: while Redis is frozen the cached widget-000000 is admitted (stale_max)" \
    probe widget-000000
sleep "$(awk -v ms=$((10000 - ($(now_ms) - t_stop))) 'BEGIN { print (ms > 0 ? ms / 1000 : 0) }')"
kill -CONT "$REDIS_PID"
t_cont=$(now_ms)
echo "# Redis was frozen $((t_cont - t_stop)) ms"
xca_check "B: the refused device is accepted once Redis continues" \
    recovery "recovery after Redis SIGSTOP 10 s (from SIGCONT)" "$t_cont" probe-000001
xca_check "B: the storm ended, every connect accounted for" storm_done storm-b "$STORM"
xca_check "B: the attackers got no CONNACK 0" attackers_refused b
xca_check "B: broker pid unchanged" same_broker

# --- C: broker SIGHUP, then a restart, under load --------------------------------------
xca_log_mark b1
attackers c 25
storm storm-c "$STORM" 4
xca_wait_for "C: the storm is under way" 30 accepted_since 20
kill -HUP "$BROKER_PID"
xca_wait_for "C: the broker reloaded its configuration (SIGHUP)" 10 \
    xca_log_has_since b1 'Reloading config'
xca_check "C: a new device is accepted after the reload" probe probe-000002
xca_check "C: broker pid unchanged by SIGHUP" same_broker
t_down=$(now_ms)
xca_check "C: the broker stops under load with exit status 0" xca_stop_broker b1
xca_check "C: the broker starts again on the same ports" xca_start_broker b1 "${BROKER_LINES[@]}"
t_listen=$(now_ms)
BROKER_PID=$(xca__pid broker-b1)
echo "# broker down $((t_listen - t_down)) ms (stop + start)"
xca_check "C: a device is accepted by the restarted broker" \
    recovery "recovery after a broker restart (from listening)" "$t_listen" probe-000003
xca_check "C: the storm ended, every connect accounted for" storm_done storm-c "$STORM"
xca_check "C: the attackers got no CONNACK 0" attackers_refused c
xca_check "C: the restarted broker's pid unchanged since" same_broker

# --- D: one device reconnecting in a tight loop ---------------------------------------
xca_log_mark b1
attackers d 15
loop_ok() {
    local f=$XCA_TMP/loop.json
    widgets --ids 1 --first-id 7 --count "$LOOP" --concurrency 1 --max-seconds 120 --quiet \
        >"$f" || return 1
    figure "one device reconnecting in a tight loop: $(jget "$f" cps) connects/s," \
        "$(jget "$f" ok) of $LOOP accepted"
    [[ $(jget "$f" ok) == "$LOOP" ]]
}
xca_check "D: widget-000007 reconnects $LOOP times in a row, every time accepted" loop_ok
xca_check "D: the attackers got no CONNACK 0" attackers_refused d
xca_check "D: broker pid unchanged" same_broker

# --- E: sessions held while their CA is deleted ---------------------------------------
xca_log_mark b1
attackers e $((10 + HOLD / 200))
READY=$XCA_TMP/held.ready
xca_bg held widgets --ids "$HOLD" --count "$HOLD" --concurrency "$HOLD" --threads 2 \
    --hold-seconds 120 --keepalive 0 --timeout-ms 60000 --ready-file "$READY" --quiet
xca_wait_for "E: $HOLD sessions connected and held" 90 test -s "$READY"
xca_check "E: all $HOLD held sessions were accepted" grep -qx "held=$HOLD" "$READY"
xca_log_mark b1
t_del=$(now_ms)
xca_check "E: the CA is deleted in Redis" xca_rcli DEL x509ca:ca:faults-root
held_dropped() {
    local f=$XCA_TMP/held.out first last dropped
    xca_bg_wait held 30 || { echo "sessions still open 30 s after the DEL"; return 1; }
    dropped=$(jget "$f" dropped) && first=$(jget "$f" first_drop_ms) &&
        last=$(jget "$f" last_drop_ms) || return 1
    figure "$dropped of $HOLD held sessions dropped after their CA was deleted:" \
        "first $((first - t_del)) ms, last $((last - t_del)) ms after the DEL"
    [[ $dropped == "$HOLD" && $((last - t_del)) -le $DROP_BOUND_MS ]]
}
xca_check "E: every held session is dropped within $((DROP_BOUND_MS / 1000)) s of the DEL" held_dropped
kicked() {
    local n
    n=$(xca_log_since b1 | grep -c "x509ca: disconnecting client 'widget-" || true)
    echo "disconnecting lines: $n"
    [[ $n == "$HOLD" ]]
}
xca_check "E: the broker logged one 'disconnecting client' line per session" kicked
xca_check_refused "E: a widget is refused once its CA is gone" b1 \
    "refused client 'widget-000009' .*chain" probe widget-000009
xca_check "E: the attackers got no CONNACK 0" attackers_refused e
xca_check "E: broker pid unchanged" same_broker

# --- Throughout ----------------------------------------------------------------------
xca_check "no 'accepted client' line for the attackers in the whole run" never_accepted
xca_check "the broker exits with status 0" xca_stop_broker b1
cat "$XCA_TMP/figures"
awk '{ ok += $3; refused += $4 } END {
    printf "# figure: attackers (a disabled and an unregistered device) across all cases: %d CONNACK 5, %d CONNACK 0\n", refused, ok }' "$XCA_TMP/attacks"
xca_done
