mov %r0, 0x7fffffff
mov32 %r0, 0x80000000
and %r0, 0xffff0000
jeq32 %r0, 0xfffffff0, +0
jsgt %r0, -100000, +0
stw [%r10-4], 0xdeadbeef
stdw [%r10-8], -65537
lddw %r0, -65536
lddw %r0, 65536
exit
