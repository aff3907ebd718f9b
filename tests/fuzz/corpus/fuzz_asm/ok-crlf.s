mov %r0, 1
ja exit
exit
