#!/usr/bin/env bash
# The AArch64 JIT without AArch64 hardware: the core library cross-compiled
# with aarch64-linux-gnu-gcc into one static runner (tests/arm64/runner.c,
# `make arm64-runner`) that runs under qemu-aarch64:
#   1. the feature probe: LSE atomics on qemu's default CPU ("max"), LL/SC
#      on a Cortex-A57 (ARMv8.0)
#   2. bpf_conformance (tests: interpreter and ARM64 JIT must both give each
#      file's result; checked, unchecked, each with LSE and with LL/SC
#      atomics; negative: every one must fail) when ../shared has it
#   3. our tests/data (checked JIT, LSE and LL/SC)
#   4. 20000 generated programs, interpreter vs ARM64 JIT (checked on all;
#      unchecked or LL/SC on each as a second run), and one program whose
#      code exceeds b.cond's 1 MB reach (the long branch forms)
#   5. Kops, with ARM64_KOPS=quick|full (make test-long): every operation,
#      variant and register assignment, native ARM64 emit vs proof sequence,
#      checked and unchecked, mutants caught (quick: the register-rhs select
#      on 2 of its 11 conditions)
#   6. the Kops site programs (tests/kops idioms, bench/micro), rewritten
#      on this host under the kernel verifier: interpreter on the lowered
#      program vs the ARM64 JIT with native emits, as XDP (needs root)
#   7. safebpf jit --arch arm64 --dump on this host (capstone AArch64)
#   8. safebpf jit --count-mem: a loop's dynamic ARM64 instruction count
# Skipped, with the reason, only when the cross compiler, its C library or
# qemu-aarch64 is missing.
set -u
cd "$(dirname "$0")/../.."
pass=0 fail=0 skip=0
bin=build/asan/safebpf
[ -x "$bin" ] || bin=build/safebpf
top=$(git rev-parse --show-toplevel 2>/dev/null || pwd)
conf="$top/../shared/bpf_conformance"
if [ ! -d "$conf" ]; then
	common=$(cd "$(git rev-parse --git-common-dir 2>/dev/null || echo .)" && pwd)
	[ -d "$(dirname "$common")/../shared/bpf_conformance" ] &&
		conf="$(dirname "$common")/../shared/bpf_conformance"
fi

qemu=$(command -v qemu-aarch64-static || command -v qemu-aarch64 || true)
reason=""
if ! command -v aarch64-linux-gnu-gcc >/dev/null; then
	reason="aarch64-linux-gnu-gcc not installed (Debian: gcc-aarch64-linux-gnu)"
elif [ -z "$qemu" ]; then
	reason="qemu-aarch64 not installed (Debian: qemu-user-static)"
elif ! echo 'int main(void){return 0;}' | aarch64-linux-gnu-gcc -static -x c -o /dev/null - 2>/dev/null; then
	reason="no AArch64 C library for static linking (Debian: libc6-dev-arm64-cross)"
fi
if [ -n "$reason" ]; then
	echo "skip: $reason"
	echo "26-arm64: 0 passed, 0 failed, 1 skipped"
	exit 0
fi
if ! out=$(make --no-print-directory arm64-runner 2>&1); then
	echo "$out" | tail -n 20
	echo "26-arm64: 0 passed, 1 failed"
	exit 1
fi
runner=build/arm64/runner

# check LABEL SUMMARY-PREFIX COMMAND...: the command's last "<prefix>: N
# passed, N failed" line must show no failure and at least one pass.
check() {
	local label=$1 prefix=$2 out rc line
	shift 2
	local t0=$SECONDS
	out=$("$@" 2>&1); rc=$?
	line=$(grep -E "^$prefix: [0-9]+ passed, [0-9]+ failed" <<<"$out" | tail -n 1)
	grep -E "^(FAIL|seed|diff: [0-9]+ programs|kops: [a-z_]+.*assignments|mutant|sites: [0-9]+ native|big: [0-9]+ slots)" <<<"$out" | head -n 40
	if [ $rc -eq 0 ] && [ -n "$line" ] && grep -qE ": [1-9][0-9]* passed, 0 failed" <<<"$line"; then
		echo "$label: $line ($((SECONDS - t0)) s)"
		pass=$((pass + 1))
	else
		echo "$label: FAILED (exit $rc) ${line:-no summary line}"
		fail=$((fail + 1))
	fi
}

out=$("$qemu" "$runner" features 2>&1)
out57=$("$qemu" -cpu cortex-a57 "$runner" features 2>&1)
if grep -q "target arm64, LSE" <<<"$out" && grep -q "target arm64, LL/SC" <<<"$out57"; then
	echo "probe: $out (max); $out57 (cortex-a57)"
	pass=$((pass + 1))
else
	echo "probe: FAILED: '$out' / '$out57'"
	fail=$((fail + 1))
fi

if [ -d "$conf/tests" ]; then
	check "bpf_conformance (jit)" data "$qemu" "$runner" data "$conf/tests"
	check "bpf_conformance (jit-unchecked)" data "$qemu" "$runner" data --unchecked "$conf/tests"
	check "bpf_conformance (jit, LL/SC)" data "$qemu" "$runner" data --no-lse "$conf/tests"
	check "bpf_conformance (jit-unchecked, LL/SC)" data "$qemu" "$runner" data --unchecked --no-lse "$conf/tests"
	check "bpf_conformance (jit, cortex-a57)" data "$qemu" -cpu cortex-a57 "$runner" data "$conf/tests"
	[ -d "$conf/negative" ] && check "bpf_conformance negative (jit)" data "$qemu" "$runner" data "$conf/negative"
else
	echo "bpf_conformance: skipped (no $conf/tests)"
	skip=$((skip + 1))
fi
check "tests/data (jit)" data "$qemu" "$runner" data tests/data
check "tests/data (jit, LL/SC)" data "$qemu" "$runner" data --no-lse tests/data
check "interp vs arm64 jit" diff "$qemu" "$runner" diff 20000 1
check "1.4 MB image (long branch forms)" big "$qemu" "$runner" big
# The Kops sweep under qemu (native emit vs proof sequence for every
# operation, variant and register assignment, each mutant caught) takes
# about 2 minutes even --quick: make test-long runs it (ARM64_KOPS=quick,
# or full for all 11 select conditions). make test proves the same emits
# for every register assignment instead (81-prove-arm64, mutants refuted
# in test_prove_arm64) and runs the Kops site programs below under qemu.
if [ -n "${ARM64_KOPS:-}" ]; then
	check "kops native vs proof sequence (--$ARM64_KOPS)" kops "$qemu" "$runner" kops "--$ARM64_KOPS"
else
	echo "kops native vs proof sequence under qemu: in make test-long (ARM64_KOPS=quick); here the emits are proven (81-prove-arm64)"
fi

# Programs with Kops sites: the clang idiom programs (tests/kops, default CPU
# and v3) and the microbenchmarks (bench/micro), rewritten on this host by
# the recognizer under the kernel verifier (which must accept each lowered
# program: the JIT's unchecked code relies on it), then run under qemu: the
# lowered program on the interpreter vs the ARM64 JIT with native emits.
objs=$(ls build/kops/*.o build/bench/micro/*.o 2>/dev/null)
if [ "$(id -u)" -ne 0 ]; then
	echo "kops site programs: skipped (the kernel verifier must accept the rewrites: needs root)"
	skip=$((skip + 1))
elif [ ! -x "$bin" ] || [ -z "$objs" ]; then
	echo "kops site programs: skipped (no $bin or objects: make asan builds them)"
	skip=$((skip + 1))
else
	sdir=$(mktemp -d)
	args=() bad_rw=0
	for o in $objs; do
		f="$sdir/$(basename "$(dirname "$o")")-$(basename "$o" .o).s"
		if ! "$bin" kops rewrite "$o" -o "$f" --ret32 --verify >"$sdir/log" 2>&1; then
			echo "FAIL kops rewrite $o: $(tail -n 1 "$sdir/log")"; bad_rw=1; continue
		fi
		[ -s "$f.rodata" ] && args+=(--rodata "$f.rodata")
		args+=("$f")
	done
	if [ $bad_rw -eq 0 ]; then
		check "kops site programs (interp vs arm64 jit --kops)" sites "$qemu" "$runner" sites "${args[@]}"
	else
		fail=$((fail + 1))
	fi
	rm -rf "$sdir"
fi

# --dump on this host: capstone's AArch64 mode under each eBPF instruction
if [ -x "$bin" ] && [ -f "$conf/tests/ldxh.data" ]; then
	out=$("$bin" jit --arch arm64 --dump "$conf/tests/ldxh.data" 2>&1)
	if grep -q '^   0: ldxh %r0, \[%r1+2\]' <<<"$out" &&
	   grep -qE '^ +[0-9a-f]+: .*ldrh +w7, \[x11\]' <<<"$out" &&
	   grep -qE 'bytes of arm64 code' <<<"$out"; then
		echo "jit --arch arm64 --dump: passed"; pass=$((pass + 1))
	else
		echo "$out"; echo "jit --arch arm64 --dump: FAILED"; fail=$((fail + 1))
	fi
fi
# Dynamic instruction count (jit --count-mem, BENCHMARKS.md): a 10-round
# loop executes 33 eBPF instructions; its ARM64 body is mov, mov, then
# add, sub, cmp, b.ne per round: 2 + 10 * 4 = 42 instructions.
if [ -x "$bin" ]; then
	cdir=$(mktemp -d)
	printf 'mov %%r0, 0\nmov %%r1, 10\nloop:\nadd %%r0, 1\nsub %%r1, 1\njne %%r1, 0, loop\nexit\n' >"$cdir/loop.s"
	head -c 16 /dev/zero >"$cdir/mem.bin"
	out=$("$bin" jit "$cdir/loop.s" --arch arm64 --unchecked --count-mem "$cdir/mem.bin" 2>&1)
	rm -rf "$cdir"
	if grep -q '^count: r0=0xa, 33 eBPF instructions executed -> .* (42 in the body' <<<"$out"; then
		echo "jit --count-mem (dynamic arm64 instructions): passed"; pass=$((pass + 1))
	else
		echo "$out"; echo "jit --count-mem: FAILED"; fail=$((fail + 1))
	fi
fi
echo "26-arm64: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
