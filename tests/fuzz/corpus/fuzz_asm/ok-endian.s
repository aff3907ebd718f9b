le16 %r0
le32 %r0
le64 %r0
be16 %r0
be32 %r0
be64 %r0
bswap16 %r0
bswap32 %r0
bswap64 %r0
swap16 %r0
swap32 %r0
swap64 %r0
exit
