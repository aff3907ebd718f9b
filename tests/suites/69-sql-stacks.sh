#!/usr/bin/env bash
# 69-sql-stacks.sh - stacks, sampling and user functions: kstack/ustack columns name the
# functions of a test program (build/e2e/stackprog, frame pointers kept)
# and of the kernel with exact counts; -f folded and -f svg; cpu_samples at
# a chosen frequency finds the program's spinning function; GROUP BY a
# stack never aggregates in the kernel. The program waits on a pipe before
# and after its work, so the tracer reads its events while its memory map
# still exists (user stacks are named from /proc/PID/maps). The program's
# system call is sched_getscheduler (145), which nothing else here makes
# in bulk. Then uprobe/uretprobe/ufunc tables on the program's
# sbpf_uprobe_target(i, 2i) = 3i, called 1,000 times: exact counts, sums of
# arguments and return values under every plan, and caret errors for a
# missing file, a stripped binary and a missing function. Strings behind
# pointers (str, kstr) on sbpf_readline and on mount's options, exact
# under every plan. About 20 s.
set -u
cd "$(dirname "$0")/../.."
SB=${SAFEBPF:-build/asan/safebpf}
SP=$PWD/build/e2e/stackprog
WL=$PWD/build/e2e/workload
pass=0 fail=0 skip=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok()   { echo "ok   $1"; pass=$((pass + 1)); }
bad()  { echo "FAIL $1"; fail=$((fail + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
finish() { echo "69-sql-stacks: $pass passed, $fail failed, $skip skipped"; [ "$fail" -eq 0 ]; exit $?; }

if [ ! -x "$SB" ] || [ ! -x "$SP" ] || [ ! -x "$WL" ]; then
	bad "build: $SB, $SP and $WL must exist (make asan)"
	finish
fi

"$SB" query -d 1ms 'SELECT COUNT(*) FROM cpu_samples' >/dev/null 2>"$tmp/probe.err"
if [ $? -ne 0 ]; then
	echo "skip kernel tests: $(grep safebpf "$tmp/probe.err" | head -n 1)"
	skip=$((skip + 32))
	finish
fi

. tests/common/stackprog.sh
run() { stackprog_query "$@"; } # run OUT ARGS -- QUERY-OPTIONS...

# 1. ustack and kstack of exactly 300 system calls made in sbpf_stack_leaf.
chain='main;sbpf_stack_outer;sbpf_stack_mid;sbpf_stack_leaf'
run "$tmp/sys.csv" --calls 300 -- -f csv \
	"SELECT ustack, COUNT(*) AS n FROM system_calls WHERE syscall_number = 145 GROUP BY ustack"
check "system_calls: one user stack, ending in $chain, count exactly 300 ($(tail -n +2 "$tmp/sys.csv" | cut -c1-60)...)" \
	"[ \$(tail -n +2 '$tmp/sys.csv' | wc -l) -eq 1 ] && tail -n 1 '$tmp/sys.csv' | grep -q '$chain,300\$'"
check "GROUP BY a stack stays in user space ($(grep '^plan:' "$tmp/sys.csv.err"))" \
	"grep -q '^plan:' '$tmp/sys.csv.err' && ! grep -q 'aggregate @kernel' '$tmp/sys.csv.err'"

# 2. A generic tracepoint table under the MVSF plan, user and kernel stack, folded
# (the kernel path of a system call may vary, e.g. with pending work: lines are summed).
run "$tmp/gen.folded" --calls 200 -- --plan mvsf -f folded \
	"SELECT comm, ustack, kstack, COUNT(*) FROM syscalls.sys_enter_sched_getscheduler GROUP BY comm, ustack, kstack"
n=$(grep "^stackprog;.*$chain;entry_SYSCALL_64[a-z_]*;do_syscall_64" "$tmp/gen.folded" | awk '{ s += $NF } END { print s + 0 }')
check "generic table, MVSF plan, -f folded: 'stackprog;...;$chain;entry_SYSCALL_64...;do_syscall_64... N' lines sum to 200 (got $n)" \
	"[ $n -eq 200 ]"

# 3. offcputime: the program's blocking read appears in a sched_switch kstack.
run "$tmp/off.csv" --calls 1 -- -f csv \
	"SELECT kstack, ustack, COUNT(*) AS n FROM sched_switch GROUP BY kstack, ustack"
check "sched_switch: the program's wait (a read blocking in schedule) is in a kstack, under main in ustack" \
	"grep -q 'ksys_read.*;schedule;__schedule' '$tmp/off.csv' && grep 'ksys_read' '$tmp/off.csv' | grep -q ';main'"

# 4. cpu_samples at 999 Hz: the spinning function, named under its caller.
run "$tmp/prof.folded" --spin 300 -- --freq 999 -f folded \
	"SELECT ustack, COUNT(*) FROM cpu_samples GROUP BY ustack"
spin=$(grep 'main;sbpf_spin_outer;sbpf_spin_leaf' "$tmp/prof.folded" | awk '{ s += $NF } END { print s + 0 }')
total=$(awk '{ s += $NF } END { print s + 0 }' "$tmp/prof.folded")
check "cpu_samples --freq 999: $spin of $total samples in main;sbpf_spin_outer;sbpf_spin_leaf (>= 100, >= 80%)" \
	"[ $spin -ge 100 ] && [ \$((spin * 100)) -ge \$((total * 80)) ]"

# 5. A flame graph: -o FILE.svg writes SVG with the function in it.
run "$tmp/prof.out" --spin 100 -- --freq 499 -o "$tmp/prof.svg" \
	"SELECT comm, ustack, kstack, COUNT(*) FROM cpu_samples GROUP BY comm, ustack, kstack"
check "-o FILE.svg: well-formed SVG, boxes titled stackprog and sbpf_spin_leaf" \
	"python3 -c 'import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])' '$tmp/prof.svg' && grep -q '<title>stackprog (' '$tmp/prof.svg' && grep -q '<title>sbpf_spin_leaf (' '$tmp/prof.svg'"

# 6. SELECT * leaves the stacks out; naming them is needed.
"$SB" query -f csv -o "$tmp/star.csv" -c "$SP --calls 3" 'SELECT * FROM system_calls WHERE syscall_number = 145' >/dev/null 2>&1
check "SELECT * has no stack column; 3 rows" \
	"! head -n 1 '$tmp/star.csv' | grep -q 'stack' && [ \$(tail -n +2 '$tmp/star.csv' | wc -l) -eq 3 ]"

# 7. --freq out of range is a usage error; a stack filter runs in user space under every plan.
"$SB" query --freq 0 'SELECT COUNT(*) FROM cpu_samples' >/dev/null 2>"$tmp/freq.err"
rc=$?
check "--freq 0 exits 2 with a reason (rc $rc)" "[ $rc -eq 2 ] && grep -q 'bad --freq' '$tmp/freq.err'"
run "$tmp/like.csv" --calls 50 -- --plan kernel-max -f csv \
	"SELECT COUNT(*) AS n FROM system_calls WHERE syscall_number = 145 AND ustack LIKE '%sbpf_stack_mid;sbpf_stack_leaf'"
check "WHERE ustack LIKE ... under kernel-max: exactly 50, the stack filter @user ($(grep plan: "$tmp/like.csv.err"))" \
	"[ \"\$(tail -n 1 '$tmp/like.csv')\" = 50 ] && grep -q 'filter 1/2 @user' '$tmp/like.csv.err'"

# 8. User functions: uprobe (arguments), uretprobe (return value), ufunc (paired, duration).
T="'$SP', 'sbpf_uprobe_target'"
for plan in auto mvsf kernel-max; do
	"$SB" query --plan "$plan" -f csv -o "$tmp/up.csv" -c "$SP --target 1000" \
		"SELECT COUNT(*) AS n, SUM(arg0) AS a0, SUM(arg1) AS a1 FROM uprobe($T)" >/dev/null 2>&1
	check "uprobe, --plan $plan: 1000 calls, arg0 sums to 500500, arg1 to 1001000 ($(tail -n 1 "$tmp/up.csv"))" \
		"[ \"\$(tail -n 1 '$tmp/up.csv')\" = 1000,500500,1001000 ]"
	"$SB" query --plan "$plan" -f csv -o "$tmp/uf.csv" -c "$SP --target 1000" \
		"SELECT COUNT(*) AS n, SUM(retval) AS r, SUM(arg0) AS a0, MIN(duration) > 0ns AS pos FROM ufunc($T)" >/dev/null 2>&1
	check "ufunc, --plan $plan: 1000 completed calls, retval sums to 1501500, durations > 0 ($(tail -n 1 "$tmp/uf.csv"))" \
		"[ \"\$(tail -n 1 '$tmp/uf.csv')\" = 1000,1501500,500500,true ]"
done
"$SB" query -f csv -o "$tmp/ur.csv" -c "$SP --target 1000" \
	"SELECT COUNT(*) AS n, SUM(retval) AS r FROM uretprobe($T)" >/dev/null 2>&1
check "uretprobe: 1000 returns, retval sums to 1501500 ($(tail -n 1 "$tmp/ur.csv"))" "[ \"\$(tail -n 1 '$tmp/ur.csv')\" = 1000,1501500 ]"
run "$tmp/ust.csv" --target 200 -- -f csv "SELECT ustack, COUNT(*) AS n FROM uprobe($T) GROUP BY ustack"
check "uprobe ustack: the probed function is the innermost frame, 200 rows ($(tail -n 1 "$tmp/ust.csv"))" \
	"[ \$(tail -n +2 '$tmp/ust.csv' | wc -l) -eq 1 ] && tail -n 1 '$tmp/ust.csv' | grep -q ';sbpf_uprobe_target,200\$'"

# 8b. Strings behind pointers: str(retval) / str(arg0) read by the probe. sbpf_readline
# (bash's readline stand-in) returns a fresh heap copy of "ls -l", "echo hello", "",
# then 100 'x' + "END" (cut to 64), freed at once; its prompt argument is "p> ", then
# NULL once (unreadable: the empty string). Same rows under every plan.
R="'$SP', 'sbpf_readline'"
want=$(printf '%s\n' line,p,n ',p> ,2' 'echo hello,p> ,2' 'ls -l,,1' 'ls -l,p> ,2' "$(printf 'x%.0s' $(seq 64)),p> ,2")
for plan in auto mvsf kernel-max; do
	"$SB" query --plan "$plan" -f csv -o "$tmp/rl.csv" -c "$SP --lines 8" \
		"SELECT str(retval) AS line, str(arg0) AS p, COUNT(*) AS n FROM ufunc($R) GROUP BY line, p ORDER BY line, p" \
		>/dev/null 2>&1
	check "str(retval), str(arg0) on ufunc, --plan $plan: the 5 exact (line, prompt) groups of 9 calls" \
		"[ \"\$(cat '$tmp/rl.csv')\" = \"\$want\" ]"
done
"$SB" query --plan kernel-max --show-plan -f csv -o "$tmp/rl2.csv" -c "$SP --lines 400" \
	"SELECT str(retval, 3) AS s3, COUNT(*) AS n FROM uretprobe($R) WHERE str(retval) LIKE 'ls%' OR str(retval, 10) = 'xxxxxxxxxx' GROUP BY s3 ORDER BY s3" \
	>/dev/null 2>"$tmp/rl2.err"
check "str(retval, 3) and str(retval, 10) in one query, kernel-max: ls -> 101, xxx -> 100 ($(tr '\n' ' ' <"$tmp/rl2.csv"))" \
	"[ \"\$(tr '\n' ' ' <'$tmp/rl2.csv')\" = 's3,n ls ,101 xxx,100 ' ]"
# str() on a generic tracepoint table: mount's options (void *data, a number column),
# "mode=0700" three times and NULL once (''); kstr() of that user address reads nothing.
mkdir -p "$tmp/mnt"
for plan in mvsf kernel-max; do
	"$SB" query --plan "$plan" -f csv -o "$tmp/md.csv" -c "$WL --mount $tmp/mnt 3" \
		"SELECT str(data, 32) AS opts, kstr(data, 8) AS k, COUNT(*) AS n FROM syscalls.sys_enter_mount GROUP BY opts, k ORDER BY opts" \
		>/dev/null 2>&1
	check "str(data, 32) on syscalls.sys_enter_mount, --plan $plan: mode=0700 x3, '' x1 (NULL); kstr of it '' ($(tail -n +2 "$tmp/md.csv" | tr '\n' ' '))" \
		"[ \"\$(tail -n +2 '$tmp/md.csv' | tr '\n' ' ')\" = ',,1 mode=0700,,3 ' ]"
done
# str() on USDT arguments: python:audit's event name (arg0, 8@%rbx) is read as in
# bpftrace; gc__start's generation (-4@112(%rsp), in memory) stays text with one
# argument and is a caret error with a length.
PY=/usr/bin/python3.11
if [ -x "$PY" ] && "$SB" tables --usdt "$PY" 2>/dev/null | grep -q '^python:audit .*8@%'; then
	"$SB" query -f csv -o "$tmp/au.csv" -c "$PY -c 'import json'" \
		"SELECT str(arg0) AS event, COUNT(*) AS n FROM usdt('$PY', 'python:audit') WHERE str(arg0) IN ('import', 'open') GROUP BY event ORDER BY event" \
		>/dev/null 2>&1
	check "str(arg0) on usdt python:audit: the interpreter's import and open events ($(tail -n +2 "$tmp/au.csv" | tr '\n' ' '))" \
		"[ \"\$(tail -n +2 '$tmp/au.csv' | cut -d, -f1 | tr '\n' ' ')\" = 'import open ' ]"
	"$SB" query "SELECT str(arg0, 8) FROM usdt('$PY', 'python:gc__start')" >/dev/null 2>"$tmp/s4.err"
	rc=$?
	check "str(arg0, 8) of a USDT argument kept in memory: exit 3, 'not a 64-bit address'" \
		"[ $rc -eq 3 ] && grep -q 'kept in memory) is not a 64-bit address' '$tmp/s4.err'"
else
	echo "skip str() on USDT arguments: $PY with its USDT probes is not installed"
	skip=$((skip + 2))
fi
"$SB" query "SELECT str(comm, 8) FROM uprobe($R)" >/dev/null 2>"$tmp/s1.err"
rc=$?
check "str(comm, 8), a string column: exit 3, caret under it" \
	"[ $rc -eq 3 ] && grep -q \"str() of string column 'comm'\" '$tmp/s1.err' && grep -q '\^~~~' '$tmp/s1.err'"
"$SB" query "SELECT str(arg0, 0) FROM uprobe($R)" >/dev/null 2>"$tmp/s2.err"
rc=$?
check "str() with length 0: exit 3, 'from 1 to 1024'" "[ $rc -eq 3 ] && grep -q 'from 1 to 1024' '$tmp/s2.err'"
"$SB" query "SELECT kstr(pid) FROM uprobe($R)" >/dev/null 2>"$tmp/s3.err"
rc=$?
check "kstr() of pid (not an address field): exit 3" "[ $rc -eq 3 ] && grep -q \"kstr() of number column 'pid'\" '$tmp/s3.err'"

# 9. Errors, with a caret under the function: missing file, stripped binary, missing function.
"$SB" query "SELECT COUNT(*) FROM uprobe('/nonexistent/$$', 'f')" >/dev/null 2>"$tmp/e1.err"
rc=$?
check "uprobe of a missing file: exit 3, caret, 'cannot open'" \
	"[ $rc -eq 3 ] && grep -q \"cannot open '/nonexistent/$$'\" '$tmp/e1.err' && grep -q '\\^~~' '$tmp/e1.err'"
strip -o "$tmp/stripped" "$SP"
"$SB" query "SELECT COUNT(*) FROM uprobe('$tmp/stripped', 'sbpf_uprobe_target')" >/dev/null 2>"$tmp/e2.err"
rc=$?
check "uprobe of a stripped binary: exit 3, 'is stripped', hint" \
	"[ $rc -eq 3 ] && grep -q 'is stripped' '$tmp/e2.err' && grep -q 'hint: a stripped binary' '$tmp/e2.err'"
"$SB" query "SELECT COUNT(*) FROM ufunc('$SP', 'sbpf_no_such_function')" >/dev/null 2>"$tmp/e3.err"
rc=$?
check "ufunc of a missing function: exit 3, \"has no function\", hint names nm" \
	"[ $rc -eq 3 ] && grep -q \"has no function 'sbpf_no_such_function'\" '$tmp/e3.err' && grep -q 'hint: .nm' '$tmp/e3.err'"
"$SB" query "SELECT COUNT(*) FROM uprobe('$SP')" >/dev/null 2>"$tmp/e4.err"
rc=$?
check "uprobe with one argument: exit 3, expected ','" "[ $rc -eq 3 ] && grep -q \"expected ','\" '$tmp/e4.err'"

finish
