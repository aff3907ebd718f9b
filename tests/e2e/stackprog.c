/* stackprog.c - a deterministic workload with known function names, for
 * the stack, sampling and uprobe tests (tests/suites/69-sql-stacks.sh).
 *
 *   stackprog [--wait-fd FD] [--calls N] [--spin N] [--target N]
 *
 * --wait-fd FD   read one line from FD before working (the tracer is
 *                attached), print "done" on stdout after, then read a
 *                second line from FD before exiting (the tracer has read
 *                the events while this process and its memory map still
 *                exist, so user stacks can be named)
 * --calls N      sbpf_stack_outer -> sbpf_stack_mid -> sbpf_stack_leaf, which
 *                makes one sched_getscheduler(0) system call itself (inline syscall
 *                instruction, so the leaf is the innermost user frame), N times
 * --spin N       sbpf_spin_outer -> sbpf_spin_leaf: N million iterations of
 *                arithmetic in user space (CPU time for cpu_samples)
 * --target N     calls sbpf_uprobe_target(i, 2 * i) for i = 1..N (returns
 *                a + b), the uprobe target; its results are summed and printed
 * --naps N       calls sbpf_nap() N times: a 1 ms nanosleep(2) issued there
 *                (inline syscall, like the leaf above), so each call blocks
 *                once, off the CPU, in a known user stack
 * --lines N      calls sbpf_readline(prompt) N times, a stand-in for bash's
 *                readline: the prompt is "p> " and call i (0-based) returns
 *                a fresh heap string, line i % 4 of: "ls -l", "echo hello",
 *                "" (an empty line), and a 100-character line of 'x' then
 *                "END" (cut by a short str() length); freed at once, so only
 *                a probe that reads it at the return sees it. Then
 *                sbpf_readline(NULL) once: a NULL argument (an unreadable
 *                address for str()); the lines' lengths are added to the
 *                printed sum
 *
 * Frame pointers are kept (the pragma below) so that the kernel can walk
 * the user stack. Exit status 0, or 2 on a usage error.
 */
#pragma GCC optimize("no-omit-frame-pointer")
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline, used))

static volatile unsigned long sink; /* keeps the spin loop's work */

NOINLINE long sbpf_stack_after(long v)
{
	__asm__ volatile("" ::: "memory");
	return v;
}

NOINLINE long sbpf_stack_leaf(void)
{
	long ret;
	/* sched_getscheduler(0) (145 on x86-64; rarely called by anything else) issued
	 * here, not in libc (which keeps no frame pointer); the call after it makes
	 * this a non-leaf function, which keeps its frame */
	__asm__ volatile("syscall" : "=a"(ret) : "a"(145L), "D"(0L) : "rcx", "r11", "memory");
	return sbpf_stack_after(ret) + 1;
}

NOINLINE long sbpf_stack_mid(void)
{
	long r = sbpf_stack_leaf();
	__asm__ volatile("" ::: "memory"); /* not a tail call */
	return r + 1;
}

NOINLINE long sbpf_stack_outer(void)
{
	long r = sbpf_stack_mid();
	__asm__ volatile("" ::: "memory");
	return r + 1;
}

NOINLINE unsigned long sbpf_spin_leaf(unsigned long n)
{
	/* a call first: the frame is set up before the loop, not shrink-wrapped after it */
	unsigned long x = (unsigned long)sbpf_stack_after((long)n);
	for (unsigned long i = 0; i < n; i++) {
		x = x * 6364136223846793005ul + 1442695040888963407ul;
		__asm__ volatile("" : "+r"(x));
	}
	return x;
}

NOINLINE unsigned long sbpf_spin_outer(unsigned long millions)
{
	unsigned long x = 0;
	for (unsigned long m = 0; m < millions; m++)
		x ^= sbpf_spin_leaf(1000000);
	__asm__ volatile("" ::: "memory");
	return x;
}

NOINLINE long sbpf_nap(void)
{
	struct timespec ts = { 0, 1000000 };
	long ret;
	/* nanosleep (35 on x86-64), not through libc (no frame pointer there) */
	__asm__ volatile("syscall" : "=a"(ret) : "a"(35L), "D"(&ts), "S"(0L) : "rcx", "r11", "memory");
	return sbpf_stack_after(ret);
}

NOINLINE long sbpf_uprobe_target(long a, long b)
{
	__asm__ volatile("" ::: "memory");
	return a + b;
}

/* bash's readline stand-in: a malloc'ed copy of line @i % 4 (see the
 * header); @prompt is only read (it may be NULL). */
NOINLINE char *sbpf_readline(const char *prompt, long i)
{
	static const char *const lines[] = { "ls -l", "echo hello", "",
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxEND" };
	__asm__ volatile("" : : "r"(prompt) : "memory");
	return strdup(lines[i % 4]);
}

static void wait_line(int fd)
{
	char c;
	while (read(fd, &c, 1) == 1 && c != '\n')
		;
}

int main(int argc, char **argv)
{
	long calls = 0, spin = 0, target = 0, lines = 0, naps = 0;
	int fd = -1;
	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc) {
			fprintf(stderr, "usage: stackprog [--wait-fd FD] [--calls N] [--spin N] [--target N] [--naps N] [--lines N]\n");
			return 2;
		}
		long v = strtol(argv[i + 1], NULL, 10);
		if (!strcmp(argv[i], "--wait-fd"))
			fd = (int)v;
		else if (!strcmp(argv[i], "--calls"))
			calls = v;
		else if (!strcmp(argv[i], "--spin"))
			spin = v;
		else if (!strcmp(argv[i], "--target"))
			target = v;
		else if (!strcmp(argv[i], "--lines"))
			lines = v;
		else if (!strcmp(argv[i], "--naps"))
			naps = v;
		else {
			fprintf(stderr, "stackprog: unknown option %s\n", argv[i]);
			return 2;
		}
		i++;
	}
	if (fd >= 0)
		wait_line(fd);
	for (long i = 0; i < calls; i++)
		sbpf_stack_outer();
	if (spin)
		sink = sbpf_spin_outer((unsigned long)spin);
	long sum = 0;
	for (long i = 1; i <= target; i++)
		sum += sbpf_uprobe_target(i, 2 * i);
	for (long i = 0; i < naps; i++)
		sbpf_nap();
	for (long i = 0; i < lines; i++) {
		char *l = sbpf_readline("p> ", i);
		sum += (long)strlen(l);
		free(l);
	}
	if (lines)
		free(sbpf_readline(NULL, 0));
	printf("done %ld\n", sum);
	fflush(stdout);
	if (fd >= 0)
		wait_line(fd);
	return 0;
}
