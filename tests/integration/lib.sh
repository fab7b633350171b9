# shellcheck shell=bash
# x509ca integration-test harness.
#
# Sourced by every tests/integration/test_*.sh. CTest runs each test as
# `bash tests/integration/test_X.sh` with XCA_SOURCE_DIR, XCA_BUILD_DIR and
# XCA_PLUGIN set; a test can also be run by hand, the defaults are derived
# from this file's location. Tests run in parallel (ctest -j), so every
# server, port, file and counter here belongs to one test.
#
# A test looks like:
#
#   set -euo pipefail
#   source "$(dirname "$0")/lib.sh"
#   xca_setup
#   xca_start_redis
#   xca_start_broker b1
#   xca_check "plugin reached Redis" xca_log_has b1 'x509ca: connected to Redis'
#   xca_done
#
# Functions that start processes or export variables (xca_start_*,
# xca_stop_*, xca_bg) must run in the test's own shell, never inside $(...),
# or the started process is not tracked and the exports are lost.
#
# Environment knobs:
#   XCA_KEEP_TMP=1   keep $XCA_TMP after the test (its path is printed)
#   XCA_NO_PLUGIN=1  start stock brokers: no plugin / plugin_opt_* lines
#   XCA_REDIS_AOF=1  Redis with appendonly yes (in its dir under $XCA_TMP)
#   XCA_PKI_OPENSSL=1  make the server certificate with plain openssl even
#                    when scripts/x509ca-pki exists
#   XCA_VERBOSE=1    print the output of passing checks too
#   XCA_LOG_LINES=N  lines of each log shown when a test fails [300]
#   XCA_BROKER_CHECK=asan      run every broker with AddressSanitizer and
#                    UBSan preloaded (for a plugin built with -DXCA_SANITIZE=ON):
#                    any report, leaks included, fails the test
#   XCA_BROKER_CHECK=valgrind  run every broker under valgrind memcheck:
#                    any error or definite leak fails the test

# ---------------------------------------------------------------------------
# Setup and cleanup
# ---------------------------------------------------------------------------

XCA_PASS=0                      # checks that passed
XCA_FAIL=0                      # checks that failed
XCA_ADMIN_USER="admin"          # user on every broker's admin listener
XCA_ADMIN_PASSWORD=adminpw

# xca_setup: prepares the test. Resolves XCA_SOURCE_DIR, XCA_BUILD_DIR and
# XCA_PLUGIN when unset, creates the private temp dir $XCA_TMP, installs
# `trap xca_cleanup EXIT` (INT/TERM exit through it too) and points the
# test's stdin at /dev/null so that xca_start_broker only reads config lines
# a caller explicitly redirects into it. Returns 1 if a required tool is
# missing.
xca_setup() {
    local here tool
    here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    : "${XCA_SOURCE_DIR:=$(cd "$here/../.." && pwd)}"
    : "${XCA_BUILD_DIR:=$XCA_SOURCE_DIR/build}"
    : "${XCA_PLUGIN:=$XCA_BUILD_DIR/plugin/mosquitto_x509ca.so}"
    export XCA_SOURCE_DIR XCA_BUILD_DIR XCA_PLUGIN
    XCA_TMP=$(mktemp -d "${TMPDIR:-/tmp}/xca-test.XXXXXX")
    export XCA_TMP
    mkdir -p "$XCA_TMP/.pids" "$XCA_PORT_DIR"
    : >"$XCA_TMP/.ports"
    trap xca_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'xca__on_err $? $LINENO' ERR
    shopt -s lastpipe           # `printf ... | xca_start_broker b1` runs here
    exec </dev/null
    for tool in redis-server redis-cli mosquitto mosquitto_pub mosquitto_sub \
                mosquitto_rr mosquitto_passwd openssl timeout flock; do
        if ! command -v "$tool" >/dev/null 2>&1; then
            echo "# xca_setup: required tool '$tool' not found" >&2
            return 1
        fi
    done
    if [[ -z ${XCA_NO_PLUGIN:-} && ! -f $XCA_PLUGIN ]]; then
        echo "# xca_setup: warning: plugin $XCA_PLUGIN does not exist" >&2
    fi
}

# Prints the failing command's line when `set -e` is about to end the test.
xca__on_err() {
    [[ $- == *e* ]] || return 0
    echo "# aborted: command at ${BASH_SOURCE[1]:-?}:$2 exited with status $1" >&2
}

# xca_cleanup: the EXIT trap. Stops every process this test started (only
# its own children, tracked by PID, TERM then KILL after 5 s), prints broker
# and Redis logs when the test's exit status is non-zero, releases the
# reserved ports and removes $XCA_TMP unless XCA_KEEP_TMP=1. The test's exit
# status is preserved.
xca_cleanup() {
    local rc=$? f pid n
    trap - ERR
    set +e
    [[ -n ${XCA_TMP:-} && -d $XCA_TMP ]] || exit "$rc"
    for f in "$XCA_TMP"/.pids/*; do
        [[ -f $f ]] || continue
        pid=$(<"$f")
        xca__is_child "$pid" && kill -TERM "$pid" 2>/dev/null
    done
    for f in "$XCA_TMP"/.pids/*; do
        [[ -f $f ]] || continue
        pid=$(<"$f")
        for ((n = 0; n < 50; n++)); do
            xca__is_child "$pid" || break
            sleep 0.1
        done
        if xca__is_child "$pid"; then
            echo "# cleanup: $(basename "$f") (pid $pid) ignored SIGTERM, killing" >&2
            kill -KILL "$pid" 2>/dev/null
        fi
        rm -f "$f"
    done
    wait 2>/dev/null
    if [[ -n $(xca__memcheck_reports) ]]; then
        echo "not ok - a broker's memory checker reported errors" >&2
        xca__memcheck_reports >&2
        [[ $rc -ne 0 ]] || rc=1
    fi
    if [[ $rc -ne 0 ]]; then
        xca__dump_logs >&2
    fi
    xca_ports_release "$XCA_TMP/.ports"
    if [[ -n ${XCA_KEEP_TMP:-} ]]; then
        echo "# kept $XCA_TMP" >&2
    else
        rm -rf "$XCA_TMP"
    fi
    exit "$rc"
}

# True when PID is a live (not yet reaped, not zombie) child of this shell.
# Guards every kill against PID reuse by unrelated processes.
xca__is_child() {
    local pid=$1 stat rest
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
    rest=${stat##*) }                       # "S PPID ..." after the comm field
    local state=${rest%% *} ppid
    rest=${rest#* }
    ppid=${rest%% *}
    [[ $ppid == "$$" && $state != Z ]]
}

# Prints the tail of every broker and Redis log of this test.
xca__dump_logs() {
    local lines=${XCA_LOG_LINES:-300} f
    for f in "$XCA_TMP"/*/mosquitto.log "$XCA_TMP"/*/mosquitto.stderr \
             "$XCA_TMP"/*/redis.log "$XCA_TMP"/*.out; do
        [[ -s $f ]] || continue
        echo "# ----- ${f#"$XCA_TMP"/} (last $lines lines) -----"
        tail -n "$lines" "$f" | sed 's/^/# /'
    done
}

# ---------------------------------------------------------------------------
# Ports
# ---------------------------------------------------------------------------

# Reservations live in tests/lib/ports.sh, shared with scripts/bench: a
# file /tmp/xca-ports/PORT holding the test's PID, reclaimed when the test
# is gone.
# shellcheck source-path=SCRIPTDIR source=../lib/ports.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/ports.sh"

# xca_free_port: prints a TCP port on 127.0.0.1 that nothing listens on and
# that no other test (or benchmark) holds, reserved for this test until
# cleanup. Ports come from 20000-32767. Returns 1 after 200 unlucky tries.
xca_free_port() { xca_port_reserve "$XCA_TMP/.ports"; }

# The harness's older name of xca_port_listening (tests/lib/ports.sh).
xca__port_listening() { xca_port_listening "$1"; }

# ---------------------------------------------------------------------------
# Process bookkeeping
# ---------------------------------------------------------------------------

# Records PID under LABEL so cleanup and the stop functions can find it.
xca__track() { echo "$2" >"$XCA_TMP/.pids/$1"; }

# Prints the PID tracked under LABEL; returns 1 if none.
xca__pid() {
    [[ -f $XCA_TMP/.pids/$1 ]] || return 1
    cat "$XCA_TMP/.pids/$1"
}

# Waits up to TIMEOUT_S for the tracked process LABEL to exit, then reaps it
# and returns its exit status. Returns 124 (process left running) on timeout.
xca__wait_exit() {
    local label=$1 timeout_s=$2 pid rc=0 n
    pid=$(xca__pid "$label") || { echo "# no process '$label'" >&2; return 1; }
    for ((n = 0; n < timeout_s * 10; n++)); do
        xca__is_child "$pid" || break
        sleep 0.1
    done
    xca__is_child "$pid" && return 124
    wait "$pid" 2>/dev/null || rc=$?
    rm -f "$XCA_TMP/.pids/$label"
    return "$rc"
}

# Sends SIGNAL to the tracked process LABEL and waits (10 s) for it to exit;
# kills it if it does not. Returns the process's exit status (124 + kill on
# timeout).
xca__stop() {
    local label=$1 sig=${2:-TERM} pid rc=0
    pid=$(xca__pid "$label") || { echo "# no process '$label'" >&2; return 1; }
    xca__is_child "$pid" && kill "-$sig" "$pid" 2>/dev/null
    xca__wait_exit "$label" 10 || rc=$?
    if [[ $rc -eq 124 ]] && xca__is_child "$pid"; then
        echo "# $label (pid $pid) did not exit within 10 s of SIG$sig, killing" >&2
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        rm -f "$XCA_TMP/.pids/$label"
    fi
    return "$rc"
}

# xca_bg LABEL COMMAND...: runs COMMAND in the background with stdout and
# stderr in $XCA_TMP/LABEL.out, tracked for cleanup. Sets XCA_BG_PID.
# LABEL must be a file-name-safe word not used by another process.
xca_bg() {
    local label=$1
    shift
    "$@" >"$XCA_TMP/$label.out" 2>&1 &
    XCA_BG_PID=$!
    xca__track "bg-$label" "$XCA_BG_PID"
}

# xca_bg_wait LABEL [TIMEOUT_S]: waits (default 10 s) for the xca_bg process
# LABEL to exit and returns its exit status; 124 if still running (it is
# left running; cleanup stops it).
xca_bg_wait() { xca__wait_exit "bg-$1" "${2:-10}"; }

# xca_bg_stop LABEL: SIGTERM the xca_bg process LABEL, return its status.
xca_bg_stop() { xca__stop "bg-$1" TERM; }

# xca_bg_crash LABEL: SIGKILL the MQTT client (mosquitto_sub/pub/rr) that
# the xca_bg job LABEL runs, possibly under bash and timeout, so that the
# broker sees a broken connection (and publishes its will). Returns 1 when
# no such client runs under LABEL.
xca_bg_crash() {
    local pid depth
    pid=$(cat "$XCA_TMP/.pids/bg-$1" 2>/dev/null)
    for ((depth = 0; depth < 4; depth++)); do
        [[ -n $pid ]] || return 1
        if [[ $(ps -o comm= -p "$pid") == mosquitto_* ]]; then
            kill -9 "$pid"
            return 0
        fi
        pid=$(pgrep -P "$pid" | head -1)
    done
    return 1
}

# Uppercases a server NAME for variable names; fails on names that cannot
# form one.
xca__var_name() {
    if [[ ! $1 =~ ^[A-Za-z][A-Za-z0-9_]*$ ]]; then
        echo "# invalid name '$1' (letters, digits, _; first a letter)" >&2
        return 1
    fi
    echo "${1^^}"
}

# ---------------------------------------------------------------------------
# Redis
# ---------------------------------------------------------------------------

# xca_start_redis [NAME]: starts redis-server (NAME defaults to "redis") on
# a free port, bound to 127.0.0.1, no RDB snapshots, appendonly no (yes when
# XCA_REDIS_AOF=1), dir and logfile in $XCA_TMP/NAME, in the foreground of a
# background job. Waits (10 s) for PONG. Exports REDIS_PORT and, when NAME
# is given, REDIS_PORT_<NAME>. Returns 1 (log printed) if it does not come
# up. Used again by xca_restart_redis with the same port and dir.
xca_start_redis() {
    local name=${1:-redis} var port dir aof=no pid n
    var=$(xca__var_name "$name") || return 1
    dir=$XCA_TMP/$name
    mkdir -p "$dir"
    if [[ -f $dir/port ]]; then
        port=$(<"$dir/port")
    else
        port=$(xca_free_port) || { echo "# no free port" >&2; return 1; }
        echo "$port" >"$dir/port"
    fi
    [[ -n ${XCA_REDIS_AOF:-} && ${XCA_REDIS_AOF:-} != 0 ]] && aof=yes
    redis-server --port "$port" --bind 127.0.0.1 --save '' \
        --appendonly "$aof" --dir "$dir" --daemonize no \
        --logfile "$dir/redis.log" >"$dir/redis.stdout" 2>&1 &
    pid=$!
    xca__track "redis-$name" "$pid"
    for ((n = 0; n < 100; n++)); do
        if [[ $(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null) == PONG ]]; then
            export REDIS_PORT=$port
            [[ $# -gt 0 ]] && export "REDIS_PORT_$var=$port"
            return 0
        fi
        xca__is_child "$pid" || break
        sleep 0.1
    done
    echo "# redis '$name' did not answer PING on port $port" >&2
    cat "$dir/redis.stdout" "$dir/redis.log" 2>/dev/null | sed 's/^/# /' >&2
    xca__stop "redis-$name" KILL >/dev/null 2>&1
    return 1
}

# xca_stop_redis [NAME [SIGNAL]]: stops Redis NAME (default "redis") with
# SIGTERM (or SIGNAL, e.g. KILL to simulate a crash) and waits for it.
# Returns its exit status (0 after a clean SIGTERM shutdown).
xca_stop_redis() { xca__stop "redis-${1:-redis}" "${2:-TERM}"; }

# xca_restart_redis [NAME]: xca_stop_redis then xca_start_redis on the same
# port and dir (data survives only with XCA_REDIS_AOF=1).
xca_restart_redis() {
    xca_stop_redis "${1:-redis}" || true
    xca_start_redis "$@"
}

# xca_rcli ARGS...: redis-cli --raw against $REDIS_PORT on 127.0.0.1.
xca_rcli() { redis-cli --raw -h 127.0.0.1 -p "${REDIS_PORT:?no redis started}" "$@"; }

# ---------------------------------------------------------------------------
# PKI
# ---------------------------------------------------------------------------

# xca_pki ARGS...: runs scripts/x509ca-pki --dir $XCA_TMP/pki ARGS
# (`root NAME`, `intermediate NAME --ca ISSUER`, `device ID --ca ISSUER`,
# `server`, ...). Files land in $XCA_TMP/pki.
xca_pki() {
    mkdir -p "$XCA_TMP/pki"
    "$XCA_SOURCE_DIR/scripts/x509ca-pki" --dir "$XCA_TMP/pki" "$@"
}

# xca_make_crl ISSUER OUT LASTUPDATE_S NEXTUPDATE_S [CERTBASE...]: a CRL made
# with `openssl ca -gencrl` (an index.txt of its own) by ISSUER ($XCA_TMP/pki/
# ISSUER.{crt,key}) listing the CERTBASEs (reason keyCompromise), thisUpdate
# now+LASTUPDATE_S, nextUpdate now+NEXTUPDATE_S; PEM into OUT.
xca_make_crl() {
    local issuer=$XCA_TMP/pki/$1 out=$2 last=$3 next=$4 d c
    shift 4
    d=$(mktemp -d "$XCA_TMP/ca.XXXXXX")
    : >"$d/index.txt"
    echo 1000 >"$d/crlnumber"
    printf '[ca]\ndefault_ca = x\n[x]\ndatabase = %s\ncrlnumber = %s\ndefault_md = sha256\n' \
        "$d/index.txt" "$d/crlnumber" >"$d/ca.cnf"
    for c in "$@"; do
        openssl ca -config "$d/ca.cnf" -keyfile "$issuer.key" -cert "$issuer.crt" \
            -revoke "$XCA_TMP/pki/$c.crt" -crl_reason keyCompromise 2>>"$d/log" >&2
    done
    openssl ca -config "$d/ca.cnf" -keyfile "$issuer.key" -cert "$issuer.crt" -gencrl \
        -crl_lastupdate "$(date -u -d "@$(($(date +%s) + last))" +%Y%m%d%H%M%SZ)" \
        -crl_nextupdate "$(date -u -d "@$(($(date +%s) + next))" +%Y%m%d%H%M%SZ)" \
        -out "$out" 2>>"$d/log"
}

# xca_json_cmd NAME VALUE ...: one admin request of a single command whose
# members are the NAME VALUE pairs (strings), e.g. xca_json_cmd command
# deleteCRL issuerThumbprint HEX.
xca_json_cmd() {
    python3 -c 'import json,sys; a=sys.argv[1:]; print(json.dumps({"commands":[dict(zip(a[::2],a[1::2]))]}))' "$@"
}

# xca_server_cert: makes sure $XCA_TMP/pki/server.{crt,key} and server-ca.crt
# exist (SAN DNS:localhost, IP:127.0.0.1). Uses `xca_pki server` when the
# script exists, else plain openssl (or when XCA_PKI_OPENSSL=1).
xca_server_cert() {
    local d=$XCA_TMP/pki
    [[ -f $d/server.crt && -f $d/server.key && -f $d/server-ca.crt ]] && return 0
    mkdir -p "$d"
    if [[ -z ${XCA_PKI_OPENSSL:-} && -x $XCA_SOURCE_DIR/scripts/x509ca-pki ]]; then
        xca_pki server >"$d/server.out" 2>&1 || { cat "$d/server.out" >&2; return 1; }
        return 0
    fi
    {
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
            -keyout "$d/server-ca.key" -out "$d/server-ca.crt" -days 30 \
            -subj "/CN=x509ca test server CA" \
            -addext basicConstraints=critical,CA:TRUE \
            -addext keyUsage=critical,keyCertSign,cRLSign &&
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
            -keyout "$d/server.key" -out "$d/server.csr" -subj "/CN=localhost" &&
        printf '%s\n' 'basicConstraints=CA:FALSE' \
            'subjectAltName=DNS:localhost,IP:127.0.0.1' \
            'extendedKeyUsage=serverAuth' >"$d/server.ext" &&
        openssl x509 -req -in "$d/server.csr" -CA "$d/server-ca.crt" \
            -CAkey "$d/server-ca.key" -CAcreateserial -days 30 \
            -extfile "$d/server.ext" -out "$d/server.crt"
    } >"$d/server.out" 2>&1 || { cat "$d/server.out" >&2; return 1; }
}

# ---------------------------------------------------------------------------
# Mosquitto
# ---------------------------------------------------------------------------

# Writes $XCA_TMP/NAME/mosquitto.conf (see xca_start_broker), reserving the
# two ports on first use and keeping them afterwards. Extra config lines
# come from the arguments (one line each) and then from stdin; an extra
# `plugin_opt_KEY ...` line replaces the harness's default line for KEY.
xca__write_broker_conf() {
    local name=$1 var dir tls admin line extra key value
    shift
    var=$(xca__var_name "$name") || return 1
    dir=$XCA_TMP/$name
    mkdir -p "$dir"
    xca_server_cert || return 1
    if [[ -f $dir/ports ]]; then
        read -r tls admin <"$dir/ports"
    else
        if ! tls=$(xca_free_port) || ! admin=$(xca_free_port); then
            echo "# no free port" >&2
            return 1
        fi
        echo "$tls $admin" >"$dir/ports"
    fi
    if [[ ! -f $dir/passwd ]]; then
        mosquitto_passwd -b -c "$dir/passwd" "$XCA_ADMIN_USER" \
            "$XCA_ADMIN_PASSWORD" >/dev/null || return 1
    fi
    if [[ -z ${XCA_NO_PLUGIN:-} && -z ${REDIS_PORT:-} ]]; then
        echo "# xca_start_broker: start Redis first (REDIS_PORT unset)" >&2
        return 1
    fi
    extra=$( (( $# )) && printf '%s\n' "$@"; cat)
    {
        echo "# written by tests/integration/lib.sh for broker '$name'"
        echo "per_listener_settings false"
        echo "user root"
        echo "log_dest file $dir/mosquitto.log"
        echo "log_type all"
        echo "log_timestamp_format %Y-%m-%dT%H:%M:%S"
        echo "allow_anonymous false"
        echo "password_file $dir/passwd"
        if [[ -z ${XCA_NO_PLUGIN:-} ]]; then
            echo "plugin $XCA_PLUGIN"
            for line in "redis_host 127.0.0.1" "redis_port $REDIS_PORT" \
                        "admin_users $XCA_ADMIN_USER"; do
                key=${line%% *}
                value=${line#* }
                if grep -Eq "^[[:space:]]*plugin_opt_${key}([[:space:]]|\$)" <<<"$extra"; then
                    echo "# plugin_opt_$key: set by the extra lines below"
                else
                    echo "plugin_opt_$key $value"
                fi
            done
        fi
        echo
        echo "# device listener: TLS, client certificate required, no cafile"
        echo "listener $tls 127.0.0.1"
        echo "certfile $XCA_TMP/pki/server.crt"
        echo "keyfile $XCA_TMP/pki/server.key"
        echo "require_certificate true"
        echo
        echo "# admin listener: plain loopback, password_file"
        echo "listener $admin 127.0.0.1"
        echo
        echo "# extra lines"
        if [[ -n ${XCA_NO_PLUGIN:-} ]]; then
            # Stock brokers reject plugin_opt_* without a plugin line.
            sed 's/^[[:space:]]*plugin_opt_/# (XCA_NO_PLUGIN) &/' <<<"$extra"
        else
            echo "$extra"
        fi
    } >"$dir/mosquitto.conf"
    export "${var}_TLS_PORT=$tls" "${var}_ADMIN_PORT=$admin"
    export "BROKER_LOG_${var}=$dir/mosquitto.log"
}

# xca__broker DIR: runs mosquitto -c DIR/mosquitto.conf, under the memory
# checker XCA_BROKER_CHECK names (reports go to DIR/memcheck.*, which fail
# the test; XCA__MEMCHECK_NAME=other files them elsewhere, for a broker that
# meets a known stock Mosquitto bug). XCA__LEAKS=0: memory errors only.
xca__broker() {
    local dir=$1 asan ubsan
    case ${XCA_BROKER_CHECK:-} in
    "")
        exec mosquitto -c "$dir/mosquitto.conf" ;;
    asan)
        asan=$(gcc -print-file-name=libasan.so)
        ubsan=$(gcc -print-file-name=libubsan.so)
        # A broker expected to fail at start-up exits without freeing its
        # configuration (stock Mosquitto): only memory errors count there.
        LD_PRELOAD="$asan $ubsan" \
        ASAN_OPTIONS="log_path=$dir/${XCA__MEMCHECK_NAME:-memcheck}.asan:detect_leaks=${XCA__LEAKS:-1}:abort_on_error=0:fast_unwind_on_malloc=0" \
        LSAN_OPTIONS="suppressions=$XCA_SOURCE_DIR/tests/integration/lsan.supp:print_suppressions=0" \
        UBSAN_OPTIONS="log_path=$dir/${XCA__MEMCHECK_NAME:-memcheck}.ubsan:print_stacktrace=1" \
            exec mosquitto -c "$dir/mosquitto.conf" ;;
    valgrind)
        exec valgrind -q --leak-check=full --errors-for-leak-kinds=definite \
            --error-exitcode=99 --log-file="$dir/memcheck.valgrind.%p" \
            mosquitto -c "$dir/mosquitto.conf" ;;
    *)
        echo "# XCA_BROKER_CHECK must be asan or valgrind" >&2
        return 2 ;;
    esac
}

# Prints every memory-checker report the brokers left (none: prints nothing).
xca__memcheck_reports() {
    local f
    for f in "$XCA_TMP"/*/memcheck.*; do
        [[ -s $f ]] || continue
        echo "# ----- memory checker report $f -----"
        sed 's/^/# /' "$f"
    done
}

# xca_start_broker NAME [LINE...]: writes $XCA_TMP/NAME/mosquitto.conf and
# starts `mosquitto -c` in the background. The config has
# per_listener_settings false, user root, log_type all to
# $XCA_TMP/NAME/mosquitto.log, allow_anonymous false, a password_file with
# admin/adminpw, the plugin with plugin_opt_redis_host/port ($REDIS_PORT) and
# plugin_opt_admin_users admin (omitted when XCA_NO_PLUGIN=1), a TLS device
# listener (server cert, require_certificate true, no cafile) and a plain
# admin listener, both on 127.0.0.1; then the extra lines given as
# arguments and on stdin (e.g. a here-doc). Exports <NAME>_TLS_PORT,
# <NAME>_ADMIN_PORT and BROKER_LOG_<NAME> (NAME uppercased). Waits (10 s)
# for both ports to listen. Returns 1, with the log printed, if the broker
# dies or does not come up. Starting a stopped NAME again reuses its ports.
xca_start_broker() {
    local name=$1 var dir pid n tls admin
    var=$(xca__var_name "$name") || return 1
    xca__write_broker_conf "$@" || return 1
    dir=$XCA_TMP/$name
    read -r tls admin <"$dir/ports"
    xca__broker "$dir" >>"$dir/mosquitto.stderr" 2>&1 &
    pid=$!
    xca__track "broker-$name" "$pid"
    local tries=100
    [[ ${XCA_BROKER_CHECK:-} == valgrind ]] && tries=600
    for ((n = 0; n < tries; n++)); do
        if ! xca__is_child "$pid"; then
            local rc=0
            wait "$pid" 2>/dev/null || rc=$?
            rm -f "$XCA_TMP/.pids/broker-$name"
            echo "# broker '$name' exited with status $rc during start-up" >&2
            xca_broker_log "$name" | sed 's/^/# /' >&2
            return 1
        fi
        if xca_port_listening "$admin" && xca_port_listening "$tls"; then
            return 0
        fi
        sleep 0.1
    done
    echo "# broker '$name' did not listen on $tls/$admin within 10 s" >&2
    xca_broker_log "$name" | sed 's/^/# /' >&2
    xca__stop "broker-$name" KILL >/dev/null 2>&1
    return 1
}

# xca_start_broker_expect_fail NAME [LINE...]: like xca_start_broker, but
# expects mosquitto to exit with a non-zero status within 10 s. Returns 0 if
# it did; otherwise (still running after 10 s, or exit status 0) stops it
# and returns 1. The log stays readable with xca_broker_log/xca_log_has.
xca_start_broker_expect_fail() {
    local name=$1 dir pid rc=0
    xca__write_broker_conf "$@" || return 1
    dir=$XCA_TMP/$name
    XCA__LEAKS=0 xca__broker "$dir" >>"$dir/mosquitto.stderr" 2>&1 &
    pid=$!
    xca__track "broker-$name" "$pid"
    xca__wait_exit "broker-$name" 10 || rc=$?
    if [[ $rc -eq 124 ]]; then
        echo "# broker '$name' still running after 10 s; stopping it" >&2
        xca__stop "broker-$name" TERM >/dev/null 2>&1
        return 1
    fi
    if [[ $rc -eq 0 ]]; then
        echo "# broker '$name' exited with status 0" >&2
        return 1
    fi
    echo "# broker '$name' exited with status $rc as expected"
    return 0
}

# xca_stop_broker NAME [SIGNAL]: sends SIGTERM (or SIGNAL) to broker NAME,
# waits (10 s; then kills it) and returns its exit status, which tests assert
# to be 0.
xca_stop_broker() { xca__stop "broker-$1" "${2:-TERM}"; }

# xca_broker_log NAME: prints broker NAME's log file, then anything it wrote
# to stdout/stderr (config errors appear there before the log file opens).
xca_broker_log() {
    local dir=$XCA_TMP/$1
    [[ -f $dir/mosquitto.log ]] && cat "$dir/mosquitto.log"
    [[ -s $dir/mosquitto.stderr ]] && { echo; echo "--- stderr ---"; cat "$dir/mosquitto.stderr"; }
    return 0
}

# xca_log_has NAME REGEX: true when broker NAME's log (file or stderr) has a
# line matching the extended REGEX; prints the matching lines.
xca_log_has() {
    local dir=$XCA_TMP/$1 f files=()
    for f in "$dir/mosquitto.log" "$dir/mosquitto.stderr"; do
        [[ -f $f ]] && files+=("$f")
    done
    ((${#files[@]})) && grep -Eh -- "$2" "${files[@]}" && return 0
    echo "no line matching /$2/ in the log of broker '$1'" >&2
    return 1
}

# Log marks: a refusal check must find its reason in what the broker logged
# *after* the check began, never in a line an earlier case wrote.
#
# xca_log_mark NAME: remembers the current end of broker NAME's log; the
# *_since functions below only read what was logged after it.
xca_log_mark() {
    local f=$XCA_TMP/$1/mosquitto.log size=0
    [[ -f $f ]] && size=$(stat -c %s "$f")
    echo "$size" >"$XCA_TMP/$1/.logmark"
}

# xca_log_since NAME: prints what broker NAME logged since its last mark
# (the whole log when it has none).
xca_log_since() {
    local f=$XCA_TMP/$1/mosquitto.log mark=0
    [[ -f $XCA_TMP/$1/.logmark ]] && mark=$(<"$XCA_TMP/$1/.logmark")
    [[ -f $f ]] && tail -c +$((mark + 1)) "$f"
    return 0
}

# xca_log_has_since NAME REGEX: true when broker NAME logged a line
# matching the extended REGEX since its last mark; prints the lines.
xca_log_has_since() {
    xca_log_since "$1" | grep -E -- "$2" && return 0
    echo "no line matching /$2/ in the log of broker '$1' since the mark" >&2
    return 1
}

# xca_wait_log NAME REGEX [TIMEOUT_S]: waits (5 s) until broker NAME logs a
# line matching REGEX after its last mark. Returns 0 when it did, else 1.
xca_wait_log() {
    local deadline=$(($(xca__now_ms) + ${3:-5} * 1000))
    until xca_log_since "$1" | grep -Eq -- "$2"; do
        if (($(xca__now_ms) >= deadline)); then
            echo "no line matching /$2/ in the log of broker '$1' since the mark within ${3:-5}s" >&2
            return 1
        fi
        sleep 0.05
    done
    xca_log_since "$1" | grep -E -- "$2"
}

# xca_check_refused DESCRIPTION BROKER REGEX COMMAND...: marks BROKER's log,
# runs COMMAND, and passes only when COMMAND fails *and* BROKER logs a line
# matching REGEX (the reason) after the mark, within 5 s (XCA_LOG_WAIT).
xca_check_refused() {
    local desc=$1 broker=$2 regex=$3 rc
    shift 3
    xca_log_mark "$broker"
    xca__run "$@"
    rc=$XCA__RC
    if [[ $rc -eq 0 ]]; then
        xca__record 1 "$desc" "expected failure, got exit status 0 from: $*"
        return 0
    fi
    if xca_wait_log "$broker" "$regex" "${XCA_LOG_WAIT:-5}" >>"$XCA__OUT_FILE" 2>&1; then
        xca__record 0 "$desc"
    else
        xca__record 1 "$desc" "refused (status $rc) but no log line /$regex/ after the mark: $*"
    fi
}

# xca_refused BROKER REGEX COMMAND...: the predicate of xca_check_refused,
# for xca_wait_for when a change takes a moment to reach the broker
# (`xca_wait_for DESC 3 xca_refused b1 REGEX connects ...`): marks BROKER's
# log, runs COMMAND, and is true only when COMMAND fails *and* BROKER logs a
# line matching REGEX after the mark (within 2 s). Each attempt marks anew,
# so the reason found is the one of the attempt that was refused.
xca_refused() {
    local broker=$1 regex=$2
    shift 2
    xca_log_mark "$broker"
    if "$@"; then
        echo "not refused (exit status 0): $*"
        return 1
    fi
    xca_wait_log "$broker" "$regex" 2
}

# xca_change_seen BROKER CERTBASE CLIENTID REGEX COMMAND...: runs COMMAND (a
# registry change, e.g. xca_rcli HSET ...), then waits (5 s) until BROKER
# refuses a publish of CERTBASE as CLIENTID with a log line matching REGEX -
# the change has reached the broker - and marks BROKER's log, so that the
# refusal a test checks next is told apart from those of the wait. Returns 1
# when COMMAND fails or no such refusal comes.
xca_change_seen() {
    local broker=$1 cert=$2 id=$3 regex=$4 deadline=$((SECONDS + 5))
    shift 4
    "$@" >/dev/null || return 1
    until xca_refused "$broker" "$regex" xca_pub_tls "$broker" "$cert" "$id" \
        "devices/$id/messages/events/" hello >/dev/null 2>&1; do
        ((SECONDS < deadline)) || return 1
    done
    xca_log_mark "$broker"
}

# xca_script FILE COMMAND...: writes FILE, a bash script that sources this
# harness and runs COMMAND (its words quoted as given), for a program that
# runs a command line of its own between two steps (e.g. a probe's
# --between "bash FILE"). The script sees the test's exported ports and
# $XCA_TMP, so harness functions work in it.
xca_script() {
    local file=$1
    shift
    {
        printf 'source %q\n' "$XCA_SOURCE_DIR/tests/integration/lib.sh"
        printf '%q ' "$@"
        echo
    } >"$file"
}

# ---------------------------------------------------------------------------
# Clients
# ---------------------------------------------------------------------------

# Prints the port variable <NAME>_<KIND>_PORT of broker NAME.
xca__port() {
    local var
    var=$(xca__var_name "$1")_$2_PORT || return 1
    [[ -n ${!var:-} ]] || { echo "# broker '$1' not configured" >&2; return 1; }
    echo "${!var}"
}

# Fills the global array XCA__TLS_ARGS with the TLS connection arguments for
# broker NAME, certificate CERTBASE and CLIENTID. The client sends
# $XCA_TMP/pki/CERTBASE.chain.pem (leaf + intermediates), or CERTBASE.crt
# when there is no chain file (self-signed), with CERTBASE.key; CERTBASE
# "-" or "" means no client certificate.
xca__tls_args() {
    local port cert
    port=$(xca__port "$1" TLS) || return 1
    XCA__TLS_ARGS=(-h 127.0.0.1 -p "$port" --cafile "$XCA_TMP/pki/server-ca.crt" -i "$3")
    if [[ -n $2 && $2 != - ]]; then
        cert=$XCA_TMP/pki/$2.chain.pem
        [[ -f $cert ]] || cert=$XCA_TMP/pki/$2.crt
        XCA__TLS_ARGS+=(--cert "$cert" --key "$XCA_TMP/pki/$2.key")
    fi
}

# xca_pub_tls BROKER CERTBASE CLIENTID TOPIC MSG [ARGS...]: mosquitto_pub
# -q 1 over the TLS listener of BROKER with the chain file (or .crt) and key
# of CERTBASE ("-" = no client certificate); extra ARGS go to mosquitto_pub
# (e.g. -V mqttv5, -u USER, -d). Times out after 10 s. Returns
# mosquitto_pub's status.
xca_pub_tls() {
    local broker=$1 cert=$2 id=$3 topic=$4 msg=$5
    shift 5
    xca__tls_args "$broker" "$cert" "$id" || return 1
    timeout 10 mosquitto_pub "${XCA__TLS_ARGS[@]}" -q 1 -t "$topic" -m "$msg" "$@"
}

# xca_sub_tls BROKER CERTBASE CLIENTID TOPIC [ARGS...]: mosquitto_sub over
# the TLS listener (-q 1 -C 1 -W 5 unless ARGS override them: later options
# win), printing what it receives. Times out after 10 s. To keep a
# subscriber running while the test acts, wrap it: xca_bg LABEL xca_sub_tls ...
xca_sub_tls() {
    local broker=$1 cert=$2 id=$3 topic=$4
    shift 4
    xca__tls_args "$broker" "$cert" "$id" || return 1
    timeout "${XCA_SUB_TIMEOUT:-10}" mosquitto_sub "${XCA__TLS_ARGS[@]}" -q 1 -C 1 -W 5 \
        -t "$topic" "$@"
}

# xca_admin_rr BROKER JSON [ARGS...]: sends JSON to $CONTROL/x509ca/v1 on
# BROKER's admin listener as admin/adminpw with mosquitto_rr, waits up to
# 5 s and prints the response payload. Returns mosquitto_rr's status.
xca_admin_rr() {
    local port broker=$1 json=$2
    shift 2
    port=$(xca__port "$broker" ADMIN) || return 1
    # shellcheck disable=SC2016 # literal $CONTROL topics
    timeout 10 mosquitto_rr -h 127.0.0.1 -p "$port" \
        -u "$XCA_ADMIN_USER" -P "$XCA_ADMIN_PASSWORD" \
        -t '$CONTROL/x509ca/v1' -e '$CONTROL/x509ca/v1/response' \
        -m "$json" -W 5 "$@"
}

# ---------------------------------------------------------------------------
# Assertions
# ---------------------------------------------------------------------------

# Runs COMMAND in this shell with its output in a file; sets XCA__RC and
# XCA__OUT_FILE. Running here (not in a subshell) lets checks start servers.
xca__run() {
    XCA__OUT_FILE=$XCA_TMP/.check.out
    XCA__RC=0
    "$@" >"$XCA__OUT_FILE" 2>&1 || XCA__RC=$?
}

# Records one result: RESULT (0 pass) DESCRIPTION.
xca__record() {
    if [[ $1 -eq 0 ]]; then
        XCA_PASS=$((XCA_PASS + 1))
        echo "ok - $2"
        [[ -n ${XCA_VERBOSE:-} ]] && sed 's/^/#   /' "$XCA__OUT_FILE"
    else
        XCA_FAIL=$((XCA_FAIL + 1))
        echo "not ok - $2"
        echo "#   $3"
        tail -n 15 "$XCA__OUT_FILE" | sed 's/^/#   | /'
    fi
    return 0
}

# xca_check DESCRIPTION COMMAND...: runs COMMAND and records a pass when it
# exits 0. Prints `ok - DESCRIPTION` or `not ok - DESCRIPTION` with the
# status and the last lines of its output. Always returns 0 (the test goes
# on; xca_done decides).
xca_check() {
    local desc=$1
    shift
    xca__run "$@"
    xca__record "$XCA__RC" "$desc" "exit status $XCA__RC from: $*"
}

# xca_check_fails DESCRIPTION COMMAND...: like xca_check, but passes when
# COMMAND exits non-zero.
xca_check_fails() {
    local desc=$1
    shift
    xca__run "$@"
    if [[ $XCA__RC -ne 0 ]]; then
        xca__record 0 "$desc"
    else
        xca__record 1 "$desc" "expected failure, got exit status 0 from: $*"
    fi
}

# Prints a monotonic-enough clock in milliseconds.
xca__now_ms() {
    local t=${EPOCHREALTIME//[!0-9]/}
    echo $((t / 1000))
}

# xca_wait_for DESCRIPTION TIMEOUT_S COMMAND...: runs COMMAND every 0.1 s
# until it exits 0 (pass) or TIMEOUT_S seconds pass (fail, with the last
# attempt's output). Always returns 0.
xca_wait_for() {
    local desc=$1 timeout_s=$2 deadline
    shift 2
    deadline=$(($(xca__now_ms) + timeout_s * 1000))
    while :; do
        xca__run "$@"
        [[ $XCA__RC -eq 0 ]] && break
        (($(xca__now_ms) >= deadline)) && break
        sleep 0.1
    done
    xca__record "$XCA__RC" "$desc" "still failing after ${timeout_s}s (status $XCA__RC): $*"
}

# xca_done: prints `N passed, M failed` and exits: 1 if any check failed or
# none ran, 0 otherwise (the EXIT trap then cleans up).
xca_done() {
    echo "$XCA_PASS passed, $XCA_FAIL failed"
    if [[ $XCA_FAIL -gt 0 || $((XCA_PASS + XCA_FAIL)) -eq 0 ]]; then
        exit 1
    fi
    exit 0
}
