#!/usr/bin/env python3
"""report.py - scripts/bench's reader of results (Python standard library only).

  report.py get FILE KEY      prints KEY (a dotted path) of the JSON object in FILE
  report.py line FILE         one progress line for an xca_loadgen report
  report.py report --out DIR --cases cases.tsv --tls V [settings...]
                              reads DIR/runs/*.json, DIR/status.tsv and
                              DIR/facts.tsv; writes DIR/results-tls<V>.json,
                              DIR/table-tls<V>.txt and (with gnuplot)
                              DIR/bench-tls<V>.png; prints the table, then the
                              RESULT line last. Exit 0 when every case ran,
                              1 otherwise.

Ratios: cps ratios are x509ca / stock (higher is better); ratio_storm and
ratio_rss are x509ca / stock of time and memory (lower is better);
admin_p99_ratio is connect p99 during admin work / p99 idle; ratio_revoked is
connects/s with the revocation lists / without (warm); ratio_audit is
connects/s with the audit stream / without.

Rounds (scripts/bench --rounds R): the runs of round r >= 2 carry ".r<r>"
after the case name in their labels. Each round is summarised on its own; the
summary and the RESULT line hold, per figure, the median over the rounds (a
ratio is the median of the rounds' ratios, not a ratio of medians).
"""
import argparse
import csv
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

RESULT_FIELDS = ["stock_cps", "warm_cps", "cold_cps", "first_cps", "ratio_warm", "ratio_cold",
                 "ratio_first", "ratio_storm", "ratio_rss", "admin_p99_ratio"]
EXTRA_FIELDS = ["ratio_revoked", "ratio_audit"]


# ---------------------------------------------------------------------------
# Small readers
# ---------------------------------------------------------------------------

def load_json(path):
    """The JSON document in path or, when the file holds more (a log with
    the report last), its last line starting with '{'; None without one."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return None
    try:
        return json.loads(text)
    except ValueError:
        pass
    lines = [ln for ln in text.splitlines() if ln.startswith("{")]
    try:
        return json.loads(lines[-1]) if lines else None
    except ValueError:
        return None


def dig(obj, key):
    for part in key.split("."):
        if not isinstance(obj, dict) or part not in obj:
            return None
        obj = obj[part]
    return obj


def read_cases(path):
    """The rows of cases.tsv as dicts, in order."""
    cols = ["name", "letter", "kind", "registry", "stock", "cache", "audit", "tiny", "quick",
            "full", "what"]
    rows = []
    with open(path, encoding="utf-8") as f:
        for ln in f:
            if not ln.strip() or ln.startswith("#"):
                continue
            vals = ln.rstrip("\n").split("\t")
            if len(vals) != len(cols):
                raise SystemExit(f"report.py: {path}: {len(vals)} fields, want {len(cols)}: {ln!r}")
            rows.append(dict(zip(cols, vals)))
    return rows


def read_tsv(path, width):
    try:
        with open(path, encoding="utf-8", newline="") as f:
            return [r + [""] * (width - len(r)) for r in csv.reader(f, delimiter="\t") if r]
    except OSError:
        return []


def number(text):
    """text as int or float when it is a number, as a bool for true/false, else text."""
    if text in ("true", "false"):
        return text == "true"
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def ratio(a, b, digits=2):
    if a is None or b is None or b == 0:
        return None
    return round(a / b, digits)


def fmt(v, digits=None):
    if v is None:
        return "NA"
    if digits is not None:
        return f"{v:.{digits}f}"
    return str(v)


def command_output(argv):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
        return (out.stdout + out.stderr).strip()
    except (OSError, subprocess.SubprocessError):
        return ""


# ---------------------------------------------------------------------------
# One run and one case
# ---------------------------------------------------------------------------

def run_summary(rep):
    """The figures of one xca_loadgen report that the table and plot use."""
    if rep is None:
        return None
    s = {k: rep.get(k) for k in ("count", "ok", "refused", "tls_fail", "timeouts", "conn_fail",
                                 "closed", "cps", "seconds", "broker_cpu_pct", "loadgen_cpu_pct",
                                 "machine_cpu_pct", "held", "dropped", "reheld", "retries")}
    for part in ("total_us", "handshake_us", "connack_us"):
        for q in ("p50", "p99"):
            v = dig(rep, f"{part}.{q}")
            s[f"{part[:-3]}_{q}_ms"] = None if v is None else round(v / 1000, 2)
    if all(rep.get(k) is not None for k in ("machine_cpu_pct", "broker_cpu_pct", "loadgen_cpu_pct")):
        s["rest_cpu_pct"] = round(max(0.0, rep["machine_cpu_pct"] - rep["broker_cpu_pct"]
                                      - rep["loadgen_cpu_pct"]), 1)
    if rep.get("held") is not None:
        s["cps"] = None  # a hold's length is not the broker's
    if rep.get("storm_ms") is not None:
        s["storm_s"] = None if rep["storm_ms"] < 0 else round(rep["storm_ms"] / 1000, 3)
    kb0, kb1 = rep.get("broker_rss_kb_start"), rep.get("broker_rss_kb_ready")
    if kb1 is not None and kb1 >= 0 and rep.get("held") is not None:
        s["rss_mb"] = round(kb1 / 1024, 1)
        if kb0 is not None and kb0 >= 0 and rep.get("held"):
            s["rss_kb_per_session"] = round((kb1 - kb0) / rep["held"], 2)
    return s


def run_status(seen, rep, kind, side="x509ca"):
    """(status, reason) of one run from what scripts/bench saw and its report."""
    st, reason = seen if seen else ("missing", "no run recorded")
    if st != "ran":
        return st, reason
    if rep is None:
        return "failed", "no report"
    if not rep.get("ok"):
        err = rep.get("first_error", "")
        return "failed", f"no connection succeeded {err} refused_rc={rep.get('refused_rc')}".strip()
    if kind in ("storm", "hold"):
        if rep.get("held") != rep.get("count"):
            return "partial", f"{rep.get('held')} of {rep.get('count')} sessions held"
        if kind == "storm" and rep.get("storm_ms", -1) < 0:
            return "failed", "not every dropped session came back"
        return "ok", ""
    if kind == "admin" and side == "x509ca" and rep.get("ok") + rep.get("not_run", 0) == rep.get("count"):
        # The run during admin work is bounded in time: connections it had no
        # time to start are no failure (the admin stalled the broker).
        if rep.get("not_run"):
            return "ok", f"time-bounded: {rep.get('ok')} of {rep.get('count')} started and succeeded"
        return "ok", ""
    if rep.get("ok") != rep.get("count"):
        return "partial", f"{rep.get('ok')} of {rep.get('count')} connections succeeded"
    return "ok", ""


def repo_relative(path):
    """path relative to the checkout when it lies inside it: saved results name no
    machine's directories."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    full = os.path.abspath(path) if path else path
    return os.path.relpath(full, root) if full and full.startswith(root + os.sep) else path


def round_suffix(r):
    """What follows the case name in the labels of round r (1-based)."""
    return "" if r == 1 else f".r{r}"


def build_case(row, out, status, r=1):
    """Everything known about one case in round r: its sides' runs, statuses and metrics."""
    name, kind = row["name"], row["kind"]
    base = name + round_suffix(r)
    sides = {"x509ca": base}
    if row["stock"] == "yes":
        sides["stock"] = f"{base}.stock"
    if kind == "admin":
        sides["idle"] = f"{base}.idle"
    case = {"name": name, "round": r, "letter": row["letter"], "kind": kind,
            "registry": row["registry"],
            "what": row["what"], "cache_capacity": int(row["cache"]),
            "audit_stream_max": int(row["audit"]), "runs": {}}
    for side, label in sides.items():
        rep = load_json(os.path.join(out, "runs", f"{label}.json"))
        st, reason = run_status(status.get(label), rep, kind, side)
        case["runs"][side] = {"label": label, "status": st, "reason": reason,
                              "summary": run_summary(rep) if st in ("ok", "partial") else None,
                              "report": rep}
    if kind == "admin":
        case["admin_driver"] = load_json(os.path.join(out, "runs", f"{base}.driver.json"))
    statuses = [r["status"] for r in case["runs"].values()]
    case["status"] = "ok" if all(s == "ok" for s in statuses) else \
        next(s for s in ("invalid", "failed", "skipped", "missing", "partial") if s in statuses)
    return case


def figure(case, side, key):
    if case is None:
        return None
    run = case["runs"].get(side)
    if not run or not run["summary"]:
        return None
    return run["summary"].get(key)


def summarize(cases):
    c = {k["name"]: k for k in cases}

    def f(name, side, key):
        return figure(c.get(name), side, key)

    s = {
        "stock_cps": f("warm", "stock", "cps"),
        "warm_cps": f("warm", "x509ca", "cps"),
        "cold_cps": f("cold", "x509ca", "cps"),
        "first_cps": f("first", "x509ca", "cps"),
        "ratio_warm": ratio(f("warm", "x509ca", "cps"), f("warm", "stock", "cps")),
        "ratio_cold": ratio(f("cold", "x509ca", "cps"), f("cold", "stock", "cps")),
        "ratio_first": ratio(f("first", "x509ca", "cps"), f("first", "stock", "cps")),
        "ratio_storm": ratio(f("storm", "x509ca", "storm_s"), f("storm", "stock", "storm_s")),
        "ratio_rss": ratio(f("rss", "x509ca", "rss_mb"), f("rss", "stock", "rss_mb")),
        "admin_p99_ratio": ratio(f("admin", "x509ca", "total_p99_ms"),
                                 f("admin", "idle", "total_p99_ms")),
        "ratio_revoked": ratio(f("revoked", "x509ca", "cps"), f("warm", "x509ca", "cps")),
        "ratio_audit": ratio(f("audit_on", "x509ca", "cps"), f("audit_off", "x509ca", "cps"), 3),
        # Not in the RESULT line: revoked against stock Mosquitto with the same CRL.
        "ratio_revoked_vs_stock_crl": ratio(f("revoked", "x509ca", "cps"),
                                            f("revoked", "stock", "cps")),
    }
    for k in ("stock_cps", "warm_cps", "cold_cps", "first_cps"):
        if s[k] is not None:
            s[k] = int(round(s[k]))
    return s


def median_summary(summaries):
    """Per figure, the median over the rounds that have it (None when none has)."""
    out = {}
    for k in summaries[0]:
        vals = [s[k] for s in summaries if s.get(k) is not None]
        if not vals:
            out[k] = None
            continue
        m = statistics.median(vals)
        out[k] = int(round(m)) if k.endswith("_cps") else round(m, 3 if k == "ratio_audit" else 2)
    return out


def result_line(tls, summary):
    parts = [f"RESULT tls={tls} depth=3"]
    parts += [f"{k}={fmt(summary[k])}" for k in RESULT_FIELDS + EXTRA_FIELDS]
    return " ".join(parts)


# ---------------------------------------------------------------------------
# Table and plot
# ---------------------------------------------------------------------------

def table(cases, facts):
    head = (f"{'case':<13} {'':>3} {'side':<6} {'n':>6} {'ok':>6} {'cps':>8} {'p50ms':>7} "
            f"{'p99ms':>7} {'storm_s':>7} {'rss_MB':>7} {'brk%':>6} {'rest%':>6}  status")
    lines = [head]
    for case in cases:
        for side, run in case["runs"].items():
            s = run["summary"] or {}
            rep = run["report"] or {}
            shown = case["name"] + (f"@{case['round']}" if case.get("round", 1) > 1 else "")
            lines.append(
                f"{shown:<13} ({case['letter']}) {side:<6} {fmt(rep.get('count')):>6} "
                f"{fmt(rep.get('ok')):>6} {fmt(s.get('cps')):>8} {fmt(s.get('total_p50_ms')):>7} "
                f"{fmt(s.get('total_p99_ms')):>7} {fmt(s.get('storm_s')):>7} "
                f"{fmt(s.get('rss_mb')):>7} {fmt(s.get('broker_cpu_pct')):>6} "
                f"{fmt(s.get('rest_cpu_pct')):>6}  {run['status']}"
                + (f": {run['reason']}" if run["reason"] else ""))
        drv = case.get("admin_driver")
        if drv:
            lines.append(f"{'':<13} admin driver: {drv.get('pages')} pages of {drv.get('page_size')}, "
                         f"{drv.get('deleted')} deleted, {drv.get('errors')} errors; "
                         f"listDevices p50/p99 {dig(drv, 'list_ms.p50')}/{dig(drv, 'list_ms.p99')} ms, "
                         f"deleteDevice request p50/p99 {dig(drv, 'delete_ms.p50')}/"
                         f"{dig(drv, 'delete_ms.p99')} ms")
    lines.append("p50ms/p99ms: whole connect (TCP connect to DISCONNECT sent); brk%/rest%: CPU of the "
                 "broker / of everything but broker and load generator (Redis, other processes), "
                 "100 = one core")
    for k, v in facts.items():
        lines.append(f"fact: {k} = {v}")
    for case in cases:
        for run in case["runs"].values():
            rest = (run["summary"] or {}).get("rest_cpu_pct")
            if rest is not None and rest > 25:
                lines.append(f"warning: {run['label']}: other processes used {rest}% CPU during the run; "
                             "its figures understate the broker (re-run on an idle machine)")
    return "\n".join(lines)


def gp_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def plot(out, tls, mode, cases, summary):
    """bench-tls<V>.png: every case, through gnuplot; returns a warning or None."""
    gnuplot = shutil.which("gnuplot")
    if not gnuplot:
        return "gnuplot not found: no plot (scripts/install-deps with XCA_WITH_BENCH=1)"
    d = os.path.join(out, "plot")
    os.makedirs(d, exist_ok=True)

    def val(v):
        return "NA" if v is None else str(v)

    with open(os.path.join(d, "cps.dat"), "w", encoding="utf-8") as f:
        f.write("# label x509ca stock\n")
        for c in cases:
            if c["kind"] in ("connect", "first"):
                f.write(f"{c['name']} {val(figure(c, 'x509ca', 'cps'))} {val(figure(c, 'stock', 'cps'))}\n")
            elif c["kind"] == "admin":
                f.write(f"admin-idle {val(figure(c, 'idle', 'cps'))} NA\n")
                f.write(f"admin-busy {val(figure(c, 'x509ca', 'cps'))} NA\n")
    with open(os.path.join(d, "lat.dat"), "w", encoding="utf-8") as f:
        f.write("# label p50 p99 (ms)\n")
        for c in cases:
            if c["kind"] not in ("connect", "first", "admin"):
                continue
            for side in c["runs"]:
                f.write(f"{c['name']}/{side} {val(figure(c, side, 'total_p50_ms'))} "
                        f"{val(figure(c, side, 'total_p99_ms'))}\n")
    with open(os.path.join(d, "ratio.dat"), "w", encoding="utf-8") as f:
        f.write("# ratio value\n")
        for k in ("ratio_warm", "ratio_cold", "ratio_first", "ratio_storm", "ratio_rss",
                  "admin_p99_ratio", "ratio_revoked", "ratio_audit"):
            f.write(f"{k} {val(summary.get(k))}\n")
    for name, kind, key in (("storm.dat", "storm", "storm_s"), ("rss.dat", "hold", "rss_mb")):
        with open(os.path.join(d, name), "w", encoding="utf-8") as f:
            f.write("# label x509ca stock\n")
            for c in cases:
                if c["kind"] == kind:
                    n = (c["runs"]["x509ca"]["report"] or {}).get("count")
                    f.write(f"{c['name']}(n={val(n)}) {val(figure(c, 'x509ca', key))} "
                            f"{val(figure(c, 'stock', key))}\n")
    for name in ("cps.dat", "lat.dat", "storm.dat", "rss.dat"):
        # gnuplot refuses an empty histogram: a case left out gets a blank bar.
        path = os.path.join(d, name)
        with open(path, encoding="utf-8") as f:
            empty = len(f.readlines()) < 2
        if empty:
            with open(path, "a", encoding="utf-8") as f:
                f.write("(not-run) 0 0\n")
    png = os.path.join(out, f"bench-tls{tls}.png")
    script = f"""
set terminal pngcairo size 1400,1400 font ",10" noenhanced
set output {gp_str(png)}
set datafile missing "NA"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set grid ytics
set xtics rotate by -25
set yrange [0:*]
set key top right
set multiplot layout 3,2 title {gp_str(f"x509ca benchmark, TLS {tls}, {mode}, depth 3 (leaf + 2 intermediates)")}
set title "connects/s (x509ca vs stock Mosquitto, same run)"
plot {gp_str(os.path.join(d, 'cps.dat'))} using 2:xtic(1) title "x509ca" lc rgb "#3b75af", \\
     "" using 3 title "stock" lc rgb "#ef8636"
set title "ratios (cps: higher is better; storm, rss, admin_p99: lower is better)"
set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead lc rgb "#c53a32" dt 2
plot {gp_str(os.path.join(d, 'ratio.dat'))} using 2:xtic(1) title "ratio" lc rgb "#519e3e"
unset arrow 1
set title "whole connect latency (ms)"
plot {gp_str(os.path.join(d, 'lat.dat'))} using 2:xtic(1) title "p50" lc rgb "#519e3e", \\
     "" using 3 title "p99" lc rgb "#c53a32"
set title "reconnect storm: seconds from the restart's first drop until all are back"
plot {gp_str(os.path.join(d, 'storm.dat'))} using 2:xtic(1) title "x509ca" lc rgb "#3b75af", \\
     "" using 3 title "stock" lc rgb "#ef8636"
set title "held sessions: broker RSS (MB)"
plot {gp_str(os.path.join(d, 'rss.dat'))} using 2:xtic(1) title "x509ca" lc rgb "#3b75af", \\
     "" using 3 title "stock" lc rgb "#ef8636"
unset multiplot
"""
    with open(os.path.join(d, "bench.gp"), "w", encoding="utf-8") as f:
        f.write(script)
    r = subprocess.run([gnuplot, os.path.join(d, "bench.gp")], capture_output=True, text=True,
                       check=False)
    if r.returncode != 0:
        return f"gnuplot failed: {r.stderr.strip()[-300:]}"
    return None


# ---------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------

def cmd_report(a):
    rows = read_cases(a.cases)
    if a.only:
        keep = set(a.only.split(","))
        rows = [r for r in rows if r["name"] in keep]
    status = {r[0]: (r[2], r[3]) for r in read_tsv(os.path.join(a.out, "status.tsv"), 4)}
    facts = {r[0]: number(r[1]) for r in read_tsv(os.path.join(a.out, "facts.tsv"), 2)}
    # seconds.<case>.<side>: wall-clock time of each side, kept apart.
    seconds = {k[len("seconds."):]: v for k, v in facts.items() if k.startswith("seconds.")}
    facts = {k: v for k, v in facts.items() if not k.startswith("seconds.")}
    rounds = []
    for r in range(1, max(1, a.rounds) + 1):
        cases_r = [build_case(row, a.out, status, r) for row in rows]
        rounds.append({"round": r, "cases": cases_r, "summary": summarize(cases_r)})
    cases = rounds[0]["cases"]
    every_case = [c for rd in rounds for c in rd["cases"]]
    micro = {}
    runs = os.path.join(a.out, "runs")
    for fn in sorted(os.listdir(runs)) if os.path.isdir(runs) else []:
        if fn.endswith(".micro.json"):
            name = fn[:-len(".micro.json")]
            micro[name] = load_json(os.path.join(runs, fn)) or {"status": "failed",
                                                                "reason": status.get(name, ("", ""))[1]}
    summary = median_summary([rd["summary"] for rd in rounds])
    line = result_line(a.tls, summary)
    cpu = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "")
    except OSError:
        pass
    results = {
        "schema": "x509ca-bench/2",
        "mode": a.mode,
        "quick": a.mode == "quick",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seconds": a.seconds,
        "machine": {
            "nproc": os.cpu_count(), "cpu": cpu, "kernel": platform.release(),
            "mosquitto": (command_output(["mosquitto", "-h"]).splitlines() or [""])[0],
            "openssl": command_output(["openssl", "version"]),
            "redis": command_output(["redis-server", "--version"]),
            "loadavg_before": a.load_before, "loadavg_after": a.load_after,
        },
        "settings": {
            "tls_max": a.tls, "depth": 3, "chain_sent": "leaf + 2 intermediates",
            "concurrency": a.concurrency, "threads": a.threads, "known_devices": a.known_devices,
            "pinned": a.pinned == "1", "build_type": a.build_type, "plugin": repo_relative(a.plugin),
            "pki_seconds": a.pki_seconds,
        },
        "cases": cases,
        "rounds": len(rounds),
        "by_round": [{"round": rd["round"], "summary": rd["summary"],
                      "result": result_line(a.tls, rd["summary"]),
                      "cases": rd["cases"] if rd["round"] > 1 else "see cases"} for rd in rounds],
        "facts": facts,
        "micro": micro,
        "seconds_by_side": seconds,
        "summary": summary,
        "result": line,
    }
    with open(os.path.join(a.out, f"results-tls{a.tls}.json"), "w", encoding="utf-8") as f:
        json.dump(results, f, indent=1)
        f.write("\n")
    text = table(every_case, facts)
    if len(rounds) > 1:
        text += "\nper round (the RESULT line holds the medians):"
        for rd in rounds:
            text += "\n  round " + str(rd["round"]) + ": " + result_line(a.tls, rd["summary"])[len("RESULT "):]
    if seconds:
        text += "\nwall-clock seconds per side: " + ", ".join(f"{k} {v}" for k, v in seconds.items())
    warn = plot(a.out, a.tls, a.mode, cases, summary)
    if warn:
        text += f"\nwarning: {warn}"
    with open(os.path.join(a.out, f"table-tls{a.tls}.txt"), "w", encoding="utf-8") as f:
        f.write(text + "\n")
    print(text)
    print(f"results: {os.path.join(a.out, f'results-tls{a.tls}.json')}  "
          f"plot: {os.path.join(a.out, f'bench-tls{a.tls}.png')}  runs: {os.path.join(a.out, 'runs')}")
    print(line)
    return 0 if all(c["status"] == "ok" for c in every_case) else 1


def cmd_line(a):
    rep = load_json(a.file)
    s = run_summary(rep)
    if s is None:
        print(f"{a.file}: no report")
        return 1
    parts = [f"{rep.get('label', '?'):<16} ok={s['ok']}/{s['count']} cps={fmt(s['cps'])}",
             f"p50/p99={fmt(s['total_p50_ms'])}/{fmt(s['total_p99_ms'])} ms",
             f"refused={s['refused']} tls_fail={s['tls_fail']} timeouts={s['timeouts']}",
             f"broker={fmt(s['broker_cpu_pct'])}% rest={fmt(s.get('rest_cpu_pct'))}%"]
    if s.get("held") is not None:
        parts.append(f"held={s['held']} dropped={s['dropped']} reheld={fmt(s.get('reheld'))}")
    if "storm_s" in s:
        parts.append(f"storm={fmt(s['storm_s'])} s")
    if "rss_mb" in s:
        parts.append(f"rss={s['rss_mb']} MB ({fmt(s.get('rss_kb_per_session'))} kB/session)")
    print(" ".join(parts))
    return 0


def cmd_get(a):
    v = dig(load_json(a.file), a.key)
    if v is None:
        print(f"report.py: no '{a.key}' in {a.file}", file=sys.stderr)
        return 1
    print(json.dumps(v) if isinstance(v, (dict, list, bool)) else v)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("get")
    g.add_argument("file")
    g.add_argument("key")
    ln = sub.add_parser("line")
    ln.add_argument("file")
    r = sub.add_parser("report")
    r.add_argument("--out", required=True)
    r.add_argument("--cases", required=True)
    r.add_argument("--only", default="")
    r.add_argument("--tls", required=True)
    r.add_argument("--mode", default="full")
    r.add_argument("--concurrency", type=int, default=None)
    r.add_argument("--threads", type=int, default=None)
    r.add_argument("--rounds", type=int, default=1)
    r.add_argument("--known-devices", type=int, default=None)
    r.add_argument("--pinned", default="0")
    r.add_argument("--build-type", default="")
    r.add_argument("--plugin", default="")
    r.add_argument("--pki-seconds", type=float, default=None)
    r.add_argument("--seconds", type=float, default=None)
    r.add_argument("--load-before", default="")
    r.add_argument("--load-after", default="")
    a = ap.parse_args()
    return {"get": cmd_get, "line": cmd_line, "report": cmd_report}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
