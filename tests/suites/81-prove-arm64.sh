#!/usr/bin/env bash
# 81-prove-arm64.sh - proofs of the AArch64 JIT's Kops emits
# (`safebpf prove --arch arm64`, docs/kops.md "Proofs on AArch64"):
#   1. every group of rotate, select, extract, bswap_load, prefetch and lea,
#      and bulk_copy's groups up to 16 bytes, proved (the full bulk_copy
#      run takes ~18 min on 2 cores: `safebpf prove --arch arm64`, not here)
#   2. the JIT's inverted-csel mistake (KOPS_MUT_A64_SEL_COND) refuted with
#      a counterexample and the native code
#   3. the AArch64 model against real execution: every instruction form the
#      emits use, and the emits themselves, run under qemu-aarch64 by the
#      cross-built runner and compared with the model's evaluation
#      (tests/unit/test_prove_arm64.c, SAFEBPF_A64_EXEC); skipped with the
#      reason only when the cross compiler or qemu is missing
# Runs the optimized build for the proofs (make test builds it) and the
# ASan unit binary for the cross-check. About 1 min of CPU time (53 s user
# measured; its wall time grows with the machine's load).
set -u
cd "$(dirname "$0")/../.."
SB=build/safebpf
UT=build/asan/tests/test_prove_arm64
pass=0 fail=0 skip=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT

ok()   { echo "ok   $1"; pass=$((pass + 1)); }
bad()  { echo "FAIL $1"; fail=$((fail + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
finish() { echo "81-prove-arm64: $pass passed, $fail failed, $skip skipped"; [ "$fail" -eq 0 ]; exit $?; }

if [ ! -x "$SB" ]; then
	bad "build: $SB must exist (make test builds it)"
	finish
fi

# 1. The proofs.
t0=$SECONDS
for op in rotate select extract bswap_load prefetch lea bulk_copy popcount wide_load; do
	if [ $op = bulk_copy ]; then
		groups=("length 1..8" "length 9..16")
	elif [ $op = popcount ]; then
		# the 64-bit shape declines on arm64 (its proof sequence runs);
		# "32-bit, 64-bit ops" is proven too but takes minutes here
		groups=("32-bit, ALU32 ops")
	else
		groups=("")
	fi
	for g in "${groups[@]}"; do
		"$SB" prove --arch arm64 --op $op ${g:+--group "$g"} -j 2 >"$out" 2>&1
		rc=$?
		grep -q 'arm64' "$out" || bad "$op: the header names arm64"
		while read -r row; do
			case "$row" in
			*" proved") ok "$row" ;;
			*) bad "$row"; sed -n '/FAILED/,$p' "$out" | head -n 30 ;;
			esac
		done < <(grep -E ' (proved|FAILED \([0-9]+\))$' "$out")
		check "$op${g:+ ($g)}: exit 0 ($rc), $(grep -oE '^total: [0-9]+ obligations' "$out")" \
			"[ $rc -eq 0 ] && grep -qE '^total: [0-9]+ obligations .* 0 failed in 0 groups' '$out'"
	done
done
echo "proofs: $((SECONDS - t0)) s"

# 2. It bites: select's csel with the inverted condition.
SAFEBPF_TEST_PROVE_MUTANT=38 "$SB" prove --arch arm64 --op select --group 'jsgt, rhs reg' -j 2 >"$out" 2>&1
rc=$?
sed -n '/FAILED/,$p' "$out" | head -n 24
check "inverted csel condition: exit 1, FAILED row" "[ $rc -eq 1 ] && grep -q 'FAILED (' '$out'"
check "inverted csel condition: counterexample with the AArch64 code (csel ..., le)" \
	"grep -q 'counterexample' '$out' && grep -qE 'csel .*, le$' '$out'"

# 3. The model against qemu-aarch64.
qemu=$(command -v qemu-aarch64-static || command -v qemu-aarch64 || true)
reason=""
if ! command -v aarch64-linux-gnu-gcc >/dev/null; then
	reason="aarch64-linux-gnu-gcc not installed (Debian: gcc-aarch64-linux-gnu)"
elif [ -z "$qemu" ]; then
	reason="qemu-aarch64 not installed (Debian: qemu-user-static)"
elif [ ! -x "$UT" ]; then
	reason="$UT missing (make asan builds it)"
fi
if [ -n "$reason" ]; then
	echo "skip: model vs qemu-aarch64: $reason"
	skip=$((skip + 1))
elif ! make --no-print-directory arm64-runner >"$out" 2>&1; then
	tail -n 20 "$out"
	bad "make arm64-runner"
else
	t0=$SECONDS
	SAFEBPF_A64_EXEC="$qemu build/arm64/runner" "$UT" --filter 'prove_a64/instruction_forms_and_emits_match_qemu' \
		--verbose >"$out" 2>&1
	rc=$?
	grep -E 'cases compared|Assertion|FAIL|SKIP' "$out" | head -n 10
	check "AArch64 model vs qemu-aarch64 ($((SECONDS - t0)) s)" \
		"[ $rc -eq 0 ] && grep -q 'Passing: 1 ' '$out' && grep -q 'cases compared with qemu' '$out'"
fi
finish
