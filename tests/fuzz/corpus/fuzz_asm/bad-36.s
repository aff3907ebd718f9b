.foo 1
exit