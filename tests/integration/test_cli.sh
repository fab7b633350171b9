#!/usr/bin/env bash
# scripts/x509ca-admin against a real Mosquitto + Redis (README "Scripts"):
# every subcommand, exit statuses (0 ok, 1 error reply, local error or no
# broker, 2 usage), option and environment defaults, safe JSON building, and
# local errors that stop before anything is sent (proven from the broker's
# log: quiet_since_mark).
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
