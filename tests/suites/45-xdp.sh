#!/usr/bin/env bash
# Clang-compiled XDP programs (tests/xdp/*.c, built by the Makefile into
# build/xdp/*.o) on every engine: each (program, packet) pair of
# tests/xdp/expected.txt must give the expected r0 on the interpreter, the
# JIT (checked and unchecked), llvm and the kernel (BPF_PROG_TEST_RUN), the
# packet a program rewrites must come out identical, and ELF loading must
# choose programs and refuse unsupported objects with a clear reason.
# Kernel checks are skipped, with the reason, without CAP_BPF.
set -u
cd "$(dirname "$0")/../.."
bin=build/asan/safebpf
[ -x "$bin" ] || bin=build/safebpf
pass=0 fail=0 skip=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

kernel_ok=1
why=$("$bin" run tests/xdp/kernel-bugs/atomic-fetch-precision.s --type xdp --engine kernel \
	--mem 149a80dd2e006bfe0000000000000000 2>&1 >/dev/null)
if grep -q "cannot use the kernel" <<<"$why"; then
	kernel_ok=0
	echo "kernel engine: skipped (${why#*cannot use the kernel: })"
fi
engines="interp jit jit-unchecked"
# llvm compiles only what the kernel verifier accepted: with the kernel
[ $kernel_ok -eq 1 ] && engines="$engines llvm kernel"

pkt() { grep "^$1 " tests/xdp/packets.txt | cut -d' ' -f2; }
r0_of() { sed -nE 's/^r0 = (0x[0-9a-f]+).*/\1/p' <<<"$1"; }

# 1. every expected result on every engine
while read -r prog packet want; do
	case "$prog" in ''|\#*) continue ;; esac
	obj=build/xdp/$prog.o
	[ -f "$obj" ] || { bad "$obj missing (make asan builds it)"; continue; }
	for e in $engines; do
		out=$("$bin" run "$obj" --engine "$e" --mem "$(pkt "$packet")" 2>&1)
		got=$(r0_of "$out")
		if [ "$got" = "$(printf '0x%x' "$want")" ]; then ok; else bad "$prog $packet on $e: want $want, got: $out"; fi
	done
	[ $kernel_ok -eq 0 ] && skip=$((skip + 1))
done < tests/xdp/expected.txt

# 2. a program that rewrites the packet leaves the same bytes everywhere
ref=""
for e in $engines; do
	out=$("$bin" run build/xdp/swap.o --engine "$e" --mem "$(pkt udp_dns)" --dump-mem 2>&1)
	mem=$(tail -n +2 <<<"$out" | tr -d ' \n')
	[ -z "$ref" ] && ref=$mem
	if [ "$mem" = "$ref" ] && [ "${mem:0:12}" = "020000000001" ] && [ "${mem:12:12}" = "020000000002" ]; then
		ok
	else
		bad "swap.o on $e: packet after the run differs or MACs not swapped: ${mem:0:48}"
	fi
done

# 3. program choice in a multi-program object
out=$("$bin" run build/xdp/multi.o --mem "$(pkt tcp_ssh)" 2>&1); rc=$?
if [ $rc -eq 3 ] && grep -q "choose one with --prog" <<<"$out" && grep -q xdp_ttl <<<"$out"; then ok
else bad "multi.o without --prog: want exit 3 and the list of programs, got $rc: $out"; fi
for sel in xdp_ttl xdp.frags; do
	for e in $engines; do
		out=$("$bin" run build/xdp/multi.o --prog "$sel" --engine "$e" --mem "$(pkt tcp_ssh)" 2>&1)
		[ "$(r0_of "$out")" = "0x40" ] && ok || bad "multi.o --prog $sel on $e: want TTL 64, got: $out"
	done
done
out=$("$bin" run build/xdp/multi.o --prog nope --mem "$(pkt tcp_ssh)" 2>&1)
grep -q "no program or section named 'nope'" <<<"$out" && ok || bad "--prog nope: $out"

# 4. refusals with a reason
# maps and global data run on the user-space runtime (safebpf/maps.h; the
# llvm engine has no maps yet)
for e in ${engines/llvm/}; do
	out=$("$bin" run build/xdp/uses_map.o --prog xdp_count --engine "$e" --repeat 3 --mem "$(pkt tcp_ssh)" \
		--maps-out - 2>&1)
	grep -q '"value": "0300000000000000"' <<<"$out" && ok || bad "uses_map.o xdp_count on $e: want counts[0] = 3: $out"
	out=$("$bin" run build/xdp/uses_map.o --prog xdp_global --engine "$e" --mem "$(pkt tcp_ssh)" 2>&1)
	[ "$(r0_of "$out")" = "0x2" ] && ok || bad "uses_map.o xdp_global on $e: want XDP_PASS: $out"
done
echo '{"uses_map.data": {"entries": [{"key": "00000000", "value": "02000000"}]}}' >"/tmp/sbpf-45-$$.json"
out=$("$bin" run build/xdp/uses_map.o --prog xdp_global --maps-in "/tmp/sbpf-45-$$.json" --mem "$(pkt tcp_ssh)" 2>&1)
[ "$(r0_of "$out")" = "0x1" ] && ok || bad "uses_map.o xdp_global with limit = 2: want XDP_DROP: $out"
rm -f "/tmp/sbpf-45-$$.json"
# a legacy "maps" section (libbpf 1.0+ refuses it; src/elf/legacy.c reads it)
for e in ${engines/llvm/}; do
	out=$("$bin" run build/xdp/legacy_maps.o --engine "$e" --repeat 2 --mem "$(pkt tcp_ssh)" --maps-out - 2>&1)
	grep -q '{"key": "01000000", "value": "0600000000000000"}' <<<"$out" && ok \
		|| bad "legacy_maps.o on $e: want hits[1] = 6: $out"
done
# a kernel-only helper is refused at load, by number and name
for e in interp jit; do
	out=$("$bin" run build/xdp/uses_printk.o --engine "$e" --mem "$(pkt tcp_ssh)" 2>&1); rc=$?
	if [ $rc -eq 3 ] && grep -q "calls helper 6 (bpf_trace_printk), which is kernel-only" <<<"$out"; then ok
	else bad "uses_printk.o on $e: want the kernel-only refusal, got $rc: $out"; fi
done
if [ $kernel_ok -eq 1 ]; then
	out=$("$bin" run build/xdp/filter.o --type mem --engine kernel --mem "$(pkt tcp_ssh)" 2>&1)
	grep -q "runs XDP programs only" <<<"$out" && ok || bad "kernel engine with --type mem: $out"
	out=$("$bin" run build/xdp/filter.o --engine kernel --mem 0011 2>&1)
	grep -q "at least 14 bytes" <<<"$out" && ok || bad "kernel engine, short packet: $out"
	# 5. timing comes from BPF_PROG_TEST_RUN
	out=$("$bin" run build/xdp/filter.o --engine kernel --mem "$(pkt tcp_ssh)" --repeat 1000 2>&1)
	grep -qE "^time: [0-9.]+ ns per run \(kernel, 1000 runs, kernel-measured\)" <<<"$out" && ok \
		|| bad "kernel --repeat: $out"
	# informational: the verifier bug difftest found (not safebpf's)
	out=$("$bin" run tests/xdp/kernel-bugs/atomic-fetch-precision.s --type xdp --engine kernel \
		--mem 149a80dd2e006bfe0000000000000000 2>&1)
	if [ "$(r0_of "$out")" = "0x2" ]; then
		echo "note: this kernel ($(uname -r)) has the atomic-fetch precision bug (tests/xdp/kernel-bugs)"
	else
		echo "note: this kernel ($(uname -r)) does not show the atomic-fetch precision bug"
	fi
else
	skip=$((skip + 3))
fi
out=$("$bin" run build/xdp/filter.o --engine interp --mem "$(pkt tcp_ssh)" --repeat 100 2>&1)
grep -qE "^time: [0-9.]+ ns per run \(interp, 100 runs\)" <<<"$out" && ok || bad "interp --repeat: $out"

echo "45-xdp: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
