ldxb %r0, [%r1+0x2]
ldxh %r9, [%r0+2]
ldxw %r0, [%r1]
ldxdw %r0, [%r10-8]
ldxsb %r0, [%r10-1]
ldxsh %r0, [%r10-2]
ldxsw %r0, [%r10-4]
stb [%r1+2], 0x11
sth [%r10-2], 0x8001
stw [%r10-4], 1
stdw [%r10-16], -1
stxb [%r0+1], %r9
stxh [%r1+2], %r2
stxw [%r1+4], %r2
stxdw [%r10-8], %r1
ldxw %r0, [ %r1 - 32768 ]
exit
