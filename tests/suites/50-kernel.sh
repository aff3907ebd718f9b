#!/usr/bin/env bash
# 50-kernel.sh - the SQL engine's event side against the running kernel:
# every table's minimum verifier-safe programs load (selftest), sources
# deliver exact counts for a deterministic workload, and nothing stays
# loaded or attached afterwards. Skips, saying why, without root/CAP_BPF
# or tracefs.
set -u
cd "$(dirname "$0")/../.."
SB=${SAFEBPF:-build/asan/safebpf}
WL=build/e2e/workload
pass=0 fail=0 skip=0
NCHECKS=17  # checks below, reported as skipped when the kernel cannot be used
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok()   { echo "ok   $1"; pass=$((pass + 1)); }
bad()  { echo "FAIL $1"; fail=$((fail + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
finish() { echo "50-kernel: $pass passed, $fail failed, $skip skipped"; [ "$fail" -eq 0 ]; exit $?; }

if [ ! -x "$SB" ] || [ ! -x "$WL" ]; then
	bad "build: $SB and $WL must exist (make asan)"
	finish
fi

# docs/schema.md ends with the generated reference; it must match the catalog.
marker='<!-- The rest of this file is generated: build/safebpf tables --markdown -->'
awk -v m="$marker" 'found { print } $0 == m { found = 1 }' docs/schema.md | tail -n +2 >"$tmp/schema.doc"
"$SB" tables --markdown >"$tmp/schema.gen"
check "docs/schema.md matches 'safebpf tables --markdown'" "cmp -s '$tmp/schema.doc' '$tmp/schema.gen'"

# Privileges: selftest exits 4 and names the missing capability.
"$SB" selftest >"$tmp/selftest.out" 2>"$tmp/selftest.err"
rc=$?
if [ "$rc" -eq 4 ]; then
	echo "skip kernel tests: $(cat "$tmp/selftest.err")"
	skip=$((skip + NCHECKS))
	finish
fi
if grep -q "tracefs is not mounted" "$tmp/selftest.err"; then
	echo "skip kernel tests: $(cat "$tmp/selftest.err")"
	skip=$((skip + NCHECKS))
	finish
fi

# 1. selftest: every MVSF of every table loads; one PASS per table.
cat "$tmp/selftest.out" "$tmp/selftest.err"
ntables=$("$SB" tables | awk 'NR > 1 && ($3 == "yes" || $3 == "NO") { n++ } END { print n + 0 }')
# (lines "PASS dsl ..." / "n/a  dsl ..." are the other DSLs' MVSFs, checked by their suites)
npass=$(grep '^PASS ' "$tmp/selftest.out" | grep -vc '^PASS dsl ')
nna=$(grep '^n/a ' "$tmp/selftest.out" | grep -vc '^n/a  dsl ')   # tracepoints missing on this kernel
check "selftest exits 0" "[ $rc -eq 0 ]"
check "selftest: every table passes ($npass passed, $nna unavailable, of $ntables)" \
	"[ $((npass + nna)) -eq $ntables ] && [ $ntables -ge 11 ] && [ $npass -ge 1 ]"

# 2. system_calls: exact counts for the workload, latency of a 10 ms sleep.
"$SB" events syscalls -c syscall,duration,ret --ids -- \
	"$WL" --getppid 1000 --open /etc/hostname 7 --fork 3 --sleep-ms 10 --write-null 5 \
	>"$tmp/sc.tsv" 2>"$tmp/sc.err"
rc=$?
cat "$tmp/sc.err"
count() { awk -F'\t' -v nr="$2" 'NR > 1 && $1 == nr { n++ } END { print n + 0 }' "$1"; }
getppid=$(count "$tmp/sc.tsv" 110)
clones=$(awk -F'\t' 'NR > 1 && $1 == 56 && $3 > 0 { n++ } END { print n + 0 }' "$tmp/sc.tsv")
writes=$(count "$tmp/sc.tsv" 1)
sleeps=$(awk -F'\t' 'NR > 1 && $1 == 35 && $3 == 0 && $2 >= 10000000 { n++ } END { print n + 0 }' "$tmp/sc.tsv")
lost=$(sed -n 's/.*lost \([0-9]*\).*/\1/p' "$tmp/sc.err")
check "syscalls: events exits 0" "[ $rc -eq 0 ]"
check "syscalls: getppid rows == 1000 (got $getppid, lost $lost)" "[ $getppid -eq 1000 ]"
check "syscalls: fork (clone) rows returning a pid == 3 (got $clones)" "[ $clones -eq 3 ]"
check "syscalls: write rows == 5 (got $writes)" "[ $writes -eq 5 ]"
check "syscalls: one nanosleep of >= 10 ms returning 0 (got $sleeps)" "[ $sleeps -eq 1 ]"
check "syscalls: nothing lost (lost $lost)" "[ '$lost' = 0 ]"
check "syscalls: no program or link left after close" "grep -q '^detached: yes' '$tmp/sc.err'"

# 3. bpftool sees the programs and links while attached, and not after.
ids() { sed -n "s/.*$1 id \([0-9]*\).*/\1/p" "$2" | tr '\n' ' '; }
"$SB" events process_exec --ids -- bash -c '
	for id in $(sed -n "s/.*link id \([0-9]*\).*/\1/p" "$0"); do
		bpftool link show id "$id" >/dev/null 2>&1 || exit 1
	done
	for id in $(sed -n "s/.*prog id \([0-9]*\).*/\1/p" "$0"); do
		bpftool prog show id "$id" >/dev/null 2>&1 || exit 1
	done' "$tmp/ex.err" >"$tmp/ex.tsv" 2>"$tmp/ex.err"
rc=$?
links=$(ids link "$tmp/ex.err") progs=$(ids prog "$tmp/ex.err")
left=0
for id in $links; do bpftool link show id "$id" >/dev/null 2>&1 && left=$((left + 1)); done
for id in $progs; do bpftool prog show id "$id" >/dev/null 2>&1 && left=$((left + 1)); done
check "bpftool: link(s) $links and program(s) $progs present while attached" "[ $rc -eq 0 ] && [ -n '$links' ]"
check "bpftool: none of them left after exit ($left left)" "[ $left -eq 0 ]"
execs=$(awk -F'\t' 'NR > 1 && $9 ~ /\/bash$/ { n++ } END { print n + 0 }' "$tmp/ex.tsv")
check "process_exec: one row for the exec'd command (got $execs)" "[ $execs -eq 1 ]"

# 4. file_opens: paths read from user memory, exact counts per path.
target="$tmp/target file"
echo hi >"$target"
"$SB" events file_opens -c path,ret -- "$WL" --open "$target" 7 --open "$tmp/missing" 2 \
	>"$tmp/fo.tsv" 2>"$tmp/fo.err"
rc=$?
good=$(awk -F'\t' -v p="$target" 'NR > 1 && $1 == p && $2 >= 0 { n++ } END { print n + 0 }' "$tmp/fo.tsv")
enoent=$(awk -F'\t' -v p="$tmp/missing" 'NR > 1 && $1 == p && $2 == -2 { n++ } END { print n + 0 }' "$tmp/fo.tsv")
check "file_opens: 7 successful opens of the path (got $good)" "[ $rc -eq 0 ] && [ $good -eq 7 ]"
check "file_opens: 2 ENOENT opens of the missing path (got $enoent)" "[ $enoent -eq 2 ]"

# 5. process_fork / process_exit: rows of the workload process.
"$SB" events process_fork -c child_tid -- "$WL" --fork 4 >"$tmp/pf.tsv" 2>"$tmp/pf.err"
forks=$(awk 'NR > 1 && $1 > 0 { n++ } END { print n + 0 }' "$tmp/pf.tsv")
check "process_fork: 4 rows (got $forks)" "[ $forks -eq 4 ]"
"$SB" events process_exit -c group_dead -- "$WL" --fork 2 >"$tmp/pe.tsv" 2>"$tmp/pe.err"
exits=$(awk 'NR > 1 && $1 == "true" { n++ } END { print n + 0 }' "$tmp/pe.tsv")
check "process_exit: the workload's own exit, 1 row (got $exits)" "[ $exits -eq 1 ]"

# 6. Overflow is counted: a 64 KiB ring buffer not read while 20000
# getppid calls run must lose events, and say so. Nothing is consumed until
# the workload exits, so once full the buffer stays full: every missing call
# lost both its records, except perhaps the one whose entry was the last
# record accepted.
"$SB" events syscalls -c syscall --ringbuf 65536 --read-after -- "$WL" --getppid 20000 \
	>"$tmp/of.tsv" 2>"$tmp/of.err"
seen=$(count "$tmp/of.tsv" 110)
lost=$(sed -n 's/.*lost \([0-9]*\).*/\1/p' "$tmp/of.err")
check "overflow: fewer rows than calls ($seen < 20000) and lost counted ($lost >= $((2 * (20000 - seen) - 1)))" \
	"[ $seen -lt 20000 ] && [ ${lost:-0} -ge $((2 * (20000 - seen) - 1)) ]"

finish
