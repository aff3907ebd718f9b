/* probe_tool.c - the loader of the hand-written benchmark programs
 * (probe_q1.bpf.o, probe_q2.bpf.o): libbpf opens the object, sets the
 * tool's own process id in .rodata, loads and attaches the tracepoints.
 *
 *   probe_tool q1 OBJ            every second: "pid,syscall,max_ns" lines
 *   probe_tool q2 OBJ -o FILE    every call: "pid,tid,syscall,latency_ns"
 *
 * Prints "attached" on stderr once the probes are in place, runs until
 * SIGINT/SIGTERM, then prints "lost N" (records the kernel could not hand
 * over) and exits 0.
 */
#include <errno.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct key {
	unsigned int pid, nr;
};

struct rec {
	unsigned int pid, tid;
	unsigned long long nr, lat;
};

static FILE *out;

static int on_record(void *ctx, void *data, size_t len)
{
	(void)ctx;
	const struct rec *r = data;
	if (len >= sizeof(*r))
		fprintf(out, "%u,%u,%llu,%llu\n", r->pid, r->tid, r->nr, r->lat);
	return 0;
}

/* Prints and empties the per-CPU maximum map. */
static void flush_q1(int fd, int ncpus)
{
	struct key k, next, *prev = NULL;
	unsigned long long *v = calloc((size_t)ncpus, sizeof(*v));
	struct key *keys = NULL;
	size_t n = 0, cap = 0;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		if (n == cap) {
			cap = cap ? 2 * cap : 1024;
			keys = realloc(keys, cap * sizeof(*keys));
		}
		keys[n++] = next;
		k = next;
		prev = &k;
	}
	for (size_t i = 0; i < n; i++) {
		if (bpf_map_lookup_elem(fd, &keys[i], v))
			continue;
		bpf_map_delete_elem(fd, &keys[i]);
		unsigned long long m = 0;
		for (int c = 0; c < ncpus; c++)
			m = v[c] > m ? v[c] : m;
		fprintf(out, "%u,%u,%llu\n", keys[i].pid, keys[i].nr, m);
	}
	fflush(out);
	free(keys);
	free(v);
}

int main(int argc, char **argv)
{
	if (argc < 3 || (strcmp(argv[1], "q1") && strcmp(argv[1], "q2"))) {
		fprintf(stderr, "usage: probe_tool q1|q2 OBJ [-o FILE]\n");
		return 2;
	}
	bool q1 = !strcmp(argv[1], "q1");
	out = stdout;
	if (argc >= 5 && !strcmp(argv[3], "-o") && !(out = fopen(argv[4], "w"))) {
		perror(argv[4]);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	struct bpf_object *obj = bpf_object__open_file(argv[2], NULL);
	if (!obj) {
		fprintf(stderr, "cannot open %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	/* .rodata: the tool's own process id */
	struct bpf_map *ro = bpf_object__find_map_by_name(obj, ".rodata");
	size_t rosz = 0;
	const void *init = ro ? bpf_map__initial_value(ro, &rosz) : NULL;
	if (init && rosz >= sizeof(unsigned int)) {
		unsigned char *copy = malloc(rosz);
		memcpy(copy, init, rosz);
		unsigned int self = (unsigned int)getpid();
		memcpy(copy, &self, sizeof(self)); /* self_tgid is the only .rodata variable */
		bpf_map__set_initial_value(ro, copy, rosz);
		free(copy);
	}
	if (bpf_object__load(obj)) {
		fprintf(stderr, "cannot load %s\n", argv[2]);
		return 1;
	}
	struct bpf_program *p;
	bpf_object__for_each_program(p, obj) {
		if (!bpf_program__attach(p)) {
			fprintf(stderr, "cannot attach %s\n", bpf_program__name(p));
			return 1;
		}
	}
	fprintf(stderr, "attached\n");
	int ncpus = libbpf_num_possible_cpus();
	unsigned long long lost = 0;
	if (q1) {
		int fd = bpf_object__find_map_fd_by_name(obj, "maxlat");
		struct timespec next;
		clock_gettime(CLOCK_MONOTONIC, &next);
		while (!stop) {
			next.tv_sec++;
			while (!stop && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
				;
			flush_q1(fd, ncpus);
		}
	} else {
		struct ring_buffer *rb = ring_buffer__new(bpf_object__find_map_fd_by_name(obj, "records"), on_record,
							  NULL, NULL);
		while (!stop) {
			if (ring_buffer__poll(rb, 100) == 0)
				ring_buffer__consume(rb); /* records submitted without a wake-up */
		}
		ring_buffer__consume(rb);
		ring_buffer__free(rb);
		unsigned long long *v = calloc((size_t)ncpus, sizeof(*v));
		unsigned int zero = 0;
		if (!bpf_map_lookup_elem(bpf_object__find_map_fd_by_name(obj, "lost"), &zero, v))
			for (int c = 0; c < ncpus; c++)
				lost += v[c];
		free(v);
	}
	fflush(out);
	fprintf(stderr, "lost %llu\n", lost);
	bpf_object__close(obj);
	return 0;
}
