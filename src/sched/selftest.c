/* selftest.c - the socket-scheduling MVSF self-test behind `safebpf
 * selftest sched`: the MVSF's code depends only on the key fields (each a
 * fixed, bounded load) and the group's size, so loading it for no key,
 * every field alone and all fields together, for groups of 1 and 64
 * executors, covers every policy. Two of them are also attached to a real
 * UDP SO_REUSEPORT group on loopback: a datagram must reach the socket the
 * decision table names, be reported, and the program must leave the
 * kernel after detaching.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "safebpf/kernel.h"
#include "sched/schedInt.h"

static const char *const keys[] = {
	"", "key src_ip", "key dst_ip", "key src_port", "key dst_port", "key proto", "key cpu",
	"key payload[0:16]", "key payload[1024:1]",
	"key src_ip, dst_ip, src_port, dst_port, proto, cpu, payload[0:16], payload[3:5]",
};

/* Two UDP sockets on one loopback port (SO_REUSEPORT), a datagram to it:
 * the MVSF of policy @p (default slot = executor 1) must deliver it to
 * socket 1 and report it. 0 or -1 with @r->detail set. */
static int attach_check(const struct sbpf_sched_policy *p, const char *what, struct dsl_mvsf_result *r)
{
	int fds[2] = { -1, -1 }, c = -1, rc = -1;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int one = 1;
	struct sbpf_sched *s = NULL;
	for (int i = 0; i < 2; i++) {
		if ((fds[i] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0 ||
		    setsockopt(fds[i], SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) ||
		    bind(fds[i], (struct sockaddr *)&a, sizeof(a)) ||
		    getsockname(fds[i], (struct sockaddr *)&a, &al)) {
			snprintf(r->detail, sizeof(r->detail), "%s: cannot make a UDP reuseport group: %s", what,
				 strerror(errno));
			goto out;
		}
	}
	char err[300];
	struct sbpf_sched_opts o = { .sz = sizeof(o), .plan = SBPF_SCHED_PLAN_MVSF };
	int e = sbpf_sched__attach(p, fds, 2, &o, &s, err, sizeof(err));
	if (e) {
		snprintf(r->detail, sizeof(r->detail), "%s: attach: %s", what, err);
		goto out;
	}
	struct sbpf_kprog_info info = { 0 };
	sbpf_kernel_prog_info(s->b.prog_fd, &info);
	/* Steer everything to executor 1 through the default slot and every bucket. */
	for (uint32_t k = 0; k <= s->b.nb; k++)
		s->b.m.table_mem[k] = 1;
	if ((c = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0 ||
	    sendto(c, "selftest", 8, 0, (struct sockaddr *)&a, sizeof(a)) != 8) {
		snprintf(r->detail, sizeof(r->detail), "%s: sendto: %s", what, strerror(errno));
		goto out;
	}
	char buf[16];
	ssize_t got = recv(fds[1], buf, sizeof(buf), 0); /* blocks until delivered */
	ssize_t other = recv(fds[0], buf, sizeof(buf), MSG_DONTWAIT);
	int reports = sbpf_sched__poll(s, 1000);
	if (got != 8 || other >= 0 || reports != 1) {
		snprintf(r->detail, sizeof(r->detail),
			 "%s: the datagram did not reach the socket the table names (got %zd, other %zd, reports %d)",
			 what, got, other, reports);
		goto out;
	}
	sbpf_sched__detach(s);
	s = NULL;
	close(fds[0]);
	close(fds[1]);
	fds[0] = fds[1] = -1;
	if (sbpf_kernel_prog_wait_gone(info.id, 1000)) {
		snprintf(r->detail, sizeof(r->detail), "%s: program %u still in the kernel after detach", what, info.id);
		goto out;
	}
	r->programs++;
	rc = 0;
out:
	sbpf_sched__detach(s);
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (c >= 0)
		close(c);
	return rc;
}

void sched_mvsf_selftest(int verbose, struct dsl_mvsf_result *r)
{
	(void)verbose;
	char why[200];
	if (sbpf_kernel_check_privileges(why, sizeof(why))) {
		r->status = -EOPNOTSUPP;
		snprintf(r->detail, sizeof(r->detail), "%s", why);
		return;
	}
	static const unsigned sizes[] = { 1, 64 };
	size_t nk = sizeof(keys) / sizeof(keys[0]);
	for (size_t k = 0; k < nk; k++) {
		char text[256];
		snprintf(text, sizeof(text), "policy selftest %s select %s", keys[k], k ? "hash" : "round_robin");
		struct sbpf_sched_policy *p = NULL;
		if (sbpf_sched_policy__compile(text, NULL, &p, NULL)) {
			r->status = -EINVAL;
			snprintf(r->detail, sizeof(r->detail), "cannot compile '%s'", text);
			return;
		}
		for (size_t z = 0; z < 2; z++) {
			struct sched_build b;
			char err[300];
			int e = sched_build(&b, p, sizes[z], SBPF_SCHED_PLAN_MVSF, err, sizeof(err));
			if (!e) {
				r->programs++;
				if (b.ninsns[b.chosen] > r->max_insns)
					r->max_insns = b.ninsns[b.chosen];
			}
			sched_build_free(&b);
			if (e) {
				r->status = e;
				snprintf(r->detail, sizeof(r->detail), "MVSF for '%s', %u executors: %s", keys[k][0] ? keys[k] : "no key",
					 sizes[z], err);
				sbpf_sched_policy__free(p);
				return;
			}
		}
		if ((k == 0 || k == nk - 1) && attach_check(p, k ? "all fields" : "no key", r)) {
			r->status = -EIO;
			sbpf_sched_policy__free(p);
			return;
		}
		sbpf_sched_policy__free(p);
	}
	snprintf(r->detail, sizeof(r->detail),
		 "%zu MVSF programs verified (no key, each key field alone, all fields; 1 and 64 executors); "
		 "2 attached to a UDP reuseport group, steered a datagram, reported it and left the kernel",
		 r->programs - 2);
}
