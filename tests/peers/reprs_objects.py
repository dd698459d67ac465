"""Exceptions, builtins called on their own values, manager objects and
plain objects (tests/bats/reprs.bats).  A manager's error reply is
('#ERROR', exception), its dict views come as builtins.list(items) (what
multiprocessing.managers registers for them), its proxies as
('#PROXY', (exposed, Token)).  Plain objects and namedtuples have a
readable form, module.Class(arg, ..., field=value), not their repr()."""
import sys
from multiprocessing.managers import Namespace, Token
import multiprocessing


class Reduced(object):
    """Pickles as func(*args): how a manager's dict view arrives."""

    def __init__(self, func, *args):
        self.reduced = (func, args)

    def __reduce__(self):
        return self.reduced


def cases():
    yield 'ValueError', ValueError('x')
    yield 'KeyError', KeyError('missing')
    yield 'no args', RuntimeError()
    yield 'two args', Exception('a', 2)
    yield 'an error reply', ('#ERROR', KeyError('missing'))
    yield 'StopIteration', StopIteration(5)
    yield 'SystemExit', SystemExit(1)
    yield 'UnicodeDecodeError', UnicodeDecodeError(
        'utf-8', b'\xff', 0, 1, 'invalid start byte')
    e = ValueError('with state')
    e.detail = [1]
    yield 'an exception with state', e
    yield 'OSError(errno, strerror)', OSError(2, 'No such file or directory')
    yield 'IOError with a file', IOError(13, 'Permission denied', '/root')
    yield 'OSError of another errno', OSError(99, 'Cannot assign', 'x')
    yield 'OSError(text)', OSError('plain')
    yield 'AuthenticationError', multiprocessing.AuthenticationError('no')
    yield 'SyntaxError', SyntaxError('bad', ('f.py', 1, 2, 'x y', ))
    yield 'KeyboardInterrupt', KeyboardInterrupt()
    yield 'nested', [('#ERROR', IndexError('list index out of range')),
                     {'e': ZeroDivisionError('division by zero')}]
    yield 'OSError of five', OSError(2, 'No such file', 'a', None, 'b')
    if sys.version_info[0] > 2:
        yield 'BlockingIOError written', BlockingIOError(11, 'again', 5)
        yield 'OSError(errno, text, None)', OSError(2, 'x', None)
    if sys.version_info >= (3, 11):
        n = ValueError('noted')
        n.add_note('a note')
        yield 'an exception with notes', n
        yield 'ExceptionGroup', ExceptionGroup('two', [ValueError(1),
                                                       TypeError('t')])
    if sys.version_info[0] > 2:
        yield 'FileNotFoundError', FileNotFoundError(
            2, 'No such file or directory', 'f')
        yield 'ConnectionRefusedError', ConnectionRefusedError(
            111, 'Connection refused')
        yield 'BrokenPipeError', BrokenPipeError(32, 'Broken pipe')
        yield 'TimeoutError', TimeoutError(110, 'Connection timed out')
        yield 'ImportError', ImportError('no x')
        import queue
        yield 'queue.Empty', queue.Empty()
        yield 'queue.Full', queue.Full()
    token = Token('dict', ('127.0.0.1', 50000), '7f3a')
    yield 'Token', token
    yield 'Token of a path', Token('Queue', '/tmp/pymp-x/listener', 'ab')
    yield 'a proxy reply', ('#PROXY', (('get', 'keys'), token))
    yield 'Namespace', Namespace(a=1)
    yield 'Namespace of hidden', Namespace(_hidden=1)
    yield 'empty Namespace', Namespace()
    yield 'a dict view', Reduced(list, ['a', 'b']), "['a', 'b']"
    yield 'tuple()', Reduced(tuple, [1, 2]), '(1, 2)'
    yield 'dict()', Reduced(dict, {'k': 1}), "{'k': 1}"
    yield 'str()', Reduced(str, ''), "''"
    yield 'int()', Reduced(int, 5), '5'
    yield 'float()', Reduced(float, 2), '2.0'
    yield 'bool()', Reduced(bool, []), 'False'
    yield 'range', range(0, 3) if sys.version_info[0] > 2 else xrange(3)
    try:
        from urllib.parse import SplitResult
    except ImportError:
        from urlparse import SplitResult
    yield ('a namedtuple', SplitResult('http', 'h', '/', '', ''),
           "urllib.parse.SplitResult('http', 'h', '/', '', '')")
    import argparse
    yield 'a plain object', argparse.Namespace(a=1), 'argparse.Namespace(a=1)'
