# differential.sql - the optimizer's differential corpus (tests/suites/
# 61-sql-differential.sh): every query runs under --plan mvsf and --plan
# auto at the same time on one workload (tests/e2e/workload), and the
# results must be equal. "merge:" sums the last column per key over
# windows, "merge-max:" takes its maximum (windows close on each run's
# clock). Together the queries cover every table, every filter form, every
# aggregate, windows and joins.

# Times differ by nanoseconds between two tracers (each program reads the
# clock itself), so a query shows time values only through comparisons.

# --- Query 1 and Query 2 of the benchmark (bench/probe), made deterministic ---
merge: SELECT A.pid, A.syscall_number, MAX(A.exit_ts - A.enter_ts) > 0ns AS latency, COUNT(*) AS n FROM system_calls AS A GROUP BY A.pid, A.syscall_number WINDOW 1sec
SELECT pid, tid, syscall_number AS syscall, exit_ts - enter_ts > 0ns AS latency FROM system_calls

# --- system_calls: filters of every form ---
SELECT syscall_number, COUNT(*) AS n FROM system_calls WHERE syscall_number = 110 GROUP BY syscall_number
SELECT syscall_number, ret FROM system_calls WHERE syscall_number != 110 AND syscall_number < 300 AND ret >= 0
SELECT syscall_number, COUNT(*) AS n FROM system_calls WHERE syscall_number IN (0, 1, 3, 257) GROUP BY syscall_number
SELECT syscall_number, COUNT(*) AS n FROM system_calls WHERE syscall_number NOT IN (110, 1) GROUP BY syscall_number
SELECT syscall_number, COUNT(*) AS n FROM system_calls WHERE syscall_number BETWEEN 1 AND 60 GROUP BY syscall_number
SELECT syscall_number, COUNT(*) AS n FROM system_calls WHERE syscall_number NOT BETWEEN 2 AND 200 GROUP BY syscall_number
SELECT syscall_number, arg0 FROM system_calls WHERE syscall_number = 1 OR (syscall_number = 257 AND ret < 0)
SELECT syscall_number, ret FROM system_calls WHERE NOT (syscall_number = 110 OR syscall_number > 100)
SELECT syscall_number, COUNT(*) AS n FROM system_calls WHERE syscall_number % 2 = 1 AND (arg2 & 1) = 1 GROUP BY syscall_number
SELECT syscall_number, COUNT(*) AS n FROM system_calls WHERE arg2 * 2 + 1 > 3 AND ret - 1 < 100 GROUP BY syscall_number
SELECT comm, syscall_number, COUNT(*) AS n FROM system_calls WHERE comm = 'workload' GROUP BY comm, syscall_number
SELECT comm, COUNT(*) AS n FROM system_calls WHERE comm LIKE 'work%' AND comm != 'bash' GROUP BY comm
SELECT comm, COUNT(*) AS n FROM system_calls WHERE comm LIKE '%load' GROUP BY comm
SELECT comm, COUNT(*) AS n FROM system_calls WHERE comm IN ('workload', 'sshd') AND comm NOT LIKE 'x%' GROUP BY comm
SELECT syscall_name(syscall_number) AS name, COUNT(*) AS n FROM system_calls WHERE duration >= 0ns AND duration < 10s GROUP BY syscall_name(syscall_number)
SELECT syscall_number, COUNT(*) AS n FROM system_calls WHERE errno_name(ret) = 'ENOENT' GROUP BY syscall_number
SELECT syscall_number, COUNT(*) AS n FROM system_calls WHERE ret IS NOT NULL AND exit_ts >= enter_ts AND uid = 0 GROUP BY syscall_number

# --- aggregates ---
SELECT syscall_number, COUNT(*) AS n, COUNT(ret) AS c, SUM(ret) AS s, MIN(ret) AS lo, MAX(ret) AS hi, AVG(arg2) AS a FROM system_calls GROUP BY syscall_number
SELECT syscall_number, MIN(duration) > 0ns AS pos, MAX(exit_ts) >= MIN(enter_ts) AS ordered, MAX(duration) < 5s AS bounded FROM system_calls GROUP BY syscall_number
SELECT syscall_number, LHIST(arg2, 0, 40, 5) AS h FROM system_calls WHERE syscall_number IN (0, 1, 257) GROUP BY syscall_number
SELECT syscall_number, HIST(ret) AS h, HIST(arg2) AS h2 FROM system_calls GROUP BY syscall_number
SELECT syscall_number, P50(ret) AS med, P99(arg2) AS p99 FROM system_calls GROUP BY syscall_number
SELECT COUNT(*) AS n, SUM(ret) AS total FROM system_calls WHERE syscall_number = 39
SELECT syscall_number, COUNT(*) AS n FROM system_calls GROUP BY syscall_number HAVING COUNT(*) > 2 ORDER BY n DESC, syscall_number
SELECT DISTINCT syscall_number FROM system_calls WHERE syscall_number < 20

# --- windows ---
merge: SELECT syscall_number, COUNT(*) AS n FROM system_calls GROUP BY syscall_number WINDOW 100ms
merge: SELECT comm, SUM(ret) AS s FROM system_calls WHERE syscall_number = 110 GROUP BY comm WINDOW 100ms
merge: SELECT syscall_number, ret FROM system_calls WHERE syscall_number = 1 WINDOW 100ms ORDER BY ret

# --- file_opens (paired, strings read from user memory) ---
SELECT path, ret, COUNT(*) AS n FROM file_opens WHERE path LIKE '/etc/%' GROUP BY path, ret
SELECT basename(path) AS f, errno_name(ret) AS e, COUNT(*) AS n FROM file_opens WHERE ret < 0 GROUP BY basename(path), errno_name(ret)
SELECT dfd, flags, mode, ret >= 0 AS ok FROM file_opens WHERE path = '/etc/hostname'

# --- processes and signals ---
SELECT parent_comm, child_comm, COUNT(*) AS n FROM process_fork GROUP BY parent_comm, child_comm
SELECT group_dead, COUNT(*) AS n FROM process_exit WHERE prio > 0 GROUP BY group_dead
SELECT comm, basename(filename) AS f FROM process_exec
SELECT signal, code, process_wide, COUNT(*) AS n FROM signals WHERE sig = 17 GROUP BY signal, code, process_wide

# --- scheduler, page faults, TCP, block I/O ---
SELECT prev_state, COUNT(*) AS n FROM sched_switch WHERE prev_prio >= 100 AND prev_state IN ('S', 'D') GROUP BY prev_state
SELECT COUNT(*) AS n, SUM(target_prio) AS p FROM sched_wakeup WHERE target_cpu >= 0
SELECT error_code & 2 AS write, COUNT(*) AS n FROM page_faults WHERE address > 4096 GROUP BY error_code & 2
SELECT old_state, new_state, COUNT(*) AS n FROM tcp_state WHERE family = 'inet' AND dport > 0 GROUP BY old_state, new_state
SELECT rwbs, COUNT(*) AS n, MAX(latency) AS worst FROM block_io GROUP BY rwbs

# --- joins (filters stay in user space; the sources batch) ---
SELECT F.child_comm, E.group_dead, COUNT(*) AS n FROM process_fork AS F JOIN process_exit AS E ON F.child_tid = E.tid GROUP BY F.child_comm, E.group_dead
SELECT E.comm, S.signal, S.target_tid = E.tid AS self FROM process_exit AS E JOIN signals AS S ON E.tid = S.pid WHERE S.sig = 17
