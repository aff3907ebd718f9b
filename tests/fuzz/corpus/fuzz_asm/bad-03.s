fail:
ja fial
exit