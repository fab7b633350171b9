# shellcheck shell=bash
# tests/lib/ports.sh - loopback TCP ports reserved across processes.
#
# Sourced by tests/integration/lib.sh and scripts/bench, so that parallel
# integration tests and a benchmark never pick the same port. A reservation
# is a file $XCA_PORT_DIR/PORT holding the PID of the shell that made it
# ($$, also inside $(...)), written under a flock of $XCA_PORT_DIR/.lock; a
# reservation whose shell is gone is reclaimed. Each reserved port is also
# appended to a list file of the caller's, from which xca_ports_release
# removes them: a port reserved inside $(...) cannot be remembered in a
# shell variable.

XCA_PORT_DIR=${XCA_PORT_DIR:-/tmp/xca-ports} # one file per reserved port

# xca_port_reserve LIST: prints a TCP port on 127.0.0.1 that nothing
# listens on (or holds a connection on) and that no live shell holds,
# reserves it for this shell and appends it to the file LIST. Ports come
# from 20000-32767, below the kernel's ephemeral range, so outgoing
# connections do not take them. Returns 1 after 200 unlucky tries, or when
# the lock is not free within 10 s.
xca_port_reserve() {
    local list=$1 try port owner
    mkdir -p "$XCA_PORT_DIR"
    (
        flock -w 10 9 || exit 1
        for ((try = 0; try < 200; try++)); do
            port=$((20000 + (RANDOM * 32768 + RANDOM) % 12768))
            if [[ -f $XCA_PORT_DIR/$port ]]; then
                owner=$(cat "$XCA_PORT_DIR/$port" 2>/dev/null || true)
                if [[ -n $owner ]] && kill -0 "$owner" 2>/dev/null; then
                    continue
                fi
            fi
            xca_port_in_use "$port" && continue
            echo "$$" >"$XCA_PORT_DIR/$port"
            echo "$port" >>"$list"
            echo "$port"
            exit 0
        done
        exit 1
    ) 9>>"$XCA_PORT_DIR/.lock"
}

# xca_ports_release LIST: removes the reservations listed in the file LIST
# that this shell still holds, and empties LIST.
xca_ports_release() {
    local list=$1 port
    [[ -f $list ]] || return 0
    while read -r port; do
        [[ -n $port && $(cat "$XCA_PORT_DIR/$port" 2>/dev/null) == "$$" ]] &&
            rm -f "$XCA_PORT_DIR/$port"
    done <"$list"
    : >"$list"
}

# xca_port_in_use PORT: true when something listens on (or holds a
# connection on) 127.0.0.1:PORT.
xca_port_in_use() {
    if command -v ss >/dev/null 2>&1; then
        [[ -n $(ss -Htan "sport = :$1" 2>/dev/null) ]]
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
    fi
}

# xca_port_listening PORT: true when something listens on 127.0.0.1:PORT
# (no connection is made when ss exists, so server logs stay free of probe
# noise).
xca_port_listening() {
    if command -v ss >/dev/null 2>&1; then
        [[ -n $(ss -Hltn "sport = :$1" 2>/dev/null) ]]
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
    fi
}
