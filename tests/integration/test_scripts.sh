#!/usr/bin/env bash
# scripts/run, scripts/demo, scripts/test, scripts/install-deps (README
# "Two commands", "Scripts"): --help prints usage and does nothing else (for
# every script in scripts/);
# scripts/run checks its ports before installing, building or starting
# anything, refuses a Redis port held by something that is not Redis, names
# the variable to set when a port is taken (a second scripts/run), names its
# log in the banner, keeps Mosquitto's output line-buffered, and stops what it
# started. scripts/run runs against the tree ctest built
# (X509CA_SKIP_BUILD=1, X509CA_BUILD_DIR).
# shellcheck disable=SC2317 # helpers run through xca_check
set -euo pipefail
source "$(dirname "$0")/lib.sh"
xca_setup
SCRIPTS=$XCA_SOURCE_DIR/scripts

# --- --help does nothing else -------------------------------------------------
# Every command these scripts could install, build, start or send with is
# replaced on PATH by a shim that records its call and fails.
SHIMS=$XCA_TMP/shims
CALLS=$XCA_TMP/calls
mkdir -p "$SHIMS"
for tool in apt-get dpkg dpkg-query sudo systemctl cmake make ctest gcc cc \
            redis-server redis-cli mosquitto mosquitto_pub mosquitto_sub mosquitto_rr \
            mosquitto_passwd openssl stdbuf python3 gnuplot; do
    printf '#!/bin/sh\necho "%s $*" >>"%s"\nexit 1\n' "$tool" "$CALLS" >"$SHIMS/$tool"
    chmod +x "$SHIMS/$tool"
done
# shim_env COMMAND...: COMMAND with the shims first on PATH and every state
# and build directory pointing at paths that do not exist yet.
shim_env() {
    PATH="$SHIMS:$PATH" X509CA_STATE_DIR=$XCA_TMP/untouched/state \
        X509CA_BUILD_DIR=$XCA_TMP/untouched/build XCA_BUILD_DIR=$XCA_TMP/untouched/build "$@"
}
# nothing_done: no shim was called and no directory was made.
nothing_done() {
    if [[ -s $CALLS ]]; then
        echo "commands run:"
        cat "$CALLS"
        return 1
    fi
    [[ ! -e $XCA_TMP/untouched ]] || { echo "made $XCA_TMP/untouched"; return 1; }
}
# help_only SCRIPT: `SCRIPT --help` exits 0, prints its usage, does nothing else.
help_only() {
    local out rc=0
    : >"$CALLS"
    out=$(shim_env timeout 30 "$SCRIPTS/$1" --help 2>&1) || rc=$?
    printf '%s\nexit status %d\n' "$out" "$rc"
    [[ $rc -eq 0 && $(head -n 1 <<<"$out") =~ ^Usage:\ (scripts/)?$1\  ]] && nothing_done
}
# bad_arg SCRIPT: an unknown argument is a usage error (2) that does nothing.
bad_arg() {
    local out rc=0
    : >"$CALLS"
    out=$(shim_env timeout 30 "$SCRIPTS/$1" --bogus 2>&1) || rc=$?
    printf '%s\nexit status %d\n' "$out" "$rc"
    [[ $rc -eq 2 ]] && grep -q "unknown argument '--bogus'" <<<"$out" && nothing_done
}
for s in run demo test install-deps bench fuzz x509ca-pki x509ca-admin; do
    xca_check "scripts/$s --help prints usage and does nothing else" help_only "$s"
done
for s in run demo install-deps fuzz; do
    xca_check "scripts/$s with an unknown argument: usage error, nothing done" bad_arg "$s"
done
help_documents() {
    local out v
    : >"$CALLS"
    out=$(shim_env timeout 30 "$SCRIPTS/run" --help 2>&1) || true
    echo "$out"
    nothing_done || return 1
    for v in X509CA_STATE_DIR X509CA_REDIS_PORT X509CA_DEVICE_PORT X509CA_ADMIN_PORT \
             X509CA_BIND X509CA_BUILD_DIR X509CA_SKIP_BUILD; do
        grep -q "^  $v " <<<"$out" || { echo "--help does not document $v"; return 1; }
    done
}
xca_check "scripts/run --help documents every variable it reads" help_documents

# --- scripts/run ----------------------------------------------------------------
REDIS_P=$(xca_free_port)
DEVICE_P=$(xca_free_port)
ADMIN_P=$(xca_free_port)
OTHER_P=$(xca_free_port)
STATE=$XCA_TMP/state
# scripts/run's settings for this test; `env "${RUN_ENV[@]}" [VAR=VALUE...]
# COMMAND` (later VAR=VALUE win). env execs COMMAND, so a background
# scripts/run keeps the PID xca_bg tracks and gets its SIGTERM.
RUN_ENV=(X509CA_STATE_DIR="$STATE" X509CA_REDIS_PORT="$REDIS_P" X509CA_DEVICE_PORT="$DEVICE_P"
         X509CA_ADMIN_PORT="$ADMIN_P" X509CA_BIND=127.0.0.1 X509CA_BUILD_DIR="$XCA_BUILD_DIR"
         X509CA_SKIP_BUILD=1)
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
none_listening() {
    local p
    for p in "$@"; do
        listening "$p" && { echo "port $p is listening"; return 1; }
    done
    return 0
}
# wait_out LABEL REGEX [TIMEOUT_S]: waits for REGEX in the xca_bg output LABEL.
wait_out() {
    local n
    for ((n = 0; n < ${3:-10} * 10; n++)); do
        grep -Eq -- "$2" "$XCA_TMP/$1.out" && return 0
        sleep 0.1
    done
    echo "no /$2/ in $1.out:"
    cat "$XCA_TMP/$1.out"
    return 1
}

# A listener on the Redis port that is not Redis: "silent" accepts and never
# answers, "close" accepts and hangs up.
IMPOSTOR='
import socket, sys
mode, port = sys.argv[1], int(sys.argv[2])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(16)
print("listening", flush=True)
held = []
while True:
    c, _ = s.accept()
    if mode == "close":
        c.close()
    else:
        held.append(c)
'
# refuses_impostor MODE: scripts/run fails at once with a message naming the
# port and X509CA_REDIS_PORT, prints no "running", and starts nothing.
refuses_impostor() {
    local out rc=0
    xca_bg "impostor-$1" python3 -c "$IMPOSTOR" "$1" "$REDIS_P"
    wait_out "impostor-$1" '^listening$' || return 1
    out=$(env "${RUN_ENV[@]}" timeout 60 "$SCRIPTS/run" 2>&1) || rc=$?
    xca_bg_stop "impostor-$1" >/dev/null 2>&1 || true
    printf '%s\nexit status %d\n' "$out" "$rc"
    [[ $rc -ne 0 && $rc -ne 124 ]] || { echo "expected a failure, not status $rc"; return 1; }
    grep -q "127.0.0.1:$REDIS_P is taken by something that does not answer as Redis" <<<"$out" &&
        grep -q 'set X509CA_REDIS_PORT' <<<"$out" &&
        ! grep -q 'x509ca is running' <<<"$out" &&
        none_listening "$DEVICE_P" "$ADMIN_P" &&
        [[ ! -e $STATE ]]
}
xca_check "scripts/run: a silent non-Redis listener on the Redis port fails clearly" refuses_impostor silent
xca_check "scripts/run: a non-Redis listener that hangs up fails clearly" refuses_impostor close

# The first scripts/run: starts Redis and Mosquitto, prints the banner.
xca_bg run1 env "${RUN_ENV[@]}" "$SCRIPTS/run"
xca_check "scripts/run prints 'x509ca is running'" wait_out run1 '^x509ca is running' 60
xca_check "the banner names the broker log" grep -F "Broker log: $STATE/mosquitto.log" "$XCA_TMP/run1.out"
xca_check "Mosquitto's own output shows while it runs (line-buffered)" \
    wait_out run1 'mosquitto version [0-9.]+ running' 5
xca_check "the plugin's lines show too" wait_out run1 'x509ca: connected to Redis at 127.0.0.1:'"$REDIS_P" 5
pong() { [[ $(redis-cli -h 127.0.0.1 -p "$REDIS_P" ping) == PONG ]]; }
xca_check "the Redis it started answers" pong
admin_works() {
    "$SCRIPTS/x509ca-admin" -p "$ADMIN_P" --password-file "$STATE/admin.password" ca list
}
xca_check "the admin listener answers with the password in the state directory" admin_works
device_works() {
    "$SCRIPTS/x509ca-admin" -p "$ADMIN_P" --password-file "$STATE/admin.password" \
        ca upload company-x "$STATE/pki/company-x.crt" >/dev/null &&
    "$SCRIPTS/x509ca-admin" -p "$ADMIN_P" --password-file "$STATE/admin.password" \
        ca verify company-x "$STATE/pki/company-x.crt" "$STATE/pki/company-x.key" >/dev/null &&
    "$SCRIPTS/x509ca-admin" -p "$ADMIN_P" --password-file "$STATE/admin.password" \
        device create smart-x-widget-1 >/dev/null &&
    timeout 10 mosquitto_pub -h 127.0.0.1 -p "$DEVICE_P" --cafile "$STATE/pki/server-ca.crt" \
        --cert "$STATE/pki/smart-x-widget-1.chain.pem" --key "$STATE/pki/smart-x-widget-1.key" \
        -i smart-x-widget-1 -q 1 -t devices/smart-x-widget-1/messages/events/ -m hello
}
xca_check "a demo device connects" device_works
demo_plays() {
    env "${RUN_ENV[@]}" timeout 120 "$SCRIPTS/demo" >"$XCA_TMP/demo.log" 2>&1 || {
        cat "$XCA_TMP/demo.log"
        return 1
    }
    grep -x 'Demo complete.' "$XCA_TMP/demo.log"
}
xca_check "scripts/demo plays the story end to end against scripts/run" demo_plays

# A second scripts/run while the first runs.
# second_run VARIABLE [VAR=VALUE...]: fails, naming VARIABLE, and leaves the
# first run working.
second_run() {
    local var=$1 out rc=0
    shift
    out=$(env "${RUN_ENV[@]}" "$@" timeout 60 "$SCRIPTS/run" 2>&1) || rc=$?
    printf '%s\nexit status %d\n' "$out" "$rc"
    [[ $rc -ne 0 && $rc -ne 124 ]] || { echo "expected a failure, not status $rc"; return 1; }
    grep -q "is taken (another scripts/run?); stop it or set $var to a free port" <<<"$out" &&
        grep -q "using the Redis already answering on 127.0.0.1:$REDIS_P" <<<"$out" &&
        ! grep -q 'x509ca is running' <<<"$out" &&
        pong && admin_works >/dev/null
}
xca_check "a second scripts/run names X509CA_DEVICE_PORT" second_run X509CA_DEVICE_PORT
xca_check "a second scripts/run on another device port names X509CA_ADMIN_PORT" \
    second_run X509CA_ADMIN_PORT X509CA_DEVICE_PORT="$OTHER_P"
xca_check "the second run started nothing on the other port" none_listening "$OTHER_P"

stopped() {
    local n
    xca_bg_stop run1 || true
    for ((n = 0; n < 100; n++)); do
        none_listening "$REDIS_P" "$DEVICE_P" "$ADMIN_P" >/dev/null && return 0
        sleep 0.1
    done
    none_listening "$REDIS_P" "$DEVICE_P" "$ADMIN_P"
}
xca_check "SIGTERM stops the Mosquitto and the Redis scripts/run started" stopped

# A Redis that already answers is used as it is, and left running.
xca_start_redis found
xca_bg run2 env "${RUN_ENV[@]}" X509CA_REDIS_PORT="$REDIS_PORT" "$SCRIPTS/run"
xca_check "scripts/run with a Redis already answering: running" wait_out run2 '^x509ca is running' 60
xca_check "it says it uses that Redis" \
    grep -F "using the Redis already answering on 127.0.0.1:$REDIS_PORT" "$XCA_TMP/run2.out"
xca_check "the banner says Ctrl-C stops Mosquitto (only)" grep -x 'Ctrl-C stops Mosquitto.' "$XCA_TMP/run2.out"
stop_run2() { xca_bg_stop run2 || true; none_listening "$DEVICE_P" "$ADMIN_P"; }
xca_check "SIGTERM stops its Mosquitto" stop_run2
found_pong() { [[ $(xca_rcli ping) == PONG ]]; }
xca_check "the Redis it found still answers" found_pong

xca_done
