lddw %r0, 0x123456789abcdef0
lddw %r1, -1
lddw %r0, 2147483648
lddw %r0, 0xFFFFFFFFFFFFFFFF
lddw %r0, -9223372036854775808
lddw %r1, map_fd 3
lddw %r1, code_addr -2
exit
