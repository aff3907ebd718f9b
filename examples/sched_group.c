/* sched_group.c - attach a socket-scheduling policy to your own
 * SO_REUSEPORT group with libsafebpf (docs/sched.md):
 *
 *   cc sched_group.c $(pkg-config --cflags --libs safebpf) -o sched_group
 *   sudo ./sched_group ['POLICY TEXT']      (default: round robin)
 *
 * Opens 3 UDP sockets on one loopback port, attaches the policy, sends 9
 * datagrams one at a time and prints which socket received each. Exits 0
 * when every datagram arrived.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <safebpf/sched.h>

#define N 3

int main(int argc, char **argv)
{
	const char *text = argc > 1 ? argv[1] : "policy rr select round_robin";
	struct sbpf_sched_policy *p;
	struct sbpf_diags d = { 0 };
	if (sbpf_sched_policy__compile(text, "<argv>", &p, &d)) {
		char *msg = sbpf_diags__format(&d);
		fprintf(stderr, "%s", msg ? msg : "out of memory\n");
		free(msg);
		sbpf_diags__free(&d);
		return 2;
	}
	/* The group: N sockets bound to one port with SO_REUSEPORT. */
	int fds[N], one = 1;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	for (int i = 0; i < N; i++) {
		fds[i] = socket(AF_INET, SOCK_DGRAM, 0);
		if (fds[i] < 0 || setsockopt(fds[i], SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) ||
		    bind(fds[i], (struct sockaddr *)&a, sizeof(a)) || getsockname(fds[i], (struct sockaddr *)&a, &al)) {
			perror("socket");
			return 1;
		}
	}
	struct sbpf_sched *s;
	char err[256];
	struct sbpf_sched_opts o = { .sz = sizeof(o), .plan = SBPF_SCHED_PLAN_AUTO };
	if (sbpf_sched__attach(p, fds, N, &o, &s, err, sizeof(err))) {
		fprintf(stderr, "attach: %s\n", err);
		return 1;
	}
	printf("policy %s, plan %s:", sbpf_sched_policy__name(p), sbpf_sched__plan_name(s));
	int c = socket(AF_INET, SOCK_DGRAM, 0), rc = 0;
	for (int k = 0; k < 9; k++) {
		char msg[16];
		snprintf(msg, sizeof(msg), "request %d", k);
		sendto(c, msg, strlen(msg), 0, (struct sockaddr *)&a, sizeof(a));
		struct pollfd pf[N];
		for (int i = 0; i < N; i++)
			pf[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
		if (poll(pf, N, 5000) <= 0) {
			rc = 1;
			break;
		}
		for (int i = 0; i < N; i++) {
			if (pf[i].revents & POLLIN) {
				recv(fds[i], msg, sizeof(msg), 0);
				printf(" %d", i);
			}
		}
		sbpf_sched__poll(s, 0); /* the MVSF's agent (nothing to do for in-kernel plans) */
	}
	printf("\n");
	sbpf_sched__detach(s);
	sbpf_sched_policy__free(p);
	for (int i = 0; i < N; i++)
		close(fds[i]);
	close(c);
	return rc;
}
