#!/usr/bin/env bash
# Integration test for scripts/x509ca-pki: builds the Company-X story and a
# 3-level chain with EC and with RSA keys in a temp dir and checks every file
# with the openssl CLI; then the options that make weak test material
# (--rsa-bits, --curve, --md, --leaf-ca, --key-usage, --eku), and CRLs (crl:
# signature, serials, CRL number, times, the expired variant, refusals).
# Prints each failure and a final "pki: N passed, M failed"
# line; exits non-zero on any failure. XCA_PKI overrides the script under test.
set -uo pipefail

SRC=${XCA_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
PKI=${XCA_PKI:-$SRC/scripts/x509ca-pki}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/test_pki.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

PASSED=0
FAILED=0
KT=-            # key type of the current round, shown in failures
OUT=''          # combined output of the last run
RC=0            # exit status of the last run

# ---------------------------------------------------------------- helpers ---

pass() { PASSED=$((PASSED + 1)); }

fail() {
    FAILED=$((FAILED + 1))
    printf 'FAIL [%s] %s\n' "$KT" "$1"
    [[ -z ${2:-} ]] || printf '%s\n' "$2" | sed 's/^/    | /'
}

# Runs a command, keeping its combined output in OUT and its status in RC.
run() {
    OUT=$("$@" 2>&1)
    RC=$?
}

pki() { "$PKI" "$@"; }

# expect_ok DESC CMD...: CMD must exit 0.
expect_ok() {
    local desc=$1
    shift
    run "$@"
    if ((RC == 0)); then pass; else fail "$desc (exit $RC)" "$OUT"; fi
}

# expect_refused DESC CODE PATTERN CMD...: CMD must exit with CODE and print
# PATTERN, the reason it refused.
expect_refused() {
    local desc=$1 code=$2 pattern=$3
    shift 3
    run "$@"
    if ((RC == code)) && [[ $OUT == *"$pattern"* ]]; then
        pass
    else
        fail "$desc (exit $RC, wanted $code with '$pattern')" "$OUT"
    fi
}

# expect_status DESC CODE CMD...: CMD must exit with CODE.
expect_status() {
    local desc=$1 code=$2
    shift 2
    run "$@"
    if ((RC == code)); then pass; else fail "$desc (exit $RC, wanted $code)" "$OUT"; fi
}

# expect_fail DESC PATTERN CMD...: CMD must fail and print PATTERN.
expect_fail() {
    local desc=$1 pattern=$2
    shift 2
    run "$@"
    if ((RC != 0)) && [[ $OUT == *"$pattern"* ]]; then
        pass
    else
        fail "$desc (exit $RC, wanted failure with '$pattern')" "$OUT"
    fi
}

# expect_eq DESC WANT GOT
expect_eq() {
    if [[ $2 == "$3" ]]; then pass; else fail "$1" "want: $2"$'\n'"got:  $3"; fi
}

# expect_match DESC REGEX GOT
expect_match() {
    if [[ $3 =~ $2 ]]; then pass; else fail "$1" "want /$2/"$'\n'"got:  $3"; fi
}

verify() {
    local root=$1 chain=$2 cert=$3
    shift 3
    openssl verify "$@" -CAfile "$root" -untrusted "$chain" "$cert"
}

subject() { openssl x509 -in "$1" -noout -subject -nameopt RFC2253 | sed 's/^subject=//'; }
issuer() { openssl x509 -in "$1" -noout -issuer -nameopt RFC2253 | sed 's/^issuer=//'; }

# Prints one extension of a certificate on one line, e.g.
# "X509v3 Basic Constraints: critical CA:TRUE".
ext() {
    openssl x509 -in "$1" -noout -ext "$2" 2>/dev/null | tr -s ' \n' ' ' | sed 's/ $//'
}

# Prints the normalised fingerprint (lowercase hex, no colons) of a certificate.
fingerprint() {
    local fp
    fp=$(openssl x509 -in "$2" -noout -fingerprint "-$1") || return 1
    fp=${fp#*=}
    fp=${fp//:/}
    printf '%s\n' "${fp,,}"
}

# Prints "N: SUBJECT|SUBJECT|..." for the certificates of a PEM bundle, in order.
chain_layout() {
    local dir n i subjects=()
    dir=$(mktemp -d "$WORK/split.XXXXXX")
    awk -v p="$dir/c." '/-BEGIN CERTIFICATE-/ { n++ } n { print > (p n) }' "$1"
    n=$(grep -c -- '-BEGIN CERTIFICATE-' "$1")
    for ((i = 1; i <= n; i++)); do
        subjects+=("$(subject "$dir/c.$i")")
    done
    local IFS='|'
    printf '%s: %s\n' "$n" "${subjects[*]}"
}

# Prints the SHA-256 of the (first) certificate of a PEM file.
cert_fingerprint() {
    openssl x509 -in "$1" -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1
}

# Prints a description of a key file: "EC P-256" or "RSA 2048".
key_kind() {
    local text
    text=$(openssl pkey -in "$1" -noout -text 2>&1) || { printf 'unreadable\n'; return; }
    if [[ $text == *"NIST CURVE: P-256"* ]]; then
        printf 'EC P-256\n'
    elif [[ $text =~ Private-Key:\ \(([0-9]+)\ bit,\ 2\ primes\) ]]; then
        printf 'RSA %s\n' "${BASH_REMATCH[1]}"
    else
        printf 'other: %s\n' "$(head -n 2 <<<"$text" | tr '\n' ' ')"
    fi
}

# Succeeds when the certificate's public key is the key file's.
key_matches() {
    [[ "$(openssl pkey -in "$2" -pubout)" == "$(openssl x509 -in "$1" -noout -pubkey)" ]]
}

# ------------------------------------------------------------------ tests ---

test_usage() {
    KT=cli
    expect_ok "script is executable" test -x "$PKI"
    expect_ok "--help exits 0" pki --help
    local cmd
    for cmd in root intermediate device module selfsigned thumbprint crl verification server story; do
        if [[ $OUT == *"  $cmd "* || $OUT == *"  $cmd"$'\n'* ]]; then pass; else fail "--help documents $cmd" "$OUT"; fi
    done
    expect_ok "-h exits 0" pki -h
    expect_ok "help exits 0" pki help
    local d=$WORK/usage
    expect_refused "no command exits 2" 2 "x509ca-pki: missing command" pki --dir "$d"
    expect_match "usage goes to stderr" "Usage:" "$(pki --dir "$d" 2>&1 >/dev/null)"
    expect_refused "unknown command exits 2" 2 "x509ca-pki: unknown command 'frobnicate'" \
        pki --dir "$d" frobnicate
    expect_refused "unknown option exits 2" 2 "x509ca-pki: unknown option --frob" pki --dir "$d" root r --frob
    expect_refused "root without NAME exits 2" 2 "x509ca-pki: root takes 1 argument(s), got 0" \
        pki --dir "$d" root
    expect_refused "device without --ca exits 2" 2 "x509ca-pki: device needs --ca ISSUER" \
        pki --dir "$d" device dev1
    expect_refused "--ca without value exits 2" 2 "x509ca-pki: option --ca needs a value" \
        pki --dir "$d" device dev1 --ca
    expect_refused "module without MODULEID exits 2" 2 "x509ca-pki: module takes 2 argument(s), got 1" \
        pki --dir "$d" module dev1 --ca x
    expect_refused "verification without CA exits 2" 2 \
        "x509ca-pki: verification needs --ca or --ca-cert and --ca-key" pki --dir "$d" verification CODE
    expect_refused "verification with --ca-cert only exits 2" 2 \
        "x509ca-pki: verification needs --ca or --ca-cert and --ca-key" \
        pki --dir "$d" verification CODE --ca-cert x
    expect_refused "--days abc exits 2" 2 "x509ca-pki: --days needs a positive integer" \
        pki --dir "$d" --days abc root r
    expect_refused "--pathlen x exits 2" 2 "x509ca-pki: --pathlen needs an integer" \
        pki --dir "$d" intermediate i --ca r --pathlen x
    expect_refused "extra argument exits 2" 2 "x509ca-pki: root takes 1 argument(s), got 2" \
        pki --dir "$d" root r extra
    expect_refused "option of another command exits 2" 2 "x509ca-pki: root does not take that option (--pathlen)" \
        pki --dir "$d" root r --pathlen 1
    expect_refused "thumbprint without file exits 2" 2 "x509ca-pki: thumbprint takes 1 argument(s), got 0" \
        pki thumbprint
    expect_refused "missing issuer fails with exit 1 and names it" 1 \
        "x509ca-pki: issuer certificate $d/no-such-ca.crt not found" pki --dir "$d" device dev1 --ca no-such-ca
    if [[ ! -e $d/dev1.crt ]]; then pass; else fail "failed device command left dev1.crt"; fi
}

# test_round KEYTYPE [--rsa]: the whole tree for one key type.
test_round() {
    KT=$1
    shift
    local d=$WORK/$KT want_key
    local -a P=(pki --dir "$d" "$@")
    [[ $KT == rsa ]] && want_key="RSA 2048" || want_key="EC P-256"

    # --- the story ---
    expect_ok "story" "${P[@]}" story
    local story_out=$OUT f missing=()
    expect_match "story prints a summary" "company-x" "$story_out"
    for f in company-x.crt company-x.key factory-y.crt factory-y.key factory-y.chain.pem \
        technician-z.crt technician-z.key technician-z.chain.pem server-ca.crt server-ca.key \
        server.crt server.key smart-x-widget-{1,2,3}.{crt,key,chain.pem}; do
        [[ -s $d/$f ]] || missing+=("$f")
    done
    expect_eq "story makes all its files" "" "${missing[*]}"
    if [[ ! -e $d/company-x.chain.pem ]]; then pass; else fail "root has no chain.pem"; fi

    expect_eq "root CN" "CN=Company-X Root CA" "$(subject "$d/company-x.crt")"
    expect_eq "root is self-signed" "CN=Company-X Root CA" "$(issuer "$d/company-x.crt")"
    expect_eq "factory-y CN" "CN=Factory-Y CA" "$(subject "$d/factory-y.crt")"
    expect_eq "factory-y issuer" "CN=Company-X Root CA" "$(issuer "$d/factory-y.crt")"
    expect_eq "technician-z CN" "CN=Technician-Z CA" "$(subject "$d/technician-z.crt")"
    expect_eq "technician-z issuer" "CN=Factory-Y CA" "$(issuer "$d/technician-z.crt")"
    expect_eq "root basicConstraints" "X509v3 Basic Constraints: critical CA:TRUE" \
        "$(ext "$d/company-x.crt" basicConstraints)"
    expect_eq "root keyUsage" "X509v3 Key Usage: critical Certificate Sign, CRL Sign" \
        "$(ext "$d/company-x.crt" keyUsage)"
    expect_match "root subjectKeyIdentifier" "Subject Key Identifier: [0-9A-F:]{20,}" \
        "$(ext "$d/company-x.crt" subjectKeyIdentifier)"
    expect_eq "root authorityKeyIdentifier = its SKI" \
        "$(ext "$d/company-x.crt" subjectKeyIdentifier | sed 's/.*: //')" \
        "$(ext "$d/company-x.crt" authorityKeyIdentifier | sed 's/.*: //; s/^keyid://')"
    expect_eq "intermediate basicConstraints" "X509v3 Basic Constraints: critical CA:TRUE" \
        "$(ext "$d/technician-z.crt" basicConstraints)"
    expect_eq "intermediate AKI = issuer SKI" \
        "$(ext "$d/factory-y.crt" subjectKeyIdentifier | sed 's/.*: //')" \
        "$(ext "$d/technician-z.crt" authorityKeyIdentifier | sed 's/.*: //; s/^keyid://')"

    local i dev
    for i in 1 2 3; do
        dev=$d/smart-x-widget-$i
        expect_ok "smart-x-widget-$i verifies through its chain" \
            verify "$d/company-x.crt" "$dev.chain.pem" "$dev.crt" -purpose sslclient
        expect_eq "smart-x-widget-$i CN" "CN=smart-x-widget-$i" "$(subject "$dev.crt")"
        expect_eq "smart-x-widget-$i chain" \
            "3: CN=smart-x-widget-$i|CN=Technician-Z CA|CN=Factory-Y CA" "$(chain_layout "$dev.chain.pem")"
        expect_eq "smart-x-widget-$i key type" "$want_key" "$(key_kind "$dev.key")"
        expect_ok "smart-x-widget-$i key matches cert" key_matches "$dev.crt" "$dev.key"
    done
    dev=$d/smart-x-widget-1
    expect_fail "device without intermediates does not verify" "unable to get local issuer" \
        openssl verify -CAfile "$d/company-x.crt" "$dev.crt"
    expect_eq "chain starts with the device cert itself" \
        "$(cert_fingerprint "$dev.crt")" "$(cert_fingerprint "$dev.chain.pem")"
    expect_eq "technician-z chain" "2: CN=Technician-Z CA|CN=Factory-Y CA" \
        "$(chain_layout "$d/technician-z.chain.pem")"
    expect_eq "factory-y chain" "1: CN=Factory-Y CA" "$(chain_layout "$d/factory-y.chain.pem")"
    expect_eq "device basicConstraints" "X509v3 Basic Constraints: critical CA:FALSE" \
        "$(ext "$dev.crt" basicConstraints)"
    expect_eq "device extendedKeyUsage" "X509v3 Extended Key Usage: TLS Web Client Authentication" \
        "$(ext "$dev.crt" extendedKeyUsage)"
    if [[ $KT == rsa ]]; then
        expect_eq "device keyUsage" "X509v3 Key Usage: critical Digital Signature, Key Encipherment" \
            "$(ext "$dev.crt" keyUsage)"
    else
        expect_eq "device keyUsage" "X509v3 Key Usage: critical Digital Signature" \
            "$(ext "$dev.crt" keyUsage)"
    fi
    expect_eq "root key type" "$want_key" "$(key_kind "$d/company-x.key")"
    expect_match "cert public key type" \
        "$([[ $KT == rsa ]] && echo 'rsaEncryption' || echo 'id-ecPublicKey')" \
        "$(openssl x509 -in "$dev.crt" -noout -text | grep 'Public Key Algorithm')"
    expect_eq "default validity 365 days" \
        "$(date -u -d "$(openssl x509 -in "$dev.crt" -noout -startdate | cut -d= -f2) + 365 days" +%s)" \
        "$(date -u -d "$(openssl x509 -in "$dev.crt" -noout -enddate | cut -d= -f2)" +%s)"
    local s1 s2
    s1=$(openssl x509 -in "$d/smart-x-widget-1.crt" -noout -serial | cut -d= -f2)
    s2=$(openssl x509 -in "$d/smart-x-widget-2.crt" -noout -serial | cut -d= -f2)
    expect_match "serial is about 128 bits" '^[0-9A-F]{30,34}$' "$s1"
    if [[ $s1 != "$s2" ]]; then pass; else fail "serials differ ($s1)"; fi

    # --- the server certificate ---
    expect_ok "server verifies against server-ca" \
        openssl verify -purpose sslserver -CAfile "$d/server-ca.crt" "$d/server.crt"
    expect_eq "server SAN" "X509v3 Subject Alternative Name: DNS:localhost, IP Address:127.0.0.1" \
        "$(ext "$d/server.crt" subjectAltName)"
    expect_eq "server CN" "CN=localhost" "$(subject "$d/server.crt")"
    local server_ca_fp
    server_ca_fp=$(cert_fingerprint "$d/server-ca.crt")
    expect_ok "server again" "${P[@]}" server
    expect_eq "server keeps an existing server-ca" "$server_ca_fp" "$(cert_fingerprint "$d/server-ca.crt")"
    expect_fail "server cert does not verify against the device root" "unable to get local issuer" \
        openssl verify -CAfile "$d/company-x.crt" "$d/server.crt"

    # --- a 3-level chain with path lengths, devices and modules ---
    expect_ok "root r3" "${P[@]}" root r3 --cn "Root Three"
    expect_eq "root --cn" "CN=Root Three" "$(subject "$d/r3.crt")"
    expect_ok "intermediate i1" "${P[@]}" intermediate i1 --ca r3 --pathlen 2
    expect_ok "intermediate i2" "${P[@]}" intermediate i2 --ca i1 --pathlen 1 --cn "Level Two"
    expect_ok "intermediate i3" "${P[@]}" intermediate i3 --ca i2 --pathlen 0
    expect_eq "intermediate CN defaults to NAME" "CN=i1" "$(subject "$d/i1.crt")"
    expect_eq "intermediate --cn" "CN=Level Two" "$(subject "$d/i2.crt")"
    expect_eq "pathlen" "X509v3 Basic Constraints: critical CA:TRUE, pathlen:0" \
        "$(ext "$d/i3.crt" basicConstraints)"
    expect_eq "i3 chain" "3: CN=i3|CN=Level Two|CN=i1" "$(chain_layout "$d/i3.chain.pem")"
    expect_ok "device dev3" "${P[@]}" device dev3 --ca i3
    expect_ok "dev3 verifies through 3 intermediates" verify "$d/r3.crt" "$d/dev3.chain.pem" "$d/dev3.crt"
    expect_eq "dev3 chain" "4: CN=dev3|CN=i3|CN=Level Two|CN=i1" "$(chain_layout "$d/dev3.chain.pem")"
    expect_ok "module dev3/m1" "${P[@]}" module dev3 m1 --ca i3
    expect_eq "module CN" "CN=dev3/m1" "$(subject "$d/dev3--m1.crt")"
    expect_ok "module verifies" verify "$d/r3.crt" "$d/dev3--m1.chain.pem" "$d/dev3--m1.crt"
    expect_eq "module chain" "4: CN=dev3/m1|CN=i3|CN=Level Two|CN=i1" \
        "$(chain_layout "$d/dev3--m1.chain.pem")"
    expect_eq "module basicConstraints" "X509v3 Basic Constraints: critical CA:FALSE" \
        "$(ext "$d/dev3--m1.crt" basicConstraints)"
    expect_ok "module --out" "${P[@]}" module dev3 m2 --ca i3 --out modtwo
    expect_eq "module --out CN" "CN=dev3/m2" "$(subject "$d/modtwo.crt")"
    expect_ok "device signed by the root" "${P[@]}" device rootdev --ca r3
    expect_eq "device under root: chain = leaf only" "1: CN=rootdev" "$(chain_layout "$d/rootdev.chain.pem")"
    expect_ok "device under root verifies" verify "$d/r3.crt" "$d/rootdev.chain.pem" "$d/rootdev.crt"
    expect_ok "intermediate beyond pathlen" "${P[@]}" intermediate i4 --ca i3
    expect_ok "device under i4" "${P[@]}" device dev4 --ca i4
    expect_fail "pathlen is enforced" "path length constraint exceeded" \
        verify "$d/r3.crt" "$d/dev4.chain.pem" "$d/dev4.crt"
    expect_ok "issuer as a path prefix" "${P[@]}" device pathdev --ca "$d/i3"
    expect_ok "device by path prefix verifies" verify "$d/r3.crt" "$d/pathdev.chain.pem" "$d/pathdev.crt"

    # --- --cn, --out, --days ---
    expect_ok "device --cn" "${P[@]}" device dcn --ca technician-z --cn "someone-else"
    expect_eq "device --cn sets CN, file by DEVICEID" "CN=someone-else" "$(subject "$d/dcn.crt")"
    expect_ok "device --out" "${P[@]}" device dout --ca technician-z --out other-name
    expect_eq "device --out CN" "CN=dout" "$(subject "$d/other-name.crt")"
    if [[ ! -e $d/dout.crt && -s $d/other-name.chain.pem ]]; then pass; else fail "--out names the files"; fi
    expect_ok "device --days 10" "${P[@]}" --days 10 device short --ca technician-z
    expect_ok "--days 10: valid for 9 more days" openssl x509 -in "$d/short.crt" -noout -checkend $((9 * 86400))
    expect_refused "--days 10: not valid for 11 more days" 1 "Certificate will expire" \
        openssl x509 -in "$d/short.crt" -noout -checkend $((11 * 86400))
    expect_ok "global option after the command" "${P[@]}" device late --ca technician-z --days 20
    expect_refused "late --days 20: not valid for 21 days" 1 "Certificate will expire" \
        openssl x509 -in "$d/late.crt" -noout -checkend $((21 * 86400))

    # --- expired certificates ---
    expect_ok "device --expired" "${P[@]}" device exp1 --ca technician-z --expired
    expect_fail "expired device fails verification" "certificate has expired" \
        verify "$d/company-x.crt" "$d/exp1.chain.pem" "$d/exp1.crt"
    expect_match "expired device validity in the past" "notAfter=.* 202[0-1] GMT" \
        "$(openssl x509 -in "$d/exp1.crt" -noout -enddate)"
    expect_eq "expired device keeps its CN" "CN=exp1" "$(subject "$d/exp1.crt")"
    expect_eq "expired device keeps its extensions" "X509v3 Basic Constraints: critical CA:FALSE" \
        "$(ext "$d/exp1.crt" basicConstraints)"
    expect_ok "intermediate --expired" "${P[@]}" intermediate oldca --ca company-x --expired
    expect_eq "expired intermediate is still CA:TRUE" "X509v3 Basic Constraints: critical CA:TRUE" \
        "$(ext "$d/oldca.crt" basicConstraints)"
    expect_ok "device under expired intermediate" "${P[@]}" device underold --ca oldca
    expect_fail "device under expired intermediate fails" "certificate has expired" \
        verify "$d/company-x.crt" "$d/underold.chain.pem" "$d/underold.crt"
    expect_ok "module --expired" "${P[@]}" module exp1 m --ca technician-z --expired
    expect_refused "expired module is expired" 1 "Certificate will expire" \
        openssl x509 -in "$d/exp1--m.crt" -noout -checkend 0
    expect_ok "selfsigned --expired" "${P[@]}" selfsigned sexp --expired
    expect_refused "expired selfsigned is expired" 1 "Certificate will expire" \
        openssl x509 -in "$d/sexp.crt" -noout -checkend 0
    expect_eq "expired selfsigned is self-signed" "CN=sexp" "$(issuer "$d/sexp.crt")"

    # --- --not-ca ---
    expect_ok "intermediate --not-ca" "${P[@]}" intermediate notca --ca company-x --not-ca
    expect_eq "--not-ca basicConstraints" "X509v3 Basic Constraints: critical CA:FALSE" \
        "$(ext "$d/notca.crt" basicConstraints)"
    expect_ok "device under --not-ca intermediate" "${P[@]}" device undernotca --ca notca
    expect_fail "device under --not-ca intermediate fails" "invalid CA certificate" \
        verify "$d/company-x.crt" "$d/undernotca.chain.pem" "$d/undernotca.crt"

    # --- self-signed devices and thumbprints ---
    run "${P[@]}" selfsigned sdev
    if ((RC == 0)); then pass; else fail "selfsigned (exit $RC)" "$OUT"; fi
    local printed=$OUT sha1 sha256
    sha1=$(fingerprint sha1 "$d/sdev.crt")
    sha256=$(fingerprint sha256 "$d/sdev.crt")
    expect_eq "selfsigned prints thumbprints" "sha1=$sha1"$'\n'"sha256=$sha256" "$printed"
    expect_eq "selfsigned .thumbprints file" "sha1=$sha1"$'\n'"sha256=$sha256" "$(cat "$d/sdev.thumbprints")"
    expect_match "thumbprint format" $'^sha1=[0-9a-f]{40}\nsha256=[0-9a-f]{64}$' "$printed"
    expect_eq "selfsigned CN" "CN=sdev" "$(subject "$d/sdev.crt")"
    expect_eq "selfsigned issuer = subject" "CN=sdev" "$(issuer "$d/sdev.crt")"
    expect_eq "selfsigned basicConstraints" "X509v3 Basic Constraints: critical CA:FALSE" \
        "$(ext "$d/sdev.crt" basicConstraints)"
    expect_eq "selfsigned clientAuth" "X509v3 Extended Key Usage: TLS Web Client Authentication" \
        "$(ext "$d/sdev.crt" extendedKeyUsage)"
    expect_eq "selfsigned key type" "$want_key" "$(key_kind "$d/sdev.key")"
    expect_ok "selfsigned key matches" key_matches "$d/sdev.crt" "$d/sdev.key"
    expect_ok "selfsigned --out" "${P[@]}" selfsigned sdev2 --out ss-other
    expect_eq "selfsigned --out CN" "CN=sdev2" "$(subject "$d/ss-other.crt")"
    if [[ -s $d/ss-other.thumbprints ]]; then pass; else fail "selfsigned --out thumbprints file"; fi
    expect_ok "thumbprint of a CA-signed cert" "${P[@]}" thumbprint "$dev.crt"
    expect_eq "thumbprint output" \
        "sha1=$(fingerprint sha1 "$dev.crt")"$'\n'"sha256=$(fingerprint sha256 "$dev.crt")" "$OUT"
    openssl x509 -in "$dev.crt" -outform DER -out "$WORK/$KT-dev.der"
    expect_ok "thumbprint of a DER file" "${P[@]}" thumbprint "$WORK/$KT-dev.der"
    expect_eq "DER thumbprint = PEM thumbprint" \
        "sha1=$(fingerprint sha1 "$dev.crt")"$'\n'"sha256=$(fingerprint sha256 "$dev.crt")" "$OUT"
    expect_refused "thumbprint of a missing file fails" 1 "x509ca-pki: cannot read $d/nope.crt" \
        "${P[@]}" thumbprint "$d/nope.crt"

    # --- verification certificates ---
    local key_before
    key_before=$(cert_fingerprint "$d/technician-z.crt")$(sha256sum <"$d/technician-z.key")
    run "${P[@]}" verification 0A1B2C3D4E5F --ca technician-z
    if ((RC == 0)); then pass; else fail "verification --ca (exit $RC)" "$OUT"; fi
    expect_eq "verification prints its path" "$d/verification-technician-z.crt" "$OUT"
    local vc=$d/verification-technician-z.crt
    expect_eq "verification CN = code" "CN=0A1B2C3D4E5F" "$(subject "$vc")"
    expect_eq "verification issuer = CA" "CN=Technician-Z CA" "$(issuer "$vc")"
    expect_ok "verification cert verifies against the CA" \
        verify "$d/company-x.crt" "$d/technician-z.chain.pem" "$vc"
    expect_ok "verification cert verifies with the CA alone (partial chain)" \
        openssl verify -partial_chain -CAfile "$d/technician-z.crt" "$vc"
    expect_fail "verification cert does not verify against another CA" "unable to get local issuer" \
        openssl verify -partial_chain -CAfile "$d/i3.crt" "$vc"
    expect_eq "verification leaves the CA files alone" "$key_before" \
        "$(cert_fingerprint "$d/technician-z.crt")$(sha256sum <"$d/technician-z.key")"
    if ! compgen -G "$d/*verification*.key" >/dev/null; then pass; else
        fail "verification keeps no key file"; fi
    mkdir -p "$WORK/$KT-elsewhere"
    cp "$d/factory-y.crt" "$WORK/$KT-elsewhere/my ca.pem"
    cp "$d/factory-y.key" "$WORK/$KT-elsewhere/my ca key.pem"
    run "${P[@]}" verification CODE-2 --ca-cert "$WORK/$KT-elsewhere/my ca.pem" \
        --ca-key "$WORK/$KT-elsewhere/my ca key.pem" --out "$WORK/$KT-elsewhere/out/v.pem"
    if ((RC == 0)); then pass; else fail "verification --ca-cert/--ca-key (exit $RC)" "$OUT"; fi
    expect_eq "verification --out path printed" "$WORK/$KT-elsewhere/out/v.pem" "$OUT"
    expect_eq "verification --ca-cert CN" "CN=CODE-2" "$(subject "$WORK/$KT-elsewhere/out/v.pem")"
    expect_ok "verification --ca-cert verifies" openssl verify -CAfile "$d/company-x.crt" \
        -untrusted "$d/factory-y.crt" "$WORK/$KT-elsewhere/out/v.pem"
    run "${P[@]}" verification CODE-3 --ca-cert "$d/factory-y.crt" --ca-key "$d/factory-y.key"
    expect_eq "verification --ca-cert default path" "$d/verification-factory-y.crt" "$OUT"

    # --- key modes and overwriting ---
    local bad=()
    for f in "$d"/*.key; do
        [[ $(stat -c %a "$f") == 600 ]] || bad+=("$f")
    done
    expect_eq "all keys have mode 600" "" "${bad[*]}"
    chmod 644 "$d/other-name.key" "$d/company-x.key"
    local old_fp
    old_fp=$(cert_fingerprint "$d/smart-x-widget-1.crt")
    expect_ok "story again (overwrites)" "${P[@]}" story
    expect_ok "device again (overwrites)" "${P[@]}" device dout --ca technician-z --out other-name
    expect_eq "overwritten key has mode 600" "600" "$(stat -c %a "$d/other-name.key")"
    expect_eq "overwritten root key has mode 600" "600" "$(stat -c %a "$d/company-x.key")"
    if [[ $old_fp != "$(cert_fingerprint "$d/smart-x-widget-1.crt")" ]]; then pass; else
        fail "story again makes new certificates"; fi
    expect_ok "new story verifies" verify "$d/company-x.crt" "$d/smart-x-widget-1.chain.pem" \
        "$d/smart-x-widget-1.crt"
    expect_ok "new story key matches" key_matches "$d/smart-x-widget-1.crt" "$d/smart-x-widget-1.key"
    expect_ok "intermediate turned into a root" "${P[@]}" root i2
    if [[ ! -e $d/i2.chain.pem ]]; then pass; else fail "root removes a stale NAME.chain.pem"; fi
}

test_default_dir() {
    KT=default
    local d=$WORK/cwd
    mkdir -p "$d"
    (cd "$d" && "$PKI" root r >/dev/null 2>&1 && "$PKI" device x --ca r >/dev/null 2>&1)
    if [[ -s $d/pki/r.crt && -s $d/pki/x.chain.pem ]]; then pass; else fail "DIR defaults to ./pki"; fi
    expect_eq "default key type is EC P-256" "EC P-256" "$(key_kind "$d/pki/x.key")"
}

# Prints the signature algorithm of a certificate, e.g. "md5WithRSAEncryption".
sig_alg() { openssl x509 -in "$1" -noout -text | sed -n 's/^ *Signature Algorithm: //p' | head -n 1; }

# Prints the key of a certificate: "RSA 1024", "EC P-384", ...
cert_key() {
    local text
    text=$(openssl x509 -in "$1" -noout -text)
    if [[ $text =~ NIST\ CURVE:\ (P-[0-9]+) ]]; then
        printf 'EC %s\n' "${BASH_REMATCH[1]}"
    elif [[ $text =~ ASN1\ OID:\ ([a-z0-9]+) ]]; then
        printf 'EC %s\n' "${BASH_REMATCH[1]}"
    elif [[ $text =~ Public-Key:\ \(([0-9]+)\ bit\) ]]; then
        printf 'RSA %s\n' "${BASH_REMATCH[1]}"
    fi
}

# The key, digest and LEAF options that make weak or odd test material.
test_weak_material() {
    KT=options
    local d=$WORK/weak
    local P=("$PKI" --dir "$d")
    expect_ok "root with --rsa-bits 1024 --md md5" "${P[@]}" --rsa-bits 1024 --md md5 root weak
    expect_eq "--rsa-bits 1024 makes an RSA-1024 key" "RSA 1024" "$(cert_key "$d/weak.crt")"
    expect_eq "--md md5 signs with MD5" "md5WithRSAEncryption" "$(sig_alg "$d/weak.crt")"
    expect_ok "EC root" "${P[@]}" root ec
    expect_ok "device with --rsa-bits 512" "${P[@]}" --rsa-bits 512 device d512 --ca ec
    expect_eq "--rsa-bits 512 makes an RSA-512 key" "RSA 512" "$(cert_key "$d/d512.crt")"
    expect_eq "RSA leaves keep keyEncipherment" \
        "X509v3 Key Usage: critical Digital Signature, Key Encipherment" "$(ext "$d/d512.crt" keyUsage)"
    expect_ok "device with --md sha1" "${P[@]}" device dsha1 --ca ec --md sha1
    expect_eq "--md sha1 signs with SHA-1" "ecdsa-with-SHA1" "$(sig_alg "$d/dsha1.crt")"
    expect_ok "expired device with --md sha1" "${P[@]}" device dold --ca ec --md sha1 --expired
    expect_eq "--md applies to expired certificates too" "ecdsa-with-SHA1" "$(sig_alg "$d/dold.crt")"
    expect_ok "device with --curve P-384" "${P[@]}" --curve P-384 device d384 --ca ec
    expect_eq "--curve P-384 makes a P-384 key" "EC P-384" "$(cert_key "$d/d384.crt")"
    expect_ok "device with --curve secp256k1" "${P[@]}" --curve secp256k1 device dk1 --ca ec
    expect_eq "--curve secp256k1 makes a secp256k1 key" "EC secp256k1" "$(cert_key "$d/dk1.crt")"
    expect_eq "default digest is SHA-256" "ecdsa-with-SHA256" "$(sig_alg "$d/d384.crt")"
    expect_ok "device with --leaf-ca" "${P[@]}" device dca --ca ec --leaf-ca
    expect_eq "--leaf-ca sets CA:TRUE" "X509v3 Basic Constraints: critical CA:TRUE" \
        "$(ext "$d/dca.crt" basicConstraints)"
    expect_ok "--leaf-ca chain still verifies" verify "$d/ec.crt" "$d/dca.chain.pem" "$d/dca.crt"
    expect_ok "device with --key-usage keyEncipherment" "${P[@]}" device dku --ca ec \
        --key-usage keyEncipherment
    expect_eq "--key-usage sets keyUsage" "X509v3 Key Usage: critical Key Encipherment" \
        "$(ext "$d/dku.crt" keyUsage)"
    expect_ok "device with --eku serverAuth" "${P[@]}" device deku --ca ec --eku serverAuth
    expect_eq "--eku sets extendedKeyUsage" \
        "X509v3 Extended Key Usage: TLS Web Server Authentication" "$(ext "$d/deku.crt" extendedKeyUsage)"
    expect_ok "device with --key-usage none --eku none" "${P[@]}" device dnone --ca ec \
        --key-usage none --eku none
    expect_eq "none omits keyUsage" "" "$(ext "$d/dnone.crt" keyUsage)"
    expect_eq "none omits extendedKeyUsage" "" "$(ext "$d/dnone.crt" extendedKeyUsage)"
    expect_ok "module and selfsigned take LEAF options" "${P[@]}" module dm m1 --ca ec --eku serverAuth
    expect_ok "selfsigned takes --leaf-ca" "${P[@]}" selfsigned sca --leaf-ca
    expect_eq "selfsigned --leaf-ca sets CA:TRUE" "X509v3 Basic Constraints: critical CA:TRUE" \
        "$(ext "$d/sca.crt" basicConstraints)"
    expect_status "--rsa-bits 100 exits 2" 2 "${P[@]}" --rsa-bits 100 root r
    expect_status "--rsa-bits x exits 2" 2 "${P[@]}" --rsa-bits x root r
    expect_status "--md md4 exits 2" 2 "${P[@]}" --md md4 root r
    expect_status "--curve with --rsa exits 2" 2 "${P[@]}" --rsa --curve P-384 root r
    expect_fail "root does not take --leaf-ca" "(--leaf-ca)" "${P[@]}" root r --leaf-ca
    expect_status "intermediate does not take --eku" 2 "${P[@]}" intermediate i --ca ec --eku serverAuth
    expect_status "--eku with a bad list exits 2" 2 "${P[@]}" device x --ca ec --eku 'a;b'
    expect_status "--key-usage without value exits 2" 2 "${P[@]}" device x --ca ec --key-usage
    run pki --help
    local opt
    for opt in --rsa-bits --curve --md --leaf-ca --key-usage --eku; do
        if [[ $OUT == *"$opt"* ]]; then pass; else fail "--help documents $opt" "$OUT"; fi
    done
}

# Prints the revoked serials of a CRL, one a line, uppercase hex without
# leading zeros, sorted.
crl_serials() {
    openssl crl -in "$1" -noout -text | sed -n 's/^ *Serial Number: //p' |
        sed 's/^0*//' | tr 'a-f' 'A-F' | sort
}

# Prints the serials of certificate files in the form of crl_serials.
cert_serials() {
    local f
    for f in "$@"; do
        openssl x509 -in "$f" -noout -serial | sed 's/^serial=//; s/^0*//' | tr 'a-f' 'A-F'
    done | sort
}

# Prints a CRL field (lastupdate, nextupdate) as unix seconds.
crl_time() {
    date -u -d "$(openssl crl -in "$1" -noout "-$2" | cut -d= -f2)" +%s
}

crl_number() { openssl crl -in "$1" -noout -crlnumber | cut -d= -f2; }

# Succeeds when $2 lies within 120 s of $1 (times made a moment apart).
near() { (($2 - $1 <= 120 && $1 - $2 <= 120)); }

# test_crl KEYTYPE [--rsa]: CRLs signed by a story intermediate.
test_crl() {
    KT=crl-$1
    shift
    local d=$WORK/crl-$KT
    local -a P=(pki --dir "$d" "$@")
    expect_ok "story for CRLs" "${P[@]}" story
    local crl=$d/technician-z.crl.pem now
    now=$(date -u +%s)
    expect_ok "crl revoking two widgets (by name and by path)" "${P[@]}" crl --ca technician-z \
        --revoke smart-x-widget-1 --revoke "$d/smart-x-widget-2.crt"
    expect_eq "crl prints its path" "$crl" "$OUT"
    expect_eq "crl is a PEM X509 CRL" "-----BEGIN X509 CRL-----" "$(head -n 1 "$crl")"
    expect_refused "crl verifies with the issuer's certificate" 0 "verify OK" \
        openssl crl -in "$crl" -CAfile "$d/technician-z.crt" -verify -noout
    expect_fail "crl does not verify with another CA's certificate" "Error getting CRL issuer certificate" \
        openssl crl -in "$crl" -CAfile "$d/factory-y.crt" -verify -noout
    expect_eq "crl issuer" "issuer=CN=Technician-Z CA" \
        "$(openssl crl -in "$crl" -noout -issuer -nameopt RFC2253)"
    expect_eq "crl lists exactly the given serials" \
        "$(cert_serials "$d/smart-x-widget-1.crt" "$d/smart-x-widget-2.crt")" "$(crl_serials "$crl")"
    expect_eq "crl number 1 first" "0x01" "$(crl_number "$crl")"
    local last next
    last=$(crl_time "$crl" lastupdate) next=$(crl_time "$crl" nextupdate)
    expect_ok "thisUpdate is now" near "$now" "$last"
    expect_eq "nextUpdate defaults to --days (365) after thisUpdate" $((365 * 86400)) $((next - last))
    expect_match "crl carries the issuer's authorityKeyIdentifier" \
        "$(ext "$d/technician-z.crt" subjectKeyIdentifier | sed 's/.*: //')" \
        "$(openssl crl -in "$crl" -noout -text | grep -A1 'Authority Key Identifier' | tr -d ' \n')"

    expect_ok "a second crl" "${P[@]}" crl --ca technician-z --revoke smart-x-widget-3 \
        --reason keyCompromise --next-update-hours 2 --this-update-offset -3600
    expect_eq "the CRL number goes up" "0x02" "$(crl_number "$crl")"
    expect_eq "the second crl lists only its serial" "$(cert_serials "$d/smart-x-widget-3.crt")" \
        "$(crl_serials "$crl")"
    expect_match "--reason sets the entries' reason" "Key Compromise" \
        "$(openssl crl -in "$crl" -noout -text)"
    last=$(crl_time "$crl" lastupdate) next=$(crl_time "$crl" nextupdate)
    expect_ok "--this-update-offset -3600: thisUpdate an hour ago" near $((now - 3600)) "$last"
    expect_eq "--next-update-hours 2: nextUpdate 2 h after thisUpdate" 7200 $((next - last))
    expect_ok "crl --crl-number 10 --out FILE" "${P[@]}" crl --ca technician-z --crl-number 10 \
        --out "$WORK/$KT-out/ten.crl"
    expect_eq "--out path printed" "$WORK/$KT-out/ten.crl" "$OUT"
    expect_eq "--crl-number 10" "0x0A" "$(crl_number "$WORK/$KT-out/ten.crl")"
    expect_match "a crl without --revoke lists nothing" "No Revoked Certificates" \
        "$(openssl crl -in "$WORK/$KT-out/ten.crl" -noout -text)"
    expect_ok "the next crl" "${P[@]}" crl --ca technician-z
    expect_eq "... follows the explicit number" "0x0B" "$(crl_number "$crl")"
    expect_ok "crl by the root" "${P[@]}" crl --ca company-x --revoke factory-y
    expect_refused "the root's crl verifies" 0 "verify OK" \
        openssl crl -in "$d/company-x.crl.pem" -CAfile "$d/company-x.crt" -verify -noout
    expect_eq "the root's crl lists factory-y" "$(cert_serials "$d/factory-y.crt")" \
        "$(crl_serials "$d/company-x.crl.pem")"
    expect_eq "each issuer has its own CRL number" "0x01" "$(crl_number "$d/company-x.crl.pem")"

    # --- an expired CRL (nextUpdate in the past) ---
    expect_ok "crl --expired" "${P[@]}" crl --ca technician-z --revoke smart-x-widget-1 --expired
    now=$(date -u +%s)
    last=$(crl_time "$crl" lastupdate) next=$(crl_time "$crl" nextupdate)
    if ((next < now && last < next)); then pass; else
        fail "--expired: thisUpdate < nextUpdate < now" "last=$last next=$next now=$now"; fi
    expect_ok "--expired: nextUpdate a day ago" near $((now - 86400)) "$next"
    expect_eq "--expired takes the next CRL number" "0x0C" "$(crl_number "$crl")"
    expect_refused "the expired crl still verifies" 0 "verify OK" \
        openssl crl -in "$crl" -CAfile "$d/technician-z.crt" -verify -noout
    expect_fail "openssl verify with the expired crl says so" "CRL has expired" \
        openssl verify -crl_check -CRLfile "$crl" -CAfile "$d/company-x.crt" \
        -untrusted "$d/technician-z.chain.pem" "$d/smart-x-widget-2.crt"

    # --- refusals: nothing is made ---
    local before
    before=$(sha256sum <"$crl")
    expect_refused "crl of an unknown CA fails and names it" 1 \
        "x509ca-pki: issuer certificate $d/no-such-ca.crt not found" "${P[@]}" crl --ca no-such-ca
    if [[ ! -e $d/no-such-ca.crl.pem ]]; then pass; else fail "unknown CA: no CRL made"; fi
    expect_refused "crl of a missing certificate fails and names it" 1 \
        "x509ca-pki: certificate to revoke $d/nope.crt not found" \
        "${P[@]}" crl --ca technician-z --revoke smart-x-widget-1 --revoke "$d/nope.crt"
    expect_refused "crl of a missing certificate by name" 1 \
        "x509ca-pki: certificate to revoke nope not found (nor $d/nope.crt)" \
        "${P[@]}" crl --ca technician-z --revoke nope
    expect_refused "crl of a certificate another CA issued" 1 "is not a certificate issued by" \
        "${P[@]}" crl --ca technician-z --revoke factory-y
    expect_eq "refused crls leave the last CRL alone" "$before" "$(sha256sum <"$crl")"
    expect_eq "... and its CRL number" 12 "$(<"$d/technician-z.crlnumber")"
    expect_refused "crl without --ca exits 2" 2 "x509ca-pki: crl needs --ca ISSUER" "${P[@]}" crl
    expect_refused "--expired with --next-update-hours exits 2" 2 "--expired fixes both times" \
        "${P[@]}" crl --ca technician-z --expired --next-update-hours 1
    expect_refused "--crl-number 0 exits 2" 2 "--crl-number needs a positive integer" \
        "${P[@]}" crl --ca technician-z --crl-number 0
    expect_refused "--this-update-offset x exits 2" 2 "--this-update-offset needs a number" \
        "${P[@]}" crl --ca technician-z --this-update-offset x
    expect_refused "--reason bogus exits 2" 2 "--reason needs a CRL reason" \
        "${P[@]}" crl --ca technician-z --reason bogus
    expect_refused "--revoke outside crl exits 2" 2 "root does not take that option (--revoke)" \
        "${P[@]}" root r --revoke x
    expect_refused "crl takes no positional argument" 2 "crl takes 0 argument(s), got 1" \
        "${P[@]}" crl --ca technician-z smart-x-widget-1

    # --- thumbprint --sha256 ---
    expect_ok "thumbprint --sha256" "${P[@]}" thumbprint --sha256 "$d/technician-z.crt"
    expect_eq "thumbprint --sha256 prints the SHA-256 alone" \
        "$(fingerprint sha256 "$d/technician-z.crt")" "$OUT"
    expect_refused "--sha256 outside thumbprint exits 2" 2 "root does not take that option (--sha256)" \
        "${P[@]}" root r --sha256
}

if ! command -v openssl >/dev/null; then
    echo "pki: openssl not found" >&2
    exit 1
fi
test_usage
test_round ec
test_round rsa --rsa
test_default_dir
test_weak_material
test_crl ec
test_crl rsa --rsa

printf 'pki: %d passed, %d failed\n' "$PASSED" "$FAILED"
((FAILED == 0))
