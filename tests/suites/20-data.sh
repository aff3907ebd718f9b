#!/usr/bin/env bash
# Instruction data files (.data, bpf_conformance format) on the interpreter:
# our own tests/data (with its negative/ directory) and, when present, the
# external suite in ../shared/bpf_conformance (tests/ must pass, negative/
# must fail). Counts one test per file.
set -u
cd "$(dirname "$0")/../.."
bin=build/asan/safebpf
pass=0 fail=0 skip=0

# Runs `safebpf test-data` on $@ and adds its "N passed, N failed" to the totals.
run_set() {
	local out line p f s
	out=$("$bin" test-data --engine interp "$@" 2>&1)
	echo "$out" | grep -vE '^[0-9]+ passed' || true
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' <<<"$out" | tail -n 1)
	if [ -z "$line" ]; then
		echo "test-data $*: no summary line"
		fail=$((fail + 1))
		return
	fi
	p=$(sed -E 's/^([0-9]+) passed.*/\1/' <<<"$line")
	f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
	s=0
	grep -q skipped <<<"$line" && s=$(sed -E 's/.* ([0-9]+) skipped.*/\1/' <<<"$line")
	echo "  $*: $line"
	pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
}

if [ ! -x "$bin" ]; then
	echo "$bin missing (run make asan)"
	echo "data: 0 passed, 1 failed"
	exit 1
fi

run_set tests/data

# ../shared next to the checkout; for a git worktree, also next to the main
# checkout (the directory holding the common .git).
top=$(git rev-parse --show-toplevel 2>/dev/null || pwd)
shared="$top/../shared/bpf_conformance"
if [ ! -d "$shared" ]; then
	common=$(cd "$(git rev-parse --git-common-dir 2>/dev/null || echo .)" && pwd)
	[ -d "$(dirname "$common")/../shared/bpf_conformance" ] &&
		shared="$(dirname "$common")/../shared/bpf_conformance"
fi
shared=$(cd "$shared" 2>/dev/null && pwd || echo "$shared")
if [ -d "$shared/tests" ]; then
	run_set "$shared/tests"
	if [ -d "$shared/negative" ]; then
		run_set "$shared/negative"
	else
		echo "skip: $shared/negative not present"
		skip=$((skip + 1))
	fi
else
	echo "skip: external conformance suite not found at $shared (clone bpf_conformance there to run it)"
	skip=$((skip + 1))
fi

echo "data: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
