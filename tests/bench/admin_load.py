#!/usr/bin/env python3
"""admin_load.py - an operator at work, for scripts/bench's admin case.

Pages through the registry with listDevices (cursor, --page identities a
page) and deletes up to --delete-per-page identities of each page with
deleteDevice (one request holding those commands), over the admin topics
with mosquitto_rr, until SIGTERM; then prints one JSON object on stdout:
requests, pages, deleted, errors, seconds, and list_ms / delete_ms
{n,p50,p99,max} (request round trips as this client saw them).

Identities that devices use are never deleted: only widget-N with
N >= --protect-below. --ready-file is written after the first page arrives.
Python standard library only. Exit 0, 1 when not one request succeeded.
"""
import argparse
import json
import re
import signal
import subprocess
import sys
import time

STOP = False


def on_term(_sig, _frame):
    global STOP
    STOP = True


def request(args, commands):
    """Sends commands to $CONTROL/x509ca/v1; returns (responses, ms) or (None, ms)."""
    t = time.monotonic()
    try:
        out = subprocess.run(
            ["mosquitto_rr", "-h", "127.0.0.1", "-p", str(args.port), "-u", args.user,
             "-P", args.password, "-t", "$CONTROL/x509ca/v1",
             "-e", "$CONTROL/x509ca/v1/response", "-W", str(args.timeout),
             "-m", json.dumps({"commands": commands})],
            capture_output=True, text=True, timeout=args.timeout + 5, check=False)
    except subprocess.TimeoutExpired:
        return None, (time.monotonic() - t) * 1000
    ms = (time.monotonic() - t) * 1000
    if out.returncode != 0:
        print(f"admin_load: mosquitto_rr exit {out.returncode}: {out.stderr.strip()}", file=sys.stderr)
        return None, ms
    try:
        return json.loads(out.stdout)["responses"], ms
    except (ValueError, KeyError, TypeError):
        print(f"admin_load: not a response: {out.stdout[:200]!r}", file=sys.stderr)
        return None, ms


def pct(values):
    """{n,p50,p99,max} by nearest rank, rounded to 0.1 ms."""
    if not values:
        return {"n": 0, "p50": None, "p99": None, "max": None}
    v = sorted(values)

    def rank(q):
        return round(v[max(0, int(len(v) * q + 0.999999) - 1)], 1)
    return {"n": len(v), "p50": rank(0.50), "p99": rank(0.99), "max": round(v[-1], 1)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--user", default="admin")
    ap.add_argument("--password", required=True)
    ap.add_argument("--page", type=int, default=100)
    ap.add_argument("--delete-per-page", type=int, default=5)
    ap.add_argument("--protect-below", type=int, default=0)
    ap.add_argument("--timeout", type=int, default=30)
    ap.add_argument("--ready-file")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)

    widget = re.compile(r"^widget-([0-9]+)$")
    list_ms, delete_ms = [], []
    pages = deleted = errors = requests = 0
    cursor = "0"
    t0 = time.monotonic()
    while not STOP:
        resp, ms = request(args, [{"command": "listDevices", "cursor": cursor, "count": args.page}])
        requests += 1
        if not resp or "data" not in resp[0]:
            errors += 1
            if resp:
                print(f"admin_load: listDevices: {resp[0].get('error')}", file=sys.stderr)
            time.sleep(0.1)
            continue
        list_ms.append(ms)
        pages += 1
        if pages == 1 and args.ready_file:
            with open(args.ready_file, "w", encoding="utf-8") as f:
                f.write("ready\n")
        data = resp[0]["data"]
        cursor = data.get("cursor", "0") or "0"
        victims = []
        for d in data.get("devices", []):
            m = widget.match(d.get("deviceId", ""))
            if m and "moduleId" not in d and int(m.group(1)) >= args.protect_below:
                victims.append(d["deviceId"])
        victims = victims[:args.delete_per_page]
        if victims and not STOP:
            resp, ms = request(args, [{"command": "deleteDevice", "deviceId": v} for v in victims])
            requests += 1
            if resp is None:
                errors += 1
            else:
                delete_ms.append(ms)
                deleted += sum(1 for r in resp if "error" not in r)
                errors += sum(1 for r in resp if "error" in r)
    report = {"requests": requests, "pages": pages, "deleted": deleted, "errors": errors,
              "seconds": round(time.monotonic() - t0, 3), "page_size": args.page,
              "list_ms": pct(list_ms), "delete_ms": pct(delete_ms)}
    print(json.dumps(report))
    return 0 if pages else 1


if __name__ == "__main__":
    sys.exit(main())
