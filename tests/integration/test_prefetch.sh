#!/usr/bin/env bash
# Registry prefetch on a real broker: a device's entry is read at its TLS
# handshake, so its CONNECT makes no synchronous Redis read
# (cache/misses unchanged, prefetch/hits grows); a device disabled between
# its prefetch and its CONNECT is refused, with the reason logged; with
# plugin_opt_prefetch_queue_max 0 nothing is prefetched and the CONNECT
# reads Redis; a bad value stops the broker. The client
# (clients/xca_weak_connect.py --between) runs a command between its
# handshake and its CONNECT. (An invalidation while a read is in flight is
# proven by unit-prefetch.)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
xca_setup

xca_pki root company-x >/dev/null
xca_pki intermediate factory-y --ca company-x >/dev/null
xca_pki intermediate technician-z --ca factory-y >/dev/null
for d in dev-p dev-q dev-x canary; do xca_pki device "$d" --ca technician-z >/dev/null; done
xca_server_cert
xca_start_redis
xca_start_broker b1 'plugin_opt_stats_interval 0'
for d in dev-p dev-q dev-x canary; do xca_rcli HSET "x509ca:device:$d" status enabled >/dev/null; done
xca_rcli HSET x509ca:ca:company-x certificate "$(cat "$XCA_TMP/pki/company-x.crt")" \
    status verified >/dev/null

# The client's --between step: wait (5 s) until counter NAME of BROKER has
# grown past BEFORE - the handshake's prefetch was applied - then run the
# rest of its arguments, if any.
cat >"$XCA_TMP/between.sh" <<'EOF'
source "$XCA_SOURCE_DIR/tests/integration/lib.sh"
counter() {
    xca_admin_rr "$1" '{"commands":[{"command":"getStats"}]}' |
        /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["responses"][0]["data"][sys.argv[1]])' "$2"
}
broker=$1 name=$2 before=$3
shift 3
deadline=$((SECONDS + 5))
until (($(counter "$broker" "$name") > before)); do
    ((SECONDS < deadline)) || { echo "$name did not grow past $before" >&2; exit 1; }
    sleep 0.05
done
"$@"
EOF
source /dev/stdin <<<"$(sed -n '/^counter() {/,/^}/p' "$XCA_TMP/between.sh")"
grew() { local now; now=$(counter "$1" "$2"); echo "$2: $3 -> $now"; ((now > $3)); }
same() { local now; now=$(counter "$1" "$2"); echo "$2: $3 -> $now"; ((now == $3)); }
# connect BROKER DEVICE [ARGS...]: handshake, CONNECT, CONNACK (exit 0 accepted, 5 refused).
connect() {
    local port
    port=$(xca__port "$1" TLS)
    /usr/bin/python3 "$XCA_SOURCE_DIR/tests/integration/clients/xca_weak_connect.py" \
        --port "$port" --cafile "$XCA_TMP/pki/server-ca.crt" --cert "$XCA_TMP/pki/$2.chain.pem" \
        --key "$XCA_TMP/pki/$2.key" --id "$2" "${@:3}"
}
pub() { xca_pub_tls b1 "$1" "$1" "devices/$1/messages/events/" hello; }

xca_wait_for "the CA set is loaded: canary connects" 3 pub canary

# --- A prefetched CONNECT reads nothing ----------------------------------------
misses=$(counter b1 cache/misses)
hits=$(counter b1 prefetch/hits)
applied=$(counter b1 prefetch/applied)
xca_check "dev-p (never seen): handshake, its entry prefetched, then CONNECT is accepted" \
    connect b1 dev-p --between "bash $XCA_TMP/between.sh b1 prefetch/applied $applied"
xca_check "its CONNECT made no synchronous Redis read (cache/misses unchanged)" \
    same b1 cache/misses "$misses"
xca_check "it was a prefetch hit (prefetch/hits grew)" grew b1 prefetch/hits "$hits"

# --- Disabled between the prefetch and the CONNECT ------------------------------
applied=$(counter b1 prefetch/applied)
# After dev-q's entry (enabled) is prefetched: disable dev-q, then the canary,
# and wait until the canary is refused - changes arrive in order, so dev-q's
# has been applied too.
xca_check_refused "dev-q, disabled after its entry was prefetched as enabled, is refused, reason logged" \
    b1 "refused client 'dev-q' \(CN 'dev-q'\): identity is disabled" \
    connect b1 dev-q --between "bash $XCA_TMP/between.sh b1 prefetch/applied $applied \
        xca_rcli HSET x509ca:device:dev-q status disabled && \
        bash -c 'source $XCA_SOURCE_DIR/tests/integration/lib.sh; xca_change_seen b1 canary canary \
            \"refused client .canary.*identity is disabled\" xca_rcli HSET x509ca:device:canary status disabled'"
cp "$XCA_TMP/.check.out" "$XCA_TMP/dev-q.out"
xca_check "the client saw CONNACK 5 (not authorized), not a failed handshake" \
    grep 'connack 5' "$XCA_TMP/dev-q.out"
xca_rcli HSET x509ca:device:canary status enabled >/dev/null
xca_wait_for "canary enabled again connects" 3 pub canary
xca_rcli HSET x509ca:device:dev-q status enabled >/dev/null
xca_wait_for "dev-q enabled again connects" 3 connect b1 dev-q

# --- Off, and a bad value -------------------------------------------------------
xca_start_broker b2 'plugin_opt_prefetch_queue_max 0' 'plugin_opt_stats_interval 0'
misses=$(counter b2 cache/misses)
xca_check "prefetch off: dev-x connects" connect b2 dev-x
xca_check "nothing was prefetched" same b2 prefetch/requests 0
xca_check "its CONNECT read Redis (cache/misses grew)" grew b2 cache/misses "$misses"
xca_check "a bad plugin_opt_prefetch_queue_max stops the broker" \
    xca_start_broker_expect_fail b3 'plugin_opt_prefetch_queue_max many'
xca_check "with a log line naming the option" \
    xca_log_has b3 "plugin_opt_prefetch_queue_max: 'many' is not an integer"

xca_done
