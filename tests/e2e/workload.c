/* workload.c - a deterministic workload for end-to-end tests: makes
 * exactly the system calls its arguments ask for, so that a test can
 * compare what a tracer saw with exact expected counts, and, for the
 * optimizer's differential tests, hostile conditions: several processes and
 * threads on both CPUs, events in interrupt, softirq and kworker context,
 * wakeups across CPUs, and a high-rate phase.
 *
 *   workload [ACTION...]
 *
 * Actions run in the order given on the command line and may repeat.
 *   --wait-fd FD    block until one byte can be read from FD (start signal)
 *   --getppid N     N getppid() system calls (raw syscall, never cached)
 *   --open PATH K   K openat(AT_FDCWD, PATH, O_RDONLY) calls, each followed by close
 *                   (a failed open counts too: the call is made)
 *   --fork F        F times: fork(), the child _exit(0)s at once, the parent waits
 *   --sleep-ms M    one nanosleep() system call of M milliseconds
 *   --write-null N  N write() calls of one byte to /dev/null
 *   --tcp N         N TCP connections over loopback (listen, connect, accept,
 *                   close: socket state changes for tcp_state)
 *   --open-fstat PATH K  K times: openat(PATH), fstat on the new fd, close it
 *   --storm P T N   P processes of T threads each (P*T workers, spread over
 *                   the CPUs, worker w pinned to CPU w mod ncpu) each making
 *                   N getppid() calls as fast as they can; all start together
 *                   and the action ends when every worker is done. Prints
 *                   "storm: C calls in S s (R calls/s)" on stderr.
 *   --big-arg N     N lseek(-1, 12345678901234567890, SEEK_SET) calls: a system
 *                   call whose second argument needs all 64 bits (fails with
 *                   EBADF, harmlessly)
 *   --direct-write DIR N
 *                   in a new file in DIR (removed at the end), allocated as one
 *                   extent of 28 KiB: N times an O_DIRECT pwrite of 28 KiB at
 *                   offset 0, each followed by fdatasync: exactly N block
 *                   requests "WS" of 28672 bytes submitted by this process
 *                   (plus cache flushes, journal writes of other sizes). Exits 3
 *                   when DIR does not support O_DIRECT or no single extent could
 *                   be allocated (the caller skips)
 *   --wakeup N      a child named "wl-sleeper" blocks in read() on a pipe; N
 *                   times, once /proc says it sleeps, one byte is written to
 *                   the pipe: exactly N wakeups of wl-sleeper by this process
 *   --tcp-data N    one loopback TCP connection, N round trips of 1 KiB each way
 *                   (delivery runs in softirq context)
 *   --fsync DIR N   N times: write 4 KiB at a new offset of a fresh file in DIR and
 *                   fsync it (block I/O: requests complete in interrupt context;
 *                   the journal commits in a kworker/jbd2 thread); the file is removed
 *   --pingpong N    N round trips of one byte through two pipes with a helper thread
 *                   on the other CPU (cross-CPU wakeups and context switches)
 *   --signal N      N times: send SIGUSR1 to this thread (handled, tgkill);
 *                   before each, USDT probe workload:signal (k = 0..N-1, SIGUSR1)
 *   --faults N      touch N fresh anonymous pages (one write page fault each);
 *                   before each, USDT probe workload:fault (k = 0..N-1, page size)
 *   --exec N        N times: fork, the child execs this program with "--getppid 1",
 *                   the parent waits
 *   --stat PATH N   N newfstatat(AT_FDCWD, PATH) calls
 *   --unlink DIR N  N times: create DIR/wl-unlink-<pid>-<k>, unlinkat it
 *   --rename DIR N  N times: create DIR/wl-ren-<pid>-<k>, renameat2 it to
 *                   ...-<k>.new, unlinkat that
 *   --mount DIR N   in a new private mount namespace: N times mount a tmpfs named
 *                   "wl-tmpfs" with options "mode=0700" on DIR and unmount it
 *                   (one more mount call first: making "/" private, source
 *                   and options NULL)
 *   --exit-status N N children _exit(7), then N children kill themselves with
 *                   SIGKILL; the parent waits for each and checks its status
 *   --exec-fail N   N execve("/nonexistent/wl-missing", {"wl-missing", "a1", "a2"})
 *                   calls, each failing with ENOENT
 *   --syn-retransmit PORT
 *                   in a new network namespace (loopback up): a loopback listener on PORT with a backlog of 0 keeps one
 *                   connection unaccepted, so a second connection's SYN is dropped:
 *                   with TCP_SYNCNT 1 the connect fails with ETIMEDOUT after about
 *                   3 s; the retransmissions the kernel counted in the namespace
 *                   (/proc/net/snmp RetransSegs) are printed:
 *                   "workload: syn-retransmit: N retransmissions"
 *   --hog MB        allocate and touch MB MiB, 1 MiB at a time (for an OOM kill in
 *                   a memory cgroup; exits 0 if it survives)
 *   --paced M N     M times: N getppid() calls, then a 1 ms nanosleep (events that
 *                   keep flowing across window boundaries, at a moderate rate)
 *   --reuse-pid N   N times: a child that exits at once (its exit_group never
 *                   returns), then (ns_last_pid set to the child's pid - 1) a
 *                   second child that gets the same pid, unless another process
 *                   took it first, and makes one getppid() call. Prints
 *                   "workload: reuse-pid: R of N" (children that reused the pid)
 *                   on stderr. Needs root (writes /proc/sys/kernel/ns_last_pid).
 *   --fork-as PID N a child given pid PID (ns_last_pid set to PID - 1, unless
 *                   another process takes it first) makes N getppid() calls;
 *                   prints "workload: fork-as: got PID" (the child's pid) on
 *                   stderr. Needs root.
 *   --spin-ms M     getppid() in a loop for M milliseconds (the high-rate phase);
 *                   the number of calls is reported at the end of the group
 *   --pin C         pin the calling thread to CPU C (in a group: that copy;
 *                   "--threads 3 --pin 0 --spin-ms 300 --end" runs three
 *                   spinners on CPU 0, a run queue of at least 3)
 *   --threads N ACTION... --end
 *                   run the actions in N threads at once, thread i pinned to CPU
 *                   i mod (number of CPUs); the caller waits for all
 *   --procs N ACTION... --end
 *                   the same with N child processes (fork, pinned likewise)
 * Groups nest. At exit, when some --spin-ms ran, one line on standard error
 * gives the calls made and the rate of system-call events (two per call:
 * entry and exit) over the spinning time:
 *   workload: spin: N calls in T ms, R events/s
 * Exits 0 when every action could be performed, 1 on a failed action,
 * 2 on a usage error, 3 when --direct-write cannot use its directory.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <linux/membarrier.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/sdt.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Spin statistics, shared with child processes (MAP_SHARED). */
struct spin_stats {
	atomic_long calls;           /* getppid calls made while spinning */
	atomic_long first_ns;        /* earliest spin start (0: none yet) */
	atomic_long last_ns;         /* latest spin end */
};
static struct spin_stats *spin;
static char *self_exe;               /* argv[0] as given, for --exec */

static long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static void usage_exit(void)
{
	fprintf(stderr, "usage: workload [--wait-fd FD] [--getppid N] [--open PATH K] [--fork F] [--sleep-ms M] "
			"[--write-null N] [--tcp N] [--big-arg N] [--direct-write DIR N] [--wakeup N] "
			"[--open-fstat PATH K] [--storm P T N] [--tcp-data N] [--fsync DIR N] [--pingpong N] [--signal N] "
			"[--faults N] [--exec N] [--stat PATH N] [--unlink DIR N] [--rename DIR N] [--mount DIR N] "
			"[--exit-status N] [--exec-fail N] [--syn-retransmit PORT] [--hog MB] [--paced M N] [--reuse-pid N] [--fork-as PID N] [--spin-ms M] [--pin C] [--threads N ... --end] [--procs N ... --end]\n");
	exit(2);
}

static long count_arg(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (end == s || *end || v < 0) {
		fprintf(stderr, "workload: '%s' is not a count\n", s);
		exit(2);
	}
	return v;
}

static int do_fork(void)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0)
		_exit(0);
	int status;
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return 0;
}

/* One --reuse-pid round: 1 when the second child reused the first's pid,
 * 0 when another process took it, -1 on failure. */
static int do_reuse_pid(void)
{
	pid_t a = fork();
	if (a < 0)
		return -1;
	if (a == 0)
		_exit(0);
	int status;
	if (waitpid(a, &status, 0) != a)
		return -1;
	FILE *f = fopen("/proc/sys/kernel/ns_last_pid", "w");
	if (!f)
		return -1;
	int bad = fprintf(f, "%d", (int)a - 1) < 0;
	if (fclose(f) || bad)
		return -1;
	pid_t b = fork();
	if (b < 0)
		return -1;
	if (b == 0) {
		/* The first child's task is freed an RCU grace period after its
		 * pid was: wait for two grace periods (membarrier's global
		 * command is a synchronize_rcu) so that free comes before this
		 * call, as it does for any process that lives a little longer. */
		syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0);
		syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0);
		syscall(SYS_getppid);
		_exit(0);
	}
	if (waitpid(b, &status, 0) != b || !WIFEXITED(status))
		return -1;
	return b == a;
}

/* --fork-as: a child with pid @want (when free) makes @n getppid() calls;
 * returns the child's pid or -1. */
static pid_t do_fork_as(long want, long n)
{
	FILE *f = fopen("/proc/sys/kernel/ns_last_pid", "w");
	if (!f)
		return -1;
	int bad = fprintf(f, "%ld", want - 1) < 0;
	if (fclose(f) || bad)
		return -1;
	pid_t c = fork();
	if (c < 0)
		return -1;
	if (c == 0) {
		for (long k = 0; k < n; k++)
			syscall(SYS_getppid);
		_exit(0);
	}
	int status;
	if (waitpid(c, &status, 0) != c || !WIFEXITED(status))
		return -1;
	return c;
}

static int do_sleep(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
	/* One nanosleep system call (glibc's nanosleep() uses clock_nanosleep);
	 * an interrupted sleep is an error, not a retry, to keep counts exact. */
	return (int)syscall(SYS_nanosleep, &ts, NULL);
}

/* A listening loopback socket and a connection to it: *@c the client end,
 * *@s the accepted end. Returns 0 or -1 (everything closed). */
static int tcp_pair(int *c, int *s)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM, 0), rc = -1;
	*c = *s = -1;
	if (l >= 0 && !bind(l, (struct sockaddr *)&a, sizeof(a)) && !listen(l, 1) &&
	    !getsockname(l, (struct sockaddr *)&a, &len) && (*c = socket(AF_INET, SOCK_STREAM, 0)) >= 0 &&
	    !connect(*c, (struct sockaddr *)&a, sizeof(a)) && (*s = accept(l, NULL, NULL)) >= 0)
		rc = 0;
	if (l >= 0)
		close(l);
	if (rc) {
		if (*c >= 0)
			close(*c);
		if (*s >= 0)
			close(*s);
		*c = *s = -1;
	}
	return rc;
}

/* One loopback TCP connection, opened and closed from both ends. */
static int do_tcp(void)
{
	int c, s;
	if (tcp_pair(&c, &s))
		return -1;
	close(c);
	close(s);
	return 0;
}

/* Reads exactly @n bytes. */
static int read_full(int fd, char *buf, size_t n)
{
	while (n) {
		ssize_t r = read(fd, buf, n);
		if (r <= 0)
			return -1;
		buf += r;
		n -= (size_t)r;
	}
	return 0;
}

/* @n round trips of 1 KiB over one loopback connection. */
static int do_tcp_data(long n)
{
	char out[1024], in[1024];
	int c, s, rc = 0;
	memset(out, 'x', sizeof(out));
	if (tcp_pair(&c, &s))
		return -1;
	for (long k = 0; k < n && !rc; k++)
		if (write(c, out, sizeof(out)) != (ssize_t)sizeof(out) || read_full(s, in, sizeof(in)) ||
		    write(s, in, sizeof(in)) != (ssize_t)sizeof(in) || read_full(c, in, sizeof(in)))
			rc = -1;
	close(c);
	close(s);
	return rc;
}

/* @n times 4 KiB written at a new offset of a fresh file, then fsync. */
static int do_fsync(const char *dir, long n)
{
	char path[4096], block[4096];
	static atomic_int seq;
	snprintf(path, sizeof(path), "%s/workload-fsync.%d.%ld.%d", dir, (int)getpid(), (long)syscall(SYS_gettid),
		 atomic_fetch_add(&seq, 1));
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600), rc = 0;
	if (fd < 0)
		return -1;
	memset(block, 'b', sizeof(block));
	for (long k = 0; k < n && !rc; k++)
		if (pwrite(fd, block, sizeof(block), (off_t)k * (off_t)sizeof(block)) != (ssize_t)sizeof(block) ||
		    fsync(fd))
			rc = -1;
	close(fd);
	unlink(path);
	return rc;
}

#define DIRECT_BYTES 28672 /* 7 pages: a size no other request of the run is likely to have */

/* Number of extents of @fd (FIEMAP), or -1 when the filesystem cannot say. */
static int extents(int fd)
{
	struct {
		struct fiemap fm;
		struct fiemap_extent ext[4];
	} q;
	memset(&q, 0, sizeof(q));
	q.fm.fm_length = ~0ull;
	q.fm.fm_flags = FIEMAP_FLAG_SYNC;
	q.fm.fm_extent_count = 4;
	if (ioctl(fd, FS_IOC_FIEMAP, &q.fm))
		return -1;
	return (int)q.fm.fm_mapped_extents;
}

/* A new file in @dir with DIRECT_BYTES allocated as one extent, opened with
 * O_DIRECT; its name in @path. Returns the fd, -1 (exit 1) or -3 (exit 3:
 * the directory cannot be used). */
static int direct_file(const char *dir, char *path, size_t pathsz)
{
	for (int attempt = 0; attempt < 8; attempt++) {
		snprintf(path, pathsz, "%s/workload-direct.%d.%d", dir, (int)getpid(), attempt);
		int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_DIRECT, 0600);
		if (fd < 0) {
			fprintf(stderr, "workload: %s: %s\n", path, strerror(errno));
			return errno == EINVAL ? -3 : -1;
		}
		if (fallocate(fd, 0, 0, DIRECT_BYTES) || fsync(fd)) {
			fprintf(stderr, "workload: fallocate %s: %s\n", path, strerror(errno));
			close(fd);
			unlink(path);
			return -3;
		}
		int n = extents(fd);
		if (n == 1)
			return fd;
		close(fd);
		unlink(path);
		if (n < 0)
			break;
	}
	fprintf(stderr, "workload: no single-extent file in %s\n", dir);
	return -3;
}

/* See --direct-write above. Returns 0, 1 or 3. */
static int do_direct_write(const char *dir, long n)
{
	char path[4096];
	int fd = direct_file(dir, path, sizeof(path));
	if (fd < 0)
		return -fd;
	void *buf = NULL;
	int rc = 0;
	if (posix_memalign(&buf, 4096, DIRECT_BYTES)) {
		rc = 1;
	} else {
		memset(buf, 'w', DIRECT_BYTES);
		for (long k = 0; k < n && !rc; k++) {
			ssize_t w = pwrite(fd, buf, DIRECT_BYTES, 0);
			if (w != DIRECT_BYTES) {
				/* The first write tells whether O_DIRECT works here. */
				fprintf(stderr, "workload: O_DIRECT write: %s\n", w < 0 ? strerror(errno) : "short");
				rc = k == 0 && w < 0 && errno == EINVAL ? 3 : 1;
			} else if (fdatasync(fd)) {
				perror("workload: fdatasync");
				rc = 1;
			}
		}
	}
	free(buf);
	close(fd);
	unlink(path);
	return rc;
}

/* The scheduler state letter of process @pid (from /proc), or 0. */
static char proc_state(pid_t pid)
{
	char p[64], buf[512];
	snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	int fd = open(p, O_RDONLY);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	char *paren = strrchr(buf, ')');
	return paren && paren[1] == ' ' ? paren[2] : 0;
}

/* See --wakeup above. Returns 0 or 1. */
static int do_wakeup(long n)
{
	int p[2];
	if (pipe(p))
		return 1;
	pid_t child = fork();
	if (child < 0)
		return 1;
	if (child == 0) {
		prctl(PR_SET_NAME, "wl-sleeper");
		close(p[1]);
		char c;
		for (long k = 0; k < n; k++)
			if (read(p[0], &c, 1) != 1)
				_exit(1);
		_exit(0);
	}
	close(p[0]);
	int rc = 0;
	for (long k = 0; k < n && !rc; k++) {
		/* Busy-wait (no sleep: this process must not be woken itself)
		 * until the child blocks in read(); only then does the write
		 * wake it, exactly once. */
		char st;
		while ((st = proc_state(child)) != 'S')
			if (!st) {
				rc = 1;
				break;
			}
		if (!rc && write(p[1], "x", 1) != 1)
			rc = 1;
	}
	close(p[1]);
	int status;
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status))
		rc = 1;
	return rc;
}

static long storm_calls;        /* getppid calls per worker thread */
static volatile int storm_go;   /* set once every thread of a process exists */

static void storm_pin(int worker)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET((int)(worker % (ncpu > 0 ? ncpu : 1)), &set);
	sched_setaffinity(0, sizeof(set), &set); /* best effort: spread, not required */
}

static void *storm_thread(void *arg)
{
	storm_pin((int)(long)arg);
	while (!storm_go)
		sched_yield();
	for (long k = 0; k < storm_calls; k++)
		syscall(SYS_getppid);
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* P processes of T threads, N getppid() calls each. The processes wait
 * on a pipe so that they all start at once. */
static int do_storm(long P, long T, long N)
{
	int go[2];
	if (P < 1 || T < 1 || T > 64 || pipe(go))
		return -1;
	storm_calls = N;
	pid_t kids[64];
	long np = 0;
	for (; np < P && np < 64; np++) {
		pid_t pid = fork();
		if (pid < 0)
			break;
		if (pid == 0) {
			close(go[1]);
			pthread_t th[64];
			long started = 0;
			for (; started < T; started++)
				if (pthread_create(&th[started], NULL, storm_thread, (void *)(np * T + started)))
					break;
			char c;
			if (read(go[0], &c, 1) < 0) /* EOF (0) is the start signal */
				_exit(1);
			storm_go = 1;
			for (long i = 0; i < started; i++)
				pthread_join(th[i], NULL);
			_exit(started == T ? 0 : 1);
		}
		kids[np] = pid;
	}
	close(go[0]);
	double t0 = now_s();
	close(go[1]); /* EOF on the pipe: every child starts */
	int rc = np == P ? 0 : -1;
	for (long i = 0; i < np; i++) {
		int status;
		if (waitpid(kids[i], &status, 0) != kids[i] || !WIFEXITED(status) || WEXITSTATUS(status))
			rc = -1;
	}
	double dt = now_s() - t0;
	fprintf(stderr, "storm: %ld calls in %.3f s (%.0f calls/s)\n", P * T * N, dt,
		dt > 0 ? (double)(P * T * N) / dt : 0.0);
	return rc;
}

static void pin(int i)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET((int)(i % (ncpu > 0 ? ncpu : 1)), &set);
	sched_setaffinity(0, sizeof(set), &set); /* best effort: a CPU may be offline */
}

struct pong {
	int in, out;                 /* pipe ends of the helper */
	long n;                      /* round trips */
	int cpu;                     /* where the helper runs */
};

static void *pong_main(void *arg)
{
	struct pong *p = arg;
	char c;
	pin(p->cpu);
	for (long k = 0; k < p->n; k++)
		if (read(p->in, &c, 1) != 1 || write(p->out, &c, 1) != 1)
			break;
	return NULL;
}

/* @n round trips through two pipes with a helper thread on another CPU. */
static int do_pingpong(long n)
{
	int a[2], b[2], rc = 0;
	if (pipe(a))
		return -1;
	if (pipe(b)) {
		close(a[0]);
		close(a[1]);
		return -1;
	}
	struct pong p = { .in = a[0], .out = b[1], .n = n, .cpu = sched_getcpu() + 1 };
	pthread_t th;
	if (pthread_create(&th, NULL, pong_main, &p)) {
		rc = -1;
	} else {
		char c = 'p';
		for (long k = 0; k < n && !rc; k++)
			if (write(a[1], &c, 1) != 1 || read(b[0], &c, 1) != 1)
				rc = -1;
		if (rc)
			close(a[1]), a[1] = -1; /* unblock the helper */
		pthread_join(th, NULL);
	}
	close(a[0]);
	if (a[1] >= 0)
		close(a[1]);
	close(b[0]);
	close(b[1]);
	return rc;
}

static volatile sig_atomic_t signals_seen;
static void on_usr1(int sig)
{
	(void)sig;
	signals_seen++;
}

static int do_signal(long n)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL))
		return -1;
	for (long k = 0; k < n; k++) {
		STAP_PROBE2(workload, signal, k, SIGUSR1);
		if (syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGUSR1))
			return -1;
	}
	return 0;
}

static int do_faults(long n)
{
	long page = sysconf(_SC_PAGESIZE);
	if (!n)
		return 0;
	char *m = mmap(NULL, (size_t)(n * page), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return -1;
	for (long k = 0; k < n; k++) {
		STAP_PROBE2(workload, fault, k, page);
		((volatile char *)m)[k * page] = 1;
	}
	munmap(m, (size_t)(n * page));
	return 0;
}

static int do_exec(long n)
{
	for (long k = 0; k < n; k++) {
		pid_t pid = fork();
		if (pid < 0)
			return -1;
		if (pid == 0) {
			char *args[] = { self_exe, "--getppid", "1", NULL };
			execv(self_exe, args); /* the command name stays "workload" */
			execv("/proc/self/exe", args);
			_exit(127);
		}
		int status;
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
			return -1;
	}
	return 0;
}

/* See --unlink and --rename above. Returns 0 or -1. */
static int do_paths(const char *dir, long n, bool rename_too)
{
	for (long k = 0; k < n; k++) {
		char a[512], b[540];
		snprintf(a, sizeof(a), "%s/wl-%s-%d-%ld", dir, rename_too ? "ren" : "unlink", (int)getpid(), k);
		snprintf(b, sizeof(b), "%s.new", a);
		int fd = (int)syscall(SYS_openat, AT_FDCWD, a, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0)
			return -1;
		close(fd);
		if (rename_too && syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, 0))
			return -1;
		if (syscall(SYS_unlinkat, AT_FDCWD, rename_too ? b : a, 0))
			return -1;
	}
	return 0;
}

/* See --mount above. Returns 0 or -1. */
static int do_mount(const char *dir, long n)
{
	if (unshare(CLONE_NEWNS) || syscall(SYS_mount, NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return -1;
	for (long k = 0; k < n; k++)
		if (syscall(SYS_mount, "wl-tmpfs", dir, "tmpfs", 0, "mode=0700") || umount2(dir, 0))
			return -1;
	return 0;
}

/* See --exit-status above. Returns 0 or -1. */
static int do_exit_status(long n)
{
	for (long k = 0; k < 2 * n; k++) {
		pid_t pid = fork();
		if (pid < 0)
			return -1;
		if (pid == 0) {
			if (k < n)
				_exit(7);
			kill(getpid(), SIGKILL);
			_exit(1);
		}
		int status;
		if (waitpid(pid, &status, 0) != pid)
			return -1;
		if (k < n ? !WIFEXITED(status) || WEXITSTATUS(status) != 7
			  : !WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
			return -1;
	}
	return 0;
}

/* See --exec-fail above. Returns 0 or -1. */
static int do_exec_fail(long n)
{
	char *args[] = { "wl-missing", "a1", "a2", NULL };
	char *env[] = { NULL };
	for (long k = 0; k < n; k++)
		if (syscall(SYS_execve, "/nonexistent/wl-missing", args, env) != -1 || errno != ENOENT)
			return -1;
	return 0;
}

/* RetransSegs of /proc/net/snmp (this network namespace), or -1. */
static long retrans_segs(void)
{
	FILE *f = fopen("/proc/net/snmp", "r");
	char names[1024], values[1024];
	long v = -1;
	while (f && fgets(names, sizeof(names), f) && fgets(values, sizeof(values), f)) {
		if (strncmp(names, "Tcp:", 4))
			continue;
		char *sn, *sv, *n = strtok_r(names, " \n", &sn), *x = strtok_r(values, " \n", &sv);
		for (; n && x; n = strtok_r(NULL, " \n", &sn), x = strtok_r(NULL, " \n", &sv))
			if (!strcmp(n, "RetransSegs"))
				v = strtol(x, NULL, 10);
	}
	if (f)
		fclose(f);
	return v;
}

/* See --syn-retransmit above. Returns 0 or -1. */
static int do_syn_retransmit(long port)
{
	/* A network namespace of its own: only this test's traffic, loopback up. */
	struct ifreq ifr = { .ifr_name = "lo" };
	int ctl;
	if (unshare(CLONE_NEWNET) || (ctl = socket(AF_INET, SOCK_DGRAM, 0)) < 0)
		return -1;
	if (ioctl(ctl, SIOCGIFFLAGS, &ifr) == 0)
		ifr.ifr_flags |= IFF_UP;
	int up = ioctl(ctl, SIOCSIFFLAGS, &ifr);
	close(ctl);
	long before = retrans_segs();
	if (up || before < 0)
		return -1;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int one = 1, lfd = socket(AF_INET, SOCK_STREAM, 0), c1 = socket(AF_INET, SOCK_STREAM, 0),
	    c2 = socket(AF_INET, SOCK_STREAM, 0), rc = -1;
	if (lfd < 0 || c1 < 0 || c2 < 0)
		goto out;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 0))
		goto out;
	if (connect(c1, (struct sockaddr *)&sa, sizeof(sa)))
		goto out;
	/* c1 sits in the accept queue (never accepted): the queue is full. */
	if (setsockopt(c2, IPPROTO_TCP, TCP_SYNCNT, &one, sizeof(one)))
		goto out;
	if (connect(c2, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno != ETIMEDOUT) {
		fprintf(stderr, "workload: the second connection was not refused by silence (%s)\n", strerror(errno));
		goto out;
	}
	/* The kernel's own count (this namespace), for the test to compare with. */
	fprintf(stderr, "workload: syn-retransmit: %ld retransmissions\n", retrans_segs() - before);
	rc = 0;
out:
	if (lfd >= 0)
		close(lfd);
	if (c1 >= 0)
		close(c1);
	if (c2 >= 0)
		close(c2);
	return rc;
}

/* See --hog above. */
static void do_hog(long mb)
{
	for (long k = 0; k < mb; k++) {
		char *p = malloc(1 << 20);
		if (!p)
			return;
		memset(p, (int)k | 1, 1 << 20);
	}
}

static void do_spin(long ms)
{
	long t0 = now_ns(), end = t0 + ms * 1000000L, calls = 0, t = t0;
	while (t < end) {
		for (int k = 0; k < 256; k++)
			syscall(SYS_getppid);
		calls += 256;
		t = now_ns();
	}
	atomic_fetch_add(&spin->calls, calls);
	long expect = 0;
	atomic_compare_exchange_strong(&spin->first_ns, &expect, t0);
	long first = atomic_load(&spin->first_ns);
	while (t0 < first && !atomic_compare_exchange_weak(&spin->first_ns, &first, t0))
		;
	long last = atomic_load(&spin->last_ns);
	while (t > last && !atomic_compare_exchange_weak(&spin->last_ns, &last, t))
		;
}

/* Index of the --end closing the group whose actions start at @i. */
static int group_end(int argc, char **argv, int i)
{
	for (int depth = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--threads") || !strcmp(argv[i], "--procs"))
			depth++;
		else if (!strcmp(argv[i], "--end") && depth-- == 0)
			return i;
	}
	fprintf(stderr, "workload: a group lacks its --end\n");
	exit(2);
}

static int run(int from, int to, char **argv);

struct copy {
	int from, to;                /* actions */
	char **argv;
	int index;                   /* copy number: CPU */
	int rc;
	pthread_t th;
};

static void *copy_main(void *arg)
{
	struct copy *c = arg;
	pin(c->index);
	c->rc = run(c->from, c->to, c->argv);
	return NULL;
}

/* Runs actions [@from, @to) in @n threads or processes at once. */
static int run_group(int n, bool threads, int from, int to, char **argv)
{
	struct copy *cs = calloc((size_t)n, sizeof(*cs));
	pid_t *pids = calloc((size_t)n, sizeof(*pids));
	int rc = 0;
	if (!cs || !pids) {
		free(cs);
		free(pids);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		cs[i] = (struct copy){ .from = from, .to = to, .argv = argv, .index = i };
		if (threads) {
			if (pthread_create(&cs[i].th, NULL, copy_main, &cs[i])) {
				cs[i].th = 0;
				rc = -1;
			}
		} else {
			fflush(stderr);
			pids[i] = fork();
			if (pids[i] == 0) {
				copy_main(&cs[i]);
				_exit(cs[i].rc ? 1 : 0);
			}
			if (pids[i] < 0)
				rc = -1;
		}
	}
	for (int i = 0; i < n; i++) {
		if (threads && cs[i].th) {
			pthread_join(cs[i].th, NULL);
			rc |= cs[i].rc;
		} else if (!threads && pids[i] > 0) {
			int status;
			if (waitpid(pids[i], &status, 0) != pids[i] || !WIFEXITED(status) || WEXITSTATUS(status))
				rc = -1;
		}
	}
	free(cs);
	free(pids);
	return rc;
}

/* Runs the actions argv[@from, @to). Returns 0, or -1 when one failed. */
/* Actions that take one count (or port, or milliseconds): --NAME N runs
 * fn(N); a failure is reported with perror("workload: WHAT"). */
static const struct {
	const char *flag;          /* "--pingpong" */
	int (*fn)(long);           /* the action */
	const char *what;          /* for perror */
} counted_actions[] = {
	{ "--sleep-ms", do_sleep, "workload: nanosleep" },
	{ "--tcp-data", do_tcp_data, "workload: tcp-data" },
	{ "--pingpong", do_pingpong, "workload: pingpong" },
	{ "--signal", do_signal, "workload: signal" },
	{ "--faults", do_faults, "workload: faults" },
	{ "--exec", do_exec, "workload: exec" },
	{ "--exit-status", do_exit_status, "workload: exit-status" },
	{ "--exec-fail", do_exec_fail, "workload: exec-fail" },
	{ "--syn-retransmit", do_syn_retransmit, "workload: syn-retransmit" },
};

static int run(int from, int to, char **argv)
{
	int rc = 0;
	for (int i = from; i < to; i++) {
		const char *a = argv[i];
		int more = to - i - 1;
		size_t ca = 0;
		while (ca < sizeof(counted_actions) / sizeof(counted_actions[0]) && strcmp(a, counted_actions[ca].flag))
			ca++;
		if (ca < sizeof(counted_actions) / sizeof(counted_actions[0]) && more >= 1) {
			if (counted_actions[ca].fn(count_arg(argv[++i]))) {
				perror(counted_actions[ca].what);
				rc = -1;
			}
		} else if (!strcmp(a, "--wait-fd") && more >= 1) {
			char c;
			int fd = (int)count_arg(argv[++i]);
			if (read(fd, &c, 1) != 1) {
				fprintf(stderr, "workload: no start signal on fd %d\n", fd);
				return -1;
			}
		} else if (!strcmp(a, "--getppid") && more >= 1) {
			long n = count_arg(argv[++i]);
			for (long k = 0; k < n; k++)
				syscall(SYS_getppid);
		} else if (!strcmp(a, "--open") && more >= 2) {
			const char *path = argv[++i];
			long n = count_arg(argv[++i]);
			for (long k = 0; k < n; k++) {
				int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY);
				if (fd >= 0)
					close(fd);
			}
		} else if (!strcmp(a, "--fork") && more >= 1) {
			long n = count_arg(argv[++i]);
			for (long k = 0; k < n; k++)
				if (do_fork()) {
					perror("workload: fork");
					rc = -1;
				}
		} else if (!strcmp(a, "--write-null") && more >= 1) {
			long n = count_arg(argv[++i]);
			int fd = open("/dev/null", O_WRONLY);
			if (fd < 0) {
				perror("workload: /dev/null");
				return -1;
			}
			for (long k = 0; k < n; k++)
				if (write(fd, "x", 1) != 1)
					rc = -1;
			close(fd);
		} else if (!strcmp(a, "--tcp") && more >= 1) {
			long n = count_arg(argv[++i]);
			for (long k = 0; k < n; k++)
				if (do_tcp()) {
					perror("workload: tcp");
					rc = -1;
				}
		} else if (!strcmp(a, "--direct-write") && more >= 2) {
			const char *dir = argv[++i];
			int r = do_direct_write(dir, count_arg(argv[++i]));
			if (r == 3)
				exit(3); /* the caller skips */
			if (r)
				rc = -1;
		} else if (!strcmp(a, "--wakeup") && more >= 1) {
			if (do_wakeup(count_arg(argv[++i]))) {
				fprintf(stderr, "workload: wakeup child failed\n");
				rc = -1;
			}
		} else if (!strcmp(a, "--big-arg") && more >= 1) {
			long n = count_arg(argv[++i]);
			for (long k = 0; k < n; k++)
				syscall(SYS_lseek, -1, 12345678901234567890ull, SEEK_SET);
		} else if (!strcmp(a, "--open-fstat") && more >= 2) {
			const char *path = argv[++i];
			long n = count_arg(argv[++i]);
			for (long k = 0; k < n; k++) {
				struct stat st;
				int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY);
				if (fd < 0 || syscall(SYS_fstat, fd, &st)) {
					perror("workload: open-fstat");
					rc = -1;
				}
				if (fd >= 0)
					close(fd);
			}
		} else if (!strcmp(a, "--storm") && more >= 3) {
			long P = count_arg(argv[i + 1]), T = count_arg(argv[i + 2]), N = count_arg(argv[i + 3]);
			i += 3;
			if (do_storm(P, T, N)) {
				fprintf(stderr, "workload: storm failed\n");
				rc = -1;
			}
		} else if (!strcmp(a, "--direct-write") && more >= 2) {
			const char *dir = argv[++i];
			int r = do_direct_write(dir, count_arg(argv[++i]));
			if (r == 3)
				return 3;
			if (r)
				rc = -1;
		} else if (!strcmp(a, "--wakeup") && more >= 1) {
			if (do_wakeup(count_arg(argv[++i]))) {
				fprintf(stderr, "workload: wakeup child failed\n");
				rc = -1;
			}
		} else if (!strcmp(a, "--big-arg") && more >= 1) {
			long n = count_arg(argv[++i]);
			for (long k = 0; k < n; k++)
				syscall(SYS_lseek, -1, 12345678901234567890ull, SEEK_SET);
		} else if (!strcmp(a, "--fsync") && more >= 2) {
			const char *dir = argv[++i];
			if (do_fsync(dir, count_arg(argv[++i]))) {
				perror("workload: fsync");
				rc = -1;
			}
		} else if (!strcmp(a, "--stat") && more >= 2) {
			const char *path = argv[++i];
			long n = count_arg(argv[++i]);
			struct stat st;
			for (long k = 0; k < n; k++)
				syscall(SYS_newfstatat, AT_FDCWD, path, &st, 0);
		} else if ((!strcmp(a, "--unlink") || !strcmp(a, "--rename")) && more >= 2) {
			const char *dir = argv[++i];
			if (do_paths(dir, count_arg(argv[++i]), !strcmp(a, "--rename"))) {
				perror("workload: unlink/rename");
				rc = -1;
			}
		} else if (!strcmp(a, "--mount") && more >= 2) {
			const char *dir = argv[++i];
			if (do_mount(dir, count_arg(argv[++i]))) {
				perror("workload: mount");
				rc = -1;
			}
		} else if (!strcmp(a, "--hog") && more >= 1) {
			do_hog(count_arg(argv[++i]));
		} else if (!strcmp(a, "--paced") && more >= 2) {
			long m = count_arg(argv[++i]), n = count_arg(argv[++i]);
			for (long k = 0; k < m; k++) {
				for (long c = 0; c < n; c++)
					syscall(SYS_getppid);
				if (do_sleep(1)) {
					perror("workload: nanosleep");
					rc = -1;
				}
			}
		} else if (!strcmp(a, "--reuse-pid") && more >= 1) {
			long n = count_arg(argv[++i]), reused = 0;
			for (long k = 0; k < n; k++) {
				int r = do_reuse_pid();
				if (r < 0) {
					perror("workload: reuse-pid");
					rc = -1;
					break;
				}
				reused += r;
			}
			fprintf(stderr, "workload: reuse-pid: %ld of %ld\n", reused, n);
		} else if (!strcmp(a, "--fork-as") && more >= 2) {
			long want = count_arg(argv[i + 1]), n = count_arg(argv[i + 2]);
			i += 2;
			pid_t c = do_fork_as(want, n);
			if (c < 0) {
				perror("workload: fork-as");
				rc = -1;
			} else {
				fprintf(stderr, "workload: fork-as: got %d\n", (int)c);
			}
		} else if (!strcmp(a, "--spin-ms") && more >= 1) {
			do_spin(count_arg(argv[++i]));
		} else if (!strcmp(a, "--pin") && more >= 1) {
			cpu_set_t set;
			CPU_ZERO(&set);
			CPU_SET((int)count_arg(argv[++i]), &set);
			if (sched_setaffinity(0, sizeof(set), &set)) {
				perror("workload: --pin");
				rc = -1;
			}
		} else if ((!strcmp(a, "--threads") || !strcmp(a, "--procs")) && more >= 2) {
			long n = count_arg(argv[++i]);
			int end = group_end(to, argv, i + 1);
			if (n < 1 || n > 64) {
				fprintf(stderr, "workload: %s takes 1 to 64\n", a);
				exit(2);
			}
			if (run_group((int)n, a[2] == 't', i + 1, end, argv))
				rc = -1;
			i = end;
		} else {
			usage_exit();
		}
	}
	return rc;
}

int main(int argc, char **argv)
{
	self_exe = argv[0];
	spin = mmap(NULL, sizeof(*spin), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (spin == MAP_FAILED) {
		perror("workload: mmap");
		return 1;
	}
	/* check the whole command line first: a usage error makes no call */
	for (int i = 1, depth = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--threads") || !strcmp(argv[i], "--procs"))
			depth++;
		else if (!strcmp(argv[i], "--end") && depth-- == 0)
			usage_exit();
	}
	int rc = run(1, argc, argv);
	long calls = atomic_load(&spin->calls);
	if (calls) {
		double ms = (double)(atomic_load(&spin->last_ns) - atomic_load(&spin->first_ns)) / 1e6;
		fprintf(stderr, "workload: spin: %ld calls in %.0f ms, %.0f events/s\n", calls, ms,
			ms > 0 ? 2.0 * (double)calls / (ms / 1000.0) : 0.0);
	}
	return rc ? 1 : 0;
}
