# a comment

   # indented comment
mov %r0, 1   # trailing
	EXIT	# upper case
