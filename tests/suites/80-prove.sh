#!/usr/bin/env bash
# 80-prove.sh - proofs: `safebpf prove` proves every Kops native emit of the
# x86-64 JIT equivalent to its proof sequence, and that to the operation's
# specification, with Z3, for every register assignment (docs/kops.md,
# "What is proven"). One check per obligation group, plus the total and a
# run with a deliberate mistake in the JIT that must be refuted with a
# counterexample and the native code. Runs the optimized build (make test
# builds it): the prover's memory safety is covered under ASan by
# tests/unit/test_prove.c, and the proof itself is 5x slower there.
set -u
cd "$(dirname "$0")/../.."
SB=build/safebpf
pass=0 fail=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT

ok()   { echo "ok   $1"; pass=$((pass + 1)); }
bad()  { echo "FAIL $1"; fail=$((fail + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
finish() { echo "80-prove: $pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit $?; }

if [ ! -x "$SB" ]; then
	bad "build: $SB must exist (make test builds it)"
	finish
fi

# 1. Everything, on every CPU.
t0=$(date +%s)
"$SB" prove >"$out" 2>&1
rc=$?
t1=$(date +%s)
cat "$out"
while read -r row; do
	case "$row" in
	*" proved") ok "$row" ;;
	*) bad "$row" ;;
	esac
done < <(grep -E ' (proved|FAILED \([0-9]+\))$' "$out")
check "prove exits 0 ($rc) and every group is proved" "[ $rc -eq 0 ] && ! grep -q FAILED '$out'"
for op in rotate select extract bswap_load prefetch bulk_copy lea popcount wide_load; do
	check "$op: at least one group proved" "grep -qE '^$op .* proved\$' '$out'"
done
check "total line: obligations, nothing failed ($(grep '^total:' "$out"); $((t1 - t0))s wall)" \
	"grep -qE '^total: [0-9]{6,} obligations in [0-9]+ groups .* 0 failed in 0 groups' '$out'"

# 2. It bites: the JIT's select written with a 32-bit CMOV for the 32-bit
# move (KOPS_MUT_SEL_CMOV32: clears dst's upper half when not moving).
SAFEBPF_TEST_PROVE_MUTANT=3 "$SB" prove --op select -j 2 >"$out" 2>&1
rc=$?
sed -n '/FAILED/,/^select .*proved$/p' "$out" | head -n 30
check "a wrong select emit: exit 1, FAILED rows" "[ $rc -eq 1 ] && grep -q 'FAILED (' '$out'"
check "a wrong select emit: counterexample with register values and the native code" \
	"grep -q 'counterexample' '$out' && grep -qi 'cmov' '$out'"
check "usage: unknown operation exits 2" "'$SB' prove --op nosuch >/dev/null 2>&1; [ \$? -eq 2 ]"
check "usage: bad --jobs exits 2" "'$SB' prove -j 0 >/dev/null 2>&1; [ \$? -eq 2 ]"
finish
