#!/usr/bin/env bash
# bench-engines.sh - side-by-side per-run time of the engines (interpreter,
# JIT checked and unchecked, llvm, kernel via BPF_PROG_TEST_RUN) on the sample
# clang-compiled XDP programs of tests/xdp.
#
#   scripts/bench-engines.sh [REPS] [TARGET_MS]
#
# For each program: one calibration run on the interpreter picks N (runs per
# measurement) so that the slowest engine needs about TARGET_MS (default
# 150) per measurement; then REPS rounds (default 7), each measuring every
# engine once with `safebpf run --repeat N`, the engine order rotating from
# round to round. Per-run time: the kernel's BPF_PROG_TEST_RUN duration;
# the user-space engines' CPU time of the N runs / N. Prints a table of the
# median, the spread (min..max over the rounds), the ratio of medians to the
# kernel, and the same net of each engine's fixed per-run cost (its median
# on the empty program); writes build/bench/engines.csv (every measurement) and
# build/bench/engines-summary.csv, and build/bench/engines.png (gnuplot) when
# gnuplot is there. Without CAP_BPF the kernel column is left out.
set -eu
cd "$(dirname "$0")/.."
reps=${1:-7}
target_ms=${2:-150}
bin=build/safebpf
out=build/bench
mkdir -p "$out"
[ -x "$bin" ] || { echo "bench-engines: build $bin first (make)" >&2; exit 2; }

pkt() { grep "^$1 " tests/xdp/packets.txt | cut -d' ' -f2; }

# name | object | --prog (or -) | packet
programs=(
	"empty|build/xdp/multi.o|xdp_pass_all|tcp_ssh"
	"filter|build/xdp/filter.o|-|tcp_ssh"
	"swap|build/xdp/swap.o|-|udp_dns"
	"csum|build/xdp/csum.o|-|udp_dns"
	"hash|build/xdp/hash.o|-|udp_dns"
	"payload|build/xdp/payload.o|-|udp_dns"
)
engines=(interp jit jit-unchecked llvm kernel)
if "$bin" run build/xdp/multi.o --prog xdp_pass_all --engine kernel --mem "$(pkt tcp_ssh)" 2>&1 |
	grep -q "cannot use the kernel"; then
	echo "bench-engines: kernel column skipped (no CAP_BPF)"
	engines=(interp jit jit-unchecked) # llvm needs the kernel verifier too
fi

# ns per run of one measurement
measure() { # object prog packet engine n
	local args=("$1" --engine "$4" --mem "$(pkt "$3")" --repeat "$5")
	[ "$2" != "-" ] && args+=(--prog "$2")
	"$bin" run "${args[@]}" | sed -nE 's/^time: ([0-9.]+) ns per run.*/\1/p'
}

csv=$out/engines.csv
echo "program,engine,round,runs,ns_per_run" >"$csv"
for p in "${programs[@]}"; do
	IFS='|' read -r name obj prog packet <<<"$p"
	[ -f "$obj" ] || { echo "bench-engines: $obj missing (make builds it)" >&2; exit 2; }
	cal=$(measure "$obj" "$prog" "$packet" interp 2000)
	n=$(awk -v ns="$cal" -v ms="$target_ms" 'BEGIN { n = int(ms * 1e6 / (ns > 1 ? ns : 1)); print (n < 1000 ? 1000 : n) }')
	for ((r = 0; r < reps; r++)); do
		k=${#engines[@]}
		for ((j = 0; j < k; j++)); do
			e=${engines[$(((j + r) % k))]}
			ns=$(measure "$obj" "$prog" "$packet" "$e" "$n")
			echo "$name,$e,$r,$n,$ns" >>"$csv"
		done
	done
	echo "bench-engines: $name done ($reps rounds x $n runs per engine)"
done

# median / min / max per program and engine, ratio of medians to the kernel
summary=$out/engines-summary.csv
awk -F, -v order="${engines[*]}" '
NR == 1 { next }
{ key = $1 SUBSEP $2; v[key, ++cnt[key]] = $5; if (!($1 in seen)) { seen[$1] = 1; progs[++np] = $1 } }
function median(key,   n, i, j, t, a) {
	n = cnt[key]
	for (i = 1; i <= n; i++) a[i] = v[key, i]
	for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
	lo = a[1]; hi = a[n]
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
END {
	ne = split(order, eng, " ")
	print "program,engine,median_ns,min_ns,max_ns,ratio_vs_kernel,net_ns,net_ratio_vs_kernel"
	for (j = 1; j <= ne; j++)
		if (("empty", eng[j]) in cnt) base[eng[j]] = median("empty" SUBSEP eng[j])
	for (i = 1; i <= np; i++) {
		kmed = ""
		if ((progs[i], "kernel") in cnt) kmed = median(progs[i] SUBSEP "kernel")
		knet = kmed != "" && progs[i] != "empty" ? kmed - base["kernel"] : ""
		for (j = 1; j <= ne; j++) {
			key = progs[i] SUBSEP eng[j]
			if (!(key in cnt)) continue
			m = median(key)
			ratio = kmed != "" && kmed > 0 ? sprintf("%.2f", m / kmed) : "n/a"
			net = progs[i] != "empty" && (eng[j] in base) ? sprintf("%.1f", m - base[eng[j]]) : "-"
			nratio = net != "-" && knet != "" && knet > 0 ? sprintf("%.2f", (m - base[eng[j]]) / knet) : "-"
			printf "%s,%s,%.1f,%.1f,%.1f,%s,%s,%s\n", progs[i], eng[j], m, lo, hi, ratio, net, nratio
		}
	}
}' "$csv" >"$summary"

echo
printf "%-9s %-14s %10s %20s %10s %10s %10s\n" program engine "median ns" "spread min..max" "vs kernel" \
	"net ns" "net vs k"
tail -n +2 "$summary" | while IFS=, read -r p e m lo hi ratio net nratio; do
	printf "%-9s %-14s %10s %20s %10s %10s %10s\n" "$p" "$e" "$m" "$lo..$hi" "$ratio" "$net" "$nratio"
done
echo "(net: median minus the same engine's median on the empty program, i.e. without the fixed"
echo " cost of one run: BPF_PROG_TEST_RUN's loop, or safebpf's per-run set-up and call)"
echo
echo "measurements: $csv; summary: $summary"

if command -v gnuplot >/dev/null; then
	# one cluster per program, one bar per engine, log scale
	dat=$out/engines-plot.dat
	awk -F, -v order="${engines[*]}" 'NR > 1 { m[$1, $2] = $3; if (!($1 in s)) { s[$1] = 1; p[++n] = $1 } }
		END { ne = split(order, e, " "); printf "program"; for (j = 1; j <= ne; j++) printf " %s", e[j]; print "";
		      for (i = 1; i <= n; i++) { printf "%s", p[i]; for (j = 1; j <= ne; j++) printf " %s", m[p[i], e[j]]; print "" } }' \
		"$summary" >"$dat"
	gnuplot <<GP 2>/dev/null && echo "plot: $out/engines.png"
set terminal pngcairo size 900,480
set output "$out/engines.png"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y
set ylabel "ns per run (median of $reps rounds, log scale)"
set title "safebpf engines on sample XDP programs"
set key top left
plot for [c=2:$((${#engines[@]} + 1))] "$dat" using c:xtic(1) title columnheader(c)
GP
fi
