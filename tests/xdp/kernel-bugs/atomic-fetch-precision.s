# atomic-fetch-precision.s - a Linux verifier bug found by `safebpf difftest
# --kernel --kernel-fetch-atomics` on 6.18 (minimized, then reduced by hand).
#
# Precision backtracking does not follow a register loaded by a fetching
# atomic (here `lock fetch or`) back to the stack slot it came from. The
# verifier first explores the path where r7 is the constant 0x7fffffff,
# decides `jsgt32 r4, 32` always jumps, marks only r4 (and, wrongly, the
# constant operand) precise, then prunes the path where r7 is the unknown
# packet value as "equivalent", never explores its fall-through and
# hard-wires the jump (bpftool prog dump xlated shows `r0 = 2` right after
# the atomic). With packet bytes 14 9a 80 dd 2e 00 6b fe ... the program must
# return 1 (low 32 bits 0xdd809a14 are negative); the kernel returns 2:
#
#   safebpf run tests/xdp/kernel-bugs/atomic-fetch-precision.s --type xdp \
#       --mem 149a80dd2e006bfe0000000000000000 --engine interp   -> r0 = 1
#   ... --engine kernel                                          -> r0 = 2 (bug)
#
# tests/suites/45-xdp.sh runs it and reports whether the running kernel has
# the bug (informational: it is not safebpf's).
ldxw %r2, [%r1+4]
ldxw %r3, [%r1+0]
mov %r4, %r3
add %r4, 8
jgt %r4, %r2, out
ldxb %r0, [%r3+0]
ldxdw %r7, [%r3+0]
jne %r0, %r7, L
mov32 %r7, 0x7fffffff
L:
stxdw [%r10-8], %r7
mov %r4, 0
lock fetch or [%r10-8], %r4
jsgt32 %r4, 32, big
mov %r0, 1
exit
big:
mov %r0, 2
exit
out:
mov %r0, 0
exit
