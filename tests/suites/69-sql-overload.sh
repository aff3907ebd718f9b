#!/usr/bin/env bash
# 69-sql-overload.sh - a query stays responsive under overload and when
# nobody reads its output (issue 16, items 1 and 2):
#  - with both CPUs saturated by getppid loops (tests/e2e/workload --storm)
#    and the output going to /dev/null, Ctrl-C (SIGINT) ends the run within
#    STOP_BOUND_MS and -d within its duration + STOP_BOUND_MS, with the final
#    accounting line printed and balanced (fired = counted + filtered + lost
#    + evicted + unpaired), and losses are reported while the run goes on;
#  - with the output going to a pipe nobody reads, SIGINT and -d end the run
#    as promptly, exit 0 with the final counts on standard error, and leave
#    no link behind (the run's link ids, read from /proc/PID/fdinfo while it
#    ran, no longer exist);
#  - (item 3) the kernel pairing map does not fill with dead threads: after
#    20,000 forked children exited (each leaves its exit_group entry, more
#    than the map's 16,384 entries), the parent's 1,000 getppid calls are
#    all counted (at least: the pid set follows the dead children's ids,
#    which other processes on the machine may reuse), nothing is evicted, and no row pairs a call with an
#    exit_group (which never returns: such a row would be a new thread
#    paired with a dead thread's entry after pid reuse).
#  - (item 4) GROUP BY a computed expression over a column derived from two
#    captures (duration = exit_ts - enter_ts) groups by the expression's
#    value in the kernel: 200,000 getppid calls of the workload in one group,
#    0 lost, the same result as the MVSF plan (keyed on the raw captures,
#    the kernel map filled after its capacity and the rest was "lost");
#    when a kernel group map does fill (GROUP BY enter_ts: one group per
#    call), what is lost is labelled "group map full" on standard error and
#    in the JSON window record, and explain's stated capacity is what the
#    map held; a window of another width than asked says so.
# Times are taken by this script (date +%s%N) around the events it causes:
# the "attached" line, the first "so far N events lost" line (proof that
# the consumer is behind: SIGINT is sent then), the process's exit. The ASan
# build is used because its consumer is surely slower than the storm; its
# leak check at exit is turned off here (other suites run it), as it is not
# part of obeying a stop. The bound is wide enough for a machine shared with
# other jobs, and far below what the code before these checks took (17 s
# under the storm; forever on a full pipe). No sleeps: every wait is for an
# event (a line, an exit).
set -u
cd "$(dirname "$0")/../.."
SB=${SAFEBPF:-build/asan/safebpf}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
WL=build/e2e/workload
STOP_BOUND_MS=${STOP_BOUND_MS:-2000}
pass=0 fail=0 skip=0
NCHECKS=27
tmp=$(mktemp -d)
storm=
cleanup() {
	[ -n "$storm" ] && kill -- "-$storm" 2>/dev/null
	exec 3>&- 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

ok()   { echo "ok   $1"; pass=$((pass + 1)); }
bad()  { echo "FAIL $1"; fail=$((fail + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
finish() { echo "69-sql-overload: $pass passed, $fail failed, $skip skipped"; [ "$fail" -eq 0 ]; exit $?; }

if [ ! -x "$SB" ] || [ ! -x "$WL" ]; then
	bad "build: $SB and $WL must exist (make, make asan)"
	finish
fi
"$SB" query -d 1ms 'SELECT COUNT(*) FROM process_exit' >/dev/null 2>"$tmp/probe.err"
if [ $? -ne 0 ]; then
	echo "skip kernel tests: $(grep safebpf "$tmp/probe.err" | head -n 1)"
	skip=$((skip + NCHECKS))
	finish
fi

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# run MODE OUT ARGS... : runs `safebpf query ARGS` with standard output to
# OUT, reading its standard error line by line (into $tmp/err). MODE sigint:
# SIGINT as soon as it says "attached"; MODE sigint-lost: SIGINT at its
# first report of losses while running; MODE none: no signal. Sets rc,
# attach_ms (attached -> exit), stop_ms (SIGINT -> exit) and links (the
# link ids it held when attached). A run still alive 30 s after attaching is
# killed (rc 137) so that a hang fails instead of blocking the suite.
run() {
	local mode=$1 out=$2
	shift 2
	rm -f "$tmp/fifo"
	mkfifo "$tmp/fifo"
	"$SB" query "$@" >"$out" 2>"$tmp/fifo" &
	local q=$! t_att=0 t_sig=0 line
	links=
	: >"$tmp/err"
	exec 4<"$tmp/fifo"
	while IFS= read -r -t 30 line <&4; do
		echo "$line" >>"$tmp/err"
		case $line in
		*attached*)
			t_att=$(now_ms)
			links=$(grep -h '^link_id:' /proc/$q/fdinfo/* 2>/dev/null | awk '{print $2}' | tr '\n' ' ')
			if [ "$mode" = sigint ]; then
				t_sig=$(now_ms)
				kill -INT $q
			fi
			;;
		*"so far"*lost*)
			if [ "$mode" = sigint-lost ] && [ "$t_sig" = 0 ]; then
				t_sig=$(now_ms)
				kill -INT $q
			fi
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
	t_sig_seen=$([ "$t_sig" != 0 ] && echo 1 || echo 0)
}

# balanced: the final accounting line is there and adds up.
balanced() { balanced_file "$tmp/err"; }
balanced_file() {
	python3 - "$1" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
m = re.search(r'^safebpf: \d+ events, \d+ lost, \d+ evicted; (\d+) fired = (\d+) counted \+ (\d+) filtered \+ (\d+) lost \+ (\d+) evicted \+ (\d+) unpaired', t, re.M)
sys.exit(not (m and int(m.group(1)) == sum(int(x) for x in m.groups()[1:])))
PY
}
# no_links: none of the link ids the run held exists any more.
no_links() {
	[ -n "$links" ] || return 1
	for id in $links; do
		bpftool link show id "$id" >/dev/null 2>&1 && return 1
	done
	return 0
}

Q='SELECT * FROM system_calls'

# ---- item 1: overload on both CPUs, output to /dev/null ---------------------
# two storm workers, one per CPU, each far more calls than the checks need
# (the storm is killed when they are done)
# (in a process group of its own, so that its worker processes go with it)
setsid "$WL" --storm 2 1 200000000 2>/dev/null &
storm=$!
kill -0 $storm 2>/dev/null || { bad "storm did not start"; finish; }

run sigint-lost /dev/null -f csv "$Q"
check "overload: SIGINT after a second of losses obeyed within ${STOP_BOUND_MS} ms (took $stop_ms ms, rc $rc)" \
	"[ $rc -eq 0 ] && [ $t_sig_seen = 1 ] && [ $stop_ms -le $STOP_BOUND_MS ]"
check "overload: after SIGINT the final accounting line adds up" balanced
check "overload: the run's links are gone after SIGINT" no_links

run none /dev/null -d 3s -f csv "$Q"
check "overload: -d 3s obeyed within 3 s + ${STOP_BOUND_MS} ms of attaching (took $attach_ms ms, rc $rc)" \
	"[ $rc -eq 0 ] && [ $attach_ms -le $((3000 + STOP_BOUND_MS)) ]"
check "overload: after -d the final accounting line adds up" balanced
# losses are reported while the run goes on (once a second), not only at the end
# (what was not read at the stop counts as lost only then: not a loss seen while running)
total_lost=$(sed -n 's/^safebpf: [0-9]* events, \([0-9]*\) lost.*/\1/p' "$tmp/err")
at_stop=$(sed -n 's/^safebpf: \([0-9]*\) events recorded but not read before the stop.*/\1/p' "$tmp/err")
if [ $(( ${total_lost:-0} - ${at_stop:-0} )) -le 0 ]; then
	echo "skip overload: nothing was lost while running (the storm did not outrun the consumer), no progress line to check"
	skip=$((skip + 1))
else
	check "overload: losses reported during the run ($(grep -c 'so far' "$tmp/err") progress lines)" \
		"grep -q '^safebpf: so far [0-9]* events lost' '$tmp/err'"
fi

# ---- item 2: a pipe nobody reads (under the same storm) --------------------
rm -f "$tmp/pipe"
mkfifo "$tmp/pipe"
exec 3<>"$tmp/pipe" # held open for reading, never read: writes fill it and block
run sigint "$tmp/pipe" "$Q"
check "never-read pipe: SIGINT obeyed within ${STOP_BOUND_MS} ms, exit 0 (took $stop_ms ms, rc $rc)" \
	"[ $rc -eq 0 ] && [ $stop_ms -le $STOP_BOUND_MS ]"
check "never-read pipe: final counts on standard error after SIGINT" balanced
check "never-read pipe: says how much output was not written" \
	"grep -q 'the output was not read after the stop: [0-9]* bytes' '$tmp/err'"
check "never-read pipe: no 'query failed'" "! grep -q 'query failed' '$tmp/err'"
check "never-read pipe: the run's links are gone after SIGINT" no_links
run none "$tmp/pipe" -d 1s "$Q"
check "never-read pipe: -d 1s obeyed within 1 s + ${STOP_BOUND_MS} ms, exit 0 (took $attach_ms ms, rc $rc)" \
	"[ $rc -eq 0 ] && [ $attach_ms -le $((1000 + STOP_BOUND_MS)) ]"
check "never-read pipe: final counts on standard error after -d" balanced
exec 3>&-

kill -- "-$storm" 2>/dev/null
wait "$storm" 2>/dev/null
storm=

# without load: a never-read pipe still gets its final counts (the issue
# saw "query failed: Input/output error" here even on an idle machine)
exec 3<>"$tmp/pipe"
run sigint "$tmp/pipe" "$Q"
check "never-read pipe, no storm: SIGINT gives exit 0 and the final counts (rc $rc, $stop_ms ms)" \
	"[ $rc -eq 0 ] && balanced"
exec 3>&-

# ---- item 3: dead threads leave the kernel pairing map ----------------------
FQ="SELECT syscall_number, COUNT(*) AS n FROM system_calls WHERE syscall_number IN (56, 110, 231) GROUP BY syscall_number"
"$SB" query --plan kernel-max -f csv -c "$WL --fork 20000 --getppid 1000" "$FQ" >"$tmp/fork.csv" 2>"$tmp/err"
rc=$?
# Exactly 1000: the 20,000 forks wrap the pid space (pid_max 32768), and a
# exited process's id leaves the kernel pid set (sched_process_exit), so an
# unrelated process reusing it is not counted (it was: 1,395 once). Short
# only by what was reported lost.
n110=$(sed -n 's/^110,//p' "$tmp/fork.csv")
flost=$(sed -n 's/^safebpf: [0-9]* events, \([0-9]*\) lost.*/\1/p' "$tmp/err" | tail -n 1)
check "fork-heavy (kernel pairing): exits 0 and exactly the 1000 getppid calls of the workload (rc $rc; $(grep -E '^(56|110|231),' "$tmp/fork.csv" | tr '\n' ' ')${flost:+; $flost lost})" \
	"[ $rc -eq 0 ] && [ '${n110:-0}' -le 1000 ] && [ \$(( ${n110:-0} + ${flost:-0} )) -ge 1000 ]"
check "fork-heavy (kernel pairing): nothing evicted ($(grep -o '[0-9]* lost, [0-9]* evicted' "$tmp/err"))" \
	"grep -q '^safebpf: [0-9]* events, [0-9]* lost, 0 evicted' '$tmp/err' && balanced"
check "fork-heavy (kernel pairing): no call paired with a dead thread's exit_group" \
	"! grep -q '^231,' '$tmp/fork.csv'"

# ---- pid reuse under the user-space pairing (the MVSF plan) ---------------
# 200 rounds of: a child that exits at once (its exit_group entry stays
# open), then a child given the same pid (ns_last_pid), whose first event
# is the return of the clone that made it. The user-space pairing drops a
# thread's entry when the thread exits (a thread-exit record in the
# stream), so that return is unpaired; before, it took the dead child's
# exit_group entry (one '231' row per reused pid).
"$SB" query --plan mvsf -f csv -c "$WL --reuse-pid 200" "$FQ" >"$tmp/reuse.csv" 2>"$tmp/reuse.err"
rc=$?
reused=$(sed -n 's/^workload: reuse-pid: \([0-9]*\) of 200$/\1/p' "$tmp/reuse.err")
rrows=$(grep -E '^(56|110|231),' "$tmp/reuse.csv" | tr '\n' ' ')
check "pid reuse (MVSF pairing): no call paired with a dead thread's exit_group (${reused:-?} of 200 pids reused; $rrows)" \
	"[ $rc -eq 0 ] && [ '${reused:-0}' -gt 0 ] && ! grep -q '^231,' '$tmp/reuse.csv'"
check "pid reuse (MVSF pairing): exactly the 400 forks and 200 getppid calls, nothing evicted ($(grep -o '[0-9]* lost, [0-9]* evicted' "$tmp/reuse.err"))" \
	"grep -q '^56,400\$' '$tmp/reuse.csv' && grep -q '^110,200\$' '$tmp/reuse.csv' && grep -q '^safebpf: [0-9]* events, 0 lost, 0 evicted' '$tmp/reuse.err' && balanced_file '$tmp/reuse.err'"

# ---- pid reuse and the kernel pid set -------------------------------------
# The same 200 reused pids, filtered in the kernel (-c follows children
# through the pid set). The set forgets a process when its last thread
# exits (sched_process_exit's group_dead), before its id can be reused; it
# used to forget it at sched_process_free, an RCU grace period after the id
# was free again, which could delete the new child's entry (199 of 200
# calls counted, 0 lost).
"$SB" query --plan kernel-max -f csv -c "$WL --reuse-pid 200" \
	"SELECT COUNT(*) AS n FROM system_calls WHERE syscall_number = 110" >"$tmp/kreuse.csv" 2>"$tmp/kreuse.err"
rc=$?
reused=$(sed -n 's/^workload: reuse-pid: \([0-9]*\) of 200$/\1/p' "$tmp/kreuse.err")
check "pid reuse (kernel pid set): exactly the 200 getppid calls of the reused pids, 0 lost (rc $rc; ${reused:-?} reused; $(tail -n 1 "$tmp/kreuse.csv"))" \
	"[ $rc -eq 0 ] && [ '${reused:-0}' -gt 0 ] && [ \"\$(tail -n 1 '$tmp/kreuse.csv')\" = 200 ] && grep -q '^safebpf: [0-9]* events, 0 lost' '$tmp/kreuse.err'"

# ---- pid reuse: an untraced process's id given to a traced child --------
# An untraced process U makes 7 getppid calls (its rows are seen and
# rejected) and exits; then the traced command forks a child given U's pid,
# which makes 11. The user-space filter used to keep U's id as "not traced"
# and rejected the child's 11 calls under the MVSF plan (0 against 11 under
# the kernel's pid set); it now looks at the fork events that wait.
for plan in mvsf auto; do
	mkfifo "$tmp/go" "$tmp/gone"
	("$WL" --wait-fd 0 --getppid 7 <"$tmp/go" &
		echo $! >"$tmp/u.pid"
		wait
		echo >"$tmp/gone") &
	"$SB" query --plan $plan -f csv -c "sh -c 'echo >$tmp/go; read x <$tmp/gone; exec $WL --fork-as \$(cat $tmp/u.pid) 11'" \
		"SELECT pid, COUNT(*) AS n FROM system_calls WHERE syscall_number = 110 GROUP BY pid" >"$tmp/fa.csv" 2>"$tmp/fa.err"
	rc=$?
	# if the command did not run, release the helper (read-write opens of
	# a FIFO never block; a line nobody reads is dropped with the FIFO)
	exec 8<>"$tmp/go" 9<>"$tmp/gone"
	echo >&8
	wait
	exec 8>&- 9>&-
	u=$(cat "$tmp/u.pid")
	rm -f "$tmp/go" "$tmp/gone"
	if [ $rc -ne 0 ]; then
		bad "pid reuse ($plan): the query failed (rc $rc: $(tail -n 1 "$tmp/fa.err"))"
		continue
	fi
	if ! grep -q "^workload: fork-as: got $u\$" "$tmp/fa.err"; then
		echo "skip pid reuse ($plan): another process took pid $u first ($(grep -o 'got [0-9]*' "$tmp/fa.err"))"
		skip=$((skip + 1))
		continue
	fi
	check "pid reuse ($plan): the traced child given untraced pid $u counts its 11 calls, the untraced process's 7 none (rc $rc; $(tail -n +2 "$tmp/fa.csv" | tr '\n' ' '))" \
		"[ $rc -eq 0 ] && grep -q '^$u,11\$' '$tmp/fa.csv'"
done

# ---- pid reuse: a traced process's id given to an untraced process --------
# The traced command's child T makes 3 getppid calls and exits; an
# untraced process is then given T's id and makes 7. The kernel pid set
# marks T's id dying at its exit (its own last events, sched_process_exit
# among them, still count) and lets no other task through it until it is
# forgotten at sched_process_free; the user-space filter (MVSF plan) ends
# T's rows at the fork that gave its id to another process. Before, the
# MVSF plan counted 10.
for plan in mvsf auto; do
	mkfifo "$tmp/go2" "$tmp/done2"
	(read p <"$tmp/go2"
		"$WL" --fork-as "$p" 7 2>"$tmp/fb.w"
		echo >"$tmp/done2") &
	"$SB" query --plan $plan -f csv -c "sh -c '$WL --getppid 3 & p=\$!; wait; echo \$p >$tmp/go2; read x <$tmp/done2'" \
		"SELECT pid, COUNT(*) AS n FROM system_calls WHERE syscall_number = 110 GROUP BY pid" >"$tmp/fb.csv" 2>"$tmp/fb.err"
	rc=$?
	# if the command did not run, release the helper (as above)
	exec 8<>"$tmp/go2" 9<>"$tmp/done2"
	echo 0 >&8
	wait
	exec 8>&- 9>&-
	rm -f "$tmp/go2" "$tmp/done2"
	t=$(sed -n 's/^workload: fork-as: got \([0-9]*\)$/\1/p' "$tmp/fb.w")
	if [ -z "$t" ] || ! grep -q "^$t," "$tmp/fb.csv"; then
		bad "dead traced pid reused ($plan): the run did not go as planned (rc $rc; $(cat "$tmp/fb.w"); $(tail -n +2 "$tmp/fb.csv" | tr '\n' ' '))"
		continue
	fi
	check "dead traced pid reused ($plan): the traced child's 3 calls count, the untraced process's 7 given its id do not (rc $rc; $(tail -n +2 "$tmp/fb.csv" | tr '\n' ' '))" \
		"[ $rc -eq 0 ] && grep -q '^$t,3\$' '$tmp/fb.csv'"
done
"$SB" query --plan kernel-max -f csv -c "$WL --fork 2" "SELECT COUNT(*) AS n FROM process_exit" >"$tmp/pe.csv" 2>"$tmp/pe.err"
rc=$?
check "exits of traced processes count under the kernel pid set: the workload and its 2 children (rc $rc; $(tail -n 1 "$tmp/pe.csv"))" \
	"[ $rc -eq 0 ] && [ \"\$(tail -n 1 '$tmp/pe.csv')\" = 3 ]"

# ---- item 4: GROUP BY a computed key in the kernel --------------------------
sumcol() { awk -F, 'NR > 1 { s += $NF } END { print s + 0 }' "$1"; }
lostof() { sed -n 's/^safebpf: [0-9]* events, \([0-9]*\) lost.*/\1/p' "$1" | tail -n 1; }
CQ="SELECT duration / 1s AS secs, COUNT(*) AS n FROM system_calls WHERE syscall_number = 110 GROUP BY secs"
# (paced, 100 calls then 1 ms of sleep, so that the MVSF plan's ASan-built
# reader keeps up with its ring buffer and loses nothing either)
for plan in kernel-max mvsf; do
	"$SB" query --plan $plan --show-plan -f csv -c "$WL --paced 2000 100" "$CQ" >"$tmp/c-$plan.csv" 2>"$tmp/c-$plan.err"
	echo "rc $?" >>"$tmp/c-$plan.err"
done
check "computed key (kernel-max): aggregated in the kernel, exactly 200000 calls in one group, 0 lost ($(tr '\n' ' ' <"$tmp/c-kernel-max.csv"); lost $(lostof "$tmp/c-kernel-max.err"))" \
	"grep -q '^plan: .*aggregate @kernel' '$tmp/c-kernel-max.err' && grep -q '^rc 0' '$tmp/c-kernel-max.err' && [ \"\$(tail -n +2 '$tmp/c-kernel-max.csv')\" = '0,200000' ] && [ '$(lostof "$tmp/c-kernel-max.err")' = 0 ]"
check "computed key: the kernel plan's result equals the MVSF plan's ($(tr '\n' ' ' <"$tmp/c-mvsf.csv"); lost $(lostof "$tmp/c-mvsf.err"))" \
	"grep -q '^rc 0' '$tmp/c-mvsf.err' && cmp -s '$tmp/c-kernel-max.csv' '$tmp/c-mvsf.csv'"
# windowed, default plan: every call counted once over the windows
"$SB" query -f csv -c "$WL --getppid 200000" "$CQ WINDOW 1s" >"$tmp/cw.csv" 2>"$tmp/cw.err"
rc=$?
check "computed key, WINDOW 1s: the windows count exactly 200000 calls, 0 lost (rc $rc; $(sumcol "$tmp/cw.csv") counted, lost $(lostof "$tmp/cw.err"))" \
	"[ $rc -eq 0 ] && [ $(sumcol "$tmp/cw.csv") = 200000 ] && [ '$(lostof "$tmp/cw.err")' = 0 ]"
# a window narrower than asked (the run's first and last) says where it ended and how wide it was
check "computed key, WINDOW 1s: a window of another width says its end and width" \
	"grep -qE '^safebpf: window [0-9:.]+ to [0-9:.]+ \\([0-9]+\\.[0-9]{3} s wide\\): ' '$tmp/cw.err'"

# a group map that does fill: one group per call
GQ="SELECT enter_ts, COUNT(*) AS n FROM system_calls WHERE syscall_number = 110 GROUP BY enter_ts"
cap=$("$SB" explain --plan kernel-max "$GQ" 2>/dev/null | sed -n 's/.*in the kernel, at most \([0-9]*\) groups.*/\1/p' | head -n 1)
"$SB" query --plan kernel-max -f csv -c "$WL --getppid 100000" "$GQ" >"$tmp/g.csv" 2>"$tmp/g.err"
rc=$?
gcount=$(sumcol "$tmp/g.csv")
gfull=$(sed -n 's/^safebpf: [0-9]* events, .*; of the lost, \([0-9]*\) group map full$/\1/p' "$tmp/g.err")
check "group map full: labelled so in the final line, counted + group map full = 100000 (rc $rc; ${gcount} counted, ${gfull:-no} group map full)" \
	"[ $rc -eq 0 ] && [ -n '$gfull' ] && [ \$(( ${gcount:-0} + ${gfull:-0} )) -eq 100000 ] && balanced_file '$tmp/g.err'"
check "group map full: explain states the capacity the map had (explain: ${cap:-none}; groups read: $gcount)" \
	"[ -n '$cap' ] && [ '$cap' = '$gcount' ]"
"$SB" query --plan kernel-max -f json -c "$WL --getppid 100000" "$GQ" 2>/dev/null | grep '^{\"window\":{' >"$tmp/g.json"
jfull=$(sed -n 's/.*"group_map_full":\([0-9]*\).*/\1/p' "$tmp/g.json")
jlost=$(sed -n 's/.*"rows_lost":\([0-9]*\).*/\1/p' "$tmp/g.json")
check "group map full: the JSON window record says group_map_full (${jfull:-absent} of ${jlost:-?} lost)" \
	"[ -n '$jfull' ] && [ '${jfull:-0}' -gt 0 ] && [ '$jfull' = '$jlost' ]"
# a computed key that the kernel cannot compute over a derived column stays in user space
check "msec(duration) groups in user space (explain: $("$SB" explain "SELECT msec(duration) AS ms, COUNT(*) FROM system_calls GROUP BY ms" 2>/dev/null | grep -o 'aggregate by.*@[a-z]*' | grep -o '@[a-z]*$'))" \
	"\"$SB\" explain 'SELECT msec(duration) AS ms, COUNT(*) FROM system_calls GROUP BY ms' 2>/dev/null | grep -q '^aggregate by .*@user'"

finish
