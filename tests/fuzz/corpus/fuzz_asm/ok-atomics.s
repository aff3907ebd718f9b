lock add [%r10-8], %r1
lock fetch add32 [%r10-4], %r1
lock or [%r1+0], %r2
lock fetch and [%r1], %r2
lock xor32 [%r1], %r2
lock fetch xor [%r1], %r2
lock xchg [%r10-8], %r1
lock xchg32 [%r10-8], %r1
lock cmpxchg [%r10-8], %r1
lock cmpxchg32 [%r10-4], %r2
call kfunc 123, -1
exit
