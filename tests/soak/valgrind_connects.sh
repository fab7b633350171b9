#!/usr/bin/env bash
# tests/soak/valgrind_connects.sh: a by-hand memory soak (not run by ctest:
# about 10 minutes). One Redis and one broker with the plugin under valgrind
# memcheck (--leak-check=full), on loopback, started with the integration
# harness (tests/integration/lib.sh); tests/bench/xca_loadgen makes
# XCA_SOAK_CYCLES (10,000) connect/disconnect cycles of registered devices
# (1,000 identities, each about 10 times: a cold then a warm cache), then
# XCA_SOAK_REFUSED (500) connects each of a disabled device, an unregistered
# one and one under an unknown CA, then holds 100 sessions and disables
# their devices (the kick path). The broker is then stopped with SIGTERM and
# valgrind's leak summary is reported: definitely and indirectly lost bytes
# overall, and every loss record split by whether x509ca's code is on its
# stack (must be none) or not (stock Mosquitto or a library, listed by
# stack). Exit 0 when no loss record and no memcheck error involves x509ca
# and every phase did what it should; 1 otherwise.
#
#   tests/soak/valgrind_connects.sh [--help]
#
# Environment: XCA_BUILD_DIR [build], XCA_SOAK_CYCLES [10000],
# XCA_SOAK_REFUSED [500], XCA_SOAK_OUT (where valgrind's log is kept)
# [BUILD/soak], XCA_KEEP_TMP=1 keeps the work directory.
set -euo pipefail

case ${1:-} in
--help | -h)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 0 ;;
"") ;;
*) echo "${0##*/}: unknown argument '$1' (see --help)" >&2; exit 2 ;;
esac

source "$(dirname "$0")/../integration/lib.sh"
xca_setup
command -v valgrind >/dev/null || { echo "# valgrind not found (scripts/install-deps)" >&2; exit 1; }
CYCLES=${XCA_SOAK_CYCLES:-10000}
REFUSED=${XCA_SOAK_REFUSED:-500}
NDEV=1000
OUT=${XCA_SOAK_OUT:-$XCA_BUILD_DIR/soak}
mkdir -p "$OUT"
LOADGEN=$XCA_BUILD_DIR/tests/bench/xca_loadgen
PKIGEN=$XCA_BUILD_DIR/tests/bench/xca_pkigen
ulimit -n "$(ulimit -Hn)"
t_start=$SECONDS

# --- PKI and registry ----------------------------------------------------------
PKI=$XCA_TMP/pki
xca_server_cert
"$PKIGEN" ca --out "$PKI" --name soak-root >/dev/null
"$PKIGEN" ca --out "$PKI" --name soak-int --ca soak-root >/dev/null
"$PKIGEN" devices --out "$PKI" --ca soak-int --prefix widget- --count "$NDEV" >/dev/null
"$PKIGEN" devices --out "$PKI" --ca soak-int --prefix disabled- --count 1 >/dev/null
"$PKIGEN" devices --out "$PKI" --ca soak-int --prefix unregistered- --count 1 >/dev/null
"$PKIGEN" ca --out "$PKI/rogue" --name rogue-root >/dev/null
"$PKIGEN" devices --out "$PKI/rogue" --ca rogue-root --prefix widget- --count 1 >/dev/null

xca_start_redis
{
    "$PKIGEN" ca-resp --cert "$PKI/soak-root.crt" --name soak-root
    LC_ALL=C awk -v n="$NDEV" 'BEGIN {
        for (i = 0; i < n; i++) {
            k = sprintf("x509ca:device:widget-%06d", i)
            printf "*4\r\n$4\r\nHSET\r\n$%d\r\n%s\r\n$6\r\nstatus\r\n$7\r\nenabled\r\n", length(k), k
        }
    }'
} | redis-cli -h 127.0.0.1 -p "$REDIS_PORT" --pipe >"$XCA_TMP/pipe.out" 2>&1
grep -q 'errors: 0,' "$XCA_TMP/pipe.out" || { cat "$XCA_TMP/pipe.out" >&2; exit 1; }
xca_rcli HSET x509ca:device:disabled-000000 status disabled >/dev/null

# --- The broker under valgrind ---------------------------------------------------
# Started here rather than with XCA_BROKER_CHECK=valgrind: that mode runs
# valgrind -q, which leaves out the leak summary this soak reports.
# Valgrind slows the broker some 30-fold: a Redis round trip must not hit
# the 100 ms default bound and refuse (fail closed) a registered device.
xca__write_broker_conf b1 "set_tcp_nodelay true" "plugin_opt_redis_timeout_ms 2000" </dev/null
BDIR=$XCA_TMP/b1
VGLOG=$BDIR/valgrind.log
valgrind --leak-check=full --show-leak-kinds=definite,indirect,possible --num-callers=40 \
    --log-file="$VGLOG" mosquitto -c "$BDIR/mosquitto.conf" >>"$BDIR/mosquitto.stderr" 2>&1 &
BPID=$!
xca__track broker-b1 "$BPID"
for ((n = 0; n < 1200; n++)); do
    xca__is_child "$BPID" || { echo "# the broker died at start-up" >&2; xca_broker_log b1 >&2; exit 1; }
    xca_port_listening "$B1_TLS_PORT" && xca_port_listening "$B1_ADMIN_PORT" && break
    sleep 0.1
done
xca_check "the broker runs under valgrind with the plugin connected to Redis" \
    xca_wait_log b1 'x509ca: connected to Redis' 60

# jget FILE KEY: KEY of xca_loadgen's JSON report in FILE.
jget() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
# phase LABEL WANT_OK COUNT CERTPAT KEYPAT IDS [ARGS...]: COUNT connects;
# passes when exactly WANT_OK ("all" = COUNT) got CONNACK 0.
phase() {
    local label=$1 want=$2 count=$3 cert=$4 key=$5 ids=$6 f=$OUT/$1.json
    shift 6
    [[ $want == all ]] && want=$count
    "$LOADGEN" --host 127.0.0.1 --port "$B1_TLS_PORT" --cafile "$PKI/server-ca.crt" \
        --cert-pattern "$cert" --key-pattern "$key" --ids "$ids" --count "$count" \
        --concurrency 8 --timeout-ms 60000 --max-seconds 3600 --label "$label" "$@" \
        >"$f" 2>"$OUT/$label.txt" || return 1
    echo "$label: ok=$(jget "$f" ok) refused=$(jget "$f" refused) tls_fail=$(jget "$f" tls_fail)" \
        "timeouts=$(jget "$f" timeouts) in $(jget "$f" seconds) s" | tee -a "$OUT/phases.txt"
    [[ $(jget "$f" ok) == "$want" ]]
}
: >"$OUT/phases.txt"
W=$PKI/widget-%06d
xca_check "$CYCLES connect/disconnect cycles of $NDEV registered devices, all accepted" \
    phase registered all "$CYCLES" "$W.chain.pem" "$W.key" "$NDEV"
xca_check "$REFUSED connects of a disabled device, none accepted" \
    phase disabled 0 "$REFUSED" "$PKI/disabled-%06d.chain.pem" "$PKI/disabled-%06d.key" 1
xca_check "$REFUSED connects of an unregistered device, none accepted" \
    phase unregistered 0 "$REFUSED" "$PKI/unregistered-%06d.chain.pem" "$PKI/unregistered-%06d.key" 1
xca_check "$REFUSED connects under an unknown CA, none accepted" \
    phase unknown-ca 0 "$REFUSED" "$PKI/rogue/widget-%06d.chain.pem" "$PKI/rogue/widget-%06d.key" 1

# 100 held sessions, dropped by disabling their devices.
READY=$XCA_TMP/held.ready
xca_bg held "$LOADGEN" --host 127.0.0.1 --port "$B1_TLS_PORT" --cafile "$PKI/server-ca.crt" \
    --cert-pattern "$W.chain.pem" --key-pattern "$W.key" --ids 100 --count 100 \
    --concurrency 100 --hold-seconds 600 --keepalive 0 --timeout-ms 120000 \
    --ready-file "$READY" --quiet
xca_wait_for "100 sessions held" 300 grep -qx held=100 "$READY"
xca_log_mark b1
for ((i = 0; i < 100; i++)); do
    printf 'HSET x509ca:device:widget-%06d status disabled\n' "$i"
done | xca_rcli >/dev/null
held_dropped() {
    xca_bg_wait held 120 || return 1
    echo "dropped=$(jget "$XCA_TMP/held.out" dropped)"
    [[ $(jget "$XCA_TMP/held.out" dropped) == 100 ]]
}
xca_check "the 100 sessions are dropped when their devices are disabled" held_dropped

# --- Stop, and read valgrind's report --------------------------------------------
kill -TERM "$BPID"
for ((n = 0; n < 3000; n++)); do
    xca__is_child "$BPID" || break
    sleep 0.1
done
rc=0
wait "$BPID" 2>/dev/null || rc=$?
rm -f "$XCA_TMP/.pids/broker-b1"
xca_check "the broker exits with status 0 under valgrind" test "$rc" -eq 0
cp "$VGLOG" "$OUT/valgrind.log"
cp "$BDIR/mosquitto.log" "$OUT/mosquitto.log"

# Loss records: owner x509ca when the plugin or its sources are on the stack.
awk '
    function flush() {
        if (rec == "") return
        owner = (stack ~ /mosquitto_x509ca\.so|\/common\/|\/plugin\//) ? "x509ca" : "stock"
        print owner "\t" rec "\t" frames
        rec = ""
    }
    { sub(/^==[0-9]+== ?/, "") }
    /are (definitely|indirectly|possibly) lost in loss record/ {
        flush(); rec = $0; stack = ""; frames = ""; nf = 0; next
    }
    rec != "" && /^ *(at|by) 0x/ {
        stack = stack " " $0
        f = $0; sub(/^ *(at|by) 0x[0-9A-F]+: /, "", f)
        if (f !~ /^(malloc|calloc|realloc|strdup|CRYPTO_|OPENSSL_|mosquitto__malloc|mosquitto__calloc|mosquitto__realloc|mosquitto__strdup)/ && nf < 3) {
            frames = frames (nf ? " <- " : "") f; nf++
        }
        next
    }
    rec != "" && /^$/ { flush() }
    END { flush() }
' "$VGLOG" >"$OUT/loss-records.tsv"

summary() { sed -n "s/^==[0-9]*== *$1: *//p" "$VGLOG" | tail -1; }
echo "# valgrind leak summary of the broker ($CYCLES registered cycles, 3 x $REFUSED refused, 100 kicked):"
for kind in "definitely lost" "indirectly lost" "possibly lost" "still reachable"; do
    echo "#   $kind: $(summary "$kind")"
done
echo "#   ERROR SUMMARY: $(summary "ERROR SUMMARY")"
ours=$(awk -F'\t' '$1 == "x509ca" && $2 ~ /definitely|indirectly/' "$OUT/loss-records.tsv")
echo "# loss records with x509ca's code on the stack (definitely/indirectly lost): $(grep -c . <<<"$ours" || true)"
[[ -z $ours ]] || while IFS= read -r line; do echo "#   $line"; done <<<"$ours"
echo "# loss records outside x509ca (stock Mosquitto and libraries):"
awk -F'\t' '$1 == "stock" { print "#   " $2 "\n#       " $3 }' "$OUT/loss-records.tsv"
no_leak_of_ours() { [[ -z $ours ]]; }
xca_check "no definitely or indirectly lost block was allocated by x509ca's code" no_leak_of_ours
errors_of_ours() {
    # Memory errors (not leaks) with the plugin on the stack.
    ! awk '/^==[0-9]+== (Invalid|Conditional|Use of uninit|Syscall param|Mismatched)/ { e = 1; next }
           e && /mosquitto_x509ca\.so/ { found = 1 }
           /^==[0-9]+== $/ { e = 0 }
           END { exit !found }' "$VGLOG"
}
xca_check "no memcheck error in x509ca's code" errors_of_ours
echo "# soak took $((SECONDS - t_start)) s; valgrind's log: $OUT/valgrind.log"
xca_done
