#!/usr/bin/env bash
# scripts/x509ca-admin against a real Mosquitto + Redis (README "Scripts"):
# every subcommand, exit statuses (0 ok, 1 error reply, local error or no
# broker, 2 usage), option and environment defaults, safe JSON building, and
# local errors that stop before anything is sent (proven from the broker's
# log: quiet_since_mark), the JSON each revocation and CRL command sends
# (recorded by a mosquitto_rr shim) and their effect on connects.
# shellcheck disable=SC2317 # helpers run through xca_check
set -euo pipefail
source "$(dirname "$0")/lib.sh"
xca_setup

xca_pki root company-x >/dev/null
xca_pki intermediate factory-y --ca company-x >/dev/null
xca_pki device widget-1 --ca factory-y >/dev/null
xca_pki device widget-2 --ca factory-y >/dev/null
xca_pki selfsigned ss1 >/dev/null
xca_server_cert
P=$XCA_TMP/pki
SS1=$(sed -n 's/^sha256=//p' "$P/ss1.thumbprints")

xca_start_redis
xca_start_broker b1
CLI=$XCA_SOURCE_DIR/scripts/x509ca-admin

cli() { "$CLI" -p "$B1_ADMIN_PORT" -u admin -P adminpw "$@"; }
# cli_out REGEX ARGS...: the CLI exits 0 and prints a line matching REGEX.
cli_out() {
    local re=$1 out rc=0
    shift
    out=$(cli "$@" 2>&1) || rc=$?
    echo "$out"
    echo "exit status $rc"
    [[ $rc -eq 0 ]] && grep -Eq -- "$re" <<<"$out"
}
# cli_err STATUS REGEX ARGS...: the CLI exits STATUS and prints REGEX.
cli_err() {
    local want=$1 re=$2 out rc=0
    shift 2
    out=$(cli "$@" 2>&1) || rc=$?
    echo "$out"
    echo "exit status $rc"
    [[ $rc -eq $want ]] && grep -Eq -- "$re" <<<"$out"
}
connects() { xca_pub_tls b1 "$1" "$1" "devices/$1/messages/events/" hello; }
refused() { ! "$@"; }
hget() { [[ $(xca_rcli HGET "$1" "$2") == "$3" ]]; }

# Proof that a command sent nothing: requests to $CONTROL/x509ca/v1 are
# consumed by the plugin (never delivered to subscribers), so the proof is the
# broker's own log (log_type all logs every connection and every PUBLISH
# received). After the command exits, a sentinel request from client id
# xca-sentinel-N is sent and waited for in the log: the broker has handled
# everything that came before it.
SENTINELS=0
# quiet_since_mark: since broker b1's log mark, the sentinel sent now is the
# only connection and the only request the broker received.
quiet_since_mark() {
    local id log
    SENTINELS=$((SENTINELS + 1))
    id=xca-sentinel-$SENTINELS
    xca_admin_rr b1 '{"commands":[{"command":"listCAs"}]}' -i "$id" >/dev/null ||
        { echo "the sentinel got no response"; return 1; }
    xca_wait_log b1 "Received PUBLISH from $id .*'\\\$CONTROL/x509ca/v1'" >/dev/null || return 1
    log=$(xca_log_since b1)
    echo "connections and requests since the mark:"
    grep -E "New connection from|Received PUBLISH from .*'\\\$CONTROL/x509ca/v1'" <<<"$log" || true
    [[ $(grep -c 'New connection from' <<<"$log") -eq 1 &&
       $(grep -Ec "Received PUBLISH from .*'\\\$CONTROL/x509ca/v1'" <<<"$log") -eq 1 ]]
}
# local_error STATUS REGEX ARGS...: the CLI exits STATUS with a message
# matching REGEX, and sent nothing (did not even connect).
local_error() {
    xca_log_mark b1
    cli_err "$@" || return 1
    quiet_since_mark
}
# The proof can fail: a command that sends a request is seen.
sent_something() {
    xca_log_mark b1
    cli ca list >/dev/null || return 1
    quiet_since_mark && { echo "the request of 'ca list' went unseen"; return 1; }
    return 0
}
xca_check "the 'nothing sent' proof sees a request that was sent" sent_something

# --- CAs --------------------------------------------------------------------
xca_check "ca upload" cli_out '"status":"unverified".*"verificationCode":"[0-9A-F]{48}"' \
    ca upload company-x "$P/company-x.crt"
xca_check "ca upload of a duplicate exits 1" cli_err 1 'CA already exists' \
    ca upload company-x "$P/company-x.crt"
xca_check "ca upload of a leaf certificate exits 1" cli_err 1 'not a CA certificate' \
    ca upload leaf "$P/widget-1.crt"

# --- Local errors: nothing is sent ---------------------------------------------
openssl x509 -in "$P/company-x.crt" -outform DER -out "$P/company-x.der"
# A control character (0x01) in the middle of the second line of the PEM.
awk 'NR == 2 { print substr($0, 1, 10) "\001" substr($0, 11); next } { print }' \
    "$P/company-x.crt" >"$P/control.crt"
cat "$P/company-x.crt" "$P/company-x.key" >"$P/cert-and-key.pem"
openssl req -new -key "$P/company-x.key" -subj /CN=company-x -out "$P/company-x.csr" 2>/dev/null
mkdir -p "$P/a-directory"
KEY_LINE=$(sed -n 2p "$P/company-x.key")   # key material that must never be shown
# local_key_error ARGS...: a private key where a certificate belongs is
# refused locally, nothing is sent, and no line of the key is printed.
local_key_error() {
    local out rc=0
    xca_log_mark b1
    out=$(cli "$@" 2>&1) || rc=$?
    echo "$out"
    echo "exit status $rc"
    [[ $rc -eq 1 ]] && grep -Eq 'holds a private key' <<<"$out" || return 1
    if grep -qF -- "$KEY_LINE" <<<"$out" || grep -q 'PRIVATE KEY-----' <<<"$out"; then
        echo "the key was echoed"
        return 1
    fi
    quiet_since_mark
}
xca_check "ca upload of a missing file: local error, nothing sent" local_error 1 \
    'cannot read .*nope\.crt: No such file' ca upload company-x "$P/nope.crt"
xca_check "ca upload of a directory: local error, nothing sent" local_error 1 \
    'cannot read .*a-directory: it is a directory' ca upload company-x "$P/a-directory"
xca_check "ca upload of a DER file: local error naming the conversion, nothing sent" local_error 1 \
    'not PEM \(it looks like DER\).*openssl x509 -inform DER' ca upload company-x "$P/company-x.der"
xca_check "ca upload of a file with a control character: local error, nothing sent" local_error 1 \
    'control character \(0x01\) on line 2' ca upload company-x "$P/control.crt"
xca_check "ca upload of a CSR: local error, nothing sent" local_error 1 \
    'holds no certificate \(found PEM CERTIFICATE REQUEST\)' ca upload company-x "$P/company-x.csr"
xca_check "ca upload of a private key: refused locally, not sent, not echoed" local_key_error \
    ca upload k "$P/company-x.key"
xca_check "ca upload of a certificate with its key: refused locally, not sent, not echoed" \
    local_key_error ca upload k "$P/cert-and-key.pem"
xca_check "ca verify NAME VERIFICATIONCERT with a key: refused locally, not sent, not echoed" \
    local_key_error ca verify company-x "$P/company-x.key"
xca_check "ca verify with a key as CERTFILE: refused locally, not sent, not echoed" \
    local_key_error ca verify company-x "$P/company-x.key" "$P/company-x.key"
xca_check "an id with a control character: local error, nothing sent" local_error 1 \
    'control character in argument deviceId' device create "$(printf 'a\001b')"
xca_check "a module id with a newline: local error, nothing sent" local_error 1 \
    'control character in argument moduleId' device create d1 --module "$(printf 'm\n1')"
xca_check "ca upload without CERTFILE: usage error, nothing sent" local_error 2 \
    'usage: ca upload NAME CERTFILE' ca upload company-x
xca_check "ca verify without a certificate: usage error, nothing sent" local_error 2 \
    'usage: ca verify NAME VERIFICATIONCERT \| ca verify NAME CERTFILE KEYFILE' ca verify company-x
xca_check "ca code without NAME: usage error, nothing sent" local_error 2 'usage: ca code NAME' ca code
xca_check "device create without ID: usage error, nothing sent" local_error 2 \
    'usage: device create ID' device create
xca_check "an option without its value: usage error, nothing sent" local_error 2 \
    'option --module needs a value' device create d1 --module
no_keys() { [[ $(xca_rcli EXISTS "$@") == 0 ]]; }
xca_check "nothing of the above reached Redis" no_keys x509ca:ca:k x509ca:device:d1
xca_check "stats: getStats counters" cli_out '"connects/accepted":[0-9]+.*"sessions":[0-9]+' stats
xca_check "stats takes no argument: usage error, nothing sent" local_error 2 'usage: stats' stats x
xca_check "ca list" cli_out '"cas":\[\{"name":"company-x","status":"unverified"' ca list
xca_check "ca show" cli_out '"certificate":"-----BEGIN CERTIFICATE-----\\n' ca show company-x
xca_check "ca code" cli_out '"verificationCode":"[0-9A-F]{48}"' ca code company-x
# A key that does not belong to the CA fails the trial signature: no code is
# asked for (the live one stays valid) and nothing is sent.
xca_pki root other-root >/dev/null
code_kept() {
    local code
    code=$(xca_rcli HGET x509ca:ca:company-x verificationCode)
    xca_log_mark b1
    cli_err 1 'other-root\.key cannot sign for .*company-x\.crt.*the live code is unchanged' \
        ca verify company-x "$P/company-x.crt" "$P/other-root.key" || return 1
    quiet_since_mark || return 1
    echo "code before $code, after $(xca_rcli HGET x509ca:ca:company-x verificationCode)"
    [[ -n $code && $(xca_rcli HGET x509ca:ca:company-x verificationCode) == "$code" ]]
}
xca_check "ca verify with a key that does not match: local error, no code burnt, nothing sent" code_kept
xca_check "ca verify with a missing key file: local error, nothing sent" local_error 1 \
    'cannot read .*nope\.key' ca verify company-x "$P/company-x.crt" "$P/nope.key"
xca_check "ca verify with a certificate as KEYFILE: local error, nothing sent" local_error 1 \
    'company-x\.crt holds no PEM private key' ca verify company-x "$P/company-x.crt" "$P/company-x.crt"
xca_check "device create widget-1" cli_out '"deviceId":"widget-1","status":"enabled"' device create widget-1
xca_check_fails "unverified CA: the device cannot connect" connects widget-1
xca_check "ca verify (code, local signature, verifyCA)" cli_out \
    '^\{"responses":\[\{"command":"verifyCA","data":\{"name":"company-x","status":"verified"\}\}\]\}$' \
    ca verify company-x "$P/company-x.crt" "$P/company-x.key"
xca_check "Redis: verified" hget x509ca:ca:company-x status verified
xca_check "the device connects at once" connects widget-1
xca_check "ca verify of a verified CA exits 1" cli_err 1 'already verified' \
    ca verify company-x "$P/company-x.crt" "$P/company-x.key"
xca_check "ca code of a verified CA exits 1" cli_err 1 'already verified' ca code company-x

# --- ca code + ca verify NAME VERIFICATIONCERT (certificate made elsewhere) -----
xca_pki root acme >/dev/null
xca_pki device gadget-1 --ca acme >/dev/null
xca_check "ca upload acme" cli_out '"status":"unverified"' ca upload acme "$P/acme.crt"
xca_check "device create gadget-1" cli_out '"deviceId":"gadget-1"' device create gadget-1
# ca_code NAME: runs `ca code NAME`, checks that stdout is the JSON response
# and stderr names the same code, and that it is the live code in Redis;
# leaves it in CODE.
CODE=
ca_code() {
    local out err
    out=$(cli ca code "$1" 2>"$XCA_TMP/code.err") || { cat "$XCA_TMP/code.err"; return 1; }
    err=$(<"$XCA_TMP/code.err")
    printf 'stdout: %s\nstderr: %s\n' "$out" "$err"
    CODE=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["responses"][0]["data"]["verificationCode"])' \
        <<<"$out") || return 1
    [[ $CODE =~ ^[0-9A-F]{48}$ ]] &&
        grep -q "verification code of $1: $CODE (valid until " <<<"$err" &&
        grep -q "ca verify $1 VERIFICATIONCERT" <<<"$err" &&
        hget "x509ca:ca:$1" verificationCode "$CODE"
}
xca_check "ca code prints the live code (JSON on stdout, the code on stderr)" ca_code acme
OLD_CODE=$CODE
xca_pki verification "$OLD_CODE" --ca acme --out "$P/verification-old.crt" >/dev/null
xca_check "ca code again: a new live code" ca_code acme
xca_check "the codes differ" test "$OLD_CODE" != "$CODE"
xca_pki verification "$CODE" --ca acme --out "$P/verification-acme.crt" >/dev/null
xca_check "ca verify NAME VERIFICATIONCERT with the dead code exits 1" cli_err 1 \
    'CN does not match the live code' ca verify acme "$P/verification-old.crt"
xca_check "Redis: still unverified" hget x509ca:ca:acme status unverified
xca_check_fails "gadget-1 cannot connect under the unverified CA" connects gadget-1
xca_check "ca verify NAME VERIFICATIONCERT with the live code" cli_out \
    '^\{"responses":\[\{"command":"verifyCA","data":\{"name":"acme","status":"verified"\}\}\]\}$' \
    ca verify acme "$P/verification-acme.crt"
xca_check "Redis: acme verified" hget x509ca:ca:acme status verified
xca_check "gadget-1 connects" connects gadget-1
xca_check "the code was single-use" cli_err 1 'already verified' ca verify acme "$P/verification-acme.crt"

# --- Devices -----------------------------------------------------------------
xca_check "device create of a module" cli_out '"moduleId":"m1"' device create widget-1 --module m1
xca_check "device create selfSigned" cli_out "\"authentication\":\"selfSigned\",\"primaryThumbprint\":\"$SS1\"" \
    device create ss1 --auth selfSigned --primary "$SS1"
xca_check "the selfSigned device connects" connects ss1
xca_check "device create --disabled" cli_out '"status":"disabled"' device create off-1 --disabled
xca_check "device show" cli_out '"deviceId":"ss1","status":"enabled","authentication":"selfSigned"' device show ss1
xca_check "device show of a module" cli_out '"deviceId":"widget-1","moduleId":"m1"' device show widget-1 --module m1
xca_check "device update --secondary" cli_out '"secondaryThumbprint":"abcdef0123456789abcdef0123456789abcdef01"' \
    device update ss1 --secondary ABCDEF0123456789ABCDEF0123456789ABCDEF01
xca_check "device update --secondary '' removes it" cli_out '"secondaryThumbprint":null' \
    device update ss1 --secondary ''
xca_check "device disable" cli_out '"status":"disabled"' device disable widget-1
xca_check "Redis: disabled" hget x509ca:device:widget-1 status disabled
xca_check "the disabled device is refused" refused connects widget-1
xca_check "device enable" cli_out '"status":"enabled"' device enable widget-1
xca_check "the enabled device connects" connects widget-1
xca_check "device list (one page)" cli_out '"devices":\[.*"cursor":"0"' device list
# Every page printed by --all; 5 identities (gadget-1, ss1, widget-1 and its
# module m1, off-1) in pages of 1.
list_all() {
    local out
    out=$(cli device list --count 1 --all) || return 1
    echo "$out"
    [[ $(grep -o '"deviceId":"[^"]*"\(,"moduleId":"[^"]*"\)\?' <<<"$out" | sort -u | wc -l) -eq 5 ]] &&
        [[ $(tail -n 1 <<<"$out") == *'"cursor":"0"'* ]]
}
xca_check "device list --count 1 --all follows the cursor" list_all
xca_check "device list --device lists its modules" cli_out '"devices":\[\{"deviceId":"widget-1","moduleId":"m1"' \
    device list --device widget-1
xca_check "device delete deletes its modules" cli_out '"modulesDeleted":1' device delete widget-1
xca_check "device show of a deleted device exits 1" cli_err 1 'device not found' device show widget-1
xca_check "device delete of a missing module exits 1" cli_err 1 'module not found' device delete ss1 --module nope
xca_check "an id with quotes and backslashes is sent as valid JSON" cli_err 1 'invalid identity id' \
    device create 'a"b\c'

# --- Enrollment groups (company-x is verified, factory-y is its intermediate) ---
xca_check "group create with a private key: refused locally, not sent, not echoed" \
    local_key_error group create k "$P/factory-y.key"
xca_check "group create of a missing file: local error, nothing sent" local_error 1 \
    'cannot read .*nope\.crt: No such file' group create k "$P/nope.crt"
xca_check "group create of a DER file: local error, nothing sent" local_error 1 \
    'not PEM \(it looks like DER\)' group create k "$P/company-x.der"
xca_check "group create with a control character in NAME: local error, nothing sent" local_error 1 \
    'control character in argument name' group create "$(printf 'k\001')" "$P/factory-y.crt"
xca_check "group create without CERTFILE: usage error, nothing sent" local_error 2 \
    'usage: group create NAME CERTFILE \[--status S\] \[--initial-status S\]' \
    group create k --status enabled
xca_check "group create with a device option: usage error, nothing sent" local_error 2 \
    "option '--module' not valid here" group create k "$P/factory-y.crt" --module m
xca_check "group update without a change: usage error, nothing sent" local_error 2 \
    'usage: group update NAME \[--status S\] \[--initial-status S\]' group update k
xca_check "group show without NAME: usage error, nothing sent" local_error 2 \
    'usage: group show NAME' group show
xca_check "group enable with an extra argument: usage error, nothing sent" local_error 2 \
    'usage: group enable NAME' group enable k x
xca_check "group with an unknown subcommand: usage error, nothing sent" local_error 2 \
    "unknown group command 'rename'" group rename k
xca_check "nothing of the above reached Redis" no_keys x509ca:group:k
xca_check "group create of a leaf certificate exits 1" cli_err 1 'certificate is not a CA certificate' \
    group create leaf "$P/widget-1.crt"
xca_check "group create with an invalid status exits 1" cli_err 1 \
    "invalid status: initialStatus 'on' must be enabled or disabled" \
    group create factory-y "$P/factory-y.crt" --initial-status on
xca_check "group create" cli_out \
    '"data":\{"name":"factory-y","status":"enabled","initialStatus":"disabled","subject":"CN=factory-y"' \
    group create factory-y "$P/factory-y.crt" --initial-status disabled
xca_check "Redis: the group's initialStatus" hget x509ca:group:factory-y initialStatus disabled
xca_check "group create of a taken name exits 1" cli_err 1 'enrollment group already exists' \
    group create factory-y "$P/factory-y.crt"
xca_check "group show" cli_out '"name":"factory-y".*"certificate":"-----BEGIN CERTIFICATE-----\\n' \
    group show factory-y
xca_check "group list" cli_out '"groups":\[\{"name":"factory-y","status":"enabled"' group list
xca_check "group show of a missing group exits 1" cli_err 1 'enrollment group not found' group show nope
xca_check "group disable" cli_out '"status":"disabled","initialStatus":"disabled"' group disable factory-y
xca_check "Redis: the group is disabled" hget x509ca:group:factory-y status disabled
xca_check "group enable" cli_out '"status":"enabled","initialStatus":"disabled"' group enable factory-y
xca_check "group update --initial-status" cli_out '"status":"enabled","initialStatus":"enabled"' \
    group update factory-y --initial-status enabled
xca_check "group update with an invalid status exits 1" cli_err 1 \
    "invalid status: status 'off' must be enabled or disabled" group update factory-y --status off
xca_wait_for "a new device under factory-y is enrolled on its first connect" 3 connects widget-2
xca_check "Redis: widget-2 enrolled through the group" hget x509ca:device:widget-2 enrollmentGroup factory-y
xca_check "group delete" cli_out '"data":\{\}' group delete factory-y
xca_check "group show of a deleted group exits 1" cli_err 1 'enrollment group not found' \
    group show factory-y
xca_check "group delete of a missing group exits 1" cli_err 1 'enrollment group not found' \
    group delete factory-y

# --- Revocation and CRLs (INTERFACE §9: revokeCertificate, unrevokeCertificate,
# listRevoked, uploadCRL, listCRLs, deleteCRL) ------------------------------------
# rw-1 and rw-2 are signed by factory-y, the intermediate under the verified
# company-x; factory-y is not a registered CA (a CRL it signs needs --issuer).
xca_pki device rw-1 --ca factory-y >/dev/null
xca_pki device rw-2 --ca factory-y >/dev/null
thumb() { "$XCA_SOURCE_DIR/scripts/x509ca-pki" thumbprint --sha256 "$1"; }
RW1=$(thumb "$P/rw-1.crt")
FY=$(thumb "$P/factory-y.crt")
CX=$(thumb "$P/company-x.crt")
# RW1 as uppercase pairs with ':' (the way openssl -fingerprint prints it).
RW1_COLONS=$(sed 's/../&:/g; s/:$//' <<<"${RW1^^}")
xca_pki crl --ca factory-y --revoke rw-1 --out "$P/fy-1.crl" --this-update-offset -60 >/dev/null
xca_pki crl --ca factory-y --revoke rw-1 --out "$P/fy-old.crl" --crl-number 1 \
    --this-update-offset -7200 >/dev/null
xca_pki crl --ca factory-y --revoke rw-1 --revoke rw-2 --out "$P/fy-2.crl" >/dev/null
xca_pki crl --ca company-x --out "$P/cx.crl" >/dev/null
openssl crl -in "$P/fy-1.crl" -outform DER -out "$P/fy-1.der"
cat "$P/fy-1.crl" "$P/factory-y.key" >"$P/crl-and-key.pem"
cat "$P/fy-1.crl" "$P/cx.crl" >"$P/two.crl"
cat "$P/fy-1.crl" "$P/factory-y.crt" >"$P/crl-and-cert.pem"
# A PEM CRL whose body is not a CRL, and a PEM certificate whose body is not one.
printf -- '-----BEGIN X509 CRL-----\nbm90IGEgQ1JM\n-----END X509 CRL-----\n' >"$P/garbage.crl"
printf -- '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n' >"$P/garbage.crt"

xca_check "revoke with a private key: refused locally, not sent, not echoed" \
    local_key_error revoke "$P/factory-y.key"
xca_check "revoke with a certificate and its key: refused locally, not sent, not echoed" \
    local_key_error revoke "$P/cert-and-key.pem"
xca_check "revoke of a chain file: local error, nothing sent" local_error 1 \
    'rw-1\.chain\.pem holds 2 certificates: give a file with one' revoke "$P/rw-1.chain.pem"
xca_check "revoke of a missing file: local error, nothing sent" local_error 1 \
    'cannot read .*nope\.crt: No such file' revoke "$P/nope.crt"
xca_check "revoke of a DER file: local error, nothing sent" local_error 1 \
    'not PEM \(it looks like DER\)' revoke "$P/company-x.der"
xca_check "revoke of a 63-digit thumbprint: usage error, nothing sent" local_error 2 \
    "certificate '${RW1:1}' is not a SHA-256 thumbprint: 64 hex digits \(':' allowed\), got 63" \
    revoke "${RW1:1}"
xca_check "revoke of a SHA-1 thumbprint: usage error, nothing sent" local_error 2 \
    'is not a SHA-256 thumbprint: 64 hex digits .*, got 40' revoke "${RW1:0:40}"
xca_check "revoke without an argument: usage error, nothing sent" local_error 2 \
    'usage: revoke CERTFILE\|THUMBPRINT \[--reason R\]' revoke
xca_check "revoke --reason without its value: usage error, nothing sent" local_error 2 \
    'option --reason needs a value' revoke "$RW1" --reason
xca_check "revoke with a control character in the reason: local error, nothing sent" local_error 1 \
    'control character in argument reason' revoke "$RW1" --reason "$(printf 'a\001')"
xca_check "revoke with a device option: usage error, nothing sent" local_error 2 \
    "option '--module' not valid here" revoke "$RW1" --module m
xca_check "unrevoke of a private key: refused locally, not sent, not echoed" \
    local_key_error unrevoke "$P/factory-y.key"
xca_check "unrevoke of a PEM that is no certificate: local error, nothing sent" local_error 1 \
    'openssl cannot read the certificate in .*garbage\.crt; nothing was sent' unrevoke "$P/garbage.crt"
xca_check "unrevoke of a short thumbprint: usage error, nothing sent" local_error 2 \
    'is not a SHA-256 thumbprint' unrevoke abc:def
xca_check "unrevoke with two arguments: usage error, nothing sent" local_error 2 \
    'usage: unrevoke THUMBPRINT\|CERTFILE' unrevoke "$RW1" "$RW1"
xca_check "revoked --count x: usage error, nothing sent" local_error 2 '--count needs a number' \
    revoked --count x
xca_check "revoked --reason: usage error, nothing sent" local_error 2 \
    "option '--reason' not valid here" revoked --reason r
xca_check "crl upload of a certificate: local error, nothing sent" local_error 1 \
    'company-x\.crt holds no X509 CRL \(found PEM CERTIFICATE\)' crl upload "$P/company-x.crt"
xca_check "crl upload of a DER CRL: local error naming the conversion, nothing sent" local_error 1 \
    'not PEM \(it looks like DER\).*openssl crl -inform DER' crl upload "$P/fy-1.der"
xca_check "crl upload of a CRL with a private key: refused locally, not sent, not echoed" \
    local_key_error crl upload "$P/crl-and-key.pem"
xca_check "crl upload of two CRLs: local error, nothing sent" local_error 1 \
    'must hold one X509 CRL and nothing else \(found PEM X509 CRL, X509 CRL\)' crl upload "$P/two.crl"
xca_check "crl upload of a CRL with a certificate: local error, nothing sent" local_error 1 \
    'must hold one X509 CRL and nothing else \(found PEM X509 CRL, CERTIFICATE\)' \
    crl upload "$P/crl-and-cert.pem"
xca_check "crl upload of a PEM that openssl crl cannot read: local error, nothing sent" local_error 1 \
    'garbage\.crl is not a valid X509 CRL \(openssl crl cannot read it\)' crl upload "$P/garbage.crl"
xca_check "crl upload of a missing file: local error, nothing sent" local_error 1 \
    'cannot read .*nope\.crl: No such file' crl upload "$P/nope.crl"
xca_check "crl upload --issuer with a private key: refused locally, not sent, not echoed" \
    local_key_error crl upload "$P/fy-1.crl" --issuer "$P/factory-y.key"
xca_check "crl upload --issuer of a missing file: local error, nothing sent" local_error 1 \
    'cannot read .*nope\.crt' crl upload "$P/fy-1.crl" --issuer "$P/nope.crt"
xca_check "crl upload without CRLFILE: usage error, nothing sent" local_error 2 \
    'usage: crl upload CRLFILE \[--issuer CERTFILE\]' crl upload
xca_check "crl upload with --reason: usage error, nothing sent" local_error 2 \
    "option '--reason' not valid here" crl upload "$P/fy-1.crl" --reason r
xca_check "crl delete of a private key: refused locally, not sent, not echoed" \
    local_key_error crl delete "$P/factory-y.key"
xca_check "crl delete of a short thumbprint: usage error, nothing sent" local_error 2 \
    "issuer 'abc' is not a SHA-256 thumbprint" crl delete abc
xca_check "crl list with an argument: usage error, nothing sent" local_error 2 'usage: crl list' crl list x
xca_check "crl with an unknown subcommand: usage error, nothing sent" local_error 2 \
    "unknown crl command 'show'" crl show
no_revocation_keys() {
    local keys
    keys=$(xca_rcli --scan --pattern 'x509ca:revoked:*'; xca_rcli --scan --pattern 'x509ca:crl:*')
    echo "keys: $keys"
    [[ -z $keys ]]
}
xca_check "nothing of the above reached Redis" no_revocation_keys

# The JSON each command sends, as INTERFACE §9 names it: mosquitto_rr is
# wrapped (first on PATH) by a shim that records its -m argument and runs
# the real one. These cases hold whatever the broker answers.
SHIM_DIR=$XCA_TMP/rr-shim
SENT=$XCA_TMP/sent.json
mkdir -p "$SHIM_DIR"
cat >"$SHIM_DIR/mosquitto_rr" <<EOF
#!/usr/bin/env bash
prev=
for a in "\$@"; do [[ \$prev == -m ]] && printf '%s\n' "\$a" >>'$SENT'; prev=\$a; done
exec $(command -v mosquitto_rr) "\$@"
EOF
chmod +x "$SHIM_DIR/mosquitto_rr"
# expected COMMAND [NAME=VALUE | NAME@FILE | NAME#NUMBER]...: prints the
# request JSON the command should send (NAME@FILE: the file's text).
expected() {
    python3 - "$@" <<'PY'
import json, sys
cmd = {"command": sys.argv[1]}
for arg in sys.argv[2:]:
    i = min(p for p in (arg.find("="), arg.find("@"), arg.find("#")) if p > 0)
    name, sep, value = arg[:i], arg[i], arg[i + 1:]
    if sep == "@":
        value = open(value, encoding="utf-8").read()
    elif sep == "#":
        value = int(value)
    cmd[name] = value
print(json.dumps({"commands": [cmd]}))
PY
}
# sends EXPECTED ARGS...: `x509ca-admin ARGS...` sends exactly one request,
# equal (as JSON) to EXPECTED; its exit status is not judged here.
sends() {
    local want=$1
    shift
    : >"$SENT"
    PATH="$SHIM_DIR:$PATH" cli "$@" || true
    echo "sent: $(cat "$SENT")"
    echo "want: $want"
    python3 -c '
import json, sys
lines = open(sys.argv[1]).read().splitlines()
sys.exit(0 if len(lines) == 1 and json.loads(lines[0]) == json.loads(sys.argv[2]) else 1)' "$SENT" "$want"
}
xca_check "the shim records what is sent" sends "$(expected listCAs)" ca list
xca_check_fails "the comparison sees a difference" sends "$(expected listCAs name=x)" ca list
xca_check "revoke CERTFILE --reason R sends certificate and reason" \
    sends "$(expected revokeCertificate "certificate@$P/rw-1.crt" reason=keyCompromise)" \
    revoke "$P/rw-1.crt" --reason keyCompromise
xca_check "revoke THUMBPRINT (uppercase, with ':') sends the normalised thumbprint" \
    sends "$(expected revokeCertificate "thumbprint=$RW1")" revoke "$RW1_COLONS"
xca_check "a reason with quotes and backslashes is sent as valid JSON" \
    sends "$(expected revokeCertificate "thumbprint=$RW1" 'reason=a"b\c')" revoke "$RW1" --reason 'a"b\c'
xca_check "unrevoke CERTFILE sends the certificate's SHA-256, not the file" \
    sends "$(expected unrevokeCertificate "thumbprint=$RW1")" unrevoke "$P/rw-1.crt"
xca_check "unrevoke THUMBPRINT sends it normalised" \
    sends "$(expected unrevokeCertificate "thumbprint=$RW1")" unrevoke "$RW1_COLONS"
xca_check "revoked sends listRevoked" sends "$(expected listRevoked)" revoked
xca_check "revoked --cursor C --count N" sends "$(expected listRevoked cursor=7 'count#10')" \
    revoked --cursor 7 --count 10
xca_check "crl upload CRLFILE --issuer CERTFILE sends crl and issuer" \
    sends "$(expected uploadCRL "crl@$P/fy-1.crl" "issuer@$P/factory-y.crt")" \
    crl upload "$P/fy-1.crl" --issuer "$P/factory-y.crt"
xca_check "crl upload CRLFILE sends crl alone" sends "$(expected uploadCRL "crl@$P/cx.crl")" \
    crl upload "$P/cx.crl"
xca_check "crl list sends listCRLs" sends "$(expected listCRLs)" crl list
xca_check "crl delete ISSUERCERT sends the issuer's SHA-256" \
    sends "$(expected deleteCRL "issuerThumbprint=$FY")" crl delete "$P/factory-y.crt"
xca_check "crl delete ISSUER-THUMBPRINT sends it normalised" \
    sends "$(expected deleteCRL "issuerThumbprint=$CX")" crl delete "${CX^^}"

# End to end: these need the broker's revocation commands (INTERFACE §9).
# revoked_refused ID: ID's connect is refused, the log naming a revocation.
revoked_refused() {
    xca_refused b1 "refused client '$1'.*revoked" connects "$1"
}
# refused_by_broker ARGS...: the CLI exits 1 on an error reply that is not
# "unknown command" (the broker knows the command and refused it).
refused_by_broker() {
    local out rc=0
    out=$(cli "$@" 2>&1) || rc=$?
    printf '%s\nexit status %d\n' "$out" "$rc"
    [[ $rc -eq 1 ]] && grep -q '"error":"' <<<"$out" && ! grep -q '"error":"unknown command"' <<<"$out"
}
xca_check "device create rw-1" cli_out '"deviceId":"rw-1"' device create rw-1
xca_check "device create rw-2" cli_out '"deviceId":"rw-2"' device create rw-2
xca_check "rw-1 connects before any revocation" connects rw-1
# revoke_data ARGS... (ending --reason R): revoke succeeds and its data holds
# rw-1's thumbprint, its subject when given, R and a revokedAt of now.
revoke_data() {
    local out
    out=$(cli "$@") || { echo "$out"; return 1; }
    echo "$out"
    python3 -c '
import json, sys, time
d = json.loads(sys.argv[1])["responses"][0]["data"]
ok = (d["thumbprint"] == sys.argv[2] and d["reason"] == sys.argv[3]
      and abs(d["revokedAt"] - time.time()) < 120 and ("subject" not in d or "rw-1" in d["subject"]))
sys.exit(0 if ok else 1)' "$out" "$RW1" "$4"
}
xca_check "revoke rw-1's certificate file: thumbprint, reason, revokedAt" \
    revoke_data revoke "$P/rw-1.crt" --reason keyCompromise
xca_check "Redis: x509ca:revoked:<sha256> holds the reason" hget "x509ca:revoked:$RW1" reason keyCompromise
xca_wait_for "rw-1 is refused as revoked" 3 revoked_refused rw-1
xca_check "rw-2 (same issuer) still connects" connects rw-2
xca_check "revoked lists rw-1" cli_out "\"revoked\":\\[.*\"thumbprint\":\"$RW1\".*\"cursor\":" revoked
xca_check "revoked --count 1 --all" cli_out "\"thumbprint\":\"$RW1\"" revoked --count 1 --all
xca_check "unrevoke rw-1 by its certificate file" cli_out '"command":"unrevokeCertificate"' \
    unrevoke "$P/rw-1.crt"
xca_check "Redis: the revocation is gone" no_keys "x509ca:revoked:$RW1"
xca_wait_for "rw-1 connects again" 3 connects rw-1
xca_check "revoke by thumbprint with ':'" cli_out "\"thumbprint\":\"$RW1\"" revoke "$RW1_COLONS"
xca_wait_for "rw-1 is refused again" 3 revoked_refused rw-1
xca_check "unrevoke by thumbprint" cli_out '"command":"unrevokeCertificate"' unrevoke "$RW1"
xca_wait_for "rw-1 connects once more" 3 connects rw-1
xca_check "revoke the intermediate factory-y" cli_out "\"thumbprint\":\"$FY\"" \
    revoke "$P/factory-y.crt" --reason CACompromise
xca_wait_for "rw-1 is refused through its revoked issuer" 3 revoked_refused rw-1
xca_wait_for "rw-2 is refused through its revoked issuer" 3 revoked_refused rw-2
xca_check "gadget-1 (another CA) still connects" connects gadget-1
xca_check "unrevoke factory-y" cli_out '"command":"unrevokeCertificate"' unrevoke "$FY"
xca_wait_for "rw-2 connects again" 3 connects rw-2
xca_check "unrevoke of a thumbprint not revoked exits 1" refused_by_broker unrevoke "$FY"
# crl_data ISSUER-SHA256 COUNT ARGS...: crl upload succeeds with that
# issuer and count, thisUpdate <= now < nextUpdate.
crl_data() {
    local want_issuer=$1 want_count=$2 out
    shift 2
    out=$(cli "$@") || { echo "$out"; return 1; }
    echo "$out"
    python3 -c '
import json, sys, time
d = json.loads(sys.argv[1])["responses"][0]["data"]
ok = (d["issuerThumbprint"] == sys.argv[2] and d["count"] == int(sys.argv[3])
      and d["thisUpdate"] <= time.time() + 60 < d["nextUpdate"] and "issuerSubject" in d)
sys.exit(0 if ok else 1)' "$out" "$want_issuer" "$want_count"
}
xca_check "crl upload --issuer: a CRL by the unregistered factory-y listing rw-1" \
    crl_data "$FY" 1 crl upload "$P/fy-1.crl" --issuer "$P/factory-y.crt"
xca_check "Redis: x509ca:crl:<issuer sha256> holds the count" hget "x509ca:crl:$FY" count 1
xca_wait_for "rw-1 is refused by the CRL" 3 revoked_refused rw-1
xca_check "rw-2 (not listed) connects" connects rw-2
xca_check "crl upload of an older CRL exits 1" refused_by_broker \
    crl upload "$P/fy-old.crl" --issuer "$P/factory-y.crt"
xca_check "crl upload of a newer CRL listing both" \
    crl_data "$FY" 2 crl upload "$P/fy-2.crl" --issuer "$P/factory-y.crt"
xca_wait_for "rw-2 is refused by the newer CRL" 3 revoked_refused rw-2
xca_check "crl upload of a CRL by the registered company-x, without --issuer" \
    crl_data "$CX" 0 crl upload "$P/cx.crl"
xca_check "crl list shows both" cli_out "\"crls\":\\[.*\"issuerThumbprint\":\"($FY|$CX)\".*\"issuerThumbprint\":\"($FY|$CX)\"" \
    crl list
xca_check "crl delete by the issuer's certificate file" cli_out '"command":"deleteCRL"' \
    crl delete "$P/factory-y.crt"
xca_check "Redis: factory-y's CRL is gone" no_keys "x509ca:crl:$FY"
xca_wait_for "rw-1 connects once its CRL is deleted" 3 connects rw-1
xca_check "crl delete by thumbprint" cli_out '"command":"deleteCRL"' crl delete "$CX"
xca_check "crl list is empty" cli_out '"crls":\[\]' crl list
xca_check "crl delete of a missing CRL exits 1" refused_by_broker crl delete "$CX"

# --- CA delete -----------------------------------------------------------------
xca_check "ca delete" cli_out '"data":\{\}' ca delete company-x
xca_check "ca show of a deleted CA exits 1" cli_err 1 'CA not found' ca show company-x

# --- Usage, options, environment ---------------------------------------------
xca_check "no command exits 2" cli_err 2 'no command'
xca_check "unknown command exits 2" cli_err 2 'unknown command' bogus
xca_check "ca without subcommand exits 2" cli_err 2 'unknown ca command' ca
xca_check "wrong arity exits 2" cli_err 2 'usage: ca upload' ca upload only-name
xca_check "unknown device option exits 2" cli_err 2 "not valid here" device show d --primary x
xca_check "--count needs a number" cli_err 2 'needs a number' device list --count x
xca_check "--help exits 0" cli_out '^Usage: x509ca-admin' --help
wrong_password() {
    cli_err 1 "refused the login of user 'admin': wrong username or password \(CONNACK 135\)" \
        -P wrong ca list &&
        grep -q 'Use the admin listener, the plain loopback listener with password_file (-p or X509CA_ADMIN_PORT' \
            "$XCA__OUT_FILE"
}
xca_check "a wrong password: 'wrong username or password', the admin listener hinted" wrong_password
xca_check "an unknown user: the same message" cli_err 1 "user 'nobody': wrong username or password" \
    -u nobody ca list
closed_port() { "$CLI" -p 1 -u admin -P adminpw -W 2 ca list; }
xca_check_fails "no broker: exits non-zero" closed_port
echo adminpw >"$XCA_TMP/pw"
env_defaults() {
    X509CA_ADMIN_PORT=$B1_ADMIN_PORT X509CA_ADMIN_USER=admin X509CA_ADMIN_PASSWORD_FILE=$XCA_TMP/pw \
        "$CLI" ca list
}
xca_check "port, user and password file from the environment" env_defaults
xca_check "--password-file" "$CLI" -p "$B1_ADMIN_PORT" --password-file "$XCA_TMP/pw" ca list

xca_check "broker exits 0 on SIGTERM" xca_stop_broker b1
xca_done
