#!/usr/bin/env bash
# run-soak.sh - `make soak` (issue 16; not part of `make test`): long runs
# under overload, with the optimized build, as a user would run it.
#
#  1. Overload: getppid loops on both CPUs (tests/e2e/workload --storm) for
#     the whole phase; `SELECT * FROM system_calls` to /dev/null and to a
#     pipe nobody reads, each stopped once by SIGINT (sent at the first
#     report of losses) and once by -d: the stop is obeyed within 1 s
#     (SOAK_STOP_MS), the final counts are printed and add up
#     (fired = counted + filtered + lost + evicted + unpaired).
#  2. RSS flat: one overload run of SOAK_RSS_SECONDS (default 60) to a pipe
#     nobody reads; the resident set size is read at each loss report (once
#     a second) and must not grow by more than 16 MiB after the first
#     quarter of the run.
#  3. Fork-heavy GROUP BY for SOAK_FORK_SECONDS (default 600): a workload
#     that forks children that exit at once (each leaves a dead thread's
#     entry behind if nothing removes it), the default plan, 10 s windows:
#     every window adds up, and nothing is evicted (no entry of a dead
#     thread fills the pairing map).
# Prints the figures and ends with "soak: N passed, N failed". Root (BPF)
# needed. Every wait is for an event (a line, an exit); the phase lengths
# are the soak's durations, measured by -d.
set -u
cd "$(dirname "$0")/.."
SB=build/safebpf
WL=build/e2e/workload
STOP_MS=${SOAK_STOP_MS:-1000}
RSS_SECONDS=${SOAK_RSS_SECONDS:-60}
FORK_SECONDS=${SOAK_FORK_SECONDS:-600}
pass=0 fail=0
tmp=$(mktemp -d)
storm=
cleanup() {
	[ -n "$storm" ] && kill -- "-$storm" 2>/dev/null
	exec 3>&- 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
ok()  { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# run MODE OUT ARGS...: as tests/suites/69-sql-overload.sh; MODE sigint-lost
# sends SIGINT at the first loss report; MODE rss samples VmRSS (KiB) at
# each loss report into $tmp/rss.
run() {
	local mode=$1 out=$2
	shift 2
	rm -f "$tmp/fifo"
	mkfifo "$tmp/fifo"
	"$SB" query "$@" >"$out" 2>"$tmp/fifo" &
	local q=$! t_att=0 t_sig=0 line
	: >"$tmp/err"
	: >"$tmp/rss"
	exec 4<"$tmp/fifo"
	while IFS= read -r -t $((FORK_SECONDS + 60)) line <&4; do
		echo "$line" >>"$tmp/err"
		case $line in
		*attached*) t_att=$(now_ms) ;;
		*"so far"*)
			if [ "$mode" = sigint-lost ] && [ "$t_sig" = 0 ]; then
				t_sig=$(now_ms)
				kill -INT $q
			fi
			[ "$mode" = rss ] && awk '/^VmRSS:/ {print $2}' /proc/$q/status >>"$tmp/rss" 2>/dev/null
			;;
		esac
	done
	local t_end
	t_end=$(now_ms)
	exec 4<&-
	kill -0 $q 2>/dev/null && kill -KILL $q
	wait $q
	rc=$?
	attach_ms=$((t_end - t_att))
	stop_ms=$((t_end - t_sig))
	sig_sent=$([ "$t_sig" != 0 ] && echo 1 || echo 0)
}
balanced() {
	python3 - "$tmp/err" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
m = re.search(r'^safebpf: \d+ events, \d+ lost, \d+ evicted; (\d+) fired = (\d+) counted \+ (\d+) filtered \+ (\d+) lost \+ (\d+) evicted \+ (\d+) unpaired', t, re.M)
if m: print('    ' + m.group(0).split('; ')[1])
sys.exit(not (m and int(m.group(1)) == sum(int(x) for x in m.groups()[1:])))
PY
}

if ! "$SB" query -d 1ms 'SELECT COUNT(*) FROM process_exit' >/dev/null 2>"$tmp/probe.err"; then
	echo "soak: cannot trace: $(grep safebpf "$tmp/probe.err" | head -n 1)"
	exit 1
fi
Q='SELECT * FROM system_calls'

echo "== 1. overload on both CPUs"
setsid "$WL" --storm 2 1 100000000000 2>/dev/null &
storm=$!
run sigint-lost /dev/null -f csv "$Q"
check "/dev/null: SIGINT after losses obeyed within $STOP_MS ms (took $stop_ms ms, rc $rc)" \
	"[ $rc -eq 0 ] && [ $sig_sent = 1 ] && [ $stop_ms -le $STOP_MS ]"
check "/dev/null: final counts add up after SIGINT" balanced
run none /dev/null -d 10s -f csv "$Q"
check "/dev/null: -d 10s obeyed within 10 s + $STOP_MS ms (took $attach_ms ms, rc $rc)" \
	"[ $rc -eq 0 ] && [ $attach_ms -le $((10000 + STOP_MS)) ]"
check "/dev/null: final counts add up after -d" balanced
rm -f "$tmp/pipe"
mkfifo "$tmp/pipe"
exec 3<>"$tmp/pipe"
run sigint-lost "$tmp/pipe" "$Q"
check "never-read pipe: SIGINT after losses obeyed within $STOP_MS ms (took $stop_ms ms, rc $rc)" \
	"[ $rc -eq 0 ] && [ $sig_sent = 1 ] && [ $stop_ms -le $STOP_MS ]"
check "never-read pipe: final counts add up after SIGINT" balanced
run none "$tmp/pipe" -d 10s "$Q"
check "never-read pipe: -d 10s obeyed within 10 s + $STOP_MS ms (took $attach_ms ms, rc $rc)" \
	"[ $rc -eq 0 ] && [ $attach_ms -le $((10000 + STOP_MS)) ]"
check "never-read pipe: final counts add up after -d" balanced

echo "== 2. RSS over ${RSS_SECONDS} s of overload to a never-read pipe"
run rss "$tmp/pipe" -d "${RSS_SECONDS}s" "$Q"
read -r -a rss <<<"$(tr '\n' ' ' <"$tmp/rss")"
n=${#rss[@]}
if [ "$n" -ge 8 ]; then
	q1=${rss[$((n / 4))]}
	max=$(printf '%s\n' "${rss[@]:$((n / 4))}" | sort -n | tail -n 1)
	echo "    RSS samples: $n, first ${rss[0]} KiB, at 1/4 $q1 KiB, max after $max KiB, last ${rss[$((n - 1))]} KiB"
	check "RSS flat: grows at most 16 MiB after the first quarter ($q1 -> max $max KiB)" \
		"[ $((max - q1)) -le 16384 ]"
else
	bad "RSS flat: only $n samples (needs a loss report a second)"
fi
check "RSS run: final counts add up" balanced
exec 3>&-
kill -- "-$storm" 2>/dev/null
wait "$storm" 2>/dev/null
storm=

echo "== 3. fork-heavy GROUP BY for ${FORK_SECONDS} s (default plan, 10 s windows)"
FQ="SELECT syscall_name(syscall_number) AS call, COUNT(*) AS n, P99(duration) AS p99 FROM system_calls GROUP BY call WINDOW 10s"
# -c follows the forked children; -d ends the run (and stops the command)
run none "$tmp/fork.out" -d "${FORK_SECONDS}s" --show-plan -f csv -c "$WL --fork 1000000000" "$FQ"
# with a command, the exit status is the command's: 143 when -d ended it (SIGTERM)
check "fork-heavy: ends at -d with the command's status (rc $rc: 0 or 143)" "[ $rc -eq 0 ] || [ $rc -eq 143 ]"
python3 - "$tmp/err" <<'PY' && ok "fork-heavy: every window adds up, nothing evicted" || bad "fork-heavy: every window adds up, nothing evicted"
import re, sys
t = open(sys.argv[1]).read()
term = r'(\d+) fired = (\d+) counted \+ (\d+) filtered \+ (\d+) lost \+ (\d+) evicted \+ (\d+) unpaired'
wins = [tuple(map(int, m)) for m in re.findall(r'^safebpf: window .*?; ' + term, t, re.M)]
tot = re.search(r'^safebpf: (\d+) events, (\d+) lost, (\d+) evicted; ' + term, t, re.M)
plan = re.search(r'^plan: .*', t, re.M)
print('    %s' % (plan.group(0) if plan else 'plan: ?'))
print('    windows: %d; total: %s' % (len(wins), tot.group(0).split(': ', 1)[1] if tot else '?'))
bad = [i for i, w in enumerate(wins) if w[0] != sum(w[1:])]
ev = sum(w[4] for w in wins) + (int(tot.group(3)) if tot else 1)
print('    windows not adding up: %d; evicted: %d' % (len(bad), ev))
sys.exit(not (tot and wins and not bad and ev == 0))
PY
echo "    forks (clone calls) counted: $(awk -F, '$2 == "clone" {n += $3} END {print n + 0}' "$tmp/fork.out")"

echo "soak: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
