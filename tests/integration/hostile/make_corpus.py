#!/usr/bin/env python3
"""make_corpus.py - generates the hostile-certificate corpus of
tests/integration/test_hostile_certs.sh into DIR (nothing is checked in).

Usage: make_corpus.py --dir DIR
       make_corpus.py --dir DIR --proofs CA CODE

Keys and signatures come from the `openssl` CLI (genpkey, pkey, dgst); the
certificates themselves are assembled here in DER, so that each case can be
exactly as hostile as it says: a signature with one byte changed, a subject
whose CN holds a NUL or is empty, two CNs, a CA that copies a verified CA's
name and key identifier with another key, validity periods in the past or
the future at any level, a 100 KB extension. A certificate signed here is a
normal X.509 v3 certificate otherwise: the control cases (a valid device, a
chain exactly as deep as the test broker allows) must be accepted.

For every entity NAME it writes DIR/NAME.crt (PEM), NAME.key (PEM, mode
600) and NAME.sha256 (lowercase hex SHA-256 of the DER). For every client
case CASE it writes DIR/CASE.chain.pem (the certificates the client sends,
leaf first) and DIR/CASE.key (the leaf's key). The test decides which CAs
are verified in the registry and what each refusal must say.

With --proofs, it only writes verification certificates for CODE signed by
the CA in DIR/CA.crt and DIR/CA.key (see make_proofs), for
tests/integration/test_hostile_admin.sh.
"""
import argparse
import base64
import datetime
import hashlib
import os
import subprocess
import sys

# ---------------------------------------------------------------------------
# DER
# ---------------------------------------------------------------------------


def der_len(n):
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def tlv(tag, content):
    return bytes([tag]) + der_len(len(content)) + content


def seq(*items):
    return tlv(0x30, b"".join(items))


def set_of(*items):
    return tlv(0x31, b"".join(sorted(items)))  # DER: SET OF sorted by encoding


def integer(n):
    raw = n.to_bytes(max(1, (n.bit_length() + 8) // 8), "big", signed=True)
    return tlv(0x02, raw)


def oid(dotted):
    parts = [int(p) for p in dotted.split(".")]
    out = bytearray([40 * parts[0] + parts[1]])
    for p in parts[2:]:
        chunk = [p & 0x7F]
        p >>= 7
        while p:
            chunk.append(0x80 | (p & 0x7F))
            p >>= 7
        out += bytes(reversed(chunk))
    return tlv(0x06, bytes(out))


def boolean(value):
    return tlv(0x01, b"\xff" if value else b"\x00")


def octets(data):
    return tlv(0x04, data)


def bits(data, unused=0):
    return tlv(0x03, bytes([unused]) + data)


def der_time(when):
    if 1950 <= when.year < 2050:
        return tlv(0x17, when.strftime("%y%m%d%H%M%SZ").encode())
    return tlv(0x18, when.strftime("%Y%m%d%H%M%SZ").encode())


def read_tlv(data, pos=0):
    """(tag, content, next position) of the TLV at pos."""
    tag, n = data[pos], data[pos + 1]
    pos += 2
    if n & 0x80:
        count = n & 0x7F
        n = int.from_bytes(data[pos:pos + count], "big")
        pos += count
    return tag, data[pos:pos + n], pos + n


def children(content):
    pos, out = 0, []
    while pos < len(content):
        tag, value, end = read_tlv(content, pos)
        out.append((tag, value, content[pos:end]))
        pos = end
    return out


# ---------------------------------------------------------------------------
# Names and extensions
# ---------------------------------------------------------------------------

OID_CN = "2.5.4.3"
OID_O = "2.5.4.10"
CORPUS_O = "x509ca hostile corpus"


def attribute(oid_text, value):
    """One AttributeTypeAndValue; value is str (UTF8String) or raw bytes."""
    raw = value if isinstance(value, bytes) else value.encode("utf-8")
    return seq(oid(oid_text), tlv(0x0C, raw))


def name(*rdns):
    """A Name from RDNs; each RDN is a list of (oid, value) pairs."""
    return seq(*(set_of(*(attribute(o, v) for o, v in rdn)) for rdn in rdns))


def cn_name(cn):
    return name([(OID_O, CORPUS_O)], [(OID_CN, cn)])


def extension(oid_text, value, critical=False):
    return seq(oid(oid_text), *([boolean(True)] if critical else []), octets(value))


def basic_constraints(ca, pathlen=None):
    body = (boolean(True) if ca else b"") + (integer(pathlen) if pathlen is not None else b"")
    return extension("2.5.29.19", seq(body), critical=True)


KEY_USAGE_BITS = {"digitalSignature": 0, "keyEncipherment": 2, "keyCertSign": 5, "cRLSign": 6}


def key_usage(*names):
    value = 0
    for n in names:
        value |= 0x80 >> KEY_USAGE_BITS[n]
    unused = (value & -value).bit_length() - 1  # trailing zero bits (DER)
    return extension("2.5.29.15", bits(bytes([value]), unused), critical=True)


EKU = {"serverAuth": "1.3.6.1.5.5.7.3.1", "clientAuth": "1.3.6.1.5.5.7.3.2"}


def ext_key_usage(*names):
    return extension("2.5.29.37", seq(*(oid(EKU[n]) for n in names)))


def subject_key_id(keyid):
    return extension("2.5.29.14", octets(keyid))


def authority_key_id(keyid):
    return extension("2.5.29.35", seq(tlv(0x80, keyid)))


def opaque_extension(size, critical=False):
    """An extension of a private OID holding size bytes that mean nothing."""
    return extension("1.3.6.1.4.1.55555.1", octets(b"hostile!" * (size // 8)), critical)


# ---------------------------------------------------------------------------
# Keys and signatures (openssl CLI)
# ---------------------------------------------------------------------------

OID_EC_KEY = "1.2.840.10045.2.1"
SIG_ALGS = {  # (key kind, digest) -> AlgorithmIdentifier
    ("ec", "sha256"): seq(oid("1.2.840.10045.4.3.2")),
    ("ec", "sha1"): seq(oid("1.2.840.10045.4.1")),
    ("rsa", "sha256"): seq(oid("1.2.840.113549.1.1.11"), b"\x05\x00"),
    ("rsa", "sha1"): seq(oid("1.2.840.113549.1.1.5"), b"\x05\x00"),
    ("rsa", "md5"): seq(oid("1.2.840.113549.1.1.4"), b"\x05\x00"),
}


def openssl(*args, data=None):
    done = subprocess.run(["openssl", *args], input=data, capture_output=True, check=False)
    if done.returncode != 0:
        sys.exit(f"openssl {' '.join(args)} failed: {done.stderr.decode(errors='replace')}")
    return done.stdout


class Key:
    """A private key in a file, with its SubjectPublicKeyInfo and key id."""

    def __init__(self, path, kind, spec):
        """A new key of kind "ec" (spec: curve) or "rsa" (spec: bits) in
        path; kind None loads the key already in path instead."""
        if kind == "rsa":
            opts = ["-algorithm", "RSA", "-pkeyopt", f"rsa_keygen_bits:{spec}"]
        elif kind == "ec":
            opts = ["-algorithm", "EC", "-pkeyopt", f"ec_paramgen_curve:{spec}"]
        if kind is not None:
            openssl("genpkey", *opts, "-out", path)
            os.chmod(path, 0o600)
        self.path = path
        self.spki = openssl("pkey", "-in", path, "-pubout", "-outform", "DER")
        algorithm, public_key = children(read_tlv(self.spki)[1])
        self.kind = "ec" if children(algorithm[1])[0][2] == oid(OID_EC_KEY) else "rsa"
        self.keyid = hashlib.sha1(public_key[1][1:]).digest()  # RFC 5280 method 1

    def sign(self, tbs, digest):
        return openssl("dgst", f"-{digest}", "-sign", self.path, data=tbs)


# ---------------------------------------------------------------------------
# Certificates
# ---------------------------------------------------------------------------

NOW = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
DAY = datetime.timedelta(days=1)
VALID = (NOW - DAY, NOW + 365 * DAY)
EXPIRED = (datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc),
           datetime.datetime(2021, 1, 1, tzinfo=datetime.timezone.utc))
NOT_YET = (NOW + 3650 * DAY, NOW + 4015 * DAY)


class Cert:
    def __init__(self, der, key, subject):
        self.der, self.key, self.subject = der, key, subject
        self.keyid = key.keyid


def tbs_certificate(subject, issuer, key, issuer_keyid, exts, validity, sig_alg):
    serial = int.from_bytes(os.urandom(16), "big") >> 1 | 1
    ext_list = [subject_key_id(key.keyid), authority_key_id(issuer_keyid), *exts]
    return seq(tlv(0xA0, integer(2)), integer(serial), sig_alg, issuer,
               seq(der_time(validity[0]), der_time(validity[1])), subject, key.spki,
               tlv(0xA3, seq(*ext_list)))


def assemble(tbs, sig_alg, signature):
    return seq(tbs, sig_alg, bits(signature))


class Corpus:
    def __init__(self, directory):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)

    def path(self, base, ext):
        return os.path.join(self.dir, base + ext)

    def key(self, label, kind="ec", spec="P-256"):
        return Key(self.path(label, ".key"), kind, spec)

    def issue(self, label, subject, issuer=None, key=None, exts=None, validity=VALID,
              digest="sha256", issuer_name=None, issuer_keyid=None, keyid=None):
        """Makes and writes NAME.crt: subject (a Name) with key (a new EC
        P-256 key by default), signed by issuer (a Cert; None: self-signed)
        with digest. issuer_name / issuer_keyid / keyid override the issuer
        DN, the authority key id and the subject key id written in it."""
        key = key or self.key(label)
        if keyid is not None:
            key.keyid = keyid
        signer = issuer.key if issuer else key
        sig_alg = SIG_ALGS[(signer.kind, digest)]
        issuer_dn = issuer_name or (issuer.subject if issuer else subject)
        akid = issuer_keyid or (issuer.keyid if issuer else key.keyid)
        tbs = tbs_certificate(subject, issuer_dn, key, akid, exts or [], validity, sig_alg)
        cert = Cert(assemble(tbs, sig_alg, signer.sign(tbs, digest)), key, subject)
        self.write_cert(label, cert)
        return cert

    def ca(self, label, cn, issuer=None, pathlen=None, **kw):
        exts = kw.pop("exts", [basic_constraints(True, pathlen), key_usage("keyCertSign", "cRLSign")])
        return self.issue(label, cn_name(cn), issuer, exts=exts, **kw)

    def leaf(self, label, cn, issuer, exts=None, subject=None, **kw):
        exts = exts if exts is not None else LEAF_EXTS
        return self.issue(label, subject or cn_name(cn), issuer, exts=exts, **kw)

    def write_cert(self, label, cert):
        with open(self.path(label, ".crt"), "w") as f:
            f.write(pem(cert.der))
        with open(self.path(label, ".sha256"), "w") as f:
            f.write(hashlib.sha256(cert.der).hexdigest() + "\n")

    def client(self, case, leaf, *chain, leaf_der=None):
        """What a client sends for CASE: the leaf (or leaf_der in its place)
        and the certificates of chain, and the leaf's key."""
        with open(self.path(case, ".chain.pem"), "w") as f:
            f.write(pem(leaf_der or leaf.der) + "".join(pem(c.der) for c in chain))
        key_path = self.path(case, ".key")
        if os.path.abspath(leaf.key.path) != os.path.abspath(key_path):
            with open(leaf.key.path, "rb") as src, open(key_path, "wb") as dst:
                dst.write(src.read())
            os.chmod(key_path, 0o600)


LEAF_EXTS = [basic_constraints(False), key_usage("digitalSignature"), ext_key_usage("clientAuth")]
CA_EXTS = [basic_constraints(True), key_usage("keyCertSign", "cRLSign")]


def pem(der):
    text = base64.b64encode(der).decode()
    lines = [text[i:i + 64] for i in range(0, len(text), 64)]
    return "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"


def alter_signature(der):
    """The certificate with the last byte of its signature changed."""
    body = read_tlv(der)[1]
    tbs, alg, sig = (c[2] for c in children(body))
    sig_tag, sig_value, _ = read_tlv(sig)
    return seq(tbs, alg, tlv(sig_tag, sig_value[:-1] + bytes([sig_value[-1] ^ 0x01])))


def swap_in_tbs(der, old, new):
    """The certificate with old replaced by new (same length) in its signed
    part, keeping the original signature."""
    assert len(old) == len(new) and der.count(old) == 1
    return der.replace(old, new)


# ---------------------------------------------------------------------------
# The corpus
# ---------------------------------------------------------------------------


def make(c):
    root = c.ca("root", "Hostile Root CA")
    inter = c.ca("inter", "Hostile Intermediate CA", root)

    # Controls: accepted before and after the corpus.
    good = c.leaf("hv-good", "hv-good", inter)
    c.client("hv-good", good, inter)
    victim = c.leaf("hv-victim", "hv-victim", inter)
    c.client("hv-victim", victim, inter)
    attacker = c.leaf("hv-attacker", "hv-attacker", inter)
    c.client("hv-attacker", attacker, inter)
    c.client("hv-live", c.leaf("hv-live", "hv-live", inter), inter)

    # Forged signatures.
    c.client("forged-leaf-sig", victim, inter, leaf_der=alter_signature(victim.der))
    inter_forged = Cert(alter_signature(inter.der), inter.key, inter.subject)
    c.client("forged-inter-sig", victim, inter_forged)
    # A CN edited after signing: "hv-xictim" made "hv-victim", signature kept.
    edited = c.leaf("forged-tbs-cn", "hv-xictim", inter)
    c.client("forged-tbs-cn", edited, inter, leaf_der=swap_in_tbs(edited.der, b"hv-xictim", b"hv-victim"))

    # Rogue CAs with a verified CA's name (same DN, another key).
    rogue_root = c.ca("rogue-root", "Hostile Root CA")
    leaf = c.leaf("rogue-root-leaf", "hv-victim", rogue_root)
    c.client("rogue-root", leaf)
    leaf = c.leaf("rogue-root-akid-leaf", "hv-victim", rogue_root, issuer_keyid=root.keyid)
    c.client("rogue-root-akid", leaf)
    c.client("rogue-root-sent", c.leaf("rogue-root-sent-leaf", "hv-victim", rogue_root), rogue_root)
    rogue_inter = c.ca("rogue-inter", "Hostile Intermediate CA", rogue_root,
                       issuer_keyid=root.keyid, keyid=inter.keyid)
    c.client("rogue-inter", c.leaf("rogue-inter-leaf", "hv-victim", rogue_inter), rogue_inter)
    offline = c.ca("offline-root", "Hostile Offline Root CA")
    anchor = c.ca("anchor-inter", "Hostile Anchor Intermediate CA", offline)
    c.client("anchor-leaf", c.leaf("anchor-leaf", "hv-victim", anchor))
    rogue_anchor = c.ca("rogue-anchor", "Hostile Anchor Intermediate CA", rogue_root,
                        issuer_name=offline.subject, issuer_keyid=offline.keyid, keyid=anchor.keyid)
    c.client("rogue-anchor", c.leaf("rogue-anchor-leaf", "hv-victim", rogue_anchor), rogue_anchor)

    # A signs B signs A.
    key_a, key_b = c.key("loop-a"), c.key("loop-b")
    name_a, name_b = cn_name("Hostile Loop A"), cn_name("Hostile Loop B")
    loop_a = c.issue("loop-a", name_a, Cert(b"", key_b, name_b), key=key_a, exts=CA_EXTS)
    loop_b = c.issue("loop-b", name_b, Cert(b"", key_a, name_a), key=key_b, exts=CA_EXTS)
    loop_leaf = c.leaf("loop-leaf", "hv-victim", loop_a)
    c.client("loop", loop_leaf, loop_a, loop_b)
    c.client("loop-repeated", loop_leaf, *([loop_a, loop_b] * 10))

    # Depth: the test broker allows 3 certificates between leaf and anchor.
    chain = [root]
    for i in range(1, 5):
        chain.append(c.ca(f"depth-{i}", f"Hostile Depth {i} CA", chain[-1]))
    c.client("depth-3", c.leaf("depth-3-leaf", "hv-victim", chain[3]), *reversed(chain[1:4]))
    c.client("depth-4", c.leaf("depth-4-leaf", "hv-victim", chain[4]), *reversed(chain[1:5]))
    chain = [root]
    for i in range(1, 49):
        chain.append(c.ca(f"long-{i}", f"Hostile Long {i} CA", chain[-1]))
    c.client("chain-50", c.leaf("chain-50-leaf", "hv-victim", chain[-1]), *reversed(chain))

    # CA constraints.
    pl0 = c.ca("inter-pathlen0", "Hostile Pathlen0 CA", root, pathlen=0)
    pl0_sub = c.ca("inter-pathlen0-sub", "Hostile Below Pathlen0 CA", pl0)
    c.client("pathlen-inter", c.leaf("pathlen-inter-leaf", "hv-victim", pl0_sub), pl0_sub, pl0)
    root_pl0 = c.ca("root-pathlen0", "Hostile Pathlen0 Root CA", pathlen=0)
    below = c.ca("inter-below-root-pathlen0", "Hostile Below Root Pathlen0 CA", root_pl0)
    c.client("pathlen-root", c.leaf("pathlen-root-leaf", "hv-victim", below), below)
    notca = c.ca("inter-notca", "Hostile CA FALSE CA", root,
                 exts=[basic_constraints(False), key_usage("keyCertSign", "cRLSign")])
    c.client("inter-ca-false", c.leaf("inter-ca-false-leaf", "hv-victim", notca), notca)
    nobc = c.ca("inter-nobc", "Hostile No BasicConstraints CA", root,
                exts=[key_usage("keyCertSign", "cRLSign")])
    c.client("inter-no-bc", c.leaf("inter-no-bc-leaf", "hv-victim", nobc), nobc)
    nosign = c.ca("inter-nocertsign", "Hostile No keyCertSign CA", root,
                  exts=[basic_constraints(True), key_usage("digitalSignature", "cRLSign")])
    c.client("inter-no-certsign", c.leaf("inter-no-certsign-leaf", "hv-victim", nosign), nosign)

    # Leaf usages.
    leaf_ca = [basic_constraints(True), key_usage("digitalSignature"), ext_key_usage("clientAuth")]
    c.client("leaf-ca-true", c.leaf("leaf-ca-true", "hv-victim", inter, exts=leaf_ca), inter)
    server = [basic_constraints(False), key_usage("digitalSignature"), ext_key_usage("serverAuth")]
    c.client("leaf-eku-server", c.leaf("leaf-eku-server", "hv-victim", inter, exts=server), inter)
    nods = [basic_constraints(False), key_usage("keyEncipherment"), ext_key_usage("clientAuth")]
    c.client("leaf-no-digsig", c.leaf("leaf-no-digsig", "hv-victim", inter, exts=nods), inter)

    # Validity at every level.
    for when, period in (("expired", EXPIRED), ("future", NOT_YET)):
        c.client(f"leaf-{when}", c.leaf(f"leaf-{when}", "hv-victim", inter, validity=period), inter)
        mid = c.ca(f"inter-{when}", f"Hostile {when} Intermediate CA", root, validity=period)
        c.client(f"inter-{when}", c.leaf(f"inter-{when}-leaf", "hv-victim", mid), mid)
        top = c.ca(f"root-{when}", f"Hostile {when} Root CA", validity=period)
        mid = c.ca(f"inter-under-root-{when}", f"Hostile Below {when} Root CA", top)
        c.client(f"root-{when}", c.leaf(f"root-{when}-leaf", "hv-victim", mid), mid)

    # Weak digests and keys.
    rsa_root = c.ca("rsa-root", "Hostile RSA Root CA", key=c.key("rsa-root", "rsa", 2048))
    c.client("leaf-md5", c.leaf("leaf-md5", "hv-victim", rsa_root, digest="md5"))
    c.client("leaf-sha1", c.leaf("leaf-sha1", "hv-victim", rsa_root, digest="sha1"))
    mid = c.ca("inter-sha1", "Hostile SHA1 Intermediate CA", root, digest="sha1")
    c.client("inter-sha1", c.leaf("inter-sha1-leaf", "hv-victim", mid), mid)
    for n in (512, 1024):
        leaf = c.leaf(f"leaf-rsa{n}", "hv-victim", inter, key=c.key(f"leaf-rsa{n}", "rsa", n),
                      exts=[basic_constraints(False), key_usage("digitalSignature", "keyEncipherment"),
                            ext_key_usage("clientAuth")])
        c.client(f"leaf-rsa{n}", leaf, inter)
    mid = c.ca("inter-rsa1024", "Hostile RSA1024 Intermediate CA", root,
               key=c.key("inter-rsa1024", "rsa", 1024))
    c.client("inter-rsa1024", c.leaf("inter-rsa1024-leaf", "hv-victim", mid), mid)
    weak_root = c.ca("weak-root", "Hostile RSA1024 Root CA", key=c.key("weak-root", "rsa", 1024))
    c.client("root-rsa1024", c.leaf("root-rsa1024-leaf", "hv-victim", weak_root))
    c.client("leaf-secp256k1",
             c.leaf("leaf-secp256k1", "hv-victim", inter, key=c.key("leaf-secp256k1", "ec", "secp256k1")),
             inter)

    # Subject names.
    subjects = {
        "cn-empty": cn_name(""),
        "cn-absent": name([(OID_O, CORPUS_O)]),
        "cn-two-victim-first": name([(OID_CN, "hv-victim")], [(OID_CN, "hv-attacker")]),
        "cn-two-victim-last": name([(OID_CN, "hv-attacker")], [(OID_CN, "hv-victim")]),
        "cn-multivalued-rdn": name([(OID_CN, "hv-victim"), (OID_CN, "hv-attacker")]),
        "cn-slash": cn_name("hv-victim/evil/x"),
        "cn-plus": cn_name("hv-victim+"),
        "cn-hash": cn_name("hv-victim#"),
        "cn-nul-inside": cn_name(b"hv-victim\x00.evil"),
        "cn-nul-trailing": cn_name(b"hv-victim\x00"),
        "cn-homoglyph": cn_name("hv-v\u0456ctim"),  # CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I
        "cn-non-ascii": cn_name("hv-v\u00efctim"),
    }
    for case, subject in subjects.items():
        c.client(case, c.leaf(case, None, inter, subject=subject), inter)

    # Another identity's certificate.
    ss_a = c.leaf("hv-ss-a", None, None, subject=cn_name("hv-ss-a"))
    c.client("hv-ss-a", ss_a)
    c.leaf("hv-ss-b", None, None, subject=cn_name("hv-ss-b"))

    # Size.
    c.client("cert-100k", c.leaf("cert-100k", "hv-victim", inter,
                                 exts=LEAF_EXTS + [opaque_extension(100 * 1024)]), inter)
    c.client("cert-60k-critical", c.leaf("cert-60k-critical", "hv-victim", inter,
                                         exts=LEAF_EXTS + [opaque_extension(60 * 1024, True)]), inter)

    # Two CAs with one name and key id (another key each): each verified, each
    # must keep serving its own devices.
    twin_a = c.ca("twin-a", "Hostile Twin Root CA")
    c.client("hv-twin-a", c.leaf("hv-twin-a", "hv-twin-a", twin_a))
    twin_b = c.ca("twin-b", "Hostile Twin Root CA", keyid=twin_a.keyid)
    c.client("hv-twin-b", c.leaf("hv-twin-b", "hv-twin-b", twin_b))

    # Revocation (x509ca:revoked:<sha256>).
    c.client("hv-revoked", c.leaf("hv-revoked", "hv-revoked", inter), inter)
    rev_inter = c.ca("inter-revoked", "Hostile Revoked Intermediate CA", root)
    c.client("hv-revoked-inter", c.leaf("hv-revoked-inter", "hv-revoked-inter", rev_inter), rev_inter)


def load(c, label):
    """DIR/LABEL.crt with the key in DIR/LABEL.key, as an issuer."""
    with open(c.path(label, ".crt")) as f:
        der = base64.b64decode("".join(l for l in f if not l.startswith("-----")))
    tbs_fields = children(children(read_tlv(der)[1])[0][1])
    cert = Cert(der, Key(c.path(label, ".key"), None, None), tbs_fields[5][2])
    for tag, value, _ in tbs_fields:
        if tag == 0xA3:  # extensions: use the subject key id the CA states
            for _, ext, _ in children(read_tlv(value)[1]):
                parts = children(ext)
                if parts[0][2] == oid("2.5.29.14"):
                    cert.keyid = read_tlv(parts[-1][1])[1]
    return cert


def make_proofs(c, ca_label, code):
    """Verification certificates for code, all but one refused by verifyCA:
    DIR/CA-proof-VARIANT.crt. "ok" is a valid proof (CN = code, signed by
    the CA's key, valid now); the others break one rule each."""
    ca = load(c, ca_label)
    other = os.urandom(24).hex().upper()
    variants = {
        "ok": dict(subject=cn_name(code)),
        "other-code": dict(subject=cn_name(other)),
        "code-suffix": dict(subject=cn_name(code + "0")),
        "code-nul": dict(subject=cn_name(code.encode() + b"\x00")),
        "two-cn": dict(subject=name([(OID_CN, code)], [(OID_CN, code)])),
        "wrong-key": dict(subject=cn_name(code), issuer=None, issuer_name=ca.subject),
        "expired": dict(subject=cn_name(code), validity=EXPIRED),
        "future": dict(subject=cn_name(code), validity=NOT_YET),
        "sha1": dict(subject=cn_name(code), digest="sha1"),
    }
    for variant, kw in variants.items():
        label = f"{ca_label}-proof-{variant}"
        kw.setdefault("issuer", ca)
        c.issue(label, kw.pop("subject"), exts=LEAF_EXTS, **kw)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", required=True)
    parser.add_argument("--proofs", nargs=2, metavar=("CA", "CODE"),
                        help="only make verification certificates for CODE signed by DIR/CA")
    args = parser.parse_args()
    if args.proofs:
        make_proofs(Corpus(args.dir), *args.proofs)
    else:
        make(Corpus(args.dir))


if __name__ == "__main__":
    main()
