#!/usr/bin/env bash
# The audit stream and the stats (README "Audit stream and stats"): two
# brokers with their own broker_id on one Redis append every connect
# decision, dropped session and admin command to x509ca:audit; the counters
# come as retained $SYS/broker/x509ca/... topics and from getStats; the
# stream survives a Redis restart (AOF); while Redis is down the broker
# decides as before and audit/dropped counts what the queue could not hold;
# audit_stream_max 0 writes nothing; invalid options stop the broker.
# The stream is read with redis-cli --json XRANGE and parsed with python3.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
xca_setup

# --- PKI ------------------------------------------------------------------
xca_pki root root >/dev/null
xca_pki intermediate int1 --ca root >/dev/null
for d in dev-ok dev-b dev-off dev-none dev-live dev-cache dev-x; do
    xca_pki device "$d" --ca int1 >/dev/null
done
xca_pki root rogue >/dev/null
xca_pki device dev-rogue --ca rogue >/dev/null
xca_pki selfsigned ss1 >/dev/null
xca_pki selfsigned ss2 >/dev/null
xca_pki selfsigned ss-other >/dev/null
xca_server_cert
sha256_of() { sed -n 's/^sha256=//p' "$XCA_TMP/pki/$1.thumbprints"; }

# --- The checker: python3 reads the stream, the replies and $SYS ----------
cat >"$XCA_TMP/audit_check.py" <<'PY'
"""Checks of test_audit.sh. Usage: audit_check.py COMMAND ARGS (see below)."""
import hashlib, json, os, re, ssl, subprocess, sys

PKI = os.path.join(os.environ["XCA_TMP"], "pki")

def sha256(name):
    """SHA-256 of the DER of PKI/name.crt, computed here independently."""
    with open(os.path.join(PKI, name + ".crt")) as f:
        return hashlib.sha256(ssl.PEM_cert_to_DER_cert(f.read())).hexdigest()

def stream(key):
    """[(id, {field: value})] of the stream, oldest first."""
    out = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", os.environ["REDIS_PORT"],
                          "--json", "XRANGE", key, "-", "+"],
                         capture_output=True, text=True, check=True).stdout
    entries = []
    for eid, fields in json.loads(out or "[]"):
        names = fields[0::2]
        if len(set(names)) != len(names):
            sys.exit(f"entry {eid} repeats a field: {names}")
        entries.append((eid, dict(zip(names, fields[1::2]))))
    return entries

ADMIN_ID = "audit-admin"
def accepted(broker, cid, chain):
    return {"event": "accepted", "broker": broker, "clientId": cid, "identity": cid,
            "chain": ",".join(chain)}
def refusal(event, broker, cid, code, text, cn=None):
    reason = (f"refused client '{cid}' (CN '{cn or cid}'): {text}" if event == "refused"
              else f"disconnecting client '{cid}': {text}")
    return {"event": event, "broker": broker, "clientId": cid, "identity": cid,
            "code": code, "reason": reason}
def admin(broker, command, target, result, detail=None):
    e = {"event": "admin", "broker": broker, "clientId": ADMIN_ID, "admin": "admin",
         "command": command, "target": target, "result": result}
    if detail is not None:
        e["detail"] = detail
    return e

def expected(phase, broker):
    """The entries broker must have written, in order, by the end of phase."""
    dev_chain = lambda d: [sha256(d), sha256("int1"), sha256("root")]
    if broker == "edge-one":
        return [
            accepted(broker, "dev-ok", dev_chain("dev-ok")),
            refusal("refused", broker, "dev-b", "cn_mismatch",
                    "certificate CN does not match the client id", cn="dev-ok"),
            refusal("refused", broker, "dev-none", "not_found", "not found"),
            refusal("refused", broker, "dev-off", "disabled", "identity is disabled"),
            refusal("refused", broker, "dev-rogue", "chain",
                    "certificate chain does not lead to a verified CA "
                    "(unable to get local issuer certificate) at depth 0"),
            refusal("refused", broker, "ss1", "thumbprint",
                    "certificate thumbprint does not match the registry"),
            refusal("refused", broker, "dev-ok", "bad_username",
                    "username does not name this identity"),
            accepted(broker, "ss2", [sha256("ss2")]),
            admin(broker, "createDevice", "device:dev-new", "ok"),
            admin(broker, "getDevice", "device:nope", "error (device not found)"),
            admin(broker, "uploadCA", "ca:keyed",
                  "error (a private key was supplied; it was discarded)"),
            admin(broker, "uploadCA", "ca:fresh", "ok", detail="verificationCode=*****"),
        ] + ([admin(broker, "getStats", "-", "ok")] if phase in ("stats", "restarted") else [])
    if broker == "edge-two":
        entries = [
            accepted(broker, "dev-cache", dev_chain("dev-cache")),
            accepted(broker, "dev-live", dev_chain("dev-live")),
            refusal("dropped", broker, "dev-live", "disabled", "identity is disabled"),
            # mosquitto_sub reconnects once after the kick and is refused.
            refusal("refused", broker, "dev-live", "disabled", "identity is disabled"),
        ]
        if phase in ("stats", "restarted"):
            entries.append(admin(broker, "getStats", "-", "ok"))
        if phase == "restarted":
            # The outage: 4 accepted + 1 refused + getStats, a queue of 3.
            entries += [accepted(broker, "dev-cache", dev_chain("dev-cache"))] * 3
        return entries
    sys.exit(f"no expectations for broker {broker}")

def cmd_count(key, broker, n):
    """Exit 0 once broker wrote at least n entries (a wait condition)."""
    got = [e for _, e in stream(key) if e.get("broker") == broker]
    sys.exit(0 if len(got) >= int(n) else 1)

def cmd_stream(key, phase, broker):
    """The entries of broker are exactly the expected ones, in order."""
    got = [e for _, e in stream(key) if e.get("broker") == broker]
    want = expected(phase, broker)
    if got != want:
        print(f"{broker}: {len(got)} entries, {len(want)} expected")
        for i in range(max(len(got), len(want))):
            g = got[i] if i < len(got) else None
            w = want[i] if i < len(want) else None
            if g != w:
                print(f"  #{i}\n    got  {g}\n    want {w}")
        sys.exit(1)
    print(f"{broker}: {len(got)} entries as expected")

def cmd_reasons_logged(key, broker, log):
    """Every reason broker put in the stream is a line of its log."""
    text = open(log, errors="replace").read()
    reasons = [e["reason"] for _, e in stream(key) if e.get("broker") == broker and "reason" in e]
    missing = [r for r in reasons if f"x509ca: {r}\n" not in text]
    if not reasons or missing:
        sys.exit(f"{len(reasons)} reasons, not logged: {missing}")
    print(f"{len(reasons)} reasons, each a log line")

def cmd_absent(key, *secrets):
    """No entry of the stream holds any of the secrets."""
    for eid, e in stream(key):
        for s in secrets:
            if s and any(s in v for v in e.values()):
                sys.exit(f"entry {eid} holds a secret: {e}")
    print("no secret in the stream")

def cmd_ids(key, out):
    with open(out, "w") as f:
        json.dump([eid for eid, _ in stream(key)], f)

def cmd_kept(key, before):
    """Every entry listed in before is still in the stream, in order."""
    old = json.load(open(before))
    ids = [eid for eid, _ in stream(key)]
    if not old or ids[:len(old)] != old:
        sys.exit(f"{len(old)} entries before, now {len(ids)}; prefix kept: {ids[:len(old)] == old}")
    print(f"the {len(old)} earlier entries are kept ({len(ids)} now)")

def entries_added(key):
    """Entries ever added to the stream (XINFO STREAM), trimmed ones included."""
    out = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", os.environ["REDIS_PORT"],
                          "--json", "XINFO", "STREAM", key],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)["entries-added"]

def cmd_added(key, out):
    with open(out, "w") as f:
        f.write(str(entries_added(key)))

def cmd_added_since(key, before, n):
    """Exactly n entries were added since the count saved in before."""
    old = int(open(before).read())
    now = entries_added(key)
    print(f"{now - old} entries added since ({old} -> {now})")
    sys.exit(0 if now - old == int(n) else 1)

def cmd_no_broker(key, broker):
    got = [e for _, e in stream(key) if e.get("broker") == broker]
    if got:
        sys.exit(f"{broker} wrote {got}")

def cmd_xlen_between(key, lo, hi):
    n = len(stream(key))
    print(f"{key}: {n} entries")
    sys.exit(0 if int(lo) <= n <= int(hi) else 1)

def stats_from_reply(path):
    reply = json.load(open(path))
    (resp,) = reply["responses"]
    if resp.get("command") != "getStats" or "data" not in resp:
        sys.exit(f"getStats failed: {resp}")
    return resp["data"]

def stats_from_sys(path):
    """'$SYS/broker/x509ca/<name> <value>' lines of mosquitto_sub -v."""
    data = {}
    for line in open(path):
        m = re.match(r"^\$SYS/broker/x509ca/(\S+) (\d+)$", line.strip())
        if m:
            data[m.group(1)] = int(m.group(2))
    return data

NAMES = ["connects/accepted", "connects/refused", "dropped", "enrolled", "cache/hits",
         "cache/misses", "chaincache/hits", "chaincache/misses", "chaincache/leaf",
         "prefetch/requests", "prefetch/applied", "prefetch/hits", "prefetch/late",
         "prefetch/discarded", "prefetch/dropped", "redis/errors", "redis/latency_us/p50", "redis/latency_us/p99",
         "sessions", "cas", "audit/dropped"]

def cmd_stats(source, path, spec):
    """The counters match spec ("name=value,..."; name>0 / name=* also allowed):
    every fixed name is there; refused/<slug> names are exactly those of spec."""
    data = stats_from_reply(path) if source == "reply" else stats_from_sys(path)
    bad = [n for n in NAMES if not isinstance(data.get(n), int)]
    for item in spec.split(","):
        m = re.match(r"^([a-z_/0-9]+)(=|>)(\d+|\*)$", item)
        name, op, value = m.groups()
        v = data.get(name)
        if v is None or (op == "=" and value != "*" and v != int(value)) or \
           (op == ">" and v <= int(value)):
            bad.append(f"{name}={v} (want {op}{value})")
    want_reasons = {i.split("=")[0] for i in spec.split(",") if i.startswith("refused/")}
    have_reasons = {n for n in data if n.startswith("refused/")}
    if have_reasons != want_reasons:
        bad.append(f"refusal names {sorted(have_reasons)} != {sorted(want_reasons)}")
    if data.get("redis/latency_us/p50", 0) > data.get("redis/latency_us/p99", 0):
        bad.append("p50 > p99")
    if bad:
        print(json.dumps(data, indent=1))
        sys.exit(f"{source}: {bad}")
    print(f"{source}: {len(data)} counters as expected")

def cmd_code(path):
    (resp,) = json.load(open(path))["responses"]
    print(resp["data"]["verificationCode"])

globals()["cmd_" + sys.argv[1]](*sys.argv[2:])
PY
check() { python3 "$XCA_TMP/audit_check.py" "$@"; }
STREAM=x509ca:audit

# --- Servers --------------------------------------------------------------
export XCA_REDIS_AOF=1 # the stream must survive a Redis restart
xca_start_redis
ca() { xca_rcli HSET "x509ca:ca:$1" certificate "$(cat "$XCA_TMP/pki/$1.crt")" status verified >/dev/null; }
device() { xca_rcli HSET "x509ca:device:$1" "${@:2}" >/dev/null; }
connects() { xca_pub_tls "$1" "$2" "$3" "devices/$3/messages/events/" hello "${@:4}"; }
admin_rr() { xca_admin_rr "$1" "$2" -i audit-admin; }
# admin_cmd BROKER OUTFILE COMMAND [NAME VALUE...]: one command, reply in OUTFILE.
admin_cmd() {
    local broker=$1 out=$2
    shift 2
    python3 -c 'import json, sys
a = sys.argv[2:]
print(json.dumps({"commands": [dict([("command", sys.argv[1])] + list(zip(a[0::2], a[1::2])))]}))' \
        "$@" >"$XCA_TMP/request.json"
    admin_rr "$broker" "$(cat "$XCA_TMP/request.json")" >"$out"
}
# sys_stats BROKER OUTFILE: the retained $SYS/broker/x509ca/# messages.
sys_stats() {
    local port
    port=$(xca__port "$1" ADMIN)
    timeout 5 mosquitto_sub -h 127.0.0.1 -p "$port" -u admin -P adminpw \
        -t '$SYS/broker/x509ca/#' -v -W 1 >"$2" 2>/dev/null || true
    [[ -s $2 ]]
}
sys_matches() { sys_stats "$1" "$XCA_TMP/sys-$1.txt" && check stats sys "$XCA_TMP/sys-$1.txt" "$2"; }
reply_matches() { admin_cmd "$1" "$XCA_TMP/stats-$1.json" getStats && check stats reply "$XCA_TMP/stats-$1.json" "$2"; }

ca root
for d in dev-ok dev-b dev-live dev-cache dev-rogue; do device "$d" status enabled; done
device dev-off status disabled
device ss1 authentication selfSigned primaryThumbprint "$(sha256_of ss-other)"
device ss2 authentication selfSigned primaryThumbprint "$(sha256_of ss2)"

printf 'user admin\ntopic read $SYS/broker/x509ca/#\n' >"$XCA_TMP/acl"
xca_start_broker b1 'plugin_opt_broker_id edge-one' 'plugin_opt_stats_interval 1' \
    "acl_file $XCA_TMP/acl"
xca_start_broker b2 'plugin_opt_broker_id edge-two' 'plugin_opt_stats_interval 1' \
    'plugin_opt_audit_queue_max 3' "acl_file $XCA_TMP/acl"
xca_check "b1 logs its broker id and the stream" \
    xca_log_has b1 "x509ca: broker id 'edge-one'; audit stream x509ca:audit \(MAXLEN ~ 100000, queue of 10000\); stats every 1 s"
xca_check "b2 logs its queue of 3" xca_log_has b2 "broker id 'edge-two'; audit stream x509ca:audit \(MAXLEN ~ 100000, queue of 3\)"
xca_check "b1 loaded the root" xca_log_has b1 "x509ca: 1 verified CA\(s\) trusted"
xca_check "b2 loaded the root" xca_log_has b2 "x509ca: 1 verified CA\(s\) trusted"

# --- A scripted mix on b1: accepted, six refusal reasons, admin commands ----
xca_check "dev-ok accepted on b1" connects b1 dev-ok dev-ok
xca_check_refused "cn_mismatch refused" b1 "refused client 'dev-b'.*CN does not match" connects b1 dev-ok dev-b
xca_check_refused "not_found refused" b1 "refused client 'dev-none'.*not found" connects b1 dev-none dev-none
xca_check_refused "disabled refused" b1 "refused client 'dev-off'.*identity is disabled" connects b1 dev-off dev-off
xca_check_refused "chain refused" b1 "refused client 'dev-rogue'.*chain does not lead" connects b1 dev-rogue dev-rogue
xca_check_refused "thumbprint refused" b1 "refused client 'ss1'.*thumbprint does not match" connects b1 ss1 ss1
xca_check_refused "bad_username refused" b1 "refused client 'dev-ok'.*username does not name" \
    connects b1 dev-ok dev-ok -u "hub.example.net/dev-b/?api-version=2021-04-12"
xca_check "selfSigned ss2 accepted on b1" connects b1 ss2 ss2
xca_check "createDevice" admin_cmd b1 "$XCA_TMP/r1.json" createDevice deviceId dev-new
xca_check "a failing command answers" admin_cmd b1 "$XCA_TMP/r2.json" getDevice deviceId nope
xca_check "  with its error" grep -q '"error":"device not found"' "$XCA_TMP/r2.json"
cat "$XCA_TMP/pki/root.crt" "$XCA_TMP/pki/root.key" >"$XCA_TMP/keyed.pem"
KEY_LINE=$(sed -n 2p "$XCA_TMP/pki/root.key")
xca_check "uploadCA with a private key answers" \
    admin_cmd b1 "$XCA_TMP/r3.json" uploadCA name keyed certificate "$(cat "$XCA_TMP/keyed.pem")"
xca_check "  refused" grep -q '"error":"a private key was supplied' "$XCA_TMP/r3.json"
xca_check "uploadCA" admin_cmd b1 "$XCA_TMP/r4.json" uploadCA name fresh certificate "$(cat "$XCA_TMP/pki/int1.crt")"
CODE=$(check code "$XCA_TMP/r4.json")
xca_check "  gave a verification code" test "${#CODE}" -eq 48

# --- On b2: accepted, and a session dropped by a redis-cli edit ------------
xca_check "dev-cache accepted on b2 (now cached there)" connects b2 dev-cache dev-cache
xca_bg live xca_sub_tls b2 dev-live dev-live 'devices/dev-live/messages/devicebound/#' -W 60 -C 100
xca_wait_for "dev-live is online on b2" 5 xca_log_has b2 "x509ca: accepted client 'dev-live'"
xca_log_mark b2
device dev-live status disabled
xca_check "dev-live dropped by b2" xca_wait_log b2 "x509ca: disconnecting client 'dev-live': identity is disabled"
# ended LABEL: the background client LABEL exited (any status) within 10 s.
ended() {
    local rc=0
    xca_bg_wait "$1" 10 || rc=$?
    [[ $rc -ne 124 ]]
}
xca_check "dev-live's client gave up after its reconnect was refused" ended live
xca_check "  refused as disabled" xca_wait_log b2 "x509ca: refused client 'dev-live'.*identity is disabled"

# --- The stream holds exactly those entries --------------------------------
xca_wait_for "b1's 12 entries reached the stream" 5 check count "$STREAM" edge-one 12
xca_wait_for "b2's 4 entries reached the stream" 5 check count "$STREAM" edge-two 4
xca_check "b1's entries are exactly the expected ones, in order" check stream "$STREAM" mix edge-one
xca_check "b2's entries are exactly the expected ones, in order" check stream "$STREAM" mix edge-two
xca_check "each reason of b1 is the text of its log line" check reasons_logged "$STREAM" edge-one "$BROKER_LOG_B1"
xca_check "each reason of b2 is the text of its log line" check reasons_logged "$STREAM" edge-two "$BROKER_LOG_B2"
xca_check "neither the private key nor the verification code is in the stream" \
    check absent "$STREAM" "$KEY_LINE" "PRIVATE KEY" "$CODE"

# --- Counters: getStats and the retained $SYS topics -----------------------
B1_SPEC="connects/accepted=2,connects/refused=6,refused/cn_mismatch=1,refused/not_found=1"
B1_SPEC+=",refused/disabled=1,refused/chain=1,refused/thumbprint=1,refused/bad_username=1"
B1_SPEC+=",dropped=0,enrolled=0,sessions=0,cas=1,audit/dropped=0,redis/errors=0"
B1_SPEC+=",redis/latency_us/p50>0,cache/misses>0"
B2_SPEC="connects/accepted=2,connects/refused=1,refused/disabled=1,dropped=1,enrolled=0"
B2_SPEC+=",sessions=0,cas=1,audit/dropped=0,redis/errors=0,redis/latency_us/p50>0"
xca_check "getStats on b1" reply_matches b1 "$B1_SPEC"
xca_check "getStats on b2" reply_matches b2 "$B2_SPEC"
xca_wait_for "\$SYS/broker/x509ca/# on b1 (retained, every second)" 5 sys_matches b1 "$B1_SPEC"
xca_wait_for "\$SYS/broker/x509ca/# on b2" 5 sys_matches b2 "$B2_SPEC"
xca_check "\$SYS messages are retained" bash -c "timeout 5 mosquitto_sub -h 127.0.0.1 -p $B1_ADMIN_PORT \
    -u admin -P adminpw -t '\$SYS/broker/x509ca/connects/accepted' -C 1 -W 3 -F '%r %p' | grep -qx '1 2'"
xca_wait_for "b2's getStats is audited" 5 check count "$STREAM" edge-two 5
xca_check "b2's entries, getStats included" check stream "$STREAM" stats edge-two

# --- Redis down: b2 decides as before; the queue holds 3, the rest counted --
check ids "$STREAM" "$XCA_TMP/ids-before.json"
xca_log_mark b2
xca_stop_redis
for i in 1 2 3 4; do
    xca_check "Redis down: cached dev-cache still accepted on b2 ($i)" connects b2 dev-cache dev-cache
done
xca_check "the audit writer's failure is logged" \
    xca_wait_log b2 "x509ca: audit stream: cannot write to Redis; entries wait in a queue of 3"
xca_check_refused "Redis down: unknown dev-x refused as registry unavailable" b2 \
    "refused client 'dev-x'.*registry unavailable" connects b2 dev-x dev-x
B2_DOWN="connects/accepted=6,connects/refused=2,refused/disabled=1,refused/registry_unavailable=1"
B2_DOWN+=",dropped=1,audit/dropped=2,redis/errors>0"
xca_check "getStats during the outage: 5 events, a queue of 3: audit/dropped 2" reply_matches b2 "$B2_DOWN"
xca_wait_for "\$SYS audit/dropped 3 once getStats' own entry was dropped too" 5 \
    sys_matches b2 "${B2_DOWN/audit\/dropped=2/audit/dropped=3}"

# --- Redis back (AOF): the stream survived, the queued entries follow ------
xca_log_mark b2
xca_start_redis
xca_check "the audit writer reconnected by itself" \
    xca_wait_log b2 "x509ca: audit stream: writing to Redis again" 10
xca_check "every entry from before the restart survived it (AOF)" check kept "$STREAM" "$XCA_TMP/ids-before.json"
xca_wait_for "b2's 3 queued entries were written" 5 check count "$STREAM" edge-two 8
xca_check "b2's entries: the first 3 of the outage, the 3 others dropped" check stream "$STREAM" restarted edge-two
xca_check "b1's entries unchanged" check stream "$STREAM" restarted edge-one

# --- audit_stream_max 0: nothing is written, the counters still count ------
xca_start_broker b3 'plugin_opt_audit_stream_max 0'
B3_PID=$(xca__pid broker-b3)
xca_check "default broker id is hostname-pid, the stream is off" \
    xca_log_has b3 "x509ca: broker id '$(hostname)-$B3_PID'; audit stream off; stats every 10 s"
xca_wait_for "b3 trusts the root" 5 xca_log_has b3 "x509ca: 1 verified CA\(s\) trusted"
check added "$STREAM" "$XCA_TMP/added-before-b3"
check ids "$STREAM" "$XCA_TMP/ids-before-b3.json"
xca_check "dev-ok accepted on b3" connects b3 dev-ok dev-ok
xca_check_refused "dev-none refused on b3" b3 "refused client 'dev-none'.*not found" connects b3 dev-none dev-none
xca_check "getDevice on b3" admin_cmd b3 "$XCA_TMP/r5.json" getDevice deviceId nope
xca_check "b3 counted them" reply_matches b3 "connects/accepted=1,connects/refused=1,refused/not_found=1,audit/dropped=0"
xca_check "a later admin command on b1" admin_cmd b1 "$XCA_TMP/r6.json" listCAs
xca_wait_for "b1's entry for it arrived" 5 check count "$STREAM" edge-one 14
xca_check "b3 wrote nothing to the stream" check no_broker "$STREAM" "$(hostname)-$B3_PID"
xca_check "  only b1's entry was added meanwhile" check added_since "$STREAM" "$XCA_TMP/added-before-b3" 1
xca_check "  and nothing was trimmed" check kept "$STREAM" "$XCA_TMP/ids-before-b3.json"
xca_check "b3 exits 0" xca_stop_broker b3

# --- MAXLEN ~: the stream is trimmed --------------------------------------
xca_start_broker b5 'plugin_opt_key_prefix t5:' 'plugin_opt_broker_id trim' 'plugin_opt_audit_stream_max 10'
MANY=$(python3 -c 'import json; print(json.dumps({"commands": [{"command": "listCAs"}] * 300}))')
xca_check "300 admin commands on b5" xca_admin_rr b5 "$MANY" -i audit-admin
xca_wait_for "b5's stream was trimmed as it grew (10 to 150 of 300 entries)" 5 \
    check xlen_between t5:audit 10 150
xca_check "b5 exits 0 (its writer stopped and joined)" xca_stop_broker b5

# --- Invalid values stop the broker with a clear line ----------------------
for opt in 'stats_interval -1' 'audit_stream_max many' 'audit_queue_max 0' 'broker_id two words'; do
    name=${opt%% *}
    xca_check "plugin_opt_$opt stops the broker" xca_start_broker_expect_fail "bad_${name}" "plugin_opt_$opt"
    xca_check "  with a line naming plugin_opt_$name" xca_log_has "bad_${name}" "x509ca: plugin_opt_$name: "
done

xca_check "b1 exits 0 (its writer stopped and joined)" xca_stop_broker b1
xca_check "b2 exits 0" xca_stop_broker b2
xca_done
