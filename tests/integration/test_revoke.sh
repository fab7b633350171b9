#!/usr/bin/env bash
# Revocation (README "Revocation") with real Redis, two brokers on it (and a
# third with plugin_opt_crl_expired refuse) and real TLS clients, on the
# seed chain Company-X root -> Factory-Y -> Technician-Z -> widgets, plus
# widgets signed directly by Factory-Y. A revocation made through the admin
# topic of one broker, with redis-cli, or by a CRL upload refuses the next
# handshake on every broker with its reason logged and drops the live
# sessions it affects within 1 s (the figures are printed); a revoked
# intermediate cuts off its widgets and no other; removing a revocation
# (unrevoke, DEL, a newer CRL, deleteCRL) re-admits at the next connect;
# uploadCRL's refusals (older, bad signature, issuer not chaining);
# crl_expired accept vs refuse; listRevoked paging; a Redis restart keeps
# revocations enforced.
# shellcheck disable=SC2317 # helpers run through xca_check
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
xca_setup
command -v python3 >/dev/null || { echo "# python3 not found" >&2; exit 1; }
# The helpers' JSON work: the system python starts in a tenth of pyenv's time.
PY=python3
[[ -x /usr/bin/python3 ]] && PY=/usr/bin/python3

# --- PKI ------------------------------------------------------------------
xca_pki root company-x --cn "Company-X Root CA" >/dev/null
xca_pki intermediate factory-y --ca company-x --cn "Factory-Y CA" >/dev/null
xca_pki intermediate technician-z --ca factory-y --cn "Technician-Z CA" >/dev/null
xca_pki root fake-factory --cn "Factory-Y CA" >/dev/null # Factory-Y's name, another key
xca_pki root other --cn "Other Root CA" >/dev/null
for d in wz1 wz2; do xca_pki device "$d" --ca technician-z >/dev/null; done
for d in a1 h1 wy1 wy2 c1 e1; do xca_pki device "$d" --ca factory-y >/dev/null; done
xca_server_cert
P=$XCA_TMP/pki
sha() { openssl x509 -in "$P/$1.crt" -outform DER | sha256sum | cut -d' ' -f1; }

# --- Servers --------------------------------------------------------------
export XCA_REDIS_AOF=1 # the registry must survive the Redis restart below
xca_start_redis
# The admin may read the plugin's $SYS counters on b1.
printf 'user %s\ntopic read $SYS/broker/x509ca/#\n' "$XCA_ADMIN_USER" >"$XCA_TMP/acl"
xca_start_broker b1 'plugin_opt_stats_interval 1' "acl_file $XCA_TMP/acl"
xca_start_broker b2
xca_start_broker b3 'plugin_opt_crl_expired refuse'
for b in b1 b2 b3; do
    xca_wait_for "$b follows registry changes" 5 xca_log_has "$b" "x509ca: following registry changes in Redis"
done
xca_check "plugin_opt_crl_expired maybe stops the broker at start-up" \
    xca_start_broker_expect_fail bad 'plugin_opt_crl_expired maybe'
xca_check "... with a clear log line" \
    xca_log_has bad "x509ca: plugin_opt_crl_expired: 'maybe' must be accept or refuse"

xca_rcli HSET x509ca:ca:company-x certificate "$(cat "$P/company-x.crt")" status verified >/dev/null
for d in a1 h1 wz1 wz2 wy1 wy2 c1 e1; do xca_rcli HSET "x509ca:device:$d" status enabled >/dev/null; done

# --- Helpers --------------------------------------------------------------
connects() { xca_pub_tls "$1" "$2" "$2" "devices/$2/messages/events/" hello; }
# refusal CLIENTID REASON: the plugin's refusal line (CN = client id).
refusal() { echo "x509ca: refused client '$1' [(]CN '$1'[)]: $2"; }
# revoked_at DEPTH CERTBASE WHY: the reason of a chain refused for CERTBASE
# at DEPTH (an extended regex).
revoked_at() { echo "certificate is revoked at depth $1 [(]sha256 $(sha "$2" | cut -c1-16)[)]: $3"; }
admin() { xca_admin_rr "$1" "$2"; }
# reply_ok BROKER JSON: the single response has no error; prints it.
reply_ok() {
    local out
    out=$(admin "$1" "$2") || return 1
    echo "$out"
    "$PY" -c 'import json,sys; r=json.load(sys.stdin)["responses"][0]; sys.exit(1 if "error" in r else 0)' <<<"$out"
}
# reply_error BROKER JSON REGEX: the single response's error matches REGEX.
reply_error() {
    local out
    out=$(admin "$1" "$2") || return 1
    echo "$out"
    "$PY" -c 'import json,re,sys; r=json.load(sys.stdin)["responses"][0]; sys.exit(0 if re.search(sys.argv[1], r.get("error","")) else 1)' "$3" <<<"$out"
}
# online LABEL BROKER CLIENTID: a subscriber held open (until it is kicked).
online() {
    xca_log_mark "$2"
    xca_bg "$1" xca_sub_tls "$2" "$3" "$3" "devices/$3/messages/devicebound/#" -W 120 -C 100
    xca_wait_for "$3 is online on $2" 5 xca_log_has_since "$2" "Sending SUBACK to $3\$"
}
ended() {
    local rc=0
    xca_bg_wait "$1" "$2" || rc=$?
    [[ $rc -ne 124 ]]
}
DROPS=() # "client@broker=ms" of every drop measured
# watch_drop NAME BROKER CLIENTID REASON: from now on, in the background,
# polls (every 10 ms) BROKER's log for the line saying it disconnected
# CLIENTID for REASON (a regex) and writes the time it appeared (ms) into
# $XCA_TMP/NAME.dropms. Start it before the change; drop_within reads it.
watch_drop() {
    local name=$1 b=$2 id=$3 re=$4 f=$XCA_TMP/$2/mosquitto.log mark
    mark=$(stat -c %s "$f")
    rm -f "$XCA_TMP/$name.dropms"
    (
        while :; do
            if tail -c +$((mark + 1)) "$f" | grep -Eq "x509ca: disconnecting client '$id': $re"; then
                xca__now_ms >"$XCA_TMP/$name.dropms"
                exit 0
            fi
            sleep 0.01
        done
    ) &
    xca__track "bg-watch-$name" "$!"
}
# drop_within NAME T0: the drop watch_drop NAME waited for came no later
# than 1000 ms after T0 (ms, taken just before the change); prints it.
drop_within() {
    local name=$1 t0=$2 n ms
    for ((n = 0; n < 300; n++)); do
        [[ -s $XCA_TMP/$name.dropms ]] && break
        sleep 0.01
    done
    [[ -s $XCA_TMP/$name.dropms ]] || { echo "no drop ($name) within 3 s"; return 1; }
    ms=$(($(<"$XCA_TMP/$name.dropms") - t0))
    echo "$name: dropped $ms ms after the change"
    DROPS+=("$name=${ms}ms")
    ((ms <= 1000))
}
# survivor LABEL BROKER CLIENTID: a device that publishes one message per
# line written to fd of $XCA_TMP/LABEL.fifo (mosquitto_pub -l), connected.
survivor() {
    local fifo=$XCA_TMP/$1.fifo
    mkfifo "$fifo"
    # Opened read-write first: neither open below then waits for the other.
    eval "exec {${1}_fd}<>\"\$fifo\""
    xca__tls_args "$2" "$3" "$3"
    # Not through xca_bg: a background job's stdin would be /dev/null.
    timeout 300 stdbuf -oL -eL mosquitto_pub "${XCA__TLS_ARGS[@]}" -q 1 -d -l \
        -t "devices/$3/messages/events/" <"$fifo" >"$XCA_TMP/$1.out" 2>&1 &
    xca__track "bg-$1" "$!"
    xca_wait_for "$3 is connected on $2 (publisher)" 5 grep -q "received CONNACK (0)" "$XCA_TMP/$1.out"
}
# publishes LABEL: the survivor LABEL is still connected and one more
# message it publishes is acknowledged.
publishes() {
    local fd_var=${1}_fd before n
    before=$(grep -c "received PUBACK" "$XCA_TMP/$1.out" || true)
    echo "still here $(date +%s%N)" >&"${!fd_var}"
    for ((n = 0; n < 50; n++)); do
        (($(grep -c "received PUBACK" "$XCA_TMP/$1.out" || true) > before)) && return 0
        sleep 0.05
    done
    echo "no PUBACK for $1"; tail -5 "$XCA_TMP/$1.out"; return 1
}
still_online() { ! ended "$1" 1 && ! xca_log_has_since "$2" "x509ca: disconnecting client '$3'"; }
stat_is() {
    local out
    out=$(admin "$1" '{"commands":[{"command":"getStats"}]}') || return 1
    "$PY" -c 'import json,sys; d=json.load(sys.stdin)["responses"][0]["data"]; v=d.get(sys.argv[1]); print(sys.argv[1], v); sys.exit(0 if v is not None and eval(str(v)+sys.argv[2]) else 1)' "$2" "$3" <<<"$out"
}

upload_crl() { # BROKER CRLFILE [ISSUERBASE]
    if [[ -n ${3:-} ]]; then
        xca_json_cmd command uploadCRL crl "$(cat "$2")" issuer "$(cat "$P/$3.crt")"
    else
        xca_json_cmd command uploadCRL crl "$(cat "$2")"
    fi
}

# --- Controls ---------------------------------------------------------------
for d in a1 h1 wz1 wy1 c1 e1; do
    xca_wait_for "control: $d connects on b1" 5 connects b1 "$d"
    xca_check "control: $d connects on b2" connects b2 "$d"
done

# --- A leaf revoked through the admin topic of b1 ------------------------------
online a1_b1 b1 a1
online a1_b2 b2 a1
xca_log_mark b1
xca_log_mark b2
REQ=$(xca_json_cmd command revokeCertificate certificate "$(cat "$P/a1.crt")" reason keyCompromise)
WHY_A1=$(revoked_at 0 a1 'revoked [(]keyCompromise[)]')
watch_drop a1@b1 b1 a1 "$WHY_A1\$"
watch_drop a1@b2 b2 a1 "$WHY_A1\$"
T0=$(xca__now_ms)
xca_check "revokeCertificate of a1's certificate on b1" reply_ok b1 "$REQ"
xca_check "a1's session on b1 dropped within 1 s, reason logged" drop_within a1@b1 "$T0"
xca_check "a1's session on b2 dropped within 1 s, reason logged" drop_within a1@b2 "$T0"
xca_check "a1's clients saw their connections end" ended a1_b1 3
xca_check "... on both brokers" ended a1_b2 3
xca_check_refused "a1's next handshake refused on b1: revoked (keyCompromise)" b1 \
    "$(refusal a1 "$WHY_A1")\$" connects b1 a1
xca_check_refused "a1's next handshake refused on b2: revoked (keyCompromise)" b2 \
    "$(refusal a1 "$WHY_A1")\$" connects b2 a1
xca_check "the admin audit line names revoked:<sha256>" xca_log_has b1 \
    "x509ca: audit admin=admin command=revokeCertificate target=revoked:$(sha a1) result=ok"
xca_check "x509ca:revoked:<sha256> holds reason, revokedAt, subject" \
    test "$(xca_rcli HGET "x509ca:revoked:$(sha a1)" reason)/$(xca_rcli HGET "x509ca:revoked:$(sha a1)" subject)" = "keyCompromise/CN=a1"
xca_check "getStats counts refused/revoked" stat_is b1 refused/revoked '>=1'
xca_check "the audit stream holds the drop with its reason" \
    bash -c "redis-cli -p $REDIS_PORT XRANGE x509ca:audit - + | grep -q \"disconnecting client 'a1': certificate is revoked\""
xca_check "a revokeCertificate of the same certificate again is refused" \
    reply_error b2 "$(xca_json_cmd command revokeCertificate thumbprint "$(sha a1)")" '^revoked certificate already exists$'

# --- A leaf revoked with redis-cli ----------------------------------------------------
online h1_b2 b2 h1
xca_log_mark b2
KEY=x509ca:revoked:$(sha h1)
WHY_H1=$(revoked_at 0 h1 'revoked [(]keyCompromise[)]')
watch_drop h1@b2 b2 h1 "$WHY_H1\$"
T0=$(xca__now_ms)
xca_rcli HSET "$KEY" reason keyCompromise >/dev/null
xca_check "redis-cli HSET x509ca:revoked:<h1> drops h1 on b2 within 1 s" drop_within h1@b2 "$T0"
xca_check_refused "h1 refused on b1 (redis-cli revocation)" b1 "$(refusal h1 "$WHY_H1")\$" connects b1 h1

# --- Technician-Z's intermediate revoked ------------------------------------------------
online wz1_b1 b1 wz1
online wz2_b2 b2 wz2
survivor wy1_b1 b1 wy1
survivor wy2_b2 b2 wy2
xca_log_mark b1
xca_log_mark b2
TZ_UPPER=$(sha technician-z | tr a-f A-F | sed 's/../&:/g; s/:$//')
REQ=$(xca_json_cmd command revokeCertificate thumbprint "$TZ_UPPER" reason cessationOfOperation)
WHY_TZ=$(revoked_at 1 technician-z 'revoked [(]cessationOfOperation[)]')
watch_drop wz1@b1 b1 wz1 "$WHY_TZ\$"
watch_drop wz2@b2 b2 wz2 "$WHY_TZ\$"
T0=$(xca__now_ms)
xca_check "revokeCertificate of Technician-Z by thumbprint (uppercase, ':') on b2" reply_ok b2 "$REQ"
xca_check "wz1 (Technician-Z) dropped by b1 within 1 s" drop_within wz1@b1 "$T0"
xca_check "wz2 (Technician-Z) dropped by b2 within 1 s" drop_within wz2@b2 "$T0"
xca_check "wy1 (Factory-Y only) still connected on b1" still_online wy1_b1 b1 wy1
xca_check "wy2 (Factory-Y only) still connected on b2" still_online wy2_b2 b2 wy2
xca_check "wy1 still publishes on b1" publishes wy1_b1
xca_check "wy2 still publishes on b2" publishes wy2_b2
xca_check_refused "wz1 refused on b2 under the revoked intermediate" b2 \
    "$(refusal wz1 "$WHY_TZ")\$" connects b2 wz1
xca_check "a Factory-Y-only widget still connects on b1" connects b1 c1

# --- listRevoked paging -------------------------------------------------------
for i in $(seq 1 30); do xca_rcli HSET "x509ca:revoked:$(printf '%064x' "$i")" reason superseded >/dev/null; done
# list_all BROKER COUNT: pages through listRevoked, prints every thumbprint.
list_all() {
    local cursor=0 out pages=0
    while :; do
        out=$(admin "$1" "{\"commands\":[{\"command\":\"listRevoked\",\"cursor\":\"$cursor\",\"count\":$2}]}") || return 1
        cursor=$("$PY" -c 'import json,sys; d=json.load(sys.stdin)["responses"][0]["data"]; [print(e["thumbprint"], e.get("reason"), file=sys.stderr) for e in d["revoked"]]; print(d["cursor"])' <<<"$out" 2>>"$XCA_TMP/listed")
        pages=$((pages + 1))
        [[ $cursor == 0 || $pages -gt 100 ]] && break
    done
    echo "$pages pages"
}
paged() {
    : >"$XCA_TMP/listed"
    list_all b1 5 || return 1
    local n
    n=$(sort -u "$XCA_TMP/listed" | wc -l)
    [[ $n -eq 33 ]] || { echo "$n entries listed, not 33"; return 1; }
    grep -q "^$(sha a1) keyCompromise$" "$XCA_TMP/listed" && grep -q "^$(sha technician-z) cessationOfOperation$" "$XCA_TMP/listed"
}
xca_check "listRevoked pages (count 5) list all 33 revocations once with their reasons" paged
for i in $(seq 1 30); do xca_rcli DEL "x509ca:revoked:$(printf '%064x' "$i")" >/dev/null; done

# --- Redis restart: revocations stay enforced --------------------------------------------
xca_stop_redis
xca_check_refused "during the outage a1 is still refused as revoked on b1" b1 \
    "$(refusal a1 "$WHY_A1")\$" connects b1 a1
xca_log_mark b1
xca_log_mark b2
xca_start_redis
for b in b1 b2; do
    xca_wait_for "$b resynced after the Redis restart" 10 xca_log_has_since "$b" "x509ca: following registry changes in Redis"
done
xca_check_refused "after the resync a1 is refused on b2, its reason read again" b2 \
    "$(refusal a1 "$WHY_A1")\$" connects b2 a1
xca_check_refused "after the resync wz1 is refused on b1 (revoked intermediate)" b1 \
    "$(refusal wz1 "$WHY_TZ")\$" connects b1 wz1
xca_check_refused "after the resync h1 is refused on b1" b1 "$(refusal h1 "$WHY_H1")\$" connects b1 h1

# --- Removing revocations re-admits --------------------------------------------------------
xca_check "unrevokeCertificate of a1 on b2" reply_ok b2 "$(xca_json_cmd command unrevokeCertificate thumbprint "$(sha a1)")"
xca_wait_for "a1 connects again on b1" 2 connects b1 a1
xca_check "a1 connects again on b2" connects b2 a1
xca_check "unrevokeCertificate of a1 again: not found" \
    reply_error b1 "$(xca_json_cmd command unrevokeCertificate thumbprint "$(sha a1)")" '^revoked certificate not found$'
xca_rcli DEL "x509ca:revoked:$(sha h1)" >/dev/null
xca_wait_for "h1 connects again on b1 after redis-cli DEL" 2 connects b1 h1
xca_check "unrevokeCertificate of Technician-Z" reply_ok b1 "$(xca_json_cmd command unrevokeCertificate thumbprint "$(sha technician-z)")"
xca_wait_for "wz1 connects again on b2" 2 connects b2 wz1

# --- CRLs --------------------------------------------------------------------------------
xca_make_crl factory-y "$XCA_TMP/fy-1.crl" -300 86400 c1
xca_make_crl factory-y "$XCA_TMP/fy-0.crl" -600 86400 c1        # older
xca_make_crl factory-y "$XCA_TMP/fy-2.crl" -120 86400           # newer, without c1
xca_make_crl factory-y "$XCA_TMP/fy-3.crl" -60 86400 c1         # newer still, with c1
xca_make_crl fake-factory "$XCA_TMP/fake.crl" -30 86400 c1      # Factory-Y's name, another key
xca_make_crl other "$XCA_TMP/other.crl" -30 86400
xca_make_crl company-x "$XCA_TMP/cx.crl" -30 86400
WHY_CRL="certificate is revoked at depth 0 [(]sha256 $(sha c1 | cut -c1-16)[)]: listed in the CRL of CN=Factory-Y CA"

online c1_b1 b1 c1
online c1_b2 b2 c1
xca_log_mark b1
xca_log_mark b2
REQ=$(upload_crl b1 "$XCA_TMP/fy-1.crl" factory-y)
watch_drop c1@b1 b1 c1 "$WHY_CRL\$"
watch_drop c1@b2 b2 c1 "$WHY_CRL\$"
T0=$(xca__now_ms)
xca_check "uploadCRL of Factory-Y's CRL listing c1 (issuer given) on b1" reply_ok b1 "$REQ"
xca_check "c1 dropped by b1 within 1 s: listed in the CRL" drop_within c1@b1 "$T0"
xca_check "c1 dropped by b2 within 1 s: listed in the CRL" drop_within c1@b2 "$T0"
xca_check "wy1 (same issuer, not listed) still connected on b1" still_online wy1_b1 b1 wy1
xca_check "wy1 still publishes" publishes wy1_b1
xca_check_refused "c1 refused on b2: listed in the CRL of CN=Factory-Y CA" b2 \
    "$(refusal c1 "$WHY_CRL")\$" connects b2 c1
xca_check "x509ca:crl:<issuer> holds the CRL's fields" \
    test "$(xca_rcli HGET "x509ca:crl:$(sha factory-y)" count)/$(xca_rcli HGET "x509ca:crl:$(sha factory-y)" issuerSubject)" = "1/CN=Factory-Y CA"
xca_check "the admin audit line names crl:<sha256>" xca_log_has b1 \
    "x509ca: audit admin=admin command=uploadCRL target=crl:$(sha factory-y) result=ok"
lists_crl() { admin b2 '{"commands":[{"command":"listCRLs"}]}' | grep -q "\"issuerThumbprint\":\"$(sha factory-y)\""; }
xca_check "listCRLs lists it" lists_crl
xca_check "an older CRL is refused" reply_error b1 "$(upload_crl b1 "$XCA_TMP/fy-0.crl" factory-y)" \
    '^CRL is not newer than the one held for its issuer [(]thisUpdate [0-9]+, held [0-9]+[)]$'
xca_check "the same CRL again is refused" reply_error b1 "$(upload_crl b1 "$XCA_TMP/fy-1.crl" factory-y)" \
    '^CRL is not newer than the one held for its issuer'
xca_check "a CRL with Factory-Y's name and another key's signature is refused" \
    reply_error b1 "$(upload_crl b1 "$XCA_TMP/fake.crl" factory-y)" "^CRL is not signed by its issuer's key\$"
xca_check "a CRL whose issuer chains to no verified CA is refused" \
    reply_error b1 "$(upload_crl b1 "$XCA_TMP/other.crl" other)" \
    '^CRL issuer is neither a registered CA nor chains to a verified CA [(]'
xca_check "a CRL of an unregistered issuer without the issuer argument is refused" \
    reply_error b1 "$(upload_crl b1 "$XCA_TMP/fy-2.crl")" \
    '^CRL issuer is neither a registered CA nor chains to a verified CA [(]no registered CA has its name; give its issuer[)]$'
xca_check "a registered CA's CRL needs no issuer argument" reply_ok b2 "$(upload_crl b2 "$XCA_TMP/cx.crl")"
xca_check_refused "after the refused uploads c1 is still refused on b1" b1 "$(refusal c1 "$WHY_CRL")\$" connects b1 c1
xca_check "a newer CRL without c1 is accepted" reply_ok b2 "$(upload_crl b2 "$XCA_TMP/fy-2.crl" factory-y)"
xca_wait_for "c1 connects again on b1" 2 connects b1 c1
xca_check "c1 connects again on b2" connects b2 c1
online c1_b2b b2 c1
xca_log_mark b2
REQ=$(upload_crl b1 "$XCA_TMP/fy-3.crl" factory-y)
watch_drop c1-again@b2 b2 c1 "$WHY_CRL\$"
T0=$(xca__now_ms)
xca_check "a newer CRL listing c1 again" reply_ok b1 "$REQ"
xca_check "c1 dropped by b2 within 1 s" drop_within c1-again@b2 "$T0"
xca_check "deleteCRL of Factory-Y's CRL" reply_ok b2 "$(xca_json_cmd command deleteCRL issuerThumbprint "$(sha factory-y)")"
xca_wait_for "after deleteCRL c1 connects on b1" 2 connects b1 c1
xca_check "deleteCRL again: not found" \
    reply_error b1 "$(xca_json_cmd command deleteCRL issuerThumbprint "$(sha factory-y)")" '^CRL not found$'

# --- crl_expired: accept (b1, b2) vs refuse (b3) ---------------------------------------------
xca_make_crl factory-y "$XCA_TMP/fy-expired.crl" -7200 -3600
xca_make_crl factory-y "$XCA_TMP/fy-fresh.crl" -60 86400
online e1_b3 b3 e1
for b in b1 b2 b3; do xca_log_mark "$b"; done
REQ=$(upload_crl b1 "$XCA_TMP/fy-expired.crl" factory-y)
WHY_EXP="the issuer's CRL has expired at depth 0 [(]sha256 $(sha e1 | cut -c1-16)[)]: the CRL of CN=Factory-Y CA is past its nextUpdate"
watch_drop e1@b3 b3 e1 "$WHY_EXP\$"
T0=$(xca__now_ms)
xca_check "uploadCRL of a CRL past its nextUpdate is accepted" reply_ok b1 "$REQ"
EXPIRED_LINE="x509ca: the CRL of CN=Factory-Y CA [(]issuer $(sha factory-y | cut -c1-16)[)] is past its nextUpdate [(][0-9]+[)]; "
xca_check "b1 (accept) reports it once" xca_wait_log b1 "${EXPIRED_LINE}it is still enforced [(]crl_expired accept[)]" 3
xca_check "b3 (refuse) reports it" xca_wait_log b3 "${EXPIRED_LINE}chains through its issuer are refused until a newer CRL is uploaded" 3
xca_check "e1's session on b3 (refuse) dropped within 1 s" drop_within e1@b3 "$T0"
xca_check "e1 connects on b1 (accept: still enforced, lists nothing)" connects b1 e1
xca_check_refused "e1 refused on b3 (refuse)" b3 "$(refusal e1 "$WHY_EXP")\$" connects b3 e1
xca_check "getStats crl/expired is 1 on b1" stat_is b1 crl/expired '==1'
sys_expired() {
    local port v
    port=$(xca__port b1 ADMIN)
    # shellcheck disable=SC2016 # a literal $SYS topic
    v=$(timeout 5 mosquitto_sub -h 127.0.0.1 -p "$port" -u "$XCA_ADMIN_USER" -P "$XCA_ADMIN_PASSWORD" \
        -t '$SYS/broker/x509ca/crl/expired' -C 1 -W 3)
    echo "crl/expired $v"
    [[ $v == 1 ]]
}
xca_wait_for "\$SYS/broker/x509ca/crl/expired is 1 on b1" 5 sys_expired
xca_check "a newer, current CRL is accepted" reply_ok b2 "$(upload_crl b2 "$XCA_TMP/fy-fresh.crl" factory-y)"
xca_wait_for "e1 connects on b3 again" 2 connects b3 e1
xca_wait_for "getStats crl/expired is 0 on b1 again" 3 stat_is b1 crl/expired '==0'

echo "# drop latencies (ms after the change): ${DROPS[*]}"
for b in b1 b2 b3; do xca_check "$b exits 0 on SIGTERM" xca_stop_broker "$b"; done
xca_done
