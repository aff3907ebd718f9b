#!/usr/bin/env bash
# A real-world corpus: the BPF objects of Debian's xdp-tools package
# (/usr/lib/x86_64-linux-gnu/bpf/*.o: xdp-filter's programs, xdpdump, the
# dispatcher, the AF_XDP default program), read where they are installed.
# Each XDP program runs on the interpreter, the JIT, EInsn (jit --kops) and
# the kernel (BPF_PROG_TEST_RUN) on the same packets with the same initial
# maps (for xdp-filter: entries in each of its filter maps the program has),
# and every engine
# must agree with the kernel on r0, the packet and the maps after the run.
# Programs the user-space runtime cannot run are listed with the reason.
# Skipped, with the reason, when the package or kernel privileges are absent.
set -u
cd "$(dirname "$0")/../.."
bin=build/asan/safebpf
[ -x "$bin" ] || bin=build/safebpf
dir=${XDP_TOOLS_BPF_DIR:-/usr/lib/x86_64-linux-gnu/bpf}
pass=0 fail=0 skip=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
finish() { echo "47-xdp-corpus: $pass passed, $fail failed, $skip skipped"; [ $fail -eq 0 ]; }

if ! ls "$dir"/xdpfilt_*.o >/dev/null 2>&1; then
	echo "47-xdp-corpus: skipped: no xdp-tools objects in $dir (apt-get install xdp-tools)"
	skip=1
	finish
	exit $?
fi
why=$("$bin" run tests/xdp/kernel-bugs/atomic-fetch-precision.s --type xdp --engine kernel \
	--mem 149a80dd2e006bfe0000000000000000 2>&1 >/dev/null)
if grep -q "cannot use the kernel" <<<"$why"; then
	echo "47-xdp-corpus: skipped: no kernel to compare with (${why#*cannot use the kernel: })"
	skip=1
	finish
	exit $?
fi

tmp=$(mktemp -d /tmp/sbpf-corpus.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# Packets: UDP to port 53 from 10.0.0.1, TCP to port 22, IPv6 UDP from
# fe80::1 (jit-unchecked, which asks the kernel verifier first, on the
# first packet only: the suite stays near a minute).
eth="00112233445566778899aabb"
pkts=(
	"udp53 ${eth}0800450000280000000040110000 0a000001 0a000002 0035 0035 0014 0000 000000000000000000000000"
	"tcp22 ${eth}08004500002800000000400600000a0000050a000002 c000 0016 00000000 00000000 5002 2000 0000 0000"
	"udp6 ${eth}86dd6000000000081140 fe800000000000000000000000000001 fe800000000000000000000000000002 1234 0035 0008 0000"
)
# xdp-filter's filter maps: port 53 (index 0x3500: the port as it lies in
# the packet; any protocol, either direction),
# 10.0.0.1, fe80::1, and the MAC 66:77:88:99:aa:bb.
declare -A frag=(
	[filter_ports]='"filter_ports": {"entries": [{"key": "00350000", "value": "0f00000000000000"}]}'
	[filter_ipv4]='"filter_ipv4": {"entries": [{"key": "0a000001", "value": "0100000000000000"}]}'
	[filter_ipv6]='"filter_ipv6": {"entries": [{"key": "fe800000000000000000000000000001", "value": "0200000000000000"}]}'
	[filter_ethernet]='"filter_ethernet": {"entries": [{"key": "66778899aabb", "value": "0100000000000000"}]}'
)
# maps_for OBJ: a --maps-in file with the fragments of the maps OBJ has.
maps_for() {
	local out=$tmp/in-$(basename "$1" .o).json sep="" m
	"$bin" run "$1" --mem 00 --maps-out "$tmp/names.json" >/dev/null 2>&1
	printf '{' >"$out"
	for m in filter_ports filter_ipv4 filter_ipv6 filter_ethernet; do
		if grep -q "\"$m\"" "$tmp/names.json" 2>/dev/null; then
			printf '%s%s' "$sep" "${frag[$m]}" >>"$out"
			sep=", "
		fi
	done
	printf '}\n' >>"$out"
	echo "$out"
}

# run ENGINE FLAGS OBJ PROG PKT MAPS-IN -> prints r0 line, packet, maps json
run() {
	local e=$1 flags=$2 obj=$3 prog=$4 pkt=$5 min=$6 out=$7
	local args=(run "$obj" --engine "$e" $flags --mem "$pkt" --dump-mem --maps-out "$out.maps")
	[ -n "$prog" ] && args+=(--prog "$prog")
	[ -n "$min" ] && args+=(--maps-in "$min")
	"$bin" "${args[@]}" >"$out.out" 2>"$out.err"
}

for obj in "$dir"/*.o; do
	name=$(basename "$obj" .o)
	progs=$("$bin" run "$obj" --mem 00 2>&1 | sed -nE 's/^  ([a-z_0-9]+) +\(section (.*)\)$/\1 \2/p')
	[ -z "$progs" ] && progs="- xdp" # one program: no --prog
	while read -r prog sec; do
		[ "$prog" = - ] && prog=""
		if [ "${sec%%/*}" != xdp ]; then
			echo "not run: $name/$prog: section $sec is not XDP (the runtime runs XDP programs;" \
			     "fentry/fexit are unavailable on this kernel too)"
			skip=$((skip + 1))
			continue
		fi
		min=""
		case $name in xdpfilt_*) min=$(maps_for "$obj") ;; esac
		for p in "${pkts[@]}"; do
			pname=${p%% *}
			bytes=$(tr -d ' ' <<<"${p#* }")
			run kernel "" "$obj" "$prog" "$bytes" "$min" "$tmp/k" || true
			if ! grep -q '^r0 = ' "$tmp/k.out"; then
				if grep -q "at least 14 bytes" "$tmp/k.err"; then continue; fi
				bad "$name/$prog $pname: kernel: $(cat "$tmp/k.err")"
				continue
			fi
			engs=("interp:" "jit:" "jit:--kops")
			[ "$pname" = udp53 ] && engs+=("jit-unchecked:") # the verifier's view, once per program
			for eng in "${engs[@]}"; do
				e=${eng%%:*} f=${eng#*:}
				run "$e" "$f" "$obj" "$prog" "$bytes" "$min" "$tmp/u" || true
				if cmp -s "$tmp/k.out" "$tmp/u.out" && cmp -s "$tmp/k.maps" "$tmp/u.maps"; then
					ok
				else
					bad "$name/$prog $pname on $e $f: kernel said $(head -1 "$tmp/k.out"), got" \
					    "$(head -1 "$tmp/u.out") $(head -2 "$tmp/u.err")" \
					    "$(diff "$tmp/k.maps" "$tmp/u.maps" | head -4)"
				fi
			done
		done
	done <<<"$progs"
done

# The filter maps really are read: xdp-filter's dny_udp drops the UDP
# packet to port 53 with empty maps and passes it once port 53 is in
# filter_ports, on the kernel and on the interpreter alike.
u53=$(tr -d ' ' <<<"${pkts[0]#* }")
for e in kernel interp; do
	run $e "" "$dir/xdpfilt_dny_udp.o" "" "$u53" "" "$tmp/d" || true
	grep -q "XDP_DROP" "$tmp/d.out" && ok || bad "xdpfilt_dny_udp on $e, empty maps: want XDP_DROP, got $(cat "$tmp/d.out" "$tmp/d.err")"
	run $e "" "$dir/xdpfilt_dny_udp.o" "" "$u53" "$(maps_for "$dir/xdpfilt_dny_udp.o")" "$tmp/d" || true
	grep -q "XDP_PASS" "$tmp/d.out" && ok || bad "xdpfilt_dny_udp on $e with port 53: want XDP_PASS, got $(cat "$tmp/d.out" "$tmp/d.err")"
done
finish
