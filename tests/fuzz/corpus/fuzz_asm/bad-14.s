lock or [%r10-8]
exit