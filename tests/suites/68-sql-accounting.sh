#!/usr/bin/env bash
# 68-sql-accounting.sh - SQL results are exact under load (issue 11):
#  - JOIN: a right row never takes a left row that happened after it, under
#    every plan (openat -> fstat -> close ten times: `fstat 10`, and nothing
#    the dynamic loader did before the opens);
#  - the accounting invariant, per window and in total, at a high event rate
#    on both CPUs (tests/e2e/workload --storm: 2 processes x 2 threads of
#    getppid loops) with 100 ms windows closing while events flow, under the
#    mvsf, auto and kernel-max plans:
#        fired = counted + filtered + lost + evicted + unpaired
#    and, with the exact number of calls issued, counted <= issued <=
#    counted + lost + unpaired (counted == issued when nothing was lost),
#    and the event rate reached (checked >= 500k/s when the machine is not
#    busy with other work, reported either way);
#  - a kernel-aggregated COUNT(*) at the end of a -d run equals the rows
#    counted: nothing is dropped at the last window boundary.
# Synchronisation is by the -c command's exit and the -d deadline, never by
# sleeping. Skips, saying why, without privileges.
set -u
cd "$(dirname "$0")/../.."
SB=${SAFEBPF:-build/asan/safebpf}
WL=build/e2e/workload
pass=0 fail=0 skip=0
NCHECKS=21
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok()   { echo "ok   $1"; pass=$((pass + 1)); }
bad()  { echo "FAIL $1"; fail=$((fail + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
finish() { echo "68-sql-accounting: $pass passed, $fail failed, $skip skipped"; [ "$fail" -eq 0 ]; exit $?; }

if [ ! -x "$SB" ] || [ ! -x "$WL" ]; then
	bad "build: $SB and $WL must exist (make asan)"
	finish
fi
"$SB" query -d 1ms 'SELECT COUNT(*) FROM process_exit' >/dev/null 2>"$tmp/probe.err"
if [ $? -ne 0 ]; then
	echo "skip kernel tests: $(grep safebpf "$tmp/probe.err" | head -n 1)"
	skip=$((skip + NCHECKS))
	finish
fi

# 1. JOIN by event time, every plan (item 2).
marker="$tmp/marker"
echo x >"$marker"
JQ="SELECT syscall_name(c.syscall_number) AS first_use, COUNT(*) AS n FROM file_opens AS o JOIN system_calls AS c ON o.tid = c.tid AND o.ret = c.arg0 WHERE o.path = '$marker' GROUP BY first_use"
for plan in mvsf auto kernel-max; do
	"$SB" query -f csv --plan "$plan" -c "$WL --open-fstat $marker 10" "$JQ" >"$tmp/join.$plan" 2>"$tmp/join.$plan.err"
	got=$(grep -v '^first_use' "$tmp/join.$plan" | tr '\n' ' ')
	check "join ($plan): the first use of each opened fd is its fstat, 10 times (got: $got)" \
		"[ \"\$(grep -v '^first_use' '$tmp/join.$plan')\" = 'fstat,10' ]"
done

# The same join while a getppid storm runs on both CPUs and 100 ms windows
# close: with nothing lost, exactly 3000 rows, every one an fstat; with
# losses, any other first use is covered by the reported loss.
JW="$JQ WINDOW 100ms"
for plan in mvsf auto kernel-max; do
	"$SB" query -f csv --plan "$plan" -c "sh -c '$WL --storm 2 1 300000 2>/dev/null & $WL --open-fstat $marker 3000; wait'" \
		"$JW" >"$tmp/joinw.$plan" 2>"$tmp/joinw.$plan.err"
	check "join under load ($plan): 3000 fstat rows, or other rows only within the reported loss ($(awk -F, 'NR > 1 { n[$2] += $3 } END { for (k in n) printf "%s=%d ", k, n[k] }' "$tmp/joinw.$plan"); $(grep -o '[0-9]* lost, [0-9]* evicted;' "$tmp/joinw.$plan.err"))" \
		"python3 - '$tmp/joinw.$plan' '$tmp/joinw.$plan.err' <<'PY'
import csv, re, sys
rows = list(csv.DictReader(open(sys.argv[1])))
names = {r['first_use'] for r in rows}
n = sum(int(r['n']) for r in rows)
m = re.search(r'^safebpf: \\d+ events, (\\d+) lost, (\\d+) evicted', open(sys.argv[2]).read(), re.M)
lost = int(m.group(1)) + int(m.group(2))
# With nothing lost: exactly 3000 fstat rows. With losses, a lost fstat
# lets the open's next call (its close) be the first use seen, so other
# rows may appear, but no more of them than events were reported lost.
other = n - sum(int(r['n']) for r in rows if r['first_use'] == 'fstat')
sys.exit(not ((names <= {'fstat'} and n == 3000) if lost == 0 else (n <= 3000 and other <= lost)))
PY"
done

# 2. The accounting invariant at a high rate, per window and in total.
# Parses the per-window and final stderr lines, the storm's rate, and the
# CSV rows; prints the figures.
N=250000   # calls per worker thread; 4 workers
ISSUED=$((4 * N))
verify() { # plan err csv
	python3 - "$1" "$2" "$3" "$ISSUED" <<'PY'
import csv, re, sys
plan, err, out, issued = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
text = open(err).read()
term = r'(\d+) fired = (\d+) counted \+ (\d+) filtered \+ (\d+) lost \+ (\d+) evicted \+ (\d+) unpaired'
wins = [tuple(map(int, m)) for m in re.findall(r'^safebpf: window .*?; ' + term, text, re.M)]
tot = re.search(r'^safebpf: \d+ events, \d+ lost, \d+ evicted; ' + term, text, re.M)
rate = re.search(r'storm: (\d+) calls in ([\d.]+) s \((\d+) calls/s\)', text)
problems = []
if not tot: problems.append('no final accounting line')
if not rate: problems.append('no storm rate line')
if len(wins) < 3: problems.append('only %d windows closed while events flowed' % len(wins))
for i, w in enumerate(wins):
    if w[0] != sum(w[1:]):
        problems.append('window %d: %d fired != %d' % (i, w[0], sum(w[1:])))
if tot:
    t = tuple(map(int, tot.groups()))
    if t[0] != sum(t[1:]): problems.append('total: %d fired != %d' % (t[0], sum(t[1:])))
    sums = tuple(sum(w[k] for w in wins) for k in range(6))
    if sums != t: problems.append('windows %s do not add up to the total %s' % (sums, t))
    fired, counted, filt, lost, ev, unp = t
    rows = sum(int(r['n']) for r in csv.DictReader(open(out)))
    if rows != counted: problems.append('COUNT(*) rows %d != counted %d' % (rows, counted))
    if not (counted <= issued <= counted + lost + unp):
        problems.append('issued %d not within counted %d .. counted + lost + unpaired %d' % (issued, counted, counted + lost + unp))
    if lost == 0 and counted != issued:
        problems.append('nothing lost but counted %d != issued %d' % (counted, issued))
if rate:
    calls_per_s = int(rate.group(3))
    # every call fires two tracepoints (sys_enter and sys_exit)
    ev_rate = 2 * calls_per_s
    print('%s: %d calls in %s s, %d events/s; windows %d; total fired %s' %
          (plan, int(rate.group(1)), rate.group(2), ev_rate, len(wins), tot.group(0).split('; ')[1] if tot else '?'))
    open(err + '.rate', 'w').write('%d\n' % ev_rate)
for p in problems: print('  ' + p)
sys.exit(1 if problems else 0)
PY
}
# The rate is the machine's, not ours: below 500k events/s (other jobs on
# the CPUs) the invariant was still checked, at a lower rate, and the rate
# check is skipped saying so.
rate_check() { # plan ratefile
	local r
	r=$(cat "$2" 2>/dev/null || echo 0)
	if [ "$r" -ge 500000 ]; then
		ok "accounting ($1): reached $r events/s (>= 500k/s, both CPUs)"
	else
		echo "skip accounting ($1): the machine is busy, reached only $r events/s (< 500k/s)"
		skip=$((skip + 1))
	fi
}
AQ="SELECT COUNT(*) AS n FROM system_calls WHERE syscall_number = 110 WINDOW 100ms"
for plan in mvsf auto kernel-max; do
	"$SB" query -f csv --plan "$plan" -c "$WL --storm 2 2 $N" "$AQ" >"$tmp/acct.$plan" 2>"$tmp/acct.$plan.err"
	rc=$?
	check "accounting ($plan): exits 0 (rc $rc)" "[ $rc -eq 0 ]"
	check "accounting ($plan): fired = counted + filtered + lost + evicted + unpaired in every window and in total, COUNT(*) = counted, issued calls accounted for" \
		"verify $plan '$tmp/acct.$plan.err' '$tmp/acct.$plan'"
	rate_check "$plan" "$tmp/acct.$plan.err.rate"
done

# Grouped kernel aggregation with windows: every window's groups add up.
GQ="SELECT syscall_number, COUNT(*) AS n FROM system_calls WHERE syscall_number = 110 GROUP BY syscall_number WINDOW 100ms"
"$SB" query -f csv --plan kernel-max -c "$WL --storm 2 2 $N" "$GQ" >"$tmp/grp.csv" 2>"$tmp/grp.err"
check "grouped kernel aggregation: invariant per window, COUNT(*) = counted, issued accounted for" \
	"verify kernel-max-grouped '$tmp/grp.err' '$tmp/grp.csv'"

# 2b. Sliding windows (WINDOW 300ms EVERY 100ms): each window's terms are
# the sums of its three steps' terms, so the invariant holds per window;
# the steps, recovered from consecutive windows (step k = window k -
# window k-1 + step k-3), are never negative and add up to the run's
# totals (each event counts once there), and each window's COUNT(*) is
# its counted term.
SQ="SELECT COUNT(*) AS n FROM system_calls WHERE syscall_number = 110 WINDOW 300ms EVERY 100ms"
for plan in mvsf kernel-max; do
	# (then paced calls for at least 500 ms: enough steps however fast the storm)
	"$SB" query -f csv --plan "$plan" -c "$WL --storm 2 2 100000 --paced 500 10" "$SQ" >"$tmp/slide.$plan" 2>"$tmp/slide.$plan.err"
	check "sliding window ($plan): invariant per window, windows = sums of 3 steps, steps add up to the total, COUNT(*) = counted per window" \
		"python3 - '$tmp/slide.$plan.err' '$tmp/slide.$plan' <<'PY'
import csv, re, sys
text = open(sys.argv[1]).read()
term = r'(\d+) fired = (\d+) counted \+ (\d+) filtered \+ (\d+) lost \+ (\d+) evicted \+ (\d+) unpaired'
wins = [tuple(map(int, m)) for m in re.findall(r'^safebpf: window .*?; ' + term, text, re.M)]
tot = re.search(r'^safebpf: \d+ events, \d+ lost, \d+ evicted; ' + term, text, re.M)
rows = [int(r['n']) for r in csv.DictReader(open(sys.argv[2]))]
problems = []
if not tot or len(wins) < 4: problems.append('%d windows, total line %s' % (len(wins), bool(tot)))
for i, w in enumerate(wins):
    if w[0] != sum(w[1:]): problems.append('window %d: %d fired != %d' % (i, w[0], sum(w[1:])))
if len(rows) != len(wins): problems.append('%d rows for %d windows' % (len(rows), len(wins)))
for i, (r, w) in enumerate(zip(rows, wins)):
    if r != w[1]: problems.append('window %d: COUNT(*) %d != counted %d' % (i, r, w[1]))
steps = []
for k, w in enumerate(wins):
    prev = wins[k - 1] if k else (0,) * 6
    old = steps[k - 3] if k >= 3 else (0,) * 6
    steps.append(tuple(w[j] - prev[j] + old[j] for j in range(6)))
if any(v < 0 for s in steps for v in s): problems.append('a negative step: %s' % steps)
if tot and tuple(sum(s[j] for s in steps) for j in range(6)) != tuple(map(int, tot.groups())):
    problems.append('steps %s do not add up to the total %s' % (tuple(sum(s[j] for s in steps) for j in range(6)), tot.groups()))
print('sliding: %d windows, steps counted %s, total %s' % (len(wins), [s[1] for s in steps], tot.group(0).split('; ')[1] if tot else '?'))
for p in problems: print('  ' + p)
sys.exit(1 if problems else 0)
PY"
done

# 3. The end of a -d run (item 4): a kernel-aggregated COUNT(*) equals the
# rows counted and the "N events" summary, while calls keep coming.
"$WL" --storm 2 1 1500000 2>/dev/null &
storm=$!
"$SB" query -f csv --plan kernel-max -d 700ms "SELECT COUNT(*) AS n FROM system_calls" >"$tmp/dur.csv" 2>"$tmp/dur.err"
rc=$?
wait "$storm"  # ends soon after the probes detach
n=$(tail -n 1 "$tmp/dur.csv")
events=$(sed -n 's/^safebpf: \([0-9]*\) events.*/\1/p' "$tmp/dur.err")
counted=$(sed -n 's/^safebpf: .*; [0-9]* fired = \([0-9]*\) counted.*/\1/p' "$tmp/dur.err")
check "-d run: exits 0 (rc $rc)" "[ $rc -eq 0 ]"
check "-d run: kernel COUNT(*) $n = $events events = $counted counted" \
	"[ -n '$n' ] && [ '$n' = '$events' ] && [ '$n' = '$counted' ] && [ '$n' -gt 100000 ]"
check "-d run: invariant in total" "python3 - '$tmp/dur.err' <<'PY'
import re, sys
m = re.search(r'(\d+) fired = (\d+) counted \+ (\d+) filtered \+ (\d+) lost \+ (\d+) evicted \+ (\d+) unpaired', open(sys.argv[1]).read())
t = list(map(int, m.groups()))
print('-d run:', m.group(0))
sys.exit(t[0] != sum(t[1:]))
PY"

finish
