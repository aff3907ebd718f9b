#!/usr/bin/env bash
# Hostile input to the CLI (issue 16, ASan build): size limits of the input
# reader, odd-length bytecode, unverified programs under jit-unchecked, and
# reads of registers a helper call clobbered. Each check would fail on a
# build without the hardening it names.
set -u
cd "$(dirname "$0")/../.."
S=build/asan/safebpf
pass=0 fail=0 skip=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# check NAME EXPECTED_EXIT PATTERN CMD... : CMD must exit EXPECTED_EXIT
# within 60 s with PATTERN (grep -E) on stderr.
check() {
	local name=$1 want=$2 pat=$3
	shift 3
	timeout 60 "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	local rc=$?
	if [ "$rc" -eq "$want" ] && { [ -z "$pat" ] || grep -qE -- "$pat" "$tmp/err"; }; then
		pass=$((pass + 1))
		return 0
	fi
	echo "FAIL $name: exit $rc (want $want), stderr must match /$pat/:"
	sed 's/^/  | /' "$tmp/err" | head -n 8
	fail=$((fail + 1))
	return 1
}
# piped NAME EXPECTED_EXIT PATTERN BYTES CMD... : check with BYTES zero bytes
# on standard input (CMD reads "-").
piped() {
	local name=$1 want=$2 pat=$3 bytes=$4
	shift 4
	head -c "$bytes" /dev/zero | timeout 60 "$@" >"$tmp/out" 2>"$tmp/err"
	local rc=${PIPESTATUS[1]}
	if [ "$rc" -eq "$want" ] && grep -qE -- "$pat" "$tmp/err"; then
		pass=$((pass + 1))
		return 0
	fi
	echo "FAIL $name: exit $rc (want $want), stderr must match /$pat/:"
	sed 's/^/  | /' "$tmp/err" | head -n 8
	fail=$((fail + 1))
	return 1
}

# ---- item 5: bounded input reader ----------------------------------------
big='input larger than 64 MiB'
# an endless input is refused at the limit instead of growing until OOM
check "run /dev/zero" 3 "$big" $S run /dev/zero
check "disasm /dev/zero" 3 "$big" $S disasm /dev/zero
check "asm /dev/zero" 3 "$big" $S asm /dev/zero -o "$tmp/x.bin"
check "jit /dev/zero" 3 "$big" $S jit /dev/zero
check "test-data /dev/zero" 1 "$big" $S test-data /dev/zero
piped "run - (65 MiB pipe)" 3 "$big" 68157440 $S run -
# the data inputs of run share the reader and its limit
printf '\x95\x00\x00\x00\x00\x00\x00\x00' >"$tmp/exit.bin"
check "run --mem-file /dev/zero" 3 "$big" $S run "$tmp/exit.bin" --mem-file /dev/zero
check "run --rodata /dev/zero" 3 "$big" $S run "$tmp/exit.bin" --rodata /dev/zero
# raw bytecode beyond 1M instructions (8 MiB) is refused as such
head -c 9437184 /dev/zero >"$tmp/9m.bin"
check "run 9 MiB bytecode" 3 'more than 1048576 instructions' $S run "$tmp/9m.bin"
check "disasm 9 MiB bytecode" 3 'more than 1048576 instructions' $S disasm "$tmp/9m.bin"
# odd-length binary bytes get disasm's message everywhere, not assembler errors
printf '\x95\x00\x00\x00\x00\x00\x00\x00\x00\x01\x02' >"$tmp/odd.bin"
for cmd in run disasm jit "kops rewrite -o $tmp/rw.bin"; do
	# shellcheck disable=SC2086 # "kops rewrite -o F" is several words on purpose
	check "${cmd%% -o*} odd-length bytecode" 3 '11 bytes is not a whole number of 8-byte slots' \
		$S $cmd "$tmp/odd.bin"
	if grep -q 'mnemonic\|error:' "$tmp/err"; then
		echo "FAIL $cmd odd-length bytecode: assembler diagnostics about binary bytes"
		fail=$((fail + 1))
	fi
done
# a program just under the limit still loads: 1M instructions of "exit"
# would be slow under ASan; 64 Ki slots of raw "exit" are enough to show
# that bytecode is still read as bytecode
for _ in $(seq 16); do cat "$tmp/exit.bin"; done >"$tmp/e16.bin"
check "run raw bytecode still works" 0 '' $S run "$tmp/e16.bin"
grep -q '^r0 = 0' "$tmp/out" || { echo "FAIL run raw bytecode: r0 = 0 expected"; fail=$((fail + 1)); }

# ---- item 6: jit-unchecked runs only kernel-verified programs ----------
# each program below crashed, hung, leaked or wrote out of bounds when
# jit-unchecked compiled it without asking the verifier
printf 'ja -1\nexit\n' >"$tmp/hang.s"
printf 'lddw %%r1, 0x1234\nldxdw %%r0, [%%r1+0]\nexit\n' >"$tmp/wild.s"
printf 'call local f\nexit\nf:\ncall local f\nexit\n' >"$tmp/recurse.s"
printf 'mov %%r1, 7\nstxdw [%%r10+8], %%r1\nmov %%r0, 0\nexit\n' >"$tmp/oob.s"
printf 'ldxdw %%r0, [%%r10-520]\nexit\n' >"$tmp/leak.s"
printf 'mov %%r0, 2\nexit\n' >"$tmp/ok.s"
priv=1
if $S run "$tmp/ok.s" --type xdp --engine kernel --mem 00 2>&1 | grep -q "cannot use the kernel"; then
	priv=0
	echo "jit-unchecked verifier checks: skipped (no BPF privileges: the kernel engine cannot load)"
	skip=$((skip + 6))
fi
if [ $priv -eq 1 ]; then
	for p in hang wild recurse oob leak; do
		check "jit-unchecked refuses $p.s" 3 'jit-unchecked refused: the kernel verifier did not accept' \
			$S run "$tmp/$p.s" --type xdp --engine jit-unchecked --mem 0000
	done
	check "jit-unchecked runs a verified program" 0 '' \
		$S run "$tmp/ok.s" --type xdp --engine jit-unchecked --mem 00
	grep -q '^r0 = 0x2 ' "$tmp/out" || { echo "FAIL jit-unchecked verified program: r0 = 2 expected"; fail=$((fail + 1)); }
fi
# type mem cannot be verified: refused without the test-only flag
check "jit-unchecked refuses type mem" 3 'only type xdp can be verified' \
	$S run "$tmp/ok.s" --engine jit-unchecked --mem 00
check "jit-unchecked --unsafe-unverified runs type mem" 0 '' \
	$S run "$tmp/ok.s" --engine jit-unchecked --unsafe-unverified --mem 00

# ---- item 7: r1-r5 are undefined after a call ------------------------------
# the JIT left the helper's scratch values there, the interpreter the
# arguments: the checked engines now refuse the read, as the verifier does
printf 'mov %%r1, 5\ncall 5\nmov %%r0, %%r1\nexit\n' >"$tmp/after.s"
# only one path passes the call: still refused (per path, not per line)
printf 'mov %%r2, 1\njeq %%r1, 0, skip\ncall 5\nskip:\nmov %%r0, %%r2\nexit\n' >"$tmp/path.s"
# written again after the call: fine on every engine
printf 'mov %%r1, 5\ncall 5\nmov %%r1, 3\nadd %%r0, %%r1\nexit\n' >"$tmp/rewritten.s"
for e in interp jit; do
	check "$e refuses r1 read after a call" 3 'instruction 2: r1 is read after a call' \
		$S run "$tmp/after.s" --engine "$e" --mem 00
	check "$e refuses r2 read after a call on one path" 3 'instruction 3: r2 is read after a call' \
		$S run "$tmp/path.s" --engine "$e" --mem 00
	check "$e runs a program that rewrites r1" 0 '' $S run "$tmp/rewritten.s" --engine "$e" --mem 00
	grep -q '^r0 = 0x8 ' "$tmp/out" || { echo "FAIL $e rewritten.s: r0 = 8 expected"; fail=$((fail + 1)); }
done

# ---- item 7: no host address leaves the program -----------------------------
# r10 is a host stack address in the JIT and a heap address in the
# interpreter: returned, or stored into the caller's memory, it would hand
# the caller a host address that differs between engines. Refused at load;
# stack pointers used inside the program stay fine.
printf 'mov %%r0, %%r10\nexit\n' >"$tmp/fp-ret.s"
printf 'mov %%r2, %%r10\nadd %%r2, -8\nstxdw [%%r10-8], %%r2\nldxdw %%r3, [%%r10-8]\nstxdw [%%r1+0], %%r3\nmov %%r0, 0\nexit\n' >"$tmp/fp-store.s"
printf 'stdw [%%r10-8], 7\nmov %%r2, %%r10\nadd %%r2, -8\nldxdw %%r0, [%%r2+0]\nmov %%r3, %%r10\nsub %%r3, %%r2\nadd %%r0, %%r3\nexit\n' >"$tmp/fp-inside.s"
for e in interp jit; do
	check "$e refuses returning r10" 3 'instruction 1: returns a stack address in r0' \
		$S run "$tmp/fp-ret.s" --engine "$e" --mem 00
	check "$e refuses storing a spilled stack address into memory" 3 'instruction 4: stores a stack address outside the stack' \
		$S run "$tmp/fp-store.s" --engine "$e" --mem 0000000000000000
	check "$e runs stack pointers used inside the program" 0 '' $S run "$tmp/fp-inside.s" --engine "$e" --mem 00
	grep -q '^r0 = 0xf ' "$tmp/out" || { echo "FAIL $e fp-inside.s: r0 = 15 expected"; fail=$((fail + 1)); }
done

echo "27-hardening: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
