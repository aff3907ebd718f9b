/* sched_client.c - deterministic client for `safebpf sched run` on
 * loopback (tests and the reuseport benchmark).
 *
 *   sched_client --port P [--tcp] [--sport-base B] seq REQUESTS FLOWS KEYS WORKERS
 *       REQUESTS requests one at a time, each waiting for its reply. UDP:
 *       request i leaves from socket i % FLOWS (FLOWS fixed source ports)
 *       with a 4-byte little-endian session key (i * 7) % KEYS then i;
 *       TCP: one connection per request. With --sport-base, UDP flow f
 *       leaves from port B + f and TCP request i from port B + i (the same
 *       requests for every run). Prints one line per request,
 *       "SRC_PORT PAYLOAD_HEX WORKER" (the input of `safebpf sched eval`
 *       plus the answer), then "counts C0 C1 ..." (WORKERS numbers).
 *   sched_client --port P load RATE_PER_S DURATION_MS FLOWS WORKERS
 *       Open loop over UDP: paced requests from FLOWS sockets, each timed
 *       by the send time it carries; prints "sent N received N lost N
 *       p50_us X p99_us X p999_us X max_us X" and "counts C0 C1 ...".
 * A reply that does not come within 5 s is an error (seq) or lost (load).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_FLOWS 1024
#define MAX_WORKERS 64

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static struct sockaddr_in server;

static long sport_base;             /* --sport-base: fixed source ports (0: ephemeral) */

/* A socket bound to 127.0.0.1, port @port (0: ephemeral). */
static int bound(int type, long port)
{
	int fd = socket(AF_INET, type, 0), one = 1;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a))) {
		fprintf(stderr, "sched_client: cannot bind 127.0.0.1:%ld: %s\n", port, strerror(errno));
		exit(1);
	}
	return fd;
}

static int udp_socket(long port)
{
	int fd = bound(SOCK_DGRAM, port);
	int big = 4 << 20;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	return fd;
}

static unsigned port_of(int fd)
{
	struct sockaddr_in a;
	socklen_t l = sizeof(a);
	getsockname(fd, (struct sockaddr *)&a, &l);
	return ntohs(a.sin_port);
}

static int seq(int tcp, long requests, int flows, unsigned keys, int workers)
{
	static int fds[MAX_FLOWS];
	long counts[MAX_WORKERS] = { 0 };
	if (!tcp)
		for (int f = 0; f < flows; f++)
			fds[f] = udp_socket(sport_base ? sport_base + f : 0);
	for (long i = 0; i < requests; i++) {
		uint8_t req[8];
		uint32_t key = (uint32_t)((i * 7) % keys), n = (uint32_t)i;
		for (int k = 0; k < 4; k++) {
			req[k] = (uint8_t)(key >> (8 * k));
			req[4 + k] = (uint8_t)(n >> (8 * k));
		}
		char buf[256];
		ssize_t got;
		unsigned sport;
		if (tcp) {
			int c = bound(SOCK_STREAM, sport_base ? sport_base + i : 0);
			if (connect(c, (struct sockaddr *)&server, sizeof(server))) {
				perror("sched_client: connect");
				return 1;
			}
			sport = port_of(c);
			if (send(c, req, sizeof(req), 0) != sizeof(req)) {
				perror("sched_client: send");
				return 1;
			}
			struct pollfd p = { .fd = c, .events = POLLIN };
			got = poll(&p, 1, 5000) == 1 ? recv(c, buf, sizeof(buf) - 1, 0) : -1;
			close(c);
		} else {
			int fd = fds[i % flows];
			sport = port_of(fd);
			if (sendto(fd, req, sizeof(req), 0, (struct sockaddr *)&server, sizeof(server)) != sizeof(req)) {
				perror("sched_client: sendto");
				return 1;
			}
			struct pollfd p = { .fd = fd, .events = POLLIN };
			got = poll(&p, 1, 5000) == 1 ? recv(fd, buf, sizeof(buf) - 1, 0) : -1;
		}
		if (got <= 0) {
			fprintf(stderr, "sched_client: no reply to request %ld within 5 s\n", i);
			return 1;
		}
		buf[got] = '\0';
		int w = atoi(buf);
		if (w < 0 || w >= workers) {
			fprintf(stderr, "sched_client: bad reply '%s'\n", buf);
			return 1;
		}
		counts[w]++;
		printf("%u ", sport);
		for (int k = 0; k < 8; k++)
			printf("%02x", req[k]);
		printf(" %d\n", w);
	}
	printf("counts");
	for (int w = 0; w < workers; w++)
		printf(" %ld", counts[w]);
	printf("\n");
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int load(long rate, long duration_ms, int flows, int workers)
{
	static int fds[MAX_FLOWS];
	static struct pollfd pf[MAX_FLOWS];
	long counts[MAX_WORKERS] = { 0 };
	for (int f = 0; f < flows; f++) {
		fds[f] = udp_socket(0);
		pf[f] = (struct pollfd){ .fd = fds[f], .events = POLLIN };
	}
	long total = rate * duration_ms / 1000;
	uint64_t *lat = calloc((size_t)total + 1, sizeof(uint64_t));
	if (!lat)
		return 1;
	long sent = 0, received = 0;
	uint64_t start = now_ns(), gap = 1000000000ull / (uint64_t)rate, deadline = 0;
	while (received < total) {
		uint64_t t = now_ns();
		if (sent < total && t >= start + (uint64_t)sent * gap) {
			uint8_t req[16];
			uint32_t key = (uint32_t)sent;
			memcpy(req, &key, 4);
			memcpy(req + 4, &t, 8);
			memcpy(req + 12, &key, 4);
			sendto(fds[sent % flows], req, sizeof(req), 0, (struct sockaddr *)&server, sizeof(server));
			if (++sent == total)
				deadline = now_ns() + 5000000000ull;
			continue;
		}
		if (sent == total && now_ns() > deadline)
			break;
		uint64_t next = sent < total ? start + (uint64_t)sent * gap : now_ns() + 10000000ull;
		int wait_ms = next > t ? (int)((next - t) / 1000000) : 0;
		if (poll(pf, (nfds_t)flows, wait_ms) <= 0)
			continue;
		for (int f = 0; f < flows; f++) {
			if (!(pf[f].revents & POLLIN))
				continue;
			char buf[256];
			ssize_t n;
			while ((n = recv(fds[f], buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
				char *nl = memchr(buf, '\n', (size_t)n);
				if (!nl || (size_t)(buf + n - (nl + 1)) < 16)
					continue;
				int w = atoi(buf);
				uint64_t ts;
				memcpy(&ts, nl + 1 + 4, 8);
				if (w >= 0 && w < workers)
					counts[w]++;
				lat[received++] = (now_ns() - ts) / 1000;
			}
		}
	}
	qsort(lat, (size_t)received, sizeof(uint64_t), cmp_u64);
#define PCT(q) (received ? lat[(size_t)((double)(received - 1) * (q))] : 0)
	printf("sent %ld received %ld lost %ld p50_us %llu p99_us %llu p999_us %llu max_us %llu\n", sent, received,
	       sent - received, (unsigned long long)PCT(0.5), (unsigned long long)PCT(0.99),
	       (unsigned long long)PCT(0.999), (unsigned long long)PCT(1.0));
	printf("counts");
	for (int w = 0; w < workers; w++)
		printf(" %ld", counts[w]);
	printf("\n");
	free(lat);
	return 0;
}

int main(int argc, char **argv)
{
	int tcp = 0, i = 1;
	long port = 0;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--tcp"))
			tcp = 1;
		else if (!strcmp(argv[i], "--port") && i + 1 < argc)
			port = atol(argv[++i]);
		else if (!strcmp(argv[i], "--sport-base") && i + 1 < argc)
			sport_base = atol(argv[++i]);
	}
	server = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				       .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (port > 0 && i + 5 == argc && !strcmp(argv[i], "seq")) {
		int flows = atoi(argv[i + 2]), workers = atoi(argv[i + 4]);
		unsigned keys = (unsigned)atoi(argv[i + 3]);
		if (flows >= 1 && flows <= MAX_FLOWS && keys >= 1 && workers >= 1 && workers <= MAX_WORKERS)
			return seq(tcp, atol(argv[i + 1]), flows, keys, workers);
	}
	if (port > 0 && i + 5 == argc && !strcmp(argv[i], "load") && !tcp) {
		long rate = atol(argv[i + 1]), dur = atol(argv[i + 2]);
		int flows = atoi(argv[i + 3]), workers = atoi(argv[i + 4]);
		if (rate > 0 && dur > 0 && flows >= 1 && flows <= MAX_FLOWS && workers >= 1 && workers <= MAX_WORKERS)
			return load(rate, dur, flows, workers);
	}
	fprintf(stderr, "usage: sched_client --port P [--tcp] [--sport-base B] seq REQUESTS FLOWS KEYS WORKERS\n"
			"       sched_client --port P load RATE_PER_S DURATION_MS FLOWS WORKERS\n");
	return 2;
}
