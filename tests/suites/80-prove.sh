#!/usr/bin/env bash
# Proofs: `safebpf prove` proves every Kops native emit of the x86-64 JIT
# equivalent to its proof sequence (and that to the specification) with Z3,
# for every register assignment. One test per obligation group; the total
# line (obligations, time) is printed. Skipped, with the reason, when the
# JIT has no native emits.
set -u
cd "$(dirname "$0")/../.."
bin=build/asan/safebpf      # what `make test` builds
[ -x "$bin" ] || bin=build/safebpf
out=$(mktemp)
t0=$(date +%s)
"$bin" prove >"$out" 2>&1
rc=$?
t1=$(date +%s)
cat "$out"
if grep -q 'has no Kops native emits' "$out"; then
	echo "80-prove: skipped: the JIT has no Kops native emits yet"
	rm -f "$out"
	echo "80-prove: 0 passed, 0 failed, 1 skipped"
	exit 0
fi
pass=$(grep -cE ' proved$' "$out")
fail=$(grep -cE ' FAILED \([0-9]+\)$' "$out")
if ! grep -qE '^total: [0-9]+ obligations' "$out"; then
	echo "80-prove: no total line (exit $rc)"
	fail=$((fail + 1))
elif [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
	echo "80-prove: exit $rc without a failed group"
	fail=1
fi
rm -f "$out"
echo "80-prove: safebpf prove took $((t1 - t0))s"
echo "80-prove: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
