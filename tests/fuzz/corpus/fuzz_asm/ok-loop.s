mov %r0, 0
loop:
add %r0, 1
lddw %r1, 0x100000000
jlt %r0, 10, loop
jeq %r0, 10, exit
mov %r0, -1
exit
