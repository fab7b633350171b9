#!/usr/bin/env bash
# A hostile-certificate corpus against one broker (README "Security model",
# step 1 and 2): forged signatures, rogue CAs and intermediates that copy a
# verified CA's name, chain loops, chains too deep or 50 certificates long,
# broken CA constraints, leaves that are CAs or server certificates,
# validity in the past or the future at every level, MD5/SHA-1 signatures,
# RSA-512/1024 keys, a curve outside the policy, hostile subject names
# (empty, absent, two CNs, `/` `+` `#`, NUL, non-ASCII, homoglyph), another
# identity's certificate, a 100 KB certificate and, last, a revoked leaf and
# a revoked intermediate. Every case is refused by the broker with its
# reason logged after the case began; the broker keeps its PID, its port and
# a device session opened before the corpus, and still serves a valid device.
#
# The material is generated on each run by hostile/make_corpus.py (nothing
# is checked in). The client (clients/xca_weak_connect.py) runs at OpenSSL
# security level 0 and sends all of it itself, so a refusal can only come
# from the broker: CONNACK 5 after a completed TLS handshake, or a handshake
# the broker aborted and logged.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
xca_setup
command -v python3 >/dev/null || { echo "# python3 not found" >&2; exit 1; }
CLIENT=$XCA_SOURCE_DIR/tests/integration/clients/xca_weak_connect.py
C=$XCA_TMP/corpus
MAX_DEPTH=3 # plugin_opt_max_chain_depth of the broker under test
python3 "$XCA_SOURCE_DIR/tests/integration/hostile/make_corpus.py" --dir "$C"
xca_server_cert

# --- Helpers ----------------------------------------------------------------
# connect CASE CLIENTID [ARGS...]: one CONNECT sending $C/CASE.chain.pem with
# $C/CASE.key; the client's status (0 accepted, 5 CONNACK 5, 6 TLS failure,
# 3 closed without CONNACK, 4 the client could not load its own material).
connect() {
    python3 "$CLIENT" --port "$B1_TLS_PORT" --cafile "$XCA_TMP/pki/server-ca.crt" \
        --cert "$C/$1.chain.pem" --key "$C/$1.key" --id "$2" "${@:3}"
}
# refused_by_broker CASE CLIENTID [ARGS...]: fails (status 1) exactly when
# the broker answered CONNACK 5 after the handshake. Any other outcome
# succeeds, so that xca_check_refused cannot pass on anything else.
refused_by_broker() {
    local rc=0
    connect "$@" || rc=$?
    ((rc == 5)) && return 1
    echo "not refused with CONNACK 5 (client status $rc)"
}
# aborted_by_broker CASE CLIENTID [ARGS...]: fails exactly when the TLS
# handshake failed (client status 6); xca_check_refused then requires the
# broker's own log line saying why it aborted it.
aborted_by_broker() {
    local rc=0
    connect "$@" || rc=$?
    ((rc == 6)) && return 1
    echo "the handshake did not fail (client status $rc)"
}
# ere TEXT: TEXT with the characters special to an extended regex escaped.
ere() { sed 's/[][\.*^$+?(){}|]/\\&/g' <<<"$1"; }
# logged TEXT: TEXT as the plugin logs client text (each byte outside
# printable ASCII becomes '?').
logged() { LC_ALL=C sed 's/[^ -~]/?/g' <<<"$1"; }
# refusal CLIENTID CN: the start of the plugin's refusal line for CLIENTID
# whose leaf's CN is CN ('' when the leaf has no usable CN).
refusal() { echo "x509ca: refused client '$(ere "$(logged "$1")")' \\(CN '$(ere "$(logged "$2")")'\\): "; }
CHAIN='certificate chain does not lead to a verified CA'
# chain_error OPENSSL_REASON DEPTH: the reason logged for a chain OpenSSL refused
# (both extended regexes).
chain_error() { echo "$CHAIN \\($1\\) at depth $2\$"; }
CASES=0 # hostile cases run
# hostile DESCRIPTION CASE CLIENTID CN REASON [ARGS...]: CASE's certificates,
# sent as CLIENTID, get CONNACK 5 and the refusal line naming CN and REASON
# (an extended regex, matched to the end of the line).
hostile() {
    local desc=$1 case=$2 id=$3 cn=$4 reason=$5
    shift 5
    CASES=$((CASES + 1))
    xca_check_refused "$desc" b1 "$(refusal "$id" "$cn")$reason" refused_by_broker "$case" "$id" "$@"
}
# hostile_tls DESCRIPTION CASE CLIENTID REASON [ARGS...]: the broker aborts
# CASE's handshake and logs OpenSSL's REASON (an extended regex), in either
# of Mosquitto's two forms (the handshake fails on accepting the connection
# or on a later read).
hostile_tls() {
    local desc=$1 case=$2 id=$3 regex=$4
    shift 4
    CASES=$((CASES + 1))
    xca_check_refused "$desc" b1 \
        "(OpenSSL Error\\[[0-9]+\\]: |Client connection from 127\\.0\\.0\\.1 failed: ).*$regex" \
        aborted_by_broker "$case" "$id" "$@"
}
ca_verified() {
    xca_rcli HSET "x509ca:ca:$1" certificate "$(cat "$C/$2.crt")" status verified >/dev/null
}
device() { xca_rcli HSET "x509ca:device:$1" status enabled "${@:2}" >/dev/null; }
broker_alive() {
    xca__is_child "$BROKER_PID" && [[ $(xca__pid broker-b1) == "$BROKER_PID" ]] &&
        xca__port_listening "$B1_TLS_PORT" && xca__port_listening "$B1_ADMIN_PORT"
}
log_size() { stat -c %s "$XCA_TMP/b1/mosquitto.log"; }
log_after() { tail -c +$(($1 + 1)) "$XCA_TMP/b1/mosquitto.log"; }

# --- Broker and registry ------------------------------------------------------
xca_start_redis
# The admin may write to the held device session's topic (from the plain listener).
printf 'user %s\ntopic write devices/hv-live/messages/devicebound/#\n' "$XCA_ADMIN_USER" \
    >"$XCA_TMP/acl"
xca_start_broker b1 "plugin_opt_max_chain_depth $MAX_DEPTH" "acl_file $XCA_TMP/acl"
BROKER_PID=$(xca__pid broker-b1)
xca_wait_for "b1 connected to Redis" 5 xca_log_has b1 'x509ca: connected to Redis'
for d in hv-good hv-live hv-victim hv-attacker hv-victim/telemetry hv-revoked \
         hv-revoked-inter hv-twin-a hv-twin-b; do
    device "$d"
done
for d in hv-ss-a hv-ss-b; do
    device "$d" authentication selfSigned primaryThumbprint "$(<"$C/$d.sha256")"
done
xca_log_mark b1
for ca in root anchor-inter root-pathlen0 root-expired root-future rsa-root weak-root; do
    ca_verified "$ca" "$ca"
done
xca_check "the RSA-1024 root verified in Redis is not trusted, with its reason" xca_wait_log b1 \
    "x509ca: CA 'weak-root' is marked verified but breaks the certificate policy: certificate key too weak \(RSA 1024 bits < 2048\); not trusted"

# --- Controls: the same generator makes material the broker accepts -----------
xca_wait_for "control: a valid device (leaf + intermediate) is accepted" 5 connect hv-good hv-good
xca_check "control: the victim's own certificate is accepted" connect hv-victim hv-victim
xca_check "control: the attacker's own certificate is accepted" connect hv-attacker hv-attacker
xca_check "control: a chain exactly $MAX_DEPTH intermediates deep is accepted" \
    connect depth-3 hv-victim
xca_check "control: a leaf of the intermediate verified on its own is accepted" \
    connect anchor-leaf hv-victim
xca_check "control: the selfSigned device is accepted by its thumbprint" connect hv-ss-a hv-ss-a
xca_check "control: the leaf revoked at the end is accepted now" connect hv-revoked hv-revoked
xca_check "control: the leaf under the intermediate revoked at the end is accepted now" \
    connect hv-revoked-inter hv-revoked-inter
# A device session held open through the whole corpus.
xca_bg live timeout 300 mosquitto_sub -h 127.0.0.1 -p "$B1_TLS_PORT" \
    --cafile "$XCA_TMP/pki/server-ca.crt" --cert "$C/hv-live.chain.pem" --key "$C/hv-live.key" \
    -i hv-live -q 1 -C 1 -W 290 -t 'devices/hv-live/messages/devicebound/#'
xca_wait_for "control: a device session is open before the corpus" 5 \
    xca_log_has b1 'Sending SUBACK to hv-live'
LIVE_MARK=$(log_size)

# --- Forged signatures ----------------------------------------------------------
# The cases marked "until the error queue is cleared" fail today: the
# plugin's chain check leaves the signature failure on OpenSSL's error
# queue, and Mosquitto takes it for an error of the connection whose read
# comes back empty next: usually this one, closed before its CONNECT is read
# (no CONNACK, no x509ca line, only "OpenSSL Error[0]: error:06880006:asn1
# encoding routines::EVP lib"). When the CONNECT arrived with the end of the
# handshake the case passes, and the error hits another connection (see
# "A refused certificate does not disturb another device" below).
SIGFAIL='certificate signature failure'
# Where the claimed issuer is a verified CA, found through the plugin's own
# index, an index that only offers issuers whose key verifies the signature
# says the other thing; either is a refusal for the right reason.
NOT_ITS_ISSUER="($SIGFAIL|unable to get local issuer certificate)"
hostile "leaf whose signature bytes are altered" \
    forged-leaf-sig hv-victim hv-victim "$(chain_error "$SIGFAIL" 0)"
hostile "intermediate whose signature bytes are altered" \
    forged-inter-sig hv-victim hv-victim "$(chain_error "$NOT_ITS_ISSUER" 1)"
hostile "leaf whose CN was edited after signing" \
    forged-tbs-cn hv-victim hv-victim "$(chain_error "$SIGFAIL" 0)"

# --- Rogue CAs with the name of a verified one ----------------------------------
hostile "leaf of a rogue root with the verified root's DN (another key)" \
    rogue-root hv-victim hv-victim "$(chain_error 'unable to get local issuer certificate' 0)"
hostile "... whose leaf names the verified root's key id" \
    rogue-root-akid hv-victim hv-victim "$(chain_error "$NOT_ITS_ISSUER" 0)"
hostile "... with the rogue root sent along in the chain" \
    rogue-root-sent hv-victim hv-victim "$(chain_error 'self-signed certificate in certificate chain' 1)"
hostile "rogue intermediate with the real one's DN and key id" \
    rogue-inter hv-victim hv-victim "$(chain_error "$NOT_ITS_ISSUER" 1)"
# (Refused at the leaf, or, when the real anchor is not offered for it, at
# the rogue copy sent along, whose issuer is unknown.)
hostile "rogue copy of an intermediate verified on its own" \
    rogue-anchor hv-victim hv-victim "$(chain_error "$NOT_ITS_ISSUER" '[01]')"

# --- Chain structure -------------------------------------------------------------
hostile "chain loop: A signs B signs A" \
    loop hv-victim hv-victim "$(chain_error 'unable to get local issuer certificate' 2)"
hostile "chain loop sent ten times over" \
    loop-repeated hv-victim hv-victim "$(chain_error 'unable to get local issuer certificate' 2)"
hostile "chain one intermediate deeper than max_chain_depth $MAX_DEPTH" \
    depth-4 hv-victim hv-victim "$(chain_error 'certificate chain too long' $((MAX_DEPTH + 1)))"
hostile "50-certificate chain to the verified root" \
    chain-50 hv-victim hv-victim "$(chain_error 'certificate chain too long' $((MAX_DEPTH + 1)))"
hostile "intermediate pathlen:0 with a CA below it" \
    pathlen-inter hv-victim hv-victim "$(chain_error 'path length constraint exceeded' 2)"
hostile "verified root pathlen:0 with an intermediate below it" \
    pathlen-root hv-victim hv-victim "$(chain_error 'path length constraint exceeded' 2)"
hostile "CA:FALSE intermediate" \
    inter-ca-false hv-victim hv-victim "$(chain_error 'invalid CA certificate' 1)"
hostile "intermediate without basicConstraints" \
    inter-no-bc hv-victim hv-victim "$(chain_error 'invalid CA certificate' 1)"
hostile "intermediate whose keyUsage lacks keyCertSign" \
    inter-no-certsign hv-victim hv-victim "$(chain_error 'invalid CA certificate' 1)"

# --- Leaf usages -------------------------------------------------------------------
hostile "CA:TRUE leaf" leaf-ca-true hv-victim hv-victim \
    'client certificate is a CA certificate \(CA:TRUE\) at depth 0$'
hostile "leaf with extendedKeyUsage serverAuth only" leaf-eku-server hv-victim hv-victim \
    'client certificate extendedKeyUsage lacks clientAuth at depth 0$'
hostile "leaf whose keyUsage lacks digitalSignature" leaf-no-digsig hv-victim hv-victim \
    'client certificate keyUsage lacks digitalSignature at depth 0$'

# --- Validity at every level --------------------------------------------------------
hostile "expired leaf" leaf-expired hv-victim hv-victim \
    "$(chain_error 'certificate has expired' 0)"
hostile "not-yet-valid leaf" leaf-future hv-victim hv-victim \
    "$(chain_error 'certificate is not yet valid' 0)"
hostile "expired intermediate" inter-expired hv-victim hv-victim \
    "$(chain_error 'certificate has expired' 1)"
hostile "not-yet-valid intermediate" inter-future hv-victim hv-victim \
    "$(chain_error 'certificate is not yet valid' 1)"
hostile "expired verified root" root-expired hv-victim hv-victim \
    "$(chain_error 'certificate has expired' 2)"
hostile "not-yet-valid verified root" root-future hv-victim hv-victim \
    "$(chain_error 'certificate is not yet valid' 2)"

# --- Weak digests, keys and curves ----------------------------------------------------
hostile "MD5-signed leaf" leaf-md5 hv-victim hv-victim \
    'certificate signature digest too weak \(md5WithRSAEncryption < SHA-256\) at depth 0$'
hostile "SHA-1-signed leaf" leaf-sha1 hv-victim hv-victim \
    'certificate signature digest too weak \(sha1WithRSAEncryption < SHA-256\) at depth 0$'
hostile "SHA-1-signed intermediate" inter-sha1 hv-victim hv-victim \
    'certificate signature digest too weak \(ecdsa-with-SHA1 < SHA-256\) at depth 1$'
# RSA-512 cannot sign TLS 1.3's RSA-PSS: the client uses TLS 1.2 for it.
hostile "RSA-512 leaf" leaf-rsa512 hv-victim hv-victim \
    'certificate key too weak \(RSA 512 bits < 2048\) at depth 0$' --tls12
hostile "RSA-1024 leaf" leaf-rsa1024 hv-victim hv-victim \
    'certificate key too weak \(RSA 1024 bits < 2048\) at depth 0$'
hostile "RSA-1024 intermediate" inter-rsa1024 hv-victim hv-victim \
    'certificate key too weak \(RSA 1024 bits < 2048\) at depth 1$'
hostile "leaf of the RSA-1024 root verified in Redis" root-rsa1024 hv-victim hv-victim \
    "$(chain_error 'unable to get local issuer certificate' 0)"
# TLS 1.3 has no signature scheme for secp256k1 (the client would send no
# certificate at all); over TLS 1.2 the broker's TLS layer refuses the curve.
hostile_tls "secp256k1 leaf: the broker aborts the handshake" leaf-secp256k1 hv-victim \
    'wrong curve' --tls12

# --- Subject names ----------------------------------------------------------------------
NOCN='certificate CN does not match the client id$'
hostile "empty CN" cn-empty hv-victim '' "$NOCN"
hostile "no CN at all" cn-absent hv-victim '' "$NOCN"
hostile "two CNs, the victim's first" cn-two-victim-first hv-victim '' "$NOCN"
hostile "two CNs, the victim's last" cn-two-victim-last hv-victim '' "$NOCN"
hostile "two CNs in one multi-valued RDN" cn-multivalued-rdn hv-victim '' "$NOCN"
hostile "CN 'hv-victim\\0.evil' (NUL inside)" cn-nul-inside hv-victim '' "$NOCN"
hostile "CN 'hv-victim\\0' (trailing NUL)" cn-nul-trailing hv-victim '' "$NOCN"
hostile "CN with a Cyrillic homoglyph of the victim's id" cn-homoglyph hv-victim $'hv-v\xd1\x96ctim' \
    "$NOCN"
hostile "CN and client id with '/' twice" cn-slash hv-victim/evil/x hv-victim/evil/x \
    'invalid identity id$'
hostile "CN and client id with '+'" cn-plus 'hv-victim+' 'hv-victim+' 'invalid identity id$'
hostile "CN and client id with '#'" cn-hash 'hv-victim#' 'hv-victim#' 'invalid identity id$'
hostile "non-ASCII CN and client id" cn-non-ascii $'hv-v\xc3\xafctim' $'hv-v\xc3\xafctim' \
    'invalid identity id$'

# --- Another identity's certificate --------------------------------------------------------
hostile "the victim's certificate used by the attacker" hv-victim hv-attacker hv-victim "$NOCN"
hostile "the attacker's certificate used as the victim" hv-attacker hv-victim hv-attacker "$NOCN"
hostile "a device's certificate used for its module" hv-victim hv-victim/telemetry hv-victim \
    "$NOCN"
hostile "a selfSigned certificate presented for another selfSigned identity" hv-ss-a hv-ss-b \
    hv-ss-a 'certificate thumbprint does not match the registry$'
hostile "a selfSigned certificate presented for a CA-authenticated identity" hv-ss-a hv-victim \
    hv-ss-a "$(chain_error 'self-signed certificate' 0)"

# --- Size ---------------------------------------------------------------------------------
hostile_tls "100 KB certificate: the broker aborts the handshake" cert-100k hv-victim \
    'excessive message size'
hostile "60 KB certificate with an unknown critical extension" cert-60k-critical hv-victim \
    hv-victim "$(chain_error 'unhandled critical extension' 0)"

# --- A refused certificate does not disturb another device ---------------------------
# The bystander (clients/xca_bystander.py) is a device left in the middle
# of a PUBLISH while an attacker connects; then it completes the packet
# and pings. With a forged signature it fails today: the error OpenSSL
# queued in the plugin's chain check outlives the attacker's refusal, and
# Mosquitto blames the next connection that reads or writes nothing on it
# (the bystander: "Client hv-good disconnected: Protocol error.").
BYSTANDER=$XCA_SOURCE_DIR/tests/integration/clients/xca_bystander.py
# bystander_survives CASE CLIENTID CN REASON: the attacker sending CASE as
# CLIENTID gets CONNACK 5 with its refusal line (CN and REASON as for
# hostile), and the bystander hv-good gets its PINGRESP.
bystander_survives() {
    local rc=0
    xca_log_mark b1
    python3 "$BYSTANDER" --port "$B1_TLS_PORT" --cafile "$XCA_TMP/pki/server-ca.crt" \
        --cert "$C/hv-good.chain.pem" --key "$C/hv-good.key" --id hv-good \
        --topic devices/hv-good/messages/events/ --attack-cert "$C/$1.chain.pem" \
        --attack-key "$C/$1.key" --attack-id "$2" | tee "$XCA_TMP/bystander.out" || rc=$?
    grep -qx 'attacker: connack 5' "$XCA_TMP/bystander.out" &&
        xca_wait_log b1 "$(refusal "$2" "$3")$4" && ((rc == 0))
}
xca_check "control: a device mid-packet survives a refused certificate (another device's)" \
    bystander_survives hv-attacker hv-victim hv-attacker "$NOCN"
CASES=$((CASES + 1))
xca_check "a device mid-packet survives a forged signature" \
    bystander_survives forged-leaf-sig hv-victim hv-victim "$(chain_error "$SIGFAIL" 0)"

# --- After the corpus ----------------------------------------------------------------------
xca_check "$CASES hostile cases ran (at least 40)" test "$CASES" -ge 40
xca_check "the broker is alive: same PID ($BROKER_PID), both ports listening" broker_alive
xca_check "a valid device is still served" connect hv-good hv-good
# admin_lists_cas: listCAs over the admin listener answers with the CAs.
admin_lists_cas() {
    xca_admin_rr b1 '{"commands":[{"command":"listCAs"}]}' | python3 -c '
import json, sys
names = [ca["name"] for ca in json.load(sys.stdin)["responses"][0]["data"]["cas"]]
print(names)
sys.exit(0 if "root" in names else 1)'
}
xca_check "the admin listener still answers" admin_lists_cas
xca_check "the device session opened before the corpus was never dropped or reopened" \
    test "$(log_after "$LIVE_MARK" | grep -Ec 'as hv-live |Client hv-live ')" = 0
xca_check "... and it still receives" \
    mosquitto_pub -h 127.0.0.1 -p "$B1_ADMIN_PORT" -u "$XCA_ADMIN_USER" -P "$XCA_ADMIN_PASSWORD" \
    -q 1 -t devices/hv-live/messages/devicebound/after -m survived
xca_check "... the message arrived" xca_bg_wait live 10
xca_check "... intact" grep -qx survived "$XCA_TMP/live.out"

# --- A verified CA with another verified CA's name and key id -------------------------------
# Fails today: the trust index offers only the first CA whose name and key
# id match (the one verified last), so the chains of the other are refused
# (with the error-queue bug above: closed without CONNACK).
ca_verified twin-a twin-a
xca_wait_for "control: a device of CA twin-a is accepted" 5 connect hv-twin-a hv-twin-a
ca_verified twin-b twin-b
xca_wait_for "a device of twin-b (same DN and key id, another key) is accepted" 5 \
    connect hv-twin-b hv-twin-b
xca_check "a device of twin-a is still accepted once twin-b is verified" \
    connect hv-twin-a hv-twin-a

# --- Revocation (x509ca:revoked:<sha256>) ---------------------------------------------------
# Written with redis-cli as README "Revocation" documents; the refusal
# names the revoked certificate's depth and thumbprint and why.
revoke() { xca_rcli HSET "x509ca:revoked:$(<"$C/$1.sha256")" reason keyCompromise >/dev/null; }
revoked_why() {
    echo "certificate is revoked at depth $1 \\(sha256 $(cut -c1-16 "$C/$2.sha256")\\): revoked \\(keyCompromise\\)\$"
}
revoke hv-revoked
CASES=$((CASES + 1))
xca_wait_for "a revoked leaf is refused, 'revoked (keyCompromise)' at depth 0 logged" 3 \
    xca_refused b1 "$(refusal hv-revoked hv-revoked)$(revoked_why 0 hv-revoked)" \
    refused_by_broker hv-revoked hv-revoked
revoke inter-revoked
CASES=$((CASES + 1))
xca_wait_for "a leaf under a revoked intermediate is refused, the intermediate (depth 1) logged" 3 \
    xca_refused b1 "$(refusal hv-revoked-inter hv-revoked-inter)$(revoked_why 1 inter-revoked)" \
    refused_by_broker hv-revoked-inter hv-revoked-inter

echo "# $CASES hostile certificate cases"
xca_check "the broker is still alive after everything (PID $BROKER_PID)" broker_alive
xca_check "b1 exits 0 on SIGTERM" xca_stop_broker b1
xca_done
