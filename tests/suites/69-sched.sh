#!/usr/bin/env bash
# Socket scheduling (safebpf sched, docs/sched.md) on loopback: the
# language's diagnostics; then for every policy (round-robin, hash of
# fields, least-loaded on published loads, sticky sessions) and every plan
# (the optimizer's in-kernel plan and the MVSF; the policies of
# examples/sched/), a UDP and a TCP
# SO_REUSEPORT group served by `safebpf sched run` and driven by the
# deterministic client tests/e2e/sched_client, which waits for each reply
# (join-the-shortest-queue, least_loaded(sent - done), too):
# the worker that answered each request must be exactly what the reference
# semantics (`safebpf sched eval` on the same requests) says, so every plan
# gives the same distribution. Also: the fallback to the MVSF when the
# in-kernel plan is refused, explain, and the MVSF self-test.
# Kernel parts are skipped, with the reason, without CAP_BPF.
set -u
cd "$(dirname "$0")/../.."
bin=build/asan/safebpf
[ -x "$bin" ] || bin=build/safebpf
client=build/e2e/sched_client
pass=0 fail=0 skip=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
tmp=$(mktemp -d)
servers=()
cleanup() {
	for p in "${servers[@]}"; do kill "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
export SAFEBPF_CACHE_DIR=$tmp/cache

# 1. the language: accepted policies, and errors with line:column, caret, hint
# the example policies (examples/sched/)
for p in round_robin:rr by_flow:hash least_loaded:least sessions:sticky least_inflight:inflight; do
	cp "examples/sched/${p%%:*}.sched" "$tmp/${p#*:}.sched"
done
for p in rr hash least sticky inflight; do
	out=$("$bin" sched check "$tmp/$p.sched" 2>&1) && grep -q ": ok" <<<"$out" && ok || bad "check $p: $out"
done
check_err() { # text, expected fragment of the diagnostics
	local out rc
	out=$("$bin" sched check -e "$1" 2>&1); rc=$?
	if [ $rc -eq 3 ] && grep -qF -- "$2" <<<"$out" && grep -q '\^' <<<"$out"; then ok
	else bad "check '$1': want exit 3 and '$2', got $rc: $out"; fi
}
check_err 'policy x key src_port select stiky(round_robin)' "did you mean 'sticky'?"
check_err 'policy x map load select least_loaded(lod)' "did you mean 'load'?"
check_err 'policy x select hash' "hash needs a key"
check_err 'policy x key payload[0:4] select sticky(sticky(hash))' "cannot be nested"
check_err 'policy x key src_prt select hash' "did you mean 'src_port'?"
check_err 'policy x key payload[0:17] select hash' "payload length must be between 1 and 16"
check_err 'policy x executors 2 select executor 3' "out of range"
check_err 'policy x select round_robin select hash' "after the select clause"
check_err 'policy x
  key src_port
  selct hash' "<policy>:3:3: error: unknown clause"
out=$("$bin" sched check -e 'policy x key src_port selct hash' 2>&1)
grep -q "<policy>:1:23: error: unknown clause 'selct'" <<<"$out" && ok || bad "caret position: $out"

why=$("$bin" selftest sched 2>&1)
if grep -q "^n/a" <<<"$why" || [ "$(id -u)" != 0 ]; then
	echo "kernel parts skipped: $why"
	skip=$((skip + 1))
	echo "69-sched: $pass passed, $fail failed, $skip skipped"
	[ "$fail" -eq 0 ]
	exit
fi

# 2. the MVSF self-test
grep -q "^PASS dsl sched" <<<"$why" && ok || bad "selftest sched: $why"

# 3. every policy x plan x protocol: the answers equal the reference semantics
# Server ports and fixed client source ports (the same requests for every
# plan), both below the ephemeral range so that no connection takes them.
base=$(( 20000 + ($$ * 7) % 10000 ))
sbase=$(( 10000 + ($$ * 13) % 9000 ))
n=0
serve() { # policy plan proto requests [run options...] -> server pid in $spid, port in $port
	local pol=$1 plan=$2 proto=$3 reqs=$4; shift 4
	n=$((n + 1)); port=$((base + n))
	local fifo=$tmp/ready.$n
	mkfifo "$fifo"
	local t=""; [ "$proto" = tcp ] && t=--tcp
	"$bin" sched run "$tmp/$pol.sched" --port "$port" --workers 4 --plan "$plan" $t --count "$reqs" "$@" \
		> "$fifo" 2> "$tmp/server.$n.err" &
	spid=$!
	servers+=("$spid")
	exec 7< "$fifo"
	ready=""
	read -r -t 20 ready <&7   # the server prints "ready ..." once attached
}
finish() { # -> server's remaining output in $srv_out
	srv_out=$(timeout 60 cat <&7)
	exec 7<&-
	wait "$spid"
}
declare -A dist
for proto in udp tcp; do
	for pol in rr hash least sticky inflight; do
		[ "$proto" = tcp ] && [ "$pol" = sticky ] && continue  # no payload at connection time
		for plan in auto mvsf; do
			reqs=60
			load=(); case $pol in least|inflight) load=(--load handled) ;; esac
			serve "$pol" "$plan" "$proto" $reqs "${load[@]}"
			if ! grep -q "^ready" <<<"$ready"; then
				bad "$pol/$plan/$proto: server did not start: $ready $(cat "$tmp/server.$n.err")"
				finish; continue
			fi
			want_plan=kernel; [ "$plan" = mvsf ] && want_plan=mvsf
			grep -q "plan=$want_plan" <<<"$ready" && ok || bad "$pol/$plan/$proto: plan: $ready"
			t=""; [ "$proto" = tcp ] && t=--tcp
			"$client" --port "$port" --sport-base "$sbase" $t seq $reqs 5 6 4 > "$tmp/answers" 2> "$tmp/client.err"
			crc=$?
			[ $crc -ne 0 ] && kill "$spid" 2>/dev/null   # it would wait for the missing requests
			finish
			if [ $crc -ne 0 ]; then bad "$pol/$plan/$proto: client: $(cat "$tmp/client.err")"; continue; fi
			grep -v '^counts' "$tmp/answers" | "$bin" sched eval "$tmp/$pol.sched" --workers 4 --port "$port" \
				$t "${load[@]}" > "$tmp/expected"
			if cmp -s <(awk '!/^counts/ {print $3}' "$tmp/answers") "$tmp/expected"; then ok
			else bad "$pol/$plan/$proto: answers differ from the reference semantics:
$(paste "$tmp/answers" "$tmp/expected" | head -20)"; fi
			counts=$(grep '^counts' "$tmp/answers")
			served=$(grep '^served' <<<"$srv_out")
			[ "${served#served }" = "${counts#counts }" ] && ok || bad "$pol/$plan/$proto: served '$served' vs '$counts'"
			if [ "$plan" = mvsf ]; then
				grep -qE "plan mvsf: $reqs reports, 0 lagged, 0 lost" <<<"$srv_out" && ok \
					|| bad "$pol/mvsf/$proto: agent: $srv_out"
			fi
			# exact closed forms where the policy has one
			case $pol in
			rr|least) exp="counts 15 15 15 15" ;;   # least_loaded on handled counts is a rotation
			inflight) exp="counts 60 0 0 0" ;;      # one request at a time: nothing in flight, ties to 0
			sticky) exp="counts 20 20 10 10" ;;     # keys 0..5, first seen in order 0 1 2 3 4 5 -> 0 1 2 3 0 1
			*) exp="" ;;
			esac
			if [ -n "$exp" ]; then [ "$counts" = "$exp" ] && ok || bad "$pol/$plan/$proto: $counts, want $exp"; fi
			dist[$pol/$plan/$proto]=$counts
		done
		echo "  $pol/$proto: kernel plan ${dist[$pol/auto/$proto]#counts }, MVSF ${dist[$pol/mvsf/$proto]#counts }"
		[ -n "${dist[$pol/auto/$proto]}" ] && [ "${dist[$pol/auto/$proto]}" = "${dist[$pol/mvsf/$proto]}" ] && ok \
			|| bad "$pol/$proto: the plans' distributions differ"
		sbase=$((sbase + 100))
	done
done

# 4. the fallback: the in-kernel plan refused (test knob) -> the MVSF runs, explain says why
out=$(SAFEBPF_TEST_REJECT=kernel "$bin" sched explain "$tmp/least.sched" --workers 4 2>&1)
grep -q "kernel .*refused" <<<"$out" && grep -q "mvsf .*accepted  <- chosen" <<<"$out" && ok || bad "explain fallback: $out"
out=$("$bin" sched explain "$tmp/sticky.sched" --workers 3 2>&1)
grep -q "kernel .*accepted  <- chosen" <<<"$out" && grep -q "1026 buckets" <<<"$out" && grep -q "lock cmpxchg" <<<"$out" \
	&& ok || bad "explain sticky: $out"
# sticky(round_robin) without the whole-policy plan: kernel-sticky (the
# bucket table in the kernel, only new sessions reported), then the MVSF
for rej in kernel kernel,kernel-sticky; do
	want=kernel-sticky reports=6; [ "$rej" != kernel ] && want=mvsf reports=30
	export SAFEBPF_TEST_REJECT=$rej
	serve sticky auto udp 30
	grep -q "plan=$want" <<<"$ready" && ok || bad "fallback ($rej) run: $ready"
	"$client" --port "$port" --sport-base "$sbase" seq 30 5 6 4 > "$tmp/answers" 2>&1
	finish
	unset SAFEBPF_TEST_REJECT
	grep -q "^counts 10 10 5 5$" "$tmp/answers" && ok || bad "fallback ($rej) distribution: $(tail -1 "$tmp/answers")"
	grep -q "plan $want: $reports reports, 0 lagged, 0 lost" <<<"$srv_out" && ok || bad "fallback ($rej) agent: $srv_out"
done
out=$(SAFEBPF_TEST_REJECT=kernel "$bin" sched explain "$tmp/sticky.sched" --workers 4 2>&1)
grep -qE "kernel-sticky +cost +10  accepted  <- chosen" <<<"$out" && ok || bad "explain kernel-sticky: $out"

# 5. the library API on a caller's own socket group (examples/sched_group.c)
if cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Iinclude examples/sched_group.c build/libsafebpf.a \
	-lbpf -lelf -lz -lcapstone -lz3 -lm -lpthread -o "$tmp/sched_group" 2> "$tmp/cc.err"; then
	out=$("$tmp/sched_group" 2>&1)
	[ "$out" = "policy rr, plan kernel: 0 1 2 0 1 2 0 1 2" ] && ok || bad "sched_group: $out"
	out=$(SAFEBPF_TEST_REJECT=kernel "$tmp/sched_group" 'policy rev select executor 2' 2>&1)
	[ "$out" = "policy rev, plan mvsf: 2 2 2 2 2 2 2 2 2" ] && ok || bad "sched_group (mvsf): $out"
else
	bad "examples/sched_group.c does not build: $(cat "$tmp/cc.err")"
fi

echo "69-sched: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
