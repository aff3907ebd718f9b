/* sched_server.c - the demo multi-socket server of `safebpf sched run`: N
 * worker threads, each owning one socket of a SO_REUSEPORT group on
 * loopback (UDP datagrams or TCP connections), with a scheduling policy
 * attached through the library API (sbpf_sched__attach). Each request is
 * answered with the worker's index; the worker publishes its load into the
 * policy's first map and, under the MVSF, runs the policy's agent
 * (sbpf_sched__poll) before replying, so that a client waiting for each
 * reply sees exactly the in-kernel plan's choices.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "schedcli.h"

struct worker {
	struct sched_server *srv;     /* the server */
	unsigned idx;                 /* executor index */
	int fd;                       /* its socket */
	pthread_t th;                 /* its thread */
	uint64_t handled;             /* requests answered */
	uint64_t work_us;             /* time each request takes */
};

struct sched_server {
	const struct sched_server_opts *o; /* options */
	struct sbpf_sched *s;         /* the attached policy */
	struct worker w[SBPF_SCHED_MAX_EXECUTORS]; /* workers */
	int stop_pipe[2];             /* written once to stop every worker */
	uint64_t total;               /* requests answered, all workers */
	pthread_mutex_t mu;           /* guards total */
};

static volatile sig_atomic_t stop_sig;

static void on_signal(int sig)
{
	(void)sig;
	stop_sig = 1;
}

/* Sleeps @us microseconds (the request's service time). */
static void pause_us(uint64_t us)
{
	if (!us)
		return;
	struct timespec ts = { .tv_sec = (time_t)(us / 1000000), .tv_nsec = (long)(us % 1000000) * 1000 };
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Publishes worker @w's load (if the policy has a map and a load mode). */
static void publish(struct worker *w, uint64_t v)
{
	const struct sched_server_opts *o = w->srv->o;
	if (w->srv->s && o->load_map && o->load != SCHED_LOAD_NONE)
		sbpf_sched__publish(w->srv->s, o->load_map, w->idx, v);
}

/* Requests still waiting in the socket's queue (UDP: datagrams). */
static uint64_t queued(int fd)
{
	int n = 0;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	/* A cheap estimate: 1 when something waits (the exact depth is not
	 * available for UDP sockets). */
	if (poll(&p, 1, 0) == 1 && (p.revents & POLLIN))
		n = 1;
	return (uint64_t)n;
}

/* One request done: count it, publish, run the MVSF agent, then reply. */
static int finish(struct worker *w)
{
	struct sched_server *srv = w->srv;
	w->handled++;
	if (srv->o->load == SCHED_LOAD_HANDLED)
		publish(w, w->handled);
	else if (srv->o->load == SCHED_LOAD_INFLIGHT)
		publish(w, queued(w->fd));
	if (srv->s)
		sbpf_sched__poll(srv->s, 0);
	pthread_mutex_lock(&srv->mu);
	uint64_t t = ++srv->total;
	pthread_mutex_unlock(&srv->mu);
	return srv->o->count && t >= srv->o->count;
}

/* One worker: waits for a request (or the stop pipe), serves it, replies;
 * ends the server after o->count requests. */
static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct sched_server *srv = w->srv;
	char buf[2048], reply[32];
	int rlen = snprintf(reply, sizeof(reply), "%u\n", w->idx);
	struct pollfd p[2] = { { .fd = w->fd, .events = POLLIN }, { .fd = srv->stop_pipe[0], .events = POLLIN } };
	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		if (!(p[0].revents & POLLIN))
			continue;
		int done = 0;
		if (srv->o->tcp) {
			int c = accept(w->fd, NULL, NULL);
			if (c < 0)
				continue;
			if (srv->o->load == SCHED_LOAD_INFLIGHT)
				publish(w, 1 + queued(w->fd));
			ssize_t n = recv(c, buf, sizeof(buf), 0);
			pause_us(w->work_us);
			done = finish(w);
			if (n >= 0)
				send(c, reply, (size_t)rlen, MSG_NOSIGNAL);
			close(c);
		} else {
			struct sockaddr_storage from;
			socklen_t fl = sizeof(from);
			ssize_t n = recvfrom(w->fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
			if (n < 0)
				continue;
			if (srv->o->load == SCHED_LOAD_INFLIGHT)
				publish(w, 1 + queued(w->fd));
			pause_us(w->work_us);
			done = finish(w);
			/* Echo the request after the worker's index: clients time
			 * requests with what they put in them. */
			char out[2048 + 32];
			size_t m = (size_t)rlen;
			memcpy(out, reply, m);
			if ((size_t)n > sizeof(out) - m)
				n = (ssize_t)(sizeof(out) - m);
			memcpy(out + m, buf, (size_t)n);
			sendto(w->fd, out, m + (size_t)n, 0, (struct sockaddr *)&from, fl);
		}
		if (done) {
			if (write(srv->stop_pipe[1], "x", 1) < 0)
				break;
			break;
		}
	}
	return NULL;
}

/* A socket of the group: SO_REUSEPORT, bound to 127.0.0.1:port, listening
 * for TCP. The fd, or -1 with a reason in @err. */
static int open_socket(const struct sched_server_opts *o, char *err, size_t errsz)
{
	int one = 1;
	int fd = socket(AF_INET, (o->tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(o->port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) || (o->tcp && listen(fd, 4096))) {
		snprintf(err, errsz, "cannot open a %s socket on 127.0.0.1:%u: %s", o->tcp ? "TCP" : "UDP", o->port,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int sched_serve(const struct sbpf_sched_policy *p, const struct sched_server_opts *o, FILE *out, char *err,
		size_t errsz)
{
	struct sched_server *srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->o = o;
	pthread_mutex_init(&srv->mu, NULL);
	srv->stop_pipe[0] = srv->stop_pipe[1] = -1;
	int rc = -EIO;
	unsigned n = o->workers;
	int fds[SBPF_SCHED_MAX_EXECUTORS];
	for (unsigned i = 0; i < n; i++)
		srv->w[i].fd = -1;
	for (unsigned i = 0; i < n; i++) {
		if ((srv->w[i].fd = open_socket(o, err, errsz)) < 0)
			goto out;
		fds[i] = srv->w[i].fd;
		srv->w[i].srv = srv;
		srv->w[i].idx = i;
		srv->w[i].work_us = o->work_us;
		if (o->slow_worker >= 0 && (unsigned)o->slow_worker == i)
			srv->w[i].work_us = o->slow_us;
	}
	if (!o->kernel_default) {
		struct sbpf_sched_opts so = { .sz = sizeof(so), .plan = o->plan };
		int e = sbpf_sched__attach(p, fds, n, &so, &srv->s, err, errsz);
		if (e) {
			rc = e;
			goto out;
		}
	}
	if (pipe(srv->stop_pipe)) {
		snprintf(err, errsz, "pipe: %s", strerror(errno));
		goto out;
	}
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	for (unsigned i = 0; i < n; i++)
		pthread_create(&srv->w[i].th, NULL, worker_main, &srv->w[i]);
	fprintf(out, "ready port=%u workers=%u proto=%s plan=%s\n", o->port, n, o->tcp ? "tcp" : "udp",
		srv->s ? sbpf_sched__plan_name(srv->s) : "kernel-default");
	fflush(out);
	/* Wait for a signal or for the request count. */
	struct pollfd pf = { .fd = srv->stop_pipe[0], .events = POLLIN };
	while (!stop_sig && poll(&pf, 1, 100) == 0)
		;
	if (write(srv->stop_pipe[1], "x", 1) < 0)
		goto out;
	for (unsigned i = 0; i < n; i++)
		pthread_join(srv->w[i].th, NULL);
	fprintf(out, "served");
	for (unsigned i = 0; i < n; i++)
		fprintf(out, " %llu", (unsigned long long)srv->w[i].handled);
	fprintf(out, "\n");
	if (srv->s) {
		struct sbpf_sched_stats st;
		sbpf_sched__poll(srv->s, 0);
		sbpf_sched__stats(srv->s, &st);
		fprintf(out, "plan %s: %llu reports, %llu lagged, %llu lost\n", sbpf_sched__plan_name(srv->s),
			(unsigned long long)st.reports, (unsigned long long)st.lagged, (unsigned long long)st.lost);
	}
	rc = 0;
out:
	sbpf_sched__detach(srv->s);
	for (unsigned i = 0; i < n; i++)
		if (srv->w[i].fd >= 0)
			close(srv->w[i].fd);
	for (int i = 0; i < 2; i++)
		if (srv->stop_pipe[i] >= 0)
			close(srv->stop_pipe[i]);
	pthread_mutex_destroy(&srv->mu);
	free(srv);
	return rc;
}
