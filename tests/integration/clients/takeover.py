#!/usr/bin/python3
"""A password client tries to take a device's place.

Run by tests/integration/test_takeover.sh. In every round a certificate
device connects over TLS (and subscribes to its cloud-to-device topic), then
the password user ("eve", whom the broker's acl_file confines to eve/#)
connects on the plain listener with the device's client id: after the device
disconnected (round kind "after"), taking over the live device ("takeover"),
or taking over a persistent session and so inheriting its subscriptions
("inherit"). Eve subscribes to the device's cloud-to-device topic and
publishes telemetry in the device's name; an admin then sends a
cloud-to-device message. Eve must never receive it, its telemetry must never
reach the admin's watcher, and its subscription must be refused.

Prints one line per round and a summary; exits 0 only when every round ran
(the device really connected) and nothing leaked.
"""
import argparse
import ssl
import sys
import threading
import time

import paho.mqtt.client as mqtt

KINDS = ("after", "takeover", "inherit")


class Client:
    """A paho client whose events are recorded for the caller to wait on."""

    def __init__(self, client_id, clean=True):
        self.c = mqtt.Client(client_id=client_id, clean_session=clean,
                             protocol=mqtt.MQTTv311)
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.rc = None
        self.granted = None
        self.messages = []
        self.c.on_connect = self._on_connect
        self.c.on_subscribe = self._on_subscribe
        self.c.on_message = lambda c, u, m: self.messages.append(
            (m.topic, m.payload.decode(errors="replace")))

    def _on_connect(self, c, u, flags, rc):
        self.rc = rc
        self.connected.set()

    def _on_subscribe(self, c, u, mid, granted):
        self.granted = list(granted)
        self.subscribed.set()

    def connect(self, port, timeout=5):
        self.c.connect("127.0.0.1", port, keepalive=30)
        self.c.loop_start()
        return self.connected.wait(timeout) and self.rc == 0

    def subscribe(self, topic, timeout=5):
        self.subscribed.clear()
        self.c.subscribe(topic, qos=1)
        return self.subscribed.wait(timeout)

    def close(self):
        try:
            self.c.disconnect()
        finally:
            self.c.loop_stop()


def device(args, clean):
    d = Client(args.device, clean=clean)
    ctx = ssl.create_default_context(cafile=args.cafile)
    ctx.check_hostname = False
    ctx.load_cert_chain(args.cert, args.key)
    d.c.tls_set_context(ctx)
    return d


def round_once(args, i, kind, watcher):
    c2d = "devices/%s/messages/devicebound/" % args.device
    events = "devices/%s/messages/events/" % args.device
    clean = kind != "inherit"
    dev = device(args, clean)
    if not dev.connect(args.tls_port) or not dev.subscribe(c2d + "#"):
        return "device did not connect (rc %s)" % dev.rc
    if kind == "after":
        dev.close()
        time.sleep(0.05)
    eve = Client(args.device, clean=clean)
    eve.c.username_pw_set(args.eve_user, args.eve_password)
    if not eve.connect(args.admin_port):
        dev.close()
        return "eve could not connect (rc %s)" % eve.rc
    problems = []
    # Stock acl_file grants every subscription and checks each delivery:
    # what matters is that nothing is delivered.
    if not eve.subscribe(c2d + "#"):
        problems.append("no SUBACK for eve")
    eve.c.publish(events, "eve-%d" % i, qos=1).wait_for_publish()
    watcher.c.publish(c2d + "c2d", "c2d-%d" % i, qos=1).wait_for_publish()
    time.sleep(args.settle)
    if eve.messages:
        problems.append("eve received %s" % eve.messages)
    if any(p == "eve-%d" % i for _, p in watcher.messages):
        problems.append("eve's telemetry reached the watcher")
    eve.close()
    if kind != "after":
        dev.close()
    return "; ".join(problems)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tls-port", type=int, required=True)
    ap.add_argument("--admin-port", type=int, required=True)
    ap.add_argument("--cafile", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--device", required=True)
    ap.add_argument("--admin-user", default="admin")
    ap.add_argument("--admin-password", default="adminpw")
    ap.add_argument("--eve-user", default="eve")
    ap.add_argument("--eve-password", default="evepw")
    ap.add_argument("--rounds", type=int, default=24)
    ap.add_argument("--settle", type=float, default=0.3)
    args = ap.parse_args()

    watcher = Client("takeover-watcher")
    watcher.c.username_pw_set(args.admin_user, args.admin_password)
    if not watcher.connect(args.admin_port) or not watcher.subscribe("devices/#"):
        print("the admin watcher could not subscribe")
        return 2
    ran = leaked = 0
    for i in range(args.rounds):
        kind = KINDS[i % len(KINDS)]
        problem = round_once(args, i, kind, watcher)
        if problem.startswith("device did not") or problem.startswith("eve could not"):
            print("round %d (%s): not run: %s" % (i, kind, problem))
            continue
        ran += 1
        if problem:
            leaked += 1
            print("round %d (%s): LEAK: %s" % (i, kind, problem))
        else:
            print("round %d (%s): confined" % (i, kind))
    watcher.close()
    print("rounds=%d ran=%d leaked=%d" % (args.rounds, ran, leaked))
    return 0 if ran == args.rounds and leaked == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
