#!/usr/bin/env bash
# Differential testing (safebpf difftest): generated valid, terminating
# programs must give the same r0 and the same memory on every engine.
#   1. 20000 programs (seeds 1..20000), interpreter vs JIT, mem form
#   2. 4000 more (seeds 1000001..), of which every kernel-safe one also runs
#      as XDP on the interpreter, the JIT (checked and unchecked) and the
#      kernel (BPF_PROG_TEST_RUN) - skipped, with the reason, without CAP_BPF
# Each difftest run is one check; its figures are printed. A disagreement is
# minimized and saved under a temporary directory, and printed here.
set -u
cd "$(dirname "$0")/../.."
bin=build/asan/safebpf
[ -x "$bin" ] || bin=build/safebpf
pass=0 fail=0 skip=0
save=$(mktemp -d)
trap 'rm -rf "$save"' EXIT

check() { # label, difftest args...
	local label=$1; shift
	local out rc
	out=$("$bin" difftest --save-dir "$save" "$@" 2>&1); rc=$?
	grep -vE '^difftest: ' <<<"$out"
	if grep -q '^kernel: skipped' <<<"$out"; then
		echo "$label: kernel part skipped"
		skip=$((skip + 1))
	fi
	if [ $rc -eq 0 ] && grep -qE '^difftest: [0-9]+ passed, 0 failed' <<<"$out"; then
		pass=$((pass + 1))
	else
		echo "$label: FAILED (exit $rc)"
		for f in "$save"/*.data; do [ -f "$f" ] && { echo "--- $f"; cat "$f"; }; done
		rm -f "$save"/*.data
		fail=$((fail + 1))
	fi
}

check "interp vs jit" --count 20000 --seed 1
check "interp vs jit vs kernel" --count 4000 --seed 1000001 --kernel
echo "40-difftest: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
