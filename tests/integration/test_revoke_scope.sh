#!/usr/bin/env bash
# Revocation: what a CRL and a revocation key cover (README "Revocation"),
# with real Redis, one broker and real TLS clients on Company-X root ->
# Factory-Y -> Technician-Z -> devices:
# - a CRL's scope is its issuer's name and key: Factory-Y's CRL listing
#   Technician-Z refuses a device that sends a re-issued Factory-Y (same
#   name and key, another serial and certificate) as it refuses one that
#   sends Factory-Y's own certificate, reason logged, and drops a live
#   session whose chain holds the re-issued copy when the CRL arrives;
# - only the canonical key x509ca:revoked:<64 lowercase hex> revokes: an
#   uppercase or ':'-separated key name is ignored, with a warning naming
#   it, alike when written at run time and when present at start-up; the
#   lowercase key revokes in both cases.
# shellcheck disable=SC2317 # helpers run through xca_check
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
xca_setup
PY=python3
[[ -x /usr/bin/python3 ]] && PY=/usr/bin/python3

# --- PKI ------------------------------------------------------------------
xca_pki root company-x --cn "Company-X Root CA" >/dev/null
xca_pki intermediate factory-y --ca company-x --cn "Factory-Y CA" >/dev/null
xca_pki intermediate technician-z --ca factory-y --cn "Technician-Z CA" >/dev/null
for d in wz1 wz2 u1 u2 u3 u4 u5; do xca_pki device "$d" --ca technician-z >/dev/null; done
xca_server_cert
P=$XCA_TMP/pki
sha() { openssl x509 -in "$P/$1.crt" -outform DER | sha256sum | cut -d' ' -f1; }

# Factory-Y re-issued by Company-X: a renewal, same subject and key, another
# serial and validity.
cat >"$XCA_TMP/renewal.cnf" <<'EOF'
[v3]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
openssl req -new -key "$P/factory-y.key" -subj "/CN=Factory-Y CA" -out "$XCA_TMP/fy2.csr"
openssl x509 -req -in "$XCA_TMP/fy2.csr" -CA "$P/company-x.crt" -CAkey "$P/company-x.key" \
    -set_serial 777 -days 30 -sha256 -extfile "$XCA_TMP/renewal.cnf" -extensions v3 \
    -out "$P/factory-y2.crt" 2>/dev/null
xca_check "the re-issued Factory-Y has Factory-Y's subject and key, not its certificate" bash -c "
    [[ \$(openssl x509 -in '$P/factory-y2.crt' -noout -subject) == \$(openssl x509 -in '$P/factory-y.crt' -noout -subject) ]] &&
    [[ \$(openssl x509 -in '$P/factory-y2.crt' -noout -pubkey) == \$(openssl x509 -in '$P/factory-y.crt' -noout -pubkey) ]] &&
    [[ '$(sha factory-y2)' != '$(sha factory-y)' ]]"
# DEVICE-y2: the device's certificate and key sending Technician-Z and the
# re-issued Factory-Y.
for d in wz1 wz2; do
    cat "$P/$d.crt" "$P/technician-z.crt" "$P/factory-y2.crt" >"$P/$d-y2.chain.pem"
    cp "$P/$d.key" "$P/$d-y2.key"
done

# make_crl ISSUER OUT [CERTBASE...]: a CRL by ISSUER listing the CERTBASEs
# (thisUpdate a minute ago, nextUpdate in a day).
make_crl() { xca_make_crl "$1" "$2" -60 86400 "${@:3}"; }
# reply BROKER JSON: the single response has no error; prints it.
reply() {
    local out
    out=$(xca_admin_rr "$1" "$2") || return 1
    echo "$out"
    "$PY" -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["responses"][0].get("error") is None else 1)' <<<"$out"
}
# connects CERTBASE [CLIENTID]: a publish with CERTBASE's chain as CLIENTID.
connects() { xca_pub_tls b1 "$1" "${2:-$1}" "devices/${2:-$1}/messages/events/" hello; }
refusal() { echo "x509ca: refused client '$1' [(]CN '$1'[)]: $2"; }
revoked_at() { echo "certificate is revoked at depth $1 [(]sha256 $(sha "$2" | cut -c1-16)[)]: $3"; }
ignored() { echo "x509ca: ignoring the key x509ca:revoked:$1: its name must be the lowercase SHA-256 thumbprint"; }
# warned_once NAME: since the mark, one warning (one line) names the key NAME.
warned_once() {
    xca_wait_log b1 "$(ignored "$1")" 3 || return 1
    [[ $(xca_log_since b1 | grep -Ec -- "$(ignored "$1")") -eq 1 ]]
}
upper() { sha "$1" | tr a-f A-F; }
colons() { sha "$1" | sed 's/../&:/g; s/:$//'; }

# --- Servers --------------------------------------------------------------
xca_start_redis
xca_start_broker b1
xca_wait_for "b1 follows registry changes" 5 xca_log_has b1 "x509ca: following registry changes in Redis"
xca_rcli HSET x509ca:ca:company-x certificate "$(cat "$P/company-x.crt")" status verified >/dev/null
for d in wz1 wz2 u1 u2 u3 u4 u5; do xca_rcli HSET "x509ca:device:$d" status enabled >/dev/null; done
for d in wz1 u1 u2 u3 u4 u5; do xca_wait_for "control: $d connects" 5 connects "$d"; done
xca_check "control: wz1 connects sending the re-issued Factory-Y" connects wz1-y2 wz1

# --- 1. A CRL through a re-issued copy of its issuer ------------------------------
xca_log_mark b1
xca_bg wz2 xca_sub_tls b1 wz2-y2 wz2 "devices/wz2/messages/devicebound/#" -W 120 -C 100
xca_wait_for "wz2 is online with the re-issued Factory-Y" 5 xca_log_has_since b1 "Sending SUBACK to wz2\$"
make_crl factory-y "$XCA_TMP/fy.crl" technician-z
WHY_TZ=$(revoked_at 1 technician-z "listed in the CRL of CN=Factory-Y CA")
xca_log_mark b1
xca_check "Factory-Y's CRL listing Technician-Z is uploaded (with Factory-Y's first certificate)" \
    reply b1 "$(xca_json_cmd command uploadCRL crl "$(cat "$XCA_TMP/fy.crl")" issuer "$(cat "$P/factory-y.crt")")"
xca_check "wz2, live through the re-issued Factory-Y, is dropped, reason logged" \
    xca_wait_log b1 "x509ca: disconnecting client 'wz2': $WHY_TZ\$" 3
xca_check_refused "wz1 with Factory-Y's own certificate is refused, reason logged" b1 \
    "$(refusal wz1 "$WHY_TZ")\$" connects wz1
xca_check_refused "wz1 sending the re-issued Factory-Y is refused, reason logged" b1 \
    "$(refusal wz1 "$WHY_TZ")\$" connects wz1-y2 wz1
xca_check_refused "wz2 reconnecting through the re-issued Factory-Y is refused, reason logged" b1 \
    "$(refusal wz2 "$WHY_TZ")\$" connects wz2-y2 wz2
xca_check "deleteCRL issuerThumbprint (Factory-Y's first certificate)" \
    reply b1 "$(xca_json_cmd command deleteCRL issuerThumbprint "$(sha factory-y)")"
xca_wait_for "after deleteCRL wz1 connects through the re-issued Factory-Y again" 3 connects wz1-y2 wz1

# --- 2. Revocation key names: only the lowercase thumbprint revokes ---------------
WHY_U=$(revoked_at 0 u1 "revoked [(]keyCompromise[)]")
xca_log_mark b1
xca_rcli HSET "x509ca:revoked:$(sha u1)" reason keyCompromise >/dev/null
xca_wait_for "the lowercase key written at run time revokes u1, reason logged" 3 \
    xca_refused b1 "$(refusal u1 "$WHY_U")\$" connects u1
xca_log_mark b1
xca_rcli HSET "x509ca:revoked:$(upper u2)" reason keyCompromise >/dev/null
xca_check "an uppercase key written at run time: one warning naming it" warned_once "$(upper u2)"
xca_check "and it does not revoke u2" connects u2
xca_log_mark b1
xca_rcli HSET "x509ca:revoked:$(colons u3)" reason keyCompromise >/dev/null
xca_check "a ':'-separated key written at run time: one warning naming it" warned_once "$(colons u3)"
xca_check "and it does not revoke u3" connects u3
# listed_alone: listRevoked lists u1's lowercase key, neither u2's nor u3's.
listed_alone() {
    local out
    out=$(xca_admin_rr b1 "$(xca_json_cmd command listRevoked)") || return 1
    echo "$out"
    grep -q "$(sha u1)" <<<"$out" && ! grep -qi "$(sha u2)" <<<"$out" &&
        ! grep -qi "$(sha u3 | cut -c1-8)" <<<"$out"
}
xca_check "listRevoked lists the lowercase key alone" listed_alone

# Present at start-up: the same keys (u1 lowercase, u2 uppercase, u3 with
# ':'), and two more (u4 uppercase, u5 lowercase).
xca_rcli HSET "x509ca:revoked:$(upper u4)" reason keyCompromise >/dev/null
xca_rcli HSET "x509ca:revoked:$(sha u5)" reason keyCompromise >/dev/null
xca_check "b1 stops" xca_stop_broker b1
xca_start_broker b1
xca_wait_for "b1 follows registry changes again" 5 xca_log_has b1 "x509ca: following registry changes in Redis"
for d in u2 u4; do
    xca_check "at start-up the uppercase key of $d is named in a warning" \
        xca_log_has b1 "$(ignored "$(upper "$d")")"
done
xca_check "at start-up the ':'-separated key of u3 is named in a warning" \
    xca_log_has b1 "$(ignored "$(colons u3)")"
for d in u2 u3 u4; do
    xca_check "after the restart $d is still not revoked (as at run time)" connects "$d"
done
for d in u1 u5; do
    xca_check_refused "after the restart the lowercase key revokes $d, reason logged" b1 \
        "$(refusal "$d" "$(revoked_at 0 "$d" "revoked [(]keyCompromise[)]")")\$" connects "$d"
done
xca_log_mark b1
xca_rcli DEL "x509ca:revoked:$(upper u4)" >/dev/null
xca_check "deleting an uppercase key at run time: one warning, nothing else changes" \
    warned_once "$(upper u4)"
xca_check "u4 still connects" connects u4
xca_check_refused "and u5 is still revoked" b1 \
    "$(refusal u5 "$(revoked_at 0 u5 "revoked [(]keyCompromise[)]")")\$" connects u5

xca_check "broker exits 0" xca_stop_broker b1
xca_done
