#!/usr/bin/env bash
# The chain cache on a real broker: a device connecting again is a hit
# (chaincache/hits), a new device under the same intermediates verifies only
# its leaf (chaincache/leaf); deleting, unverifying or adding a CA makes the
# next connect verify afresh (a refused one with its reason logged);
# plugin_opt_chain_cache_capacity 0 turns it off, and a bad value stops the
# broker. (Expiry, policy changes and forged or weak leaves under a cached
# path are proven by unit-chaincache with a fake clock; revocation is not
# there yet.)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
xca_setup

xca_pki root company-x >/dev/null
xca_pki intermediate factory-y --ca company-x >/dev/null
xca_pki intermediate technician-z --ca factory-y >/dev/null
for d in dev-a dev-b dev-c; do xca_pki device "$d" --ca technician-z >/dev/null; done
made=$(date +%s) # the devices' notBefore (at most this second)
xca_pki root other-root >/dev/null
xca_server_cert
xca_start_redis
xca_start_broker b1 'plugin_opt_stats_interval 0'
for d in dev-a dev-b dev-c; do xca_rcli HSET "x509ca:device:$d" status enabled >/dev/null; done
root_pem=$(cat "$XCA_TMP/pki/company-x.crt")
xca_rcli HSET x509ca:ca:company-x certificate "$root_pem" status verified >/dev/null

# counter BROKER NAME: the counter NAME of getStats.
counter() {
    xca_admin_rr "$1" '{"commands":[{"command":"getStats"}]}' |
        /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["responses"][0]["data"][sys.argv[1]])' "$2"
}
pub() { xca_pub_tls b1 "$1" "$1" "devices/$1/messages/events/" hello; }
# grew BROKER NAME BEFORE: NAME is now above BEFORE.
grew() { local now; now=$(counter "$1" "$2"); echo "$2: $3 -> $now"; ((now > $3)); }
same() { local now; now=$(counter "$1" "$2"); echo "$2: $3 -> $now"; ((now == $3)); }

xca_wait_for "dev-a connects under the verified root (depth 3: leaf, Technician-Z, Factory-Y)" 3 pub dev-a

# --- Hits ---------------------------------------------------------------------
# A cached verdict is used only from the second after the chain's latest
# notBefore (chaincache.c in_window: a notBefore's fraction was rounded
# down); on a fast machine dev-a's first connect can share its second.
while (($(date +%s) <= made + 1)); do sleep 0.1; done
hits=$(counter b1 chaincache/hits)
misses=$(counter b1 chaincache/misses)
xca_check "dev-a connects again" pub dev-a
xca_check "its chain was answered by the cache" grew b1 chaincache/hits "$hits"
xca_check "and nothing was verified (no miss)" same b1 chaincache/misses "$misses"

leaf=$(counter b1 chaincache/leaf)
xca_check "dev-b, first seen, under the same intermediates, connects" pub dev-b
xca_check "only its leaf was verified (chaincache/leaf)" grew b1 chaincache/leaf "$leaf"

# --- Invalidation -------------------------------------------------------------
misses=$(counter b1 chaincache/misses)
xca_check "deleteCA company-x" xca_admin_rr b1 '{"commands":[{"command":"deleteCA","name":"company-x"}]}'
xca_check_refused "the next connect of dev-a (cached before) is refused, reason logged" b1 \
    "refused client 'dev-a' \(CN 'dev-a'\): certificate chain does not lead to a verified CA" pub dev-a
xca_check "it was verified afresh (a miss)" grew b1 chaincache/misses "$misses"

xca_rcli HSET x509ca:ca:company-x certificate "$root_pem" status verified >/dev/null
xca_wait_for "company-x verified again: dev-a connects" 3 pub dev-a

xca_check "unverify company-x (redis-cli HSET status unverified)" \
    xca_change_seen b1 dev-c dev-c "refused client 'dev-c'.*does not lead to a verified CA" \
    xca_rcli HSET x509ca:ca:company-x status unverified
misses=$(counter b1 chaincache/misses)
xca_check_refused "dev-a (cached while verified) is refused, reason logged" b1 \
    "refused client 'dev-a' \(CN 'dev-a'\): certificate chain does not lead to a verified CA" pub dev-a
xca_check "it was verified afresh (a miss)" grew b1 chaincache/misses "$misses"

xca_rcli HSET x509ca:ca:company-x status verified >/dev/null
xca_wait_for "company-x verified again: dev-a connects" 3 pub dev-a
xca_check "dev-a connects again" pub dev-a
misses=$(counter b1 chaincache/misses)
hits=$(counter b1 chaincache/hits)
xca_rcli HSET x509ca:ca:other-root certificate "$(cat "$XCA_TMP/pki/other-root.crt")" \
    status verified >/dev/null
xca_wait_for "another CA added: the set now holds 2" 3 test "$(counter b1 cas)" = 2
xca_check "dev-a connects after a CA was added" pub dev-a
xca_check "it was verified afresh (a miss)" grew b1 chaincache/misses "$misses"
xca_check "a second connect is a hit again" pub dev-a
xca_check "(chaincache/hits grew)" grew b1 chaincache/hits "$hits"

# --- Off, and a bad value -----------------------------------------------------
xca_start_broker b2 'plugin_opt_chain_cache_capacity 0' 'plugin_opt_stats_interval 0'
xca_check "capacity 0: dev-a connects" xca_pub_tls b2 dev-a dev-a devices/dev-a/messages/events/ x
xca_check "and again" xca_pub_tls b2 dev-a dev-a devices/dev-a/messages/events/ x
xca_check "no hit with the cache off" same b2 chaincache/hits 0
xca_check "a bad plugin_opt_chain_cache_capacity stops the broker" \
    xca_start_broker_expect_fail b3 'plugin_opt_chain_cache_capacity -1'
xca_check "with a log line naming the option" \
    xca_log_has b3 "plugin_opt_chain_cache_capacity: '-1' is not an integer"

xca_done
