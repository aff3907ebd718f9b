mov %r0, 3
sub %r0, 1
jne %r0, 0, -2
ja +1
mov %r0, 9
exit
