/* usdtprog.c - a deterministic workload with USDT probes (<sys/sdt.h>),
 * for the usdt() table tests (tests/suites/69-sql-stacks.sh).
 *
 *   usdtprog [--wait-fd FD] [--n N]
 *
 * For i = 1..N it fires each of these probes once:
 *   sbpf:regs    8 arguments in registers (constraint "r")
 *   sbpf:mem     8 arguments in memory: stack slots (constraint "m" on
 *                volatile locals) and one static variable (sym(%rip))
 *   sbpf:consts  8 constants (constraint "n")
 *   sbpf:sema    one argument, i; guarded by its semaphore: it fires only
 *                while a tracer has incremented the semaphore
 *   sbpf:twice   two sites (two functions), each with the constant 3
 *   sbpf:mixed   three sites keeping their int32 argument in different places:
 *                the constant 1, a register (i), a stack slot (2 i)
 *   sbpf:clash   two sites whose argument has different types (int32, int64)
 *   sbpf:odd     a hand-written note (no semaphore) whose first argument
 *                uses an index register (8@(%rax,%rbx,8)), an operand
 *                safebpf does not decode; its second is the constant 7
 *   sbpf2:regs   no arguments (makes the name "regs" ambiguous)
 * The eight values of regs and mem are, in order: int8 -(i & 63), uint8
 * 200 + (i & 31), int16 -30 i, uint16 40000 + i, int32 -1000000 i, uint32
 * 3000000000 + i, int64 -(i << 33), uint64 i << 40. The constants are
 * -5, 250, -1234, 65000, -100000, 4000000000, -5000000000, 123456789012.
 * It prints "done N SEMA" (SEMA: how many times the semaphore was seen set).
 *
 * --wait-fd FD   read one line from FD before working and one after
 *                printing "done" (the tracer is attached / has read)
 * Exit status 0, or 2 on a usage error.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>

#define NOINLINE __attribute__((noinline, used))

/* Semaphores (sdt.h's naming: PROVIDER_NAME_semaphore): with
 * _SDT_HAS_SEMAPHORES every probe of the file has one; only sbpf:sema's
 * guards its site. */
#define SEMAPHORE(p, n) __extension__ unsigned short p##_##n##_semaphore __attribute__((unused, section(".probes")))
SEMAPHORE(sbpf, sema);
SEMAPHORE(sbpf, regs);
SEMAPHORE(sbpf, mem);
SEMAPHORE(sbpf, consts);
SEMAPHORE(sbpf, twice);
SEMAPHORE(sbpf, mixed);
SEMAPHORE(sbpf, clash);
SEMAPHORE(sbpf2, regs);

static volatile int32_t sbpf_global; /* read by sbpf:mem as sym(%rip) */

static void wait_line(int fd)
{
	char c;
	while (read(fd, &c, 1) == 1 && c != '\n')
		;
}

#undef STAP_SDT_ARG_CONSTRAINT
#define STAP_SDT_ARG_CONSTRAINT r
NOINLINE void sbpf_fire_regs(long i)
{
	int8_t a = (int8_t)-(i & 63);
	uint8_t b = (uint8_t)(200 + (i & 31));
	int16_t c = (int16_t)(-30 * i);
	uint16_t d = (uint16_t)(40000 + i);
	int32_t e = (int32_t)(-1000000 * i);
	uint32_t f = (uint32_t)(3000000000u + (uint32_t)i);
	int64_t g = -((int64_t)i << 33);
	uint64_t h = (uint64_t)i << 40;
	STAP_PROBE8(sbpf, regs, a, b, c, d, e, f, g, h);
}

#undef STAP_SDT_ARG_CONSTRAINT
#define STAP_SDT_ARG_CONSTRAINT m
NOINLINE void sbpf_fire_mem(long i)
{
	volatile int8_t a = (int8_t)-(i & 63);
	volatile uint8_t b = (uint8_t)(200 + (i & 31));
	volatile int16_t c = (int16_t)(-30 * i);
	volatile uint16_t d = (uint16_t)(40000 + i);
	volatile uint32_t f = (uint32_t)(3000000000u + (uint32_t)i);
	volatile int64_t g = -((int64_t)i << 33);
	volatile uint64_t h = (uint64_t)i << 40;
	sbpf_global = (int32_t)(-1000000 * i);
	DTRACE_PROBE8(sbpf, mem, a, b, c, d, sbpf_global, f, g, h);
}

#undef STAP_SDT_ARG_CONSTRAINT
#define STAP_SDT_ARG_CONSTRAINT n
NOINLINE void sbpf_fire_consts(void)
{
	STAP_PROBE8(sbpf, consts, (int8_t)-5, (uint8_t)250, (int16_t)-1234, (uint16_t)65000, (int32_t)-100000,
		    (uint32_t)4000000000u, (int64_t)-5000000000LL, (uint64_t)123456789012ULL);
}

NOINLINE void sbpf_fire_twice_a(void)
{
	STAP_PROBE1(sbpf, twice, 3);
}

NOINLINE void sbpf_fire_twice_b(void)
{
	STAP_PROBE1(sbpf, twice, 3);
}

/* sbpf:mixed: three sites keeping their int32 argument in three kinds of
 * place: the constant 1, a register holding i, a stack slot holding 2 i. */
NOINLINE void sbpf_fire_mixed(long i)
{
	STAP_PROBE1(sbpf, mixed, (int32_t)1);
#undef STAP_SDT_ARG_CONSTRAINT
#define STAP_SDT_ARG_CONSTRAINT r
	int32_t r = (int32_t)i;
	STAP_PROBE1(sbpf, mixed, r);
#undef STAP_SDT_ARG_CONSTRAINT
#define STAP_SDT_ARG_CONSTRAINT m
	volatile int32_t m = (int32_t)(2 * i);
	STAP_PROBE1(sbpf, mixed, m);
#undef STAP_SDT_ARG_CONSTRAINT
#define STAP_SDT_ARG_CONSTRAINT n
}

/* sbpf:clash: two sites whose argument has different types (int32, int64). */
NOINLINE void sbpf_fire_clash(void)
{
	STAP_PROBE1(sbpf, clash, (int32_t)1);
	STAP_PROBE1(sbpf, clash, (int64_t)1);
}

NOINLINE void sbpf_fire_other(void)
{
	STAP_PROBE(sbpf2, regs);
}

/* sbpf:odd: a site whose note is written here by hand (the SDT note
 * layout: pc, .stapsdt.base address, semaphore, provider, name, arguments),
 * with an operand that has an index register. */
NOINLINE void sbpf_fire_odd(void)
{
	__asm__ volatile("990: nop\n"
			 ".pushsection .note.stapsdt, \"?\", \"note\"\n"
			 ".balign 4\n"
			 ".4byte 992f-991f, 994f-993f, 3\n"
			 "991: .asciz \"stapsdt\"\n"
			 "992: .balign 4\n"
			 "993: .8byte 990b\n"
			 ".8byte _.stapsdt.base\n"
			 ".8byte 0\n"
			 ".asciz \"sbpf\"\n"
			 ".asciz \"odd\"\n"
			 ".asciz \"8@(%%rax,%%rbx,8) -4@$7\"\n"
			 "994: .balign 4\n"
			 ".popsection\n" ::: "memory");
}

#undef STAP_SDT_ARG_CONSTRAINT
#define STAP_SDT_ARG_CONSTRAINT nor
NOINLINE int sbpf_fire_sema(long i)
{
	if (!__builtin_expect(sbpf_sema_semaphore, 0))
		return 0;
	STAP_PROBE1(sbpf, sema, i);
	return 1;
}

int main(int argc, char **argv)
{
	long n = 0;
	int fd = -1;
	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc) {
			fprintf(stderr, "usage: usdtprog [--wait-fd FD] [--n N]\n");
			return 2;
		}
		long v = strtol(argv[i + 1], NULL, 10);
		if (!strcmp(argv[i], "--wait-fd"))
			fd = (int)v;
		else if (!strcmp(argv[i], "--n"))
			n = v;
		else {
			fprintf(stderr, "usdtprog: unknown option %s\n", argv[i]);
			return 2;
		}
		i++;
	}
	if (fd >= 0)
		wait_line(fd);
	long sema = 0;
	for (long i = 1; i <= n; i++) {
		sbpf_fire_regs(i);
		sbpf_fire_mem(i);
		sbpf_fire_consts();
		sbpf_fire_twice_a();
		sbpf_fire_twice_b();
		sbpf_fire_mixed(i);
		sbpf_fire_clash();
		sbpf_fire_other();
		sbpf_fire_odd();
		sema += sbpf_fire_sema(i);
	}
	printf("done %ld %ld\n", n, sema);
	fflush(stdout);
	if (fd >= 0)
		wait_line(fd);
	return 0;
}
