#!/usr/bin/env bash
# 64-output.sh - machine-readable output read back by real parsers: CSV per
# RFC 4180 (a path with a comma, a double quote and a newline, parsed by
# Python's csv module), NDJSON whose integers beyond 2^53 are strings (so
# a double-based parser loses nothing), and --time wall (RFC 3339 UTC with
# nanoseconds, within the run's wall-clock span). The workload
# (tests/e2e/workload) opens the odd path exactly twice. Skips without
# privileges, saying why.
set -u
cd "$(dirname "$0")/../.."
SB=${SAFEBPF:-build/asan/safebpf}
WL=build/e2e/workload
pass=0 fail=0 skip=0
NCHECKS=8
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ok()   { echo "ok   $1"; pass=$((pass + 1)); }
bad()  { echo "FAIL $1"; fail=$((fail + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
finish() { echo "64-output: $pass passed, $fail failed, $skip skipped"; [ "$fail" -eq 0 ]; exit $?; }

if [ ! -x "$SB" ] || [ ! -x "$WL" ]; then
	bad "build: $SB and $WL must exist (make asan)"
	finish
fi
"$SB" query --time sometimes 'SELECT COUNT(*) FROM system_calls' >/dev/null 2>"$tmp/t.err"
check "--time takes wall or boot (exit 2)" "[ $? -eq 2 ] && grep -q 'wall or boot' '$tmp/t.err'"
"$SB" query -d 1ms 'SELECT COUNT(*) FROM process_exit' >/dev/null 2>"$tmp/probe.err"
if [ $? -ne 0 ]; then
	echo "skip kernel tests: $(grep safebpf "$tmp/probe.err" | head -n 1)"
	skip=$((skip + NCHECKS - 1))
	finish
fi

odd="$tmp/a,b\"c
d"
touch "$odd"
Q="SELECT path, COUNT(*) AS n, 9007199254740991 + COUNT(*) AS big, -9007199254740991 - COUNT(*) AS neg, MIN(ts) AS first FROM file_opens WHERE path LIKE '$tmp/%' GROUP BY path"
"$SB" query -f csv -c "$WL --open '$odd' 2" "$Q" >"$tmp/out.csv" 2>"$tmp/csv.err"
check "csv: exits 0" "[ $? -eq 0 ]"
check "csv: RFC 4180 quoting reads back the path with comma, quote and newline" "python3 - '$tmp/out.csv' '$odd' <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline='')))
assert len(rows) == 1, rows
r = rows[0]
assert r['path'] == sys.argv[2], r
assert r['n'] == '2' and r['big'] == '9007199254740993' and r['neg'] == '-9007199254740993', r
PY"
t0=$(date +%s%N)
"$SB" query -f json --time wall -c "$WL --open '$odd' 2" "$Q" >"$tmp/out.json" 2>"$tmp/json.err"
check "json: exits 0" "[ $? -eq 0 ]"
t1=$(date +%s%N)
check "json: NDJSON, one object per line, every line parses" "python3 -c '
import json, sys
lines = open(sys.argv[1]).read().split(\"\\n\")
assert lines[-1] == \"\" and all(json.loads(l) is not None for l in lines[:-1]) and len(lines) == 3
' '$tmp/out.json'"
check "json: integers beyond 2^53 are strings, exact; 2^53-1 + 1 = 2^53 is still a number" "python3 - '$tmp/out.json' <<'PY'
import json, sys
row = json.loads(open(sys.argv[1]).readline())
assert row['big'] == '9007199254740993' and row['neg'] == '-9007199254740993', row
assert row['n'] == 2
PY"
"$SB" query -f json -c "$WL --open '$odd' 1" "SELECT 9007199254740991 + COUNT(*) AS edge FROM file_opens WHERE path LIKE '$tmp/%'" >"$tmp/edge.json" 2>/dev/null
check "json: 2^53 itself stays a number" "grep -qx '{\"edge\":9007199254740992}' '$tmp/edge.json'"
check "json --time wall: RFC 3339 UTC with nanoseconds inside the run" "python3 - '$tmp/out.json' $t0 $t1 <<'PY'
import json, sys, re, calendar, time
row = json.loads(open(sys.argv[1]).readline())
m = re.fullmatch(r'(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{9})Z', row['first'])
assert m, row
ns = calendar.timegm(time.strptime(m.group(1), '%Y-%m-%dT%H:%M:%S')) * 10**9 + int(m.group(2))
assert int(sys.argv[2]) <= ns <= int(sys.argv[3]), (ns, sys.argv[2:])
PY"
finish
