#!/usr/bin/env bash
# 62-sql-generator.sh - 600 random valid queries (10,000 in make test-long)
# from the grammar-based generator (sbpf_query_random: every table, every filter form, aggregates,
# windows, LIMIT, joins; one in three traced with -p, the others with -c):
# every one must compile, pass the kernel verifier after the optimizer's
# fallbacks, and run under mvsf, auto and kernel-max at once on a hostile
# workload (processes, threads, fsync'ed block I/O, TCP, wakeups, events
# across windows). Results are compared as far as the events determine them
# (sqlcheck --help: columns showing times left out, windows merged, LIMIT by
# row count) and must be equal or differ by no more rows than the runs
# reported lost. Verifier rejections reaching the user: zero; no query is
# marked known. Skips without root/CAP_BPF or tracefs.
set -u
cd "$(dirname "$0")/../.."
SB=${SAFEBPF:-build/asan/safebpf}
WL=build/e2e/workload
N=${SQLGEN_QUERIES:-600}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export SAFEBPF_CACHE_DIR="$tmp/cache"
if [ ! -x "$SB" ] || [ ! -x "$WL" ]; then
	echo "62-sql-generator: 0 passed, 1 failed"
	exit 1
fi
"$SB" selftest >/dev/null 2>"$tmp/selftest.err"
if [ $? -eq 4 ] || grep -q "tracefs is not mounted" "$tmp/selftest.err"; then
	echo "skip generator: $(cat "$tmp/selftest.err")"
	echo "62-sql-generator: 0 passed, 0 failed, 1 skipped"
	exit 0
fi
mkdir -p "$tmp/mnt"
t0=$(date +%s)
"$SB" sqlcheck --generate "$N" --seed 1 -j 8 \
	--workload "$WL --getppid 20 --open /etc/hostname 2 --fork 1 --procs 2 --getppid 10 --fsync $tmp 1 --threads 2 --pingpong 5 --signal 1 --faults 2 --end --tcp-data 2 --end --exec 1 --tcp 1 --threads 2 --paced 30 5 --end --stat /etc/hostname 2 --unlink $tmp 1 --rename $tmp 1 --exit-status 1 --exec-fail 1 --mount $tmp/mnt 1" >"$tmp/gen.out" 2>&1
rc=$?
grep -v '^ok \|^KNOWN \|^  \|^workload: spin' "$tmp/gen.out" | head -50
passed=$(sed -n 's/^sqlcheck: \([0-9]*\) passed.*/\1/p' "$tmp/gen.out")
failed=$(sed -n 's/^sqlcheck: [0-9]* passed, \([0-9]*\) failed.*/\1/p' "$tmp/gen.out")
known=$(sed -n 's/^sqlcheck: [0-9]* passed, [0-9]* failed, \([0-9]*\) known.*/\1/p' "$tmp/gen.out")
compared=$(sed -n 's/^sqlcheck: \([0-9]*\) compared .*/\1/p' "$tmp/gen.out")
rejections=$(sed -n 's/.* \([0-9]*\) verifier rejections reached the user.*/\1/p' "$tmp/gen.out")
refused=$(sed -n 's/.*(\([0-9]*\) refused by the verifier).*/\1/p' "$tmp/gen.out")
grep '^sqlcheck: [0-9]* \(queries\|compared\|runs\)' "$tmp/gen.out"
echo "generator: $N queries in $(( $(date +%s) - t0 ))s; ${compared:-?} compared under three plans; ${known:-?} known differences; verifier rejections reaching the user: ${rejections:-?}"
# Fallbacks exist for other kernels; on this one no generated program
# should be refused at all.
if [ "$rc" -ne 0 ] || [ "${failed:-1}" -ne 0 ] || [ "${passed:-0}" -ne "$N" ] ||
   [ "${rejections:-1}" -ne 0 ] || [ "${refused:-1}" -ne 0 ] || [ "${compared:-0}" -lt $(( N / 2 )) ]; then
	echo "62-sql-generator: ${passed:-0} passed, $(( ${failed:-0} > 0 ? ${failed:-0} : 1 )) failed"
	exit 1
fi
echo "62-sql-generator: $passed passed, 0 failed"
