#!/usr/bin/env bash
# FLUSHDB, FLUSHALL and SWAPDB send no keyspace notification (issue 9): two
# brokers sharing one Redis must still notice within 1 s, drop the live
# session, forget their caches and stop trusting the CA the flush deleted;
# registering again then admits the device again.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
xca_setup

xca_pki root root >/dev/null
for d in dev-live dev-cached dev-fresh; do xca_pki device "$d" --ca root >/dev/null; done
xca_server_cert
xca_start_redis
xca_start_broker b1
xca_start_broker b2

ca() { xca_rcli HSET "x509ca:ca:$1" certificate "$(cat "$XCA_TMP/pki/$1.crt")" status verified >/dev/null; }
device() { xca_rcli HSET "x509ca:device:$1" "${@:2}" >/dev/null; }
connects() { xca_pub_tls "$1" "$2" "$2" "devices/$2/messages/events/" hello; }
register() { ca root; device dev-live status enabled; device dev-cached status enabled; }
now_ms() { local t=${EPOCHREALTIME//[!0-9]/}; echo $((t / 1000)); }
# online LABEL BROKER CLIENTID: keep a subscriber of CLIENTID connected.
online() {
    xca_bg "$1" xca_sub_tls "$2" "$3" "$3" "devices/$3/messages/devicebound/#" -W 60 -C 100
    xca_wait_for "$3 is online on $2" 5 xca_log_has_since "$2" "x509ca: accepted client '$3'"
}
# ended LABEL: the background client LABEL exited (any status) within 3 s.
ended() {
    local rc=0
    xca_bg_wait "$1" 3 || rc=$?
    [[ $rc -ne 124 ]]
}
# drop_ms CLIENTID T0_MS: waits (3 s after T0_MS) until b1 and b2 both
# logged, after their marks, that they disconnected CLIENTID because its
# entry or its CA is gone; prints the ms from T0_MS to the later of the two.
drop_ms() {
    local b regex="x509ca: disconnecting client '$1': (not found|certificate chain does not lead to a verified CA)"
    for b in b1 b2; do
        until xca_log_since "$b" | grep -Eq -- "$regex"; do
            if (($(now_ms) - $2 > 3000)); then
                echo "no line /$regex/ on $b within 3 s" >&2
                return 1
            fi
            sleep 0.02
        done
    done
    echo $(($(now_ms) - $2))
}

for b in b1 b2; do
    xca_wait_for "$b follows registry changes" 5 xca_log_has "$b" "x509ca: following registry changes in Redis"
done
register
for b in b1 b2; do
    xca_wait_for "registered: dev-live is accepted on $b" 3 connects "$b" dev-live
done

# flush_case NAME COMMAND...: with a live session of dev-live on both
# brokers and dev-cached cached on both, run the Redis COMMAND that empties
# the database and check what each broker does; then register again.
n=0
flush_case() {
    local what=$1 t0 ms b
    shift
    n=$((n + 1))
    for b in b1 b2; do
        xca_check "$what: dev-cached connects on $b (and is cached there)" connects "$b" dev-cached
        xca_log_mark "$b"
        online "live$n-$b" "$b" dev-live
    done
    for b in b1 b2; do xca_log_mark "$b"; done
    t0=$(now_ms)
    xca_rcli "$@" >/dev/null
    ms=$(drop_ms dev-live "$t0") || ms=9999
    echo "# $what: the live session was dropped on both brokers ${ms} ms after the command"
    xca_check "$what: the live session is dropped on both brokers within 1 s (${ms} ms)" \
        test "$ms" -lt 1000
    for b in b1 b2; do
        xca_check "$what: $b says why it resynced" \
            xca_log_has_since "$b" "x509ca: the Redis database was flushed or swapped"
        xca_check "$what: dev-live's client on $b saw its connection end" ended "live$n-$b"
    done
    device dev-fresh status enabled # the entry is back, its CA is not
    for b in b1 b2; do
        xca_check_refused "$what: the CA it deleted is no longer trusted on $b" "$b" \
            "refused client 'dev-fresh'.*: certificate chain does not lead to a verified CA" \
            connects "$b" dev-fresh
    done
    # The CA comes back, the devices' entries do not: a chain that verifies
    # is looked up, and the caches must have forgotten both devices.
    ca root
    for b in b1 b2; do
        xca_wait_for "$what: the CA is back on $b (dev-fresh accepted)" 3 connects "$b" dev-fresh
        xca_check_refused "$what: dev-live's reconnect is refused on $b" "$b" \
            "refused client 'dev-live'.*: not found" connects "$b" dev-live
        xca_check_refused "$what: cached dev-cached is refused on $b" "$b" \
            "refused client 'dev-cached'.*: not found" connects "$b" dev-cached
    done
    register
    for b in b1 b2; do
        xca_wait_for "$what, registered again: dev-live is accepted on $b" 3 connects "$b" dev-live
        xca_check "$what, registered again: dev-fresh is accepted on $b" connects "$b" dev-fresh
    done
}

flush_case FLUSHDB FLUSHDB
flush_case FLUSHALL FLUSHALL
xca_check "db 1 is empty before SWAPDB" test "$(xca_rcli -n 1 DBSIZE)" = 0
flush_case "SWAPDB 0 1" SWAPDB 0 1
xca_check "the registry SWAPDB moved away is in db 1" \
    test "$(xca_rcli -n 1 EXISTS x509ca:ca:root)" = 1

for b in b1 b2; do
    xca_check "$b exits 0 on SIGTERM" xca_stop_broker "$b"
done
xca_done
