#!/usr/bin/env bash
# Revocation, the cases beyond test_revoke.sh (README "Revocation"), with real
# Redis, one broker and real TLS clients on Company-X root -> Factory-Y ->
# devices:
# - a closed session's pending will (MQTT 5, Will Delay Interval 2 s) is
#   refused, reason logged, when a CRL listing its certificate arrives (or
#   its thumbprint is revoked with redis-cli) during the delay; without
#   either it is delivered;
# - with only Factory-Y verified (an intermediate as the anchor), the
#   Company-X root's CRL listing Factory-Y is refused while the root is not
#   registered, accepted once it is registered (unverified), and then
#   refuses every device under Factory-Y, drops the live ones, and
#   deleteCRL re-admits.
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
for d in wc wd wr a1 a2; do xca_pki device "$d" --ca factory-y >/dev/null; done
xca_server_cert
P=$XCA_TMP/pki
sha() { openssl x509 -in "$P/$1.crt" -outform DER | sha256sum | cut -d' ' -f1; }

# make_crl ISSUER OUT [CERTBASE...]: a CRL by ISSUER listing the CERTBASEs
# (thisUpdate a minute ago, nextUpdate in a day).
make_crl() { xca_make_crl "$1" "$2" -60 86400 "${@:3}"; }
upload_crl() { # CRLFILE [ISSUERBASE]
    if [[ -n ${2:-} ]]; then
        xca_json_cmd command uploadCRL crl "$(cat "$1")" issuer "$(cat "$P/$2.crt")"
    else
        xca_json_cmd command uploadCRL crl "$(cat "$1")"
    fi
}
# reply BROKER JSON REGEX: the single response's error matches REGEX ("" =
# no error); prints it.
reply() {
    local out
    out=$(xca_admin_rr "$1" "$2") || return 1
    echo "$out"
    "$PY" -c 'import json,re,sys; e=json.load(sys.stdin)["responses"][0].get("error"); p=sys.argv[1]
sys.exit(0 if (e is None if not p else (e is not None and re.search(p, e))) else 1)' "$3" <<<"$out"
}
connects() { xca_pub_tls b1 "$1" "$1" "devices/$1/messages/events/" hello; }
refusal() { echo "x509ca: refused client '$1' [(]CN '$1'[)]: $2"; }
revoked_at() { echo "certificate is revoked at depth $1 [(]sha256 $(sha "$2" | cut -c1-16)[)]: $3"; }

# --- Servers --------------------------------------------------------------
xca_start_redis
# The admin watches the devices' topics (the wills).
printf 'user %s\ntopic read devices/#\n' "$XCA_ADMIN_USER" >"$XCA_TMP/acl"
xca_start_broker b1 "acl_file $XCA_TMP/acl"
xca_wait_for "b1 follows registry changes" 5 xca_log_has b1 "x509ca: following registry changes in Redis"
xca_rcli HSET x509ca:ca:company-x certificate "$(cat "$P/company-x.crt")" status verified >/dev/null
for d in wc wd wr a1 a2; do xca_rcli HSET "x509ca:device:$d" status enabled >/dev/null; done
for d in wc wd wr a1; do xca_wait_for "control: $d connects" 5 connects "$d"; done

# --- 1. A pending will and a revocation during its delay ------------------------
xca_log_mark b1
xca_bg watcher mosquitto_sub -h 127.0.0.1 -p "$B1_ADMIN_PORT" -u "$XCA_ADMIN_USER" \
    -P "$XCA_ADMIN_PASSWORD" -i watcher -t 'devices/#' -v -W 120
xca_wait_for "the watcher is subscribed" 5 xca_log_has_since b1 'Sending SUBACK to watcher$'
# willer DEVICE: online with a will (payload "will-DEVICE") to its own
# telemetry topic, MQTT 5, Will Delay Interval 2 s, in the background.
willer() {
    xca_log_mark b1
    xca_bg "w-$1" xca_sub_tls b1 "$1" "$1" "devices/$1/messages/devicebound/#" -W 120 \
        -V mqttv5 -x 60 -D will will-delay-interval 2 \
        --will-topic "devices/$1/messages/events/" --will-payload "will-$1"
    xca_wait_log b1 "Sending SUBACK to $1" 5 >/dev/null
}
delivered() { grep -q "will-$1" "$XCA_TMP/watcher.out"; }

willer wc
xca_check "control: a device with a delayed will (2 s) is killed" xca_bg_crash w-wc
xca_wait_for "control: without a revocation its will is delivered once due" 6 delivered wc

make_crl factory-y "$XCA_TMP/fy.crl" wd
willer wd
xca_check "a device with a delayed will (2 s) is killed" xca_bg_crash w-wd
xca_log_mark b1
xca_check "during the delay, Factory-Y's CRL listing it is uploaded" \
    reply b1 "$(upload_crl "$XCA_TMP/fy.crl" factory-y)" ""
xca_check "its will is refused when due, reason logged" xca_wait_log b1 \
    "x509ca: refused the will of client 'wd': $(revoked_at 0 wd "listed in the CRL of CN=Factory-Y CA")\$" 6
xca_check_fails "and it was not delivered" delivered wd

willer wr
xca_check "a device with a delayed will (2 s) is killed" xca_bg_crash w-wr
xca_log_mark b1
xca_rcli HSET "x509ca:revoked:$(sha wr)" reason keyCompromise >/dev/null
xca_check "its thumbprint revoked with redis-cli during the delay: the will is refused, reason logged" \
    xca_wait_log b1 "x509ca: refused the will of client 'wr': $(revoked_at 0 wr "revoked [(]keyCompromise[)]")\$" 6
xca_check_fails "and it was not delivered" delivered wr

# --- 2. An intermediate as the anchor, its issuer's CRL -------------------------
xca_rcli DEL x509ca:ca:company-x >/dev/null
xca_rcli HSET x509ca:ca:factory-y certificate "$(cat "$P/factory-y.crt")" status verified >/dev/null
xca_wait_for "control: with only Factory-Y verified a1 connects" 5 connects a1
make_crl company-x "$XCA_TMP/cx.crl" factory-y
xca_check "the root's CRL is refused while the root is not registered (it chains to no verified CA)" \
    reply b1 "$(upload_crl "$XCA_TMP/cx.crl" company-x)" \
    '^CRL issuer is neither a registered CA nor chains to a verified CA [(]'
xca_check "control: a1 still connects" connects a1
xca_log_mark b1
xca_bg a2 xca_sub_tls b1 a2 a2 "devices/a2/messages/devicebound/#" -W 120 -C 100
xca_wait_for "a2 is online" 5 xca_log_has_since b1 "Sending SUBACK to a2\$"
xca_rcli HSET x509ca:ca:company-x certificate "$(cat "$P/company-x.crt")" status unverified >/dev/null
WHY_FY=$(revoked_at 1 factory-y "listed in the CRL of CN=Company-X Root CA")
xca_log_mark b1
xca_check "registered (unverified), the root's CRL listing Factory-Y is accepted" \
    reply b1 "$(upload_crl "$XCA_TMP/cx.crl")" ""
xca_check "a2, anchored at Factory-Y, is dropped, reason logged" \
    xca_wait_log b1 "x509ca: disconnecting client 'a2': $WHY_FY\$" 3
xca_check_refused "a1 is refused: its anchor is listed in its issuer's CRL" b1 \
    "$(refusal a1 "$WHY_FY")\$" connects a1
xca_check "deleteCRL of the root's CRL" \
    reply b1 "$(xca_json_cmd command deleteCRL issuerThumbprint "$(sha company-x)")" ""
xca_wait_for "after deleteCRL a1 connects again" 3 connects a1

xca_check "broker exits 0" xca_stop_broker b1
xca_done
