#!/usr/bin/env bash
# 61-sql-optimizer.sh - the SQL optimizer on the running kernel:
#   - the differential corpus (tests/sql/differential.sql, >= 120 queries):
#     every query runs under --plan mvsf, auto and kernel-max at once on one
#     hostile workload (processes and threads on both CPUs, fsync'ed block
#     I/O, loopback TCP, cross-CPU wakeups, signals, faults, exec, windows
#     closing while events flow), with -c or -p; results equal, or differing
#     by no more rows than the runs reported lost; queries marked known(OWNER)
#     are another helper's open bug and are only reported;
#   - tests/sql/highrate.sql the same way, one query at a time, while two
#     threads make >= 500k system-call events/s;
#   - Query 1 and Query 2 of the probe-effect benchmark get in-kernel plans;
#   - a candidate the verifier refuses (SAFEBPF_TEST_REJECT) falls back to the
#     next one, explain shows the verifier's reason, and the query still runs
#     with equal results;
#   - the comparison rule (sqlcheck --compare, no privileges needed): merged
#     windows, per-column merges, distinct, row counts, dropped columns, and
#     a difference allowed only up to the events reported lost; a live run
#     whose plans differ without loss fails;
#   - verdicts are cached per (kernel release, fingerprint);
#   - --plan mvsf keeps every operator in user space.
# Skips, saying why, without root/CAP_BPF or tracefs.
set -u
cd "$(dirname "$0")/../.."
SB=${SAFEBPF:-build/asan/safebpf}
WL=build/e2e/workload
pass=0 fail=0 skip=0
NCHECKS=18
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export SAFEBPF_CACHE_DIR="$tmp/cache"

ok()   { echo "ok   $1"; pass=$((pass + 1)); }
bad()  { echo "FAIL $1"; fail=$((fail + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
finish() { echo "61-sql-optimizer: $pass passed, $fail failed, $skip skipped"; [ "$fail" -eq 0 ]; exit $?; }

if [ ! -x "$SB" ] || [ ! -x "$WL" ]; then
	bad "build: $SB and $WL must exist (make asan)"
	finish
fi

# 0. The comparison rule, on CSV files (window column first, as runs print).
printf 'window,k,n,hi\nw1,a,2,7\nw2,a,3,9\nw1,"b,c",1,1\n' >"$tmp/a.csv"
printf 'window,k,n,hi\nw1,a,5,9\nw3,"b,c",1,1\n' >"$tmp/b.csv"
printf 'window,k,n,hi\nw1,a,4,9\nw3,"b,c",1,1\n' >"$tmp/c.csv"
printf 'window,k,n,hi\nw1,a,4,9\nw3,"b,c",2,1\n' >"$tmp/d.csv"
cmpf() { "$SB" sqlcheck --compare "$tmp/$1" "$tmp/$2" "${@:3}" >/dev/null 2>&1; }
check "comparison rule: windows merged per key (sum, max) are equal across window boundaries" \
	"cmpf a.csv b.csv --mode merge=ksx && ! cmpf a.csv b.csv"
check "comparison rule: one changed row fails with no loss reported, passes with 1 lost event" \
	"! cmpf a.csv c.csv --mode merge=ksx && cmpf a.csv c.csv --mode merge=ksx --lost 1 && cmpf a.csv c.csv --mode merge=ksx --lost 0,1"
check "comparison rule: two changed rows are not explained by 1 lost event" \
	"! cmpf a.csv d.csv --mode merge=ksx --lost 1 && cmpf a.csv d.csv --mode merge=ksx --lost 2"
printf 'k,t\nx,100\nx,200\ny,5\n' >"$tmp/e.csv"
printf 'k,t\ny,6\nx,101\nx,199\n' >"$tmp/f.csv"
printf 'k,t\ny,6\nx,101\n' >"$tmp/g.csv"
check "comparison rule: columns marked d (times) are left out; count compares row counts; distinct dedups" \
	"cmpf e.csv f.csv --mode cols=kd && ! cmpf e.csv g.csv --mode cols=kd && cmpf e.csv f.csv --mode count && ! cmpf e.csv g.csv --mode count && cmpf f.csv g.csv --mode 'cols=kd: distinct' && ! cmpf e.csv f.csv"
check "comparison rule: windowed keys without values left compare as the set of keys seen" \
	"cmpf e.csv g.csv --mode merge=kd && ! cmpf e.csv g.csv --mode merge=kd --mode cols=kd"
# An empty window (no event: every aggregate NULL) merges into the others
# when a time column is left out ahead of it (generated seed 116).
printf 'window,a0,a1,a2\nw1,0,1556,0\n' >"$tmp/h.csv"
printf 'window,a0,a1,a2\nw1,0,1557,0\nw2,,,\n' >"$tmp/i.csv"
check "comparison rule: an empty window's row merges after a dropped column" \
	"cmpf h.csv i.csv --mode merge=sds && ! cmpf h.csv i.csv --mode merge=sks"
"$SB" selftest >/dev/null 2>"$tmp/selftest.err"
if [ $? -eq 4 ] || grep -q "tracefs is not mounted" "$tmp/selftest.err"; then
	echo "skip optimizer tests: $(cat "$tmp/selftest.err")"
	skip=$((skip + NCHECKS))
	finish
fi

Q1='SELECT A.pid, A.syscall_number, MAX(A.exit_ts - A.enter_ts) AS latency FROM system_calls AS A GROUP BY A.pid, A.syscall_number WINDOW 1sec'
Q2='SELECT pid, tid, syscall, exit_ts - enter_ts AS latency FROM system_calls'
WORK="$WL --getppid 100 --open /etc/hostname 5 --open /nonexistent 3 --fork 3 --write-null 20 --sleep-ms 120 --getppid 100 --tcp 2 --sleep-ms 120 --getppid 100"

# 1. The differential corpus, on the hostile workload.
HOSTILE="$WL --getppid 200 --open /etc/hostname 5 --open /nonexistent 2 --fork 2 --write-null 20 --procs 2 --getppid 50 --open /etc/hostname 2 --fsync $tmp 2 --threads 2 --getppid 30 --pingpong 20 --signal 2 --faults 8 --end --tcp-data 10 --end --exec 1 --tcp 2 --threads 2 --paced 150 20 --end --sleep-ms 5 --getppid 100 --stat /etc/hostname 3 --stat /nonexistent 1 --unlink $tmp 2 --rename $tmp 2 --exit-status 1 --exec-fail 1 --mount $tmp/mnt 1"
mkdir -p "$tmp/mnt"
t0=$(date +%s)
"$SB" sqlcheck -j 4 tests/sql/differential.sql --workload "$HOSTILE" >"$tmp/diff.out" 2>&1
rc=$?
grep -v '^ok \|^workload: spin' "$tmp/diff.out"
n=$(grep -c '^ok .* equal' "$tmp/diff.out")
np=$(grep -c '^ok .*\[-p\]: .* equal' "$tmp/diff.out")
k=$(grep -c '^ok .*@kernel' "$tmp/diff.out")
known=$(grep -c '^KNOWN ' "$tmp/diff.out")
check "differential corpus: $n queries ($np with -p) with equal results under mvsf, auto and kernel-max ($k with kernel operators; $known known differences of other helpers' open bugs; $(( $(date +%s) - t0 ))s)" \
	"[ $rc -eq 0 ] && [ \$(( n + known )) -ge 120 ] && [ $np -ge 10 ] && grep -q 'under 3 plans (mvsf,auto,kernel-max)' '$tmp/diff.out'"

# The high-rate corpus: one query at a time, two threads spinning on both CPUs.
RATE="$WL --getppid 10 --faults 20 --threads 2 --spin-ms 300 --end --getppid 10"
"$SB" sqlcheck tests/sql/highrate.sql --workload "$RATE" >"$tmp/rate.out" 2>&1
rc=$?
grep -v '^ok ' "$tmp/rate.out"
nr=$(grep -c '^ok .* equal' "$tmp/rate.out")
rates=$(sed -n 's/^workload: spin: .* \([0-9]*\) events\/s$/\1/p' "$tmp/rate.out" | sort -n | tr '\n' ' ')
fast=$(for r in $rates; do [ "$r" -ge 500000 ] && echo x; done | wc -l)
check "high-rate corpus: $nr queries equal or within the reported loss at workload rates (events/s) $rates" \
	"[ $rc -eq 0 ] && [ $nr -ge 9 ]"
# The rate is the machine's: with other jobs on both CPUs the queries were
# still compared, at a lower rate, and the rate check is skipped saying so.
if [ "$fast" -ge 1 ]; then
	ok "high-rate corpus: $fast of the runs at >= 500k system-call events/s with all three plans attached"
else
	echo "skip high-rate corpus: the machine is busy, no run reached 500k events/s (rates above)"
	skip=$((skip + 1))
fi

# Windows shorter than a cut (every flip waits for an RCU grace period) end
# with the traced command, and a SIGTERM stops a run that has no command:
# the end was once checked only between cuts, and such runs never ended.
timeout -k 30 60 "$SB" query -c "$WL --threads 2 --spin-ms 200 --end --getppid 10" \
	"SELECT COUNT(*) AS n FROM system_calls WINDOW 1ms" >"$tmp/w1.out" 2>"$tmp/w1.err"
rc=$?
check "windows shorter than a cut: the run ends with its command (exit $rc, $(wc -l <"$tmp/w1.out") rows)" \
	"[ $rc -eq 0 ] && grep -q ' events, 0 lost' '$tmp/w1.err'"
timeout -k 30 2 "$SB" query "SELECT COUNT(*) AS n FROM system_calls WINDOW 1ms" >/dev/null 2>&1 &
qpid=$!
"$WL" --threads 2 --spin-ms 3000 --end >/dev/null 2>&1
wait $qpid
rc=$?
check "windows shorter than a cut: SIGTERM stops the run under load (exit $rc: 124 is the TERM, 137 would be the KILL 30 s later)" \
	"[ $rc -eq 124 ]"

# A live difference that no loss explains fails: times differ between tracers.
printf '%s\n' "SELECT tid, ts FROM system_calls WHERE syscall_number = 110" >"$tmp/ts.sql"
"$SB" sqlcheck "$tmp/ts.sql" --workload "$WL --getppid 50" >"$tmp/ts.out" 2>&1
rc=$?
check "strictness: plans whose rows differ with 0 events lost fail the check (exit $rc)" \
	"[ $rc -eq 1 ] && grep -q '^FAIL .*results differ: .* 0 events reported lost' '$tmp/ts.out'"

# 2. Query 1: grouping and MAX in per-CPU maps, pairing in the kernel.
"$SB" explain "$Q1" >"$tmp/q1.txt" 2>&1
check "Query 1: the optimizer chooses pairing and aggregation in the kernel" \
	"grep -q '^  chosen: #1, pair, aggregate @kernel' '$tmp/q1.txt'"
check "Query 1: every candidate judged by the verifier, the MVSF plan among them" \
	"grep -q 'accepted  MVSF only' '$tmp/q1.txt' && ! grep -q 'not loaded' '$tmp/q1.txt'"
# 3. Query 2: every latency streamed, pairing in the kernel, batched records.
"$SB" explain "$Q2" >"$tmp/q2.txt" 2>&1
check "Query 2: the optimizer chooses pairing and projection in the kernel, batched output" \
	"grep -q '^  chosen: #1, pair, project+batch([0-9]*) @kernel' '$tmp/q2.txt'"
# Their rows equal the MVSF plan's (times compared as comparisons: two
# tracers read the clock at different nanoseconds).
printf '%s\n' "merge: SELECT A.pid, A.syscall_number, MAX(A.exit_ts - A.enter_ts) > 0ns AS latency, COUNT(*) AS n FROM system_calls AS A GROUP BY A.pid, A.syscall_number WINDOW 1sec" \
	"SELECT pid, tid, syscall, exit_ts - enter_ts >= 0ns AS latency FROM system_calls" >"$tmp/q12.sql"
"$SB" sqlcheck "$tmp/q12.sql" --workload "$WORK" >"$tmp/q12.out" 2>&1
cat "$tmp/q12.out"
check "Query 1 and Query 2: in-kernel plans, results equal to the MVSF plans" \
	"[ \$(grep -c '^ok .* equal, plan #1/[0-9]* pid-set, pair, ' '$tmp/q12.out') -eq 2 ]"

# 4. The verdict cache: a second explain takes every verdict from it.
"$SB" explain "$Q1" >"$tmp/q1b.txt" 2>&1
nc=$(grep -c 'verdict from the cache' "$tmp/q1b.txt")
check "verdict cache: the second explain reads $nc kernel verdicts from $SAFEBPF_CACHE_DIR" \
	"[ $nc -ge 2 ] && ls '$SAFEBPF_CACHE_DIR'/verdicts-* >/dev/null"

# 5. Fallback: refused candidates (made invalid on purpose) give way to the next.
SAFEBPF_TEST_REJECT=agg "$SB" explain "$Q1" >"$tmp/rej.txt" 2>&1
check "fallback: explain shows the refused aggregate plan with the verifier's reason" \
	"grep -A1 'rejected  pair, aggregate @kernel' '$tmp/rej.txt' | grep -q 'verifier: raw_syscalls/sys_e[a-z]*: invalid read from stack'"
check "fallback: the next candidate (pairing, streaming) is chosen" \
	"grep -q '^  chosen: #2, pair, project+batch' '$tmp/rej.txt'"
SAFEBPF_TEST_REJECT=agg,pair,filter,batch "$SB" explain "$Q1" --no-kernel >/dev/null 2>&1
SAFEBPF_TEST_REJECT=agg,pair,filter,batch "$SB" explain "$Q1" >"$tmp/rej2.txt" 2>&1
check "fallback: with every kernel operator refused, the MVSF plan remains" \
	"grep -q '^  chosen: #[0-9]*, MVSF only' '$tmp/rej2.txt' && [ \$(grep -c 'rejected' '$tmp/rej2.txt') -ge 3 ]"
printf '%s\n' "SELECT syscall_number, COUNT(*) AS n FROM system_calls WHERE syscall_number IN (1, 110) GROUP BY syscall_number" >"$tmp/rej.sql"
SAFEBPF_TEST_REJECT=agg,filter "$SB" sqlcheck "$tmp/rej.sql" --workload "$WORK" >"$tmp/rej.out" 2>&1
cat "$tmp/rej.out"
check "fallback at run time: refused candidates skipped, results still equal, no rejection reaches the user" \
	"grep -q '^ok .* equal, plan #[2-9]' '$tmp/rej.out' && grep -q '0 verifier rejections reached the user' '$tmp/rej.out'"

# 6. --plan mvsf: one candidate, everything in user space.
"$SB" explain --plan mvsf "$Q1" >"$tmp/mvsf.txt" 2>&1
check "--plan mvsf: only the MVSF plan" \
	"grep -q '^  chosen: #1, MVSF only' '$tmp/mvsf.txt' && ! grep -q '^  2 ' '$tmp/mvsf.txt'"
"$SB" explain --plan kernel-max "SELECT syscall_number, P99(duration) AS p FROM system_calls WHERE syscall_number = 1 GROUP BY syscall_number" >"$tmp/km.txt" 2>&1
check "--plan kernel-max: quantiles stay in user space, the filter and pairing move" \
	"grep -q '^  chosen: #1, filter 1/1, pair, project+batch' '$tmp/km.txt'"
finish
