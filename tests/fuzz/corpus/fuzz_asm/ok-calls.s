mov %r1, 1
call local f
lddw %r2, code_addr f
ja32 end
back: exit
f:
mov %r0, %r1
exit
end:
ja32 back
