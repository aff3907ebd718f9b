lddw %r1, map_fd foo
exit