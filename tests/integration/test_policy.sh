#!/usr/bin/env bash
# The certificate policy (README "How a device connects") on a real broker:
# weak keys (RSA-512, RSA-1024), weak signatures (SHA-1, MD5), a weak root CA
# verified in Redis, a CA:TRUE leaf and leaves without digitalSignature or
# clientAuth are refused with their reason and depth in the log; RSA-2048,
# EC P-256 and P-384 leaves connect; plugin_opt_min_rsa_bits moves the RSA
# bar (and refuses values below 2048); uploadCA and verifyCA refuse weak
# certificates with the reason in the reply.
#
# The client (clients/xca_weak_connect.py) runs at OpenSSL security level 0,
# so it loads and sends all this material itself: a refusal it reports as
# CONNACK 5 came from the broker, after a completed TLS handshake. A stock
# Mosquitto at security level 0 accepts the same weak material from the
# same client; at the default level it refuses it, as x509ca now does.
# shellcheck disable=SC2016 # literal $CONTROL topics
set -euo pipefail
source "$(dirname "$0")/lib.sh"
xca_setup
command -v python3 >/dev/null || { echo "# python3 not found" >&2; exit 1; }
CLIENT=$XCA_SOURCE_DIR/tests/integration/clients/xca_weak_connect.py
P=$XCA_TMP/pki

# --- PKI ------------------------------------------------------------------
xca_pki root good-root >/dev/null                           # EC P-256
xca_pki --rsa root rsa-root >/dev/null                      # RSA-2048
xca_pki --rsa-bits 1024 --md md5 root weak-root >/dev/null  # RSA-1024, MD5
xca_pki --rsa-bits 512 device rsa512 --ca good-root >/dev/null
xca_pki --rsa-bits 1024 device rsa1024 --ca good-root >/dev/null
xca_pki --md sha1 device sha1 --ca rsa-root >/dev/null
xca_pki --md md5 device md5 --ca rsa-root >/dev/null
xca_pki device under-weak --ca weak-root >/dev/null         # a good leaf, weak root
xca_pki device leaf-ca --ca good-root --leaf-ca >/dev/null
xca_pki device no-digsig --ca good-root --key-usage keyEncipherment >/dev/null
xca_pki device server-only --ca good-root --eku serverAuth >/dev/null
xca_pki --rsa device rsa2048 --ca good-root >/dev/null
xca_pki device p256 --ca good-root >/dev/null
xca_pki --curve P-384 device p384 --ca good-root >/dev/null
xca_pki --rsa-bits 3072 device rsa3072 --ca good-root >/dev/null
xca_pki root fresh-root >/dev/null                          # for uploadCA
xca_pki --rsa-bits 1024 selfsigned ss-weak >/dev/null       # thumbprint device, RSA-1024
xca_pki --rsa selfsigned ss-good >/dev/null                 # thumbprint device, RSA-2048
for d in ss-weak ss-good; do cp "$P/$d.crt" "$P/$d.chain.pem"; done
xca_server_cert

# --- Helpers --------------------------------------------------------------
# connect BROKER CERTBASE CLIENTID [ARGS...]: one CONNECT with the weak-crypto
# client over BROKER's TLS listener (or the port in $PORT when BROKER is
# "-"); its exit status (0 accepted, 5 CONNACK 5, 6 TLS failure, ...).
connect() {
    local port=${PORT:-}
    [[ $1 == - ]] || port=$(xca__port "$1" TLS)
    python3 "$CLIENT" --port "$port" --cafile "$P/server-ca.crt" --cert "$P/$2.chain.pem" \
        --key "$P/$2.key" --id "$3" "${@:4}"
}
# refused_by_broker BROKER CERTBASE CLIENTID [ARGS...]: fails (status 1)
# exactly when the broker answered CONNACK 5 (not authorized). Any other
# outcome succeeds, so that xca_check_refused cannot pass on a TLS failure
# or on the client failing to load its own material.
refused_by_broker() {
    local rc=0
    connect "$@" || rc=$?
    ((rc == 5)) && return 1
    echo "not refused with CONNACK 5 (client status $rc)"
}
# stock_connect PORT CERTBASE [ARGS...]: the same client to a stock broker's
# listener on PORT, as the admin user (stock Mosquitto needs a password).
stock_connect() {
    PORT=$1 connect - "$2" "stock-$2" --username "$XCA_ADMIN_USER" --password "$XCA_ADMIN_PASSWORD" \
        "${@:3}"
}
# stock_accepts CERTBASE [ARGS...]: the level-0 stock listener accepts it.
stock_accepts() { stock_connect "$STOCK_LOW" "$@"; }
device() { xca_rcli HSET "x509ca:device:$1" status enabled >/dev/null; }
ca_verified() { xca_rcli HSET "x509ca:ca:$1" certificate "$(cat "$P/$1.crt")" status verified >/dev/null; }
# refusal_line ID REASON: the log line of a refused connect (REASON a regex).
refusal_line() { echo "x509ca: refused client '$1' \\(CN '$1'\\): $2"; }
# request COMMAND [NAME=VALUE | NAME=@FILE]...: one admin request as JSON.
request() {
    python3 - "$@" <<'EOF'
import json, sys
cmd = {"command": sys.argv[1]}
for arg in sys.argv[2:]:
    name, value = arg.split("=", 1)
    cmd[name] = open(value[1:]).read() if value.startswith("@") else value
print(json.dumps({"commands": [cmd]}))
EOF
}
# admin REGEX COMMAND ARGS...: send the request; the reply's "error" must
# match REGEX ("" = success: a "data" object and no error). The reply is
# saved in $XCA_TMP/reply.
admin() {
    local want=$1 out
    shift
    out=$(xca_admin_rr b1 "$(request "$@")") || { echo "no reply"; return 1; }
    printf '%s\n' "$out" | tee "$XCA_TMP/reply"
    python3 - "$want" "$out" <<'EOF'
import json, re, sys
want, reply = sys.argv[1], json.loads(sys.argv[2])["responses"][0]
if want == "":
    sys.exit(0 if "data" in reply and "error" not in reply else 1)
sys.exit(0 if "data" not in reply and re.search(want, reply.get("error", "")) else 1)
EOF
}
reply_get() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["responses"][0]["data"][sys.argv[2]])' "$XCA_TMP/reply" "$1"; }
key_absent() { [[ $(xca_rcli EXISTS "$1") == 0 ]]; }
hget() { [[ $(xca_rcli HGET "$1" "$2") == "$3" ]]; }

# --- Servers --------------------------------------------------------------
xca_start_redis
xca_start_broker b1
xca_wait_for "b1 connected to Redis" 5 xca_log_has b1 'x509ca: connected to Redis'
for d in rsa512 rsa1024 sha1 md5 under-weak leaf-ca no-digsig server-only rsa2048 p256 p384 \
         rsa3072; do
    device "$d"
done
ca_verified good-root
ca_verified rsa-root
xca_wait_for "the good roots are trusted" 5 connect b1 p256 p256

# --- Good material connects -----------------------------------------------
xca_check "RSA-2048 leaf accepted" connect b1 rsa2048 rsa2048
xca_check "EC P-256 leaf accepted" connect b1 p256 p256
xca_check "EC P-384 leaf accepted" connect b1 p384 p384
xca_check "the acceptance is logged" xca_log_has b1 "x509ca: accepted client 'p384'"

# --- A thumbprint device has no chain, but its key must be strong ---------
for d in ss-weak ss-good; do
    xca_rcli HSET "x509ca:device:$d" authentication selfSigned \
        primaryThumbprint "$(sed -n 's/^sha256=//p' "$P/$d.thumbprints")" >/dev/null
done
xca_check "selfSigned RSA-2048 device accepted" connect b1 ss-good ss-good
xca_check_refused "selfSigned RSA-1024 device refused: key too weak" b1 \
    "x509ca: refused client 'ss-weak' \\(CN 'ss-weak'\\): certificate key too weak" \
    refused_by_broker b1 ss-weak ss-weak

# --- Weak leaves are refused, with what and at which depth ----------------
# RSA-512 cannot sign TLS 1.3's RSA-PSS: the client uses TLS 1.2 for it.
xca_check_refused "RSA-512 leaf refused: key too weak at depth 0" b1 \
    "$(refusal_line rsa512 'certificate key too weak \(RSA 512 bits < 2048\) at depth 0')" \
    refused_by_broker b1 rsa512 rsa512 --tls12
xca_check_refused "RSA-1024 leaf refused: key too weak at depth 0" b1 \
    "$(refusal_line rsa1024 'certificate key too weak \(RSA 1024 bits < 2048\) at depth 0')" \
    refused_by_broker b1 rsa1024 rsa1024
xca_check_refused "SHA-1-signed leaf refused: digest too weak at depth 0" b1 \
    "$(refusal_line sha1 'certificate signature digest too weak \(sha1WithRSAEncryption < SHA-256\) at depth 0')" \
    refused_by_broker b1 sha1 sha1
xca_check_refused "MD5-signed leaf refused: digest too weak at depth 0" b1 \
    "$(refusal_line md5 'certificate signature digest too weak \(md5WithRSAEncryption < SHA-256\) at depth 0')" \
    refused_by_broker b1 md5 md5
xca_check_refused "CA:TRUE leaf refused" b1 \
    "$(refusal_line leaf-ca 'client certificate is a CA certificate \(CA:TRUE\) at depth 0')" \
    refused_by_broker b1 leaf-ca leaf-ca
xca_check_refused "leaf whose keyUsage lacks digitalSignature refused" b1 \
    "$(refusal_line no-digsig 'client certificate keyUsage lacks digitalSignature at depth 0')" \
    refused_by_broker b1 no-digsig no-digsig
xca_check_refused "leaf with extendedKeyUsage serverAuth only refused" b1 \
    "$(refusal_line server-only 'client certificate extendedKeyUsage lacks clientAuth at depth 0')" \
    refused_by_broker b1 server-only server-only

# --- A weak root verified in Redis is ignored ------------------------------
xca_log_mark b1
ca_verified weak-root
xca_check "RSA-1024/MD5 root verified in Redis: ignored with its reason" xca_wait_log b1 \
    "x509ca: CA 'weak-root' is marked verified but breaks the certificate policy: certificate key too weak \(RSA 1024 bits < 2048\); not trusted"
xca_check_refused "good leaf under the ignored weak root refused" b1 \
    "$(refusal_line under-weak 'certificate chain does not lead to a verified CA \(unable to get local issuer certificate\) at depth 0')" \
    refused_by_broker b1 under-weak under-weak

# --- plugin_opt_min_rsa_bits ---------------------------------------------
# b2 starts with the weak root already verified: its initial load ignores it.
xca_start_broker b2 "plugin_opt_min_rsa_bits 3072"
xca_wait_for "b2 connected to Redis" 5 xca_log_has b2 'x509ca: connected to Redis'
xca_check "b2's initial load ignores the weak root" xca_log_has b2 \
    "x509ca: CA 'weak-root' is marked verified but breaks the certificate policy: certificate key too weak \(RSA 1024 bits < 3072\); not trusted"
xca_check "min_rsa_bits 3072: RSA-3072 leaf accepted" connect b2 rsa3072 rsa3072
xca_check_refused "min_rsa_bits 3072: RSA-2048 leaf refused" b2 \
    "$(refusal_line rsa2048 'certificate key too weak \(RSA 2048 bits < 3072\) at depth 0')" \
    refused_by_broker b2 rsa2048 rsa2048
xca_check "min_rsa_bits 3072: RSA-2048 root refused as an anchor" xca_log_has b2 \
    "x509ca: CA 'rsa-root' is marked verified but breaks the certificate policy: certificate key too weak \(RSA 2048 bits < 3072\)"
xca_check "min_rsa_bits 3072: EC leaves still accepted" connect b2 p256 p256
xca_check "default broker still accepts that RSA-2048 leaf" connect b1 rsa2048 rsa2048
# RSA-1024 can never be allowed: the option starts at 2048.
xca_check "min_rsa_bits 1024 stops the broker" xca_start_broker_expect_fail b3 \
    "plugin_opt_min_rsa_bits 1024"
xca_check "and says why" xca_log_has b3 \
    "x509ca: plugin_opt_min_rsa_bits: '1024' is not an integer in \[2048, 16384\]"
xca_check "min_rsa_bits 16385 stops the broker" xca_start_broker_expect_fail b4 \
    "plugin_opt_min_rsa_bits 16385"
xca_check "and says why" xca_log_has b4 "plugin_opt_min_rsa_bits: '16385' is not an integer"

# --- The client is not what refuses ----------------------------------------
# Stock Mosquitto (no plugin), its own cafile with every root. One listener
# at security level 0, one at the default level.
cat "$P/good-root.crt" "$P/rsa-root.crt" "$P/weak-root.crt" "$P/ss-weak.crt" >"$XCA_TMP/all-roots.pem"
STOCK_LOW=$(xca_free_port)
STOCK_DEFAULT=$(xca_free_port)
XCA_NO_PLUGIN=1 xca_start_broker stock <<EOF
listener $STOCK_LOW 127.0.0.1
certfile $P/server.crt
keyfile $P/server.key
cafile $XCA_TMP/all-roots.pem
require_certificate true
ciphers DEFAULT:@SECLEVEL=0
listener $STOCK_DEFAULT 127.0.0.1
certfile $P/server.crt
keyfile $P/server.key
cafile $XCA_TMP/all-roots.pem
require_certificate true
EOF
xca_wait_for "stock listeners up" 5 xca__port_listening "$STOCK_DEFAULT"
xca_check "stock Mosquitto at level 0 accepts the RSA-512 leaf from this client" \
    stock_accepts rsa512 --tls12
xca_check "... the RSA-1024 leaf" stock_accepts rsa1024
xca_check "... the SHA-1-signed leaf" stock_accepts sha1
xca_check "... the MD5-signed leaf" stock_accepts md5
xca_check "... the leaf under the RSA-1024/MD5 root" stock_accepts under-weak
xca_check "... the CA:TRUE leaf" stock_accepts leaf-ca
xca_check "... the RSA-1024 self-signed device certificate" stock_accepts ss-weak
# Stock Mosquitto logs no more than this as its reason, as "OpenSSL
# Error[0]: ...certificate verify failed" or "Client connection from ...
# failed: ...certificate verify failed." depending on where the handshake
# stopped.
STOCK_REFUSAL='certificate verify failed'
xca_check_refused "stock Mosquitto at the default level refuses the RSA-1024 leaf" stock \
    "$STOCK_REFUSAL" stock_connect "$STOCK_DEFAULT" rsa1024
xca_check_refused "... the SHA-1-signed leaf" stock "$STOCK_REFUSAL" \
    stock_connect "$STOCK_DEFAULT" sha1
xca_check_refused "... the MD5-signed leaf" stock "$STOCK_REFUSAL" \
    stock_connect "$STOCK_DEFAULT" md5
xca_check_refused "... the RSA-1024 self-signed certificate" stock "$STOCK_REFUSAL" \
    stock_connect "$STOCK_DEFAULT" ss-weak
xca_check "... and accepts a good leaf" stock_connect "$STOCK_DEFAULT" p256
xca_stop_broker stock

# --- Admin uploads ----------------------------------------------------------
xca_log_mark b1
xca_check "uploadCA refuses the RSA-1024/MD5 root with its reason" admin \
    '^certificate key too weak \(RSA 1024 bits < 2048\)$' \
    uploadCA name=weak-up "certificate=@$P/weak-root.crt"
xca_check "nothing stored" key_absent x509ca:ca:weak-up
xca_check "the audit line names the reason" xca_wait_log b1 \
    'audit admin=admin command=uploadCA target=ca:weak-up result=error \(certificate key too weak \(RSA 1024 bits < 2048\)\)'
xca_check "uploadCA of a good root still works" admin '' \
    uploadCA name=fresh "certificate=@$P/fresh-root.crt"
CODE=$(reply_get verificationCode)
xca_pki --md sha1 verification "$CODE" --ca fresh-root --out "$P/proof-sha1.crt" >/dev/null
xca_pki verification "$CODE" --ca fresh-root --out "$P/proof.crt" >/dev/null
xca_check "verifyCA refuses a SHA-1-signed verification certificate" admin \
    '^certificate signature digest too weak \(verification certificate: ecdsa-with-SHA1 < SHA-256\)$' \
    verifyCA name=fresh "certificate=@$P/proof-sha1.crt"
xca_check "the CA stays unverified" hget x509ca:ca:fresh status unverified
xca_check "verifyCA accepts the SHA-256 verification certificate" admin '' \
    verifyCA name=fresh "certificate=@$P/proof.crt"
xca_check "the CA is verified" hget x509ca:ca:fresh status verified

xca_stop_broker b2
xca_check "b1 stops cleanly" xca_stop_broker b1
xca_done
