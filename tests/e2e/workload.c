/* workload.c - a deterministic workload for end-to-end tests: makes
 * exactly the system calls its arguments ask for, so that a test can
 * compare what a tracer saw with exact expected counts.
 *
 *   workload [--wait-fd FD] [--getppid N] [--open PATH K] [--fork F]
 *            [--sleep-ms M] [--write-null N]
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
 *   --big-arg N     N lseek(-1, 12345678901234567890, SEEK_SET) calls: a system
 *                   call whose second argument needs all 64 bits (fails with
 *                   EBADF, harmlessly)
 * Exits 0 when every action could be performed, 1 on a failed fork/wait/
 * sleep, 2 on a usage error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
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
		} else if (!strcmp(a, "--big-arg") && more >= 1) {
			long n = count_arg(argv[++i]);
			for (long k = 0; k < n; k++)
				syscall(SYS_lseek, -1, 12345678901234567890ull, SEEK_SET);
		} else {
			fprintf(stderr, "usage: workload [--wait-fd FD] [--getppid N] [--open PATH K] [--fork F] "
					"[--sleep-ms M] [--write-null N] [--tcp N] [--big-arg N]\n");
			return 2;
		}
	}
	return rc;
}
