#!/usr/bin/env bash
# Kops native operations from the command line: `kops list` shows every
# op's proof sequence and native code; a hand-written XDP program with a
# site of every operation (written with `kops encode`) gives the same
# verdict and the same packet on the interpreter and the JIT (proof
# sequences), the JIT with --kops (native emits, checked and unchecked, and
# with BMI1/MOVBE off) and the kernel (BPF_PROG_TEST_RUN); `jit --kops
# --dump` shows the native instruction next to each site; the kernel
# verifier's refusal, a malformed site and a live clobber are refused with
# their reasons; `kops lower` writes a program that runs the same.
# Steps that need the kernel are skipped, with the reason, without CAP_BPF.
set -u
cd "$(dirname "$0")/../.."
bin=build/asan/safebpf
[ -x "$bin" ] || bin=build/safebpf
pass=0 fail=0 skip=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# 1. the registry listing: a proof sequence and the native forms
out=$("$bin" kops list 2>&1)
if [ $? -eq 0 ] && grep -q '^1 rotate' <<<"$out" && grep -q '^7 lea' <<<"$out" &&
   grep -qE '^ +rol rdi, 8$' <<<"$out" && grep -qE '^ +cmova rax, rdx$' <<<"$out" &&
   grep -qE '^ +(bextr|shr) ' <<<"$out" && grep -qE '^ +(movbe|bswap) ' <<<"$out" &&
   grep -qE '^ +prefetcht0 ' <<<"$out" && grep -qE '^ +movdqu ' <<<"$out" &&
   grep -qE '^ +lea rax, \[rdi \+ rsi\*8 \+ 0x10\]$' <<<"$out" &&
   grep -qE '^ +lsh %r1, 8$' <<<"$out"; then ok; else bad "kops list: $out"; fi
out=$("$bin" kops list extract --no-bmi1 2>&1)
if grep -qE '^ +shr rax, 4$' <<<"$out" && ! grep -q bextr <<<"$out"; then ok; else bad "kops list --no-bmi1: $out"; fi
out=$("$bin" kops list bulk_copy --checked 2>&1)
if grep -q 'none in this mode' <<<"$out"; then ok; else bad "kops list bulk_copy --checked: $out"; fi

# 2. an XDP program with a site of every operation
enc() { "$bin" kops encode "$@" || bad "kops encode $*"; }
{
	echo "# every Kops operation on packet data (built by tests/suites/60-kops.sh)"
	echo "ldxw %r2, [%r1+0]"
	echo "ldxw %r3, [%r1+4]"
	echo "mov %r4, %r2"
	echo "add %r4, 64"
	echo "jgt %r4, %r3, drop"
	enc prefetch a=r2 imm=32
	enc bswap_load dst=r5 a=r2 imm=2 variant=1
	enc bswap_load dst=r6 a=r2 imm=8 variant=2
	enc bswap_load dst=r4 a=r2 imm=20 variant=0
	enc rotate dst=r6 c=r7 imm=13
	enc rotate dst=r5 a=r6 b=r8 c=r9 variant=7
	enc extract dst=r7 a=r6 imm=0x140c
	echo "mov %r0, %r5"
	enc select dst=r0 a=r7 b=r5 c=r7 variant=0x12
	enc select dst=r4 a=r0 c=r6 imm=-5 variant=0x63
	enc lea dst=r8 a=r0 b=r7 variant=2 imm=100
	enc bulk_copy dst=r2 a=r2 c=r9 variant=24 imm=$((16 | 40 << 16))
	echo "xor %r0, %r8"
	echo "add %r0, %r4"
	echo "stxdw [%r2+56], %r0"
	echo "mov %r0, 2"
	echo "exit"
	echo "drop:"
	echo "mov %r0, 1"
	echo "exit"
} >"$tmp/all.s"
pkt=$(for i in $(seq 0 63); do printf '%02x' $(((i * 37 + 11) & 255)); done)

run() { "$bin" run "$tmp/all.s" --type xdp --mem "$pkt" --dump-mem "$@" 2>&1; }
want=$(run --engine interp)
if grep -q '^r0 = 0x2 ' <<<"$want" && [ "$(grep -c '^[0-9a-f][0-9a-f] ' <<<"$want")" -eq 4 ]; then ok
else bad "interpreter on the site program: $want"; fi
for e in "--engine jit" "--engine jit-unchecked" "--engine jit --kops-unverified" \
	 "--engine jit-unchecked --kops-unverified --unsafe-unverified"; do
	got=$(run $e)
	if [ "$got" = "$want" ]; then ok; else bad "run $e differs from the interpreter:"$'\n'"$got"$'\n'"want:"$'\n'"$want"; fi
done

# the kernel: verifier check before native code, and the kernel's own run
kout=$("$bin" run "$tmp/all.s" --type xdp --engine jit --kops --mem "$pkt" 2>&1); krc=$?
if [ $krc -eq 4 ] || grep -q 'cannot ask the kernel verifier' <<<"$kout"; then
	echo "kernel steps: skipped (${kout##*: })"
	skip=$((skip + 4))
else
	for e in "--engine jit --kops" "--engine jit-unchecked --kops" "--engine kernel"; do
		got=$(run $e)
		if [ "$got" = "$want" ]; then ok; else bad "run $e differs from the interpreter:"$'\n'"$got"$'\n'"want:"$'\n'"$want"; fi
	done
	# the verifier judges the lowered program: a bswap_load of the context is refused
	{ enc bswap_load dst=r0 a=r1 imm=100 variant=1; echo exit; } >"$tmp/ctx.s"
	out=$("$bin" run "$tmp/ctx.s" --type xdp --engine jit --kops --mem 00 2>&1); rc=$?
	if [ $rc -eq 3 ] && grep -q 'kernel verifier rejected the lowered program: invalid bpf_context access' <<<"$out"
	then ok; else bad "verifier refusal (exit $rc): $out"; fi
fi

# features off: the fallback emits give the same packet
got=$("$bin" jit "$tmp/all.s" --type xdp --kops-unverified --no-bmi1 --no-movbe --dump 2>&1)
if grep -qE 'bswap' <<<"$got" && ! grep -qE 'movbe|bextr' <<<"$got"; then ok; else bad "jit --no-bmi1 --no-movbe still uses them"; fi

# 3. jit --kops --dump: the native instruction next to each site
out=$("$bin" jit "$tmp/all.s" --type xdp --unchecked --kops-unverified --dump 2>&1)
if grep -qE '^ +[0-9]+: kops rotate dst=r6 .* native, in place of slots' <<<"$out" &&
   grep -qE '^      \| lsh %r6, 13$' <<<"$out" && grep -qE ' rol rbx, 0xd$' <<<"$out" &&
   grep -qE ' ror r8d, cl$' <<<"$out" && grep -qE ' cmova rax, r13$' <<<"$out" &&
   grep -qE ' (bextr|shr) ' <<<"$out" && grep -qE ' (movbe|bswap) ' <<<"$out" &&
   grep -qE ' prefetcht0 ' <<<"$out" && grep -qE ' movdqu ' <<<"$out" && grep -qE ' lea r14, \[rax \+ r13\*4 \+ 0x64\]' <<<"$out" &&
   grep -q '^kops: 11 sites, 11 native' <<<"$out"; then ok; else bad "jit --kops --dump:"$'\n'"$(head -c 3000 <<<"$out")"; fi
# extract emits the shortest form (issue 17): a zero-extension (in place,
# or 32-bit from another register) is one mov r32, an 8/16-bit field at bit
# 0 one movzx, a field at the top one shr, with or without BMI1; the r0 of
# each agrees with the interpreter running the proof sequences
{
	printf 'ldxdw %%r2, [%%r1+0]\nldxdw %%r6, [%%r1+8]\n'
	"$bin" kops encode extract dst=r2 a=r2 imm=0x2000 | sed 's/ *#.*//'
	"$bin" kops encode extract dst=r3 a=r6 imm=0x800 | sed 's/ *#.*//'
	"$bin" kops encode extract dst=r4 a=r6 imm=0x1000 variant=1 | sed 's/ *#.*//'
	"$bin" kops encode extract dst=r5 a=r6 imm=0x2000 variant=1 | sed 's/ *#.*//'
	"$bin" kops encode extract dst=r7 a=r6 imm=0x0838 | sed 's/ *#.*//'
	printf 'mov %%r0, %%r2\nadd %%r0, %%r3\nxor %%r0, %%r4\nadd %%r0, %%r5\nxor %%r0, %%r7\nexit\n'
} > "$tmp/ext.s"
zpkt=f1e2d3c4b5a69788796a5b4c3d2e1f00
ext_r0() { sed -nE 's/^r0 = (0x[0-9a-f]+).*/\1/p' <<<"$1"; }
ext_want=$(ext_r0 "$("$bin" run "$tmp/ext.s" --engine interp --mem "$zpkt" 2>&1)")
for f in "" --no-bmi1; do
	out=$("$bin" jit "$tmp/ext.s" --unchecked --kops-unverified $f --dump 2>&1)
	# native lines are indented by 5+ columns, eBPF slots by at most 4
	n=$(awk '/kops extract/ { s = 1; next } { i = match($0, /[^ ]/) } i <= 4 { s = 0 } s && i > 4 && /^ +[0-9a-f]+:  / { c++ } END { print c + 0 }' <<<"$out")
	if grep -qE ' mov esi, esi$' <<<"$out" && grep -qE ' movzx edx, bl$' <<<"$out" && grep -qE ' movzx ecx, bx$' <<<"$out" &&
	   grep -qE ' mov r8d, ebx$' <<<"$out" && grep -qE ' shr r13, 0x38$' <<<"$out" && ! grep -q bextr <<<"$out" && [ "$n" = 6 ]
	then ok; else bad "extract emits $f ($n native instructions for 5 sites):"$'\n'"$out"; fi
	got=$(ext_r0 "$("$bin" run "$tmp/ext.s" --engine jit-unchecked --kops-unverified --unsafe-unverified --mem "$zpkt" 2>&1)")
	[ -n "$ext_want" ] && [ "$got" = "$ext_want" ] && ok || bad "extract emits $f: r0 $got, interpreter $ext_want"
done

# checked mode: bulk_copy keeps the JIT's bounds checks by running its proof sequence
out=$("$bin" jit "$tmp/all.s" --type xdp --kops-unverified --dump 2>&1)
if grep -q 'kops bulk_copy .*proof sequence, slots .* (no native emit in this mode)' <<<"$out" &&
   grep -q '^kops: 11 sites, 10 native' <<<"$out"; then ok; else bad "checked jit --kops --dump: $(tail -3 <<<"$out")"; fi
out=$("$bin" jit "$tmp/all.s" --type xdp --dump 2>&1)
if grep -q 'proof sequence, slots' <<<"$out" && grep -q '11 as proof sequences (--kops for native' <<<"$out"
then ok; else bad "jit --dump without --kops: $(tail -3 <<<"$out")"; fi

# 4. refusals: a malformed site, a live clobber, --kops on the interpreter
{ echo "mov %r1, 1"; echo ".raw 0xb7a1000108000000"; echo ".raw 0x85b0000001000000"; echo "mov %r0, %r1"; echo exit; } >"$tmp/bad.s"
out=$("$bin" run "$tmp/bad.s" 2>&1); rc=$?
if [ $rc -eq 3 ] && grep -q 'malformed site: registers must be distinct (r1 used twice)' <<<"$out" &&
   grep -q '\^' <<<"$out"; then ok; else bad "malformed site (exit $rc): $out"; fi
{ echo "mov %r1, 1"; enc rotate dst=r1 c=r2 imm=3; echo "mov %r0, %r2"; echo exit; } >"$tmp/live.s"
out=$("$bin" jit "$tmp/live.s" --kops-unverified 2>&1); rc=$?
if [ $rc -eq 3 ] && grep -q 'rotate: proof sequence clobbers r2, which is live after the site' <<<"$out"
then ok; else bad "live clobber (exit $rc): $out"; fi
out=$("$bin" run "$tmp/all.s" --type xdp --kops --mem "$pkt" 2>&1); rc=$?
if [ $rc -eq 2 ] && grep -q 'needs a JIT engine' <<<"$out"; then ok; else bad "--kops on interp (exit $rc): $out"; fi

# 5. kops lower: vanilla output that runs the same
if "$bin" kops lower "$tmp/all.s" -o "$tmp/low.s" 2>"$tmp/lower.err" &&
   grep -q '11 sites lowered' "$tmp/lower.err" && ! grep -q '\.raw' "$tmp/low.s"; then
	got=$("$bin" run "$tmp/low.s" --type xdp --mem "$pkt" --dump-mem --engine jit 2>&1)
	if [ "$got" = "$want" ]; then ok; else bad "lowered program differs: $got"; fi
else
	bad "kops lower: $(cat "$tmp/lower.err")"
fi

echo "60-kops: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
