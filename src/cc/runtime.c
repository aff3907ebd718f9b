/* runtime.c - the user-space side of a registered algorithm: consumes the
 * ring buffer; under the MVSF plan runs the program (eval.c) on every
 * ACK's measurements and writes the cwnd / pacing rate it sets into the
 * control map the kernel applies on the next ACK; under the kernel plan
 * only receives reports. Per-flow state lives in a small hash table keyed
 * by the flow id the kernel assigned.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "cc/ccInt.h"
#include "safebpf/kernel.h"

#define NFLOWS 4096        /* flow table slots (open addressing) */

struct flow {
	uint32_t id;               /* flow id (0: free slot) */
	bool dead;                 /* closed (a tombstone) */
	uint64_t state[CC_MAX_STATE]; /* the program's state */
	uint64_t cwnd, rate;       /* last values written to the control map */
};

struct rt {
	struct cc_handle *h;       /* the algorithm */
	const struct cc_run_opts *o; /* options */
	struct cc_run_stats *st;   /* counters */
	struct flow *flows;        /* NFLOWS slots */
	int err;                   /* first error */
};

void cc_record_line(FILE *f, uint32_t flow, const uint64_t *meas)
{
	fprintf(f, "ack %" PRIu32, flow);
	for (int m = 0; m < CC_NMEAS; m++)
		fprintf(f, " %" PRIu64, meas[m]);
	fputc('\n', f);
}

/* The slot of flow @id; with @create, a new one with initial state. */
static struct flow *find(struct rt *rt, uint32_t id, bool create)
{
	struct flow *tomb = NULL;
	for (uint32_t k = 0; k < NFLOWS; k++) {
		struct flow *f = &rt->flows[(id + k) % NFLOWS];
		if (f->id == id && !f->dead)
			return f;
		if (f->dead && !tomb)
			tomb = f;
		if (!f->id) {
			if (!create)
				return NULL;
			f = tomb ? tomb : f;
			memset(f, 0, sizeof(*f));
			f->id = id;
			memcpy(f->state, rt->h->prog->state_init, sizeof(f->state));
			rt->st->flows++;
			return f;
		}
	}
	return NULL;
}

static void print_report(struct rt *rt, uint32_t flow, const uint64_t *state)
{
	if (!rt->o->reports)
		return;
	fprintf(rt->o->reports, "report flow=%" PRIu32, flow);
	for (int i = 0; i < rt->h->prog->nstate; i++)
		fprintf(rt->o->reports, " %s=%" PRIu64, rt->h->prog->state_name[i], state[i]);
	fputc('\n', rt->o->reports);
}

static int on_record(void *ctx, const void *data, size_t len)
{
	struct rt *rt = ctx;
	uint64_t w0;
	if (len < 8)
		return 0;
	memcpy(&w0, data, 8);
	uint32_t kind = (uint32_t)(w0 >> 32), id = (uint32_t)w0;
	if (kind == CC_REC_CLOSE) {
		struct flow *f = find(rt, id, false);
		if (f)
			f->dead = true;
		return 0;
	}
	if (kind == CC_REC_REPORT) {
		uint64_t state[CC_MAX_STATE] = { 0 };
		size_t n = (len - 16) / 8;
		memcpy(state, (const char *)data + 16, 8 * (n < CC_MAX_STATE ? n : CC_MAX_STATE));
		rt->st->reports++;
		print_report(rt, id, state);
		return 0;
	}
	if (kind != CC_REC_ACK || len < 8 * (1 + CC_NMEAS))
		return 0;
	const struct cc_prog *p = rt->h->prog;
	size_t from = rt->h->user_from;
	if (from && len < 8 * (1 + CC_NMEAS + (size_t)p->nstate))
		return 0;
	uint64_t meas[CC_NMEAS];
	memcpy(meas, (const char *)data + 8, sizeof(meas));
	rt->st->acks++;
	if (rt->o->record)
		cc_record_line(rt->o->record, id, meas);
	struct flow *f = find(rt, id, true);
	if (!f)
		return 0; /* table full: the flow keeps its last control values */
	struct cc_effect eff = { 0 };
	/* Folds plan: the kernel's folds ran; their state comes in the record. */
	for (int v = 0; from && v < p->nstate; v++)
		if (rt->h->owned[v])
			memcpy(&f->state[v], (const char *)data + 8 * (1 + CC_NMEAS + v), 8);
	cc_eval_items(p, from, p->nitems, f->state, meas, &eff);
	if (eff.report) {
		rt->st->reports++;
		print_report(rt, id, f->state);
	}
	uint64_t cwnd = eff.cwnd ? eff.cwnd : f->cwnd, rate = eff.rate ? eff.rate : f->rate;
	if (cwnd != f->cwnd || rate != f->rate) {
		uint64_t v[2] = { cwnd, rate };
		if (sbpf_kmap_update(rt->h->maps.control, &id, v, 0) == 0) {
			rt->st->control_writes++;
			f->cwnd = cwnd;
			f->rate = rate;
		}
	}
	return 0;
}

int cc_run(struct cc_handle *h, const struct cc_run_opts *o, struct cc_run_stats *st)
{
	struct rt rt = { .h = h, .o = o, .st = st };
	memset(st, 0, sizeof(*st));
	rt.flows = calloc(NFLOWS, sizeof(*rt.flows));
	if (!rt.flows)
		return -ENOMEM;
	struct sbpf_kringbuf *rb = sbpf_kringbuf__new(h->maps.ringbuf, on_record, &rt);
	if (!rb) {
		int e = errno;
		free(rt.flows);
		return -e;
	}
	int err = 0;
	for (;;) {
		bool last = (o->stop && *o->stop);
		if (!last && o->child_pidfd >= 0) {
			struct pollfd pf = { .fd = o->child_pidfd, .events = POLLIN };
			last = poll(&pf, 1, 0) > 0;
		}
		int r = sbpf_kringbuf__poll(rb, last ? 0 : 50);
		if (r < 0 && r != -EINTR) {
			err = r;
			break;
		}
		if (last && r <= 0)
			break;
	}
	uint32_t key = 1;
	uint64_t lost = 0;
	if (sbpf_kmap_lookup(h->maps.counter, &key, &lost) == 0)
		st->lost = lost;
	sbpf_kringbuf__free(rb);
	free(rt.flows);
	return err;
}
