lddw %r1, mapfd 3
exit