call foo
foo: exit