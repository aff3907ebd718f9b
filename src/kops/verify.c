/* verify.c - the kernel check before native operations are trusted, and
 * the recognizer under it.
 *
 * sbpf_kops_verify_kernel_opts(): the lowered program (every site replaced
 * by its proof sequence) is loaded into the running kernel as an XDP
 * program, with its read-only data in a frozen read-only array map
 * (sbpf_kernel_load), so that the real verifier judges each proof sequence
 * in its context. Only a program the verifier accepts may be JIT-compiled
 * with native emits (docs/kops.md).
 *
 * sbpf_kops_rewrite_verified(): "DSL-guided iteration" for the recognizer.
 * An exact rewrite can still be one the verifier cannot follow (its
 * approximations are not the program's semantics); when the verifier
 * refuses the rewritten program, the rewrites to blame are found - from
 * the instruction its log names when that lies in a proof sequence, else
 * by bisection over the sites - and left out, until it accepts.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kops/kopsInt.h"
#include "safebpf/kernel.h"

#define VERIFY_LOG_SIZE (1u << 20)
#define MAX_DROPS 64

/* @o with defaults for the fields an older caller's struct lacks. */
static struct sbpf_kops_verify_opts opts_of(const struct sbpf_kops_verify_opts *o)
{
	struct sbpf_kops_verify_opts v = { .sz = sizeof(v) };
	if (o)
		memcpy(&v, o, o->sz < sizeof(v) ? o->sz : sizeof(v));
	v.sz = sizeof(v);
	return v;
}

/* Loads @insns as XDP and unloads it. Returns 0 when the verifier accepts
 * it, else its negative errno; with @log (VERIFY_LOG_SIZE bytes) the
 * verifier's log of a refusal lands there. */
static int kload(const struct sbpf_insn *insns, size_t n, const struct sbpf_kops_verify_opts *o, char *log)
{
	struct sbpf_kload_opts ko = {
		.sz = sizeof(ko), .type = SBPF_KPROG_XDP, .name = o->name ? o->name : "safebpf_kops",
		.log_buf = log, .log_size = log ? VERIFY_LOG_SIZE : 0,
		.rodata = o->rodata, .rodata_len = o->rodata_len,
	};
	if (log)
		log[0] = '\0';
	int fd = sbpf_kernel_load(insns, n, &ko);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	return fd;
}

/* Why the load that returned @rc (log @log) failed, for people. */
static void refusal(int rc, const char *log, char *why, size_t whysz)
{
	if (rc == -EPERM || (rc == -EACCES && !log[0]))
		snprintf(why, whysz, "the kernel refused to load the program (%s): missing privileges?", strerror(-rc));
	else
		sbpf_kernel_log_reason(log, why, whysz);
}

int sbpf_kops_verify_kernel_opts(const struct sbpf_kops_lowered *l, const struct sbpf_kops_verify_opts *o,
				 char *why, size_t whysz)
{
	char perm[128];
	if (!l || !l->insns || !l->n) {
		snprintf(why, whysz, "no lowered program to verify");
		return -EINVAL;
	}
	if (sbpf_kernel_check_privileges(perm, sizeof(perm))) {
		snprintf(why, whysz, "cannot ask the kernel verifier: %s", perm);
		return -EPERM;
	}
	char *log = malloc(VERIFY_LOG_SIZE);
	if (!log) {
		snprintf(why, whysz, "out of memory");
		return -ENOMEM;
	}
	struct sbpf_kops_verify_opts v = opts_of(o);
	int rc = kload(l->insns, l->n, &v, log);
	if (rc) {
		char reason[256];
		refusal(rc, log, reason, sizeof(reason));
		if (rc == -EPERM || (rc == -EACCES && !log[0]))
			snprintf(why, whysz, "%s", reason);
		else
			snprintf(why, whysz, "kernel verifier rejected the lowered program: %s", reason);
	}
	free(log);
	return rc;
}

int sbpf_kops_verify_kernel(const struct sbpf_kops_lowered *l, char *why, size_t whysz)
{
	return sbpf_kops_verify_kernel_opts(l, NULL, why, whysz);
}

/* ---- the recognizer under the verifier ------------------------------------ */

/* The instruction a refusal names: the last "N: (code) ..." line of the
 * verifier's log (the instruction it was checking), or -1. */
static long log_insn(const char *log)
{
	long last = -1;
	for (const char *p = log; p && *p;) {
		const char *nl = strchr(p, '\n');
		if (isdigit((unsigned char)*p)) {
			char *end;
			long v = strtol(p, &end, 10);
			if (end[0] == ':' && end[1] == ' ' && end[2] == '(')
				last = v;
		}
		p = nl ? nl + 1 : NULL;
	}
	return last;
}

/* A site of one build: where it is and which rewrite it is. */
struct site_rec {
	size_t out_pc;               /* its sidecar's slot in the program with sites */
	size_t start, end;           /* the input slots it replaces */
	uint32_t op;                 /* the operation */
};

/* State the recognizer's callbacks see while the search runs. */
struct net {
	const struct sbpf_kops_policy *user; /* the caller's policy (its own want is asked too) */
	const struct sbpf_kops_drop *drops;  /* rewrites left out (by op and overlap) */
	size_t ndrops;
	size_t skip;                 /* a drop not applied (second chance), SIZE_MAX: none */
	size_t limit;                /* only rewrites starting at or before this slot (bisection) */
	int final;                   /* the last pass: forward refusals and sites to the caller */
	struct site_rec *sites;      /* sites of the current build, in program order */
	size_t nsites, cap;
	int oom;                     /* a site could not be recorded */
};

static int net_want(void *arg, size_t start, size_t end, uint32_t op)
{
	struct net *t = arg;
	if (start > t->limit)
		return 0;
	for (size_t i = 0; i < t->ndrops; i++)
		if (i != t->skip && t->drops[i].op == op && t->drops[i].start < end && start < t->drops[i].end)
			return 0;
	return !t->user->want || t->user->want(t->user->arg, start, end, op);
}

static void net_site(void *arg, size_t out_pc, size_t start, size_t end, uint32_t op)
{
	struct net *t = arg;
	if (t->final && t->user->on_site)
		t->user->on_site(t->user->arg, out_pc, start, end, op);
	if (t->nsites == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 32;
		struct site_rec *v = realloc(t->sites, cap * sizeof(*v));
		if (!v) {
			t->oom = 1;
			return;
		}
		t->sites = v;
		t->cap = cap;
	}
	t->sites[t->nsites++] = (struct site_rec){ out_pc, start, end, op };
}

static void net_refuse(void *arg, size_t slot, uint32_t op, const char *why)
{
	struct net *t = arg;
	if (t->final && t->user->on_refuse)
		t->user->on_refuse(t->user->arg, slot, op, why);
}

/* One build: recognize under the current exclusions, lower. Returns 0 or
 * a negative errno with @why; on success the caller owns *@prog and @low. */
static int build(struct net *t, const struct sbpf_insn *insns, size_t n, const struct sbpf_kops_policy *pol,
		 struct sbpf_insn **prog, size_t *pn, struct sbpf_kops_stats *st, struct sbpf_kops_lowered *low,
		 char *why, size_t whysz)
{
	struct sbpf_validate_error err = { 0 };
	t->nsites = 0;
	t->oom = 0;
	int rc = sbpf_kops_recognize(insns, n, pol, prog, pn, st, &err);
	if (rc) {
		snprintf(why, whysz, "recognizer: %s (instruction %zu: %s)", strerror(-rc), err.index, err.rule);
		return rc;
	}
	rc = sbpf_kops_lower(*prog, *pn, low, &err);
	if (rc)
		snprintf(why, whysz, "lowering: instruction %zu: %s", err.index, err.rule);
	else if (t->oom || t->nsites != low->nsites) {
		rc = t->oom ? -ENOMEM : -EINVAL;
		snprintf(why, whysz, "%s", t->oom ? "out of memory" : "internal: sites and rewrites disagree");
		sbpf_kops_lowered__free(low);
	}
	if (rc) {
		free(*prog);
		*prog = NULL;
	}
	return rc;
}

void sbpf_kops_verified__free(struct sbpf_kops_verified *v)
{
	if (!v)
		return;
	free(v->insns);
	sbpf_kops_lowered__free(&v->lowered);
	free(v->drops);
	memset(v, 0, sizeof(*v));
}

/* Finds the site to blame by bisection: prefixes of the sites @s[0..@ns)
 * (by input position), the shortest one the verifier refuses; its last
 * site. The program without sites must be accepted. */
static int bisect(struct net *t, const struct sbpf_insn *insns, size_t n, const struct sbpf_kops_policy *pol,
		  const struct sbpf_kops_verify_opts *vo, const struct site_rec *s, size_t ns,
		  struct sbpf_kops_verified *out, struct site_rec *culprit, char *why, size_t whysz)
{
	size_t lo = 0, hi = ns; /* prefix lo accepted, prefix hi refused */
	*culprit = s[ns - 1];
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;
		struct sbpf_insn *prog = NULL;
		size_t pn = 0;
		struct sbpf_kops_stats st;
		struct sbpf_kops_lowered low;
		t->limit = s[mid - 1].start;
		int rc = build(t, insns, n, pol, &prog, &pn, &st, &low, why, whysz);
		if (rc) {
			t->limit = SIZE_MAX;
			return rc;
		}
		rc = kload(low.insns, low.n, vo, NULL);
		out->loads++;
		if (rc) {
			hi = mid;
			*culprit = t->nsites ? t->sites[t->nsites - 1] : s[mid - 1];
		} else {
			lo = mid;
		}
		free(prog);
		sbpf_kops_lowered__free(&low);
	}
	t->limit = SIZE_MAX;
	return 0;
}

int sbpf_kops_rewrite_verified(const struct sbpf_insn *insns, size_t n, const struct sbpf_kops_policy *pol,
			       const struct sbpf_kops_verify_opts *vo, struct sbpf_kops_verified *out,
			       char *why, size_t whysz)
{
	memset(out, 0, sizeof(*out));
	char perm[128];
	if (sbpf_kernel_check_privileges(perm, sizeof(perm))) {
		snprintf(why, whysz, "cannot ask the kernel verifier: %s", perm);
		return -EPERM;
	}
	struct sbpf_kops_verify_opts v = opts_of(vo);
	struct sbpf_kops_policy user, p;
	sbpf_kops_policy__init(&user);
	if (pol)
		memcpy(&user, pol, pol->sz < sizeof(user) ? pol->sz : sizeof(user));
	user.sz = sizeof(user);
	struct net t = { .user = &user, .limit = SIZE_MAX, .skip = SIZE_MAX };
	p = user;
	p.want = net_want;
	p.on_site = net_site;
	p.on_refuse = net_refuse;
	p.arg = &t;
	char *log = malloc(VERIFY_LOG_SIZE);
	struct site_rec *snap = NULL;
	size_t cap = 0;
	int rc = log ? 0 : -ENOMEM, vanilla = -1; /* the program without sites: -1 not asked yet */
	if (!log)
		snprintf(why, whysz, "out of memory");
	while (!rc) {
		struct sbpf_insn *prog = NULL;
		size_t pn = 0;
		struct sbpf_kops_stats st;
		struct sbpf_kops_lowered low;
		if ((rc = build(&t, insns, n, &p, &prog, &pn, &st, &low, why, whysz)))
			break;
		int k = kload(low.insns, low.n, &v, log);
		out->loads++;
		if (!k) { /* accepted */
			out->insns = prog;
			out->n = pn;
			out->lowered = low;
			out->stats = st;
			break;
		}
		char reason[200];
		refusal(k, log, reason, sizeof(reason));
		long at = log_insn(log);
		size_t ns = t.nsites;
		int found = -1;
		for (size_t i = 0; i < low.nsites && found < 0; i++) {
			const struct sbpf_kops_site *s = &low.sites[i];
			size_t len = s->lowered_len ? s->lowered_len : 1;
			if (at >= 0 && (size_t)at >= s->lowered_start && (size_t)at < s->lowered_start + len)
				found = (int)i;
		}
		if (ns > cap) {
			struct site_rec *nv = realloc(snap, ns * sizeof(*nv));
			if (nv) {
				snap = nv;
				cap = ns;
			}
		}
		if (ns && cap >= ns)
			memcpy(snap, t.sites, ns * sizeof(*snap));
		free(prog);
		sbpf_kops_lowered__free(&low);
		if (k == -EPERM || (k == -EACCES && !log[0])) {
			snprintf(why, whysz, "%s", reason);
			rc = -EPERM;
			break;
		}
		if (ns && cap < ns) {
			snprintf(why, whysz, "out of memory");
			rc = -ENOMEM;
			break;
		}
		if (ns && found < 0 && vanilla < 0) {
			/* bisection needs the program without sites accepted */
			vanilla = !kload(insns, n, &v, log);
			out->loads++;
			if (!vanilla)
				refusal(-EACCES, log, reason, sizeof(reason));
		}
		if (!ns || vanilla == 0) {
			snprintf(why, whysz, "the program without sites is refused too: %s", reason);
			rc = -ENOEXEC;
			break;
		}
		if (out->ndrops >= MAX_DROPS) {
			snprintf(why, whysz, "more than %d rewrites refused by the verifier (last: %s)", MAX_DROPS, reason);
			rc = -ELOOP;
			break;
		}
		struct site_rec culprit;
		if (found >= 0)
			culprit = snap[found];
		else if ((rc = bisect(&t, insns, n, &p, &v, snap, ns, out, &culprit, why, whysz)))
			break;
		struct sbpf_kops_drop *d = realloc(out->drops, (out->ndrops + 1) * sizeof(*d));
		if (!d) {
			snprintf(why, whysz, "out of memory");
			rc = -ENOMEM;
			break;
		}
		out->drops = d;
		d = &out->drops[out->ndrops++];
		memset(d, 0, sizeof(*d));
		d->op = culprit.op;
		d->start = culprit.start;
		d->end = culprit.end;
		d->bisected = found < 0;
		snprintf(d->why, sizeof(d->why), "%s", reason);
		t.drops = out->drops;
		t.ndrops = out->ndrops;
	}
	/* Second chance: a site the log named may only have shown a problem
	 * another site made (its proof sequence reads what the other broke);
	 * each one is tried back, and kept when the verifier accepts. */
	for (size_t i = 0; !rc && i < out->ndrops;) {
		struct sbpf_insn *prog = NULL;
		size_t pn = 0;
		struct sbpf_kops_stats st;
		struct sbpf_kops_lowered low;
		if (out->drops[i].bisected) {
			i++;
			continue;
		}
		t.skip = i;
		rc = build(&t, insns, n, &p, &prog, &pn, &st, &low, why, whysz);
		t.skip = SIZE_MAX;
		if (rc)
			break;
		out->loads++;
		if (kload(low.insns, low.n, &v, NULL)) {
			free(prog);
			sbpf_kops_lowered__free(&low);
			i++;
			continue;
		}
		free(out->insns);
		sbpf_kops_lowered__free(&out->lowered);
		out->insns = prog;
		out->n = pn;
		out->lowered = low;
		out->stats = st;
		memmove(&out->drops[i], &out->drops[i + 1], (out->ndrops - i - 1) * sizeof(*out->drops));
		t.ndrops = --out->ndrops;
	}
	if (!rc && (user.on_refuse || user.on_site)) {
		/* once more, deterministic, for the caller's callbacks */
		struct sbpf_insn *prog = NULL;
		size_t pn = 0;
		struct sbpf_kops_stats st;
		struct sbpf_kops_lowered low;
		t.final = 1;
		if (!build(&t, insns, n, &p, &prog, &pn, &st, &low, why, whysz)) {
			free(prog);
			sbpf_kops_lowered__free(&low);
		}
	}
	if (rc) {
		struct sbpf_kops_drop *keep = out->drops;
		size_t nk = out->ndrops;
		unsigned loads = out->loads;
		out->drops = NULL;
		sbpf_kops_verified__free(out);
		out->drops = keep; /* what was found before the failure */
		out->ndrops = nk;
		out->loads = loads;
	}
	free(t.sites);
	free(snap);
	free(log);
	return rc;
}
