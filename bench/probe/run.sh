#!/usr/bin/env bash
# bench/probe/run.sh - the probe-effect benchmark (make bench-probe).
#
# RocksDB db_bench (readrandom without a block cache: about 2.4 pread64
# calls per read, ~150k system calls per second) is the traced application.
# Its throughput is measured with no tracing and with four tracers running
# Query 1 (maximum latency per pid and system call, every second) and
# Query 2 (every system call's latency, written to a file):
#   safebpf-auto   safebpf query, the optimizer's plan
#   safebpf-mvsf   safebpf query --plan mvsf (every operator in user space)
#   bpftrace       bench/probe/q1.bt, q2.bt
#   hand           bench/probe/hand: libbpf C written the way an expert would
# Runs alternate (the order rotates every repetition); results go to
# $OUT/results.csv, then report.py writes the table, the plot and the
# numbers BENCHMARKS.md shows. Start-up time (command to attached probes)
# is measured for safebpf (cold and warm verdict cache), bpftrace and hand.
#
#   REPS=5 READS=300000 bench/probe/run.sh
set -u
cd "$(dirname "$0")/../.."
REPS=${REPS:-5}
READS=${READS:-300000}
STARTS=${STARTS:-5}
OUT=${OUT:-build/bench-probe}
DB=${DB:-$OUT/db}
SB=build/safebpf
mkdir -p "$OUT"

Q1='SELECT A.pid, A.syscall_number, MAX(A.exit_ts - A.enter_ts) AS latency FROM system_calls AS A GROUP BY A.pid, A.syscall_number WINDOW 1sec'
Q2='SELECT pid, tid, syscall, exit_ts - enter_ts AS latency FROM system_calls'

die() { echo "bench-probe: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (CAP_BPF, CAP_PERFMON)"
command -v db_bench >/dev/null || die "db_bench missing (apt-get install rocksdb-tools)"
command -v bpftrace >/dev/null || die "bpftrace missing"
[ -x "$SB" ] || die "$SB missing (make)"

# The hand-written tool: clang -target bpf and a small libbpf loader.
clang -O2 -g -target bpf -I/usr/include/"$(uname -m)"-linux-gnu -c bench/probe/hand/probe_q1.bpf.c \
	-o "$OUT/probe_q1.bpf.o" || die "clang failed"
clang -O2 -g -target bpf -I/usr/include/"$(uname -m)"-linux-gnu -c bench/probe/hand/probe_q2.bpf.c \
	-o "$OUT/probe_q2.bpf.o" || die "clang failed"
cc -O2 -Wall -Wextra -o "$OUT/probe_tool" bench/probe/hand/probe_tool.c -lbpf || die "cc failed"

# The optimizer's cost model, measured on this machine once.
if ! "$SB" explain --no-kernel "$Q1" | grep -q 'measured on kernel'; then
	echo "calibrating the cost model (safebpf calibrate)"
	"$SB" calibrate || die "calibration failed"
fi

# The database: 1M keys of 100 bytes (117 MB).
if [ ! -f "$DB/CURRENT" ]; then
	echo "creating $DB"
	db_bench --benchmarks=fillseq --db="$DB" --num=1000000 --value_size=100 --compression_type=none \
		--disable_wal=1 >/dev/null 2>&1 || die "fillseq failed"
fi
workload() {
	db_bench --benchmarks=readrandom --use_existing_db=1 --db="$DB" --num=1000000 --reads="$READS" \
		--cache_size=0 --threads=1 --disable_auto_compactions=1 --seed="$1" 2>&1 |
		sed -n 's/^readrandom *: *[0-9.]* micros\/op \([0-9]*\) ops\/sec.*/\1/p'
}

# cpu_ticks PID: user + system ticks of a process so far.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

# wait_for FILE PATTERN: until a line of FILE matches (the tracer is attached).
wait_for() {
	for _ in $(seq 300); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# start_tracer CONFIG QUERY: starts it in the background; sets TPID, TERR, TOUT.
start_tracer() {
	TERR="$OUT/tracer.err" TOUT="$OUT/tracer.out"
	rm -f "$TERR" "$TOUT"
	case $1 in
	safebpf-auto|safebpf-mvsf)
		local plan=${1#safebpf-} q
		[ "$2" = q1 ] && q=$Q1 || q=$Q2
		"$SB" query --plan "$plan" --show-plan -f csv -o "$TOUT" "$q" 2>"$TERR" &
		TPID=$!
		wait_for "$TERR" attached ;;
	bpftrace)
		bpftrace -o "$TOUT" "bench/probe/$2.bt" >/dev/null 2>"$TERR" &
		TPID=$!
		wait_for "$TOUT" Attaching && sleep 2 ;; # bpftrace says it before it attaches
	hand)
		"$OUT/probe_tool" "$2" "$OUT/probe_$2.bpf.o" -o "$TOUT" 2>"$TERR" &
		TPID=$!
		wait_for "$TERR" attached ;;
	esac
}

# stop_tracer CONFIG: SIGINT, wait; sets EVENTS and LOST as counted by the tool.
stop_tracer() {
	kill -INT "$TPID" 2>/dev/null
	wait "$TPID" 2>/dev/null
	EVENTS=- LOST=0
	case $1 in
	safebpf-*)
		EVENTS=$(sed -n 's/^safebpf: \([0-9]*\) events, .*/\1/p' "$TERR" | tail -n 1)
		LOST=$(sed -n 's/^safebpf: [0-9]* events, \([0-9]*\) lost.*/\1/p' "$TERR" | tail -n 1) ;;
	bpftrace) LOST=$(grep -ho 'Lost [0-9]* events' "$TERR" "$TOUT" 2>/dev/null | awk '{ s += $2 } END { print s + 0 }') ;;
	hand) LOST=$(sed -n 's/^lost \([0-9]*\)/\1/p' "$TERR") ;;
	esac
}

CSV="$OUT/results.csv"
if [ "${ONLY_STARTUP:-0}" = 1 ]; then REPS=0; else
echo "rep,query,config,ops_per_sec,tool_cpu_s,events,lost,rows,plan" >"$CSV"
configs=(none q1:safebpf-auto q1:safebpf-mvsf q1:bpftrace q1:hand q2:safebpf-auto q2:safebpf-mvsf q2:bpftrace q2:hand)
n=${#configs[@]}
hz=$(getconf CLK_TCK)
echo "db_bench readrandom, $READS reads per run, $REPS repetitions of ${n} configurations"
for rep in $(seq "$REPS"); do
	for i in $(seq 0 $((n - 1))); do
		c=${configs[$(( (i + rep) % n ))]}
		if [ "$c" = none ]; then
			ops=$(workload "$rep")
			echo "$rep,none,none,$ops,0,0,0,0," >>"$CSV"
			printf '  rep %d  %-22s %8s ops/s\n' "$rep" none "$ops"
			continue
		fi
		q=${c%%:*} cfg=${c#*:}
		start_tracer "$cfg" "$q" || { echo "  $cfg $q did not attach"; cat "$TERR"; kill "$TPID"; continue; }
		t0=$(cpu_ticks "$TPID")
		ops=$(workload "$rep")
		t1=$(cpu_ticks "$TPID")
		stop_tracer "$cfg"
		events=$EVENTS lost=$LOST
		rows=$(wc -l <"$TOUT" 2>/dev/null || echo 0)
		plan=$(sed -n 's/^plan: #[0-9]* of [0-9]* ([0-9]* loaded): //p' "$TERR" | tr ',' ';')
		cpu=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" 'BEGIN { printf "%.2f", (b - a) / hz }')
		echo "$rep,$q,$cfg,$ops,$cpu,${events:--},${lost:-0},$rows,$plan" >>"$CSV"
		printf '  rep %d  %-22s %8s ops/s  tool cpu %5ss  lost %s\n' "$rep" "$q $cfg" "$ops" "$cpu" "${lost:-0}"
	done
done

fi

# Start-up: command to attached probes. safebpf and bpftrace start a command
# once their probes are attached (-c); the command prints the time.
STARTCSV="$OUT/startup.csv"
echo "tool,query,cache,ms" >"$STARTCSV"
now_ns() { date +%s%N; }
stamp="$OUT/stamp"
# the command both tools start once attached (bpftrace -c splits on spaces)
printf '#!/bin/sh\ndate +%%s%%N > %s\n' "$(realpath "$stamp")" >"$OUT/stamp.sh"
chmod +x "$OUT/stamp.sh"
STAMP_CMD="/bin/sh $(realpath "$OUT/stamp.sh")"
for i in $(seq "$STARTS"); do
	for q in q1 q2; do
		[ "$q" = q1 ] && sql=$Q1 || sql=$Q2
		for cache in cold warm; do
			[ "$cache" = cold ] && rm -rf "$OUT/vcache"
			rm -f "$stamp"
			t0=$(now_ns)
			SAFEBPF_CACHE_DIR="$OUT/vcache" "$SB" query -f csv -o /dev/null "$sql" \
				-c "$STAMP_CMD" 2>/dev/null
			[ -s "$stamp" ] && echo "safebpf,$q,$cache,$(( ($(cat "$stamp") - t0) / 1000000 ))" >>"$STARTCSV"
		done
		rm -f "$stamp"
		t0=$(now_ns)
		bpftrace -o /dev/null "bench/probe/$q.bt" -c "$STAMP_CMD" >/dev/null 2>&1
		[ -s "$stamp" ] && echo "bpftrace,$q,-,$(( ($(cat "$stamp") - t0) / 1000000 ))" >>"$STARTCSV"
		# the hand tool says "attached" on stderr: stamp the moment it is read
		rm -f "$stamp" "$OUT/hand.fifo"
		mkfifo "$OUT/hand.fifo"
		t0=$(now_ns)
		"$OUT/probe_tool" "$q" "$OUT/probe_$q.bpf.o" -o /dev/null 2>"$OUT/hand.fifo" &
		hp=$!
		exec 7<"$OUT/hand.fifo"
		read -r _ <&7 && date +%s%N >"$stamp"
		kill -INT "$hp"
		cat <&7 >/dev/null
		exec 7<&-
		wait "$hp" 2>/dev/null
		[ -s "$stamp" ] && echo "hand,$q,-,$(( ($(cat "$stamp") - t0) / 1000000 ))" >>"$STARTCSV"
	done
done
# The safebpf calibration in use (copied next to the results).
cp "$("$SB" explain --no-kernel "$Q1" | sed -n 's/^  cost model: \(\S*\) .*/\1/p')" "$OUT/cost-model.conf" 2>/dev/null
python3 bench/probe/report.py "$OUT"
