/* plan.c - plans for a scheduling policy and the optimizer that picks one:
 * the maps of a group (memory-mapped arrays, the socket array, the MVSF's
 * ring buffer), the candidate plans cheapest first (the whole policy in
 * the kernel; for sticky policies the bucket table in the kernel with new
 * buckets decided in user space; the MVSF last) and DSL-guided iteration over them
 * (src/dsl/: the real verifier judges each, verdicts are cached).
 *
 * Test knob: SAFEBPF_TEST_REJECT=kernel refuses the in-kernel plan as if
 * the verifier had (dsl_iterate), so tests watch the fallback to the MVSF.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/bpf.h>

#include "safebpf/kernel.h"
#include "sched/schedInt.h"

#define RING_BYTES (256u << 10)
#define SCHED_MAP_LAYOUT 2   /* bump when a map's key or value layout changes */

/* An mmapable array of @entries values of @slots u64 each, mapped into
 * *@mem (every slot set to @fill). Returns the fd or a negative errno. */
static int mapped_array(const char *name, uint32_t entries, uint32_t slots, uint64_t fill, uint64_t **mem,
			size_t *len)
{
	struct sbpf_kmap_opts o = { .sz = sizeof(o), .type = SBPF_KMAP_ARRAY, .name = name, .key_size = 4,
				    .value_size = 8 * slots, .max_entries = entries, .map_flags = BPF_F_MMAPABLE };
	entries *= slots;
	int fd = sbpf_kmap_create(&o);
	if (fd < 0)
		return fd;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	*len = ((size_t)entries * 8 + page - 1) / page * page;
	void *p = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		int e = -errno;
		close(fd);
		*mem = NULL;
		return e;
	}
	*mem = p;
	for (uint32_t i = 0; i < entries; i++)
		(*mem)[i] = fill;
	return fd;
}

static void unmap(uint64_t **mem, size_t len)
{
	if (*mem)
		munmap(*mem, len);
	*mem = NULL;
}

/* Every map of @b (any candidate may need them). 0 or a negative errno. */
static int create_maps(struct sched_build *b, char *err, size_t errsz)
{
	struct sched_maps *m = &b->m;
	struct sbpf_kmap_opts so = { .sz = sizeof(so), .type = SBPF_KMAP_REUSEPORT_SOCKARRAY, .name = "sched_socks",
				     .key_size = 4, .value_size = 8, .max_entries = b->n };
	struct sbpf_kmap_opts ro = { .sz = sizeof(ro), .type = SBPF_KMAP_RINGBUF, .name = "sched_reports",
				     .max_entries = RING_BYTES };
	const char *what = "socket array";
	int e;
#define TRY(dst, call) do { if ((e = (call)) < 0) goto fail; (dst) = e; } while (0)
	TRY(m->sockarray, sbpf_kmap_create(&so));
	what = "state";
	TRY(m->state, mapped_array("sched_state", 2, 1, 0, &m->state_mem, &m->state_len));
	what = "sticky table";
	TRY(m->sticky, mapped_array("sched_sticky", b->nb, 1, SCHED_EMPTY, &m->sticky_mem, &m->sticky_len));
	what = "user map";
	for (size_t i = 0; i < b->p->nmaps; i++) {
		char name[16];
		snprintf(name, sizeof(name), "sched_%s", b->p->maps[i]);
		TRY(m->user[i], mapped_array(name, 1, b->n, 0, &m->user_mem[i], &m->user_len));
	}
	what = "decision table";
	TRY(m->table, mapped_array("sched_table", b->nb + 1, 1, SCHED_EMPTY, &m->table_mem, &m->table_len));
	what = "ring buffer";
	TRY(m->ring, sbpf_kmap_create(&ro));
#undef TRY
	return 0;
fail:
	snprintf(err, errsz, "cannot create the %s map: %s", what, strerror(-e));
	return e;
}

/* dsl_judge.fingerprint: generates candidate @c's program and hashes it. */
static int fingerprint(void *ctx, struct dsl_candidate *c, uint64_t *fp, char *reason, size_t rsz)
{
	struct sched_build *b = ctx;
	size_t i = (size_t)(c - b->cand);
	free(b->insns[i]);
	b->insns[i] = NULL;
	int e = sched_codegen(b->p, b->kind[i], b->n, b->nb, &b->m, &b->insns[i], &b->ninsns[i]);
	if (e) {
		snprintf(reason, rsz, "code generation failed: %s", strerror(-e));
		return e;
	}
	/* The verdict depends on the program (map fds cleared) and on the
	 * maps' layouts, which the layout version and the sizes stand for. */
	uint32_t layout[4] = { SCHED_MAP_LAYOUT, b->n, b->nb, (uint32_t)b->p->nmaps };
	*fp = dsl_hash_insns(dsl_hash(dsl_hash(DSL_HASH_INIT, "sched", 5), layout, sizeof(layout)), b->insns[i],
			     b->ninsns[i]);
	return 0;
}

/* dsl_judge.load: the verifier judges candidate @c's program; the accepted
 * one stays loaded in b->prog_fd. */
static int load(void *ctx, struct dsl_candidate *c, char *reason, size_t rsz)
{
	struct sched_build *b = ctx;
	size_t i = (size_t)(c - b->cand);
	static __thread char log[1 << 16];
	log[0] = '\0';
	struct sbpf_kload_opts lo = { .sz = sizeof(lo), .type = SBPF_KPROG_SK_REUSEPORT, .name = "sched_policy",
				      .log_buf = log, .log_size = sizeof(log) };
	int fd = sbpf_kernel_load(b->insns[i], b->ninsns[i], &lo);
	if (fd < 0) {
		char why[200];
		sbpf_kernel_log_reason(log, why, sizeof(why));
		snprintf(reason, rsz, "%s", log[0] ? why : strerror(-fd));
		return fd;
	}
	if (b->prog_fd >= 0)
		close(b->prog_fd);
	b->prog_fd = fd;
	return 0;
}

int sched_build(struct sched_build *b, const struct sbpf_sched_policy *p, unsigned n, enum sbpf_sched_plan plan,
		char *err, size_t errsz)
{
	memset(b, 0, sizeof(*b));
	b->p = p;
	b->n = n;
	b->nb = sched_buckets(p, n);
	b->prog_fd = -1;
	b->chosen = -1;
	struct sched_maps *m = &b->m;
	m->sockarray = m->state = m->sticky = m->table = m->ring = -1;
	for (size_t i = 0; i < SCHED_MAX_MAPS; i++)
		m->user[i] = -1;
	if (!n || n > SBPF_SCHED_MAX_EXECUTORS) {
		snprintf(err, errsz, "a group has 1 to %d executors, not %u", SBPF_SCHED_MAX_EXECUTORS, n);
		return -EINVAL;
	}
	if (p->executors && p->executors != n) {
		snprintf(err, errsz, "policy %s states %u executors, the group has %u", p->name, p->executors, n);
		return -EINVAL;
	}
	int e = create_maps(b, err, errsz);
	if (e)
		return e;
	/* The MVSF table of a hash-decided policy never changes: bucket b
	 * goes to b % n (h % n == (h % nb) % n because n divides nb). */
	const struct sched_action *top = p->sel->kind == SCHED_A_STICKY ? p->sel->inner : p->sel;
	if (top->kind == SCHED_A_HASH)
		for (uint32_t k = 0; k < b->nb; k++)
			m->table_mem[k] = k % n;
	if (plan != SBPF_SCHED_PLAN_MVSF) {
		b->kind[b->ncand] = SCHED_PLAN_KERNEL;
		b->cand[b->ncand++] = (struct dsl_candidate){ .name = "kernel", .cost = 1 };
		if (sched_sticky_plan_ok(p)) {
			b->kind[b->ncand] = SCHED_PLAN_STICKY;
			b->cand[b->ncand++] = (struct dsl_candidate){ .name = "kernel-sticky", .cost = 10 };
		}
	}
	b->kind[b->ncand] = SCHED_PLAN_MVSF;
	b->cand[b->ncand++] = (struct dsl_candidate){ .name = "mvsf", .cost = 100, .mvsf = true };
	struct dsl_judge j = { .sz = sizeof(j), .fingerprint = fingerprint, .load = load,
			       .test_reject_env = "SAFEBPF_TEST_REJECT" };
	int idx = dsl_iterate(b->cand, b->ncand, &j, b);
	if (idx < 0) {
		snprintf(err, errsz, "no plan of policy %s was accepted by this kernel (the MVSF: %s)", p->name,
			 b->cand[b->ncand - 1].reason);
		return idx;
	}
	b->chosen = idx;
	return 0;
}

void sched_build_free(struct sched_build *b)
{
	struct sched_maps *m = &b->m;
	unmap(&m->state_mem, m->state_len);
	unmap(&m->sticky_mem, m->sticky_len);
	unmap(&m->table_mem, m->table_len);
	for (size_t i = 0; i < SCHED_MAX_MAPS; i++)
		unmap(&m->user_mem[i], m->user_len);
	int *fds[] = { &m->sockarray, &m->state, &m->sticky, &m->user[0], &m->user[1], &m->user[2], &m->user[3],
		       &m->table, &m->ring, &b->prog_fd };
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
	for (size_t i = 0; i < SCHED_NCAND; i++) {
		free(b->insns[i]);
		b->insns[i] = NULL;
	}
}
