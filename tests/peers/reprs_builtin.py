"""Values pickle carries by value (the seed of tests/bats/reprs.bats)."""


def cases():
    yield 'None', None
    yield 'int', -(1 << 70)
    yield 'float', 0.1
    yield 'str', u'h\xe9llo'
    yield 'bytes', b'\x00ab'
    yield 'tuple', (1, (2,), ())
    yield 'list', [1, [2, [3]]]
    yield 'dict', {'a': 1, 2: [3]}
    yield 'complex', complex(1, -2)
    yield 'shared', [[1], [1]]
