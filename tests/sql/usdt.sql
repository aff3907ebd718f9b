# usdt.sql - USDT probe tables under every plan (tests/suites/69-sql-usdt.sh):
# run by `safebpf sqlcheck` with --workload 'build/e2e/usdtprog --n N'
# (tests/e2e/usdtprog.c: each probe fires once per i = 1..N; sbpf:twice at
# two sites, sbpf:mixed at three with its argument in three kinds of
# place). Each query's result must be equal under mvsf, auto and
# kernel-max; the suite checks the exact values of the same sums itself.
SELECT COUNT(*) AS n, SUM(arg0) AS a0, MIN(arg1) AS lo1, MAX(arg1) AS hi1, SUM(arg2) AS a2, SUM(arg3) AS a3, SUM(arg4) AS a4, MIN(arg5) AS lo5, MAX(arg5) AS hi5, SUM(arg6) AS a6, SUM(arg7) AS a7 FROM usdt('build/e2e/usdtprog', 'sbpf:regs')
SELECT COUNT(*) AS n, SUM(arg0) AS a0, MIN(arg1) AS lo1, MAX(arg1) AS hi1, SUM(arg2) AS a2, SUM(arg3) AS a3, SUM(arg4) AS a4, MIN(arg5) AS lo5, MAX(arg5) AS hi5, SUM(arg6) AS a6, SUM(arg7) AS a7 FROM usdt('build/e2e/usdtprog', 'sbpf:mem')
SELECT arg0, arg1, arg2, arg3, arg4, arg5, arg6, arg7, COUNT(*) AS n FROM usdt('build/e2e/usdtprog', 'consts') GROUP BY arg0, arg1, arg2, arg3, arg4, arg5, arg6, arg7
SELECT arg0 % 7 AS k, COUNT(*) AS n, SUM(arg0) AS s FROM usdt('build/e2e/usdtprog', 'sbpf:sema') WHERE arg0 > 10 GROUP BY k
SELECT COUNT(*) AS n, SUM(arg0) AS s FROM usdt('build/e2e/usdtprog', 'sbpf:twice') WHERE arg0 = 3
SELECT arg1 < 210 AS small, COUNT(*) AS n, MAX(arg4) AS hi FROM usdt('build/e2e/usdtprog', 'sbpf:mem') WHERE arg0 < -10 AND arg6 < 0 GROUP BY small
SELECT arg0 > 1 AS varying, COUNT(*) AS n, SUM(arg0) AS s FROM usdt('build/e2e/usdtprog', 'sbpf:mixed') WHERE arg0 != 7 GROUP BY varying
