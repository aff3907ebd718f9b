mov %r0, 1, 2
exit