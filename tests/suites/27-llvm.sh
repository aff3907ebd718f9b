#!/usr/bin/env bash
# The llvm engine (src/llvm, docs/llvm.md): the whole program through LLVM
# O2, compiled only after the kernel verifier accepts it.
#   1. every external bpf_conformance test, and every tests/data file that
#      expects a result, on the llvm engine (--unsafe-unverified: the
#      kernel cannot judge mem programs; these are memory-safe)
#   2. the verifier gate: mem programs are refused without the test flag,
#      an xdp program the kernel refuses is refused, an accepted one runs
#      (crc32.o with its read-only data)
#   2b. the verifier's facts remove a bounds check implied by an earlier one
#   3. LLVM_DIFF_PROGRAMS generated programs (default 4000 in make test,
#      20000 in make test-long; seeds from 1, the ones 40-difftest runs on
#      the JIT), interpreter vs llvm, in two parallel halves; and 1000
#      more whose kernel-safe xdp forms run on the kernel and on llvm
#      after the real verifier
#   4. safebpf aot: the object links into a small C program that returns
#      the expected result (crc32.o as xdp; a helper-calling program whose
#      helper the C program provides)
#   5. the on-disk cache of compiled objects (SAFEBPF_LLVM_CACHE)
# Kernel parts are skipped, with the reason, without CAP_BPF.
set -u
cd "$(dirname "$0")/../.."
bin=build/asan/safebpf
[ -x "$bin" ] || bin=build/safebpf
pass=0 fail=0 skip=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
top=$(git rev-parse --show-toplevel 2>/dev/null || pwd)
conf="$top/../shared/bpf_conformance"
if [ ! -d "$conf" ]; then
	common=$(cd "$(git rev-parse --git-common-dir 2>/dev/null || echo .)" && pwd)
	[ -d "$(dirname "$common")/../shared/bpf_conformance" ] &&
		conf="$(dirname "$common")/../shared/bpf_conformance"
fi
kernel=1
kwhy=$("$bin" run --engine kernel --type xdp build/bench/micro/crc32.o --mem 00 2>&1 | grep -o 'cannot use the kernel.*')
[ -n "$kwhy" ] && kernel=0

# test-data on llvm; adds the counts
tdata() { # label, paths...
	local label=$1; shift
	local out line p f
	out=$("$bin" test-data --engine llvm --unsafe-unverified "$@" 2>&1)
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' <<<"$out" | tail -n 1)
	if [ -z "$line" ]; then
		echo "$out" | tail -n 20; bad "$label: no summary line"; return
	fi
	p=${line%% passed*}; f=${line#*passed, }; f=${f%% failed*}
	[ "$f" -gt 0 ] && grep -vE '^[0-9]+ passed' <<<"$out" | head -n 40
	echo "$label: $p passed, $f failed"
	pass=$((pass + p)); fail=$((fail + f))
}

# 1. conformance and tests/data
if [ -d "$conf/tests" ]; then
	tdata "bpf_conformance (llvm)" "$conf/tests"
else
	echo "bpf_conformance: skipped (no $conf/tests)"; skip=$((skip + 1))
fi
files=() nerr=0
for f in tests/data/*.data; do
	if grep -q -- '^-- error' "$f"; then
		nerr=$((nerr + 1)) # run-time errors need checks; llvm code has none (the verifier's job)
	elif [ "$(basename "$f")" = call-own-frame.data ]; then
		echo "skipped: $f (r10 differences between frames: llvm gives each frame its own allocation)"
		skip=$((skip + 1))
	else
		files+=("$f")
	fi
done
echo "skipped: $nerr tests/data files that expect a run-time error (llvm code has no run-time checks)"
skip=$((skip + nerr))
tdata "tests/data (llvm)" "${files[@]}"

# 2. the verifier gate
out=$("$bin" run --engine llvm tests/data/helper-identity.data 2>&1)
if grep -q "only programs the kernel verifier accepted" <<<"$out"; then ok; else bad "mem program without the test flag: $out"; fi
pkt=$(grep -v '^#' bench/micro/packet.txt | tr -d ' \n')
if [ $kernel = 1 ]; then
	out=$("$bin" run --engine llvm --type xdp build/bench/micro/crc32.o --mem "$pkt" 2>&1)
	if grep -qE '^r0 = 0x(ffffffff)?77985f6a' <<<"$out"; then ok; else bad "crc32.o on llvm: $out"; fi
	# a packet read without a bounds check: the kernel refuses it, so must llvm
	printf 'ldxdw %%r2, [%%r1+0]\nldxb %%r0, [%%r2+0]\nexit\n' > "$tmp/unchecked.s"
	out=$("$bin" run --engine llvm --type xdp "$tmp/unchecked.s" --mem "$pkt" 2>&1); rc=$?
	if [ $rc -ne 0 ] && grep -q "kernel verifier refused" <<<"$out"; then ok; else bad "unchecked packet read: $rc $out"; fi
else
	echo "verifier gate: skipped (${kwhy#cannot use the kernel: })"; skip=$((skip + 2))
fi

# 2b. the verifier's facts: a bounds check implied by an earlier one is gone
cat > "$tmp/redundant.s" <<'EOF2'
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
mov %r4, %r2
add %r4, 34
jgt %r4, %r3, out
mov %r5, %r2
add %r5, 14
jgt %r5, %r3, out
ldxb %r0, [%r2+23]
exit
out:
mov %r0, 1
exit
EOF2
if [ $kernel = 1 ]; then
	with=$("$bin" aot "$tmp/redundant.s" --ir 2>&1 | grep -c 'icmp ugt')
	without=$("$bin" aot "$tmp/redundant.s" --ir --no-facts 2>&1 | grep -c 'icmp ugt')
	if [ "$with" = 1 ] && [ "$without" = 2 ]; then ok
	else bad "facts: $with bounds checks with the verifier's facts (want 1), $without without (want 2)"; fi
	out=$("$bin" run --engine llvm --type xdp "$tmp/redundant.s" --mem "$pkt" 2>&1)
	want=$(printf "0x%x" $((16#${pkt:46:2})))
	if grep -q "^r0 = $want " <<<"$out"; then ok; else bad "redundant.s on llvm: $out (want $want)"; fi
else
	echo "facts: skipped (${kwhy#cannot use the kernel: })"; skip=$((skip + 2))
fi

# 3. differential testing: LLVM_DIFF_PROGRAMS programs in two halves at once, then xdp
# forms. The optimized binary when there is one: LLVM's own work (about
# 15 ms of CPU per program) is uninstrumented either way, and the sanitized
# interpreter would double the cost; parts 1, 2, 4 and 5 run sanitized.
dtbin=build/safebpf
[ -x "$dtbin" ] || dtbin=$bin
save=$tmp/dt
mkdir -p "$save"
half=$(( ${LLVM_DIFF_PROGRAMS:-4000} / 2 ))
( "$dtbin" difftest --engine llvm --count $half --seed 1 --save-dir "$save" > "$tmp/dt1" 2>&1; echo "rc=$?" >> "$tmp/dt1" ) &
( "$dtbin" difftest --engine llvm --count $half --seed $((half + 1)) --save-dir "$save" > "$tmp/dt2" 2>&1; echo "rc=$?" >> "$tmp/dt2" ) &
wait
for h in dt1 dt2; do
	if grep -q '^rc=0' "$tmp/$h" && grep -qE "^difftest: $half passed, 0 failed" "$tmp/$h"; then
		grep '^interp vs llvm' "$tmp/$h"; ok
	else
		grep -vE '^rc=' "$tmp/$h" | tail -n 20; bad "difftest half $h"
	fi
done
if [ $kernel = 1 ]; then
	out=$("$dtbin" difftest --engine llvm --count 1000 --seed 1000001 --kernel --save-dir "$save" 2>&1); rc=$?
	if [ $rc -eq 0 ] && grep -qE '^difftest: 1000 passed, 0 failed' <<<"$out" &&
	   grep -qE '^kernel: .* agree \(interp, llvm' <<<"$out"; then
		grep -E '^(interp vs|kernel:)' <<<"$out"; ok
	else
		echo "$out" | tail -n 20; bad "difftest --kernel on llvm"
	fi
else
	echo "difftest --kernel: skipped (${kwhy#cannot use the kernel: })"; skip=$((skip + 1))
fi
for f in "$save"/*.data; do [ -f "$f" ] && { echo "--- $f"; cat "$f"; }; done

# 4. ahead of time: link the object into a C program
cat > "$tmp/main.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "prog.h"
int main(int argc, char **argv)
{
	unsigned char pkt[2048];
	size_t n = 0;
	const char *hex = argc > 1 ? argv[1] : "";
	for (; hex[0] && hex[1] && n < sizeof(pkt); hex += 2) {
		unsigned v;
		sscanf(hex, "%2x", &v);
		pkt[n++] = (unsigned char)v;
	}
	struct sbpf_xdp_ctx ctx = { .data = (uint64_t)(uintptr_t)pkt, .data_end = (uint64_t)(uintptr_t)(pkt + n),
				    .data_meta = (uint64_t)(uintptr_t)pkt, .ingress_ifindex = 1 };
	printf("0x%08x\n", (unsigned)sbpf_prog(&ctx, 0));
	return 0;
}
EOF
if [ $kernel = 1 ]; then
	if "$bin" aot build/bench/micro/crc32.o -o "$tmp/prog.o" 2>"$tmp/aot.err" && [ -s "$tmp/prog.h" ] &&
	   cc -O2 -o "$tmp/aotprog" "$tmp/main.c" "$tmp/prog.o" -I"$tmp" 2>>"$tmp/aot.err"; then
		out=$("$tmp/aotprog" "$pkt")
		if [ "$out" = 0x77985f6a ]; then ok; else bad "aot crc32: got $out, want 0x77985f6a"; fi
	else
		bad "aot crc32: $(cat "$tmp/aot.err")"
	fi
else
	echo "aot crc32: skipped (${kwhy#cannot use the kernel: })"; skip=$((skip + 1))
fi
# a mem program calling helper 7 (not a default one): the C program provides it
printf 'mov %%r6, %%r1\nmov %%r1, 20\nmov %%r2, 22\ncall 7\nldxb %%r1, [%%r6+1]\nadd %%r0, %%r1\nexit\n' > "$tmp/h.s"
cat > "$tmp/hmain.c" <<'EOF'
#include <stdio.h>
#include "h.h"
uint64_t sbpf_helper_7(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	(void)r3, (void)r4, (void)r5;
	return r1 * 100 + r2;
}
int main(void)
{
	unsigned char mem[2] = { 0, 5 };
	printf("%llu\n", (unsigned long long)sbpf_prog(mem, sizeof(mem)));
	return 0;
}
EOF
if "$bin" aot "$tmp/h.s" --type mem --unsafe-unverified -o "$tmp/h.o" 2>"$tmp/aot.err" &&
   grep -q 'uint64_t sbpf_helper_7(' "$tmp/h.h" && grep -q 'uint64_t sbpf_prog(void \*mem, uint64_t len);' "$tmp/h.h" &&
   cc -O2 -o "$tmp/hprog" "$tmp/hmain.c" "$tmp/h.o" -I"$tmp" 2>>"$tmp/aot.err"; then
	out=$("$tmp/hprog")
	if [ "$out" = 2027 ]; then ok; else bad "aot helper program: got $out, want 2027"; fi
else
	bad "aot helper program: $(cat "$tmp/aot.err")"
fi
out=$("$bin" aot "$tmp/h.s" --type mem -o "$tmp/x.o" 2>&1); rc=$?
if [ $rc -ne 0 ] && grep -q "only programs the kernel verifier accepted" <<<"$out"; then ok; else bad "aot of a mem program without the test flag: $rc $out"; fi

# 5. the on-disk cache: one object per program, a damaged entry is recompiled
c=$tmp/cache
p=$conf/tests/lsh64-reg.data
if [ -f "$p" ]; then
	SAFEBPF_LLVM_CACHE=$c "$bin" run --engine llvm --unsafe-unverified "$p" >/dev/null 2>&1
	out=$(SAFEBPF_LLVM_CACHE=$c "$bin" run --engine llvm --unsafe-unverified "$p" 2>&1)
	if [ "$(ls "$c" | grep -c '\.sbpfllvm$')" -eq 1 ] && grep -q "^r0 = 0x10 " <<<"$out"; then ok
	else bad "cache: $(ls "$c" 2>&1) $out"; fi
	f=$(ls "$c"/*.sbpfllvm | head -n 1)
	head -c 40 "$f" > "$f.tmp" && mv "$f.tmp" "$f"
	out=$(SAFEBPF_LLVM_CACHE=$c "$bin" run --engine llvm --unsafe-unverified "$p" 2>&1)
	if grep -q "^r0 = 0x10 " <<<"$out" && [ "$(stat -c %s "$f")" -gt 40 ]; then ok; else bad "damaged cache entry: $out"; fi
else
	echo "cache: skipped (no $p)"; skip=$((skip + 2))
fi

echo "27-llvm: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
