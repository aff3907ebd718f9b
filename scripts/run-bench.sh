#!/usr/bin/env bash
# run-bench.sh - `make bench`: every benchmark, one after another.
# Benchmarks are commands, not tests: they print tables, write CSV under
# build/bench and draw plots.
#   1. safebpf bench: the microbenchmark suite (bench/micro, clang -O2
#      -target bpf) on the kernel JIT, interpreter, JIT, EInsn (with the
#      per-op ablation) and native code; results in build/bench/results
#   2. the same suite built with -mcpu=v3 (32-bit ALU), without the
#      ablation; results in build/bench/results-v3
#   3. the llvm engine against clang -O2 native code (results-clang), and
#      llvm-vs-native.sh: llvm against the faster native build per benchmark
#   4. bench-engines.sh: the engines on the sample XDP programs (tests/xdp)
# Arguments go to both safebpf bench runs (e.g. --rounds 11, --only crc32).
set -eu
cd "$(dirname "$0")/.."
echo "=== safebpf bench (bench/micro, clang -O2 -target bpf)"
build/safebpf bench "$@"
echo
echo "=== safebpf bench (bench/micro, clang -O2 -target bpf -mcpu=v3)"
build/safebpf bench --objdir build/bench/micro/v3 --no-ablation --out build/bench/results-v3 "$@"
echo
echo "=== safebpf bench: llvm against clang -O2 native code"
build/safebpf bench --engines kernel,llvm,native --native build/bench/micro/native-clang.so --no-ablation \
	--out build/bench/results-clang "$@"
echo
echo "=== llvm against the faster of cc -O2 and clang -O2 per benchmark"
scripts/llvm-vs-native.sh build/bench/results build/bench/results-clang
echo
echo "=== bench-engines.sh (tests/xdp samples)"
scripts/bench-engines.sh
