#!/usr/bin/env bash
# Replays every fuzz target's seed corpus (tests/fuzz/corpus/<target>/) through
# its gcc+ASan build (build/asan/replay/<target>, made by `make asan`). Picks
# up every tests/fuzz/fuzz_*.c; each target counts as one test.
set -u
cd "$(dirname "$0")/../.."
pass=0 fail=0 skip=0
for src in tests/fuzz/fuzz_*.c; do
	[ -e "$src" ] || continue
	name=$(basename "$src" .c)
	bin=build/asan/replay/$name
	corpus=tests/fuzz/corpus/$name
	if [ ! -d "$corpus" ] || [ -z "$(ls -A "$corpus")" ]; then
		echo "$name: skipped (no seed corpus in $corpus)"
		skip=$((skip + 1)); continue
	fi
	if ! make -s --no-print-directory "$bin" >/dev/null 2>&1; then
		echo "$name: FAILED to build $bin"
		fail=$((fail + 1)); continue
	fi
	# tests/fuzz/<target>.seeds names more seed directories (the example
	# programs of a language), read where they are rather than copied.
	extra=()
	[ -f "tests/fuzz/$name.seeds" ] && mapfile -t extra <"tests/fuzz/$name.seeds"
	out=$(ASAN_OPTIONS=detect_leaks=1 "$bin" "$corpus" "${extra[@]}" 2>&1); rc=$?
	if [ $rc -eq 0 ]; then
		echo "$name: $(tail -n 1 <<<"$out")"
		pass=$((pass + 1))
	else
		echo "$out" | tail -n 30
		echo "$name: FAILED (exit $rc)"
		fail=$((fail + 1))
	fi
done
echo "30-fuzz-replay: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
