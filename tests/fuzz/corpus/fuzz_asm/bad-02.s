mov %r0, 1
ja L3
exit