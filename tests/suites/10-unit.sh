#!/usr/bin/env bash
# Criterion unit tests (built with ASan+UBSan by `make asan`).
set -u
cd "$(dirname "$0")/../.."
pass=0 fail=0
for t in build/asan/tests/test_*; do
	[ -x "$t" ] || continue
	out=$("$t" --jobs 2 2>&1); rc=$?
	syn=$(grep -E 'Synthesis: Tested: [0-9]+' <<<"$out" | tail -n 1)
	if [ -z "$syn" ]; then
		echo "$out" | tail -n 20
		echo "$(basename "$t"): no synthesis line (exit $rc)"
		fail=$((fail + 1)); continue
	fi
	p=$(sed -E 's/.*Passing: ([0-9]+).*/\1/' <<<"$syn")
	f=$(sed -E 's/.*Failing: ([0-9]+).*/\1/' <<<"$syn")
	c=$(sed -E 's/.*Crashing: ([0-9]+).*/\1/' <<<"$syn")
	[ "$f" -gt 0 ] || [ "$c" -gt 0 ] && echo "$out" | grep -vE '^\[----\]|^$' | tail -n 40
	echo "$(basename "$t"): $p passed, $((f + c)) failed"
	pass=$((pass + p)); fail=$((fail + f + c))
done
echo "unit: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
