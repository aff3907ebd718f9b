/* replay.c - deterministic replay of recorded ACKs through a plan, so that
 * plans can be compared on the same input: the MVSF plan runs the program
 * with the reference semantics (eval.c), the kernel plan runs the very
 * cong_control program the kernel would load, in safebpf's interpreter
 * (src/vm), against a synthetic tcp_sock and rate_sample laid out as vmlinux
 * BTF says, with the helpers it calls (socket storage, map lookup, ring
 * buffer) served from the same memory. Each flow keeps its own storage and
 * cwnd between ACKs; an ACK's cwnd measurement is the one the plan set last.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cc/ccInt.h"
#include "safebpf/vm.h"

enum { TAG_RING = 1, TAG_STORAGE = 2, TAG_CONTROL = 3, TAG_COUNTER = 4 };

#define MAX_FLOWS 256

/* The interpreter's memory: callback arguments, then the structures. */
struct sim {
	unsigned char *mem;        /* the buffer the program runs on */
	size_t len;                /* its bytes */
	size_t tp, rs, st, cnt;    /* offsets of tcp_sock, rate_sample, storage, counter */
	struct cc_layout l;        /* kernel layout */
	uint64_t reports;          /* ring buffer outputs */
	uint64_t rec[1 + CC_NMEAS + CC_MAX_STATE]; /* the last ACK record output */
	size_t reclen;             /* its bytes */
};

static struct sim *cur;            /* the replay being run (helpers have no context) */

static uint64_t h_sk_storage_get(uint64_t map, uint64_t sk, uint64_t v, uint64_t flags, uint64_t r5)
{
	(void)sk, (void)v, (void)flags, (void)r5;
	return map == TAG_STORAGE ? (uint64_t)(uintptr_t)(cur->mem + cur->st) : 0;
}

static uint64_t h_map_lookup(uint64_t map, uint64_t key, uint64_t r3, uint64_t r4, uint64_t r5)
{
	(void)r3, (void)r4, (void)r5;
	uint32_t k;
	memcpy(&k, (const void *)(uintptr_t)key, 4);
	if (map == TAG_COUNTER && k < 2)
		return (uint64_t)(uintptr_t)(cur->mem + cur->cnt + 8 * k);
	return 0;
}

static uint64_t h_map_delete(uint64_t map, uint64_t key, uint64_t r3, uint64_t r4, uint64_t r5)
{
	(void)map, (void)key, (void)r3, (void)r4, (void)r5;
	return 0;
}

static uint64_t h_ringbuf_output(uint64_t map, uint64_t data, uint64_t size, uint64_t flags, uint64_t r5)
{
	(void)map, (void)flags, (void)r5;
	cur->reports++;
	if (size <= sizeof(cur->rec)) {
		memcpy(cur->rec, (const void *)(uintptr_t)data, size);
		cur->reclen = size;
	}
	return 0;
}

static void put(struct sim *s, size_t base, uint32_t off, const void *v, size_t n)
{
	memcpy(s->mem + base + off, v, n);
}

/* Writes one ACK's measurements into the synthetic socket as the kernel
 * would hold them; @cwnd is the socket's current window. Returns the flag
 * argument of cong_control. */
static uint64_t fill(struct sim *s, const uint64_t *m, uint64_t cwnd)
{
	const struct cc_layout *l = &s->l;
	uint32_t u32;
	int32_t s32;
	int64_t s64;
	uint64_t u64;
	uint8_t u8;
	memset(s->mem + s->tp, 0, l->tcp_sock_size);
	memset(s->mem + s->rs, 0, l->rate_sample_size);
	u32 = (uint32_t)m[CC_M_ACKED];
	put(s, s->rs, l->rs_acked_sacked, &u32, 4);
	s64 = (int64_t)m[CC_M_RTT];
	put(s, s->rs, l->rs_rtt_us, &s64, 8);
	u32 = (uint32_t)(m[CC_M_SRTT] << 3);
	put(s, s->tp, l->srtt_us, &u32, 4);
	u32 = (uint32_t)m[CC_M_MIN_RTT];
	put(s, s->tp, l->rtt_min_v, &u32, 4);
	s32 = (int32_t)m[CC_M_LOSS];
	put(s, s->rs, l->rs_losses, &s32, 4);
	u8 = (uint8_t)((m[CC_M_TIMEOUT] ? 4u : m[CC_M_RECOVERY] ? 3u : 0u) << l->ca_state_shift);
	put(s, s->tp, l->ca_state_byte, &u8, 1);
	u32 = (uint32_t)m[CC_M_INFLIGHT];
	put(s, s->tp, l->packets_out, &u32, 4);
	s32 = (int32_t)m[CC_M_DELIVERED];
	put(s, s->rs, l->rs_delivered, &s32, 4);
	s64 = (int64_t)m[CC_M_INTERVAL];
	put(s, s->rs, l->rs_interval_us, &s64, 8);
	u32 = (uint32_t)m[CC_M_MSS];
	put(s, s->tp, l->mss_cache, &u32, 4);
	u64 = m[CC_M_NOW];
	put(s, s->tp, l->tcp_mstamp, &u64, 8);
	u32 = (uint32_t)cwnd;
	put(s, s->tp, l->snd_cwnd, &u32, 4);
	u8 = (uint8_t)(m[CC_M_APP_LIMITED] != 0);
	put(s, s->rs, l->rs_is_app_limited, &u8, 1);
	/* snd_ssthresh stays 0 (never slow start), so the bit decides */
	u8 = (uint8_t)((m[CC_M_CWND_LIMITED] != 0) << l->cwnd_limited_shift);
	put(s, s->tp, l->cwnd_limited_byte, &u8, 1);
	return m[CC_M_ECN] ? 0x40 : 0;
}

/* What the kernel's measurement code reads back from the synthetic socket
 * (the C mirror of codegen.c's measurements()). */
static void readback(const struct sim *s, uint64_t flag, uint64_t *m)
{
	const struct cc_layout *l = &s->l;
	const unsigned char *tp = s->mem + s->tp, *rs = s->mem + s->rs;
	uint32_t u32, a, b, c;
	int32_t s32;
	int64_t s64;
	uint8_t u8;
#define GET(base, off, var) memcpy(&(var), (base) + (off), sizeof(var))
	GET(rs, l->rs_acked_sacked, u32); m[CC_M_ACKED] = u32;
	GET(rs, l->rs_rtt_us, s64); m[CC_M_RTT] = s64 < 0 ? 0 : (uint64_t)s64;
	GET(tp, l->srtt_us, u32); m[CC_M_SRTT] = u32 >> 3;
	GET(tp, l->rtt_min_v, u32); m[CC_M_MIN_RTT] = u32;
	GET(rs, l->rs_losses, s32); m[CC_M_LOSS] = s32 < 0 ? 0 : (uint64_t)s32;
	GET(tp, l->ca_state_byte, u8);
	u8 = (uint8_t)((u8 >> l->ca_state_shift) & l->ca_state_mask);
	m[CC_M_TIMEOUT] = u8 == 4;
	m[CC_M_RECOVERY] = u8 == 3;
	m[CC_M_ECN] = (flag >> 6) & 1;
	GET(tp, l->packets_out, u32); GET(tp, l->sacked_out, a); GET(tp, l->lost_out, b); GET(tp, l->retrans_out, c);
	m[CC_M_INFLIGHT] = (uint32_t)(u32 - a - b + c);
	GET(rs, l->rs_delivered, s32); m[CC_M_DELIVERED] = s32 < 0 ? 0 : (uint64_t)s32;
	GET(rs, l->rs_interval_us, s64); m[CC_M_INTERVAL] = s64 < 0 ? 0 : (uint64_t)s64;
	GET(tp, l->mss_cache, u32); m[CC_M_MSS] = u32;
	m[CC_M_RATE] = m[CC_M_INTERVAL] ? m[CC_M_DELIVERED] * m[CC_M_MSS] * 1000000 / m[CC_M_INTERVAL] : 0;
	GET(tp, l->tcp_mstamp, m[CC_M_NOW]);
	GET(tp, l->snd_cwnd, u32); m[CC_M_CWND] = u32;
	GET(rs, l->rs_is_app_limited, u8); m[CC_M_APP_LIMITED] = u8;
	GET(tp, l->snd_ssthresh, a);
	GET(tp, l->max_packets_out, b);
	GET(tp, l->cwnd_limited_byte, u8);
	m[CC_M_CWND_LIMITED] = u32 < a ? u32 < 2 * (uint64_t)b : (u8 >> l->cwnd_limited_shift) & 1;
#undef GET
}

struct rflow {
	uint32_t id;                         /* recorded flow id */
	uint64_t cwnd, rate;                 /* socket's cwnd and pacing rate now */
	uint64_t state[CC_MAX_STATE];        /* MVSF: the program's state */
	uint64_t storage[2 + CC_MAX_STATE];  /* kernel: the socket storage */
};

/* Parses "ack FLOW m0 .. m16" (CC_NMEAS values). */
static bool parse_line(const char *line, uint32_t *flow, uint64_t *m)
{
	char *end;
	if (strncmp(line, "ack ", 4))
		return false;
	const char *p = line + 4;
	unsigned long long f = strtoull(p, &end, 10);
	if (end == p)
		return false;
	*flow = (uint32_t)f;
	for (int i = 0; i < CC_NMEAS; i++) {
		p = end;
		m[i] = strtoull(p, &end, 10);
		if (end == p)
			return false;
	}
	return true;
}

long cc_replay(const struct cc_prog *p, enum cc_plan_mode mode, FILE *in, FILE *out, char *err, size_t errsz)
{
	struct sim s = { 0 };
	struct cc_progs g = { 0 };
	struct sbpf_vm *vm = NULL;
	struct rflow *flows = calloc(MAX_FLOWS, sizeof(*flows));
	size_t nflows = 0;
	long n = 0;
	bool kernel = mode == CC_PLAN_KERNEL || mode == CC_PLAN_FOLDS;
	bool owned[CC_MAX_STATE] = { 0 };
	size_t kitems = mode == CC_PLAN_FOLDS ? cc_split_point(p, owned) : p->nitems;
	if (!flows)
		return -ENOMEM;
	if (mode == CC_PLAN_FOLDS && !kitems) {
		snprintf(err, errsz, "the program has no folds plan");
		free(flows);
		return -EINVAL;
	}
	if (cc_layout_get(&s.l, err, errsz)) {
		n = -ENOENT;
		goto out;
	}
	s.tp = 64;
	s.rs = s.tp + ((s.l.tcp_sock_size + 63) & ~63u);
	s.st = s.rs + ((s.l.rate_sample_size + 63) & ~63u);
	s.cnt = s.st + CC_STORAGE_BYTES(CC_MAX_STATE);
	s.len = s.cnt + 16;
	s.mem = calloc(1, s.len);
	if (!s.mem) {
		n = -ENOMEM;
		goto out;
	}
	if (kernel) {
		struct cc_maps tags = { TAG_RING, TAG_STORAGE, TAG_CONTROL, TAG_COUNTER };
		int r = cc_codegen(p, kitems, &s.l, &tags, &g, err, errsz);
		if (r) {
			n = r;
			goto out;
		}
		struct sbpf_insn *ins = g.insns[CC_CB_CONG_CONTROL];
		size_t ni = g.n[CC_CB_CONG_CONTROL];
		for (size_t i = 0; i < ni; i++)
			if (ins[i].code == (SBPF_LD | SBPF_DW | SBPF_IMM) && ins[i].src_reg == SBPF_PSEUDO_MAP_FD)
				ins[i].src_reg = 0; /* the map's tag becomes a constant */
		struct sbpf_validate_error ve;
		vm = sbpf_vm__new(ins, ni, NULL, &ve);
		if (!vm) {
			snprintf(err, errsz, "interpreter refused the program: %s", ve.rule);
			n = -EINVAL;
			goto out;
		}
		sbpf_vm__set_helper(vm, 1, "map_lookup_elem", h_map_lookup);
		sbpf_vm__set_helper(vm, 3, "map_delete_elem", h_map_delete);
		sbpf_vm__set_helper(vm, 107, "sk_storage_get", h_sk_storage_get);
		sbpf_vm__set_helper(vm, 130, "ringbuf_output", h_ringbuf_output);
	}
	cur = &s;
	char line[1024];
	while (fgets(line, sizeof(line), in)) {
		uint32_t id;
		uint64_t rec[CC_NMEAS], m[CC_NMEAS];
		if (!parse_line(line, &id, rec))
			continue;
		struct rflow *f = NULL;
		for (size_t i = 0; i < nflows; i++)
			if (flows[i].id == id)
				f = &flows[i];
		if (!f) {
			if (nflows == MAX_FLOWS) {
				snprintf(err, errsz, "more than %d flows in the trace", MAX_FLOWS);
				n = -E2BIG;
				goto out;
			}
			f = &flows[nflows++];
			f->id = id;
			f->cwnd = rec[CC_M_CWND];
			memcpy(f->state, p->state_init, sizeof(f->state));
		}
		uint64_t flag = fill(&s, rec, f->cwnd);
		uint64_t *args = (uint64_t *)(void *)s.mem;
		if (kernel) {
			uint64_t r0;
			struct sbpf_run_error re;
			memcpy(s.mem + s.st, f->storage, sizeof(f->storage));
			uint64_t rate = f->rate;
			memcpy(s.mem + s.tp + s.l.pacing_rate, &rate, 8);
			args[0] = (uint64_t)(uintptr_t)(s.mem + s.tp);
			args[1] = 0;
			args[2] = flag;
			args[3] = (uint64_t)(uintptr_t)(s.mem + s.rs);
			if (sbpf_vm__run(vm, s.mem, s.len, &r0, &re)) {
				snprintf(err, errsz, "ACK %ld: the kernel program stopped at %zu: %s", n + 1, re.pc, re.reason);
				n = -EFAULT;
				goto out;
			}
			memcpy(f->storage, s.mem + s.st, sizeof(f->storage));
			uint32_t cw;
			memcpy(&cw, s.mem + s.tp + s.l.snd_cwnd, 4);
			memcpy(&f->rate, s.mem + s.tp + s.l.pacing_rate, 8);
			f->cwnd = cw;
			if (mode == CC_PLAN_FOLDS) {
				/* user space's part, on the record the program sent */
				struct cc_effect eff = { 0 };
				if (s.reclen != 8 * (1 + CC_NMEAS + (size_t)p->nstate)) {
					snprintf(err, errsz, "ACK %ld: no record from the folds plan", n + 1);
					n = -EPROTO;
					goto out;
				}
				for (int v = 0; v < p->nstate; v++)
					if (owned[v])
						f->state[v] = s.rec[1 + CC_NMEAS + v];
				cc_eval_items(p, kitems, p->nitems, f->state, s.rec + 1, &eff);
				if (eff.cwnd)
					f->cwnd = eff.cwnd;
				if (eff.rate)
					f->rate = eff.rate;
				s.reclen = 0;
			}
		} else {
			struct cc_effect eff = { 0 };
			readback(&s, flag, m);
			cc_eval_items(p, 0, p->nitems, f->state, m, &eff);
			if (eff.report && getenv("SAFEBPF_CC_REPLAY_REPORTS")) {
				fprintf(stderr, "report flow=%" PRIu32, id);
				for (int i = 0; i < p->nstate; i++)
					fprintf(stderr, " %s=%" PRIu64, p->state_name[i], f->state[i]);
				fputc('\n', stderr);
			}
			if (eff.cwnd)
				f->cwnd = eff.cwnd;
			if (eff.rate)
				f->rate = eff.rate;
		}
		/* A program that never sets the rate leaves the pacing rate to the
		 * plan's default (not part of the language's semantics): print 0. */
		fprintf(out, "%" PRIu32 " %" PRIu64 " %" PRIu64 "\n", id, f->cwnd, p->uses_rate ? f->rate : 0);
		n++;
	}
out:
	cur = NULL;
	sbpf_vm__free(vm);
	cc_progs_free(&g);
	free(s.mem);
	free(flows);
	return n;
}
