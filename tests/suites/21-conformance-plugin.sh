#!/usr/bin/env bash
# The bpf_conformance plugin protocol of `safebpf conformance-plugin`, driven
# the way the runner drives it: program as hex on stdin, memory as the first
# argument (the runner writes each byte followed by two spaces), r0 in hex on
# stdout and exit 0, or the message on stderr and a non-zero exit.
# Part 1 checks the protocol details; part 2 runs every external conformance
# test with a -- result through the plugin (skipped when the suite is absent).
set -u
cd "$(dirname "$0")/../.."
bin=build/asan/safebpf
pass=0 fail=0 skip=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }

# plugin_case NAME EXPECT_RC EXPECT_STDOUT EXPECT_STDERR_SUBSTRING PROGRAM_HEX [ARGS...]
plugin_case() {
	local name=$1 erc=$2 eout=$3 eerr=$4 prog=$5
	shift 5
	local out err rc
	out=$(printf '%s\n' "$prog" | "$bin" conformance-plugin "$@" 2>"$tmp/err"); rc=$?
	err=$(cat "$tmp/err")
	if [ "$rc" -ne "$erc" ]; then
		bad "$name: exit $rc, expected $erc (stdout '$out', stderr '$err')"
	elif [ "$out" != "$eout" ]; then
		bad "$name: stdout '$out', expected '$eout'"
	elif [ -n "$eerr" ] && ! grep -qF -- "$eerr" <<<"$err"; then
		bad "$name: stderr '$err' lacks '$eerr'"
	else
		ok
	fi
}

MOV42="b7 00 00 00 2a 00 00 00 95 00 00 00 00 00 00 00"
LDXH="69 10 00 00 00 00 00 00 95 00 00 00 00 00 00 00"  # ldxh r0, [r1]
plugin_case "r0 in hex, no memory" 0 "0x2a" "" "$MOV42"
plugin_case "memory in the runner's format" 0 "0x100" "" "$LDXH" "00  01  "
plugin_case "memory without spaces" 0 "0x100" "" "$LDXH" "0001"
plugin_case "program on one line without spaces" 0 "0x2a" "" "b7000000""2a000000""9500000000000000"
plugin_case "plugin options after memory" 0 "0x100" "" "$LDXH" "00 01" --engine interp
plugin_case "out-of-bounds is an error" 1 "" "error at pc 0: out-of-bounds 2-byte load at mem+0 (mem is 1 bytes)" "$LDXH" "00"
plugin_case "invalid program is an error" 1 "" "invalid program: instruction 0: exit: unused dst_reg field" "95 01 00 00 00 00 00 00"
plugin_case "empty program" 1 "" "empty program" ""
plugin_case "partial instruction" 1 "" "not a whole number" "b7 00 00"
plugin_case "not hex" 1 "" "not hex" "zz"
plugin_case "ELF input refused" 1 "" "not supported" "$MOV42" --elf
plugin_case "unknown engine" 2 "" "unknown engine" "$MOV42" --engine nope

shared="$(git rev-parse --show-toplevel 2>/dev/null || pwd)/../shared/bpf_conformance"
if [ ! -d "$shared" ]; then
	common=$(cd "$(git rev-parse --git-common-dir 2>/dev/null || echo .)" && pwd)
	shared="$(dirname "$common")/../shared/bpf_conformance"
fi
# Part 2 spawns the binary twice per test: the optimized build when there
# is one (part 1 and the data suites run the sanitized one).
if [ -x build/safebpf ]; then bin=build/safebpf; fi
if [ -d "$shared/tests" ]; then
	n=0
	for f in "$shared"/tests/*.data; do
		# Sections: print the lines of section $1 (comments dropped).
		section() { awk -v want="$1" '/^--/ { sec = $2; next } sec == want { sub(/#.*/, ""); print }' "$f"; }
		section asm >"$tmp/p.s"
		want=$(section result | tr -d ' \r' | grep -v '^$' | tail -n 1)
		if [ ! -s "$tmp/p.s" ] || [ -z "$want" ]; then
			continue
		fi
		if ! prog=$("$bin" asm "$tmp/p.s" 2>"$tmp/asmerr"); then
			bad "$(basename "$f"): assembly failed: $(head -n 1 "$tmp/asmerr")"
			continue
		fi
		mem=$(section mem | tr '\n' ' ' | sed -E 's/ +/  /g; s/^ +//')
		if [ -n "$mem" ]; then
			got=$(printf '%s\n' "$prog" | "$bin" conformance-plugin "$mem" 2>"$tmp/err")
		else
			got=$(printf '%s\n' "$prog" | "$bin" conformance-plugin 2>"$tmp/err")
		fi
		rc=$?
		n=$((n + 1))
		if [ "$rc" -ne 0 ]; then
			bad "$(basename "$f"): plugin exit $rc: $(cat "$tmp/err")"
		elif [ "$(printf '%x' "$got")" != "$(printf '%x' "$want")" ]; then
			bad "$(basename "$f"): plugin printed $got, expected $want"
		else
			ok
		fi
	done
	echo "ran $n external tests through the plugin"
else
	echo "skip: external conformance suite not found at $shared"
	skip=$((skip + 1))
fi

echo "conformance-plugin: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
