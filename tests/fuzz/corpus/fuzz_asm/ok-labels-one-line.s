a: b: mov %r0, 1
jeq %r0, 1, a
jeq %r0, 2, b
exit
