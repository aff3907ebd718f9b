/* plan.c - planning a congestion-control program on this kernel: creates
 * the maps, lists the candidate plans (the whole program in the kernel;
 * the MVSF), lets DSL-guided iteration (src/dsl) judge them with the real
 * verifier, cheapest first and MVSF last, and registers the chosen plan as
 * a tcp_congestion_ops struct_ops under the algorithm's name.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>

#include "cc/ccInt.h"
#include "safebpf/kernel.h"

#define RINGBUF_BYTES (4u << 20)

/* Creates the per-socket storage map: SK_STORAGE needs BTF for its key and
 * value, so a two-type BTF (int key, struct of u64 words) is loaded too. */
static int storage_map(struct cc_handle *h, unsigned bytes, char *err, size_t errsz)
{
	struct btf *btf = btf__new_empty();
	if (!btf)
		return -ENOMEM;
	int key = btf__add_int(btf, "int", 4, BTF_INT_SIGNED);
	int u64 = btf__add_int(btf, "u64", 8, 0);
	int st = btf__add_struct(btf, "safebpf_cc_sk", bytes);
	for (unsigned i = 0; st > 0 && i < bytes / 8; i++) {
		char name[16];
		snprintf(name, sizeof(name), "w%u", i);
		btf__add_field(btf, name, u64, i * 64, 0);
	}
	int r = key < 0 || u64 < 0 || st < 0 ? -EINVAL : btf__load_into_kernel(btf);
	if (r) {
		snprintf(err, errsz, "loading the storage map's BTF: %s", strerror(-r));
		btf__free(btf);
		return r;
	}
	h->btf_fd = dup(btf__fd(btf));
	btf__free(btf);
	LIBBPF_OPTS(bpf_map_create_opts, mo, .btf_fd = (__u32)h->btf_fd, .btf_key_type_id = (__u32)key,
		    .btf_value_type_id = (__u32)st, .map_flags = BPF_F_NO_PREALLOC);
	h->maps.storage = bpf_map_create(BPF_MAP_TYPE_SK_STORAGE, "cc_storage", 4, bytes, 0, &mo);
	if (h->maps.storage < 0) {
		r = -errno;
		snprintf(err, errsz, "creating the socket storage map: %s", strerror(-r));
		return r;
	}
	return 0;
}

static int create_maps(struct cc_handle *h, char *err, size_t errsz)
{
	struct sbpf_kmap_opts rb = { .sz = sizeof(rb), .type = SBPF_KMAP_RINGBUF, .name = "cc_ring",
				     .max_entries = RINGBUF_BYTES };
	struct sbpf_kmap_opts ctl = { .sz = sizeof(ctl), .type = SBPF_KMAP_HASH, .name = "cc_control",
				      .key_size = 4, .value_size = 16, .max_entries = 16384 };
	struct sbpf_kmap_opts cnt = { .sz = sizeof(cnt), .type = SBPF_KMAP_ARRAY, .name = "cc_counter",
				      .key_size = 4, .value_size = 8, .max_entries = 2 };
	if ((h->maps.ringbuf = sbpf_kmap_create(&rb)) < 0 || (h->maps.control = sbpf_kmap_create(&ctl)) < 0 ||
	    (h->maps.counter = sbpf_kmap_create(&cnt)) < 0) {
		int r = h->maps.ringbuf < 0 ? h->maps.ringbuf : h->maps.control < 0 ? h->maps.control : h->maps.counter;
		snprintf(err, errsz, "creating maps: %s", strerror(-r));
		return r;
	}
	return storage_map(h, CC_STORAGE_BYTES(h->prog->nstate), err, errsz);
}

/* dsl_judge.fingerprint: generates the candidate's programs and hashes them. */
static int fingerprint(void *ctx, struct dsl_candidate *c, uint64_t *fp, char *reason, size_t rsz)
{
	struct cc_handle *h = ctx;
	size_t k = (size_t)(c - h->cand);
	struct cc_layout l;
	int r = cc_layout_get(&l, reason, rsz);
	if (r)
		return r;
	cc_progs_free(&h->gen[k]);
	r = cc_codegen(h->prog, h->info[k].kernel_items, &l, &h->maps, &h->gen[k], reason, rsz);
	if (r)
		return r;
	h->info[k].insns = h->gen[k].n[CC_CB_CONG_CONTROL];
	uint64_t x = dsl_hash(DSL_HASH_INIT, "cc1", 3);
	for (int cb = 0; cb < CC_NCB; cb++)
		x = dsl_hash_insns(x, h->gen[k].insns[cb], h->gen[k].n[cb]);
	*fp = x;
	return 0;
}

/* dsl_judge.load: loads every callback of the candidate (the verifier judges). */
static int load(void *ctx, struct dsl_candidate *c, char *reason, size_t rsz)
{
	struct cc_handle *h = ctx;
	size_t k = (size_t)(c - h->cand);
	sbpf_kstructops__free(h->trial);
	h->trial = sbpf_kstructops__new("tcp_congestion_ops", reason, rsz);
	if (!h->trial)
		return -errno;
	for (int cb = 0; cb < CC_NCB; cb++) {
		char log[240];
		int r = sbpf_kstructops__load(h->trial, cc_cb_member(cb), h->gen[k].insns[cb], h->gen[k].n[cb], log,
					      sizeof(log));
		if (r) {
			snprintf(reason, rsz, "%s: %s", cc_cb_member(cb), log);
			sbpf_kstructops__free(h->trial);
			h->trial = NULL;
			return r;
		}
	}
	return 0;
}

/* Marks in @v the state variables @e reads. */
static void expr_uses(const struct cc_expr *e, bool *v)
{
	if (!e)
		return;
	if (e->kind == CC_E_STATE)
		v[e->index] = true;
	expr_uses(e->a, v);
	expr_uses(e->b, v);
}

/* Marks the variables statements @s read (@reads) and assign (@writes). */
static void stmt_uses(const struct cc_stmt *s, bool *reads, bool *writes)
{
	for (; s; s = s->next) {
		expr_uses(s->e, reads);
		if (s->kind == CC_S_ASSIGN)
			writes[s->index] = true;
		stmt_uses(s->body, reads, writes);
		stmt_uses(s->els, reads, writes);
	}
}

size_t cc_split_point(const struct cc_prog *p, bool *owned)
{
	size_t k = 0;
	while (k < p->nitems && p->items[k].fold)
		k++;
	for (; k > 0; k--) {
		if (k == p->nitems)
			continue;
		bool pre[CC_MAX_STATE] = { 0 }, prew[CC_MAX_STATE] = { 0 };
		bool sufr[CC_MAX_STATE] = { 0 }, sufw[CC_MAX_STATE] = { 0 };
		for (size_t i = 0; i < k; i++)
			stmt_uses(p->items[i].stmts, pre, prew);
		for (size_t i = k; i < p->nitems; i++)
			stmt_uses(p->items[i].stmts, sufr, sufw);
		bool ok = true;
		for (int v = 0; v < CC_MAX_STATE; v++) {
			pre[v] |= prew[v];
			ok &= !(pre[v] && sufw[v]);
		}
		if (!ok)
			continue;
		if (owned)
			memcpy(owned, pre, sizeof(pre));
		return k;
	}
	return 0;
}

void cc_handle_free(struct cc_handle *h)
{
	if (!h)
		return;
	sbpf_kstructops__free(h->ops);
	sbpf_kstructops__free(h->trial);
	int fds[] = { h->maps.ringbuf, h->maps.storage, h->maps.control, h->maps.counter, h->btf_fd };
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	for (int k = 0; k < 3; k++)
		cc_progs_free(&h->gen[k]);
	free(h);
}

int cc_plan(struct cc_prog *p, enum cc_plan_mode mode, const char *name, bool do_register, struct cc_handle **out,
	    char *err, size_t errsz)
{
	struct cc_handle *h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->prog = p;
	h->maps = (struct cc_maps){ -1, -1, -1, -1 };
	h->btf_fd = -1;
	h->chosen = -1;
	snprintf(h->name, sizeof(h->name), "%s", name && name[0] ? name : p->name[0] ? p->name : "safebpf_cc");
	int r = create_maps(h, err, errsz);
	if (r) {
		cc_handle_free(h);
		return r;
	}
	/* Candidates: the whole program in the kernel (no per-ACK record to user
	 * space: its cost is the kernel's instructions alone), the MVSF (a
	 * record and a user-space run per ACK). */
	if (mode == CC_PLAN_AUTO || mode == CC_PLAN_KERNEL) {
		h->info[h->ncand] = (struct cc_candidate_info){ .name = "kernel", .kernel_items = p->nitems, .cost = 1 };
		h->cand[h->ncand] = (struct dsl_candidate){ .name = "kernel", .cost = 1 };
		h->ncand++;
	}
	/* The folds plan: the leading folds in the kernel (they see every ACK,
	 * even when records are lost), the rules in user space on each record. */
	size_t k = cc_split_point(p, h->owned);
	if ((mode == CC_PLAN_AUTO || mode == CC_PLAN_FOLDS) && k) {
		h->info[h->ncand] = (struct cc_candidate_info){ .name = "folds", .kernel_items = k, .cost = 50 };
		h->cand[h->ncand] = (struct dsl_candidate){ .name = "folds", .cost = 50 };
		h->ncand++;
	} else if (mode == CC_PLAN_FOLDS) {
		snprintf(err, errsz, "the program has no folds plan: it must start with folds whose state the "
			 "rules do not assign");
		cc_handle_free(h);
		return -EINVAL;
	}
	if (mode == CC_PLAN_AUTO || mode == CC_PLAN_MVSF) {
		h->info[h->ncand] = (struct cc_candidate_info){ .name = "mvsf", .kernel_items = 0, .cost = 100 };
		h->cand[h->ncand] = (struct dsl_candidate){ .name = "mvsf", .cost = 100, .mvsf = true };
		h->ncand++;
	}
	struct dsl_judge j = { .sz = sizeof(j), .fingerprint = fingerprint, .load = load,
			       .test_reject_env = "SAFEBPF_TEST_REJECT" };
	int c = dsl_iterate(h->cand, h->ncand, &j, h);
	if (c < 0) {
		const struct dsl_candidate *last = &h->cand[h->ncand - 1];
		snprintf(err, errsz, "no plan was accepted by this kernel's verifier (%s: %s)", last->name, last->reason);
		cc_handle_free(h);
		return c;
	}
	h->chosen = c;
	h->kernel = h->info[c].kernel_items == p->nitems;
	h->user_from = h->kernel ? p->nitems : h->info[c].kernel_items;
	h->ops = h->trial;
	h->trial = NULL;
	for (int cb = 0; cb < CC_NCB; cb++)
		h->insns[cb] = h->gen[c].n[cb];
	if (do_register) {
		/* TCP_CONG_NON_RESTRICTED: any socket may select it, and a network
		 * namespace may make it its default (sysctl). */
		uint32_t flags = 1;
		if ((r = sbpf_kstructops__set(h->ops, "name", h->name, strlen(h->name) + 1)) ||
		    (r = sbpf_kstructops__set(h->ops, "flags", &flags, sizeof(flags))) ||
		    (r = sbpf_kstructops__register(h->ops, h->name, err, errsz))) {
			if (r == -ENOENT || r == -E2BIG)
				snprintf(err, errsz, "cannot set the struct_ops name '%s'", h->name);
			cc_handle_free(h);
			return r;
		}
		h->registered = true;
		h->map_id = sbpf_kstructops__map_id(h->ops);
		h->link_id = sbpf_kstructops__link_id(h->ops);
	}
	*out = h;
	return 0;
}
