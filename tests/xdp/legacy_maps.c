/* legacy_maps.c - a map in a legacy "maps" section (struct bpf_map_def),
 * which libbpf 1.0+ refuses: safebpf reads it itself (src/elf/legacy.c). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct legacy_map_def {
	unsigned int type, key_size, value_size, max_entries, map_flags;
};

struct legacy_map_def SEC("maps") hits = { BPF_MAP_TYPE_ARRAY, 4, 8, 2, 0 };

SEC("xdp")
int xdp_legacy(struct xdp_md *ctx)
{
	int k = ctx->data_end - ctx->data > 20;
	long *v = bpf_map_lookup_elem(&hits, &k);
	if (v)
		*v += 3;
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
