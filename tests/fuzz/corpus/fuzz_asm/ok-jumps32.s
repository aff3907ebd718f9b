jeq32 %r1, 1, L
jne32 %r1, %r2, L
jgt32 %r1, 1, L
jge32 %r1, %r2, L
jset32 %r1, 4, L
jsgt32 %r1, -1, L
jsge32 %r1, %r2, L
jlt32 %r1, 0xffffffff, L
jle32 %r1, %r2, L
jslt32 %r1, 1, L
jsle32 %r1, %r2, L
L: exit
