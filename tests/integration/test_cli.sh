#!/usr/bin/env bash
# scripts/x509ca-admin against a real Mosquitto + Redis (README "Scripts"): every
# subcommand, exit statuses (0 ok, 1 error reply or no broker, 2 usage),
# option and environment defaults, and safe JSON building.
# shellcheck disable=SC2317 # helpers run through xca_check
set -euo pipefail
source "$(dirname "$0")/lib.sh"
xca_setup

xca_pki root company-x >/dev/null
xca_pki intermediate factory-y --ca company-x >/dev/null
xca_pki device widget-1 --ca factory-y >/dev/null
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
# cli_refused STATUS REGEX AUDIT ARGS...: cli_err, and the broker logged
# the refusal as an audit line "x509ca: audit admin=admin AUDIT" (a regex)
# after the CLI started.
cli_refused() {
    local want=$1 re=$2 audit=$3
    shift 3
    xca_log_mark b1
    cli_err "$want" "$re" "$@" && xca_wait_log b1 "x509ca: audit admin=admin $audit"
}
# cli_local STATUS REGEX ARGS...: cli_err, and no admin request reached the
# broker (the CLI refused before sending; a request it had sent would have
# been audited before the reply it waited for).
cli_local() {
    xca_log_mark b1
    cli_err "$@" || return 1
    ! xca_log_has_since b1 'x509ca: audit ' || { echo "the request reached the broker"; return 1; }
}
connects() { xca_pub_tls b1 "$1" "$1" "devices/$1/messages/events/" hello; }
# refusal CLIENTID REASON: the plugin's refusal line for a device whose
# certificate CN is its client id.
refusal() { echo "x509ca: refused client '$1' [(]CN '$1'[)]: $2"; }
hget() { [[ $(xca_rcli HGET "$1" "$2") == "$3" ]]; }

# --- CAs --------------------------------------------------------------------
xca_check "ca upload" cli_out '"status":"unverified".*"verificationCode":"[0-9A-F]{48}"' \
    ca upload company-x "$P/company-x.crt"
xca_check "ca upload of a duplicate exits 1" cli_refused 1 'CA already exists' \
    'command=uploadCA target=ca:company-x( verificationCode=[*]{5})? result=error [(]CA already exists[)]' \
    ca upload company-x "$P/company-x.crt"
xca_check "ca upload of a leaf certificate exits 1" cli_refused 1 'not a CA certificate' \
    'command=uploadCA target=ca:leaf result=error [(]certificate is not a CA certificate[)]' \
    ca upload leaf "$P/widget-1.crt"
xca_check "ca upload of a private key exits 1" cli_refused 1 'private key' \
    'command=uploadCA target=ca:k result=error [(]a private key was supplied; it was discarded[)]' \
    ca upload k "$P/company-x.key"
xca_check "ca list" cli_out '"cas":\[\{"name":"company-x","status":"unverified"' ca list
xca_check "ca show" cli_out '"certificate":"-----BEGIN CERTIFICATE-----\\n' ca show company-x
xca_check "ca code" cli_out '"verificationCode":"[0-9A-F]{48}"' ca code company-x
xca_check "device create widget-1" cli_out '"deviceId":"widget-1","status":"enabled"' device create widget-1
xca_check_refused "unverified CA: the device cannot connect" b1 \
    "$(refusal widget-1 "certificate chain does not lead to a verified CA")" connects widget-1
xca_check "ca verify (code, local signature, verifyCA)" cli_out \
    '^\{"responses":\[\{"command":"verifyCA","data":\{"name":"company-x","status":"verified"\}\}\]\}$' \
    ca verify company-x "$P/company-x.crt" "$P/company-x.key"
xca_check "Redis: verified" hget x509ca:ca:company-x status verified
xca_check "the device connects at once" connects widget-1
xca_check "ca verify of a verified CA exits 1" cli_refused 1 'already verified' \
    'command=[A-Za-z]+ target=ca:company-x( verificationCode=[*]{5})? result=error [(]CA is already verified[)]' \
    ca verify company-x "$P/company-x.crt" "$P/company-x.key"
xca_check "ca code of a verified CA exits 1" cli_refused 1 'already verified' \
    'command=generateVerificationCode target=ca:company-x result=error [(]CA is already verified[)]' \
    ca code company-x
xca_check "ca verify with a missing key file exits 1, before asking for a code" \
    cli_local 1 "cannot read .*/nope\.key" \
    ca verify company-x "$P/company-x.crt" "$P/nope.key"

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
xca_check_refused "the disabled device is refused" b1 "$(refusal widget-1 "identity is disabled")" \
    connects widget-1
xca_check "device enable" cli_out '"status":"enabled"' device enable widget-1
xca_check "the enabled device connects" connects widget-1
xca_check "device list (one page)" cli_out '"devices":\[.*"cursor":"0"' device list
# Every page printed by --all; 4 identities in pages of 1.
list_all() {
    local out
    out=$(cli device list --count 1 --all) || return 1
    echo "$out"
    [[ $(grep -o '"deviceId":"[^"]*"\(,"moduleId":"[^"]*"\)\?' <<<"$out" | sort -u | wc -l) -eq 4 ]] &&
        [[ $(tail -n 1 <<<"$out") == *'"cursor":"0"'* ]]
}
xca_check "device list --count 1 --all follows the cursor" list_all
xca_check "device list --device lists its modules" cli_out '"devices":\[\{"deviceId":"widget-1","moduleId":"m1"' \
    device list --device widget-1
xca_check "device delete deletes its modules" cli_out '"modulesDeleted":1' device delete widget-1
xca_check "device show of a deleted device exits 1" cli_refused 1 'device not found' \
    'command=getDevice target=device:widget-1 result=error [(]device not found[)]' device show widget-1
xca_check "device delete of a missing module exits 1" cli_refused 1 'module not found' \
    'command=deleteDevice target=device:ss1/nope result=error [(]module not found[)]' \
    device delete ss1 --module nope
xca_check "an id with quotes and backslashes is sent as valid JSON" cli_refused 1 'invalid identity id' \
    'command=createDevice target=- result=error [(]invalid identity id: deviceId[)]' \
    device create 'a"b\c'
xca_check "an id with a control character is refused locally" cli_local 1 'control character' \
    device create "$(printf 'a\001b')"

# --- CA delete -----------------------------------------------------------------
xca_check "ca delete" cli_out '"data":\{\}' ca delete company-x
xca_check "ca show of a deleted CA exits 1" cli_refused 1 'CA not found' \
    'command=getCA target=ca:company-x result=error [(]CA not found[)]' ca show company-x

# --- Usage, options, environment ---------------------------------------------
xca_check "no command exits 2" cli_err 2 'no command'
xca_check "unknown command exits 2" cli_err 2 'unknown command' bogus
xca_check "ca without subcommand exits 2" cli_err 2 'unknown ca command' ca
xca_check "wrong arity exits 2" cli_err 2 'usage: ca upload' ca upload only-name
xca_check "unknown device option exits 2" cli_err 2 "not valid here" device show d --primary x
xca_check "--count needs a number" cli_err 2 'needs a number' device list --count x
xca_check "--help exits 0" cli_out '^Usage: x509ca-admin' --help
# wrong_password: the CLI exits 1 and the broker logged why it refused it.
wrong_password() {
    xca_log_mark b1
    cli_err 1 'no response|Not authorized' -P wrong ca list &&
        xca_wait_log b1 "Client <unknown> disconnected, not authorised\."
}
xca_check "a wrong password exits 1" wrong_password
# closed_port: with no broker the CLI exits 1 and says the connection was refused.
closed_port() {
    local out rc=0
    out=$("$CLI" -p 1 -u admin -P adminpw -W 2 ca list 2>&1) || rc=$?
    echo "$out"
    echo "exit status $rc"
    [[ $rc -eq 1 ]] && grep -q "Connection refused" <<<"$out"
}
xca_check "no broker: exits 1, connection refused" closed_port
echo adminpw >"$XCA_TMP/pw"
env_defaults() {
    X509CA_ADMIN_PORT=$B1_ADMIN_PORT X509CA_ADMIN_USER=admin X509CA_ADMIN_PASSWORD_FILE=$XCA_TMP/pw \
        "$CLI" ca list
}
xca_check "port, user and password file from the environment" env_defaults
xca_check "--password-file" "$CLI" -p "$B1_ADMIN_PORT" --password-file "$XCA_TMP/pw" ca list

xca_check "broker exits 0 on SIGTERM" xca_stop_broker b1
xca_done
