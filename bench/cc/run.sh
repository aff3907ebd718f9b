#!/usr/bin/env bash
# bench/cc/run.sh - `make bench-cc`: throughput of the congestion-control
# DSL's algorithms against the kernel's, side by side on one path: two
# network namespaces joined by a veth pair with a tbf bottleneck (RATES),
# iperf3 for SECONDS per run, ROUNDS rounds in which every configuration runs
# once (alternating, so drift hits all alike). Prints a table (median and
# min-max of throughput, retransmissions, mean cwnd; for MVSF plans the ACK
# records user space handled per second), writes build/bench/cc.csv and
# draws build/bench/cc.png with gnuplot when it is installed. CONFIGS (e.g.
# "kernel:bbr dsl:bbr:kernel") and TBF (the tbf options after the rate) narrow
# or change a run.
set -u
cd "$(dirname "$0")/../.."
SB=${SAFEBPF:-build/safebpf}
ROUNDS=${ROUNDS:-3}
SECONDS_RUN=${SECONDS_RUN:-3}
RATES=${RATES:-"100mbit 400mbit"}
S=$$
NA=sbpfbA$S NB=sbpfbB$S VA=sbbA$S VB=sbbB$S
out=build/bench
mkdir -p "$out"
tmp=$(mktemp -d)
cleanup() { ip netns del "$NA" 2>/dev/null; ip netns del "$NB" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
[ -x "$SB" ] || { echo "bench-cc: build $SB first (make)"; exit 1; }
for t in iperf3 tc ip python3; do command -v $t >/dev/null || { echo "bench-cc: $t is not installed"; exit 1; }; done

ip netns add "$NA" && ip netns add "$NB" &&
	ip link add "$VA" type veth peer name "$VB" &&
	ip link set "$VA" netns "$NA" && ip link set "$VB" netns "$NB" &&
	ip -n "$NA" addr add 10.202.0.1/24 dev "$VA" && ip -n "$NB" addr add 10.202.0.2/24 dev "$VB" &&
	ip -n "$NA" link set "$VA" up && ip -n "$NB" link set "$VB" up || { echo "bench-cc: network setup failed"; exit 1; }

server() {
	ip netns exec "$NB" iperf3 -s -1 -D >/dev/null 2>&1
	for _ in $(seq 100); do
		ip netns exec "$NB" ss -Hltn 'sport = :5201' | grep -q 5201 && return 0
		sleep 0.05
	done
	return 1
}
# run CONFIG: kernel:ALG or dsl:FILE:PLAN
run() {
	local cfg=$1 kind alg plan name
	IFS=: read -r kind alg plan <<<"$cfg"
	server || return 1
	if [ "$kind" = kernel ]; then
		ip netns exec "$NA" iperf3 -c 10.202.0.2 -t "$SECONDS_RUN" -C "$alg" -J >"$tmp/r.json" 2>/dev/null
		echo 0 >"$tmp/acks"
	else
		name=sbpfb$S
		"$SB" cc run --plan "$plan" --name "$name" --reports /dev/null "examples/cc/$alg.cc" -- \
			ip netns exec "$NA" iperf3 -c 10.202.0.2 -t "$SECONDS_RUN" -C "$name" -J >"$tmp/r.raw" 2>"$tmp/r.err"
		tail -n +2 "$tmp/r.raw" >"$tmp/r.json"
		sed -nE 's/.*: ([0-9]+) ACKs in user space.*/\1/p' "$tmp/r.err" >"$tmp/acks"
	fi
	python3 - "$tmp/r.json" "$(cat "$tmp/acks")" "$SECONDS_RUN" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
e = d["end"]["sum_sent"]
cw = [i["streams"][0]["snd_cwnd"] / 1448 for i in d["intervals"]]
print("%.2f %d %.1f %.0f" % (e["bits_per_second"] / 1e6, e.get("retransmits", 0), sum(cw) / len(cw),
                            float(sys.argv[2] or 0) / float(sys.argv[3])))
PY
}

CONFIGS=${CONFIGS:-"kernel:reno dsl:reno:kernel dsl:reno:mvsf kernel:cubic dsl:cubic:kernel dsl:cubic:mvsf kernel:bbr dsl:bbr:kernel"}
echo "rate,config,round,mbit_s,retransmits,mean_cwnd,user_acks_per_s" >"$out/cc.csv"
for rate in $RATES; do
	ip netns exec "$NA" tc qdisc replace dev "$VA" root tbf rate "$rate" ${TBF:-burst 64kb limit 300kb}
	for r in $(seq "$ROUNDS"); do
		for c in $CONFIGS; do
			res=$(run "$c") || { echo "bench-cc: $c failed"; continue; }
			echo "$rate,$c,$r,${res// /,}" >>"$out/cc.csv"
		done
	done
done
python3 - "$out/cc.csv" <<'PY'
import csv, sys, statistics as st
rows = list(csv.DictReader(open(sys.argv[1])))
keys = []
for r in rows:
    k = (r["rate"], r["config"])
    if k not in keys:
        keys.append(k)
print("%-8s %-18s %22s %16s %10s %14s" % ("path", "algorithm", "Mbit/s median [min-max]", "retrans median", "cwnd med", "user ACKs/s"))
for k in keys:
    v = [r for r in rows if (r["rate"], r["config"]) == k]
    t = [float(r["mbit_s"]) for r in v]
    print("%-8s %-18s %8.1f [%5.1f-%5.1f] %16.0f %10.1f %14.0f" % (k[0], k[1], st.median(t), min(t), max(t),
          st.median(float(r["retransmits"]) for r in v), st.median(float(r["mean_cwnd"]) for r in v),
          st.median(float(r["user_acks_per_s"]) for r in v)))
PY
if command -v gnuplot >/dev/null; then
	python3 - "$out/cc.csv" >"$tmp/plot.dat" <<'PY'
import csv, sys, statistics as st
rows = list(csv.DictReader(open(sys.argv[1])))
keys = []
for r in rows:
    k = (r["rate"], r["config"])
    if k not in keys:
        keys.append(k)
for i, k in enumerate(keys):
    t = [float(r["mbit_s"]) for r in rows if (r["rate"], r["config"]) == k]
    print('%d "%s %s" %.2f %.2f %.2f' % (i, k[0], k[1].replace("dsl:", "DSL ").replace("kernel:", "kernel "), st.median(t), min(t), max(t)))
PY
	gnuplot -e "set terminal png size 1100,500; set output '$out/cc.png'; set style fill solid 0.5; set boxwidth 0.6;
		set ylabel 'Mbit/s (median, min-max)'; set xtics rotate by -40 font ',8'; set yrange [0:*];
		plot '$tmp/plot.dat' using 1:3:xtic(2) with boxes notitle, '' using 1:3:4:5 with yerrorbars notitle"
	echo "plot: $out/cc.png"
fi
echo "csv: $out/cc.csv"
