/* policy.c - the reference semantics of a scheduling policy: the key hash
 * of an input, the number of key buckets, and the decision of each action
 * in a given state. The MVSF's user-space agent (group.c) decides with
 * these functions, and codegen.c emits the same computations for the
 * kernel, so that every plan chooses the same executor.
 */
#include <errno.h>
#include <string.h>

#include "sched/schedInt.h"

uint32_t sched_buckets(const struct sbpf_sched_policy *p, unsigned n)
{
	if (!p->nkey || !n)
		return 1;
	return (SCHED_SLOTS + n - 1) / n * n;
}

bool sched_uses(const struct sched_action *a, enum sched_act_kind k)
{
	for (; a; a = a->inner)
		if (a->kind == k)
			return true;
	return false;
}

static uint32_t mix(uint32_t h, uint32_t w)
{
	return (h ^ w) * SCHED_HASH_PRIME;
}

uint32_t sbpf_sched_policy__key_hash(const struct sbpf_sched_policy *p, const struct sbpf_sched_input *in)
{
	if (!p->nkey)
		return 0;
	uint32_t h = SCHED_HASH_SEED;
	for (size_t i = 0; i < p->nkey; i++) {
		const struct sched_field *f = &p->key[i];
		uint32_t w = 0;
		switch (f->kind) {
		case SCHED_F_SRC_IP:   memcpy(&w, &in->src_ip, 4); break; /* the address bytes, little-endian */
		case SCHED_F_DST_IP:   memcpy(&w, &in->dst_ip, 4); break;
		case SCHED_F_SRC_PORT: w = in->src_port; break;
		case SCHED_F_DST_PORT: w = in->dst_port; break;
		case SCHED_F_PROTO:    w = in->proto; break;
		case SCHED_F_CPU:      w = in->cpu; break;
		case SCHED_F_PAYLOAD: {
			/* All of the field's bytes or, when the payload is shorter
			 * (or this is not UDP), zeros; one word per 4 bytes. */
			uint8_t buf[SCHED_MAX_PAYLOAD + 3] = { 0 };
			if (in->proto == 17 && in->payload && (size_t)f->off + f->len <= in->payload_len)
				memcpy(buf, in->payload + f->off, f->len);
			for (unsigned k = 0; k + 4 < (unsigned)f->len + 4; k += 4) {
				uint32_t v = (uint32_t)buf[k] | (uint32_t)buf[k + 1] << 8 | (uint32_t)buf[k + 2] << 16 |
					     (uint32_t)buf[k + 3] << 24;
				if (k + 4 < f->len)
					h = mix(h, v);
				else
					w = v;
			}
			break;
		}
		}
		h = mix(h, w);
	}
	h ^= h >> 16;
	h *= SCHED_HASH_MIX;
	h ^= h >> 13;
	return h;
}

void sched_account(const struct sbpf_sched_policy *p, struct sched_state *st, unsigned e)
{
	if (e >= st->n)
		return;
	for (size_t i = 0; i < p->nmaps; i++)
		if (p->counter[i])
			__atomic_add_fetch(&st->maps[i][e], 1, __ATOMIC_RELAXED);
}

unsigned sched_decide(const struct sbpf_sched_policy *p, const struct sched_action *a, struct sched_state *st,
		      uint32_t h, bool commit)
{
	switch (a->kind) {
	case SCHED_A_RR: {
		unsigned e = (unsigned)(st->rr % st->n);
		if (commit)
			st->rr++;
		return e;
	}
	case SCHED_A_HASH:
		return h % st->n;
	case SCHED_A_LEAST: {
		/* Slot values, minus the subtracted vector's (signed: a
		 * counter kept by the agent may lag what the server published). */
		const uint64_t *m = st->maps[a->map], *s = a->sub >= 0 ? st->maps[a->sub] : NULL;
		unsigned best = 0;
		int64_t bv = (int64_t)(m[0] - (s ? s[0] : 0));
		for (unsigned i = 1; i < st->n; i++) {
			int64_t v = (int64_t)(m[i] - (s ? s[i] : 0));
			if (s ? v < bv : m[i] < (uint64_t)bv) {
				best = i;
				bv = s ? v : (int64_t)m[i];
			}
		}
		return best;
	}
	case SCHED_A_STICKY: {
		uint32_t b = h % st->nb;
		if (st->sticky[b] != SCHED_EMPTY)
			return st->sticky[b];
		unsigned e = sched_decide(p, a->inner, st, h, commit);
		if (commit)
			st->sticky[b] = e;
		return e;
	}
	case SCHED_A_EXEC:
		return a->exec % st->n;
	}
	return 0;
}
