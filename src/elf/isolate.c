/* isolate.c - run a parser in a child process and bring its result back
 * through a pipe (see elfInt.h). libbpf 1.1 crashes on some malformed ELF
 * files (found by tests/fuzz/fuzz_elf.c); safebpf must answer bad input
 * with an error, so every libbpf parse of a user's object happens in a
 * child whose death is reported instead of shared.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "elf/elfInt.h"

#define CHILD_CPU_SECONDS 20  /* a parser that loops this long is killed (SIGXCPU) */

void elf_blob_put(struct elf_blob *b, const void *src, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 256;
		while (cap < b->len + n)
			cap *= 2;
		uint8_t *p = realloc(b->p, cap);
		if (!p) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, src, n);
	b->len += n;
}

void elf_blob_put_u32(struct elf_blob *b, uint32_t v)
{
	elf_blob_put(b, &v, sizeof(v));
}

void elf_blob_put_str(struct elf_blob *b, const char *s)
{
	elf_blob_put(b, s, strlen(s) + 1);
}

void elf_blob_free(struct elf_blob *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

int elf_blob_get(const struct elf_blob *b, size_t *pos, void *dst, size_t n)
{
	if (*pos > b->len || b->len - *pos < n)
		return -1;
	memcpy(dst, b->p + *pos, n);
	*pos += n;
	return 0;
}

int elf_blob_get_u32(const struct elf_blob *b, size_t *pos, uint32_t *v)
{
	return elf_blob_get(b, pos, v, sizeof(*v));
}

int elf_blob_get_str(const struct elf_blob *b, size_t *pos, const char **s)
{
	if (*pos >= b->len)
		return -1;
	const uint8_t *start = b->p + *pos;
	const uint8_t *nul = memchr(start, '\0', b->len - *pos);
	if (!nul)
		return -1;
	*s = (const char *)start;
	*pos += (size_t)(nul - start) + 1;
	return 0;
}

/* Writes all of @p; returns 0 or -1. */
static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int in_process;  /* elf_set_in_process(): run parsers without a child */

void elf_set_in_process(int on)
{
	in_process = on;
}

int elf_isolated(void (*fn)(void *arg, struct elf_blob *out), void *arg,
		 struct elf_blob *reply, int *sig)
{
	int fds[2];
	*sig = 0;
	memset(reply, 0, sizeof(*reply));
	if (in_process) {
		fn(arg, reply);
		if (reply->oom) {
			elf_blob_free(reply);
			return -ENOMEM;
		}
		return 0;
	}
	if (pipe(fds))
		return -errno;
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(fds[0]);
		close(fds[1]);
		return -e;
	}
	if (pid == 0) {
		close(fds[0]);
		/* die of the signal itself: no sanitizer or fuzzer report from here */
		static const int fatal[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL, SIGXCPU };
		for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
			signal(fatal[i], SIG_DFL);
		struct rlimit cpu = { CHILD_CPU_SECONDS, CHILD_CPU_SECONDS + 1 };
		setrlimit(RLIMIT_CPU, &cpu);
		struct elf_blob out = { 0 };
		fn(arg, &out);
		int bad = out.oom || write_all(fds[1], out.p, out.len);
		_exit(bad ? 3 : 0); /* no atexit handlers, no leak report in the child */
	}
	close(fds[1]);
	uint8_t buf[4096];
	for (;;) {
		ssize_t r = read(fds[0], buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		elf_blob_put(reply, buf, (size_t)r);
	}
	close(fds[0]);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(status)) {
		*sig = WTERMSIG(status);
		elf_blob_free(reply);
		return -ECHILD;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || reply->oom) {
		int oom = reply->oom || (WIFEXITED(status) && WEXITSTATUS(status) == 3);
		elf_blob_free(reply);
		return oom ? -ENOMEM : -ECHILD;
	}
	return 0;
}
