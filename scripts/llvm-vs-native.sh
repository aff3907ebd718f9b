#!/usr/bin/env bash
# llvm-vs-native.sh - the llvm engine against the faster of two native
# builds per benchmark (cc -O2 and clang -O2), from two `safebpf bench`
# runs' micro-summary.csv: DIR1 with native = cc -O2, DIR2 with native =
# clang -O2; both with the kernel JIT and llvm. Times are taken relative to
# each run's own kernel JIT, so the two runs' drifts cancel.
#   scripts/llvm-vs-native.sh build/bench/results build/bench/results-clang
set -eu
a=${1:-build/bench/results}/micro-summary.csv
b=${2:-build/bench/results-clang}/micro-summary.csv
awk -F, '
FNR == 1 { f++; next }
$3 == "ok" { r[f, $1, $2] = $11; if (f == 1 && !($1 in seen)) { seen[$1] = 1; order[n++] = $1 } }
END {
	printf "%-14s %9s %9s %9s %9s\n", "benchmark", "gcc/kern", "clang/kern", "llvm/kern", "llvm/best"
	for (i = 0; i < n; i++) {
		p = order[i]
		g = r[1, p, "native"]; c = r[2, p, "native"]; l = r[2, p, "llvm"]
		if (g == "" || c == "" || l == "") continue
		best = g < c ? g : c
		printf "%-14s %9.3f %9.3f %9.3f %9.3f\n", p, g, c, l, l / best
		s += log(l / best); sg += log(g); sc += log(c); sb += log(best); sl += log(l); k++
	}
	if (k) {
		printf "%-14s %9.3f %9.3f %9.3f %9.3f\n", "geomean", exp(sg / k), exp(sc / k), exp(sl / k), exp(s / k)
		printf "llvm time / faster native time: %.3f geomean of %d (1.05 or less: within 5%% of native)\n", exp(s / k), k
		printf "llvm speedup over the kernel JIT: %.2fx; best native: %.2fx\n", 1 / exp(sl / k), 1 / exp(sb / k)
	}
}' "$a" "$b"
