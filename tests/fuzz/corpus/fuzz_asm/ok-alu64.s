mov %r1, 2
add %r1, 3
add64 %r1, %r1
sub %r1, 1
mul %r1, %r1
div %r1, 2
sdiv %r1, -2
mod %r1, 7
smod %r1, %r2
or %r1, 0x10
and %r1, %r2
lsh %r1, 3
rsh %r1, %r2
arsh %r1, 1
xor %r1, -1
neg %r1
neg64 %r1
movsx864 %r2, %r1
movsx1664 %r2, %r1
movsx3264 %r2, %r1
mov %r0, %r1
exit
