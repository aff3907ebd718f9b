#!/usr/bin/env bash
# Instruction tests on the JIT: every .data file (the project's tests/data and
# the external bpf_conformance suite when ../shared/bpf_conformance exists)
# runs through `safebpf test-data --engine jit` (bounds-checked JIT), and the
# conformance tests also through jit-unchecked (they are all memory-safe).
# Expected results are the interpreter's, so passing means the engines agree.
set -u
cd "$(dirname "$0")/../.."
bin=build/asan/safebpf
[ -x "$bin" ] || bin=build/safebpf
# ../shared next to the checkout; for a git worktree, also next to the main
# checkout (the directory holding the common .git).
top=$(git rev-parse --show-toplevel 2>/dev/null || pwd)
conf="$top/../shared/bpf_conformance"
if [ ! -d "$conf" ]; then
	common=$(cd "$(git rev-parse --git-common-dir 2>/dev/null || echo .)" && pwd)
	[ -d "$(dirname "$common")/../shared/bpf_conformance" ] &&
		conf="$(dirname "$common")/../shared/bpf_conformance"
fi
pass=0 fail=0 skip=0
run() { # label, args...
	local label=$1; shift
	local out line p f
	out=$("$bin" test-data "$@" 2>&1)
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' <<<"$out" | tail -n 1)
	if [ -z "$line" ]; then
		echo "$out" | tail -n 20
		echo "$label: no summary line"
		fail=$((fail + 1)); return
	fi
	p=$(sed -E 's/^([0-9]+) passed.*/\1/' <<<"$line")
	f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
	[ "$f" -gt 0 ] && grep -vE '^[0-9]+ passed' <<<"$out" | head -n 40
	echo "$label: $p passed, $f failed"
	pass=$((pass + p)); fail=$((fail + f))
}
if [ -d tests/data ]; then
	run "tests/data (jit)" --engine jit tests/data
fi
if [ -d "$conf/tests" ]; then
	run "bpf_conformance (jit)" --engine jit "$conf/tests"
	# the conformance programs are type mem, which the kernel cannot verify:
	# they are all memory-safe, so the test-only flag runs them unchecked
	run "bpf_conformance (jit-unchecked)" --engine jit-unchecked --unsafe-unverified "$conf/tests"
	[ -d "$conf/negative" ] && run "bpf_conformance negative (jit)" --engine jit "$conf/negative"
else
	echo "bpf_conformance: skipped (no $conf/tests)"
	skip=$((skip + 1))
fi
# safebpf jit --dump: capstone output under each eBPF instruction
if [ -f "$conf/tests/ldxh.data" ]; then
	out=$("$bin" jit --dump "$conf/tests/ldxh.data" 2>&1)
	if grep -q '^   0: ldxh %r0, \[%r1+2\]' <<<"$out" &&
	   grep -qE '^ +[0-9a-f]+: .*movzx +eax, word ptr \[rdi \+ 2\]' <<<"$out" &&
	   grep -qE 'bytes of x86_64 code' <<<"$out"; then
		echo "jit --dump: passed"; pass=$((pass + 1))
	else
		echo "$out"; echo "jit --dump: FAILED (no eBPF line with its native code)"; fail=$((fail + 1))
	fi
fi
echo "25-data-jit: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
