"""numpy values conn-tools knows (src/core/pickle-numpy.c): ndarray of
bool, int, float, complex, object, str and bytes (numpy's repr(), several lines from
2-D on, summarized past 1,000 elements), numpy scalars and dtypes.  Yields nothing where
numpy does not import (the pyenv interpreters).  Under numpy 2 its
pickles name numpy._core and conn-tools prints numpy 2's scalar repr()
(np.float64(1.5)); tests/peers/numpy2_pickles.py makes such pickles
from these cases where numpy 2 is not installed.  See
tests/peers/reprs.py for the contract; tests/bats/reprs.bats runs it
under Debian's /usr/bin/python3 alone, its reprs being multi-line."""


def arrays(np):
    yield 'int64', np.array([1, 2, 3])
    yield 'int64 empty', np.array([], dtype='i8')
    yield 'float64', np.array([1.5, 2.0])
    yield 'float64 2-D', np.array([[1.5, 2.0], [3.25, -4.0]])
    yield 'int 2-D', np.array([[1, 2], [3, 4]])
    yield 'int 3-D', np.arange(24).reshape(2, 3, 4)
    yield 'bool', np.array([True, False, True])
    yield 'bool all true', np.array([True, True])
    yield 'bool 0-d', np.array(True)
    yield 'float 0-d', np.array(2.0)
    for code in ('i1', 'i2', 'i4', 'u1', 'u2', 'u4', 'u8', 'f4'):
        yield code, np.arange(5, dtype=code) * 3
    yield 'int8 bounds', np.array([-128, 127], dtype='i1')
    yield 'int64 bounds', np.array([2 ** 63 - 1, -2 ** 63])
    yield 'uint64 max', np.array([2 ** 64 - 1, 0], dtype='u8')
    yield 'big-endian', np.array([1, 2], dtype='>i4')
    yield 'big-endian float', np.array([0.5, 1e300], dtype='>f8')
    yield 'float32 tenth', np.array([0.1, 0.25], dtype='f4')
    yield 'float16', np.array([0.1, 1.5, 65504.0, 6e-5], dtype='f2')
    # the shortest "4110" stops before the units: numpy shows 4112.
    yield 'float16 integers', np.array([4112.0, 4108.0, 0.015625], dtype='f2')
    yield 'float16 every 613th', np.arange(0, 65536, 613, dtype='u2').view('f2')
    yield 'wrapped', np.arange(100)
    yield 'wrapped floats', np.arange(30.0) / 7
    yield 'scientific', np.array([1e10, 1e-5])
    yield 'scientific 3 digits', np.array([1.5e100, 1.0])
    yield 'scientific float32', (np.arange(12, dtype='f4') - 5.5) * 1e-9
    yield 'non-finite', np.array([np.nan, np.inf, -np.inf, 1.0])
    yield 'only nan', np.array([np.nan])
    yield 'negative zero', np.array([-0.0, 1.0])
    yield 'precision 8', np.array([1.123456789, 2.0])
    yield 'float32 2-D', np.array([[1.5, np.nan], [3.0, 4.0]], dtype='f4')
    yield 'fortran', np.asfortranarray(np.arange(6.0).reshape(2, 3))
    yield 'transposed', np.arange(6).reshape(2, 3).T
    yield 'dtype wraps', np.arange(17, dtype='i2') * 1000
    yield 'empty 2-D', np.zeros((0, 3))
    yield 'thousand', np.arange(1000, dtype='u2')
    yield 'summarized', np.arange(1001)
    yield 'summarized floats', np.arange(2000.0) / 3
    yield 'summarized 2-D', np.arange(1200).reshape(2, 600)
    yield 'summarized 4-D', np.arange(7 ** 4).reshape(7, 7, 7, 7)
    yield 'summarized Fortran', np.asfortranarray(
        np.arange(3000.0).reshape(30, 100))
    yield '5-D', np.arange(2 * 3 * 2 * 2 * 3).reshape(2, 3, 2, 2, 3) * 1.5
    yield 'empty 4-D', np.zeros((0, 2, 3, 4), dtype='f4')
    yield 'complex128', np.array([1 + 2j, 3 - 1j, -0.5j])
    yield 'complex64', np.array([1.5 + 0j, -2.25j, 0.1 + 0.2j], dtype='c8')
    yield 'complex non-finite', np.array([complex(np.nan, 1),
                                          complex(1, np.inf), -np.inf])
    yield 'complex scientific', np.array([1e10 + 1j, 1e-5 - 2j])
    yield 'complex 2-D', np.arange(12).reshape(3, 4) * (1 + 1j) / 3
    # object arrays: each item's repr(), unpadded, lists as list([...])
    yield 'object ints and strs', np.array([1, 'a'], dtype=object)
    yield 'object None and floats', np.array([1, 100, None, 2.5], dtype=object)
    yield 'object 2-D', np.array([[1, 'a'], [2.5, None]], dtype=object)
    yield 'object empty', np.array([], dtype=object)
    yield 'object empty 2-D', np.zeros((0, 3), dtype=object)
    yield 'object 0-d', np.array(5, dtype=object)
    yield 'object wrapped', np.array(['x' * 30, 'y' * 30, 'z' * 30], dtype=object)
    yield 'object wrapped ints', np.array(list(range(30)), dtype=object)
    mixed = np.empty(3, dtype=object)
    mixed[:] = [[1, 2], (3,), {'k': b'v'}]
    yield 'object lists, tuples, dicts', mixed
    yield 'object summarized', np.array(list(range(1001)), dtype=object)
    yield 'object Fortran', np.asfortranarray(
        np.array([[1, 'a'], [2, 'b']], dtype=object))
    yield 'object numpy scalars', np.array([np.float64(1.5), np.int64(3)],
                                           dtype=object)
    # str and bytes: each item's repr() (trailing NULs dropped), unpadded
    yield 'str', np.array(['a', 'bcd'])
    yield 'str escapes', np.array(['x\x00y', '\u00e9\U0001F600', 'q\'"', 'a\nb'])
    # (not '>U2': protocols 0-4 load it byte-swapped, dtype='<U2', and
    # conn-tools prints what loads; test-pickle-known has it)
    yield 'str empty', np.array([], dtype='U1')
    yield 'str 2-D Fortran', np.asfortranarray(np.array([['a', 'bb'], ['ccc', '']]))
    yield 'str 0-d', np.array('abc')
    yield 'str wrapped', np.array(['x' * 80, 'y'])
    yield 'str summarized', np.array(['ab'] * 1001)
    yield 'bytes', np.array([b'a', b'bcd', b'\xff\x00'])
    itself = np.empty(2, dtype=object)
    itself[0], itself[1] = itself, 1
    yield 'object array holding itself', itself


def scalars(np):
    yield 'float64 scalar', np.float64(1.5)
    yield 'float32 scalar', np.float32(0.1)
    yield 'float32 big', np.float32(1e20)
    yield 'float32 integral', np.float32(2.0)
    yield 'float16 scalar', np.float16(4112.0)
    yield 'int32 scalar', np.int32(-7)
    yield 'uint64 scalar', np.uint64(2 ** 64 - 1)
    yield 'bool scalar', np.bool_(True)
    yield 'complex scalar', np.complex128(1 + 2j)
    yield 'complex scalar, no real part', np.complex64(2j)
    yield 'complex scalar, -0 real part', np.complex128(complex(-0.0, 1))
    yield 'str scalar', np.str_('a\x00b\u00e9')
    yield 'str scalar, empty', np.str_('')
    yield 'bytes scalar', np.bytes_(b'a\x00')


def dtypes(np):
    yield 'dtype float64', np.dtype('f8')
    yield 'dtype big-endian', np.dtype('>i2')
    yield 'dtype bool', np.dtype('?')
    yield 'dtype uint8', np.dtype('u1')
    yield 'dtype object', np.dtype(object)
    yield 'dtype str', np.dtype('<U3')
    yield 'dtype str big-endian', np.dtype('>U3')
    yield 'dtype bytes', np.dtype('S2')


def cases():
    try:
        import numpy as np
    except ImportError:
        return
    for case in arrays(np):
        yield case
    for case in scalars(np):
        yield case
    for case in dtypes(np):
        yield case
