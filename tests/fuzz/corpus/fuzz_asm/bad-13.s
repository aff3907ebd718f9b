jne %r1, 5
exit