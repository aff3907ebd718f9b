/* catalog.c - the stable schema: tables of kernel events with typed
 * columns, each column mapped to a context value (read with a helper) or to
 * a tracepoint field whose layout is read from tracefs at run time.
 *
 * Names here are the interface people write queries against: change them
 * only by adding aliases. docs/schema.md is generated from these tables
 * (`safebpf tables --markdown`).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sql/sqlInt.h"

/* ---- helpers for the tables below ---------------------------------------- */

#define IN(p, n)      { .probe = (p), .elem = -1, .name = (n) }
#define IE(p, n, e)   { .probe = (p), .elem = (e), .name = (n) }
#define NUM(p, n)     { .conv = SQL_CONV_NUM, .in = { IN(p, n) } }
#define ELEM(p, n, e) { .conv = SQL_CONV_NUM, .in = { IE(p, n, e) } }
#define STR(p, n, m)  { .conv = SQL_CONV_STR, .in = { IN(p, n) }, .strmax = (m) }
#define CONV(c, p, n) { .conv = (c), .in = { IN(p, n) } }
#define DIFF(p1, n1, p0, n0) { .conv = SQL_CONV_DIFF, .in = { IN(p1, n1), IN(p0, n0) } }

/* The context columns every table starts with. @tsp is the probe whose time
 * is the row's time (the closing probe of a paired table); the others
 * describe the task that ran the first probe. */
#define CONTEXT_COLUMNS(tsp) \
	{ "ts", NULL, SQL_T_TIME, "when the row's event happened (ns since boot, CLOCK_MONOTONIC)", NUM(tsp, "$ts") }, \
	{ "cpu", NULL, SQL_T_UINT, "CPU the event ran on", NUM(0, "$cpu") }, \
	{ "pid", "tgid", SQL_T_INT, "process id (thread group id) of the current task", NUM(0, "$pid") }, \
	{ "tid", NULL, SQL_T_INT, "thread id of the current task", NUM(0, "$tid") }, \
	{ "comm", NULL, SQL_T_STR, "command name of the current task (at most 15 characters)", STR(0, "$comm", 16) }, \
	{ "uid", NULL, SQL_T_UINT, "real user id of the current task", NUM(0, "$uid") }, \
	{ "gid", NULL, SQL_T_UINT, "real group id of the current task", NUM(0, "$gid") }, \
	{ "cgroup", NULL, SQL_T_UINT, "cgroup v2 id of the current task", NUM(0, "$cgroup") }

/* The stacks of the task that runs probe @p: kernel and user return
 * addresses taken with bpf_get_stack (the innermost SQL_STACK_DEPTH
 * frames), named in user space (symbolize.c). Not part of SELECT *. */
#define STACK_COLUMNS(p) \
	{ "kstack", NULL, SQL_T_STR, "kernel stack of the current task, root first: \"f1;f2;...;leaf\" (/proc/kallsyms names, innermost 64 frames)", { .conv = SQL_CONV_KSTACK, .in = { IN(p, "$kstack") } } }, \
	{ "ustack", NULL, SQL_T_STR, "user stack of the current task, root first (frame pointers; names from the ELF symbols of the mapped files, innermost 64 frames)", { .conv = SQL_CONV_USTACK, .in = { IN(p, "$ustack"), IN(p, "$pid") } } }

#define NCOLS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- system_calls ----------------------------------------------------------- */

static const char *const syscalls_tps[] = { "raw_syscalls/sys_enter", "raw_syscalls/sys_exit", NULL };
static const struct sql_probe syscalls_probes[] = {
	{ "raw_syscalls/sys_enter", "a thread enters a system call (number, arguments)" },
	{ "raw_syscalls/sys_exit", "the thread returns from it (return value)" },
};
static const struct sql_pairing syscalls_pair = {
	.lkey = { IN(0, "$tid") }, .rkey = { IN(1, "$tid") }, .max_per_key = 1, .thread_key = true,
};
static const struct sql_column syscalls_cols[] = {
	CONTEXT_COLUMNS(1),
	{ "syscall_number", "syscall", SQL_T_INT, "system call number of this architecture (x86-64: 39 = getpid)", NUM(0, "id") },
	{ "enter_ts", NULL, SQL_T_TIME, "when the thread entered the call", NUM(0, "$ts") },
	{ "exit_ts", NULL, SQL_T_TIME, "when it returned (same as ts)", NUM(1, "$ts") },
	{ "duration", "latency", SQL_T_DURATION, "exit_ts - enter_ts", DIFF(1, "$ts", 0, "$ts") },
	{ "ret", NULL, SQL_T_INT, "return value (negative errno on failure)", NUM(1, "ret") },
	{ "arg0", NULL, SQL_T_UINT, "first argument register", ELEM(0, "args", 0) },
	{ "arg1", NULL, SQL_T_UINT, "second argument register", ELEM(0, "args", 1) },
	{ "arg2", NULL, SQL_T_UINT, "third argument register", ELEM(0, "args", 2) },
	{ "arg3", NULL, SQL_T_UINT, "fourth argument register", ELEM(0, "args", 3) },
	{ "arg4", NULL, SQL_T_UINT, "fifth argument register", ELEM(0, "args", 4) },
	{ "arg5", NULL, SQL_T_UINT, "sixth argument register", ELEM(0, "args", 5) },
	STACK_COLUMNS(0),
};

/* ---- scheduler ------------------------------------------------------------------ */

static const char *const switch_tps[] = { "sched/sched_switch", NULL };
static const struct sql_probe switch_probes[] = {
	{ "sched/sched_switch", "a CPU switches from one task to another" },
};
static const struct sql_column switch_cols[] = {
	CONTEXT_COLUMNS(0),
	{ "prev_comm", NULL, SQL_T_STR, "command name of the task switched out", STR(0, "prev_comm", 16) },
	{ "prev_tid", "prev_pid", SQL_T_INT, "thread id of the task switched out (0: idle)", NUM(0, "prev_pid") },
	{ "prev_prio", NULL, SQL_T_INT, "kernel priority of the task switched out (0..139, lower runs first)", NUM(0, "prev_prio") },
	{ "prev_state", NULL, SQL_T_STR, "its state: R (preempted, still runnable), S (sleeping), D (uninterruptible), T, t, X, Z, P, I, or R+", CONV(SQL_CONV_TASK_STATE, 0, "prev_state") },
	{ "next_comm", NULL, SQL_T_STR, "command name of the task switched in", STR(0, "next_comm", 16) },
	{ "next_tid", "next_pid", SQL_T_INT, "thread id of the task switched in (0: idle)", NUM(0, "next_pid") },
	{ "next_prio", NULL, SQL_T_INT, "kernel priority of the task switched in", NUM(0, "next_prio") },
	STACK_COLUMNS(0),
};

static const char *const wakeup_tps[] = { "sched/sched_waking", "sched/sched_wakeup", NULL };
static const struct sql_probe wakeup_probes[] = {
	{ "sched/sched_waking", "a task starts waking a sleeping one (always in the waker's context)" },
	{ "sched/sched_wakeup", "the woken task is runnable (in the waker, or in an interrupt on the "
				"woken task's CPU when the wakeup is queued there)", .any_context = true },
};
/* One waking per wakeup, serialised per task by the kernel: one open event
 * per woken thread. */
static const struct sql_pairing wakeup_pair = {
	.lkey = { IN(0, "pid") }, .rkey = { IN(1, "pid") }, .max_per_key = 1,
};
static const struct sql_column wakeup_cols[] = {
	CONTEXT_COLUMNS(1),
	{ "target_comm", NULL, SQL_T_STR, "command name of the task woken up", STR(0, "comm", 16) },
	{ "target_tid", "target_pid", SQL_T_INT, "thread id of the task woken up", NUM(0, "pid") },
	{ "target_prio", NULL, SQL_T_INT, "its kernel priority", NUM(0, "prio") },
	{ "target_cpu", NULL, SQL_T_INT, "CPU it will run on", NUM(1, "target_cpu") },
	{ "waker_pid", NULL, SQL_T_INT, "process id of the waking task (same as pid)", NUM(0, "$pid") },
	{ "waker_tid", NULL, SQL_T_INT, "thread id of the waking task (same as tid)", NUM(0, "$tid") },
	{ "waker_comm", NULL, SQL_T_STR, "command name of the waking task (same as comm)", STR(0, "$comm", 16) },
	{ "wakee_tid", NULL, SQL_T_INT, "thread id of the task woken up (same as target_tid)", NUM(0, "pid") },
	{ "wakee_comm", NULL, SQL_T_STR, "command name of the task woken up (same as target_comm)", STR(0, "comm", 16) },
	{ "waking_ts", NULL, SQL_T_TIME, "when the waker started the wakeup", NUM(0, "$ts") },
	{ "wakeup_latency", NULL, SQL_T_DURATION, "ts - waking_ts (time to make the task runnable, e.g. a queued remote wakeup)", DIFF(1, "$ts", 0, "$ts") },
};

/* ---- processes ------------------------------------------------------------------ */

static const char *const exec_tps[] = { "sched/sched_process_exec", NULL };
static const struct sql_probe exec_probes[] = {
	{ "sched/sched_process_exec", "a task has replaced its program with execve (runs in the new program's context)" },
};
static const struct sql_column exec_cols[] = {
	CONTEXT_COLUMNS(0),
	{ "filename", NULL, SQL_T_STR, "path of the program file as given to execve (up to 255 bytes)", STR(0, "filename", 256) },
	{ "old_tid", NULL, SQL_T_INT, "thread id before the exec (differs from tid when a non-leader thread exec'ed)", NUM(0, "old_pid") },
};

static const char *const exit_tps[] = { "sched/sched_process_exit", NULL };
static const struct sql_probe exit_probes[] = {
	{ "sched/sched_process_exit", "a task (thread) exits" },
};
static const struct sql_column exit_cols[] = {
	CONTEXT_COLUMNS(0),
	{ "prio", NULL, SQL_T_INT, "kernel priority of the exiting task", NUM(0, "prio") },
	{ "group_dead", "last_thread", SQL_T_BOOL, "true when it was the last thread of its process (the process is gone)", NUM(0, "group_dead") },
	{ "exit_code", "status", SQL_T_INT, "exit status given to exit or exit_group (0..255; 0 when a signal ended it)", CONV(SQL_CONV_EXIT_STATUS, 0, "$task.exit_code") },
	{ "exit_signal", NULL, SQL_T_INT, "number of the signal that ended the task (0: it exited)", CONV(SQL_CONV_EXIT_SIGNAL, 0, "$task.exit_code") },
	{ "core_dumped", NULL, SQL_T_BOOL, "true when the ending signal dumped core", CONV(SQL_CONV_CORE_DUMP, 0, "$task.exit_code") },
};

/* A new task's first wakeup: wake_up_new_task() runs in the creating task. */
static const char *const wakenew_tps[] = { "sched/sched_wakeup_new", NULL };
static const struct sql_probe wakenew_probes[] = {
	{ "sched/sched_wakeup_new", "a newly created task is made runnable for the first time (in the creating task)" },
};
static const struct sql_column wakenew_cols[] = {
	CONTEXT_COLUMNS(0),
	{ "target_comm", NULL, SQL_T_STR, "command name of the new task", STR(0, "comm", 16) },
	{ "target_tid", "target_pid", SQL_T_INT, "thread id of the new task", NUM(0, "pid") },
	{ "target_prio", NULL, SQL_T_INT, "its kernel priority", NUM(0, "prio") },
	{ "target_cpu", NULL, SQL_T_INT, "CPU it will first run on", NUM(0, "target_cpu") },
};

/* execve calls: entry (path, argv from user memory) and return. Keyed by the
 * process: a successful exec from a non-leader thread returns in the
 * leader's thread id. */
static const char *const execc_tps[] = { "syscalls/sys_enter_execve", "syscalls/sys_exit_execve", NULL };
static const struct sql_probe execc_probes[] = {
	{ "syscalls/sys_enter_execve", "a thread calls execve (path and arguments read from user memory)" },
	{ "syscalls/sys_exit_execve", "execve returns: 0 in the new program, or an error in the old one" },
};
static const struct sql_pairing execc_pair = {
	.lkey = { IN(0, "$pid") }, .rkey = { IN(1, "$pid") }, .max_per_key = 1,
};
static const struct sql_column execc_cols[] = {
	CONTEXT_COLUMNS(1),
	{ "filename", "path", SQL_T_STR, "path of the program as passed to execve (up to 255 bytes)", STR(0, "filename", 256) },
	{ "argv", "args", SQL_T_STR, "the first 16 arguments (argv[0] included), each up to 63 bytes, joined by spaces", CONV(SQL_CONV_ARGV, 0, "argv") },
	{ "argc", NULL, SQL_T_INT, "arguments read into argv (at most 16)", CONV(SQL_CONV_ARGC, 0, "argv") },
	{ "ret", NULL, SQL_T_INT, "0 when the new program runs, else a negative errno (-2: ENOENT, -13: EACCES, ...)", NUM(1, "ret") },
	{ "new_comm", NULL, SQL_T_STR, "command name after the call (the new program's when it succeeded)", STR(1, "$comm", 16) },
	{ "enter_ts", NULL, SQL_T_TIME, "when execve was entered", NUM(0, "$ts") },
	{ "exit_ts", NULL, SQL_T_TIME, "when it returned (same as ts)", NUM(1, "$ts") },
	{ "duration", "latency", SQL_T_DURATION, "exit_ts - enter_ts", DIFF(1, "$ts", 0, "$ts") },
};

static const char *const fork_tps[] = { "sched/sched_process_fork", NULL };
static const struct sql_probe fork_probes[] = {
	{ "sched/sched_process_fork", "a task creates a new task: fork, vfork or clone (threads too); runs in the parent" },
};
static const struct sql_column fork_cols[] = {
	CONTEXT_COLUMNS(0),
	{ "parent_tid", "parent_pid", SQL_T_INT, "thread id of the creating task", NUM(0, "parent_pid") },
	{ "parent_comm", NULL, SQL_T_STR, "its command name", STR(0, "parent_comm", 16) },
	{ "child_tid", "child_pid", SQL_T_INT, "thread id of the new task (its process id too, unless it is a thread)", NUM(0, "child_pid") },
	{ "child_comm", NULL, SQL_T_STR, "command name of the new task", STR(0, "child_comm", 16) },
};

/* ---- block I/O ------------------------------------------------------------------- */

static const char *const block_tps[] = { "block/block_rq_issue", "block/block_rq_complete", NULL };
/* A request is allocated for a bio in the task that submits it; it may be
 * handed to the driver later by a kernel worker or from an interrupt. */
/* A cache flush (no sectors) has no single submitter: the kernel merges
 * the flushes waiting at one moment into one request, sent by a worker. */
static const struct sql_origin block_origin = { "block/block_getrq", { "dev", "sector" }, "nr_sector" };
static const struct sql_probe block_probes[] = {
	{ "block/block_rq_issue", "a block request is handed to the device driver (context columns: the task "
				  "that submitted it, recorded at block/block_getrq; for a cache flush, the "
				  "task sending it)", .origin = &block_origin },
	{ "block/block_rq_complete", "the device completes it (usually in interrupt context, in whatever task "
				     "the CPU was running)", .any_context = true },
};
static const struct sql_pairing block_pair = {
	.lkey = { IN(0, "dev"), IN(0, "sector") }, .rkey = { IN(1, "dev"), IN(1, "sector") },
	.max_per_key = 0,
};
static const struct sql_column block_cols[] = {
	CONTEXT_COLUMNS(1),
	{ "dev", NULL, SQL_T_STR, "device as major:minor (see /proc/partitions)", CONV(SQL_CONV_DEV, 0, "dev") },
	{ "sector", NULL, SQL_T_UINT, "first sector (512 bytes) of the request", NUM(0, "sector") },
	{ "bytes", NULL, SQL_T_UINT, "size of the request in bytes", NUM(0, "bytes") },
	{ "rwbs", NULL, SQL_T_STR, "operation flags: R read, W write, D discard, F flush, S sync, M metadata, A readahead, N none", STR(0, "rwbs", 16) },
	{ "issue_ts", NULL, SQL_T_TIME, "when the request was issued to the driver", NUM(0, "$ts") },
	{ "complete_ts", NULL, SQL_T_TIME, "when it completed (same as ts)", NUM(1, "$ts") },
	{ "latency", "duration", SQL_T_DURATION, "complete_ts - issue_ts (device time)", DIFF(1, "$ts", 0, "$ts") },
	{ "error", NULL, SQL_T_INT, "completion status (0: success, else a negative errno)", NUM(1, "error") },
};

/* ---- network ---------------------------------------------------------------------- */

static const char *const tcp_tps[] = { "sock/inet_sock_set_state", NULL };
static const struct sql_probe tcp_probes[] = {
	{ "sock/inet_sock_set_state", "a socket changes protocol state" },
};
static const struct sql_column tcp_cols[] = {
	CONTEXT_COLUMNS(0),
	{ "skaddr", NULL, SQL_T_UINT, "kernel address of the socket (identifies a connection over its lifetime)", NUM(0, "skaddr") },
	{ "family", NULL, SQL_T_STR, "address family: inet or inet6", CONV(SQL_CONV_FAMILY, 0, "family") },
	{ "protocol", NULL, SQL_T_UINT, "IP protocol number (6: TCP)", NUM(0, "protocol") },
	{ "saddr", NULL, SQL_T_STR, "local address", { .conv = SQL_CONV_INET_ADDR, .in = { IN(0, "family"), IN(0, "saddr"), IN(0, "saddr_v6") } } },
	{ "sport", NULL, SQL_T_UINT, "local port", NUM(0, "sport") },
	{ "daddr", NULL, SQL_T_STR, "remote address", { .conv = SQL_CONV_INET_ADDR, .in = { IN(0, "family"), IN(0, "daddr"), IN(0, "daddr_v6") } } },
	{ "dport", NULL, SQL_T_UINT, "remote port", NUM(0, "dport") },
	{ "old_state", "oldstate", SQL_T_STR, "state before: ESTABLISHED, SYN_SENT, SYN_RECV, FIN_WAIT1, FIN_WAIT2, TIME_WAIT, CLOSE, CLOSE_WAIT, LAST_ACK, LISTEN, CLOSING, NEW_SYN_RECV, BOUND_INACTIVE", CONV(SQL_CONV_TCP_STATE, 0, "oldstate") },
	{ "new_state", "newstate", SQL_T_STR, "state after (same names)", CONV(SQL_CONV_TCP_STATE, 0, "newstate") },
};

/* ---- memory and signals ----------------------------------------------------------- */

static const char *const fault_tps[] = { "exceptions/page_fault_user", NULL };
static const struct sql_probe fault_probes[] = {
	{ "exceptions/page_fault_user", "a page fault taken on a user-space address (x86)" },
};
static const struct sql_column fault_cols[] = {
	CONTEXT_COLUMNS(0),
	{ "address", NULL, SQL_T_UINT, "faulting virtual address", NUM(0, "address") },
	{ "ip", NULL, SQL_T_UINT, "instruction pointer of the faulting instruction", NUM(0, "ip") },
	STACK_COLUMNS(0),
	{ "error_code", NULL, SQL_T_UINT, "x86 error code bits: 1 protection violation (else not present), 2 write, 4 user, 16 instruction fetch", NUM(0, "error_code") },
};

static const char *const signal_tps[] = { "signal/signal_generate", NULL };
static const struct sql_probe signal_probes[] = {
	{ "signal/signal_generate", "a signal is sent (runs in the sender's context)" },
};
static const struct sql_column signal_cols[] = {
	CONTEXT_COLUMNS(0),
	{ "sig", NULL, SQL_T_INT, "signal number", NUM(0, "sig") },
	{ "signal", "signame", SQL_T_STR, "signal name without SIG (KILL, TERM, CHLD, ...)", CONV(SQL_CONV_SIGNAL, 0, "sig") },
	{ "code", NULL, SQL_T_INT, "si_code: 0 SI_USER (kill), -6 SI_TKILL, 128 SI_KERNEL, positive: signal-specific", NUM(0, "code") },
	{ "target_tid", "target_pid", SQL_T_INT, "thread id of the receiving task", NUM(0, "pid") },
	{ "target_comm", NULL, SQL_T_STR, "command name of the receiving task", STR(0, "comm", 16) },
	{ "process_wide", "group_signal", SQL_T_BOOL, "true when sent to the whole process rather than one thread", NUM(0, "group") },
	{ "result", NULL, SQL_T_INT, "0 delivered, 1 ignored, 2 already pending, 3 queue overflow, 4 delivered without siginfo", NUM(0, "result") },
};

/* ---- files --------------------------------------------------------------------------- */

static const char *const open_tps[] = { "syscalls/sys_enter_openat", "syscalls/sys_exit_openat", NULL };
static const struct sql_probe open_probes[] = {
	{ "syscalls/sys_enter_openat", "a thread calls openat (path read from user memory)" },
	{ "syscalls/sys_exit_openat", "openat returns (file descriptor or error)" },
};
static const struct sql_pairing open_pair = {
	.lkey = { IN(0, "$tid") }, .rkey = { IN(1, "$tid") }, .max_per_key = 1,
};
static const struct sql_column open_cols[] = {
	CONTEXT_COLUMNS(1),
	{ "path", "filename", SQL_T_STR, "path as passed to openat (up to 255 bytes; empty when the page was not resident)", STR(0, "filename", 256) },
	{ "dfd", NULL, SQL_T_INT, "directory fd the path is relative to (-100: AT_FDCWD)", NUM(0, "dfd") },
	{ "flags", NULL, SQL_T_UINT, "open flags (O_RDONLY 0, O_WRONLY 1, O_RDWR 2, O_CREAT 64, O_TRUNC 512, ...)", NUM(0, "flags") },
	{ "mode", NULL, SQL_T_UINT, "permission bits used when creating", NUM(0, "mode") },
	{ "ret", "fd", SQL_T_INT, "new file descriptor, or a negative errno", NUM(1, "ret") },
	{ "enter_ts", NULL, SQL_T_TIME, "when openat was entered", NUM(0, "$ts") },
	{ "exit_ts", NULL, SQL_T_TIME, "when it returned (same as ts)", NUM(1, "$ts") },
	{ "duration", "latency", SQL_T_DURATION, "exit_ts - enter_ts", DIFF(1, "$ts", 0, "$ts") },
};

/* Paths of other file system calls, read at entry from user memory as
 * file_opens reads the openat path; entry and exit paired by thread. */
#define SYSCALL_PAIR(name) \
	static const struct sql_pairing name = { .lkey = { IN(0, "$tid") }, .rkey = { IN(1, "$tid") }, .max_per_key = 1 }
#define SYSCALL_TIMES(what) \
	{ "enter_ts", NULL, SQL_T_TIME, "when " what " was entered", NUM(0, "$ts") }, \
	{ "exit_ts", NULL, SQL_T_TIME, "when it returned (same as ts)", NUM(1, "$ts") }, \
	{ "duration", "latency", SQL_T_DURATION, "exit_ts - enter_ts", DIFF(1, "$ts", 0, "$ts") }

static const char *const stat_tps[] = { "syscalls/sys_enter_newfstatat", "syscalls/sys_exit_newfstatat", NULL };
static const struct sql_probe stat_probes[] = {
	{ "syscalls/sys_enter_newfstatat", "a thread calls newfstatat: stat, lstat, fstatat and fstat of the C library (path read from user memory)" },
	{ "syscalls/sys_exit_newfstatat", "newfstatat returns" },
};
SYSCALL_PAIR(stat_pair);
static const struct sql_column stat_cols[] = {
	CONTEXT_COLUMNS(1),
	{ "path", "filename", SQL_T_STR, "path as passed (up to 255 bytes; empty for fstat, or when the page was not resident)", STR(0, "filename", 256) },
	{ "dfd", NULL, SQL_T_INT, "directory fd the path is relative to (-100: AT_FDCWD), or the fd itself for fstat", NUM(0, "dfd") },
	{ "flags", NULL, SQL_T_UINT, "AT_ flags (256: AT_SYMLINK_NOFOLLOW, 4096: AT_EMPTY_PATH, ...)", NUM(0, "flag") },
	{ "ret", NULL, SQL_T_INT, "0, or a negative errno (-2: ENOENT)", NUM(1, "ret") },
	SYSCALL_TIMES("newfstatat"),
};

static const char *const unlink_tps[] = { "syscalls/sys_enter_unlinkat", "syscalls/sys_exit_unlinkat", NULL };
static const struct sql_probe unlink_probes[] = {
	{ "syscalls/sys_enter_unlinkat", "a thread calls unlinkat: rm, rmdir, unlinkat() (path read from user memory)" },
	{ "syscalls/sys_exit_unlinkat", "unlinkat returns" },
};
SYSCALL_PAIR(unlink_pair);
static const struct sql_column unlink_cols[] = {
	CONTEXT_COLUMNS(1),
	{ "path", "filename", SQL_T_STR, "path as passed (up to 255 bytes)", STR(0, "pathname", 256) },
	{ "dfd", NULL, SQL_T_INT, "directory fd the path is relative to (-100: AT_FDCWD)", NUM(0, "dfd") },
	{ "flags", NULL, SQL_T_UINT, "512 (AT_REMOVEDIR) for a directory, else 0", NUM(0, "flag") },
	{ "ret", NULL, SQL_T_INT, "0, or a negative errno", NUM(1, "ret") },
	SYSCALL_TIMES("unlinkat"),
};

static const char *const rename_tps[] = { "syscalls/sys_enter_renameat2", "syscalls/sys_exit_renameat2", NULL };
static const struct sql_probe rename_probes[] = {
	{ "syscalls/sys_enter_renameat2", "a thread calls renameat2: mv, renameat2() (paths read from user memory)" },
	{ "syscalls/sys_exit_renameat2", "renameat2 returns" },
};
SYSCALL_PAIR(rename_pair);
static const struct sql_column rename_cols[] = {
	CONTEXT_COLUMNS(1),
	{ "old_path", "oldname", SQL_T_STR, "path renamed (up to 255 bytes)", STR(0, "oldname", 256) },
	{ "new_path", "newname", SQL_T_STR, "its new path (up to 255 bytes)", STR(0, "newname", 256) },
	{ "old_dfd", NULL, SQL_T_INT, "directory fd old_path is relative to (-100: AT_FDCWD)", NUM(0, "olddfd") },
	{ "new_dfd", NULL, SQL_T_INT, "directory fd new_path is relative to", NUM(0, "newdfd") },
	{ "flags", NULL, SQL_T_UINT, "RENAME_ flags (1: NOREPLACE, 2: EXCHANGE, 4: WHITEOUT)", NUM(0, "flags") },
	{ "ret", NULL, SQL_T_INT, "0, or a negative errno", NUM(1, "ret") },
	SYSCALL_TIMES("renameat2"),
};

static const char *const mount_tps[] = { "syscalls/sys_enter_mount", "syscalls/sys_exit_mount", NULL };
static const struct sql_probe mount_probes[] = {
	{ "syscalls/sys_enter_mount", "a thread calls mount (strings read from user memory)" },
	{ "syscalls/sys_exit_mount", "mount returns" },
};
SYSCALL_PAIR(mount_pair);
static const struct sql_column mount_cols[] = {
	CONTEXT_COLUMNS(1),
	{ "source", "dev_name", SQL_T_STR, "what is mounted: device, or a name for pseudo file systems (up to 255 bytes)", STR(0, "dev_name", 256) },
	{ "target", "dir_name", SQL_T_STR, "mount point (up to 255 bytes)", STR(0, "dir_name", 256) },
	{ "fstype", "type", SQL_T_STR, "file system type (ext4, tmpfs, ...; empty for remounts and bind mounts)", STR(0, "type", 64) },
	{ "flags", NULL, SQL_T_UINT, "MS_ flags (1: RDONLY, 4096: BIND, 32: REMOUNT, ...)", NUM(0, "flags") },
	{ "ret", NULL, SQL_T_INT, "0, or a negative errno (-1: EPERM, -16: EBUSY)", NUM(1, "ret") },
	SYSCALL_TIMES("mount"),
};

/* ---- network and memory: retransmissions, OOM kills ------------------------------------- */

static const char *const retrans_tps[] = { "tcp/tcp_retransmit_skb", NULL };
static const struct sql_probe retrans_probes[] = {
	{ "tcp/tcp_retransmit_skb", "TCP retransmits a segment (in a timer or softirq, in whatever task the CPU was running)",
	  .any_context = true },
};
static const struct sql_column retrans_cols[] = {
	CONTEXT_COLUMNS(0),
	{ "skaddr", NULL, SQL_T_UINT, "kernel address of the socket (identifies the connection)", NUM(0, "skaddr") },
	{ "family", NULL, SQL_T_STR, "address family: inet or inet6", CONV(SQL_CONV_FAMILY, 0, "family") },
	{ "saddr", NULL, SQL_T_STR, "local address", { .conv = SQL_CONV_INET_ADDR, .in = { IN(0, "family"), IN(0, "saddr"), IN(0, "saddr_v6") } } },
	{ "sport", NULL, SQL_T_UINT, "local port", NUM(0, "sport") },
	{ "daddr", NULL, SQL_T_STR, "remote address", { .conv = SQL_CONV_INET_ADDR, .in = { IN(0, "family"), IN(0, "daddr"), IN(0, "daddr_v6") } } },
	{ "dport", NULL, SQL_T_UINT, "remote port", NUM(0, "dport") },
	{ "state", NULL, SQL_T_STR, "TCP state of the socket (SYN_SENT: a connection attempt; ESTABLISHED: data)", CONV(SQL_CONV_TCP_STATE, 0, "state") },
	{ "error", NULL, SQL_T_INT, "0 when the segment was sent again, else a negative errno (recent kernels only)", NUM(0, "err") },
};

static const char *const oom_tps[] = { "oom/mark_victim", NULL };
static const struct sql_probe oom_probes[] = {
	{ "oom/mark_victim", "the OOM killer picks a victim (in the task whose allocation failed)" },
};
static const struct sql_column oom_cols[] = {
	CONTEXT_COLUMNS(0),
	{ "target_tid", "victim_pid", SQL_T_INT, "process id of the task killed", NUM(0, "pid") },
	{ "target_comm", "victim_comm", SQL_T_STR, "its command name", STR(0, "comm", 16) },
	{ "total_vm_kb", NULL, SQL_T_UINT, "its virtual memory size (KiB)", NUM(0, "total_vm") },
	{ "anon_rss_kb", NULL, SQL_T_UINT, "its resident anonymous memory (KiB)", NUM(0, "anon_rss") },
	{ "file_rss_kb", NULL, SQL_T_UINT, "its resident file-backed memory (KiB)", NUM(0, "file_rss") },
	{ "shmem_rss_kb", NULL, SQL_T_UINT, "its resident shared memory (KiB)", NUM(0, "shmem_rss") },
	{ "target_uid", NULL, SQL_T_UINT, "its user id", NUM(0, "uid") },
	{ "oom_score_adj", NULL, SQL_T_INT, "its oom_score_adj (-1000..1000)", NUM(0, "oom_score_adj") },
};

/* ---- sampling ----------------------------------------------------------------------------- */

/* A software CPU clock (PERF_COUNT_SW_CPU_CLOCK) on every CPU, at the
 * frequency the run asks for (--freq, default SQL_SAMPLE_HZ). */
static const char *const sample_tps[] = { SQL_CPU_CLOCK_TP, NULL };
static const struct sql_probe sample_probes[] = {
	{ SQL_CPU_CLOCK_TP, "a CPU's software clock ticks (perf event, --freq times a second per CPU), in "
			    "whatever task the CPU is running" },
};
static const struct sql_column sample_cols[] = {
	CONTEXT_COLUMNS(0),
	{ "runq_len", NULL, SQL_T_INT, "tasks waiting on the sampled CPU's run queue, the running one not counted (rq->nr_running - 1, 0 when idle; read through the kernel's BTF)", NUM(0, "$runq") },
	STACK_COLUMNS(0),
};

/* ---- the catalog ----------------------------------------------------------------------- */

#define EVENT_TABLE(nm, al, dc, cols, tps, probes, nt, at, gap) \
	{ nm, al, dc, cols, NCOLS(cols), tps, probes, NCOLS(probes), NULL, nt, at, gap }
#define PAIRED_TABLE(nm, al, dc, cols, tps, probes, pr, nt, at, gap) \
	{ nm, al, dc, cols, NCOLS(cols), tps, probes, NCOLS(probes), pr, nt, at, gap }

static const struct sql_table tables[] = {
	PAIRED_TABLE("system_calls", "syscalls", "one row per completed system call", syscalls_cols,
		     syscalls_tps, syscalls_probes, &syscalls_pair,
		     "Entry and exit are paired by thread in user space. A call that never returns "
		     "(exit, exit_group) gives no row; "
		     "its entry is dropped when the thread enters its next call or when the pairing "
		     "state is full, and counted as evicted. Context columns (pid, comm, ...) are taken "
		     "at entry, so an execve row shows the old command name.",
		     "rows belong to the thread that made the call (entry and exit run in it); -p/-c match its pid",
		     NULL),
	EVENT_TABLE("sched_switch", NULL, "one row per context switch", switch_cols, switch_tps, switch_probes,
		    "Runs in the context of the task being switched out, so pid/tid/comm equal "
		    "prev_tid's process. prev_state letters follow the kernel's TASK_REPORT order and "
		    "may differ on very old kernels.",
		    "rows belong to the task switched out (the tracepoint runs in it); -p/-c match its pid, "
		    "so switches to a traced task from an untraced one are not kept (next_tid is the task switched in)",
		    NULL),
	PAIRED_TABLE("sched_wakeup", NULL, "one row per task wakeup", wakeup_cols, wakeup_tps, wakeup_probes,
		     &wakeup_pair,
		     "The context columns (and waker_*) describe the waker, taken at sched_waking, which "
		     "runs in the waker; the target_* (and wakee_*) columns the task woken up. "
		     "sched_wakeup alone would not do: when the wakeup is queued to the woken task's CPU it "
		     "runs there, in an interrupt, in whatever task that CPU was running.",
		     "rows belong to the waker, the task that ran sched_waking; -p/-c match its pid. The task "
		     "woken up is in wakee_tid/wakee_comm: wakeups of a traced task by others are not kept",
		     "wakeups made from an interrupt (timers, devices) belong to the task the interrupt found, "
		     "not to the traced processes; wakeups of the traced processes by other tasks are not kept"),
	EVENT_TABLE("process_exec", NULL, "one row per successful execve", exec_cols, exec_tps, exec_probes,
		    "Runs after the new program is loaded: comm is already the new command name.",
		    "rows belong to the task that called execve (the tracepoint runs in it after the exec); "
		    "-p/-c match its pid",
		    NULL),
	EVENT_TABLE("process_exit", NULL, "one row per exiting task (thread)", exit_cols, exit_tps, exit_probes,
		    "Every thread exit is a row; filter on group_dead for whole processes.",
		    "rows belong to the exiting task (the tracepoint runs in it); -p/-c match its pid",
		    NULL),
	EVENT_TABLE("process_fork", NULL, "one row per task creation", fork_cols, fork_tps, fork_probes,
		    "Thread creation (clone with CLONE_THREAD) is a row too: child_tid is then a thread id.",
		    "rows belong to the parent (the tracepoint runs in it); -p/-c match the parent's pid, "
		    "and -c follows the children it creates",
		    NULL),
	PAIRED_TABLE("block_io", NULL, "one row per completed block-device request", block_cols,
		     block_tps, block_probes, &block_pair,
		     "Issue and completion are paired by (dev, sector). Context columns describe the task "
		     "that submitted the request (see Attribution); ts is the completion time. Requests "
		     "completed without an issue event (e.g. issued before the query started) give no row.",
		     "rows belong to the task that submitted the request: its identity is recorded at "
		     "block_getrq, in the submitting task, when the request is allocated for its first bio, "
		     "and taken by block_rq_issue even when a kernel worker or an interrupt hands the request "
		     "to the driver (deferred dispatch); the completion runs in an interrupt and says nothing. "
		     "Writeback of dirty pages and journal writes are submitted by kernel threads (kworker, "
		     "jbd2) and belong to them; a cache flush (rwbs FF, no sectors) serves every fsync "
		     "waiting when it is sent and belongs to the kernel worker that sends it; a request "
		     "allocated before the query started belongs to the task that ran block_rq_issue. -p/-c "
		     "match the submitting task's pid",
		     "rows belong to the task that submitted the request: writeback of the traced processes' "
		     "dirty pages, journal writes and cache flushes are sent by kernel threads and are not kept"),
	EVENT_TABLE("tcp_state", NULL, "one row per TCP socket state change", tcp_cols, tcp_tps, tcp_probes,
		    "Connection set-up and tear-down: a new outgoing connection goes CLOSE -> SYN_SENT -> "
		    "ESTABLISHED. Ports are in host byte order. The context is whatever task (or softirq) "
		    "made the change.",
		    "rows belong to the task running when the state changed: the process itself for connect, "
		    "listen, accept and close, but changes made by arriving packets (SYN_RECV, ESTABLISHED on the "
		    "listening side, FIN_WAIT2, CLOSE_WAIT, TIME_WAIT, ...) run in softirq, in whatever task the "
		    "CPU was running (often the idle task, pid 0); -p/-c match that pid",
		    "state changes made by arriving packets run in softirq and belong to whatever task the CPU was "
		    "running: those of the traced processes' sockets are not kept"),
	EVENT_TABLE("page_faults", NULL, "one row per user-space page fault", fault_cols, fault_tps, fault_probes,
		    "x86 only (exceptions tracepoints); on other architectures the table is unavailable.",
		    "rows belong to the faulting task (the exception runs in it); -p/-c match its pid",
		    NULL),
	EVENT_TABLE("signals", NULL, "one row per signal sent", signal_cols, signal_tps, signal_probes,
		    "The context columns describe the sender (the kernel for faults, a timer's task for "
		    "timers); the target_* columns the receiver.",
		    "rows belong to the sender, the task running when the signal was generated: a kill() "
		    "caller, an exiting child for SIGCHLD, the faulting task for SIGSEGV, but whatever task an "
		    "interrupt found for timer signals; -p/-c match its pid. The receiver is target_tid",
		    "signals generated from an interrupt (timers) belong to whatever task the CPU was running; "
		    "signals sent to the traced processes by others are not kept"),
	EVENT_TABLE("sched_wakeup_new", NULL, "one row per new task made runnable", wakenew_cols, wakenew_tps,
		    wakenew_probes,
		    "fork, vfork and clone (threads too) make the new task runnable once; the context columns "
		    "describe the creating task, target_* the new one.",
		    "rows belong to the creating task (wake_up_new_task runs in it, inside fork/clone); -p/-c match "
		    "its pid",
		    NULL),
	PAIRED_TABLE("exec_calls", "execs", "one row per completed execve system call, failed ones included",
		     execc_cols, execc_tps, execc_probes, &execc_pair,
		     "Path and arguments are read from user memory at entry: argv holds the first 16 "
		     "arguments, each cut at 63 bytes (argc says how many were read). A failed execve "
		     "(ret < 0) is a row too; process_exec has the successful ones only, from the scheduler. "
		     "Context columns are taken at entry (the old command name; new_comm is the name after). "
		     "execveat is not covered.",
		     "rows belong to the process that called execve (entry and exit run in it); -p/-c match its pid",
		     NULL),
	PAIRED_TABLE("file_stats", "stats", "one row per completed newfstatat system call", stat_cols, stat_tps,
		     stat_probes, &stat_pair,
		     "newfstatat is what the C library's stat, lstat, fstatat and (glibc 2.33 and later) fstat "
		     "call on x86-64; statx (used by some tools) and the older stat system calls are the "
		     "generic tables syscalls.sys_enter_statx and so on.",
		     "rows belong to the thread that made the call (entry and exit run in it); -p/-c match its pid",
		     NULL),
	PAIRED_TABLE("file_unlinks", "unlinks", "one row per completed unlinkat system call", unlink_cols,
		     unlink_tps, unlink_probes, &unlink_pair,
		     "unlinkat is what rm and rmdir call; the C library's unlink() and rmdir() use the older "
		     "unlink and rmdir system calls on x86-64 (generic tables syscalls.sys_enter_unlink, ...).",
		     "rows belong to the thread that made the call (entry and exit run in it); -p/-c match its pid",
		     NULL),
	PAIRED_TABLE("file_renames", "renames", "one row per completed renameat2 system call", rename_cols,
		     rename_tps, rename_probes, &rename_pair,
		     "renameat2 is what mv calls; the C library's rename() uses the older rename system call "
		     "on x86-64 (generic table syscalls.sys_enter_rename).",
		     "rows belong to the thread that made the call (entry and exit run in it); -p/-c match its pid",
		     NULL),
	PAIRED_TABLE("mounts", NULL, "one row per completed mount system call", mount_cols, mount_tps,
		     mount_probes, &mount_pair,
		     "The new mount API (fsopen, fsmount, move_mount) is not covered.",
		     "rows belong to the thread that made the call (entry and exit run in it); -p/-c match its pid",
		     NULL),
	EVENT_TABLE("tcp_retransmits", NULL, "one row per retransmitted TCP segment", retrans_cols, retrans_tps,
		    retrans_probes,
		    "SYN retransmissions (connection attempts) are rows too, in state SYN_SENT. Ports are in "
		    "host byte order.",
		    "retransmissions run in timers and softirqs, in whatever task the CPU was running: a row "
		    "belongs to no process, and -p/-c only bound the run (filter on addresses and ports instead)",
		    "retransmissions belong to no process: -p/-c do not filter this table, only bound the run"),
	EVENT_TABLE("cpu_samples", "profile", "one row per CPU clock sample (--freq per second per CPU, default 99)",
		    sample_cols, sample_tps, sample_probes,
		    "A perf-event program (BPF_PROG_TYPE_PERF_EVENT) on a software CPU clock of every CPU, at "
		    "the frequency of safebpf query --freq (default 99 Hz, off the usual timer rates). A "
		    "sample of an idle CPU has pid 0 (comm swapper/N) and no user stack. GROUP BY kstack, "
		    "ustack with COUNT(*) and -f folded or -f svg is a CPU profile.",
		    "rows belong to the task the CPU was running when its clock fired (pid 0: idle); -p/-c "
		    "match its pid",
		    NULL),
	EVENT_TABLE("oom_kills", NULL, "one row per task the OOM killer picks", oom_cols, oom_tps, oom_probes,
		    "The context columns describe the task whose allocation failed (in a memory cgroup, a task "
		    "of that cgroup); target_* the victim, which is then killed with SIGKILL.",
		    "rows belong to the task whose allocation ran out of memory; -p/-c match its pid",
		    NULL),
	PAIRED_TABLE("file_opens", "opens", "one row per completed openat system call", open_cols,
		     open_tps, open_probes, &open_pair,
		     "The path is read from user memory at entry with bpf_probe_read_user_str; when that "
		     "page is not resident the path is empty. open(2) itself is not covered (the C library "
		     "uses openat on x86-64 and arm64).",
		     "rows belong to the thread that called openat (entry and exit run in it); -p/-c match its pid",
		     NULL),
};

size_t sql_catalog_count(void)
{
	return NCOLS(tables);
}

const struct sql_table *sql_catalog_get(size_t i)
{
	return i < NCOLS(tables) ? &tables[i] : NULL;
}

const struct sql_table *sql_catalog_find(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < NCOLS(tables); i++)
		if (!strcasecmp(tables[i].name, name) || (tables[i].alias && !strcasecmp(tables[i].alias, name)))
			return &tables[i];
	if (sql_utable_name(name)) {
		char err[300];
		return sql_utable_find(name, err, sizeof(err));
	}
	if (strchr(name, '.')) {
		char err[300];
		return sql_tptable_find(name, err, sizeof(err));
	}
	return NULL;
}

static const struct sql_column context_cols[] = { CONTEXT_COLUMNS(0) };
static const struct sql_column stack_cols[] = { STACK_COLUMNS(0) };

const struct sql_column *sql_catalog_stacks(size_t *n)
{
	*n = NCOLS(stack_cols);
	return stack_cols;
}

const struct sql_column *sql_catalog_context(size_t *n)
{
	*n = NCOLS(context_cols);
	return context_cols;
}

int sql_table_column(const struct sql_table *t, const char *name)
{
	if (!t || !name)
		return -1;
	for (size_t i = 0; i < t->ncols; i++)
		if (!strcasecmp(t->cols[i].name, name))
			return (int)i;
	for (size_t i = 0; i < t->ncols; i++)
		if (t->cols[i].alias && !strcasecmp(t->cols[i].alias, name))
			return (int)i;
	return -1;
}

bool sql_table_available(const struct sql_table *t, char *why, size_t whysz)
{
	for (size_t i = 0; i < t->nprobes; i++) {
		struct sql_tp_format fmt;
		char err[256];
		if (sql_tracefs_load(t->probes[i].tp, &fmt, err, sizeof(err))) {
			snprintf(why, whysz, "%s", err);
			return false;
		}
		sql_tp_format_free(&fmt);
	}
	if (whysz)
		why[0] = '\0';
	return true;
}

bool sql_column_available(const struct sql_table *t, size_t col, char *why, size_t whysz)
{
	struct sql_tp_format fmts[SQL_MAX_PROBES];
	const struct sql_tp_format *pf[SQL_MAX_PROBES] = { 0 };
	bool ok = col < t->ncols;
	if (!ok)
		snprintf(why, whysz, "no such column");
	size_t loaded = 0;
	for (; ok && loaded < t->nprobes; loaded++) {
		char err[256];
		if (sql_tracefs_load(t->probes[loaded].tp, &fmts[loaded], err, sizeof(err))) {
			snprintf(why, whysz, "%s", err);
			ok = false;
			break;
		}
		pf[loaded] = &fmts[loaded];
	}
	if (ok) {
		char err[256];
		if (sql_column_check(t, col, pf, err, sizeof(err))) {
			snprintf(why, whysz, "%s", err);
			ok = false;
		} else if (whysz) {
			why[0] = '\0';
		}
	}
	for (size_t i = 0; i < loaded; i++)
		sql_tp_format_free(&fmts[i]);
	return ok;
}
