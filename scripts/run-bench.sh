#!/usr/bin/env bash
# run-bench.sh - `make bench`: every benchmark, one after another.
# Benchmarks are commands, not tests: they print tables, write CSV under
# build/bench and draw plots.
#   1. safebpf bench: the microbenchmark suite (bench/micro, clang -O2
#      -target bpf) on the kernel JIT, interpreter, JIT, EInsn (with the
#      per-op ablation), llvm and native code (gcc -O2 and clang -O2 builds,
#      and per benchmark the faster of the two, which the native gap and
#      llvm / native are measured against); results in build/bench/results
#   2. the same suite built with -mcpu=v3 (32-bit ALU), without the
#      ablation; results in build/bench/results-v3
#   3. bench-engines.sh: the engines on the sample XDP programs (tests/xdp)
# Arguments go to both safebpf bench runs (e.g. --rounds 11, --only crc32).
set -eu
cd "$(dirname "$0")/.."
echo "=== safebpf bench (bench/micro, clang -O2 -target bpf)"
build/safebpf bench "$@"
echo
echo "=== safebpf bench (bench/micro, clang -O2 -target bpf -mcpu=v3)"
build/safebpf bench --objdir build/bench/micro/v3 --no-ablation --out build/bench/results-v3 "$@"
echo
echo "=== bench-engines.sh (tests/xdp samples)"
scripts/bench-engines.sh
