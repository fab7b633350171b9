#!/usr/bin/python3
"""xca_admin_load.py - an admin at work, for tests/integration/test_admin_offthread.sh.

Keeps one MQTT connection to the admin listener, subscribes to
$CONTROL/x509ca/v1/response and sends requests one at a time, each with
its own correlationData, waiting for the reply that carries it. Prints one
JSON object on stdout:

  {"requests": n, "errors": n, "devices": n (identities listed),
   "modulesDeleted": n, "rtt_ms": {"n", "p50", "p99", "max"}, "seconds": s}

Work (in this order, every part optional):
  --delete ID         deleteDevice ID once (which deletes its modules)
  --page COUNT        page through listDevices with count COUNT to the end
  --rounds N          repeat the paging N times [1]
  --until-file FILE   ... or keep paging until FILE exists (then end the round early)
  --get ID --gets N   getDevice ID N times (the admin round trip)
  --burst N           send N listDevices (count 1000) requests at once, then
                      collect the N replies: "burst": {"ok", "busy", "in_order"}
                      (in_order: the replies that ran came in the order sent)

Exits 0 when every reply arrived (errors in replies are counted, not fatal),
1 when one did not arrive within --timeout seconds, 2 on a usage error.
Needs paho-mqtt (Debian's /usr/bin/python3).
"""
import argparse
import json
import os
import queue
import sys
import time

import paho.mqtt.client as mqtt

REQUEST_TOPIC = "$CONTROL/x509ca/v1"
REPLY_TOPIC = "$CONTROL/x509ca/v1/response"


class Admin:
    def __init__(self, host, port, username, password, timeout):
        self.timeout = timeout
        self.replies = queue.Queue()
        self.subscribed = queue.Queue()
        self.seq = 0
        self.rtts = []
        self.client = mqtt.Client(client_id=f"xca-admin-load-{os.getpid()}")
        self.client.username_pw_set(username, password)
        self.client.on_message = lambda c, u, m: self.replies.put(m.payload)
        self.client.on_subscribe = lambda c, u, mid, q: self.subscribed.put(mid)
        self.client.connect(host, port, keepalive=60)
        self.client.loop_start()
        self.client.subscribe(REPLY_TOPIC, qos=0)
        self.subscribed.get(timeout=timeout)

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()

    def run(self, command):
        """Send one command; return its response object (None: no reply)."""
        self.seq += 1
        corr = f"load-{os.getpid()}-{self.seq}"
        command = dict(command, correlationData=corr)
        start = time.monotonic()
        self.client.publish(REQUEST_TOPIC, json.dumps({"commands": [command]}), qos=0)
        deadline = start + self.timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                payload = self.replies.get(timeout=left)
            except queue.Empty:
                return None
            try:
                responses = json.loads(payload)["responses"]
            except (ValueError, KeyError, TypeError):
                continue
            if responses and responses[0].get("correlationData") == corr:
                self.rtts.append((time.monotonic() - start) * 1000.0)
                return responses[0]


    def burst(self, n):
        """Send n requests without waiting, then collect their n replies."""
        corrs = [f"burst-{os.getpid()}-{i}" for i in range(n)]
        for corr in corrs:
            cmd = {"command": "listDevices", "count": 1000, "correlationData": corr}
            self.client.publish(REQUEST_TOPIC, json.dumps({"commands": [cmd]}), qos=0)
        seen = []
        busy = 0
        deadline = time.monotonic() + self.timeout
        while len(seen) + busy < n and time.monotonic() < deadline:
            try:
                payload = self.replies.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            try:
                resp = json.loads(payload)["responses"][0]
            except (ValueError, KeyError, TypeError, IndexError):
                continue
            if resp.get("correlationData") not in corrs:
                continue
            if "busy" in resp.get("error", ""):
                busy += 1
            else:
                seen.append(corrs.index(resp["correlationData"]))
        return {"ok": len(seen), "busy": busy, "in_order": seen == sorted(seen),
                "complete": len(seen) + busy == n}


def percentiles(values):
    if not values:
        return {"n": 0, "p50": 0, "p99": 0, "max": 0}
    s = sorted(values)

    def rank(p):
        return s[max(0, -(-len(s) * p // 100) - 1)]

    return {"n": len(s), "p50": round(rank(50), 2), "p99": round(rank(99), 2),
            "max": round(s[-1], 2)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--username", default="admin")
    ap.add_argument("--password", default="adminpw")
    ap.add_argument("--timeout", type=float, default=30)
    ap.add_argument("--delete")
    ap.add_argument("--page", type=int)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--until-file")
    ap.add_argument("--get")
    ap.add_argument("--gets", type=int, default=0)
    ap.add_argument("--burst", type=int, default=0)
    args = ap.parse_args()

    out = {"requests": 0, "errors": 0, "devices": 0, "modulesDeleted": 0}
    started = time.monotonic()
    admin = Admin(args.host, args.port, args.username, args.password, args.timeout)
    status = 0

    def run(command):
        nonlocal status
        out["requests"] += 1
        resp = admin.run(command)
        if resp is None:
            status = 1
            raise TimeoutError(command["command"])
        if "error" in resp:
            out["errors"] += 1
            out.setdefault("lastError", resp["error"])
        return resp.get("data", {})

    def stop_paging():
        return args.until_file is not None and os.path.exists(args.until_file)

    try:
        if args.delete:
            out["modulesDeleted"] = run({"command": "deleteDevice", "deviceId": args.delete}).get(
                "modulesDeleted", 0)
        rounds = 0
        while args.page and (rounds < args.rounds or args.until_file) and not stop_paging():
            cursor = "0"
            while not stop_paging():
                data = run({"command": "listDevices", "count": args.page, "cursor": cursor})
                out["devices"] += len(data.get("devices", []))
                cursor = data.get("cursor", "0")
                if cursor == "0":
                    break
            rounds += 1
        out["rounds"] = rounds
        for _ in range(args.gets):
            run({"command": "getDevice", "deviceId": args.get})
        if args.burst:
            out["burst"] = admin.burst(args.burst)
            if not out["burst"]["complete"]:
                status = 1
    except TimeoutError as e:
        out["timeout"] = str(e)
    finally:
        admin.close()
    out["rtt_ms"] = percentiles(admin.rtts)
    out["seconds"] = round(time.monotonic() - started, 3)
    print(json.dumps(out))
    return status


if __name__ == "__main__":
    sys.exit(main())
