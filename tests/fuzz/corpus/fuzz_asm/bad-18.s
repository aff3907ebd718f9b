stb [%r1+2], %r3
exit