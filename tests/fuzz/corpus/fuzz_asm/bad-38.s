@ mov
exit