#!/usr/bin/env bash
# bench-sched.sh - tail latency of a SO_REUSEPORT UDP server with one slow
# worker (make bench-sched): the kernel's default reuseport hashing against
# the least-loaded policy examples/sched/least_inflight.sched, under its
# in-kernel plan and under the MVSF, rounds alternating, on loopback.
#
# Server: safebpf sched run, WORKERS workers, every request takes WORK_US
# (sleeping: an I/O-bound service) except on worker 0, which takes SLOW_US.
# Client: tests/e2e/sched_client load, RATE requests/s for DURATION_MS over
# FLOWS source ports, open loop, each request timed by the send time it
# carries. Prints a table (median and min..max over ROUNDS of p50, p99,
# p99.9 in microseconds, and the slow worker's share), writes
# build/bench/sched-tail.csv and, with gnuplot, build/bench/sched-tail.png.
set -eu
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5} WORKERS=${WORKERS:-4} WORK_US=${WORK_US:-200} SLOW_US=${SLOW_US:-5000}
RATE=${RATE:-800} DURATION_MS=${DURATION_MS:-3000} FLOWS=${FLOWS:-64}
bin=build/safebpf client=build/e2e/sched_client policy=examples/sched/least_inflight.sched
out=build/bench; mkdir -p "$out"
csv=$out/sched-tail.csv
echo "round,mode,sent,received,p50_us,p99_us,p999_us,max_us,slow_share" > "$csv"
port=$(( 30000 + ($$ % 5000) * 2 ))
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
run() { # round mode
	local extra=(); [ "$2" = kernel-default ] && extra=(--kernel-default)
	[ "$2" = least-loaded-mvsf ] && extra=(--plan mvsf)
	mkfifo "$tmp/ready.$1.$2"
	"$bin" sched run "$policy" --port "$port" --workers "$WORKERS" --work "$WORK_US" --slow "0:$SLOW_US" \
		--load handled "${extra[@]}" > "$tmp/ready.$1.$2" &
	local spid=$!
	exec 7< "$tmp/ready.$1.$2"
	local ready; read -r -t 20 ready <&7 || { echo "server did not start"; kill $spid; exit 1; }
	local res; res=$("$client" --port "$port" load "$RATE" "$DURATION_MS" "$FLOWS" "$WORKERS" | tr '\n' ' ')
	kill -TERM $spid; cat <&7 >/dev/null; exec 7<&-; wait $spid || true
	set -- "$1" "$2" $res
	# sent N received N lost N p50_us X p99_us X p999_us X max_us X counts C0 C1 ...
	local total=0 c; for c in "${@:18}"; do total=$((total + c)); done
	echo "$1,$2,$4,$6,${10},${12},${14},${16},$(awk -v a="${18}" -v t="$total" 'BEGIN{printf "%.3f", t ? a/t : 0}')" >> "$csv"
	port=$((port + 1))
}
for r in $(seq "$ROUNDS"); do
	if [ $((r % 2)) -eq 1 ]; then run "$r" kernel-default; run "$r" least-loaded; run "$r" least-loaded-mvsf
	else run "$r" least-loaded-mvsf; run "$r" least-loaded; run "$r" kernel-default; fi
done
echo "reuseport tail latency, $WORKERS UDP workers (worker 0 takes ${SLOW_US} us, the others ${WORK_US} us),"
echo "$RATE requests/s for ${DURATION_MS} ms over $FLOWS flows; median (min..max) of $ROUNDS rounds"
awk -F, 'NR > 1 { k = $2; n[k]++; for (i = 5; i <= 9; i++) v[k, i, n[k]] = $i }
function med(k, i,   a, m, j, t, x, y) { m = n[k]; for (j = 1; j <= m; j++) a[j] = v[k, i, j] + 0;
	for (x = 1; x <= m; x++) for (y = x + 1; y <= m; y++) if (a[y] < a[x]) { t = a[x]; a[x] = a[y]; a[y] = t }
	lo = a[1]; hi = a[m]; return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2 }
END {
	printf "%-15s %22s %22s %22s %18s\n", "mode", "p50 us", "p99 us", "p99.9 us", "slow worker share"
	split("kernel-default least-loaded least-loaded-mvsf", modes, " ")
	for (q = 1; q <= 3; q++) { k = modes[q]; line = sprintf("%-15s", k)
		for (i = 5; i <= 7; i++) { m = med(k, i); line = line sprintf(" %8.0f (%5.0f..%6.0f)", m, lo, hi); p[k, i] = m }
		m = med(k, 9); line = line sprintf("   %5.3f (%.3f..%.3f)", m, lo, hi); print line }
	printf "p99 ratio kernel-default / least-loaded: %.1fx (in-kernel plan), %.1fx (MVSF plan); p99.9: %.1fx, %.1fx\n",
		p["kernel-default", 6] / p["least-loaded", 6], p["kernel-default", 6] / p["least-loaded-mvsf", 6],
		p["kernel-default", 7] / p["least-loaded", 7], p["kernel-default", 7] / p["least-loaded-mvsf", 7]
}' "$csv"
echo "CSV: $csv"
if command -v gnuplot >/dev/null; then
	gnuplot <<GP 2>/dev/null && echo "plot: $out/sched-tail.png"
set terminal pngcairo size 800,450
set output "$out/sched-tail.png"
set datafile separator ","
set logscale y
set ylabel "p99 latency (us)"
set xlabel "round"
set key top left
plot "< grep kernel-default $csv" using 1:6 with linespoints title "kernel default hashing", \
     "< grep 'least-loaded,' $csv" using 1:6 with linespoints title "least_loaded(sent - done), in-kernel plan", \\
     "< grep least-loaded-mvsf $csv" using 1:6 with linespoints title "least_loaded(sent - done), MVSF plan"
GP
fi
