jeq %r1, 0x2a, +0
jne %r6, %r7, +0
jgt %r1, 1, +0
jge %r1, %r2, +0
jset %r1, 4, +0
jsgt %r1, -1, +0
jsge %r1, %r2, +0
jlt %r1, 1, +0
jle %r1, %r2, +0
jslt %r1, 1, +0
jsle %r1, %r2, +0
ja +0
ja32 +0
exit
