#!/usr/bin/env bash
# The Kops recognizer from the command line (safebpf kops rewrite / stats) on
# the clang-compiled programs of tests/kops (built by `make asan` into
# build/kops, default CPU and -mcpu=v3): each program gets at least its
# expected sites; the program with sites runs on the JIT with --kops (native
# operations) and its lowered form on the interpreter, both with the
# original program's r0 and packet; with CAP_BPF the kernel engine (the
# original program, BPF_PROG_TEST_RUN) gives the same r0 as --kops, whose
# lowered program the kernel verifier has accepted. Then usage errors and
# refusals; programs with read-only data (rewrite writes OUT.rodata, run
# --rodata takes it); rewrite under the kernel verifier (what it refuses is
# left out). Kernel checks are skipped, with the reason, without CAP_BPF.
set -u
cd "$(dirname "$0")/../.."
bin=build/asan/safebpf
[ -x "$bin" ] || bin=build/safebpf
pass=0 fail=0 skip=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

kernel_ok=1
why=$("$bin" run build/kops/rotate.o --engine kernel --mem "$(printf '00%.0s' $(seq 64))" 2>&1 >/dev/null)
if grep -q "cannot use the kernel" <<<"$why"; then
	kernel_ok=0
	echo "kernel engine: skipped (${why#*cannot use the kernel: })"
fi

r0_of() { sed -nE 's/^r0 = (0x[0-9a-f]+).*/\1/p' <<<"$1"; }
# a deterministic 192-byte packet per seed
packet() { awk -v s="$1" 'BEGIN { x = s * 7919 + 17; for (i = 0; i < 192; i++) { x = (x * 1103515245 + 12345) % 2147483648; printf "%02x", int(x / 65536) % 256 } }'; }

# 1. sites per operation: PROGRAM OP MINIMUM
while read -r prog op min; do
	for obj in build/kops/$prog.o build/kops/$prog.v3.o; do
		[ -f "$obj" ] || { bad "$obj missing (make asan builds it)"; continue; }
		out=$("$bin" kops stats "$obj" 2>&1)
		got=$(awk -v op="$op" '$1 == op { print $3 }' <<<"$out")
		if [ -n "$got" ] && [ "$got" -ge "$min" ]; then ok; else bad "$obj: want >= $min $op sites, got: $out"; fi
	done
done <<'EOF'
rotate rotate 16
select select 4
extract extract 2
bswap bswap_load 4
copy bulk_copy 3
lea lea 3
EOF

# 2. the rewritten program everywhere gives the original's r0 and packet
for obj in build/kops/*.o; do
	name=$(basename "$obj" .o)
	"$bin" kops rewrite "$obj" -o "$tmp/$name.kops" >/dev/null 2>"$tmp/err" || { bad "rewrite $obj: $(cat "$tmp/err")"; continue; }
	"$bin" kops rewrite "$obj" -o "$tmp/$name.low" --lowered >/dev/null 2>"$tmp/err" || { bad "rewrite --lowered $obj: $(cat "$tmp/err")"; continue; }
	for seed in 1 2 3; do
		pkt=$(packet "$seed")
		want=$("$bin" run "$obj" --engine interp --mem "$pkt" --dump-mem 2>&1)
		low=$("$bin" run "$tmp/$name.low" --type xdp --engine interp --mem "$pkt" --dump-mem 2>&1)
		[ "$low" = "$want" ] && ok || bad "$name seed $seed: lowered on interp: $low; original: $want"
		if [ $kernel_ok -eq 1 ]; then
			# (zext.v3.o has no site: -mcpu=v3 zero-extends with one mov32; the note says so)
			kops=$("$bin" run "$tmp/$name.kops" --type xdp --engine jit --kops --mem "$pkt" --dump-mem 2>&1 |
				grep -v "note: the recognizer found no Kops sites")
			kern=$("$bin" run "$obj" --engine kernel --mem "$pkt" 2>&1)
			[ "$kops" = "$want" ] && ok || bad "$name seed $seed: --kops: $kops; original on interp: $want"
			a=$(r0_of "$kops") b=$(r0_of "$kern")
			if [ -n "$a" ] && [ -n "$b" ] && [ $((a & 0xffffffff)) -eq $((b)) ]; then ok
			else bad "$name seed $seed: --kops r0 $a, kernel r0 $b ($kern)"; fi
		else
			kops=$("$bin" run "$tmp/$name.kops" --type xdp --engine jit --kops-unverified --mem "$pkt" --dump-mem 2>&1 |
				grep -v "note: the recognizer found no Kops sites")
			[ "$kops" = "$want" ] && ok || bad "$name seed $seed: --kops-unverified: $kops; original: $want"
			skip=$((skip + 1))
		fi
	done
done

# 3. stats -v names sites and refusals; --ops and --all change what is written
out=$("$bin" kops stats build/kops/select.o -v 2>&1)
grep -qE "^ +[0-9]+  select +dst=r[0-9]" <<<"$out" && ok || bad "stats -v lists no select site: $out"
out=$("$bin" kops stats build/kops/select.o --ops rotate 2>&1)
[ "$(awk '$1 == "total" { print $3 }' <<<"$out")" = "0" ] && ok || bad "--ops rotate wrote sites in select.o: $out"
out=$("$bin" kops stats build/kops/extract.o --all 2>&1)
[ "$(awk '$1 == "extract" { print $3 }' <<<"$out")" -gt 2 ] && ok || bad "--all: in-place extracts not written: $out"
printf 'ldxw %%r4, [%%r1+0]\nmov %%r3, %%r4\nrsh %%r3, 25\nmov %%r0, %%r4\nlsh %%r0, 7\nor %%r0, %%r3\nexit\n' > "$tmp/trap.s"
out=$("$bin" kops stats "$tmp/trap.s" -v 2>&1)
grep -q "rotate .*observed in its upper half" <<<"$out" && ok || bad "32-bit trap not refused with its reason: $out"

# 4. read-only data (bench/micro objects with const tables): stats and
# rewrite take it; the rewrite runs with --rodata OUT.rodata and gives the
# original's r0; without it, run says how to give it
pkt=$(grep -v '^#' bench/micro/packet.txt | tr -d ' \n')
for name in toeplitz crc32; do
	obj=build/bench/micro/$name.o
	[ -f "$obj" ] || { bad "$obj missing (make asan builds it)"; continue; }
	out=$("$bin" kops stats "$obj" 2>&1) && grep -q "^total" <<<"$out" && ok || bad "stats $obj: $out"
	out=$("$bin" kops rewrite "$obj" -o "$tmp/$name.kops" 2>&1) || { bad "rewrite $obj: $out"; continue; }
	[ -s "$tmp/$name.kops.rodata" ] && grep -q "bytes of read-only data" <<<"$out" && ok || bad "$name: no OUT.rodata: $out"
	if [ $kernel_ok -eq 1 ]; then
		grep -q "^verified: .*with its read-only data" <<<"$out" && ok || bad "$name: not verified: $out"
	fi
	want=$(r0_of "$("$bin" run "$obj" --engine interp --mem "$pkt" 2>&1)")
	"$bin" kops rewrite "$obj" -o "$tmp/$name.low" --lowered --no-verify >/dev/null 2>&1
	got=$(r0_of "$("$bin" run "$tmp/$name.low" --type xdp --engine interp --rodata "$tmp/$name.kops.rodata" --mem "$pkt" 2>&1)")
	[ -n "$want" ] && [ "$got" = "$want" ] && ok || bad "$name lowered with --rodata: r0 $got, original $want"
	if [ $kernel_ok -eq 1 ]; then
		got=$(r0_of "$("$bin" run "$tmp/$name.kops" --type xdp --engine jit --kops --rodata "$tmp/$name.kops.rodata" --mem "$pkt" 2>&1)")
		[ "$got" = "$want" ] && ok || bad "$name --kops with --rodata: r0 $got, original $want"
		got=$(r0_of "$("$bin" run "$tmp/$name.low" --type xdp --engine kernel --rodata "$tmp/$name.kops.rodata" --mem "$pkt" 2>&1)")
		[ -n "$got" ] && [ $((got)) -eq $((want & 0xffffffff)) ] && ok || bad "$name lowered on the kernel: r0 $got, original $want"
	else
		skip=$((skip + 2))
	fi
	out=$("$bin" run "$tmp/$name.kops" --type xdp --engine jit --mem "$pkt" 2>&1); rc=$?
	[ $rc -eq 3 ] && grep -q -- "--rodata FILE" <<<"$out" && ok || bad "$name without --rodata: want exit 3 and a hint, got $rc: $out"
done

# 5. the kernel verifier judges rewrite: with the recognizer's own rules off,
# parse_hdrs' linked lea is refused by the kernel, found and left out
if [ $kernel_ok -eq 1 ]; then
	out=$("$bin" kops rewrite build/bench/micro/parse_hdrs.o -o "$tmp/ph.kops" --no-verifier-rules 2>&1)
	grep -q "^left out: lea at input slots .*outside of the packet" <<<"$out" && grep -q "^verified:" <<<"$out" && ok \
		|| bad "parse_hdrs --no-verifier-rules: $out"
	out=$("$bin" kops rewrite build/bench/micro/parse_hdrs.o -o "$tmp/ph.kops" 2>&1)
	! grep -q "left out" <<<"$out" && grep -q "^verified: .*1 load)" <<<"$out" && ok || bad "parse_hdrs: $out"
	out=$("$bin" kops rewrite build/kops/rotate.o -o "$tmp/r.kops" --no-verify 2>&1)
	! grep -q "verified" <<<"$out" && ok || bad "--no-verify still verified: $out"
else
	skip=$((skip + 3))
	"$bin" kops rewrite build/kops/rotate.o -o "$tmp/r.kops" --verify >/dev/null 2>&1; [ $? -eq 4 ] && ok || bad "--verify without privileges: want exit 4"
fi

# 6. usage errors and refusals
"$bin" kops rewrite build/kops/rotate.o >/dev/null 2>&1; [ $? -eq 2 ] && ok || bad "rewrite without -o: want exit 2"
"$bin" kops stats build/kops/rotate.o --ops nope >/dev/null 2>&1; [ $? -eq 2 ] && ok || bad "--ops nope: want exit 2"
"$bin" kops stats "$tmp/missing.o" >/dev/null 2>&1; [ $? -eq 3 ] && ok || bad "missing input: want exit 3"
"$bin" kops stats --help | grep -q "usage: safebpf kops stats" && ok || bad "stats --help"
out=$("$bin" kops stats "$tmp/rotate.kops" 2>&1); rc=$?
[ $rc -eq 3 ] && grep -q "already contains Kops sites" <<<"$out" && ok || bad "site program as input: want exit 3, got $rc: $out"

# 7. one command (issue 17): run/jit --kops on a plain clang object recognize,
# rewrite under the kernel verifier and emit natively; the verifier-accepted
# program runs unchecked (--checked keeps the checks) with the kernel's r0
if [ $kernel_ok -eq 1 ]; then
	for obj in build/kops/rotate.o build/kops/extract.v3.o build/xdp/hash.o build/xdp/filter.o; do
		for seed in 4 5; do
			pkt=$(packet "$seed")
			for flag in --kops --einsn; do
				out=$("$bin" run "$obj" --type xdp --engine jit $flag --verbose --mem "$pkt" 2>&1)
				nat=$(sed -nE 's/^safebpf: kops: [0-9]+ sites?, ([0-9]+) native, unchecked JIT$/\1/p' <<<"$out")
				kern=$(r0_of "$("$bin" run "$obj" --engine kernel --mem "$pkt" 2>&1)")
				a=$(r0_of "$out")
				if [ -n "$nat" ] && [ "$nat" -gt 0 ] && grep -q "accepted by the kernel verifier" <<<"$out" &&
				   [ -n "$a" ] && [ -n "$kern" ] && [ $((a & 0xffffffff)) -eq $((kern)) ]; then ok
				else bad "run $obj $flag seed $seed: kernel r0 $kern: $out"; fi
			done
		done
		out=$("$bin" run "$obj" --type xdp --engine jit --kops --checked --verbose --mem "$pkt" 2>&1)
		grep -qE "^safebpf: kops: [0-9]+ sites?, [1-9][0-9]* native, checked JIT$" <<<"$out" && ok || bad "--checked $obj: $out"
		out=$("$bin" jit "$obj" --type xdp --kops --dump --verbose 2>&1)
		if grep -q "native, in place of slots" <<<"$out" && grep -qE "^kops site 0: .*: native, [0-9]+ bytes" <<<"$out" &&
		   grep -q "bytes of x86_64 code (unchecked" <<<"$out"; then ok; else bad "jit --kops --dump $obj: $(tail -5 <<<"$out")"; fi
	done
	# a program without idioms runs as it is (said so), and one the verifier refuses keeps its checks
	printf 'mov %%r0, 2\nexit\n' > "$tmp/plain.s"
	out=$("$bin" run "$tmp/plain.s" --type xdp --engine jit --kops 2>&1)
	grep -q "found no Kops sites" <<<"$out" && [ "$(r0_of "$out")" = "0x2" ] && ok || bad "plain program: $out"
	printf 'ldxw %%r2, [%%r1+0]\nldxb %%r0, [%%r2+0]\nexit\n' > "$tmp/unchecked.s" # no data_end check
	out=$("$bin" run "$tmp/unchecked.s" --type xdp --engine jit --kops --verbose --mem 2a 2>&1); rc=$?
	[ $rc -eq 0 ] && [ "$(grep -c "refuses the program itself" <<<"$out")" = 1 ] && [ "$(r0_of "$out")" = "0x2a" ] &&
		! grep -q "unchecked JIT" <<<"$out" && ok || bad "refused program (exit $rc): $out"
else
	skip=$((skip + 1))
	out=$("$bin" run build/kops/rotate.o --type xdp --engine jit --kops-unverified --verbose --mem "$(packet 4)" 2>&1)
	grep -qE "^safebpf: kops: 1[0-9] sites, 1[0-9] native, checked JIT$" <<<"$out" && ok || bad "--kops-unverified on rotate.o: $out"
fi

# 8. a zero-extension in a loop (tests/kops/zext.c, issue 17): one extract
# site whose proof sequence is the original lsh 32; rsh 32, so the kernel
# verifier processes as many instructions for the lowered program as for
# the original (a mov32 form cost it state pruning), and it runs natively
out=$("$bin" kops stats build/kops/zext.o -v 2>&1)
grep -qE "^ +[0-9]+  extract +dst=r[0-9] a=r[0-9] .*imm=8192 variant=0x0$" <<<"$out" && ok ||
	bad "zext.o: want one 64-bit zero-extension site: $out"
"$bin" kops rewrite build/kops/zext.o -o "$tmp/zext.low" --lowered >/dev/null 2>&1
if [ $kernel_ok -eq 1 ]; then
	pkt=$(packet 6)
	processed() { sed -nE 's/^processed ([0-9]+) insns.*/\1/p' <<<"$1"; }
	a=$(processed "$("$bin" run build/kops/zext.o --engine kernel --verbose --mem "$pkt" 2>&1)")
	b=$(processed "$("$bin" run "$tmp/zext.low" --type xdp --engine kernel --verbose --mem "$pkt" 2>&1)")
	[ -n "$a" ] && [ "$a" -gt 1000 ] && [ "$a" = "$b" ] && ok ||
		bad "zext.o: verifier processed $a insns for the original, $b for the lowered program"
	out=$("$bin" run build/kops/zext.o --type xdp --engine jit --kops --verbose --mem "$pkt" 2>&1)
	grep -q "^safebpf: kops: 1 site, 1 native, unchecked JIT$" <<<"$out" && ok || bad "zext.o --kops: $out"
else
	skip=$((skip + 2))
fi

echo "46-kops-recognize: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
