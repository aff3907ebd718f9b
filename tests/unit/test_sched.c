/* test_sched.c - unit tests of src/sched/ without a kernel: the policy
 * language (accepted forms, diagnostics with positions and hints), the
 * key hash (a vector computed by hand, payload and protocol rules), the
 * reference semantics of every action, the bucket count that keeps hash
 * decisions equal between plans, and code generation for every policy and
 * group size (programs the builder accepts).
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sched/schedInt.h"

static struct sbpf_sched_policy *compile_ok(const char *text)
{
	struct sbpf_sched_policy *p = NULL;
	struct sbpf_diags d = { 0 };
	int e = sbpf_sched_policy__compile(text, NULL, &p, &d);
	char *msg = sbpf_diags__format(&d);
	cr_assert_eq(e, 0, "'%s': %s", text, msg);
	free(msg);
	sbpf_diags__free(&d);
	return p;
}

static void compile_err(const char *text, int line, int col, const char *frag)
{
	struct sbpf_sched_policy *p = NULL;
	struct sbpf_diags d = { 0 };
	cr_assert_eq(sbpf_sched_policy__compile(text, "t.sched", &p, &d), -EINVAL, "%s", text);
	cr_assert_null(p);
	cr_assert_eq(d.n, 1);
	cr_assert_eq(d.items[0].line, line, "%s: line %d", text, d.items[0].line);
	cr_assert_eq(d.items[0].col, col, "%s: col %d", text, d.items[0].col);
	char *msg = sbpf_diags__format(&d);
	cr_assert(strstr(msg, frag), "%s: %s", text, msg);
	free(msg);
	sbpf_diags__free(&d);
}

Test(sched, accepts_policies)
{
	struct sbpf_sched_policy *p = compile_ok("policy web # comment\n executors 8\n key src_ip, src_port, payload[4:6]\n"
						 " map load map queue\n select sticky(least_loaded(queue))");
	cr_assert_str_eq(sbpf_sched_policy__name(p), "web");
	cr_assert_eq(sbpf_sched_policy__executors(p), 8);
	cr_assert_eq(p->nkey, 3);
	cr_assert_eq(p->key[2].kind, SCHED_F_PAYLOAD);
	cr_assert_eq(p->key[2].off, 4);
	cr_assert_eq(p->key[2].len, 6);
	cr_assert_eq(p->sel->kind, SCHED_A_STICKY);
	cr_assert_eq(p->sel->inner->kind, SCHED_A_LEAST);
	cr_assert_eq(p->sel->inner->map, 1);
	sbpf_sched_policy__free(p);
	sbpf_sched_policy__free(compile_ok("policy a select executor 0"));
	sbpf_sched_policy__free(compile_ok("policy a key cpu select hash"));
}

Test(sched, diagnostics)
{
	compile_err("policy x select round_robn", 1, 17, "did you mean 'round_robin'?");
	compile_err("policy x\nkey src_port\nselect stiky(hash)", 3, 8, "did you mean 'sticky'?");
	compile_err("policy x key payload[2000] select hash", 1, 22, "payload offset must be between 0 and 1024");
	compile_err("policy x key src_port, src_port select hash", 1, 24, "already in the key");
	compile_err("policy x select sticky(round_robin)", 1, 17, "sticky() needs a key");
	compile_err("policy x map m map m select round_robin", 1, 20, "name declared twice");
	compile_err("policy x executors 65 select round_robin", 1, 20, "between 1 and 64");
	compile_err("policy x", 1, 9, "no select clause");
	compile_err("select round_robin", 1, 1, "expected 'policy'");
	compile_err("policy x select least_loaded(q)", 1, 30, "declare it before `select`: map q");
	compile_err("policy x select round_robin $", 1, 29, "unexpected");
}

/* The key hash by hand: FNV-1a over 32-bit words, then the final mix. */
static uint32_t by_hand(const uint32_t *w, size_t n)
{
	uint32_t h = 0x811c9dc5u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ w[i]) * 0x01000193u;
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	return h;
}

Test(sched, key_hash)
{
	struct sbpf_sched_policy *p = compile_ok("policy h key src_ip, dst_port, proto, payload[1:5] select hash");
	uint8_t pl[] = { 9, 1, 2, 3, 4, 5, 6 };
	struct sbpf_sched_input in = { .src_ip = htonl(0x7f000001), .dst_ip = htonl(0x7f000001), .src_port = 1234,
				       .dst_port = 8080, .proto = 17, .payload = pl, .payload_len = sizeof(pl) };
	uint32_t w[] = { 0x0100007f, 8080, 17, 0x04030201, 0x05 };
	cr_assert_eq(sbpf_sched_policy__key_hash(p, &in), by_hand(w, 5));
	/* A payload too short for the field reads as zeros, as does TCP's. */
	in.payload_len = 5;
	uint32_t z[] = { 0x0100007f, 8080, 17, 0, 0 };
	cr_assert_eq(sbpf_sched_policy__key_hash(p, &in), by_hand(z, 5));
	in.payload_len = sizeof(pl);
	in.proto = 6;
	uint32_t t[] = { 0x0100007f, 8080, 6, 0, 0 };
	cr_assert_eq(sbpf_sched_policy__key_hash(p, &in), by_hand(t, 5));
	sbpf_sched_policy__free(p);
	p = compile_ok("policy n select round_robin");
	cr_assert_eq(sbpf_sched_policy__key_hash(p, &in), 0);
	sbpf_sched_policy__free(p);
}

Test(sched, buckets_keep_hash_decisions)
{
	struct sbpf_sched_policy *p = compile_ok("policy h key src_port select hash");
	for (unsigned n = 1; n <= SBPF_SCHED_MAX_EXECUTORS; n++) {
		uint32_t nb = sched_buckets(p, n);
		cr_assert(nb % n == 0 && nb >= SCHED_SLOTS && nb < SCHED_SLOTS + n, "n %u nb %u", n, nb);
		for (uint32_t i = 0; i < 20000; i++) {
			uint32_t h = i * 2654435761u;
			cr_assert_eq(h % nb % n, h % n, "n %u h %u", n, h);
		}
	}
	sbpf_sched_policy__free(p);
	p = compile_ok("policy r select round_robin");
	cr_assert_eq(sched_buckets(p, 7), 1);
	sbpf_sched_policy__free(p);
}

Test(sched, decisions)
{
	struct sbpf_sched_policy *p = compile_ok("policy s key payload[0:4] map load select sticky(round_robin)");
	uint32_t sticky[1024];
	uint64_t load[4] = { 5, 2, 7, 2 };
	struct sched_state st = { .n = 4, .nb = sched_buckets(p, 4), .sticky = sticky, .maps = { load } };
	cr_assert_eq(st.nb, 1024);
	for (size_t i = 0; i < 1024; i++)
		sticky[i] = SCHED_EMPTY;
	/* new keys take the round robin in order; known keys keep theirs */
	cr_assert_eq(sched_decide(p, p->sel, &st, 10, false), 0); /* a peek changes nothing */
	cr_assert_eq(sched_decide(p, p->sel, &st, 10, true), 0);
	cr_assert_eq(sched_decide(p, p->sel, &st, 11, true), 1);
	cr_assert_eq(sched_decide(p, p->sel, &st, 10, true), 0);
	cr_assert_eq(sched_decide(p, p->sel, &st, 12, true), 2);
	cr_assert_eq(sched_decide(p, p->sel, &st, 10 + 1024, true), 0); /* same bucket, same executor */
	cr_assert_eq(st.rr, 3);
	sbpf_sched_policy__free(p);
	p = compile_ok("policy l map load select least_loaded(load)");
	cr_assert_eq(sched_decide(p, p->sel, &st, 0, true), 1); /* ties: the lowest index */
	load[1] = 9;
	cr_assert_eq(sched_decide(p, p->sel, &st, 0, true), 3);
	sbpf_sched_policy__free(p);
	p = compile_ok("policy h key src_port select hash");
	cr_assert_eq(sched_decide(p, p->sel, &st, 4099, true), 3);
	sbpf_sched_policy__free(p);
}

Test(sched, codegen_every_policy)
{
	static const char *const pols[] = {
		"policy a select round_robin",
		"policy b key src_ip, dst_ip, src_port, dst_port, proto, cpu, payload[0:16] select hash",
		"policy c map load select least_loaded(load)",
		"policy d key payload[0:4] map load select sticky(least_loaded(load))",
		"policy e key payload[0:4] select sticky(round_robin)",
		"policy f select executor 3",
	};
	struct sched_maps m = { .sockarray = 3, .state = 4, .sticky = 5, .user = { 6 }, .table = 7, .ring = 8 };
	for (size_t i = 0; i < sizeof(pols) / sizeof(pols[0]); i++) {
		struct sbpf_sched_policy *p = compile_ok(pols[i]);
		for (unsigned n = 1; n <= SBPF_SCHED_MAX_EXECUTORS; n *= 4) {
			for (int k = 0; k < 2; k++) {
				struct sbpf_insn *insns = NULL;
				size_t len = 0;
				cr_assert_eq(sched_codegen(p, k ? SCHED_PLAN_MVSF : SCHED_PLAN_KERNEL, n, sched_buckets(p, n),
							   &m, &insns, &len), 0, "%s n=%u", pols[i], n);
				cr_assert(len > 8 && len < 4096);
				free(insns);
			}
			struct sbpf_insn *insns = NULL;
			size_t len = 0;
			int rc = sched_codegen(p, SCHED_PLAN_STICKY, n, sched_buckets(p, n), &m, &insns, &len);
			cr_assert_eq(rc, sched_sticky_plan_ok(p) ? 0 : -EINVAL, "%s: kernel-sticky %d", pols[i], rc);
			free(insns);
		}
		sbpf_sched_policy__free(p);
	}
	/* kernel-sticky: sticky over a key-independent decision, no counters */
	const char *yes[] = { "policy a key cpu select sticky(round_robin)", "policy b key cpu map m select sticky(least_loaded(m))" };
	const char *no[] = { "policy c key cpu select sticky(hash)", "policy d key cpu select hash",
			     "policy e key cpu counter c select sticky(least_loaded(c))" };
	for (size_t i = 0; i < 2; i++) {
		struct sbpf_sched_policy *p = compile_ok(yes[i]);
		cr_assert(sched_sticky_plan_ok(p), "%s", yes[i]);
		sbpf_sched_policy__free(p);
	}
	for (size_t i = 0; i < 3; i++) {
		struct sbpf_sched_policy *p = compile_ok(no[i]);
		cr_assert(!sched_sticky_plan_ok(p), "%s", no[i]);
		sbpf_sched_policy__free(p);
	}
}
