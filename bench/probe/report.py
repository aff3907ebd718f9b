#!/usr/bin/env python3
"""report.py - the probe-effect benchmark's report: reads results.csv and
startup.csv written by bench/probe/run.sh, prints the tables (Markdown, as
BENCHMARKS.md shows them), writes table.md, and draws probe-effect.png with
gnuplot (overhead per tool and query: median, with the min-max range)."""
import csv
import os
import statistics
import subprocess
import sys

out = sys.argv[1] if len(sys.argv) > 1 else "build/bench-probe"
rows = list(csv.DictReader(open(os.path.join(out, "results.csv"))))
none = {int(r["rep"]): float(r["ops_per_sec"]) for r in rows if r["config"] == "none" and r["ops_per_sec"]}
base = statistics.median(none.values())
order = ["safebpf-auto", "hand", "bpftrace", "safebpf-mvsf"]
names = {"safebpf-auto": "safebpf (optimized)", "safebpf-mvsf": "safebpf --plan mvsf",
         "bpftrace": "bpftrace", "hand": "hand-written libbpf C"}
short = {"safebpf-auto": "safebpf", "safebpf-mvsf": "safebpf mvsf", "bpftrace": "bpftrace",
         "hand": "hand libbpf"}
lines = []
lines.append(f"No tracing: {base:,.0f} ops/s median over {len(none)} runs "
             f"(min {min(none.values()):,.0f}, max {max(none.values()):,.0f}).\n")
lines.append("| query | tool | ops/s (median) | overhead % median | overhead % min..max | "
             "events lost | tool CPU s (median) | rows out | plan |")
lines.append("|---|---|---:|---:|---|---:|---:|---:|---|")
plot = []
for q, qname in (("q1", "Query 1"), ("q2", "Query 2")):
    for cfg in order:
        rs = [r for r in rows if r["query"] == q and r["config"] == cfg and r["ops_per_sec"]]
        if not rs:
            continue
        ops = [float(r["ops_per_sec"]) for r in rs]
        # overhead of each run against the no-tracing run of the same repetition
        ovh = [100.0 * (1 - float(r["ops_per_sec"]) / none.get(int(r["rep"]), base)) for r in rs]
        lost = [int(r["lost"] or 0) for r in rs]
        cpu = [float(r["tool_cpu_s"]) for r in rs]
        outrows = [int(r["rows"] or 0) for r in rs]
        plan = rs[-1]["plan"].replace(";", ",") if cfg.startswith("safebpf") else ""
        med = statistics.median(ovh)
        lines.append(f"| {qname} | {names[cfg]} | {statistics.median(ops):,.0f} | {med:.1f} | "
                     f"{min(ovh):.1f} .. {max(ovh):.1f} | {sum(lost)} (of {len(rs)} runs) | "
                     f"{statistics.median(cpu):.2f} | {statistics.median(outrows):,.0f} | {plan} |")
        plot.append((qname, names[cfg], med, min(ovh), max(ovh)))
table = "\n".join(lines) + "\n"

st = list(csv.DictReader(open(os.path.join(out, "startup.csv"))))
slines = ["| tool | query | verdict cache | start-up ms (median) | min..max |", "|---|---|---|---:|---|"]
for tool, cache in (("safebpf", "cold"), ("safebpf", "warm"), ("bpftrace", "-"), ("hand", "-")):
    for q in ("q1", "q2"):
        ms = [int(r["ms"]) for r in st if r["tool"] == tool and r["query"] == q and r["cache"] == cache]
        if ms:
            slines.append(f"| {tool} | {'Query 1' if q == 'q1' else 'Query 2'} | {cache} | "
                          f"{statistics.median(ms)} | {min(ms)}..{max(ms)} |")
table += "\nStart-up (command to attached probes):\n\n" + "\n".join(slines) + "\n"
open(os.path.join(out, "table.md"), "w").write(table)
print(table)

# the plot: overhead per tool, one group per query
dat = os.path.join(out, "overhead.dat")
with open(dat, "w") as f:
    f.write("# tool q1 q1min q1max q2 q2min q2max\n")
    for cfg in order:
        vals = []
        for q in ("Query 1", "Query 2"):
            p = [x for x in plot if x[0] == q and x[1] == names[cfg]]
            vals += [p[0][2], p[0][3], p[0][4]] if p else [0, 0, 0]
        f.write('"%s" %s\n' % (short[cfg], " ".join("%.2f" % v for v in vals)))
gp = f"""set terminal pngcairo size 900,480 font ",11" noenhanced
set output "{os.path.join(out, 'probe-effect.png')}"
set title "Probe effect on RocksDB db_bench readrandom (2 CPUs)"
set ylabel "throughput loss vs. no tracing (%)"
set style data histograms
set style histogram errorbars gap 2 lw 1
set style fill solid 0.8 border -1
set key top left
set xtics nomirror
set yrange [0:*]
set grid ytics
plot "{dat}" using 2:3:4:xtic(1) title "Query 1 (max latency per pid, syscall; 1 s windows)", \\
     "" using 5:6:7 title "Query 2 (every latency to a file)"
"""
open(os.path.join(out, "probe-effect.gp"), "w").write(gp)
try:
    subprocess.run(["gnuplot", os.path.join(out, "probe-effect.gp")], check=True)
    print("plot:", os.path.join(out, "probe-effect.png"))
except Exception as e:  # the table is the result; the plot is a picture of it
    print("gnuplot failed:", e)
