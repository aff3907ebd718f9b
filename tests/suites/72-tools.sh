#!/usr/bin/env bash
# 72-tools.sh - the tool gallery (docs/tools.md): each classic bcc/bpftrace
# tool written there as a query is read from the page and run on the
# deterministic workload (build/e2e/workload) with an exact expected
# result (auto plan); the stack and user-function tools run on
# build/e2e/stackprog, kept alive until the query has read its events,
# bashreadline on an interactive bash fed through script(1). Tools that
# need a workload the machine cannot give every run (block devices, OOM)
# are listed on the page and not run here; capable (a kprobe) must fail
# with the very error the page shows. Kernel checks skip, saying why,
# without privileges.
set -u
cd "$(dirname "$0")/../.."
SB=${SAFEBPF:-build/asan/safebpf}
WL=build/e2e/workload
SP=$PWD/build/e2e/stackprog
pass=0 fail=0 skip=0
NCHECKS=28
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok()   { echo "ok   $1"; pass=$((pass + 1)); }
bad()  { echo "FAIL $1"; fail=$((fail + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
finish() { echo "72-tools: $pass passed, $fail failed, $skip skipped"; [ "$fail" -eq 0 ]; exit $?; }

if [ ! -x "$SB" ] || [ ! -x "$WL" ] || [ ! -x "$SP" ]; then
	bad "build: $SB, $WL and $SP must exist (make asan)"
	finish
fi
"$SB" query -d 1ms 'SELECT COUNT(*) FROM process_exit' >/dev/null 2>"$tmp/probe.err"
if [ $? -ne 0 ]; then
	echo "skip kernel tests: $(grep safebpf "$tmp/probe.err" | head -n 1)"
	skip=$((skip + NCHECKS))
	finish
fi

# The query of tool NAME: the sql block under "### NAME" in docs/tools.md.
tool() { awk -v name="### $1" '$0 == name {f=1; next} f && /^```sql/ {g=1; next} g && /^```/ {exit} g {printf "%s ", $0}' docs/tools.md; }
# run NAME COMMAND [SQL]: the tool's CSV output on COMMAND (traced with -c).
run() {
	local q=${3:-$(tool "$1")}
	[ -n "$q" ] || { echo "no query for $1 in docs/tools.md"; return 1; }
	"$SB" query -f csv -c "$2" "$q" >"$tmp/$1.csv" 2>"$tmp/$1.err"
}
# rows NAME AWK-CONDITION: CSV rows of NAME's output (header skipped) where the condition holds
rows() { python3 - "$tmp/$1.csv" "$2" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
print(sum(1 for r in rows if eval(sys.argv[2], {}, {'r': r})))
PY
}

d="$tmp/files"
mkdir -p "$d" "$tmp/mnt"

run syscount "$WL --getppid 1234"
check "syscount: getppid 1234 calls ($(grep '^getppid,' "$tmp/syscount.csv"))" "grep -qx 'getppid,1234' '$tmp/syscount.csv'"

# Sliding: the last window (the run is shorter than 10 s) covers the run.
run syscount-sliding "$WL --getppid 321 --sleep-ms 1100 --getppid 321"
check "syscount (WINDOW 10s EVERY 1s): several results, the last counts 642 getppid ($(grep -c ',getppid,' "$tmp/syscount-sliding.csv") results; last $(grep ',getppid,' "$tmp/syscount-sliding.csv" | tail -n 1))" \
	"[ \$(grep -c ',getppid,' '$tmp/syscount-sliding.csv') -ge 2 ] && grep ',getppid,' '$tmp/syscount-sliding.csv' | tail -n 1 | grep -q ',getppid,642,'"

run slowcalls "$WL --getppid 10 --sleep-ms 30 --getppid 10"
check "slowcalls: one nanosleep over 10 ms ($(tail -n +2 "$tmp/slowcalls.csv" | cut -d, -f3 | tr '\n' ' '))" \
	"[ \$(rows slowcalls \"r['syscall'] == 'nanosleep'\") -eq 1 ] && [ \$(rows slowcalls \"r['syscall'] == 'getppid'\") -eq 0 ]"

run vfsstat "$WL --write-null 17 --open /etc/hostname 4"
check "vfsstat: 17 writes and 4 openat over its windows" \
	"python3 -c \"
import csv,sys
n={}
for r in csv.DictReader(open('$tmp/vfsstat.csv')): n[r['op']]=n.get(r['op'],0)+int(r['n'])
sys.exit(not (n.get('write')==17 and n.get('openat',0)>=4))\""

run opensnoop "$WL --open /etc/hostname 5 --open $d/missing 3"
check "opensnoop: /etc/hostname opened 5 times, $d/missing failed 3 times with -2" \
	"[ \$(rows opensnoop \"r['path'] == '/etc/hostname' and int(r['fd']) >= 0\") -eq 5 ] && [ \$(rows opensnoop \"r['path'] == '$d/missing' and r['fd'] == '-2'\") -eq 3 ]"

run statsnoop "$WL --stat /etc/hostname 3 --stat $d/none 2"
check "statsnoop: 3 stats of /etc/hostname (0), 2 of a missing path (-2)" \
	"[ \$(rows statsnoop \"r['path'] == '/etc/hostname' and r['ret'] == '0'\") -eq 3 ] && [ \$(rows statsnoop \"r['path'] == '$d/none' and r['ret'] == '-2'\") -eq 2 ]"

run unlinksnoop "$WL --unlink $d 4"
check "unlinksnoop: 4 files of the workload removed" "[ \$(rows unlinksnoop \"r['path'].startswith('$d/wl-unlink-') and r['ret'] == '0'\") -eq 4 ]"

run mountsnoop "$WL --mount $tmp/mnt 2"
check "mountsnoop: 2 tmpfs mounts named wl-tmpfs" "[ \$(rows mountsnoop \"r['source'] == 'wl-tmpfs' and r['fstype'] == 'tmpfs' and r['ret'] == '0'\") -eq 2 ]"

run execsnoop "$WL --exec-fail 2 --exec 2"
check "execsnoop: the command and 2 children exec (0), 2 failed execs with -ENOENT and their argv" \
	"[ \$(rows execsnoop \"r['ret'] == '0'\") -eq 3 ] && [ \$(rows execsnoop \"r['ret'] == '-2' and r['argv'] == 'wl-missing a1 a2'\") -eq 2 ]"

run exitsnoop "$WL --exit-status 2"
check "exitsnoop: 2 exit(7), 2 killed by SIGKILL, the workload's exit(0)" \
	"[ \$(rows exitsnoop \"r['exit_code'] == '7'\") -eq 2 ] && [ \$(rows exitsnoop \"r['exit_signal'] == '9'\") -eq 2 ] && [ \$(rows exitsnoop \"r['exit_code'] == '0' and r['exit_signal'] == '0'\") -eq 1 ]"

run killsnoop "$WL --signal 4"
check "killsnoop: 4 SIGUSR1 sent" "[ \$(rows killsnoop \"r['sig'] == '10'\") -eq 4 ]"

run pidpersec "$WL --fork 5"
check "pidpersec: 5 new tasks over the run's windows" "[ \$(tail -n +2 '$tmp/pidpersec.csv' | awk -F, '{ s += \$2 } END { print s + 0 }') -eq 5 ]"

run forkonly "$WL --fork 3 --exec 2"
check "forkonly (LEFT JOIN): the 3 forks without exec, not the 2 that exec ($(tail -n +2 "$tmp/forkonly.csv" | wc -l) rows)" \
	"[ \$(rows forkonly \"r['parent'] == 'workload'\") -eq 3 ] && [ \$(tail -n +2 '$tmp/forkonly.csv' | wc -l) -eq 3 ]"

run tcpconnect "$WL --tcp 3"
check "tcpconnect: 3 connections to 127.0.0.1" "[ \$(rows tcpconnect \"r['daddr'] == '127.0.0.1'\") -eq 3 ]"

run tcplife "$WL --tcp 2"
check "tcplife: at least 2 sockets with several state changes and a positive life" \
	"[ \$(rows tcplife \"int(r['changes']) >= 3 and int(r['life']) > 0\") -ge 2 ]"

run tcpretrans "$WL --syn-retransmit 4244"
want=$(sed -n 's/^workload: syn-retransmit: \([0-9]*\) retransmissions$/\1/p' "$tmp/tcpretrans.err")
lost=$(sed -n 's/^safebpf: [0-9]* events, \([0-9]*\) lost.*/\1/p' "$tmp/tcpretrans.err" | tail -n 1)
got=$(rows tcpretrans "r['dport'] == '4244' and r['state'] == 'SYN_SENT'")
check "tcpretrans: SYN retransmissions to port 4244 equal the kernel's count ($got of ${want:-?}, ${lost:-?} lost)" \
	"[ -n '$want' ] && [ '$want' -ge 1 ] && [ \$(($want - ${got:-0})) -ge 0 ] && [ \$(($want - ${got:-0})) -le ${lost:-0} ]"

# biosnoop and biolatency: O_DIRECT writes on a directory backed by a block
# device (tmpfs and overlays have no requests), when there is one.
blkdir=
for d in "${TMPDIR:-}" /var/tmp /tmp "$PWD/build"; do
	[ -n "$d" ] && [ -d "$d" ] && [ -w "$d" ] || continue
	mm=$(stat -c '%Hd:%Ld' "$d" 2>/dev/null) || continue
	[ -e "/sys/dev/block/$mm" ] || continue
	blkdir=$(mktemp -d -p "$d" safebpf-tools.XXXXXX) && break
done
if [ -z "$blkdir" ] || ! "$WL" --direct-write "$blkdir" 1 2>/dev/null; then
	echo "skip biosnoop, biolatency: no directory on a block device that takes O_DIRECT writes"
	skip=$((skip + 2))
else
	run biosnoop "$WL --direct-write $blkdir 4"
	lost=$(sed -n 's/^safebpf: [0-9]* events, \([0-9]*\) lost.*/\1/p' "$tmp/biosnoop.err" | tail -n 1)
	got=$(rows biosnoop "r['rwbs'] == 'WS' and r['bytes'] == '28672'")
	check "biosnoop: the workload's 4 O_DIRECT writes of 28 KiB ($got, ${lost:-?} lost)" \
		"[ '$got' -eq 4 ] || { [ '$got' -lt 4 ] && [ \$((4 - $got)) -le ${lost:-0} ]; }"
	run biolatency "$WL --direct-write $blkdir 4"
	n=$(tail -n 1 "$tmp/biolatency.csv" | tr ';' '\n' | sed -n 's/.*=\([0-9]*\)"*$/\1/p' | awk '{ s += $1 } END { print s + 0 }')
	check "biolatency: a histogram of at least the 4 writes' latencies ($n requests)" "[ '$n' -ge 4 ]"
	rm -rf "$blkdir"
fi

# ugc: CPython's USDT probe python:gc__start (Debian's python3.11 has it).
PY=/usr/bin/python3.11
if [ -x "$PY" ] && "$SB" tables --usdt "$PY" 2>/dev/null | grep -q '^python:gc__start '; then
	run ugc "$PY -c 'import gc; gc.disable(); [gc.collect(1) for _ in range(7)]'"
	check "ugc: gc.collect(1) 7 times, generation 1 counted exactly 7 times ($(grep '^1,' "$tmp/ugc.csv"))" \
		"grep -qx '1,7' '$tmp/ugc.csv'"
else
	echo "skip ugc: $PY with USDT probe python:gc__start is not installed"
	skip=$((skip + 1))
fi

# cpudist and runqlat read sched_switch, whose rows belong to the task
# switched out: they run without -c, the workload under a unique name on
# CPU 1 and safebpf on CPU 0, so that no switch of the workload is made by
# safebpf itself (a tracer's own events are not traced). The run ends by
# SIGINT after the workload exited (every event is then recorded).
name=wltool$$
name=${name:0:15}
cp "$WL" "$tmp/$name"
# bg_run NAME SQL WORKLOAD-ARGS: runs SQL pinned to CPU 0 until the workload (CPU 1) is done.
bg_run() {
	taskset -c 0 "$SB" query -f csv "$2" >"$tmp/$1.csv" 2>"$tmp/$1.err" &
	local qp=$!
	while ! grep -q 'attached' "$tmp/$1.err" 2>/dev/null; do
		kill -0 $qp 2>/dev/null || break
		read -r -t 0.05 <> <(:) || true   # poll for the attach line without sleep(1)
	done
	taskset -c 1 "$tmp/$name" $3 >/dev/null 2>&1
	kill -INT $qp
	wait $qp
}
Q=$(tool cpudist | sed "s/ GROUP BY / WHERE o.prev_comm = '$name' AND o.prev_state = 'S' GROUP BY /")
bg_run cpudist "$Q" "--paced 40 5"
check "cpudist: 40 voluntary sleeps of the workload, each with its on-CPU time ($(tail -n +2 "$tmp/cpudist.csv" | cut -d, -f1-2))" \
	"[ \"\$(tail -n +2 '$tmp/cpudist.csv' | cut -d, -f1-2)\" = '$name,40' ]"
Q=$(tool runqlat | sed "s/ GROUP BY / WHERE w.target_comm = 'wl-sleeper' AND w.comm = '$name' GROUP BY /")
bg_run runqlat "$Q" "--wakeup 30"
check "runqlat: 30 wakeups of the workload's sleeper, each with its run-queue latency ($(tail -n +2 "$tmp/runqlat.csv" | cut -d, -f1-2))" \
	"[ \"\$(tail -n +2 '$tmp/runqlat.csv' | cut -d, -f1-2)\" = 'wl-sleeper,30' ]"
Q=$(tool runqlat-oncpu | sed "s/ GROUP BY / WHERE w.target_comm = 'wl-sleeper' AND w.comm = '$name' GROUP BY /")
bg_run runqlat-oncpu "$Q" "--wakeup 30"
check "runqlat-oncpu (three tables): 30 wakeups of the sleeper, each then switched in and out ($(tail -n +2 "$tmp/runqlat-oncpu.csv" | cut -d, -f1-2))" \
	"[ \"\$(tail -n +2 '$tmp/runqlat-oncpu.csv' | cut -d, -f1-2)\" = 'wl-sleeper,30' ]"

# runqlen: three threads spinning on CPU 0; each sample of one finds the two others waiting.
# At 999 Hz: on a busy machine the spinners get a small share of CPU 0's samples.
"$SB" query --freq 999 -f csv -c "$WL --threads 3 --pin 0 --spin-ms 500 --end" "$(tool runqlen)" \
	>"$tmp/runqlen.csv" 2>"$tmp/runqlen.err"
rq=$(python3 - "$tmp/runqlen.csv" <<'PY'
import csv, sys
v = []
for r in csv.DictReader(open(sys.argv[1])):
    if r['cpu'] == '0':
        v += [int(r['runq_len'])] * int(r['samples'])
v.sort()
print(len(v), v[len(v) // 2] if v else -1, v[-1] if v else -1)
PY
)
set -- $rq
check "runqlen: CPU 0 under 3 pinned spinners: $1 samples, median $2, max $3 (>= 5 samples, median and max >= 2, max < 1000)" \
	"[ '${1:-0}' -ge 5 ] && [ '${2:--1}' -ge 2 ] && [ '${3:--1}' -ge 2 ] && [ '${3:-1000}' -lt 1000 ]"

# funclatency: libc's fsync, called 5 times by the workload.
run funclatency "$WL --fsync $tmp/files 5"
n=$(tail -n 1 "$tmp/funclatency.csv" | tr ';' '\n' | sed -n 's/.*=\([0-9]*\)"*$/\1/p' | awk '{ s += $1 } END { print s + 0 }')
check "funclatency: exactly 5 calls of libc fsync, 5 in the histogram ($(tail -n 1 "$tmp/funclatency.csv" | cut -d, -f1), $n)" \
	"[ \"\$(tail -n 1 '$tmp/funclatency.csv' | cut -d, -f1)\" = 5 ] && [ '$n' -eq 5 ]"

# bashreadline: an interactive bash on a pseudo-terminal, fed three lines.
if command -v script >/dev/null && nm -D /bin/bash 2>/dev/null | grep -q ' T readline$'; then
	printf 'echo one\ntrue two\nexit\n' >"$tmp/lines"
	printf '#!/bin/sh\nexec script -qec "bash --norc --noprofile -i" /dev/null <"%s" >/dev/null\n' "$tmp/lines" >"$tmp/rl.sh"
	chmod +x "$tmp/rl.sh"
	run bashreadline "$tmp/rl.sh"
	got=$(tail -n +2 "$tmp/bashreadline.csv" | cut -d, -f2- | tr '\n' '|')
	check "bashreadline: the 3 lines typed, in order ($got)" "[ '$got' = 'echo one|true two|exit|' ]"
else
	echo "skip bashreadline: no script(1), or /bin/bash does not export readline"
	skip=$((skip + 1))
fi

# The stack tools on stackprog, held on a pipe before and after its work:
# sp_run NAME STACKPROG-ARGS -- QUERY-OPTIONS: the tool's CSV output in $tmp/NAME.csv.
. tests/common/stackprog.sh
sp_run() { local name=$1; shift; stackprog_query "$tmp/$name.csv" "$@" -f csv "$(tool "$name")"; }
# sumrows NAME COLUMN CONDITION: the sum of COLUMN over NAME's rows where CONDITION holds
sumrows() { python3 - "$tmp/$1.csv" "$2" "$3" <<'PY'
import csv, sys
print(sum(int(r[sys.argv[2]]) for r in csv.DictReader(open(sys.argv[1])) if eval(sys.argv[3], {}, {'r': r})))
PY
}

sp_run profile --spin 300 -- --freq 499
all=$(sumrows profile samples "r['comm'] == 'stackprog'")
spin=$(sumrows profile samples "r['comm'] == 'stackprog' and r['ustack'].endswith('main;sbpf_spin_outer;sbpf_spin_leaf')")
check "profile: $spin of stackprog's $all samples in main;sbpf_spin_outer;sbpf_spin_leaf (>= 20, >= 80%)" \
	"[ $spin -ge 20 ] && [ \$((spin * 100)) -ge \$((all * 80)) ]"

sp_run offcputime --naps 20 --
n=$(sumrows offcputime switches "r['comm'] == 'stackprog' and r['ustack'].endswith('main;sbpf_nap') and 'do_nanosleep;schedule' in r['kstack']")
check "offcputime: exactly 20 switches out of stackprog in main;sbpf_nap, kernel stack through do_nanosleep;schedule ($n)" \
	"[ '$n' -eq 20 ]"

sp_run stackcount --calls 300 --
check "stackcount: one stack ending in main;sbpf_stack_outer;sbpf_stack_mid;sbpf_stack_leaf, exactly 300 ($(tail -n +2 "$tmp/stackcount.csv" | wc -l) stacks)" \
	"[ \$(tail -n +2 '$tmp/stackcount.csv' | wc -l) -eq 1 ] && tail -n 1 '$tmp/stackcount.csv' | grep -q 'main;sbpf_stack_outer;sbpf_stack_mid;sbpf_stack_leaf,300\$'"

# capable needs a kprobe: the query fails with the error the page shows.
cq=$(sed -n "s/^  \$ safebpf query '\(.*\)'$/\1/p" docs/tools.md | head -n 1)
cwant=$(grep -A1 "^  \$ safebpf query '" docs/tools.md | sed -n 2p | sed 's/^  //')
"$SB" query "$cq" >/dev/null 2>"$tmp/capable.err"
rc=$?
check "capable: exit 3 with the page's error line ($(head -n 1 "$tmp/capable.err"))" \
	"[ $rc -eq 3 ] && [ -n '$cq' ] && [ \"\$(head -n 1 '$tmp/capable.err')\" = \"\$cwant\" ]"

finish
