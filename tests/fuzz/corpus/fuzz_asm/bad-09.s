mov %r0
exit