#!/usr/bin/env bash
# The benchmark's tooling, run tiny (scripts/bench --tiny: tens of connects a
# case, TLS 1.3 only): every case of tests/bench/cases.tsv runs, the last line
# is a well-formed RESULT line, results JSON parses and names every case, the
# storm and held-session cases measured what they say; and report.py marks a
# case whose run is missing as failed (NA in RESULT, exit 1) instead of
# inventing a figure. Nothing here is a speed assertion.
# shellcheck disable=SC2317 # the helpers below are called through xca_check
set -euo pipefail
source "$(dirname "$0")/lib.sh"
xca_setup

SRC=$XCA_SOURCE_DIR
OUT=$XCA_TMP/bench
REPORT=$SRC/tests/bench/report.py
RC=0
"$SRC/scripts/bench" --tiny --no-build --tls-max 1.3 --build-dir "$XCA_BUILD_DIR" \
    --plugin "$XCA_PLUGIN" --out "$OUT" >"$XCA_TMP/bench.out" 2>"$XCA_TMP/bench.err" || RC=$?
tail -n 25 "$XCA_TMP/bench.out"
RESULTS=$OUT/tls1.3/results-tls1.3.json

# n|NA for counts, r|NA for ratios; the prefix fields exactly, in order.
N='([0-9]+|NA)'
R='([0-9]+(\.[0-9]+)?|NA)'
LINE_RE="^RESULT tls=1\\.3 depth=3 stock_cps=$N warm_cps=$N cold_cps=$N first_cps=$N ratio_warm=$R ratio_cold=$R ratio_first=$R ratio_storm=$R ratio_rss=$R admin_p99_ratio=$R( [a-z_0-9]+=$R)*\$"

xca_check "scripts/bench --tiny ran (exit 0 or 1, not a usage error: $RC)" test "$RC" -le 1
last_line_ok() {
    local last
    last=$(tail -n 1 "$XCA_TMP/bench.out")
    echo "$last"
    [[ $last =~ $LINE_RE ]]
}
xca_check "the last line is one well-formed RESULT line" last_line_ok
measured() {
    local last
    last=$(tail -n 1 "$XCA_TMP/bench.out")
    for f in stock_cps warm_cps cold_cps first_cps ratio_warm ratio_storm ratio_rss admin_p99_ratio; do
        [[ $last =~ (^| )$f=[0-9] ]] || { echo "$f is NA: $last"; return 1; }
    done
}
xca_check "every RESULT prefix field was measured (none NA)" measured

# py CODE: python3 with the results JSON as R and the case table as CASES.
py() {
    python3 - "$RESULTS" "$SRC/tests/bench/cases.tsv" "$1" <<'EOF'
import json, sys
R = json.load(open(sys.argv[1]))
CASES = [l.split("\t")[0] for l in open(sys.argv[2]) if l.strip() and not l.startswith("#")]
ok = eval(sys.argv[3])
print("checked:", sys.argv[3], "->", ok)
sys.exit(0 if ok else 1)
EOF
}
xca_check "results JSON: schema x509ca-bench/2, depth 3" \
    py 'R["schema"] == "x509ca-bench/2" and R["settings"]["depth"] == 3'
xca_check "results JSON: one entry per line of cases.tsv, in order" \
    py '[c["name"] for c in R["cases"]] == CASES'
xca_check "results JSON: every case ran (ok or partial; none failed, invalid or skipped)" \
    py 'all(c["status"] in ("ok", "partial") for c in R["cases"])'
same_line() {
    [[ "$(python3 "$REPORT" get "$RESULTS" result)" == "$(tail -n 1 "$XCA_TMP/bench.out")" ]]
}
xca_check "results JSON: its RESULT line is the one printed last" same_line
xca_check "storm: every session came back after the restart, on both sides" \
    py 'all(r["report"]["reheld"] == r["report"]["count"] and r["summary"]["storm_s"] > 0 for r in [c for c in R["cases"] if c["name"] == "storm"][0]["runs"].values())'
xca_check "rss: every session held on both sides, with the broker's RSS sampled" \
    py 'all(r["report"]["held"] == r["report"]["count"] and r["summary"]["rss_mb"] > 1 for r in [c for c in R["cases"] if c["name"] == "rss"][0]["runs"].values())'
xca_check "admin: the admin driver paged and deleted" \
    py '[c for c in R["cases"] if c["name"] == "admin"][0]["admin_driver"]["deleted"] > 0'
if command -v gnuplot >/dev/null; then
    xca_check "the plot was drawn" test -s "$OUT/tls1.3/bench-tls1.3.png"
fi

# Rounds: every case again, the side order alternating, RESULT the medians.
ROUNDS_OUT=$XCA_TMP/bench-rounds
rounds_ran() {
    "$SRC/scripts/bench" --tiny --no-build --tls-max 1.2 --rounds 3 --cases warm,audit_on,audit_off \
        --build-dir "$XCA_BUILD_DIR" --plugin "$XCA_PLUGIN" --out "$ROUNDS_OUT" \
        >"$XCA_TMP/rounds.out" 2>"$XCA_TMP/rounds.err" || { tail -5 "$XCA_TMP/rounds.err"; return 1; }
    tail -n 6 "$XCA_TMP/rounds.out"
    local r
    for r in warm warm.stock warm.r2 warm.r2.stock warm.r3 warm.r3.stock audit_off.r3; do
        [[ -s $ROUNDS_OUT/tls1.2/runs/$r.json ]] || { echo "no run $r"; return 1; }
    done
}
xca_check "--rounds 3: every case ran in each round, under its round's label" rounds_ran
side_order() {
    # status.tsv lists the sides as they ran: stock first in round 1, x509ca first in round 2.
    local order
    order=$(awk -F'\t' '$1 ~ /^warm(\.r2)?(\.stock)?$/ {print $1}' "$ROUNDS_OUT/tls1.2/status.tsv" | tr '\n' ' ')
    echo "$order"
    [[ $order == "warm.stock warm warm.r2 warm.r2.stock " ]]
}
xca_check "--rounds: the stock side runs first in odd rounds, second in even ones" side_order
medians() {
    python3 - "$ROUNDS_OUT/tls1.2/results-tls1.2.json" "$(tail -n 1 "$XCA_TMP/rounds.out")" <<'EOF'
import json, statistics, sys
R = json.load(open(sys.argv[1]))
rounds = R["by_round"]
ok = R["rounds"] == 3 and len(rounds) == 3
for k, digits in (("ratio_warm", 2), ("ratio_audit", 3), ("warm_cps", 0)):
    vals = [r["summary"][k] for r in rounds]
    want = round(statistics.median(vals), digits) if digits else int(round(statistics.median(vals)))
    print(k, vals, "median", want, "summary", R["summary"][k])
    ok = ok and None not in vals and R["summary"][k] == want
ok = ok and f" ratio_warm={R['summary']['ratio_warm']} " in sys.argv[2]
sys.exit(0 if ok else 1)
EOF
}
xca_check "--rounds: the summary and RESULT hold each figure's median over the rounds" medians

# A run that is missing: its case fails and its figures are NA.
cp -r "$OUT/tls1.3" "$XCA_TMP/broken"
rm "$XCA_TMP/broken/runs/warm.json"
missing_run() {
    local rc=0 last
    python3 "$REPORT" report --out "$XCA_TMP/broken" --cases "$SRC/tests/bench/cases.tsv" --tls 1.3 \
        >"$XCA_TMP/broken.out" || rc=$?
    last=$(tail -n 1 "$XCA_TMP/broken.out")
    echo "exit $rc: $last"
    grep '^warm ' "$XCA_TMP/broken.out"
    ((rc == 1)) && [[ $last =~ $LINE_RE && $last == *" warm_cps=NA "* && $last == *" ratio_warm=NA "* ]] &&
        grep -q '^warm .* failed: no report' "$XCA_TMP/broken.out"
}
xca_check "report.py: a missing run fails its case (warm_cps=NA, exit 1)" missing_run
xca_done
