mov %r0, 12ab
exit