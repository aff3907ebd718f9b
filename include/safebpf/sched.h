/* safebpf/sched.h - verifier-safe socket scheduling: a small matching
 * language (docs/sched.md) that maps each connection or datagram arriving
 * at a SO_REUSEPORT group to one of its N sockets ("executors"), compiled
 * to SK_REUSEPORT programs. Every valid policy runs: the minimum
 * verifier-safe function (MVSF) only selects the socket that user space
 * last wrote for the packet's key bucket and reports the packet, while this
 * library computes the policy; the optimizer moves the whole policy into
 * the kernel when the real verifier accepts it.
 * Pointer arguments may not be NULL unless their comment says so; every
 * __free / __detach function accepts NULL (and does nothing).
 */
#ifndef SAFEBPF_SCHED_H
#define SAFEBPF_SCHED_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "safebpf/diag.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SBPF_SCHED_MAX_EXECUTORS 64  /* sockets in one group */

struct sbpf_sched_policy;  /* a compiled policy */
struct sbpf_sched;         /* a policy attached to one socket group */

/* Parses and checks policy @text. On success stores it in *@out and returns
 * 0; on a bad policy returns -EINVAL with diagnostics (line:column, caret,
 * hint) in @diags (may be NULL), on allocation failure -ENOMEM. @file names
 * the source in diagnostics (NULL: "<policy>"). */
int sbpf_sched_policy__compile(const char *text, const char *file, struct sbpf_sched_policy **out,
			       struct sbpf_diags *diags);
void sbpf_sched_policy__free(struct sbpf_sched_policy *p);
/* The policy's name (after `policy`). */
const char *sbpf_sched_policy__name(const struct sbpf_sched_policy *p);
/* Executors the policy states (`executors N`), 0 when it takes the group's size. */
unsigned sbpf_sched_policy__executors(const struct sbpf_sched_policy *p);

/* One connection or datagram, as the policy sees it (reference semantics). */
struct sbpf_sched_input {
	uint32_t src_ip, dst_ip;   /* IPv4 addresses, network byte order (as in sin_addr) */
	uint16_t src_port, dst_port; /* host byte order */
	uint8_t proto;             /* IPPROTO_UDP or IPPROTO_TCP */
	uint32_t cpu;              /* CPU that received it */
	const uint8_t *payload;    /* UDP payload (NULL: none; TCP connections have none) */
	size_t payload_len;        /* its bytes */
};

/* The 32-bit key hash of @in under policy @p (0 when the policy has no key),
 * exactly as the kernel programs compute it. */
uint32_t sbpf_sched_policy__key_hash(const struct sbpf_sched_policy *p, const struct sbpf_sched_input *in);

/* Where the policy runs (`--plan`). */
enum sbpf_sched_plan {
	SBPF_SCHED_PLAN_AUTO,   /* cheapest plan the verifier accepts, MVSF last (default) */
	SBPF_SCHED_PLAN_MVSF,   /* the MVSF: the policy runs in this library */
};
/* Parses "auto" or "mvsf". 0 or -EINVAL. */
int sbpf_sched_plan_parse(const char *name, enum sbpf_sched_plan *out);

struct sbpf_sched_opts {
	size_t sz;                 /* sizeof(struct sbpf_sched_opts) */
	enum sbpf_sched_plan plan; /* optimizer strategy */
};

/* Attaches policy @p to the SO_REUSEPORT group of the @n sockets @fds (bound,
 * and for TCP listening; executor i is @fds[i]): chooses a plan, loads its
 * SK_REUSEPORT program, fills a REUSEPORT_SOCKARRAY with the sockets and
 * attaches the program with SO_ATTACH_REUSEPORT_EBPF. The policy must stay
 * alive while attached. Returns 0 with *@out set, or a negative errno with
 * a reason in @err (-EPERM: privileges; -EINVAL: @n does not match the
 * policy's `executors`, or a socket is not in a reuseport group). */
int sbpf_sched__attach(const struct sbpf_sched_policy *p, const int *fds, unsigned n,
		       const struct sbpf_sched_opts *opts, struct sbpf_sched **out, char *err, size_t errsz);
/* Detaches the program from the group and frees everything. */
void sbpf_sched__detach(struct sbpf_sched *s);

/* Publishes @value into slot @executor of map @map (a `map` of the policy),
 * e.g. the executor's load for least_loaded(). Lock-free (memory-mapped)
 * for in-kernel plans; under the MVSF it also updates the decision the
 * kernel applies next. 0 or a negative errno (-ENOENT: no such map;
 * -EINVAL: @map is a `counter`, or @executor is out of range). */
int sbpf_sched__publish(struct sbpf_sched *s, const char *map, unsigned executor, uint64_t value);

/* Under the MVSF: consumes the kernel's reports (waiting up to @timeout_ms,
 * 0: none), runs the policy on each and writes the decisions the kernel
 * applies next. A server that calls it after each request and before
 * replying makes the MVSF choose exactly what the in-kernel plan would for
 * a client that waits for each reply. Thread-safe. Returns the reports
 * consumed (0 for in-kernel plans) or a negative errno. */
int sbpf_sched__poll(struct sbpf_sched *s, int timeout_ms);

struct sbpf_sched_stats {
	uint64_t reports;          /* MVSF reports consumed */
	uint64_t lagged;           /* reports whose kernel choice differed from the policy's */
	uint64_t lost;             /* reports the ring buffer could not take */
};
void sbpf_sched__stats(const struct sbpf_sched *s, struct sbpf_sched_stats *st);

/* Name of the plan that runs ("kernel", "kernel-sticky" or "mvsf"). */
const char *sbpf_sched__plan_name(const struct sbpf_sched *s);

/* Writes the policy, the candidate plans cheapest first with the verifier's
 * verdict on each (loading them, nothing attached) and the chosen plan's
 * program, for a group of @n executors. 0 or a negative errno (reason in @err). */
int sbpf_sched_policy__explain(const struct sbpf_sched_policy *p, unsigned n, const struct sbpf_sched_opts *opts,
			       FILE *out, char *err, size_t errsz);

#ifdef __cplusplus
}
#endif
#endif /* SAFEBPF_SCHED_H */
