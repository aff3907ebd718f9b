mov r1, 2
exit