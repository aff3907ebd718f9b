stdw [%r10-8], -1
ldxdw %r0, [%r10-8]
lddw %r1, map_fd -1 + 0xffffffff
lddw %r1, map_value 3 + 4096
lddw %r1, var_addr 5 + 6
lddw %r1, map_idx 0 + 1
lddw %r1, map_idx_value 7 + 0x80000000
exit
