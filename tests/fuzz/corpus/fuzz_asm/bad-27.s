ja +40000
exit