ja exit
exit
exit:
exit
