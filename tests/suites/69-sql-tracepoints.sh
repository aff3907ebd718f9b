#!/usr/bin/env bash
# 69-sql-tracepoints.sh - every tracepoint is a table: generic tables
# (SUBSYSTEM.EVENT, tracepoint.SUBSYSTEM.EVENT) built from tracefs formats at
# run time give exact counts on the deterministic workload under every plan
# (mvsf, auto, kernel-max), strings included; unknown tracepoints are caret
# errors with a suggestion; `tables --all` lists them; selftest loads the
# MVSF of named generic tables. Then the stable tables added next to them
# (sched_wakeup_new, process_exit's status, the path tables, tcp_retransmits,
# oom_kills) on workloads with exact expected counts. About a minute.
set -u
cd "$(dirname "$0")/../.."
SB=${SAFEBPF:-build/asan/safebpf}
WL=$PWD/build/e2e/workload
pass=0 fail=0 skip=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok()   { echo "ok   $1"; pass=$((pass + 1)); }
bad()  { echo "FAIL $1"; fail=$((fail + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
finish() { echo "69-sql-tracepoints: $pass passed, $fail failed, $skip skipped"; [ "$fail" -eq 0 ]; exit $?; }

if [ ! -x "$SB" ] || [ ! -x "$WL" ]; then
	bad "build: $SB and $WL must exist (make asan)"

finish
fi

# Without the kernel: a misspelt tracepoint is a caret error with a suggestion.
"$SB" query 'SELECT COUNT(*) FROM oom.mark_victm' >/dev/null 2>"$tmp/bad.err"
rc=$?
check "unknown tracepoint exits 3 (got $rc)" "[ $rc -eq 3 ]"
check "unknown tracepoint: caret and 'did you mean oom.mark_victim'" \
	"grep -q \"unknown table 'oom.mark_victm'\" '$tmp/bad.err' && grep -q 'did you mean oom.mark_victim' '$tmp/bad.err' && grep -q '\\^~~' '$tmp/bad.err'"

"$SB" query -d 1ms 'SELECT COUNT(*) FROM process_exit' >/dev/null 2>"$tmp/probe.err"
if [ $? -ne 0 ]; then
	echo "skip kernel tests: $(grep safebpf "$tmp/probe.err" | head -n 1)"
	skip=$((skip + 30))
finish
fi

# tables --all lists every tracepoint; a generic table shows its typed columns.
"$SB" tables --all >"$tmp/all.txt" 2>&1
ntp=$(grep -c '^[a-z0-9_]*\.[a-z0-9_]' "$tmp/all.txt")
check "tables --all: $ntp tracepoints listed (>= 500), oom.mark_victim and sched.sched_switch among them" \
	"[ $ntp -ge 500 ] && grep -q '^oom.mark_victim ' '$tmp/all.txt' && grep -q '^sched.sched_switch .*prev_comm' '$tmp/all.txt'"
"$SB" tables signal.signal_generate >"$tmp/sg.txt" 2>&1
check "tables signal.signal_generate: event_pid (int), event_comm (string), sig (int), group renamed event_group" \
	"grep -qE '^event_pid +- +int ' '$tmp/sg.txt' && grep -qE '^event_comm +- +string ' '$tmp/sg.txt' && grep -qE '^sig +- +int ' '$tmp/sg.txt' && grep -qE '^event_group ' '$tmp/sg.txt'"

# selftest of named generic tables (every column set loaded and judged).
"$SB" selftest oom.mark_victim tracepoint.syscalls.sys_enter_getppid signal.signal_generate >"$tmp/st.txt" 2>&1
rc=$?
check "selftest of three generic tables passes (rc $rc)" \
	"[ $rc -eq 0 ] && [ \$(grep -c '^PASS tracepoint\\.' '$tmp/st.txt') -eq 3 ]"

# x86's irq_work tracepoints refuse sampling perf events (EPERM even for
# root): the attach falls back to a counting event, which runs the program.
# (Most of these events are the tool's own ring-buffer wakeups, which fire
# while its program runs: they are skipped by the kernel and counted lost.)
if [ -d /sys/kernel/tracing/events/irq_vectors/irq_work_exit ]; then
	"$SB" query -f csv -d 300ms "SELECT COUNT(*) AS n FROM irq_vectors.irq_work_exit" >"$tmp/iv.csv" 2>"$tmp/iv.err"
	rc=$?
	check "irq_vectors.irq_work_exit attaches and accounts for every event (rc $rc, $(tail -n 1 "$tmp/iv.err"))" \
		"[ $rc -eq 0 ] && grep -qE '^[0-9]+\$' '$tmp/iv.csv' && ! grep -q perf_event_open '$tmp/iv.err' && grep -qE ' fired = [0-9]+ counted' '$tmp/iv.err'"
else
	echo "skip irq_vectors: this kernel has no irq_work tracepoints (not x86)"
	skip=$((skip + 1))
fi

# Exact counts under every plan: a syscall tracepoint, a string field of a
# kernel record (signal_generate's __data_loc comm) and a user string (the
# path behind sys_enter_openat's pointer), and a JOIN of two generic tables.
for plan in mvsf auto kernel-max; do
	"$SB" query --plan "$plan" -f csv -c "$WL --getppid 777 --write-null 3" \
		'SELECT COUNT(*) AS n FROM syscalls.sys_enter_getppid' >"$tmp/g.csv" 2>"$tmp/g.err"
	check "$plan: syscalls.sys_enter_getppid counts 777 ($(tail -n 1 "$tmp/g.csv"))" \
		"[ \"\$(tail -n 1 '$tmp/g.csv')\" = 777 ]"
	"$SB" query --plan "$plan" -f csv -c "$WL --signal 7 --getppid 5" \
		'SELECT signal.event_comm AS target, COUNT(*) AS n FROM tracepoint.signal.signal_generate AS signal WHERE sig = 10 GROUP BY signal.event_comm' \
		>"$tmp/s.csv" 2>"$tmp/s.err"
	check "$plan: signal.signal_generate: 7 SIGUSR1 to workload ($(tr '\n' ' ' <"$tmp/s.csv"))" \
		"[ \"\$(tail -n +2 '$tmp/s.csv' | tr '\n' ' ')\" = 'workload,7 ' ]"
	"$SB" query --plan "$plan" -f csv -c "$WL --open /dev/null 4 --open $tmp/nope 2" \
		"SELECT filename, COUNT(*) AS n FROM syscalls.sys_enter_openat WHERE filename = '/dev/null' OR filename LIKE '%/nope' GROUP BY filename ORDER BY n" \
		>"$tmp/o.csv" 2>"$tmp/o.err"
	check "$plan: syscalls.sys_enter_openat user-string filename: /dev/null 4, nope 2" \
		"[ \"\$(tail -n +2 '$tmp/o.csv' | tr '\n' ' ')\" = '$tmp/nope,2 /dev/null,4 ' ]"
	"$SB" query --plan "$plan" -f csv -c "$WL --getppid 50 --write-null 2" \
		'SELECT COUNT(*) AS n, MIN(x.ret) > 0 AS ok FROM syscalls.sys_enter_getppid AS e JOIN syscalls.sys_exit_getppid AS x ON e.tid = x.tid' \
		>"$tmp/j.csv" 2>"$tmp/j.err"
	check "$plan: JOIN of sys_enter_getppid and sys_exit_getppid: 50 rows ($(tail -n 1 "$tmp/j.csv"))" \
		"[ \"\$(tail -n 1 '$tmp/j.csv')\" = '50,true' ]"
done

# New stable tables and columns, exact counts on the workload, every plan.
d="$tmp/files"
mkdir -p "$d" "$tmp/mnt"
for plan in mvsf auto kernel-max; do
	q() { "$SB" query --plan "$plan" -f csv -c "$1" "$2" >"$tmp/n.csv" 2>"$tmp/n.err"; tail -n +2 "$tmp/n.csv" | tr '\n' ' '; }
	got=$(q "$WL --fork 3 --getppid 2" 'SELECT comm, COUNT(*) AS n FROM sched_wakeup_new GROUP BY comm')
	check "$plan: sched_wakeup_new: 3 new tasks made runnable by workload ($got)" "[ '$got' = 'workload,3 ' ]"
	got=$(q "$WL --exit-status 2" 'SELECT exit_code, exit_signal, core_dumped, COUNT(*) AS n FROM process_exit GROUP BY exit_code, exit_signal, core_dumped ORDER BY n, exit_code')
	check "$plan: process_exit: 2 exit(7), 2 SIGKILL, the workload's exit(0) ($got)" \
		"[ '$got' = '0,0,false,1 0,9,false,2 7,0,false,2 ' ]"
	got=$(q "$WL --exec-fail 2 --getppid 1" "SELECT filename, argv, argc, ret, COUNT(*) AS n FROM exec_calls GROUP BY filename, argv, argc, ret ORDER BY n")
	check "$plan: exec_calls: the command's exec with its argv, 2 failed with -ENOENT and their argv ($got)" \
		"[ '$got' = '$WL,$WL --exec-fail 2 --getppid 1,5,0,1 /nonexistent/wl-missing,wl-missing a1 a2,3,-2,2 ' ]"
	got=$(q "$WL --stat /etc/hostname 3 --stat $d/none 2" "SELECT path, ret, COUNT(*) AS n FROM file_stats WHERE path = '/etc/hostname' OR path LIKE '%/none' GROUP BY path, ret ORDER BY n")
	check "$plan: file_stats: /etc/hostname 3 (ret 0), a missing path 2 (-ENOENT) ($got)" \
		"[ '$got' = '$d/none,-2,2 /etc/hostname,0,3 ' ]"
	got=$(q "$WL --unlink $d 4 --rename $d 3" "SELECT COUNT(*) AS n, SUM(ret) AS r FROM file_unlinks WHERE path LIKE '$d/wl-%'")
	check "$plan: file_unlinks: 4 + 3 unlinkat of the workload's files, all 0 ($got)" "[ '$got' = '7,0 ' ]"
	got=$(q "$WL --unlink $d 4 --rename $d 3" "SELECT COUNT(*) AS n, SUM(ret) AS r FROM file_renames WHERE old_path LIKE '$d/wl-ren-%' AND new_path LIKE '%.new'")
	check "$plan: file_renames: 3 renameat2 old -> new, all 0 ($got)" "[ '$got' = '3,0 ' ]"
	got=$(q "$WL --mount $tmp/mnt 3" "SELECT source, target, fstype, ret, COUNT(*) AS n FROM mounts WHERE source = 'wl-tmpfs' GROUP BY source, target, fstype, ret")
	check "$plan: mounts: 3 tmpfs mounts named wl-tmpfs on the test's directory ($got)" \
		"[ '$got' = 'wl-tmpfs,$tmp/mnt,tmpfs,0,3 ' ]"
	got=$(q "$WL --syn-retransmit 4242" "SELECT state, daddr, COUNT(*) AS n FROM tcp_retransmits WHERE dport = 4242 AND daddr = '127.0.0.1' GROUP BY state, daddr")
	want=$(sed -n 's/^workload: syn-retransmit: \([0-9]*\) retransmissions$/\1/p' "$tmp/n.err")
	# Retransmissions run in softirqs: a run of ours can be skipped by the kernel
	# when it interrupts another BPF program (reported as lost). Exact when
	# nothing was lost, else short by at most the loss.
	lost=$(sed -n 's/^safebpf: [0-9]* events, \([0-9]*\) lost.*/\1/p' "$tmp/n.err" | tail -n 1)
	n=${got##*,}; n=${n% }
	check "$plan: tcp_retransmits: SYN retransmissions equal the kernel's RetransSegs ($want) ($got, ${lost:-?} lost)" \
		"[ -n '$want' ] && [ '$want' -ge 1 ] && [ -n '$lost' ] && if [ '$lost' -eq 0 ]; then [ '$got' = 'SYN_SENT,127.0.0.1,$want ' ]; else [ \"\${n:-0}\" -le '$want' ] && [ \$(('$want' - \${n:-0})) -le '$lost' ]; fi"
	cg=/sys/fs/cgroup/memory/sbpf-oom-$$
	if [ -d /sys/fs/cgroup/memory ] && mkdir "$cg" 2>/dev/null && echo 32M >"$cg/memory.limit_in_bytes" &&
		! grep -q . <(tail -n +2 /proc/swaps); then
		got=$(q "sh -c 'echo \$\$ > $cg/cgroup.procs && exec $WL --hog 256'" \
			'SELECT comm, target_comm, anon_rss_kb > 16384 AS big, COUNT(*) AS n FROM oom_kills GROUP BY comm, target_comm, anon_rss_kb > 16384')
		check "$plan: oom_kills: one OOM kill of the hog in a 32 MiB memory cgroup ($got)" "[ '$got' = 'workload,workload,true,1 ' ]"
		rmdir "$cg" 2>/dev/null
	else
		rmdir "$cg" 2>/dev/null
		echo "skip $plan: oom_kills: needs a cgroup v1 memory controller at /sys/fs/cgroup/memory and no swap"
		skip=$((skip + 1))
	fi
done

finish
