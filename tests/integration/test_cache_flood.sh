#!/usr/bin/env bash
# A flood of clients that are no device (issue 9 item 5): clients of an
# unregistered CA cost no Redis read and leave nothing in the cache, and
# self-signed clients with random ids (looked up: they could be selfSigned
# identities) fill only the cache's own bounded list of not-found entries.
# So when Redis then stalls (SIGSTOP), the real devices connected before the
# flood are still admitted from the cache, and flood clients are refused.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
xca_setup

LOADGEN=$XCA_BUILD_DIR/tests/bench/xca_loadgen
FLOOD=150              # connects per kind of flood client
CAPACITY=20            # cache_capacity: far fewer than the flood
TAG=$RANDOM$RANDOM     # the flood's random client ids: <kind>-$TAG-<n>
DEVICES="dev-1 dev-2 dev-3 dev-4 dev-5"

xca_pki root root >/dev/null
for d in $DEVICES; do xca_pki device "$d" --ca root >/dev/null; done
xca_pki selfsigned ss-real >/dev/null
xca_pki root rogue >/dev/null # never registered
xca_pki device rogue-dev --ca rogue >/dev/null
xca_pki selfsigned ss-flood >/dev/null
xca_server_cert
SS_REAL=$(sed -n 's/^sha256=//p' "$XCA_TMP/pki/ss-real.thumbprints")

# The registry is complete before the broker starts: no change notification
# is in flight that could evict an entry cached below.
xca_start_redis
xca_rcli HSET x509ca:ca:root certificate "$(cat "$XCA_TMP/pki/root.crt")" status verified >/dev/null
for d in $DEVICES; do xca_rcli HSET "x509ca:device:$d" status enabled >/dev/null; done
xca_rcli HSET x509ca:device:ss-real authentication selfSigned primaryThumbprint "$SS_REAL" >/dev/null

# stale_max far beyond the test: once the feed is lost, what was cached
# while it was followed stays usable, so the outcome depends only on what
# the cache still holds. A short Redis timeout keeps the stalled calls brief.
xca_start_broker b1 "plugin_opt_cache_capacity $CAPACITY" 'plugin_opt_stale_max 3600' \
    'plugin_opt_redis_timeout_ms 50'
xca_wait_for "b1 follows registry changes (its cache is in use)" 10 \
    xca_log_has b1 'x509ca: following registry changes in Redis'

connects() { xca_pub_tls b1 "$1" "$2" "devices/$2/messages/events/" hello; }
hgetall_calls() { xca_rcli INFO commandstats | sed -n 's/^cmdstat_hgetall:calls=\([0-9]*\),.*/\1/p'; }
redis_pid() { xca_rcli INFO server | sed -n 's/^process_id:\([0-9]*\).*/\1/p'; }

# flood KIND CERTFILE KEYFILE: FLOOD connects, each with client id
# KIND-$TAG-<n>, all presenting CERTFILE (links, one per id, for the load
# generator); prints its JSON summary.
flood() {
    local kind=$1 dir=$XCA_TMP/flood-$1 i
    mkdir -p "$dir"
    for ((i = 0; i < FLOOD; i++)); do
        ln -sf "$2" "$dir/$i.pem"
        ln -sf "$3" "$dir/$i.key"
    done
    "$LOADGEN" --port "$B1_TLS_PORT" --cafile "$XCA_TMP/pki/server-ca.crt" \
        --cert-pattern "$dir/%d.pem" --key-pattern "$dir/%d.key" --ids "$FLOOD" \
        --count "$FLOOD" --concurrency 4 --client-id-pattern "$kind-$TAG-%d" --quiet
}
# all_refused JSONFILE: every connect of the flood got a CONNACK refusal.
all_refused() {
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); n=int(sys.argv[2]); sys.exit(0 if r["count"]==n and r["refused"]==n and r["ok"]==0 else 1)' \
        "$1" "$FLOOD" || { cat "$1"; return 1; }
}

# --- The real devices connect once: now cached ------------------------------
for d in $DEVICES; do xca_check "$d connects (cached)" connects "$d" "$d"; done
xca_check "ss-real (selfSigned) connects (cached)" connects ss-real ss-real
before=$(hgetall_calls)
for d in $DEVICES ss-real; do connects "$d" "$d" >/dev/null 2>&1 || true; done
xca_check "their reconnects cost no Redis read: they are cached ($before -> $(hgetall_calls))" \
    test "$before" = "$(hgetall_calls)"

# flood_refused KIND CHAIN KEY WHO: floods with KIND clients presenting
# CHAIN/KEY ($XCA_TMP/pki files) and checks that every connect got a CONNACK
# refusal; sets READS to the HGETALL calls Redis served meanwhile.
flood_refused() {
    local before
    before=$(hgetall_calls)
    flood "$1" "$XCA_TMP/pki/$2" "$XCA_TMP/pki/$3" >"$XCA_TMP/$1.json"
    READS=$(($(hgetall_calls) - before))
    xca_check "all $FLOOD $4 were refused" all_refused "$XCA_TMP/$1.json"
}

# --- Flood ------------------------------------------------------------------
xca_log_mark b1
flood_refused rogue rogue-dev.chain.pem rogue-dev.key "clients of the unregistered CA"
xca_check "their refusal names the chain" xca_log_has_since b1 \
    "refused client 'rogue-$TAG-[0-9]+' \(CN 'rogue-dev'\): certificate chain does not lead to a verified CA \(unable to get local issuer certificate\)"
xca_check "the unregistered-CA flood did no Redis read ($READS hgetall calls)" test "$READS" -eq 0

flood_refused ssf ss-flood.crt ss-flood.key "self-signed clients with random ids"
xca_check "their refusal says the identity is not in the registry" xca_log_has_since b1 \
    "refused client 'ssf-$TAG-[0-9]+' \(CN 'ss-flood'\): not found"
xca_check "self-signed leaves are looked up, one read each ($READS hgetall calls)" \
    test "$READS" -ge "$FLOOD"
xca_check "the change feed was followed throughout the flood (the cache was never dropped)" \
    bash -c "! grep -q 'x509ca: lost the Redis change feed' '$BROKER_LOG_B1'"

# --- Redis stalls: the real devices are still admitted from the cache ---------
xca_log_mark b1
REDIS_PID=$(redis_pid)
xca_check "Redis ($REDIS_PID) is stalled with SIGSTOP" kill -STOP "$REDIS_PID"
xca_check "b1 logs that it lost the change feed" \
    xca_wait_log b1 'x509ca: lost the Redis change feed' 10
for d in $DEVICES; do
    xca_check "during the stall $d is admitted from the cache" connects "$d" "$d"
done
xca_check "during the stall ss-real is admitted from the cache" connects ss-real ss-real
xca_check "each admission was logged after the stall began" \
    test "$(xca_log_since b1 | grep -Ec "x509ca: accepted client '(dev-[1-5]|ss-real)'")" -eq 6
xca_check_refused "during the stall a new self-signed flood client is refused" b1 \
    "refused client 'ssf-$TAG-new' \(CN 'ss-flood'\): registry unavailable" \
    connects ss-flood "ssf-$TAG-new"
xca_check_refused "during the stall a client of the unregistered CA is refused for its chain" b1 \
    "refused client 'rogue-$TAG-new' \(CN 'rogue-dev'\): certificate chain does not lead to a verified CA" \
    connects rogue-dev "rogue-$TAG-new"

xca_check "Redis resumes (SIGCONT)" kill -CONT "$REDIS_PID"
xca_check "b1 exits 0 on SIGTERM" xca_stop_broker b1
xca_done
