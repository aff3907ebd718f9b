/* workload.c - a deterministic workload for end-to-end tests: makes
 * exactly the system calls its arguments ask for, so that a test can
 * compare what a tracer saw with exact expected counts.
 *
 *   workload [--wait-fd FD] [--getppid N] [--open PATH K] [--fork F]
 *            [--sleep-ms M] [--write-null N] [--tcp N] [--big-arg N]
 *            [--direct-write DIR N] [--wakeup N]
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
 * Exits 0 when every action could be performed, 1 on a failed fork/wait/
 * sleep, 2 on a usage error, 3 when --direct-write cannot use its directory.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

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

static int do_sleep(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
	/* One nanosleep system call (glibc's nanosleep() uses clock_nanosleep);
	 * an interrupted sleep is an error, not a retry, to keep counts exact. */
	return (int)syscall(SYS_nanosleep, &ts, NULL);
}

/* One loopback TCP connection, opened and closed from both ends. */
static int do_tcp(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM, 0), c = -1, s = -1, rc = -1;
	if (l >= 0 && !bind(l, (struct sockaddr *)&a, sizeof(a)) && !listen(l, 1) &&
	    !getsockname(l, (struct sockaddr *)&a, &len) && (c = socket(AF_INET, SOCK_STREAM, 0)) >= 0 &&
	    !connect(c, (struct sockaddr *)&a, sizeof(a)) && (s = accept(l, NULL, NULL)) >= 0)
		rc = 0;
	if (c >= 0)
		close(c);
	if (s >= 0)
		close(s);
	if (l >= 0)
		close(l);
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

int main(int argc, char **argv)
{
	int rc = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int more = argc - i - 1;
		if (!strcmp(a, "--wait-fd") && more >= 1) {
			char c;
			int fd = (int)count_arg(argv[++i]);
			if (read(fd, &c, 1) != 1) {
				fprintf(stderr, "workload: no start signal on fd %d\n", fd);
				return 1;
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
					rc = 1;
				}
		} else if (!strcmp(a, "--sleep-ms") && more >= 1) {
			if (do_sleep(count_arg(argv[++i]))) {
				perror("workload: nanosleep");
				rc = 1;
			}
		} else if (!strcmp(a, "--write-null") && more >= 1) {
			long n = count_arg(argv[++i]);
			int fd = open("/dev/null", O_WRONLY);
			if (fd < 0) {
				perror("workload: /dev/null");
				return 1;
			}
			for (long k = 0; k < n; k++)
				if (write(fd, "x", 1) != 1)
					rc = 1;
			close(fd);
		} else if (!strcmp(a, "--tcp") && more >= 1) {
			long n = count_arg(argv[++i]);
			for (long k = 0; k < n; k++)
				if (do_tcp()) {
					perror("workload: tcp");
					rc = 1;
				}
		} else if (!strcmp(a, "--open-fstat") && more >= 2) {
			const char *path = argv[++i];
			long n = count_arg(argv[++i]);
			for (long k = 0; k < n; k++) {
				struct stat st;
				int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY);
				if (fd < 0 || syscall(SYS_fstat, fd, &st)) {
					perror("workload: open-fstat");
					rc = 1;
				}
				if (fd >= 0)
					close(fd);
			}
		} else if (!strcmp(a, "--storm") && more >= 3) {
			long P = count_arg(argv[i + 1]), T = count_arg(argv[i + 2]), N = count_arg(argv[i + 3]);
			i += 3;
			if (do_storm(P, T, N)) {
				fprintf(stderr, "workload: storm failed\n");
				rc = 1;
			}
		} else if (!strcmp(a, "--direct-write") && more >= 2) {
			const char *dir = argv[++i];
			int r = do_direct_write(dir, count_arg(argv[++i]));
			if (r == 3)
				return 3;
			if (r)
				rc = 1;
		} else if (!strcmp(a, "--wakeup") && more >= 1) {
			if (do_wakeup(count_arg(argv[++i]))) {
				fprintf(stderr, "workload: wakeup child failed\n");
				rc = 1;
			}
		} else if (!strcmp(a, "--big-arg") && more >= 1) {
			long n = count_arg(argv[++i]);
			for (long k = 0; k < n; k++)
				syscall(SYS_lseek, -1, 12345678901234567890ull, SEEK_SET);
		} else {
			fprintf(stderr, "usage: workload [--wait-fd FD] [--getppid N] [--open PATH K] [--fork F] "
					"[--sleep-ms M] [--write-null N] [--tcp N] [--direct-write DIR N] [--wakeup N] "
					"[--big-arg N] [--open-fstat PATH K] [--storm P T N]\n");
			return 2;
		}
	}
	return rc;
}
