#!/usr/bin/env bash
# run-tests.sh - run every test suite (tests/suites/*.sh, in name order) and
# print one closing line "N passed, N failed, N skipped".
#
# Each suite prints what it likes and ends with a line
#   "<suite>: N passed, N failed[, N skipped]"
# A suite that exits non-zero without such a line counts as one failure.
set -u
cd "$(dirname "$0")/.."
total_pass=0 total_fail=0 total_skip=0
start=$(date +%s)
for suite in tests/suites/*.sh; do
	name=$(basename "$suite" .sh)
	echo "=== $name"
	log=$(mktemp)
	t0=$(date +%s)
	bash "$suite" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
	rm -f "$log"
	if [ -z "$line" ]; then
		echo "$name: exited $rc without a summary line"
		total_fail=$((total_fail + 1))
		continue
	fi
	p=$(sed -E 's/^(.*[^0-9])?([0-9]+) passed.*/\2/' <<<"$line")
	f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
	s=0
	grep -qE '[0-9]+ skipped' <<<"$line" && s=$(sed -E 's/.* ([0-9]+) skipped.*/\1/' <<<"$line")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "$name: exited $rc although it reported no failure"
		f=1
	fi
	echo "--- $name: $p passed, $f failed, $s skipped ($(( $(date +%s) - t0 ))s)"
	total_pass=$((total_pass + p)); total_fail=$((total_fail + f)); total_skip=$((total_skip + s))
done
echo "total time $(( $(date +%s) - start ))s"
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" -eq 0 ]
