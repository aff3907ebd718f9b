#!/usr/bin/env bash
# 71-cc.sh - the congestion-control DSL (safebpf cc, docs/cc.md):
#   - front end: every example and Figure 2a's pulse parse; caret errors
#     with hints for the mistakes people make (exit 3);
#   - plans: each program's whole-program kernel plan is accepted by the
#     verifier; a refused candidate (SAFEBPF_TEST_REJECT=kernel, or a real
#     refusal by the verifier with SAFEBPF_CC_TEST_BAD_STORE) falls back to
#     the MVSF, explain says why, and the real refusal is cached; selftest
#     loads the MVSF;
#   - real TCP: two network namespaces joined by a veth pair, a 100 Mbit/s
#     tbf bottleneck, iperf3: the DSL's Reno against the kernel's reno and
#     the DSL's CUBIC against cubic (throughput within 15%, mean cwnd within
#     a factor of 2, retransmissions under 1% of segments), the BBR-like
#     pacer (over 40 Mbit/s, retransmissions under 1%, a bandwidth estimate
#     within 50%), the default algorithm set by sysctl in the namespace;
#   - the MVSF plan and the kernel plan give the same cwnd trajectory on a
#     replay of the ACKs recorded from a real flow (and a different program
#     gives a different one); the folds plan (Figure 2a's pulse, folds in the
#     kernel, rules in user space) runs on real TCP;
#   - SIGINT unregisters: nothing is left in the kernel.
# Skips, saying why, without root/CAP_BPF, iperf3, tc or network namespaces.
set -u
cd "$(dirname "$0")/../.."
SB=${SAFEBPF:-build/asan/safebpf}
pass=0 fail=0 skip=0
tmp=$(mktemp -d)
S=$$
NA=sbpfccA$S NB=sbpfccB$S VA=sbcA$S VB=sbcB$S
cleanup() {
	[ -n "${bgpid:-}" ] && kill "$bgpid" 2>/dev/null
	ip netns del "$NA" 2>/dev/null
	ip netns del "$NB" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
[ -n "${KEEP_TMP:-}" ] && trap "ip netns del $NA; ip netns del $NB" EXIT
export SAFEBPF_CACHE_DIR="$tmp/cache"

ok()   { echo "ok   $1"; pass=$((pass + 1)); }
bad()  { echo "FAIL $1"; fail=$((fail + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
finish() { echo "71-cc: $pass passed, $fail failed, $skip skipped"; [ "$fail" -eq 0 ]; exit $?; }

if [ ! -x "$SB" ]; then
	bad "build: $SB must exist (make asan)"
	finish
fi
PROGS="examples/cc/reno.cc examples/cc/cubic.cc examples/cc/bbr.cc tests/cc/pulse.cc"

# 1. Front end.
for f in $PROGS; do
	check "check: $f parses" "'$SB' cc check $f >/dev/null"
done
cerr() { # source, expected message, expected hint
	printf '%b' "$1" >"$tmp/bad.cc"
	"$SB" cc check "$tmp/bad.cc" >/dev/null 2>"$tmp/bad.err"
	local rc=$?
	[ $rc -eq 3 ] && grep -qF -- "$2" "$tmp/bad.err" && grep -qF -- "$3" "$tmp/bad.err" && grep -q '\^' "$tmp/bad.err"
}
check "error: unknown name, with a suggestion and a caret" \
	"cerr 'state w = 1\nwhen 1 { set cwnd = w + ackd }\n' \"bad.cc:2:25: error: unknown name 'ackd'\" \"did you mean 'acked'?\""
check "error: assigning a measurement" \
	"cerr 'when 1 { cwnd = 3 }\n' \"'cwnd' is a measurement and cannot be assigned\" \"use 'set cwnd = ...'\""
check "error: an action inside a fold" \
	"cerr 'fold { set cwnd = 3 }\n' 'action inside a fold' 'a fold only updates state'"
check "error: initial values are constants" \
	"cerr 'state a = rtt\nwhen 1 { set cwnd = a }\n' 'initial value depends on state or measurements' 'initial values are constants'"
check "error: malformed number" "cerr 'when 1 { set cwnd = 12x }\n' 'malformed number' 'decimal or 0x hex'"
check "error: missing brace" "cerr 'when 1 { set cwnd = 2\n' \"expected '}'\" 'blocks are closed'"

# Privileges.
if ! "$SB" selftest cc >"$tmp/st.out" 2>"$tmp/st.err"; then
	if grep -q "cannot load programs" "$tmp/st.err"; then
		echo "skip kernel tests: $(cat "$tmp/st.err")"
		skip=$((skip + 1))
		finish
	fi
fi
cat "$tmp/st.out"
check "selftest: the cc MVSF loads, registers and unregisters" "grep -q '^PASS dsl cc ' '$tmp/st.out'"

# 2. Plans.
for f in $PROGS; do
	"$SB" cc explain "$f" >"$tmp/ex.out" 2>&1
	check "explain: $f runs in the kernel (verifier accepted the whole program)" \
		"grep -q '^  kernel  cost .* accepted by the verifier' '$tmp/ex.out' && grep -q '^chosen: kernel' '$tmp/ex.out'"
done
SAFEBPF_TEST_REJECT=kernel "$SB" cc explain tests/cc/pulse.cc >"$tmp/fo.out" 2>&1
check "explain: the pulse's folds plan (its fold in the kernel, rules in user space) is next when the kernel plan is refused" \
	"grep -q '^  folds   cost   50.0  accepted' '$tmp/fo.out' && grep -q '^chosen: folds' '$tmp/fo.out' && grep -q 'first 1 of 5 items' '$tmp/fo.out'"
"$SB" cc explain --disasm tests/cc/pulse.cc >"$tmp/dis.out" 2>&1
check "explain --disasm: the chosen plan's four programs, socket storage and ring buffer calls" \
	"[ \$(grep -cE '^(cong_control|ssthresh|undo_cwnd|release) \\([0-9]+ instructions\\):' '$tmp/dis.out') -eq 4 ] && grep -q 'call 107' '$tmp/dis.out' && grep -q 'call 130' '$tmp/dis.out'"
SAFEBPF_TEST_REJECT=kernel "$SB" cc explain examples/cc/cubic.cc >"$tmp/ex.out" 2>&1
check "explain: a refused kernel plan falls back to the MVSF, with the reason" \
	"grep -q 'kernel .*refused: refused by SAFEBPF_TEST_REJECT' '$tmp/ex.out' && grep -q '^chosen: mvsf' '$tmp/ex.out'"

# A real refusal (SAFEBPF_CC_TEST_BAD_STORE: the kernel plan writes a field
# tcp_congestion_ops may not write): the verifier's reason, the MVSF chosen,
# and the second time the refusal comes from the verdict cache.
SAFEBPF_CC_TEST_BAD_STORE=1 "$SB" cc explain examples/cc/reno.cc >"$tmp/bad1.out" 2>&1
SAFEBPF_CC_TEST_BAD_STORE=1 "$SB" cc explain examples/cc/reno.cc >"$tmp/bad2.out" 2>&1
check "explain: the verifier refuses a bad kernel plan, says why, and the MVSF runs" \
	"grep -q 'kernel .*refused: cong_control: .*write' '$tmp/bad1.out' && ! grep -q 'cached verdict' '$tmp/bad1.out' && grep -q '^chosen: mvsf' '$tmp/bad1.out'"
check "explain: the refusal is remembered per (program, kernel release) and not loaded again" \
	"grep -q 'kernel .*refused (cached verdict): cong_control: .*write' '$tmp/bad2.out' && grep -q '^chosen: mvsf' '$tmp/bad2.out' && grep -q rejected '$tmp/cache/dsl-verdicts-$(uname -r)'"
"$SB" cc explain examples/cc/reno.cc >"$tmp/good.out" 2>&1
check "explain: the program without the bad store still runs in the kernel (a different fingerprint)" \
	"grep -q '^chosen: kernel' '$tmp/good.out'"

# 3. Real TCP over veth with a tbf bottleneck.
for tool in iperf3 tc ip; do
	if ! command -v $tool >/dev/null; then
		echo "skip TCP tests: $tool is not installed"
		skip=$((skip + 1))
		finish
	fi
done
if ! ip netns add "$NA" 2>"$tmp/ns.err" || ! ip netns add "$NB" 2>>"$tmp/ns.err"; then
	echo "skip TCP tests: cannot create network namespaces: $(cat "$tmp/ns.err")"
	skip=$((skip + 1))
	finish
fi
ip link add "$VA" type veth peer name "$VB" &&
	ip link set "$VA" netns "$NA" && ip link set "$VB" netns "$NB" &&
	ip -n "$NA" addr add 10.201.0.1/24 dev "$VA" && ip -n "$NB" addr add 10.201.0.2/24 dev "$VB" &&
	ip -n "$NA" link set "$VA" up && ip -n "$NB" link set "$VB" up &&
	ip -n "$NA" link set lo up && ip -n "$NB" link set lo up &&
	ip netns exec "$NA" tc qdisc add dev "$VA" root tbf rate 100mbit burst 32kb limit 150kb
check "network: veth pair between two namespaces with a 100 Mbit/s tbf bottleneck" "[ $? -eq 0 ]"

# Starts a one-shot iperf3 server in B and waits until it listens.
server() {
	ip netns exec "$NB" iperf3 -s -1 -D -I "$tmp/iperf3.pid" >/dev/null 2>&1
	for _ in $(seq 100); do
		ip netns exec "$NB" ss -Hltn 'sport = :5201' | grep -q 5201 && return 0
		sleep 0.05 # polling for the listening socket, bounded
	done
	return 1
}
# iperf3 client from A: JSON in $tmp/$1.json. $2: algorithm name or "" (the default).
client() {
	local out=$1 cc=$2
	ip netns exec "$NA" iperf3 -c 10.201.0.2 -t 3 ${cc:+-C "$cc"} -J >"$tmp/$out.json" 2>"$tmp/$out.err"
}
# Runs the DSL program $1 under name $2 (extra args in $3) around a client run.
dsl_client() {
	local prog=$1 name=$2 extra=$3 out=$4
	server || return 1
	"$SB" cc run $extra --name "$name" --reports "$tmp/$out.rep" "$prog" -- \
		ip netns exec "$NA" iperf3 -c 10.201.0.2 -t 3 -C "$name" -J >"$tmp/$out.raw" 2>"$tmp/$out.err"
	local rc=$?
	tail -n +2 "$tmp/$out.raw" >"$tmp/$out.json"
	head -1 "$tmp/$out.raw" >"$tmp/$out.reg"
	return $rc
}
# "Mbit/s retransmits mean_cwnd_packets segments" of a JSON result.
summary() {
	python3 - "$tmp/$1.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
e = d["end"]["sum_sent"]
cw = [i["streams"][0]["snd_cwnd"] / 1448 for i in d["intervals"]]
print("%.1f %d %.1f %d" % (e["bits_per_second"] / 1e6, e.get("retransmits", 0), sum(cw) / len(cw), e["bytes"] / 1448))
PY
}
# compare NAME KERNEL_RESULT DSL_RESULT
compare() {
	read -r kt kr kc ks < <(summary "$2")
	read -r dt dr dc ds < <(summary "$3")
	echo "     $1: kernel $kt Mbit/s, $kr retransmits, mean cwnd $kc; DSL $dt Mbit/s, $dr retransmits, mean cwnd $dc"
	echo "$1,$kt,$kr,$kc,$dt,$dr,$dc" >>"$tmp/figures.csv"
	check "$1: throughput within 15% of the kernel's ($dt vs $kt Mbit/s), both above 70 Mbit/s" \
		"python3 -c 'import sys; k,d=$kt,$dt; sys.exit(not (abs(d-k) <= 0.15*k and k > 70 and d > 70))'"
	check "$1: mean cwnd within a factor of 2 of the kernel's ($dc vs $kc packets)" \
		"python3 -c 'import sys; k,d=$kc,$dc; sys.exit(not (d <= 2*k and k <= 2*d))'"
	check "$1: retransmissions under 1% of segments ($dr of $ds; the kernel's: $kr)" "[ $dr -lt $((ds / 100)) ]"
}

for alg in reno cubic; do
	server && client "k$alg" "$alg"
	check "iperf3 with the kernel's $alg" "[ $? -eq 0 ]"
	dsl_client "examples/cc/$alg.cc" "sbpf_$alg$S" "" "d$alg"
	check "iperf3 with the DSL's $alg (registered as sbpf_$alg$S)" \
		"[ $? -eq 0 ] && grep -q '^registered sbpf_$alg$S (plan kernel' '$tmp/d$alg.reg'"
	compare "$alg" "k$alg" "d$alg"
done

# The MVSF plan on real TCP, recording every ACK; then the replay.
dsl_client examples/cc/reno.cc "sbpf_mv$S" "--plan mvsf --record $tmp/reno.rec" "mvsf"
rc=$?
read -r mt mr mc ms < <(summary mvsf)
echo "     reno under the MVSF plan: $mt Mbit/s, $mr retransmits, mean cwnd $mc"
echo "reno-mvsf,,,,$mt,$mr,$mc" >>"$tmp/figures.csv"
nacks=$(grep -c '^ack ' "$tmp/reno.rec")
check "MVSF plan: the flow ran at over 70 Mbit/s ($mt) and user space saw its ACKs ($nacks)" \
	"[ $rc -eq 0 ] && grep -q '(plan mvsf' '$tmp/mvsf.reg' && [ $nacks -ge 1000 ] && python3 -c 'import sys; sys.exit(not $mt > 70)'"
check "MVSF plan: user space wrote the window back and lost no record" \
	"grep -qE 'ACKs in user space, [1-9][0-9]* control writes, .* 0 records lost' '$tmp/mvsf.err'"
"$SB" cc replay --plan mvsf examples/cc/reno.cc "$tmp/reno.rec" >"$tmp/rp.mvsf"
"$SB" cc replay --plan kernel examples/cc/reno.cc "$tmp/reno.rec" >"$tmp/rp.kernel"
"$SB" cc replay --plan kernel examples/cc/cubic.cc "$tmp/reno.rec" >"$tmp/rp.cubic"
nvals=$(awk '{print $2}' "$tmp/rp.mvsf" | sort -u | wc -l)
check "replay: MVSF and kernel plans give the same cwnd trajectory ($(wc -l <"$tmp/rp.mvsf") ACKs, $nvals distinct windows)" \
	"[ $(wc -l <"$tmp/rp.mvsf") -eq $nacks ] && [ $nvals -ge 10 ] && cmp -s '$tmp/rp.mvsf' '$tmp/rp.kernel'"
check "replay: a different program (CUBIC) gives a different trajectory" "! cmp -s '$tmp/rp.mvsf' '$tmp/rp.cubic'"

# The folds plan on real TCP: Figure 2a's pulse with its folds in the kernel
# and its rules in user space (it paces; its window stays the initial one).
server
"$SB" cc run --plan folds --name "sbpf_pl$S" --reports "$tmp/pulse.rep" tests/cc/pulse.cc -- \
	ip netns exec "$NA" iperf3 -c 10.201.0.2 -t 2 -C "sbpf_pl$S" -J >"$tmp/pulse.raw" 2>"$tmp/pulse.err"
rc=$?
check "folds plan: the pulse runs (folds in cong_control, rules in user space on every ACK, reports)" \
	"[ $rc -eq 0 ] && grep -q '(plan folds' '$tmp/pulse.raw' && grep -qE '[1-9][0-9]* ACKs in user space, [1-9][0-9]* control writes, [1-9][0-9]* reports' '$tmp/pulse.err' && grep -q 'report flow=1 minrtt=' '$tmp/pulse.rep'"

# The BBR-like pacer: throughput and its bandwidth estimate.
dsl_client examples/cc/bbr.cc "sbpf_bbr$S" "" "bbr"
rc=$?
read -r bt br bc bs < <(summary bbr)
echo "     bbr-like: $bt Mbit/s, $br retransmits, mean cwnd $bc"
echo "bbr-like,,,,$bt,$br,$bc" >>"$tmp/figures.csv"
# bottleneck estimates in probe_bw reports: some within 50% of the link
nrep=$(grep -c 'mode=2' "$tmp/bbr.rep")
ngood=$(grep 'mode=2' "$tmp/bbr.rep" | sed -E 's/.* btl=([0-9]+).*/\1/' | awk '$1 > 6250000 && $1 < 18750000' | wc -l)
check "bbr-like: over 40 Mbit/s ($bt), retransmissions under 1% of segments ($br of $bs), reached probe_bw ($nrep reports)" \
	"[ $rc -eq 0 ] && python3 -c 'import sys; sys.exit(not $bt > 40)' && [ $br -lt $((bs / 100 + 1)) ] && [ $nrep -ge 1 ]"
check "bbr-like: its bandwidth estimate found the 12.5 MB/s bottleneck within 50% ($ngood of $nrep probe_bw reports)" \
	"[ $ngood -ge 1 ]"

# sysctl: the namespace's default algorithm (no -C).
server
"$SB" cc run --plan mvsf --name "sbpf_def$S" examples/cc/reno.cc -- sh -c "
	ip netns exec $NA sysctl -qw net.ipv4.tcp_congestion_control=sbpf_def$S &&
	ip netns exec $NA iperf3 -c 10.201.0.2 -t 1 -J" >"$tmp/def.raw" 2>"$tmp/def.err"
check "sysctl net.ipv4.tcp_congestion_control=NAME in a namespace: the flow used the DSL (1 flow in user space)" \
	"[ $? -eq 0 ] && grep -qE 'ACKs in user space, .* [1-9][0-9]* flows' '$tmp/def.err'"

# 4. SIGINT unregisters.
mkfifo "$tmp/fifo"
"$SB" cc run --name "sbpf_int$S" examples/cc/reno.cc >"$tmp/fifo" 2>"$tmp/int.err" &
bgpid=$!
exec 3<"$tmp/fifo"
read -r -t 20 line <&3
ids=$(sed -E 's/.*struct_ops map ([0-9]+), link ([0-9]+).*/\1 \2/' <<<"$line")
listed=$(grep -cw "sbpf_int$S" /proc/sys/net/ipv4/tcp_available_congestion_control)
kill -INT "$bgpid"
wait "$bgpid"
rc=$?
bgpid=
exec 3<&-
left=$(grep -cw "sbpf_int$S" /proc/sys/net/ipv4/tcp_available_congestion_control)
set -- $ids
check "SIGINT: registered ($line), then exit 0 with the algorithm, its link and map gone" \
	"[ $listed -eq 1 ] && [ $rc -eq 0 ] && [ $left -eq 0 ] && ! bpftool link show id ${2:-0} >/dev/null 2>&1 && grep -q unregistered '$tmp/int.err'"
for _ in $(seq 100); do bpftool map show id "${1:-0}" >/dev/null 2>&1 || break; sleep 0.05; done
check "SIGINT: the struct_ops map left the kernel" "! bpftool map show id ${1:-0} >/dev/null 2>&1"

echo "figures (name,kernel Mbit/s,kernel retransmits,kernel mean cwnd,DSL Mbit/s,DSL retransmits,DSL mean cwnd):"
cat "$tmp/figures.csv"
finish
