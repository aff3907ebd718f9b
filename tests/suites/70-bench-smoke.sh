#!/usr/bin/env bash
# The microbenchmark suite (bench/micro) as a correctness test, not a
# timing: every benchmark built both ways (make asan builds the XDP objects
# and native.so), one run per engine with `safebpf bench --check`, and every
# engine must return the expected result of bench/micro/SUITE: kernel JIT,
# interpreter, JIT (checked and unchecked), EInsn (recognize, lower, kernel
# verifier, native emits) and native code. Also: a wrong expectation is
# caught, `safebpf run` passes an object's read-only data to every engine,
# and a tiny timed run writes its CSV and plot. Kernel-side engines (kernel,
# einsn) are skipped, with the reason, without CAP_BPF.
set -u
cd "$(dirname "$0")/../.."
bin=build/asan/safebpf
[ -x "$bin" ] || bin=build/safebpf
pass=0 fail=0 skip=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# 1. everything is built
nbench=0
while read -r name _; do
	case "$name" in ''|\#*) continue ;; esac
	nbench=$((nbench + 1))
	if [ -f "build/bench/micro/$name.o" ]; then ok; else bad "build/bench/micro/$name.o missing (make asan builds it)"; fi
done < bench/micro/SUITE
if [ "$nbench" -ge 24 ]; then ok; else bad "SUITE lists $nbench benchmarks, want at least 24"; fi
if [ -f build/bench/micro/native.so ]; then ok; else bad "build/bench/micro/native.so missing"; fi
if [ -f build/bench/micro/native-clang.so ]; then ok; else bad "build/bench/micro/native-clang.so missing"; fi

# 2. every engine agrees with the expected result on every benchmark
out=$("$bin" bench --check 2>"$tmp/err"); rc=$?
while read -r line; do
	case "$line" in
	"not available: "*)
		echo "skipped: ${line#not available: }"
		skip=$((skip + nbench)) ;;
	*" expect 0x"*:*)
		name=${line%% *}
		for verdict in ${line#*: }; do
			case "$verdict" in
			*=ok) ok ;;
			*=n/a) ;;
			*) bad "$name: ${verdict}" ;;
			esac
		done ;;
	"  "*) echo "note:$line" ;;
	esac
done <<<"$out"
lines=$(grep -c " expect 0x" <<<"$out")
if [ "$lines" -eq "$nbench" ]; then ok; else bad "bench --check printed $lines benchmark lines, want $nbench: $(cat "$tmp/err")"; fi
if grep -q "=WRONG\|=ERROR" <<<"$out"; then
	[ $rc -eq 1 ] && ok || bad "bench --check found a problem but exited $rc"
else
	[ $rc -eq 0 ] && ok || bad "bench --check exited $rc: $(cat "$tmp/err")"
fi

# 3. a wrong expectation is reported on every engine and fails the run
printf 'crc32 0x12345678 wrong on purpose\n' > "$tmp/SUITE"
out=$("$bin" bench --check --suite "$tmp/SUITE" --engines interp,jit-unchecked,native 2>&1); rc=$?
# (native = native-gcc and native-clang, and the faster of them: five columns)
if [ $rc -eq 1 ] && [ "$(grep -o '=WRONG(0x77985f6a)' <<<"$out" | wc -l)" -eq 5 ]; then ok
else bad "a wrong expectation: want exit 1 and five WRONG(0x77985f6a), got $rc: $out"; fi

# 4. safebpf run gives an object's read-only data (crc32's table) to every engine
pkt=$(grep -v '^#' bench/micro/packet.txt | tr -d ' \n')
engines="interp jit jit-unchecked"
kout=$("$bin" run build/bench/micro/crc32.o --engine kernel --mem "$pkt" 2>&1)
if grep -q "cannot use the kernel" <<<"$kout"; then
	echo "kernel run: skipped (${kout#*cannot use the kernel: })"; skip=$((skip + 1))
else
	engines="$engines kernel"
fi
for e in $engines; do
	out=$("$bin" run build/bench/micro/crc32.o --engine "$e" --mem "$pkt" 2>&1)
	if grep -qE '^r0 = 0x(ffffffff)?77985f6a' <<<"$out"; then ok; else bad "run crc32.o on $e: $out"; fi
done

# 5. a tiny timed run writes the CSV files, and with the kernel JIT as the
# baseline the ratios, geomeans and the plot (when gnuplot is here)
timed=jit-unchecked,native
[ "${engines% kernel}" != "$engines" ] && timed=kernel,$timed
out=$("$bin" bench --only crc32,jhash --engines "$timed" --rounds 2 --time 1 --out "$tmp/res" 2>&1); rc=$?
if [ $rc -eq 0 ] && grep -q "^crc32 " <<<"$out"; then ok; else bad "timed run exited $rc: $out"; fi
# "native" is three columns: native-gcc, native-clang and the faster of them
nmeas=$(( 2 * 2 * ($(tr ',' '\n' <<<"$timed" | wc -l) + 2) ))
if [ "$(grep -c '^crc32,\|^jhash,' "$tmp/res/micro.csv" 2>/dev/null)" -eq "$nmeas" ]; then ok
else bad "micro.csv: want $nmeas measurements: $(cat "$tmp/res/micro.csv" 2>&1)"; fi
if head -1 "$tmp/res/micro-summary.csv" 2>/dev/null | grep -q "^benchmark,engine,state,rounds,runs,median_ns"; then ok
else bad "micro-summary.csv header"; fi
# the native column is, per benchmark, the faster of the gcc and clang builds
for b in crc32 jhash; do
	m=$(awk -F, -v b="$b" '$1 == b && $3 == "ok" { t[$2] = $6 } END {
		best = t["native-gcc"] < t["native-clang"] ? t["native-gcc"] : t["native-clang"]
		print (t["native"] != "" && t["native"] == best) ? "ok" : "bad " t["native-gcc"] " " t["native-clang"] " " t["native"] }' \
		"$tmp/res/micro-summary.csv" 2>/dev/null)
	[ "$m" = ok ] && ok || bad "$b: native is not the faster of gcc and clang: $m"
done
if [ "${timed#kernel}" = "$timed" ]; then
	echo "ratios and plot: skipped (no kernel JIT baseline)"; skip=$((skip + 2))
else
	if grep -q "^geomean" <<<"$out" && grep -q "speedup over the kernel JIT" <<<"$out"; then ok
	else bad "no geomean / speedup lines: $out"; fi
	if ! command -v gnuplot >/dev/null; then
		echo "plot: skipped (no gnuplot)"; skip=$((skip + 1))
	elif [ -s "$tmp/res/micro.svg" ] && [ -s "$tmp/res/micro.png" ]; then ok
	else bad "no plot: $out"; fi
fi

# 6. bad input is refused with a reason
out=$("$bin" bench --check --only nosuch 2>&1); rc=$?
if [ $rc -eq 3 ] && grep -q "no benchmark of" <<<"$out"; then ok; else bad "--only nosuch: $rc $out"; fi
out=$("$bin" bench --rounds 0 2>&1); rc=$?
if [ $rc -eq 2 ]; then ok; else bad "--rounds 0: $rc $out"; fi

echo "70-bench-smoke: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
