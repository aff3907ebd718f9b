#!/usr/bin/env bash
# run-fuzz.sh SECONDS BIN... - run each libFuzzer target for SECONDS seconds.
#
# Target build/fuzz/<name> starts from its committed seeds in
# tests/fuzz/corpus/<name>/ (read only) and writes what it discovers to
# build/fuzz/corpus/<name>/; crashes go to build/fuzz/artifacts/<name>-*.
# tests/fuzz/<name>.dict is used as a dictionary when present. To keep a
# crashing input as a regression test, fix the bug and copy the artifact into
# tests/fuzz/corpus/<name>/ (the replay suite runs it in `make test`).
# Extra libFuzzer flags may be given in FUZZ_FLAGS (e.g. "-len_control=0").
# Exit status: 0 when no target crashed.
set -u
cd "$(dirname "$0")/.."
if [ $# -lt 2 ]; then
	echo "usage: scripts/run-fuzz.sh SECONDS BIN..." >&2
	exit 2
fi
secs=$1
shift
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
failed=0
for bin in "$@"; do
	name=$(basename "$bin")
	seeds=tests/fuzz/corpus/$name
	work=build/fuzz/corpus/$name
	mkdir -p "$work" "$seeds" build/fuzz/artifacts
	args=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
	      -artifact_prefix="build/fuzz/artifacts/$name-")
	[ -f "tests/fuzz/$name.dict" ] && args+=(-dict="tests/fuzz/$name.dict")
	# fuzz_elf parses in process, where libbpf 1.1 crashes on some objects:
	# keep going in fork mode and report the artifacts (their stacks tell
	# whether the crash is libbpf's or ours)
	[ "$name" = fuzz_elf ] && args+=(-fork=1 -ignore_crashes=1)
	# shellcheck disable=SC2206 # FUZZ_FLAGS is a list of words on purpose
	args+=(${FUZZ_FLAGS:-})
	echo "=== $name: ${secs}s, seeds $seeds ($(ls "$seeds" | wc -l) files)"
	log=build/fuzz/$name.log
	# more seed directories, read where they are (tests/fuzz/<name>.seeds)
	extra=()
	[ -f "tests/fuzz/$name.seeds" ] && mapfile -t extra <"tests/fuzz/$name.seeds"
	"$bin" "${args[@]}" "$work" "$seeds" "${extra[@]}" >"$log" 2>&1
	rc=$?
	runs=$(grep -E 'stat::number_of_executed_units' "$log" | awk '{print $2}')
	cov=$(grep -E '^#[0-9]+' "$log" | tail -n 1 | grep -oE 'cov: [0-9]+' || true)
	if [ $rc -ne 0 ]; then
		failed=$((failed + 1))
		grep -E 'ERROR|property violated|SUMMARY|Test unit written' "$log" | head -n 20 ||
			tail -n 20 "$log"
		echo "$name: CRASH (exit $rc), log $log"
	else
		echo "$name: ok, ${runs:-?} runs, ${cov:-cov ?}, corpus $(ls "$work" | wc -l) files"
		if [ "$name" = fuzz_elf ]; then
			crashes=$(grep -c 'ERROR: AddressSanitizer\|ERROR: UndefinedBehavior\|deadly signal' "$log" || true)
			ours=$(grep -A12 'ERROR: AddressSanitizer\|deadly signal' "$log" | grep -E '^ +#[0-9]' |
			       awk '$0 ~ /libbpf/ {lib=1} $0 ~ /src\/(elf|isa|util)\// && !lib {o=1} /#0 / {lib=0} END {print o+0}')
			echo "$name: $crashes crashes caught in fork mode (inputs in build/fuzz/artifacts/)"
			[ "$ours" = 0 ] || { echo "$name: a crash stack starts in safebpf code"; failed=$((failed + 1)); }
		fi
	fi
done
[ $failed -eq 0 ]
