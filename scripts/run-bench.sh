#!/usr/bin/env bash
# run-bench.sh - `make bench`: every benchmark, one after another.
# Benchmarks are commands, not tests: they print tables, write CSV under
# build/bench and draw plots.
#   1. safebpf bench: the microbenchmark suite (bench/micro) on the kernel
#      JIT, interpreter, JIT, EInsn (with the per-op ablation) and native
#      code; results in build/bench/results (BENCHMARKS.md)
#   2. bench-engines.sh: the engines on the sample XDP programs (tests/xdp)
# Arguments go to safebpf bench (e.g. --rounds 11, --only crc32,siphash).
set -eu
cd "$(dirname "$0")/.."
echo "=== safebpf bench (bench/micro)"
build/safebpf bench "$@"
echo
echo "=== bench-engines.sh (tests/xdp samples)"
scripts/bench-engines.sh
