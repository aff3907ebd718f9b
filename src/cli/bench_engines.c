/* bench_engines.c - the engines of `safebpf bench`, one adapter each over
 * the library: the kernel's verifier and JIT (BPF_PROG_TEST_RUN), the
 * interpreter, safebpf's JIT checked and vanilla (unchecked), the JIT with
 * EInsn native operations, and the benchmark's C source compiled natively
 * (a function of build/bench/micro/native.so, found by cmd_bench.c), and
 * the whole program through LLVM (after the kernel verifier).
 * EInsn is the whole Kops pipeline: recognize, lower, kernel verifier,
 * JIT with native emits (load_einsn).
 *
 * Every engine runs the program as XDP on a private copy of the packet,
 * with the program's read-only data. User-space engines are timed with
 * this thread's CPU time (CLOCK_THREAD_CPUTIME_ID, like the kernel's
 * test-run timer it leaves out time spent preempted); the kernel reports
 * its own average.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "benchInt.h"
#include "safebpf/ctx.h"
#include "safebpf/jit.h"
#include "safebpf/kernel.h"
#include "safebpf/llvm.h"
#include "safebpf/vm.h"

#define LOG_SIZE (1u << 20)

/* What bench.h's native shim calls struct xdp_md (pointers, not offsets). */
struct native_xdp_md {
	unsigned long data;       /* first packet byte */
	unsigned long data_end;   /* one past the last */
	unsigned long data_meta;  /* unused */
	uint32_t ingress_ifindex; /* unused */
	uint32_t rx_queue_index;  /* unused */
	uint32_t egress_ifindex;  /* unused */
};
typedef int (*native_fn)(struct native_xdp_md *ctx);

struct bench_handle {
	const struct bench_engine *e;  /* engine */
	int fd;                        /* kernel: program fd */
	struct sbpf_vm *vm;            /* interp */
	struct sbpf_jit *jit;          /* jit, jit-unchecked, einsn */
	struct sbpf_llvm *llvm;        /* llvm */
	struct bench_compile compile;  /* what loading cost */
	native_fn fn;                  /* native */
	size_t code_size;              /* bytes of native code */
	unsigned sites[SBPF_KOPS__MAX]; /* einsn: sites applied per op */
	struct sbpf_kops_lowered lowered; /* einsn: the lowered program the JIT compiled */
	char note[240];                /* what happened on the way, for the report ("" if nothing) */
};

static double thread_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int bench_engine_available(enum bench_kind kind, char *why, size_t whysz)
{
	switch (kind) {
	case BENCH_KERNEL:
		return sbpf_kernel_check_privileges(why, whysz) ? -1 : 0;
	case BENCH_LLVM: /* the kernel verifier first */
	case BENCH_EINSN:
		/* recognize (sites) -> lower -> kernel verifier -> JIT with native
		 * emits: the verifier is the kernel's, so the kernel is needed. */
		if (sbpf_kernel_check_privileges(why, whysz))
			return -1;
		return 0;
	default:
		return 0;
	}
}

static int kernel_verify(const struct bench_prog *p, char *why, size_t whysz);

/* Loads into the kernel (the verifier judges it); runs come later. */
static int load_kernel(struct bench_handle *h, const struct bench_prog *p, char *why, size_t whysz)
{
	h->fd = kernel_verify(p, why, whysz);
	if (h->fd < 0)
		return -1;
	struct sbpf_kprog_info info;
	if (!sbpf_kernel_prog_info(h->fd, &info))
		h->code_size = info.jited_len;
	return 0;
}

/* Loads @p into the kernel as XDP with its read-only data: the verifier
 * judges it. Returns the program fd, or -1 with @why. */
static int kernel_verify(const struct bench_prog *p, char *why, size_t whysz)
{
	char *log = malloc(LOG_SIZE);
	if (!log) {
		snprintf(why, whysz, "out of memory");
		return -1;
	}
	log[0] = '\0';
	char name[16];
	snprintf(name, sizeof(name), "b_%.13s", p->name);
	struct sbpf_kload_opts lo = {
		.sz = sizeof(lo), .type = SBPF_KPROG_XDP, .name = name, .log_buf = log,
		.log_size = LOG_SIZE, .rodata = p->rodata, .rodata_len = p->rodata_len,
	};
	int fd = sbpf_kernel_load(p->insns, p->n, &lo);
	if (fd < 0) {
		char reason[200];
		sbpf_kernel_log_reason(log, reason, sizeof(reason));
		snprintf(why, whysz, "the kernel verifier refused it (%s): %s", strerror(-fd), reason);
		fd = -1;
	}
	free(log);
	return fd;
}

/* EInsn: the recognizer rewrites the idioms of the operations in
 * @e->kops_mask into sites under the kernel verifier
 * (sbpf_kops_rewrite_verified: lowered, judged with the program's
 * read-only data; a rewrite the verifier refuses is found and left out,
 * and the note says which), and the JIT (unchecked, as for the vanilla
 * figures) compiles the accepted program with each site's native emit in
 * place of its proof sequence. */
static int load_einsn(struct bench_handle *h, const struct bench_prog *p, char *why, size_t whysz)
{
	struct sbpf_kops_policy pol;
	sbpf_kops_policy__init(&pol);
	pol.ops = h->e->kops_mask;
	pol.ret32 = 1; /* XDP: the kernel keeps 32 bits of r0, and so does every check here */
	char name[16];
	snprintf(name, sizeof(name), "e_%.13s", p->name);
	struct sbpf_kops_verify_opts vo = {
		.sz = sizeof(vo), .rodata = p->rodata, .rodata_len = p->rodata_len, .name = name,
	};
	struct sbpf_kops_verified v;
	int rc = sbpf_kops_rewrite_verified(p->insns, p->n, &pol, &vo, &v, why, whysz);
	for (size_t i = 0, len = 0; i < v.ndrops && len < sizeof(h->note); i++) {
		const struct sbpf_kops_drop *d = &v.drops[i];
		int k = snprintf(h->note + len, sizeof(h->note) - len, "%s%s at slots %zu..%zu dropped, the verifier refused it: %.100s",
				 i ? "; " : "", sbpf_kops_info(d->op)->name, d->start, d->end - 1, d->why);
		len += k > 0 ? (size_t)k : 0;
	}
	if (rc) {
		sbpf_kops_verified__free(&v);
		return -1;
	}
	h->lowered = v.lowered;
	memset(&v.lowered, 0, sizeof(v.lowered));
	sbpf_kops_verified__free(&v);
	const struct sbpf_kops_lowered *l = &h->lowered;
	struct sbpf_validate_error verr = { 0 };
	struct sbpf_jit_opts jo = {
		.sz = sizeof(jo), .type = SBPF_PROG_XDP, .unchecked = 1, .kops = l,
		.rodata = p->rodata, .rodata_len = p->rodata_len,
	};
	h->jit = sbpf_jit__new(l->insns, l->n, &jo, &verr);
	if (!h->jit) {
		snprintf(why, whysz, "JIT refused the sites: instruction %zu: %s", verr.index, verr.rule);
		return -1;
	}
	rc = sbpf_jit__compile(h->jit);
	if (rc) {
		snprintf(why, whysz, "cannot compile: %s", strerror(-rc));
		return -1;
	}
	sbpf_jit__code(h->jit, &h->code_size);
	for (size_t i = 0; i < l->nsites; i++) {
		size_t from, to;
		uint32_t op = l->sites[i].p.op;
		if (op < SBPF_KOPS__MAX && sbpf_jit__kops_site(h->jit, i, &from, &to) == 1)
			h->sites[op]++;
	}
	return 0;
}

/* One LLVM compilation of @p (@cached: through the object cache). */
static struct sbpf_llvm *llvm_compile(const struct bench_prog *p, int cached, char *why, size_t whysz)
{
	struct sbpf_llvm_opts lo = {
		.sz = sizeof(lo), .type = SBPF_PROG_XDP, .rodata = p->rodata, .rodata_len = p->rodata_len,
		.no_cache = !cached,
	};
	struct sbpf_validate_error verr = { 0 };
	struct sbpf_llvm *l = sbpf_llvm__new(p->insns, p->n, &lo, &verr);
	if (!l) {
		snprintf(why, whysz, "invalid program: instruction %zu: %s", verr.index, verr.rule);
		return NULL;
	}
	struct sbpf_vm_opts vo = { .sz = sizeof(vo), .type = SBPF_PROG_XDP };
	struct sbpf_vm *vm = sbpf_vm__new(p->insns, p->n, &vo, NULL);
	int rc = vm ? sbpf_llvm__helpers_from_vm(l, vm) : -errno;
	sbpf_vm__free(vm);
	if (!rc)
		rc = sbpf_llvm__compile(l);
	if (rc) {
		snprintf(why, whysz, "cannot compile: %s: %s", strerror(-rc), sbpf_llvm__error(l));
		sbpf_llvm__free(l);
		return NULL;
	}
	return l;
}

/* LLVM: the kernel verifier judges the program, then LLVM compiles it
 * twice: cold (no cache: the compile time reported) and through the
 * cache (the first compile's object, stored by the second's lookup miss,
 * then hit by a third: the cached load time). */
static int load_llvm(struct bench_handle *h, const struct bench_prog *p, char *why, size_t whysz)
{
	int fd = kernel_verify(p, why, whysz);
	if (fd < 0)
		return -1;
	close(fd);
	h->llvm = llvm_compile(p, 0, why, whysz);
	if (!h->llvm)
		return -1;
	struct sbpf_llvm_stats st;
	sbpf_llvm__stats(h->llvm, &st);
	h->code_size = st.code_bytes;
	h->compile = (struct bench_compile){ .cold_ms = st.total_ms, .ir_insns = st.ir_insns,
					     .rss_kb = st.rss_growth_kb };
	for (int i = 0; i < 2; i++) { /* fill the cache, then hit it */
		struct sbpf_llvm *c = llvm_compile(p, 1, why, whysz);
		if (!c)
			return -1;
		sbpf_llvm__stats(c, &st);
		sbpf_llvm__free(c);
	}
	h->compile.cached_ms = st.cache_hit ? st.total_ms : 0;
	return 0;
}

/* Compiles with safebpf's JIT (@unchecked: vanilla, no checks). */
static int load_jit(struct bench_handle *h, const struct bench_prog *p, int unchecked,
		    char *why, size_t whysz)
{
	struct sbpf_jit_opts jo = {
		.sz = sizeof(jo), .type = SBPF_PROG_XDP, .unchecked = unchecked,
		.rodata = p->rodata, .rodata_len = p->rodata_len,
	};
	struct sbpf_validate_error verr = { 0 };
	h->jit = sbpf_jit__new(p->insns, p->n, &jo, &verr);
	if (!h->jit) {
		snprintf(why, whysz, "invalid program: instruction %zu: %s", verr.index, verr.rule);
		return -1;
	}
	int rc = sbpf_jit__compile(h->jit);
	if (rc) {
		snprintf(why, whysz, "cannot compile: %s", strerror(-rc));
		return -1;
	}
	sbpf_jit__code(h->jit, &h->code_size);
	return 0;
}

struct bench_handle *bench_engine_load(const struct bench_engine *e, const struct bench_prog *p,
				       char *why, size_t whysz)
{
	struct bench_handle *h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(why, whysz, "out of memory");
		return NULL;
	}
	h->e = e;
	h->fd = -1;
	int rc = 0;
	switch (e->kind) {
	case BENCH_KERNEL:
		rc = load_kernel(h, p, why, whysz);
		break;
	case BENCH_INTERP: {
		struct sbpf_vm_opts vo = {
			.sz = sizeof(vo), .type = SBPF_PROG_XDP, .rodata = p->rodata, .rodata_len = p->rodata_len,
		};
		struct sbpf_validate_error verr = { 0 };
		h->vm = sbpf_vm__new(p->insns, p->n, &vo, &verr);
		if (!h->vm) {
			snprintf(why, whysz, "invalid program: instruction %zu: %s", verr.index, verr.rule);
			rc = -1;
		}
		break;
	}
	case BENCH_JIT:
	case BENCH_JIT_UNCHECKED:
		rc = load_jit(h, p, e->kind == BENCH_JIT_UNCHECKED, why, whysz);
		break;
	case BENCH_EINSN:
		rc = load_einsn(h, p, why, whysz);
		break;
	case BENCH_LLVM:
		rc = load_llvm(h, p, why, whysz);
		break;
	case BENCH_NATIVE:
		snprintf(why, whysz, "the native column is the faster of native-gcc and native-clang,"
			 " not run itself");
		rc = -1;
		break;
	case BENCH_NATIVE_GCC:
	case BENCH_NATIVE_CLANG: {
		int gcc = e->kind == BENCH_NATIVE_GCC;
		h->fn = (native_fn)(gcc ? p->native_fn : p->native_clang_fn);
		h->code_size = gcc ? p->native_size : p->native_clang_size;
		if (!h->fn) {
			snprintf(why, whysz, "no %s build of bench_%s", gcc ? "gcc" : "clang", p->name);
			rc = -1;
		}
		break;
	}
	}
	if (rc) {
		bench_engine_unload(h);
		return NULL;
	}
	return h;
}

/* Runs a user-space engine @runs times; 0 or -1 with @why. */
static int run_user(struct bench_handle *h, uint8_t *pkt, size_t len, uint64_t runs,
		    uint64_t *r0, double *ns, char *why, size_t whysz)
{
	struct sbpf_run_error err = { 0 };
	int rc = 0;
	uint64_t ret = 0;
	double t0 = 0, t1 = 0;
	switch (h->e->kind) {
	case BENCH_INTERP:
		t0 = thread_ns();
		for (uint64_t i = 0; i < runs && !rc; i++)
			rc = sbpf_vm__run(h->vm, pkt, len, &ret, &err);
		t1 = thread_ns();
		break;
	case BENCH_JIT:
	case BENCH_JIT_UNCHECKED:
	case BENCH_EINSN:
		t0 = thread_ns();
		for (uint64_t i = 0; i < runs && !rc; i++)
			rc = sbpf_jit__run(h->jit, pkt, len, &ret, &err);
		t1 = thread_ns();
		break;
	case BENCH_LLVM: {
		/* the entry, called directly as the other engines' run loops do */
		uint64_t (*fn)(void *, uint64_t) = (uint64_t (*)(void *, uint64_t))sbpf_llvm__entry(h->llvm);
		struct sbpf_xdp_ctx ctx;
		sbpf_xdp_ctx__init(&ctx, pkt, len);
		t0 = thread_ns();
		for (uint64_t i = 0; i < runs; i++)
			ret = fn(&ctx, 0);
		t1 = thread_ns();
		break;
	}
	case BENCH_NATIVE_GCC:
	case BENCH_NATIVE_CLANG: {
		struct native_xdp_md ctx = {
			.data = (unsigned long)pkt, .data_end = (unsigned long)(pkt + len),
		};
		t0 = thread_ns();
		for (uint64_t i = 0; i < runs; i++)
			ret = (uint64_t)(int64_t)h->fn(&ctx);
		t1 = thread_ns();
		break;
	}
	default:
		rc = -EINVAL;
		snprintf(err.reason, sizeof(err.reason), "not a user-space engine");
		break;
	}
	if (rc) {
		snprintf(why, whysz, "error at pc %zu: %s", err.pc, err.reason);
		return -1;
	}
	*r0 = ret;
	*ns = (t1 - t0) / (double)runs;
	return 0;
}

int bench_engine_run(struct bench_handle *h, const uint8_t *pkt, size_t len, uint64_t runs,
		     uint64_t *r0, double *ns, char *why, size_t whysz)
{
	if (!runs)
		runs = 1;
	uint8_t *copy = malloc(len ? len : 1);
	if (!copy) {
		snprintf(why, whysz, "out of memory");
		return -1;
	}
	memcpy(copy, pkt, len);
	int rc;
	if (h->e->kind == BENCH_KERNEL) {
		struct sbpf_ktest_opts to = {
			.sz = sizeof(to), .data_in = copy, .data_len = len,
			.repeat = (uint32_t)(runs > UINT32_MAX ? UINT32_MAX : runs),
		};
		struct sbpf_ktest_result res = { 0 };
		rc = sbpf_kernel_test_run(h->fd, &to, &res);
		if (rc)
			snprintf(why, whysz, "BPF_PROG_TEST_RUN failed: %s", strerror(-rc));
		else {
			*r0 = res.retval;
			*ns = res.duration_ns;
		}
		rc = rc ? -1 : 0;
	} else {
		rc = run_user(h, copy, len, runs, r0, ns, why, whysz);
	}
	free(copy);
	return rc;
}

size_t bench_engine_code_size(const struct bench_handle *h)
{
	return h->code_size;
}

const char *bench_engine_note(const struct bench_handle *h)
{
	return h->note;
}

void bench_engine_compile(const struct bench_handle *h, struct bench_compile *c)
{
	*c = h->compile;
}

void bench_engine_sites(const struct bench_handle *h, unsigned sites[SBPF_KOPS__MAX])
{
	memcpy(sites, h->sites, sizeof(h->sites));
}

void bench_engine_unload(struct bench_handle *h)
{
	if (!h)
		return;
	if (h->fd >= 0)
		close(h->fd);
	sbpf_vm__free(h->vm);
	sbpf_jit__free(h->jit);
	sbpf_llvm__free(h->llvm);
	sbpf_kops_lowered__free(&h->lowered);
	free(h);
}
