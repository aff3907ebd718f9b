call 5
call 0x7fffffff
call -1
call kfunc 10
call local +0
exit
