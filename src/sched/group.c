/* group.c - a policy attached to a SO_REUSEPORT group: the socket array,
 * SO_ATTACH_REUSEPORT_EBPF, publication of user-space maps, and under the
 * MVSF the user-space agent that runs the policy on the kernel's reports
 * and writes the decisions the kernel applies next (a default slot for
 * key-independent decisions, per-bucket slots for sticky keys).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "safebpf/kernel.h"
#include "sched/schedInt.h"

#ifndef SO_ATTACH_REUSEPORT_EBPF
#define SO_ATTACH_REUSEPORT_EBPF 52
#endif
#ifndef SO_DETACH_REUSEPORT_BPF
#define SO_DETACH_REUSEPORT_BPF 68
#endif


int sbpf_sched_plan_parse(const char *name, enum sbpf_sched_plan *out)
{
	if (!strcmp(name, "auto"))
		*out = SBPF_SCHED_PLAN_AUTO;
	else if (!strcmp(name, "mvsf"))
		*out = SBPF_SCHED_PLAN_MVSF;
	else
		return -EINVAL;
	return 0;
}

static void store(uint64_t *slot, uint64_t v)
{
	__atomic_store_n(slot, v, __ATOMIC_RELEASE);
}

/* Writes what the kernel applies next: the default slot (the decision of a
 * key-independent policy, or of a sticky policy's inner one for a new
 * key) and, for sticky policies, bucket @bkt's remembered decision. */
static void write_ahead(struct sbpf_sched *s, int64_t bkt)
{
	const struct sbpf_sched_policy *p = s->b.p;
	const struct sched_action *a = p->sel;
	uint64_t *table = s->b.m.table_mem;
	if (a->kind == SCHED_A_STICKY) {
		if (bkt >= 0 && s->sticky[bkt] != SCHED_EMPTY)
			store(&table[bkt], s->sticky[bkt]);
		a = a->inner;
	}
	if (a->kind != SCHED_A_HASH)
		store(&table[s->b.nb], sched_decide(p, a, &s->st, 0, false));
}

/* One report of the kernel (ring-buffer callback): decide it as the
 * policy would, count lag, write ahead. */
static int on_report(void *ctx, const void *data, size_t len)
{
	struct sbpf_sched *s = ctx;
	struct sched_report r;
	if (len < sizeof(r))
		return 0;
	memcpy(&r, data, sizeof(r));
	/* kernel-sticky reports only new buckets, which the inner decision
	 * (the default slot) placed; the MVSF reports every packet. */
	const struct sched_action *a = s->partial ? s->b.p->sel->inner : s->b.p->sel;
	unsigned want = sched_decide(s->b.p, a, &s->st, r.h, true);
	s->stats.reports++;
	if (r.chosen != SCHED_EMPTY)
		sched_account(s->b.p, &s->st, r.chosen);
	/* A least-loaded choice depends on loads that may have changed since
	 * the packet came: its lag cannot be judged here. */
	if (want != r.chosen && !sched_uses(s->b.p->sel, SCHED_A_LEAST))
		s->stats.lagged++;
	write_ahead(s, s->b.nb > 1 ? (int64_t)(r.h % s->b.nb) : 0);
	return 0;
}

int sbpf_sched__attach(const struct sbpf_sched_policy *p, const int *fds, unsigned n,
		       const struct sbpf_sched_opts *opts, struct sbpf_sched **out, char *err, size_t errsz)
{
	*out = NULL;
	char why[200];
	if (sbpf_kernel_check_privileges(why, sizeof(why))) {
		snprintf(err, errsz, "cannot load programs: %s", why);
		return -EPERM;
	}
	struct sbpf_sched *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->mu, NULL);
	s->attach_fd = -1;
	enum sbpf_sched_plan plan = opts && opts->sz >= offsetof(struct sbpf_sched_opts, plan) + sizeof(opts->plan)
					    ? opts->plan : SBPF_SCHED_PLAN_AUTO;
	int e = sched_build(&s->b, p, n, plan, err, errsz);
	if (e)
		goto fail;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t fd = (uint64_t)fds[i];
		if ((e = sbpf_kmap_update(s->b.m.sockarray, &i, &fd, 0))) {
			snprintf(err, errsz, "socket %u (fd %d) cannot join the socket array: %s%s", i, fds[i],
				 strerror(-e), e == -EINVAL ? " (not a bound UDP or listening TCP socket with SO_REUSEPORT?)" : "");
			goto fail;
		}
	}
	s->agent = s->b.kind[s->b.chosen] != SCHED_PLAN_KERNEL;
	s->partial = s->b.kind[s->b.chosen] == SCHED_PLAN_STICKY;
	if (s->agent) {
		s->st.n = n;
		s->st.nb = s->b.nb;
		if (!(s->sticky = malloc(sizeof(uint32_t) * s->b.nb))) {
			e = -ENOMEM;
			goto fail;
		}
		for (uint32_t k = 0; k < s->b.nb; k++)
			s->sticky[k] = SCHED_EMPTY;
		s->st.sticky = s->sticky;
		for (size_t i = 0; i < p->nmaps; i++)
			s->st.maps[i] = s->b.m.user_mem[i];
		if (!(s->rb = sbpf_kringbuf__new(s->b.m.ring, on_report, s))) {
			e = -errno;
			snprintf(err, errsz, "cannot read the report ring buffer: %s", strerror(errno));
			goto fail;
		}
		write_ahead(s, -1);
	}
	if (setsockopt(fds[0], SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF, &s->b.prog_fd, sizeof(int))) {
		e = -errno;
		snprintf(err, errsz, "SO_ATTACH_REUSEPORT_EBPF: %s", strerror(errno));
		goto fail;
	}
	s->attach_fd = fds[0];
	*out = s;
	return 0;
fail:
	sbpf_sched__detach(s);
	return e;
}

void sbpf_sched__detach(struct sbpf_sched *s)
{
	if (!s)
		return;
	if (s->attach_fd >= 0)
		setsockopt(s->attach_fd, SOL_SOCKET, SO_DETACH_REUSEPORT_BPF, NULL, 0);
	sbpf_kringbuf__free(s->rb);
	sched_build_free(&s->b);
	free(s->sticky);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

int sbpf_sched__publish(struct sbpf_sched *s, const char *map, unsigned executor, uint64_t value)
{
	const struct sbpf_sched_policy *p = s->b.p;
	size_t i;
	for (i = 0; i < p->nmaps; i++)
		if (!strcmp(p->maps[i], map))
			break;
	if (i == p->nmaps)
		return -ENOENT;
	if (p->counter[i])
		return -EINVAL; /* counters are the kernel's (or the agent's) */
	if (executor >= s->b.n)
		return -EINVAL;
	store(&s->b.m.user_mem[i][executor], value);
	if (s->agent) {
		pthread_mutex_lock(&s->mu);
		write_ahead(s, -1);
		pthread_mutex_unlock(&s->mu);
	}
	return 0;
}

int sbpf_sched__poll(struct sbpf_sched *s, int timeout_ms)
{
	if (!s->agent)
		return 0;
	pthread_mutex_lock(&s->mu);
	int r = sbpf_kringbuf__poll(s->rb, timeout_ms);
	pthread_mutex_unlock(&s->mu);
	return r;
}

void sbpf_sched__stats(const struct sbpf_sched *s, struct sbpf_sched_stats *st)
{
	*st = s->stats;
	st->lost = __atomic_load_n(&s->b.m.state_mem[1], __ATOMIC_RELAXED);
}

const char *sbpf_sched__plan_name(const struct sbpf_sched *s)
{
	return s->b.cand[s->b.chosen].name;
}
