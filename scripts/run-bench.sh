#!/usr/bin/env bash
# run-bench.sh - `make bench`: every benchmark script, one after another.
# Benchmarks are commands, not tests: they print tables, write CSV under
# build/bench and draw plots.
set -eu
cd "$(dirname "$0")/.."
scripts/bench-engines.sh "$@"
