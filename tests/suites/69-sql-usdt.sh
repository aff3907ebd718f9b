#!/usr/bin/env bash
# 69-sql-usdt.sh - USDT probes as tables: usdt('FILE', 'provider:name') on the
# probes of build/e2e/usdtprog (tests/e2e/usdtprog.c, built with <sys/sdt.h>):
# arguments in registers, in memory (stack slots and a static variable,
# sym(%rip)) and constants, signed and unsigned, 1/2/4/8 bytes, checked to
# the exact SUM/MIN/MAX under every plan; a probe behind a semaphore fires
# only while traced (the kernel increments the semaphore); a probe with two
# sites counts both; a probe whose sites keep its argument in a constant, a
# register and memory reads each right (attach cookies) under every plan; the equal-results rule of sqlcheck on tests/sql/usdt.sql;
# Python's own gc__start probe (a semaphore, an argument in memory) counted
# exactly; `safebpf tables --usdt`; caret errors for a missing file, a file
# without probes, an unknown probe (with names), an ambiguous name, sites
# that disagree on a type, and an operand safebpf does not decode. About 15 s.
set -u
cd "$(dirname "$0")/../.."
SB=${SAFEBPF:-build/asan/safebpf}
UP=$PWD/build/e2e/usdtprog
pass=0 fail=0 skip=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok()   { echo "ok   $1"; pass=$((pass + 1)); }
bad()  { echo "FAIL $1"; fail=$((fail + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
finish() { echo "69-sql-usdt: $pass passed, $fail failed, $skip skipped"; [ "$fail" -eq 0 ]; exit $?; }

if [ ! -x "$SB" ] || [ ! -x "$UP" ]; then
	bad "build: $SB and $UP must exist (make asan)"
	finish
fi

# 1. The probe list (no privileges needed).
"$SB" tables --usdt "$UP" >"$tmp/list" 2>&1
check "tables --usdt: 9 probes; sbpf:regs has -1@%al-style operands, sbpf:twice 2 sites, sbpf:mixed 3 variants, sbpf:odd an UNREADABLE operand" \
	"grep -q ': 9 ' '$tmp/list' && grep -q 'sites in variant 3' '$tmp/list' && grep -q '^sbpf:regs .* arg0: -1@%[a-z0-9]* int8' '$tmp/list' &&
	 grep -q '^sbpf:twice  *2 ' '$tmp/list' && grep -q '^sbpf:odd .*UNREADABLE' '$tmp/list' &&
	 grep -q '^sbpf:mem .*(%rip) int32' '$tmp/list'"

"$SB" query -d 1ms 'SELECT COUNT(*) FROM cpu_samples' >/dev/null 2>"$tmp/probe.err"
if [ $? -ne 0 ]; then
	echo "skip kernel tests: $(grep safebpf "$tmp/probe.err" | head -n 1)"
	skip=$((skip + 19))
	finish
fi

# 2. Exact values under every plan: for i = 1..N the values of usdtprog.c.
N=1000
want=$(python3 -c "
r = range(1, $N + 1)
print(','.join(str(x) for x in [$N, -sum(i & 63 for i in r), 200, 231, sum(-30 * i for i in r),
      sum(40000 + i for i in r), sum(-1000000 * i for i in r), 3000000001, 3000000000 + $N,
      -sum(i << 33 for i in r), sum(i << 40 for i in r)]))")
COLS="COUNT(*) AS n, SUM(arg0) AS a0, MIN(arg1) AS lo1, MAX(arg1) AS hi1, SUM(arg2) AS a2, SUM(arg3) AS a3, SUM(arg4) AS a4, MIN(arg5) AS lo5, MAX(arg5) AS hi5, SUM(arg6) AS a6, SUM(arg7) AS a7"
for plan in mvsf auto kernel-max; do
	for p in regs mem; do
		"$SB" query --plan "$plan" --show-plan -f csv -o "$tmp/$p.csv" -c "$UP --n $N" \
			"SELECT $COLS FROM usdt('$UP', 'sbpf:$p')" >/dev/null 2>"$tmp/$p.err"
		check "usdt sbpf:$p, --plan $plan: $N rows, sums/min/max of int8..uint64 arguments exact ($(tail -n 1 "$tmp/$p.csv"); $(grep -o 'plan: #[0-9]* of [0-9]*.*' "$tmp/$p.err"))" \
			"[ \"\$(tail -n 1 '$tmp/$p.csv')\" = '$want' ]"
	done
done

# 3. Constants, the semaphore, two sites.
"$SB" query -f csv -o "$tmp/c.csv" -c "$UP --n 100" \
	"SELECT arg0, arg1, arg2, arg3, arg4, arg5, arg6, arg7, COUNT(*) AS n FROM usdt('$UP', 'consts') GROUP BY arg0, arg1, arg2, arg3, arg4, arg5, arg6, arg7" >/dev/null 2>&1
check "usdt constants: one row -5,250,-1234,65000,-100000,4000000000,-5000000000,123456789012 x100 ($(tail -n 1 "$tmp/c.csv"))" \
	"[ \$(wc -l <'$tmp/c.csv') -eq 2 ] && [ \"\$(tail -n 1 '$tmp/c.csv')\" = -5,250,-1234,65000,-100000,4000000000,-5000000000,123456789012,100 ]"
"$SB" query --plan kernel-max -f csv -o "$tmp/s.csv" -c "$UP --n 300" \
	"SELECT COUNT(*) AS n, SUM(arg0) AS s FROM usdt('$UP', 'sbpf:sema')" >"$tmp/s.out" 2>/dev/null
check "usdt semaphore: the guarded probe fires 300 times while traced (sum 45150; program saw its semaphore set $(sed -n 's/^done 300 //p' "$tmp/s.out") times)" \
	"[ \"\$(tail -n 1 '$tmp/s.csv')\" = 300,45150 ] && grep -q '^done 300 300\$' '$tmp/s.out'"
"$UP" --n 50 >"$tmp/untraced.out"
check "usdt semaphore: untraced, the program sees it clear ($(cat "$tmp/untraced.out"))" "grep -q '^done 50 0\$' '$tmp/untraced.out'"
"$SB" query -f csv -o "$tmp/t.csv" -c "$UP --n 400" \
	"SELECT COUNT(*) AS n, SUM(arg0) AS s FROM usdt('$UP', 'sbpf:twice')" >/dev/null 2>&1
check "usdt with two sites: both attached, 800 rows, arg0 sums to 2400 ($(tail -n 1 "$tmp/t.csv"))" \
	"[ \"\$(tail -n 1 '$tmp/t.csv')\" = 800,2400 ]"
# sbpf:mixed: sites with the constant 1, a register (i) and a stack slot (2 i):
# each site's uprobe carries its variant as the attach cookie.
for plan in mvsf auto kernel-max; do
	"$SB" query --plan "$plan" -f csv -o "$tmp/m.csv" -c "$UP --n 200" \
		"SELECT COUNT(*) AS n, SUM(arg0) AS s, MIN(arg0) AS lo, MAX(arg0) AS hi FROM usdt('$UP', 'mixed')" >/dev/null 2>&1
	check "usdt with three sites keeping the argument in a constant, a register and memory, --plan $plan: 600 rows, sum 60500, 1..400 ($(tail -n 1 "$tmp/m.csv"))" \
		"[ \"\$(tail -n 1 '$tmp/m.csv')\" = 600,60500,1,400 ]"
done
"$SB" query -f csv -o "$tmp/o.csv" -c "$UP --n 20" "SELECT * FROM usdt('$UP', 'sbpf:odd')" >/dev/null 2>&1
check "SELECT * leaves out the undecodable arg0 and keeps arg1 = 7 (20 rows)" \
	"head -n 1 '$tmp/o.csv' | grep -q ',cgroup,arg1\$' && [ \$(grep -c ',7\$' '$tmp/o.csv') -eq 20 ]"

# 4. The equal-results rule on the usdt corpus.
"$SB" sqlcheck tests/sql/usdt.sql --workload "build/e2e/usdtprog --n 500" >"$tmp/sqlcheck.out" 2>&1
rc=$?
grep -v '^ok \|^done ' "$tmp/sqlcheck.out"
check "sqlcheck tests/sql/usdt.sql: equal results under mvsf, auto and kernel-max ($(grep -c '^ok ' "$tmp/sqlcheck.out") queries)" \
	"[ $rc -eq 0 ] && [ \$(grep -c '^ok .* equal' '$tmp/sqlcheck.out') -eq \$(grep -c '^SELECT' tests/sql/usdt.sql) ]"

# 5. A packaged binary: Debian's CPython (/usr/bin/python3)'s gc__start (semaphore, -4@N(%rsp)), generation 1 exactly 7 times.
PY=$(readlink -f /usr/bin/python3 2>/dev/null)
if [ -n "$PY" ] && "$SB" tables --usdt "$PY" 2>/dev/null | grep -q '^python:gc__start '; then
	"$SB" query -f csv -o "$tmp/py.csv" -c "$PY -c 'import gc; gc.disable(); [gc.collect(1) for _ in range(7)]'" \
		"SELECT COUNT(*) AS n FROM usdt('$PY', 'python:gc__start') WHERE arg0 = 1" >/dev/null 2>&1
	check "usdt in $PY: gc.collect(1) x7 -> python:gc__start with generation 1 exactly 7 times ($(tail -n 1 "$tmp/py.csv"))" \
		"[ \"\$(tail -n 1 '$tmp/py.csv')\" = 7 ]"
else
	echo "skip python gc__start: ${PY:-/usr/bin/python3} has no USDT probe python:gc__start"
	skip=$((skip + 1))
fi

# 6. Caret errors.
err() { "$SB" query "SELECT COUNT(*) FROM $1" >/dev/null 2>"$tmp/e.err"; echo $?; }
rc=$(err "usdt('/nonexistent/$$', 'a:b')")
check "missing file: exit 3, caret, 'cannot open'" \
	"[ $rc -eq 3 ] && grep -q \"cannot open '/nonexistent/$$'\" '$tmp/e.err' && grep -q '\\^~~' '$tmp/e.err'"
rc=$(err "usdt('$SB', 'a:b')")
check "a file without probes: exit 3, 'no .note.stapsdt section', hint names sys/sdt.h" \
	"[ $rc -eq 3 ] && grep -q 'no .note.stapsdt section' '$tmp/e.err' && grep -q 'hint: .*sys/sdt.h' '$tmp/e.err'"
rc=$(err "usdt('$UP', 'sbpf:nosuch')")
check "unknown probe: exit 3, names some probes, hint tables --usdt" \
	"[ $rc -eq 3 ] && grep -q \"no USDT probe 'sbpf:nosuch' (it has sbpf:regs, sbpf:mem\" '$tmp/e.err' && grep -q 'hint: .safebpf tables --usdt' '$tmp/e.err'"
rc=$(err "usdt('$UP', 'regs')")
check "ambiguous name: exit 3, lists sbpf:regs and sbpf2:regs, hint provider:name" \
	"[ $rc -eq 3 ] && grep -q 'is ambiguous.*sbpf:regs, sbpf2:regs' '$tmp/e.err' && grep -q 'hint: write usdt' '$tmp/e.err'"
rc=$(err "usdt('$UP', 'clash')")
check "sites giving an argument different types: exit 3, says so" \
	"[ $rc -eq 3 ] && grep -q 'sbpf:clash (2 sites) cannot be one table: its sites give argument 1 different types' '$tmp/e.err'"
"$SB" query "SELECT SUM(arg0) FROM usdt('$UP', 'sbpf:odd')" >/dev/null 2>"$tmp/e.err"
rc=$?
check "an undecodable operand: exit 3, caret under arg0, names the probe and the operand" \
	"[ $rc -eq 3 ] && grep -q \"column 'arg0' of odd cannot be read: probe sbpf:odd has it at '8@(%rax,%rbx,8)'\" '$tmp/e.err' && grep -q '^ *| *\\^~~~\$' '$tmp/e.err'"

finish
