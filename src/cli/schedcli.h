/* schedcli.h - shared declarations of `safebpf sched` (cmd_sched.c) and
 * its demo server (sched_server.c).
 */
#ifndef SAFEBPF_SCHEDCLI_H
#define SAFEBPF_SCHEDCLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "safebpf/sched.h"

/* What a worker publishes into the policy's map after each request. */
enum sched_load_mode {
	SCHED_LOAD_NONE,              /* nothing */
	SCHED_LOAD_HANDLED,           /* requests handled so far (deterministic) */
	SCHED_LOAD_INFLIGHT,          /* 1 + waiting while busy, waiting when done */
};

struct sched_server_opts {
	uint16_t port;                /* 127.0.0.1 port of the group */
	unsigned workers;             /* sockets and threads */
	bool tcp;                     /* TCP connections (else UDP datagrams) */
	bool kernel_default;          /* attach nothing: the kernel's reuseport hashing */
	enum sbpf_sched_plan plan;    /* optimizer strategy */
	uint64_t work_us;             /* time each request takes */
	int slow_worker;              /* this worker takes slow_us (-1: none) */
	uint64_t slow_us;             /* time of the slow worker's requests */
	enum sched_load_mode load;    /* what workers publish */
	const char *load_map;         /* into which map (NULL: none) */
	uint64_t count;               /* stop after this many requests (0: at a signal) */
};

/* Runs the demo server until a signal or o->count requests, printing a
 * "ready ..." line once the policy is attached and per-worker counts at
 * the end. 0 or a negative errno with a reason in @err. */
int sched_serve(const struct sbpf_sched_policy *p, const struct sched_server_opts *o, FILE *out, char *err,
		size_t errsz);

#endif /* SAFEBPF_SCHEDCLI_H */
