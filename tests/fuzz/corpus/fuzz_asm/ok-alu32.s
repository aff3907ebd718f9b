mov32 %r1, 2
add32 %r1, 3
sub32 %r1, %r1
mul32 %r1, 5
div32 %r1, %r2
sdiv32 %r1, 3
mod32 %r1, 3
smod32 %r1, %r2
or32 %r1, 1
and32 %r1, 0xff
lsh32 %r1, 1
rsh32 %r1, 1
arsh32 %r1, %r2
xor32 %r1, %r1
neg32 %r1
movsx832 %r2, %r1
movsx1632 %r2, %r1
mov32 %r0, %r1
exit
