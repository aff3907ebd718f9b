mov %r10, 1
exit