/* fuzz_sched.c - libFuzzer target for the socket-scheduling language: any
 * text either compiles or yields exactly one diagnostic located inside the
 * text; whatever compiles hashes keys, decides for random packets in the
 * reference semantics (always an executor of the group), and generates
 * both plans' programs for groups of 1, 3 and 64 executors without
 * crashing, leaking or undefined behaviour.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched/schedInt.h"

#define MAX_INPUT 4096
#define CHECK(cond, ...)                                                              \
	do {                                                                          \
		if (!(cond)) {                                                        \
			fprintf(stderr, "fuzz_sched: property violated: " __VA_ARGS__); \
			fputc('\n', stderr);                                          \
			abort();                                                      \
		}                                                                     \
	} while (0)

static void exercise(const struct sbpf_sched_policy *p, const uint8_t *data, size_t size)
{
	static const unsigned sizes[] = { 1, 3, 64 };
	struct sched_maps m = { .sockarray = 3, .state = 4, .sticky = 5, .user = { 6, 7, 8, 9 }, .table = 10, .ring = 11 };
	for (size_t z = 0; z < 3; z++) {
		unsigned n = sizes[z];
		if (p->executors && p->executors != n)
			continue;
		uint32_t nb = sched_buckets(p, n);
		uint32_t *sticky = malloc(nb * sizeof(uint32_t));
		uint64_t vec[SCHED_MAX_MAPS][SBPF_SCHED_MAX_EXECUTORS] = { { 0 } };
		CHECK(sticky, "out of memory");
		for (uint32_t k = 0; k < nb; k++)
			sticky[k] = SCHED_EMPTY;
		struct sched_state st = { .n = n, .nb = nb, .sticky = sticky };
		for (size_t i = 0; i < SCHED_MAX_MAPS; i++)
			st.maps[i] = vec[i];
		for (size_t i = 0; i + 8 <= size && i < 256; i += 8) {
			struct sbpf_sched_input in = { .src_ip = (uint32_t)data[i] << 24 | data[i + 1], .dst_ip = 0x0100007f,
						       .src_port = (uint16_t)(data[i + 2] << 8 | data[i + 3]), .dst_port = 53,
						       .proto = data[i + 4] & 1 ? 17 : 6, .cpu = data[i + 5] & 3,
						       .payload = data, .payload_len = size };
			vec[0][data[i + 6] % n] += data[i + 7];
			unsigned e = sched_decide(p, p->sel, &st, sbpf_sched_policy__key_hash(p, &in), true);
			CHECK(e < n, "executor %u of %u", e, n);
			sched_account(p, &st, e);
		}
		free(sticky);
		static const enum sched_plan_kind kinds[] = { SCHED_PLAN_KERNEL, SCHED_PLAN_STICKY, SCHED_PLAN_MVSF };
		for (int k = 0; k < 3; k++) {
			if (kinds[k] == SCHED_PLAN_STICKY && !sched_sticky_plan_ok(p))
				continue;
			struct sbpf_insn *insns = NULL;
			size_t len = 0;
			int rc = sched_codegen(p, kinds[k], n, nb, &m, &insns, &len);
			CHECK(rc == 0 && len > 0, "codegen %d", rc);
			free(insns);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > MAX_INPUT)
		return 0;
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	struct sbpf_diags d = { 0 };
	struct sbpf_sched_policy *p = NULL;
	int rc = sbpf_sched_policy__compile(text, NULL, &p, &d);
	if (rc) {
		CHECK(rc == -EINVAL || rc == -ENOMEM, "rc %d", rc);
		CHECK(!p, "a policy with an error");
		if (rc == -EINVAL) {
			CHECK(d.n == 1, "%zu diagnostics", d.n);
			CHECK(d.items[0].line >= 1 && d.items[0].col >= 1 && d.items[0].len >= 1, "bad position");
			CHECK(d.items[0].col <= (int)strlen(text) + 1, "caret past the text");
			char *msg = sbpf_diags__format(&d);
			CHECK(msg && strstr(msg, "error: "), "unformatted diagnostic");
			free(msg);
		}
	} else {
		CHECK(p && p->sel && d.n == 0, "compiled without a select");
		exercise(p, data, size);
	}
	sbpf_sched_policy__free(p);
	sbpf_diags__free(&d);
	free(text);
	return 0;
}
