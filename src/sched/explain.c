/* explain.c - `explain` for scheduling policies: the policy as the
 * compiler understood it, the candidate plans in the order the optimizer
 * tries them with the verifier's verdict on each (loaded, not attached),
 * and the chosen plan's program.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "safebpf/asm.h"
#include "sched/schedInt.h"

static const char *field_name(const struct sched_field *f, char *buf, size_t sz)
{
	static const char *const names[] = { "src_ip", "dst_ip", "src_port", "dst_port", "proto", "cpu" };
	if (f->kind == SCHED_F_PAYLOAD)
		snprintf(buf, sz, "payload[%u:%u]", f->off, f->len);
	else
		snprintf(buf, sz, "%s", names[f->kind]);
	return buf;
}

static void action_text(const struct sbpf_sched_policy *p, const struct sched_action *a, FILE *out)
{
	switch (a->kind) {
	case SCHED_A_RR:     fprintf(out, "round_robin"); break;
	case SCHED_A_HASH:   fprintf(out, "hash"); break;
	case SCHED_A_LEAST:
		fprintf(out, "least_loaded(%s%s%s)", p->maps[a->map], a->sub >= 0 ? " - " : "", a->sub >= 0 ? p->maps[a->sub] : "");
		break;
	case SCHED_A_EXEC:   fprintf(out, "executor %u", a->exec); break;
	case SCHED_A_STICKY:
		fprintf(out, "sticky(");
		action_text(p, a->inner, out);
		fprintf(out, ")");
		break;
	}
}

static const char *plan_text(enum sched_plan_kind k)
{
	if (k == SCHED_PLAN_STICKY)
		return "the sticky bucket table in the program; a new bucket takes the decision user space "
		       "last wrote and is reported; the inner policy runs in user space";
	return k == SCHED_PLAN_KERNEL
		       ? "the whole policy in the SK_REUSEPORT program; nothing in user space"
		       : "MVSF: the program selects the decision user space last wrote for the key's bucket "
			 "and reports each packet; the policy runs in user space";
}

int sbpf_sched_policy__explain(const struct sbpf_sched_policy *p, unsigned n, const struct sbpf_sched_opts *opts,
			       FILE *out, char *err, size_t errsz)
{
	enum sbpf_sched_plan plan = opts && opts->sz >= offsetof(struct sbpf_sched_opts, plan) + sizeof(opts->plan)
					    ? opts->plan : SBPF_SCHED_PLAN_AUTO;
	fprintf(out, "policy %s: %u executors", p->name, n);
	if (p->nkey) {
		fprintf(out, ", key ");
		for (size_t i = 0; i < p->nkey; i++) {
			char buf[32];
			fprintf(out, "%s%s", i ? ", " : "", field_name(&p->key[i], buf, sizeof(buf)));
		}
		fprintf(out, " (%u buckets)", sched_buckets(p, n));
	}
	fprintf(out, "\n  select ");
	action_text(p, p->sel, out);
	fprintf(out, "\n");
	for (size_t i = 0; i < p->nmaps; i++)
		fprintf(out, p->counter[i] ? "  counter %s: %u u64 slots, +1 on each selection of their executor\n"
					   : "  map %s: %u u64 slots written by the server (sbpf_sched__publish)\n",
			p->maps[i], n);
	struct sched_build b;
	int e = sched_build(&b, p, n, plan, err, errsz);
	fprintf(out, "\ncandidate plans, in the order tried (the kernel verifier judges each):\n");
	size_t order[SCHED_NCAND];
	dsl_try_order(b.cand, b.ncand, order);
	for (size_t k = 0; k < b.ncand; k++) {
		const struct dsl_candidate *c = &b.cand[order[k]];
		const char *v = !c->tried ? "not tried (an earlier plan was accepted)"
			      : c->verdict == DSL_VERDICT_ACCEPTED ? "accepted"
			      : "refused";
		char len[32] = "";
		if (b.ninsns[order[k]])
			snprintf(len, sizeof(len), "  [%zu insns]", b.ninsns[order[k]]);
		fprintf(out, "  %zu. %-13s cost %5.0f  %s%s%s%s%s%s\n     %s\n", k + 1, c->name, c->cost, v,
			c->cached ? " (cached verdict)" : "", c->reason[0] ? ": " : "", c->reason,
			order[k] == (size_t)b.chosen ? "  <- chosen" : "", len, plan_text(b.kind[order[k]]));
	}
	if (e) {
		sched_build_free(&b);
		return e;
	}
	fprintf(out, "\nprogram of plan %s (SK_REUSEPORT, %zu insns):\n", b.cand[b.chosen].name, b.ninsns[b.chosen]);
	sbpf_disasm(b.insns[b.chosen], b.ninsns[b.chosen], SBPF_DISASM_ASM, out);
	sched_build_free(&b);
	return 0;
}
