"""tests/peers/numpy2_pickles.py - numpy 2.x pickles for tests/bats/reprs.bats,
made without numpy 2 (not installable here) from numpy 1.x's.

    /usr/bin/python3 numpy2_pickles.py HEXFILE WANTFILE

Pickles each case of tests/peers/reprs_numpy.py (and a few containers of
scalars) under every protocol with the interpreter's numpy 1.x, then
renames the modules as numpy 2 writes them: numpy.core.multiarray and
numpy.core.numeric become numpy._core.multiarray and numpy._core.numeric
(in GLOBAL's text at protocols 0-3, in the strings STACK_GLOBAL takes at
4-5; frames are dropped, being optional).  Everything else numpy 2
pickles as numpy 1 does: ndarray.__reduce__'s _reconstruct/_frombuffer
and BUILD state, scalar(dtype, bytes), numpy.dtype(code, False, True).
As a check of the renaming, each pickle is loaded back with numpy._core
aliased to numpy.core and must give the original's repr().

WANTFILE gets numpy 2's repr() of each, from its documented rules: arrays
and dtypes as numpy 1.x (NEP 51 leaves them alone), scalars as NEP 51
writes them: np.float64(1.5), np.int32(-7), np.complex128(1+2j) (the
complex's parentheses dropped), np.True_ (numpy 2.0's
scalartypes.c.src: the type around numpy 1.x's text; np.str_('a'),
np.bytes_(b'a')).
"""
import os
import pickle
import pickletools
import sys

import numpy as np

RENAMED = {'numpy.core.multiarray': 'numpy._core.multiarray',
           'numpy.core.numeric': 'numpy._core.numeric'}


def short_unicode(text):
    data = text.encode()
    return b'\x8c' + bytes([len(data)]) + data


def renamed(data):
    """data with numpy 2's module names, its FRAME opcodes dropped."""
    ops = list(pickletools.genops(data))
    out = []
    for i, (op, arg, pos) in enumerate(ops):
        end = ops[i + 1][2] if i + 1 < len(ops) else len(data)
        piece = data[pos:end]
        if op.name == 'FRAME':
            continue
        if op.name == 'GLOBAL':
            module, name = arg.split(' ')
            if module in RENAMED:
                piece = b'c' + ('%s\n%s\n' % (RENAMED[module], name)).encode()
        elif op.name == 'SHORT_BINUNICODE' and arg in RENAMED:
            piece = short_unicode(RENAMED[arg])
        out.append(piece)
    return b''.join(out)


def numpy2_repr(obj):
    """repr(obj) as numpy 2 writes it (NEP 51), obj made by numpy 1."""
    if isinstance(obj, (list, tuple)):
        items = [numpy2_repr(x) for x in obj]
        if isinstance(obj, tuple):
            return '(%s%s)' % (', '.join(items), ',' if len(items) == 1 else '')
        return '[%s]' % ', '.join(items)
    if isinstance(obj, dict):
        return '{%s}' % ', '.join('%s: %s' % (numpy2_repr(k), numpy2_repr(v))
                                  for k, v in obj.items())
    if isinstance(obj, np.bool_):
        return 'np.True_' if obj else 'np.False_'
    if isinstance(obj, (np.integer, np.floating)):
        return 'np.%s(%r)' % (obj.dtype.name, obj)
    if (isinstance(obj, np.ndarray) and obj.dtype == object and
            any(isinstance(x, np.generic) for x in obj.flat)):
        # an object array's items by their repr(): numpy 2's scalars'
        assert obj.ndim == 1 and obj.size < 5
        return 'array([%s], dtype=object)' % ', '.join(
            numpy2_repr(x) for x in obj)
    if isinstance(obj, (np.str_, np.bytes_)):
        return 'np.%s(%r)' % (type(obj).__name__, obj)
    if isinstance(obj, np.complexfloating):
        text = repr(obj)
        if text.startswith('('):
            text = text[1:-1]
        return 'np.%s(%s)' % (obj.dtype.name, text)
    return repr(obj)


def load_cases():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        'reprs_numpy.py')
    ns = {'__name__': 'reprs_case'}
    with open(path) as f:
        exec(compile(f.read(), path, 'exec'), ns)
    for case in ns['arrays'](np):
        yield case
    for case in ns['scalars'](np):
        yield case
    for case in ns['dtypes'](np):
        yield case
    yield 'scalars in a list', [np.float64(0.5), np.int64(3), np.bool_(False)]
    yield 'scalars in a tuple', (np.uint8(255),)
    yield 'scalar keys', {np.int16(1): np.float32(2.5)}
    yield 'float64 nan scalar', np.float64('nan')
    yield 'complex nan scalar', np.complex128(complex(float('nan'), 1))


def alias_core():
    """numpy._core.* as numpy 1.x's numpy.core.* (for the check)."""
    import numpy.core.multiarray
    import numpy.core.numeric
    sys.modules['numpy._core'] = np.core
    sys.modules['numpy._core.multiarray'] = np.core.multiarray
    sys.modules['numpy._core.numeric'] = np.core.numeric


def main():
    alias_core()
    count = 0
    with open(sys.argv[1], 'w') as hexes, open(sys.argv[2], 'w') as want:
        for name, obj in load_cases():
            for proto in range(pickle.HIGHEST_PROTOCOL + 1):
                data = renamed(pickle.dumps(obj, proto))
                if b'numpy.core' in data:
                    sys.exit('%s, protocol %d: not renamed' % (name, proto))
                if repr(pickle.loads(data)) != repr(obj):
                    sys.exit('%s, protocol %d: does not load back' % (name, proto))
                hexes.write(data.hex() + '\n')
                want.write(numpy2_repr(obj) + '\n')
                count += 1
    sys.stderr.write('numpy2_pickles: %d pickles\n' % count)


main()
