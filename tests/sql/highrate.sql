# highrate.sql - the differential corpus at a high event rate (tests/suites/
# 61-sql-optimizer.sh runs it one query at a time, so that the workload's
# threads have both CPUs): two threads spin on getppid() on both CPUs for
# 300 ms (>= 500k system-call events/s), windows close meanwhile. Every
# query runs under mvsf, auto and kernel-max at once; results must be equal
# or differ by no more rows than the runs reported lost events (the MVSF
# plan filters processes in user space: every event of the machine crosses
# its ring buffer). Every query reads system_calls, so every run measures
# the rate with all three plans on the system-call tracepoints.

SELECT syscall_number, COUNT(*) AS n FROM system_calls WHERE syscall_number = 110 GROUP BY syscall_number
SELECT tid = pid AS main, COUNT(*) AS n FROM system_calls WHERE syscall_number = 110 GROUP BY tid = pid
SELECT COUNT(*) AS n, SUM(ret) AS s, MIN(ret) AS lo FROM system_calls WHERE syscall_number = 110
SELECT syscall_number, COUNT(*) AS n FROM system_calls WHERE syscall_number != 110 GROUP BY syscall_number
p: SELECT syscall_number, COUNT(*) AS n FROM system_calls GROUP BY syscall_number
merge: SELECT syscall_number, COUNT(*) AS n FROM system_calls GROUP BY syscall_number WINDOW 50ms
merge: SELECT COUNT(*) AS n FROM system_calls WHERE syscall_number = 110 WINDOW 10ms
merge=ksx: SELECT cpu < 1024 AS ok, COUNT(*) AS n, MAX(arg0) AS hi FROM system_calls WHERE syscall_number = 110 GROUP BY cpu < 1024 WINDOW 20ms
SELECT syscall_number, HIST(ret) AS h, P50(ret) AS p FROM system_calls WHERE syscall_number = 110 GROUP BY syscall_number
