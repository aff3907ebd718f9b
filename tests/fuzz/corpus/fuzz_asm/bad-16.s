lock fetch xchg [%r1], %r2
exit