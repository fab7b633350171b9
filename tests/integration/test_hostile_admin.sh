#!/usr/bin/env bash
# Hostile admin input (README "Admin topics", "Security model"): payloads
# that are not JSON, nested 10,000 deep or larger than max_admin_payload;
# wrong types for every argument of the commands; NUL in strings; unknown
# commands; PEM garbage; PEM holding a private key (never logged, never
# stored); verification certificates for a wrong, expired or already-used
# code; and the admin topic used by a user who is not an admin and by a
# device. Every request gets a clear error reply (parsed with python3's
# json) or, from a non-admin, is dropped (no reply, "Denied PUBLISH"
# logged after the case began), and the registry is byte-identical (every
# key and its DUMP) after each group of cases and after the whole run.
#
# Requests go out byte for byte through clients/xca_admin_request.py
# (mosquitto_rr 2.0.11 sends an empty payload for -f and -s); verification
# certificates for the live codes come from hostile/make_corpus.py --proofs.
# shellcheck disable=SC2016 # literal $CONTROL topics
set -euo pipefail
source "$(dirname "$0")/lib.sh"
xca_setup
command -v python3 >/dev/null || { echo "# python3 not found" >&2; exit 1; }
P=$XCA_TMP/pki
CORPUS=$XCA_SOURCE_DIR/tests/integration/hostile/make_corpus.py
MAX_PAYLOAD=60000
CONTROL='$CONTROL/x509ca/v1'
RESPONSE='$CONTROL/x509ca/v1/response'

# --- Helpers ---------------------------------------------------------------------
# adm MODE NAME PYTHON_EXPRESSION [COUNT REGEX] [--port PORT]: one admin
# request in one python3 process. The request is the value of the
# expression (bytes or str as they are, anything else as JSON; WRONG is a
# list of values of every JSON type but string and null, WRONG_NULL the same
# with null, KEY the text of a private key), saved as $XCA_TMP/NAME.json and
# sent byte for byte as the admin to b1's admin listener (or PORT) with
# clients/xca_admin_request.py; the reply is saved as $XCA_TMP/NAME.reply.
# MODE "errors": the reply holds exactly COUNT responses, each with an
# "error" matching REGEX (re.search) and no "data". MODE "ok": one
# response, with "data". MODE "file": only write the request.
cat >"$XCA_TMP/adm.py" <<'EOF'
import json, re, sys
sys.path.insert(0, sys.argv[1])
from xca_admin_request import request
tmp, port, user, password, mode, name, expr = sys.argv[2:9]
WRONG = [123, -1.5, True, False, [], ["x"], {}, {"a": "b"}]
WRONG_NULL = WRONG + [None]
KEY = open(f"{tmp}/pki/leak.key").read()
value = eval(expr)
if isinstance(value, str):
    value = value.encode("utf-8", "surrogateescape")
elif not isinstance(value, bytes):
    value = json.dumps(value).encode()
open(f"{tmp}/{name}.json", "wb").write(value)
if mode == "file":
    sys.exit(0)
status, reply = request("127.0.0.1", int(port), user, password, value)
if status != 0:
    sys.exit(f"no reply: {reply}")
open(f"{tmp}/{name}.reply", "wb").write(reply)
responses = json.loads(reply)["responses"]
print(f"{len(responses)} responses, first: {json.dumps(responses[0])[:300]}")
if mode == "ok":
    assert len(responses) == 1 and "data" in responses[0], responses
    sys.exit(0)
want, regex = int(sys.argv[9]), sys.argv[10]
assert len(responses) == want, f"{len(responses)} responses, expected {want}"
for r in responses:
    assert "data" not in r, f"a command succeeded: {r}"
    assert isinstance(r.get("error"), str) and re.search(regex, r["error"]), \
        f"error {r.get('error')!r} !~ /{regex}/"
EOF
adm() {
    local port=$B1_ADMIN_PORT
    if (($# >= 2)) && [[ ${*: -2:1} == --port ]]; then
        port=${*: -1}
        set -- "${@:1:$#-2}"
    fi
    timeout 30 python3 "$XCA_TMP/adm.py" "$XCA_SOURCE_DIR/tests/integration/clients" "$XCA_TMP" \
        "$port" "$XCA_ADMIN_USER" "$XCA_ADMIN_PASSWORD" "$@"
}
payload() { adm file "$@"; }
ok() { adm ok "$@"; }
# cmds COMMAND ARG WRONG_VALUES [BASE_JSON]: the Python text of a request
# with one COMMAND per value of WRONG_VALUES (a Python list), each with the
# arguments of BASE_JSON (a dict) and ARG set to that value.
cmds() {
    local base=${4:-}
    echo "{'commands': [dict(${base:-dict()}, command='$1', **{'$2': v}) for v in $3]}"
}
CASES=0 # hostile admin cases run
# case_ DESCRIPTION NAME PYTHON_EXPRESSION COUNT REGEX [--port PORT]: one
# hostile request answered with COUNT errors matching REGEX (see adm).
case_() {
    CASES=$((CASES + 1))
    xca_check "$1" adm errors "${@:2}"
}
reply_field() {
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["responses"][0]["data"][sys.argv[2]])' \
        "$XCA_TMP/$1.reply" "$2"
}
# snapshot: every registry key (sorted) with its type and the SHA-256 of its
# DUMP. Left out: the brokers' heartbeat keys (x509ca:watcher:*, rewritten
# every second) and the audit stream (x509ca:audit), a log of requests.
snapshot() {
    local key
    xca_rcli --scan | grep -v -e '^x509ca:watcher:' -e '^x509ca:audit$' | LC_ALL=C sort |
        while IFS= read -r key; do
            printf '%s %s %s\n' "$key" "$(xca_rcli TYPE "$key")" \
                "$(xca_rcli DUMP "$key" | sha256sum | cut -c1-64)"
        done
}
# unchanged GROUP: the registry is what it was before the first case.
unchanged() {
    snapshot >"$XCA_TMP/snapshot.$1"
    diff "$XCA_TMP/snapshot.before" "$XCA_TMP/snapshot.$1"
}
# redis_text: every value held in Redis, as text.
redis_text() {
    local key
    xca_rcli --scan | while IFS= read -r key; do
        echo "$key"
        case $(xca_rcli TYPE "$key") in
            hash) xca_rcli HGETALL "$key" ;;
            string) xca_rcli GET "$key" ;;
            stream) xca_rcli XRANGE "$key" - + ;;
            list) xca_rcli LRANGE "$key" 0 -1 ;;
            set) xca_rcli SMEMBERS "$key" ;;
            zset) xca_rcli ZRANGE "$key" 0 -1 ;;
        esac
    done
}
# nowhere FILE...: no line of the base64 body of the keys in FILE... is in
# a broker log, in mosquitto's stderr or in Redis.
nowhere() {
    local lines found=0
    lines=$(grep -hv -- '-----' "$@" | grep -E '.{16}')
    redis_text >"$XCA_TMP/redis.txt"
    for f in "$XCA_TMP"/b*/mosquitto.log "$XCA_TMP"/b*/mosquitto.stderr "$XCA_TMP/redis.txt"; do
        [[ -f $f ]] || continue
        if grep -qF -- "$lines" "$f"; then
            echo "key material found in ${f#"$XCA_TMP"/}"
            found=1
        fi
    done
    echo "$(wc -l <<<"$lines") key lines searched in logs and Redis"
    return "$found"
}

# --- Material ----------------------------------------------------------------------
xca_pki root hx-ca >/dev/null              # uploaded, code live during the run
xca_pki root hx-used >/dev/null            # uploaded and verified: its code is used
xca_pki root hx-replaced >/dev/null        # its first code replaced by a second
xca_pki root hx-ttl >/dev/null             # uploaded through b2: code expires in 10 s
xca_pki root hx-fresh >/dev/null           # never uploaded (the uploads that must fail)
xca_pki root hx-devroot >/dev/null
xca_pki device hx-dev --ca hx-devroot >/dev/null
xca_pki intermediate hx-expired --ca hx-fresh --expired >/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$P/leak.key" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$P/leak-rsa.key" 2>/dev/null
openssl pkey -in "$P/leak-rsa.key" -traditional -out "$P/leak-rsa-trad.key"
openssl pkey -in "$P/leak.key" -aes128 -passout pass:x -out "$P/leak-enc.key"
openssl req -new -key "$P/leak.key" -subj /CN=hx-csr -out "$P/hx.csr"
xca_server_cert

# --- Brokers --------------------------------------------------------------------------
# b1: max_admin_payload $MAX_PAYLOAD; users admin and mallory (not an admin;
# acl_file would let mallory use every topic: only the plugin keeps it out).
mkdir -p "$XCA_TMP/b1"
mosquitto_passwd -b -c "$XCA_TMP/b1/passwd" "$XCA_ADMIN_USER" "$XCA_ADMIN_PASSWORD" >/dev/null
mosquitto_passwd -b "$XCA_TMP/b1/passwd" mallory mallorypw >/dev/null
printf 'user mallory\ntopic readwrite #\nuser %s\ntopic readwrite #\n' "$XCA_ADMIN_USER" \
    >"$XCA_TMP/acl"
xca_start_redis
xca_start_broker b1 "plugin_opt_max_admin_payload $MAX_PAYLOAD" "acl_file $XCA_TMP/acl"
# b2 (same Redis): verification codes live 10 s.
xca_start_broker b2 "plugin_opt_verification_code_ttl 10"
xca_wait_for "b1 connected to Redis" 5 xca_log_has b1 'x509ca: connected to Redis'
xca_wait_for "b2 connected to Redis" 5 xca_log_has b2 'x509ca: connected to Redis'

# --- Setup (before the first snapshot) ------------------------------------------------
xca_check "setup: uploadCA hx-ttl through b2 (code for 10 s)" ok up-ttl \
    "{'commands': [{'command': 'uploadCA', 'name': 'hx-ttl', 'certificate': open('$P/hx-ttl.crt').read()}]}" \
    --port "$B2_ADMIN_PORT"
TTL_CODE=$(reply_field up-ttl verificationCode)
TTL_EXPIRY=$(reply_field up-ttl verificationCodeExpiry)
for ca in hx-ca hx-used hx-replaced; do
    xca_check "setup: uploadCA $ca" ok "up-$ca" \
        "{'commands': [{'command': 'uploadCA', 'name': '$ca', 'certificate': open('$P/$ca.crt').read()}]}"
done
CODE=$(reply_field up-hx-ca verificationCode)
USED_CODE=$(reply_field up-hx-used verificationCode)
OLD_CODE=$(reply_field up-hx-replaced verificationCode)
xca_check "setup: a second code for hx-replaced" ok regen \
    "{'commands': [{'command': 'generateVerificationCode', 'name': 'hx-replaced'}]}"
python3 "$CORPUS" --dir "$P" --proofs hx-ca "$CODE"
python3 "$CORPUS" --dir "$P" --proofs hx-used "$USED_CODE"
python3 "$CORPUS" --dir "$P" --proofs hx-replaced "$OLD_CODE"
python3 "$CORPUS" --dir "$P" --proofs hx-ttl "$TTL_CODE"
verify() {
    echo "{'commands': [{'command': 'verifyCA', 'name': '$1', 'certificate': open('$P/$2').read()${3:-}}]}"
}
xca_check "setup: verifyCA hx-used (its code is now used)" ok verify-used \
    "$(verify hx-used hx-used-proof-ok.crt)"
for d in hx-dev hx-victim; do
    xca_check "setup: createDevice $d" ok "mk-$d" "{'commands': [{'command': 'createDevice', 'deviceId': '$d'}]}"
done
xca_rcli HSET x509ca:ca:hx-devroot certificate "$(<"$P/hx-devroot.crt")" status verified >/dev/null
xca_wait_for "setup: the device hx-dev connects" 5 \
    xca_pub_tls b1 hx-dev hx-dev devices/hx-dev/messages/events/ hello
snapshot >"$XCA_TMP/snapshot.before"
setup_keys() { grep -c -e '^x509ca:ca:hx-' -e '^x509ca:device:hx-' "$XCA_TMP/snapshot.before"; }
xca_check "setup: the registry snapshot holds the 5 CAs and 2 devices of the setup" \
    test "$(setup_keys)" = 7

# --- Not JSON ---------------------------------------------------------------------------
JSON_ERROR='^invalid JSON$'
case_ "empty payload" empty "b''" 1 "$JSON_ERROR"
case_ "plain text" text "'delete everything'" 1 "$JSON_ERROR"
case_ "truncated object" trunc "'{\"commands\":[{\"command\":\"deleteCA\",\"name\":\"hx-used\"'" 1 "$JSON_ERROR"
case_ "single quotes" quotes "\"{'commands':[{'command':'listCAs'}]}\"" 1 "$JSON_ERROR"
case_ "trailing comma" comma "'{\"commands\":[{\"command\":\"listCAs\"},]}'" 1 "$JSON_ERROR"
case_ "binary bytes" binary "bytes(range(256)) * 4" 1 "$JSON_ERROR"
case_ "invalid UTF-8 inside a string" badutf8 \
    "b'{\"commands\":[{\"command\":\"deleteDevice\",\"deviceId\":\"hx-dev\\xff\\xfe\"}]}'" 1 \
    '^invalid identity id: deviceId( .*)?$'
# These two fail today: the payload is parsed up to the end of its first
# JSON value and the rest is ignored, so the first document runs.
case_ "a JSON document followed by another" two-docs \
    "'{\"commands\":[{\"command\":\"listCAs\"}]}{\"commands\":[{\"command\":\"deleteCA\",\"name\":\"hx-used\"}]}'" \
    1 "$JSON_ERROR"
case_ "a JSON document followed by garbage" doc-garbage "'{\"commands\":[{\"command\":\"listCAs\"}]} rm -rf'" \
    1 "$JSON_ERROR"
case_ "valid JSON without a commands array: []" no-cmds-array "[]" 1 \
    '^missing or invalid argument: commands$'
case_ "... {}" no-cmds-obj "{}" 1 '^missing or invalid argument: commands$'
case_ "... commands is an object" cmds-obj "{'commands': {'command': 'deleteCA', 'name': 'hx-used'}}" 1 \
    '^missing or invalid argument: commands$'
case_ "... commands is a string" cmds-str "{'commands': 'deleteCA'}" 1 \
    '^missing or invalid argument: commands$'
case_ "commands that are not objects" cmds-items "{'commands': [1, 'deleteCA', None, [], True]}" 5 \
    '^missing or invalid argument: command( .*)?$'
xca_check "registry unchanged after the not-JSON group" unchanged json

# --- Nesting and size ---------------------------------------------------------------------
case_ "10,000 nested arrays" nest-arrays "'[' * 10000 + ']' * 10000" 1 "$JSON_ERROR"
case_ "10,000 nested objects" nest-objects "'{\"\":' * 10000 + '1' + '}' * 10000" 1 "$JSON_ERROR"
case_ "10,000 nested arrays inside a command" nest-in-cmd \
    "'{\"commands\":[{\"command\":\"deleteCA\",\"name\":\"hx-used\",\"x\":' + '[' * 10000 + ']' * 10000 + '}]}'" \
    1 "$JSON_ERROR"
case_ "payload one byte over max_admin_payload ($MAX_PAYLOAD)" too-large \
    "(lambda s: s + ' ' * ($MAX_PAYLOAD + 1 - len(s)))('{\"commands\":[{\"command\":\"deleteCA\",\"name\":\"hx-used\"}]}')" \
    1 '^payload too large$'
case_ "1 MB payload" huge "'{\"commands\":[{\"command\":\"listCAs\",\"x\":\"' + 'A' * (1 << 20) + '\"}]}'" 1 \
    '^payload too large$'
xca_check "control: a request of exactly max_admin_payload bytes runs" ok at-limit \
    "(lambda s: s + ' ' * ($MAX_PAYLOAD - len(s)))('{\"commands\":[{\"command\":\"listCAs\"}]}')"
case_ "1,000 failing commands in one request: 1,000 errors" many \
    "{'commands': [{'command': 'getCA', 'name': 'nope-%d' % i} for i in range(1000)]}" 1000 \
    '^CA not found$'
xca_check "registry unchanged after the nesting and size group" unchanged size

# --- Wrong types for every argument ---------------------------------------------------------
# An error names the argument, then (README "Admin topics") the value given
# and the rule it breaks.
MISSING='^missing or invalid argument: '
wrong_types() { # DESCRIPTION COMMAND ARG VALUES [BASE]
    local n
    n=$(python3 -c "WRONG = [123, -1.5, True, False, [], ['x'], {}, {'a': 'b'}]
WRONG_NULL = WRONG + [None]
print(len($4))")
    case_ "$1: $2 $3 of every other type" "types-$2-$3" "$(cmds "$2" "$3" "$4" "${5:-}")" "$n" \
        "$MISSING$3( .*)?\$"
}
CA_PEM="open('$P/hx-fresh.crt').read()"
wrong_types uploadCA uploadCA name WRONG_NULL "{'certificate': $CA_PEM}"
wrong_types uploadCA uploadCA certificate WRONG_NULL "{'name': 'hx-fresh'}"
wrong_types generateVerificationCode generateVerificationCode name WRONG_NULL
wrong_types verifyCA verifyCA name WRONG_NULL "{'certificate': open('$P/hx-ca-proof-ok.crt').read()}"
wrong_types verifyCA verifyCA certificate WRONG_NULL "{'name': 'hx-ca'}"
wrong_types getCA getCA name WRONG_NULL
wrong_types deleteCA deleteCA name WRONG_NULL
wrong_types createDevice createDevice deviceId WRONG_NULL
wrong_types createDevice createDevice moduleId WRONG "{'deviceId': 'hx-dev'}"
wrong_types createDevice createDevice status WRONG_NULL "{'deviceId': 'hx-new'}"
wrong_types createDevice createDevice authentication WRONG_NULL "{'deviceId': 'hx-new'}"
wrong_types createDevice createDevice primaryThumbprint WRONG "{'deviceId': 'hx-new'}"
wrong_types createDevice createDevice secondaryThumbprint WRONG "{'deviceId': 'hx-new'}"
wrong_types updateDevice updateDevice deviceId WRONG_NULL "{'status': 'disabled'}"
wrong_types updateDevice updateDevice moduleId WRONG "{'deviceId': 'hx-dev', 'status': 'disabled'}"
wrong_types updateDevice updateDevice status WRONG_NULL "{'deviceId': 'hx-dev'}"
wrong_types updateDevice updateDevice authentication WRONG_NULL "{'deviceId': 'hx-dev'}"
wrong_types updateDevice updateDevice primaryThumbprint WRONG "{'deviceId': 'hx-dev'}"
wrong_types updateDevice updateDevice secondaryThumbprint WRONG "{'deviceId': 'hx-dev'}"
wrong_types getDevice getDevice deviceId WRONG_NULL
wrong_types deleteDevice deleteDevice deviceId WRONG_NULL
wrong_types deleteDevice deleteDevice moduleId WRONG "{'deviceId': 'hx-dev'}"
wrong_types listDevices listDevices cursor WRONG_NULL
wrong_types listDevices listDevices count "['5', True, False, [], ['x'], {}, None, 0, -1.5, 1001]"
wrong_types listDevices listDevices deviceId WRONG_NULL
case_ "command name of every other type" types-command \
    "{'commands': [{'command': v, 'name': 'hx-used'} for v in WRONG_NULL]}" 9 '^missing or invalid argument: command( .*)?$'
xca_check "registry unchanged after the wrong-types group" unchanged types

# --- NUL in strings and unknown commands ------------------------------------------------------
NUL_ERROR='^invalid argument: string contains NUL$'
case_ "NUL in a device id (deleteDevice)" nul-id \
    "{'commands': [{'command': 'deleteDevice', 'deviceId': 'hx-dev\\0-old'}]}" 1 "$NUL_ERROR"
case_ "NUL in a CA name (deleteCA)" nul-name \
    "{'commands': [{'command': 'deleteCA', 'name': 'hx-used\\0'}]}" 1 "$NUL_ERROR"
case_ "NUL in a status (updateDevice)" nul-status \
    "{'commands': [{'command': 'updateDevice', 'deviceId': 'hx-dev', 'status': 'disabled\\0'}]}" 1 "$NUL_ERROR"
case_ "NUL in a command name" nul-cmd "{'commands': [{'command': 'deleteCA\\0', 'name': 'hx-used'}]}" 1 \
    "$NUL_ERROR"
case_ "NUL in an argument name" nul-key \
    "{'commands': [{'command': 'createDevice', 'deviceId': 'hx-new', 'status\\0': 'x'}]}" 1 "$NUL_ERROR"
case_ "NUL in a certificate" nul-pem \
    "{'commands': [{'command': 'uploadCA', 'name': 'hx-fresh', 'certificate': $CA_PEM + '\\0'}]}" 1 "$NUL_ERROR"
case_ "a raw NUL byte inside a string" nul-raw \
    "b'{\"commands\":[{\"command\":\"deleteDevice\",\"deviceId\":\"hx-dev\\x00x\"}]}'" 1 "$NUL_ERROR"
case_ "a NUL in one command refuses the whole request" nul-batch \
    "{'commands': [{'command': 'deleteDevice', 'deviceId': 'hx-victim'}, {'command': 'getCA', 'name': 'a\\0'}]}" \
    1 "$NUL_ERROR"
UNKNOWN='^unknown command$'
case_ "unknown commands" unknown \
    "{'commands': [{'command': c, 'name': 'hx-used'} for c in ['fooBar', '', 'deleteca', 'DELETECA', ' deleteCA', 'deleteCA ', '__proto__', 'deleteAll', 'x' * 5000]]}" \
    9 "$UNKNOWN"
case_ "a dynamic-security command" dynsec "{'commands': [{'command': 'deleteClient', 'username': 'admin'}]}" 1 \
    "$UNKNOWN"
xca_check "registry unchanged after the NUL and unknown-command group" unchanged nul

# --- Bad values --------------------------------------------------------------------------------
case_ "device ids outside IoT Hub's set" bad-ids \
    "{'commands': [{'command': 'createDevice', 'deviceId': d} for d in ['a/b', 'a+b', 'a#b', 'a b', '', 'x' * 129, 'caf\\u00e9', '../x', 'a\\nb']]}" \
    9 '^invalid identity id: deviceId( .*)?$'
case_ "CA names outside [A-Za-z0-9._-]{1,64}" bad-names \
    "{'commands': [{'command': 'uploadCA', 'name': n, 'certificate': $CA_PEM} for n in ['a b', 'a/b', 'a*', 'x' * 65, '', 'a:b', 'a\\nb']]}" \
    7 '^invalid name: name( .*)?$'
case_ "invalid status and authentication values" bad-values \
    "{'commands': [{'command': 'createDevice', 'deviceId': 'hx-new', 'status': 'ENABLED'}, {'command': 'createDevice', 'deviceId': 'hx-new', 'authentication': 'none'}]}" \
    2 '^invalid (status: status|authentication type: authentication)( .*)?$'
case_ "invalid thumbprints" bad-thumbs \
    "{'commands': [{'command': 'createDevice', 'deviceId': 'hx-new', 'authentication': 'selfSigned', 'primaryThumbprint': t} for t in ['xyz', 'ab' * 19, 'ab' * 33, 'g' * 64]]}" \
    4 '^invalid thumbprint: primaryThumbprint( .*)?$'
case_ "listDevices count out of range" bad-count \
    "{'commands': [{'command': 'listDevices', 'count': c} for c in [0, -1, 1001, 1e308]]}" 4 "${MISSING}count must be 1–1000\$"
xca_check "registry unchanged after the bad-values group" unchanged values

# --- PEM garbage ---------------------------------------------------------------------------------
BAD_PEM='^invalid PEM certificate$'
upload() { echo "{'commands': [{'command': 'uploadCA', 'name': 'hx-fresh', 'certificate': $1}]}"; }
case_ "certificate that is not PEM" pem-text "$(upload "'hello'")" 1 "$BAD_PEM"
case_ "empty certificate" pem-empty "$(upload "''")" 1 "$BAD_PEM"
case_ "PEM armour around garbage" pem-armour \
    "$(upload "'-----BEGIN CERTIFICATE-----\\nAAAAAAAA\\n-----END CERTIFICATE-----\\n'")" 1 "$BAD_PEM"
case_ "PEM armour around invalid base64" pem-base64 \
    "$(upload "'-----BEGIN CERTIFICATE-----\\n!!!!\$\$\$\$\\n-----END CERTIFICATE-----\\n'")" 1 "$BAD_PEM"
case_ "truncated PEM" pem-trunc "$(upload "${CA_PEM}[:300]")" 1 "$BAD_PEM"
case_ "PEM whose DER has a byte cut off" pem-der-cut \
    "$(upload "(lambda b: '-----BEGIN CERTIFICATE-----\\n' + __import__('base64').encodebytes(b[:-1]).decode() + '-----END CERTIFICATE-----\\n')(__import__('base64').b64decode(''.join(l for l in $CA_PEM.splitlines() if '-----' not in l)))")" \
    1 "$BAD_PEM"
case_ "a certificate request" pem-csr "$(upload "open('$P/hx.csr').read()")" 1 "$BAD_PEM"
case_ "a private key's DER under a CERTIFICATE label" pem-disguised \
    "$(upload "KEY.replace('PRIVATE KEY', 'CERTIFICATE')")" 1 "$BAD_PEM"
case_ "two certificates" pem-two "$(upload "$CA_PEM + open('$P/hx-ca.crt').read()")" 1 \
    '^more than one certificate supplied$'
case_ "a certificate that is not a CA" pem-leaf "$(upload "open('$P/hx-dev.crt').read()")" 1 \
    '^certificate is not a CA certificate$'
case_ "an expired CA" pem-expired "$(upload "open('$P/hx-expired.crt').read()")" 1 \
    '^certificate is outside its validity period$'
case_ "an upload under a name already taken" pem-dup \
    "{'commands': [{'command': 'uploadCA', 'name': 'hx-used', 'certificate': $CA_PEM}]}" 1 \
    '^CA already exists$'
xca_check "registry unchanged after the PEM-garbage group" unchanged pem

# --- PEM with a private key ----------------------------------------------------------------------
KEY_ERROR='^a private key was supplied; it was discarded$'
xca_log_mark b1
case_ "certificate followed by its CA's key (PKCS#8)" key-after "$(upload "$CA_PEM + KEY")" 1 "$KEY_ERROR"
case_ "key before the certificate" key-before "$(upload "KEY + $CA_PEM")" 1 "$KEY_ERROR"
case_ "the key alone" key-alone "$(upload KEY)" 1 "$KEY_ERROR"
case_ "an RSA key (PKCS#1, 'RSA PRIVATE KEY')" key-rsa \
    "$(upload "$CA_PEM + open('$P/leak-rsa-trad.key').read()")" 1 "$KEY_ERROR"
case_ "an encrypted key" key-enc "$(upload "$CA_PEM + open('$P/leak-enc.key').read()")" 1 "$KEY_ERROR"
case_ "a key inside a broken PEM block" key-broken \
    "$(upload "'-----BEGIN CERTIFICATE-----\\n' + KEY + '-----END CERTIFICATE-----\\n'")" 1 "$KEY_ERROR"
case_ "a key with the verification certificate (verifyCA)" key-verify \
    "$(verify hx-ca hx-ca-proof-ok.crt " + KEY")" 1 "$KEY_ERROR"
xca_check "the refusals are audited" xca_wait_log b1 \
    "audit admin=admin command=uploadCA target=ca:hx-fresh result=error \\(a private key was supplied"
xca_check "control: the search finds the key lines in a request that carried them" \
    grep -qF -- "$(grep -v -- ----- "$P/leak.key")" "$XCA_TMP/key-after.json"
xca_check "no line of any key is in a broker log or in Redis" nowhere "$P"/leak*.key
xca_check "registry unchanged after the private-key group" unchanged keys

# --- Verification certificates ---------------------------------------------------------------------
case_ "verifyCA: CN is another code" v-other "$(verify hx-ca hx-ca-proof-other-code.crt)" 1 \
    '^verification certificate CN does not match the live code$'
case_ "verifyCA: CN is the code plus one character" v-suffix "$(verify hx-ca hx-ca-proof-code-suffix.crt)" 1 \
    '^verification certificate CN does not match the live code$'
case_ "verifyCA: CN is the code plus a NUL" v-nul "$(verify hx-ca hx-ca-proof-code-nul.crt)" 1 \
    '^verification certificate CN does not match the live code$'
case_ "verifyCA: two CNs holding the code" v-two-cn "$(verify hx-ca hx-ca-proof-two-cn.crt)" 1 \
    '^verification certificate CN does not match the live code$'
case_ "verifyCA: the code signed by another key" v-wrong-key "$(verify hx-ca hx-ca-proof-wrong-key.crt)" 1 \
    "^certificate is not signed by this CA's key$"
case_ "verifyCA: the code, another CA's proof" v-cross "$(verify hx-ca hx-used-proof-ok.crt)" 1 \
    '^verification certificate CN does not match the live code$'
case_ "verifyCA: an expired verification certificate" v-expired "$(verify hx-ca hx-ca-proof-expired.crt)" 1 \
    '^certificate is outside its validity period$'
case_ "verifyCA: a not-yet-valid verification certificate" v-future "$(verify hx-ca hx-ca-proof-future.crt)" 1 \
    '^certificate is outside its validity period$'
case_ "verifyCA: a SHA-1 verification certificate" v-sha1 "$(verify hx-ca hx-ca-proof-sha1.crt)" 1 \
    '^certificate signature digest too weak \(verification certificate: ecdsa-with-SHA1 < SHA-256\)$'
case_ "verifyCA: the CA certificate itself as the proof" v-self "$(verify hx-ca hx-ca.crt)" 1 \
    '^verification certificate CN does not match the live code$'
case_ "verifyCA: a code already used (CA verified with it)" v-used "$(verify hx-used hx-used-proof-ok.crt)" 1 \
    '^CA is already verified$'
case_ "verifyCA: a code replaced by a newer one" v-replaced "$(verify hx-replaced hx-replaced-proof-ok.crt)" 1 \
    '^verification certificate CN does not match the live code$'
case_ "verifyCA: a CA that does not exist" v-missing "$(verify hx-fresh hx-ca-proof-ok.crt)" 1 '^CA not found$'
case_ "generateVerificationCode for a verified CA" v-regen \
    "{'commands': [{'command': 'generateVerificationCode', 'name': 'hx-used'}]}" 1 '^CA is already verified$'
xca_check "registry unchanged after the verification group" unchanged verify

# --- The admin topic from someone else ----------------------------------------------------------
# A watcher (the admin) sees every reply; after the group, a marked request
# of its own must be the first thing it sees.
xca_bg watch timeout 60 mosquitto_sub -h 127.0.0.1 -p "$B1_ADMIN_PORT" -u "$XCA_ADMIN_USER" \
    -P "$XCA_ADMIN_PASSWORD" -i hx-watch -t "$RESPONSE" -C 1 -W 55
xca_wait_for "an admin watches the response topic" 5 xca_log_has b1 'Sending SUBACK to hx-watch'
payload evil "{'commands': [{'command': 'deleteCA', 'name': 'hx-used'}, {'command': 'deleteDevice', 'deviceId': 'hx-dev'}]}"
# dropped DESCRIPTION CLIENT TOPIC COMMAND...: COMMAND publishes (its exit
# status does not matter: MQTT 3.1.1 acknowledges a denied publish) and
# the broker logs "Denied PUBLISH from CLIENT ... 'TOPIC'" after the mark.
dropped() {
    local desc=$1 client=$2 topic=$3
    shift 3
    CASES=$((CASES + 1))
    xca_log_mark b1
    "$@" >"$XCA_TMP/dropped.out" 2>&1 || true
    xca_check "$desc" xca_wait_log b1 "Denied PUBLISH from $client \\(.*'${topic//$/\\$}'"
}
mallory_pub() { # CLIENTID TOPIC [ARGS]
    timeout 10 mosquitto_pub -h 127.0.0.1 -p "$B1_ADMIN_PORT" -u mallory -P mallorypw -i "$1" \
        -q 1 -t "$2" -f "$XCA_TMP/evil.json" "${@:3}"
}
dropped "a non-admin user's request is dropped" hx-mallory "$CONTROL" mallory_pub hx-mallory "$CONTROL"
dropped "... also over MQTT 5 with a Response Topic" hx-mallory5 "$CONTROL" \
    mallory_pub hx-mallory5 "$CONTROL" -V mqttv5 -D publish response-topic hx/reply
dropped "... also below the admin topic" hx-mallory "$CONTROL/x" mallory_pub hx-mallory "$CONTROL/x"
dropped "a non-admin user cannot forge a reply" hx-mallory "$RESPONSE" mallory_pub hx-mallory "$RESPONSE"
dropped "a device's request on the admin topic is dropped" hx-dev "$CONTROL" \
    xca_pub_tls b1 hx-dev hx-dev "$CONTROL" "$(<"$XCA_TMP/evil.json")"
dropped "... also over MQTT 5" hx-dev "$CONTROL" \
    xca_pub_tls b1 hx-dev hx-dev "$CONTROL" "$(<"$XCA_TMP/evil.json")" -V mqttv5
dropped "a device cannot forge a reply" hx-dev "$RESPONSE" \
    xca_pub_tls b1 hx-dev hx-dev "$RESPONSE" '{"responses":[]}'
CASES=$((CASES + 1))
# sub_refused USER PASSWORD: USER's MQTT 5 subscription to the reply topic
# gets SUBACK reason 135 (not authorized).
sub_refused() {
    timeout 10 mosquitto_sub -h 127.0.0.1 -p "$B1_ADMIN_PORT" -u "$1" -P "$2" -i hx-sub \
        -t "$RESPONSE" -C 1 -W 2 -V mqttv5 -d || true
    timeout 10 mosquitto_sub -h 127.0.0.1 -p "$B1_ADMIN_PORT" -u "$1" -P "$2" -i hx-sub \
        -t "$RESPONSE" -C 1 -W 2 -V mqttv5 -d 2>&1 | grep -q 'Subscribed (mid: 1): 135'
}
xca_check "a non-admin user cannot subscribe to the replies (SUBACK 135)" sub_refused mallory mallorypw
xca_check "the admin's own request still runs" ok sentinel \
    "{'commands': [{'command': 'listCAs', 'correlationData': 'after-the-intruders'}]}"
xca_check "the watcher saw no reply before the admin's own" xca_bg_wait watch 10
xca_check "... its first reply is the admin's" grep -q '"correlationData":"after-the-intruders"' \
    "$XCA_TMP/watch.out"
xca_check "registry unchanged after the intruders group" unchanged intruders

# --- An expired code ---------------------------------------------------------------------------------
# hx-ttl's code was issued by b2 for 10 s: wait until its expiry has passed.
wait_expiry() { (($(date +%s) > TTL_EXPIRY)); }
xca_wait_for "hx-ttl's code is past its expiry" 15 wait_expiry
case_ "verifyCA with an expired code (valid proof otherwise)" v-ttl "$(verify hx-ttl hx-ttl-proof-ok.crt)" 1 \
    '^verification code expired$'
case_ "... also on the broker that issued it" v-ttl-b2 "$(verify hx-ttl hx-ttl-proof-ok.crt)" 1 \
    '^verification code expired$' --port "$B2_ADMIN_PORT"

# --- After everything ------------------------------------------------------------------------------------
xca_check "$CASES hostile admin cases ran (at least 30)" test "$CASES" -ge 30
xca_check "registry byte-identical after the whole run" unchanged end
xca_check "the device still connects" xca_pub_tls b1 hx-dev hx-dev devices/hx-dev/messages/events/ hello
xca_check "control: the snapshot sees a change (hx-victim disabled)" ok disable \
    "{'commands': [{'command': 'updateDevice', 'deviceId': 'hx-victim', 'status': 'disabled'}]}"
xca_check_fails "... as a difference" unchanged changed
echo "# $CASES hostile admin cases"
xca_check "b1 exits 0 on SIGTERM" xca_stop_broker b1
xca_check "b2 exits 0 on SIGTERM" xca_stop_broker b2
xca_done
