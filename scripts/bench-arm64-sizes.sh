#!/usr/bin/env bash
# bench-arm64-sizes.sh - code size of every microbenchmark (bench/micro,
# clang -O2 -target bpf, or the objects in $1) on the AArch64 and x86-64
# backends, vanilla (jit-unchecked) and with EInsn (the recognizer's sites,
# kept only where the kernel verifier accepts the lowered program, compiled
# to native emits; as `safebpf bench` does). Sizes need no AArch64
# hardware: both backends compile on any host. Then the dynamic ARM64
# instruction count of one benchmark run (the bench packet,
# bench/micro/packet.txt, as XDP): the interpreter's per-slot execution
# counts times each slot's emitted ARM64 instructions (`safebpf jit
# --count-mem`; Debian's qemu-user has no TCG plugin to count them). Prints
# two tables and writes build/bench/arm64-sizes.csv. Needs root for the
# verifier (without it the rewrite is not verified: --no-verify, and the
# table says so).
set -eu
cd "$(dirname "$0")/.."
objdir=${1:-build/bench/micro}
bin=build/safebpf
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
verify=--verify
[ "$(id -u)" -eq 0 ] || verify=--no-verify
mkdir -p build/bench
csv=build/bench/arm64-sizes.csv
echo "benchmark,arm64_vanilla,arm64_einsn,x86_64_vanilla,x86_64_einsn,sites,ebpf_executed_vanilla,arm64_insns_vanilla,ebpf_executed_einsn,arm64_insns_einsn" >"$csv"
grep -v '^#' bench/micro/packet.txt | tr -cd '0-9a-fA-F' | xxd -r -p >"$tmp/packet.bin"

# count FILE ARGS...: "EXECUTED NATIVE" of one run on the packet (arm64)
count() {
	"$bin" jit "$@" --arch arm64 --unchecked --type xdp --count-mem "$tmp/packet.bin" 2>/dev/null |
		sed -nE 's/^count: .*, ([0-9]+) eBPF instructions executed -> ([0-9]+) arm64 instructions.*/\1 \2/p'
}
dyn=()

# size FILE ARGS...: bytes of code `safebpf jit` reports
size() {
	"$bin" jit "$@" --unchecked --type xdp 2>/dev/null |
		sed -nE 's/.* -> ([0-9]+) bytes of .*/\1/p' | head -n 1
}

printf "%-14s %13s %13s %8s %13s %13s %8s  %s\n" benchmark "arm64 vanilla" "arm64 EInsn" "EInsn/v" \
	"x86 vanilla" "x86 EInsn" "arm/x86" "sites (op:count)"
sum_v=0 sum_e=0 sum_xv=0 sum_xe=0 gm_a=0 gm_x=0 n=0
for obj in "$objdir"/*.o; do
	name=$(basename "$obj" .o)
	"$bin" kops rewrite "$obj" -o "$tmp/$name.s" --ret32 $verify >"$tmp/$name.log" 2>&1 || {
		echo "$name: rewrite failed: $(tail -n 1 "$tmp/$name.log")"; continue; }
	ro=()
	[ -s "$tmp/$name.s.rodata" ] && ro=(--rodata "$tmp/$name.s.rodata")
	av=$(size "$obj" --arch arm64)
	ae=$(size "$tmp/$name.s" --arch arm64 --kops-unverified "${ro[@]}")
	xv=$(size "$obj" --arch x86_64)
	xe=$(size "$tmp/$name.s" --arch x86_64 --kops-unverified "${ro[@]}")
	sites=$("$bin" jit "$tmp/$name.s" --arch arm64 --unchecked --type xdp --kops-unverified "${ro[@]}" 2>/dev/null |
		sed -nE 's/^kops: [0-9]+ sites?, [0-9]+ native \((.*)\), .*/\1/p')
	if [ -z "$av" ] || [ -z "$ae" ] || [ -z "$xv" ] || [ -z "$xe" ]; then
		echo "$name: a compile failed (arm64 $av/$ae, x86-64 $xv/$xe)"; continue
	fi
	printf "%-14s %13d %13d %8.2f %13d %13d %8.2f  %s\n" "$name" "$av" "$ae" \
		"$(echo "$ae / $av" | bc -l)" "$xv" "$xe" "$(echo "$ae / $xe" | bc -l)" "${sites:--}"
	cv=$(count "$obj")
	ce=$(count "$tmp/$name.s" --kops-unverified "${ro[@]}")
	echo "$name,$av,$ae,$xv,$xe,${sites// /},${cv// /,},${ce// /,}" >>"$csv"
	dyn+=("$name ${cv:-0 0} ${ce:-0 0}")
	sum_v=$((sum_v + av)) sum_e=$((sum_e + ae)) sum_xv=$((sum_xv + xv)) sum_xe=$((sum_xe + xe))
	gm_a=$(echo "$gm_a + l($ae / $av)" | bc -l)
	gm_x=$(echo "$gm_x + l($ae / $xe)" | bc -l)
	n=$((n + 1))
done
[ "$n" -gt 0 ] || exit 1
printf "%-14s %13d %13d %8.2f %13d %13d %8.2f  (geomeans of the ratios over %d benchmarks)\n" total \
	"$sum_v" "$sum_e" "$(echo "e($gm_a / $n)" | bc -l)" "$sum_xv" "$sum_xe" "$(echo "e($gm_x / $n)" | bc -l)" "$n"

echo
echo "Dynamic ARM64 instructions of one run on the bench packet (interpreter per-slot counts x emitted instructions):"
printf "%-14s %12s %14s %12s %14s %8s\n" benchmark "eBPF vanilla" "arm64 vanilla" "eBPF EInsn" "arm64 EInsn" "EInsn/v"
gm=0 m=0 tv=0 te=0
for row in "${dyn[@]}"; do
	read -r name ev av ee ae <<<"$row"
	if [ "$av" -eq 0 ] || [ "$ae" -eq 0 ]; then
		printf "%-14s %12s\n" "$name" "(count failed)"; continue
	fi
	printf "%-14s %12d %14d %12d %14d %8.2f\n" "$name" "$ev" "$av" "$ee" "$ae" "$(echo "$ae / $av" | bc -l)"
	gm=$(echo "$gm + l($ae / $av)" | bc -l) m=$((m + 1)) tv=$((tv + av)) te=$((te + ae))
done
[ "$m" -gt 0 ] && printf "%-14s %12s %14d %12s %14d %8.2f  (geomean of the ratios over %d benchmarks)\n" total "" \
	"$tv" "" "$te" "$(echo "e($gm / $m)" | bc -l)" "$m"
[ "$verify" = --verify ] || echo "(not root: EInsn rewrites were not checked by the kernel verifier)"
echo "csv: $csv"
