#!/usr/bin/env python3
"""hostile.py - pickles for tests/bats/audit.bats, one per line.

    hostile.py hostile    NAME VERDICT HEX: hand-made pickles, one for each
                          known way past a pickle scanner, and the verdict
                          conn-pipe --out audit must give (never likely safe)
    hostile.py safe       NAME HEX: everyday standard-library values, pickled
                          by this interpreter under each of its protocols

The hostile ones are written opcode by opcode (pickletools' names, as
bytes) rather than with pickle.dumps(), which would never write them.
Standard library only; nothing here is ever loaded.
"""
import collections
import datetime
import decimal
import fractions
import pickle
import struct
import sys
import uuid


def s(text):
    """SHORT_BINUNICODE text."""
    b = text.encode('utf-8')
    return b'\x8c' + bytes([len(b)]) + b


def put(i):
    return b'q' + bytes([i])        # BINPUT


def get(i):
    return b'h' + bytes([i])        # BINGET


P4 = b'\x80\x04'
P2 = b'\x80\x02'
STOP = b'.'
REDUCE = b'R'
STACK_GLOBAL = b'\x93'
TUPLE1 = b'\x85'
EMPTY_DICT = b'}'
EMPTY_TUPLE = b')'
MARK = b'('
POP = b'0'
BUILD = b'b'
SETITEM = b's'
NEWOBJ = b'\x81'
NEWOBJ_EX = b'\x92'

MALICIOUS = 'overtly malicious'
UNSAFE = 'likely unsafe'
SUSPICIOUS = 'suspicious'

HOSTILE = [
    # The plain one, for reference: a scanner reading GLOBAL lines sees it.
    ('reduce-protocol-0', MALICIOUS, b"cos\nsystem\n(S'id'\ntR."),
    # STACK_GLOBAL from strings memoized long before and popped, then
    # fetched from the memo: no string opcode precedes STACK_GLOBAL.
    ('computed-name-from-memo', MALICIOUS,
     P4 + s('posix') + put(0) + POP + s('system') + put(1) + POP +
     s('decoy') + POP + get(0) + get(1) + STACK_GLOBAL +
     s('id') + TUPLE1 + REDUCE + STOP),
    # Memo desync: index 0 first holds a harmless module name, then is
    # overwritten with another; a scanner that keeps the first is fooled.
    ('memo-overwrite', MALICIOUS,
     P4 + s('builtins') + put(0) + POP + s('os') + put(0) + POP +
     get(0) + s('system') + STACK_GLOBAL + s('id') + TUPLE1 + REDUCE +
     STOP),
    # The call runs, then a GET of an index never PUT makes the pickle
    # invalid: CPython has run os.system by then.
    ('memo-get-undefined-after-call', MALICIOUS,
     P4 + s('os') + s('system') + STACK_GLOBAL + s('id') + TUPLE1 +
     REDUCE + POP + get(7) + STOP),
    ('memo-get-undefined', SUSPICIOUS, P4 + get(3) + STOP),
    # A REDUCE nested in BUILD's state, under a safe-looking object.
    ('nested-reduce-in-build', MALICIOUS,
     P4 + s('builtins') + s('object') + STACK_GLOBAL + EMPTY_TUPLE +
     NEWOBJ + EMPTY_DICT + s('x') + s('posix') + s('system') +
     STACK_GLOBAL + s('id') + TUPLE1 + REDUCE + SETITEM + BUILD + STOP),
    # BUILD that makes os.system the object's __setstate__, then a second
    # BUILD that calls it (CPython finds __setstate__ on the instance).
    ('build-setstate-hijack', MALICIOUS,
     P4 + s('builtins') + s('object') + STACK_GLOBAL + EMPTY_TUPLE +
     NEWOBJ + EMPTY_DICT + s('__setstate__') + s('os') + s('system') +
     STACK_GLOBAL + SETITEM + BUILD + s('id') + BUILD + STOP),
    # INST and OBJ: the calls of protocols 0 and 1 Python 3 never writes.
    ('inst', MALICIOUS, b"(S'id'\nios\nsystem\n."),
    ('obj', MALICIOUS, b"(cos\nsystem\nS'id'\no."),
    ('inst-unknown-class', UNSAFE, b"(S'x'\ni__main__\nEvil\n."),
    # An EXT code: the global comes from copyreg's registry, unnamed here.
    ('ext1-called', UNSAFE, P2 + b'\x82\x01' + s('id') + TUPLE1 + REDUCE +
     STOP),
    ('ext2', UNSAFE, P2 + b'\x83\x01\x01' + STOP),
    ('ext4', UNSAFE, P2 + b'\x84\x01\x00\x00\x01' + STOP),
    # Protocol 0 text forms: GLOBAL in a protocol 4 pickle, a text STRING
    # in a protocol 2 one, each of a harmless thing.
    ('text-global-in-protocol-4', SUSPICIOUS,
     P4 + b'cbuiltins\nset\n' + EMPTY_TUPLE + REDUCE + STOP),
    ('text-string-in-protocol-2', SUSPICIOUS, P2 + b"S'x'\n" + STOP),
    ('text-global-protocol-0', MALICIOUS,
     b"csubprocess\ncheck_output\n((S'id'\nltR."),
    # NEWOBJ_EX with keyword arguments.
    ('newobj-ex', MALICIOUS,
     P4 + s('subprocess') + s('Popen') + STACK_GLOBAL + s('id') + TUPLE1 +
     EMPTY_DICT + s('shell') + b'\x88' + SETITEM + NEWOBJ_EX + STOP),
    # A dangerous global passed to a safe call, which may call it.
    ('passed-to-safe-call', MALICIOUS,
     P4 + s('collections') + s('defaultdict') + STACK_GLOBAL +
     s('os') + s('system') + STACK_GLOBAL + TUPLE1 + REDUCE + STOP),
    # A dunder walk from a harmless module (protocol 4 dotted names).
    ('dotted-dunder', MALICIOUS,
     P4 + s('datetime') + s('datetime.__reduce__.__globals__') +
     STACK_GLOBAL + STOP),
    # getattr(builtins-ish, '__import__'): eval's cousins.
    ('getattr-import', MALICIOUS,
     P4 + s('builtins') + s('getattr') + STACK_GLOBAL + s('builtins') +
     s('dict') + STACK_GLOBAL + s('__class__') + b'\x86' + REDUCE + STOP),
    # The result of a call called: the callable is computed.
    # (builtins.str() is folded to the value it makes, '': calling that
    # raises in CPython, and nothing else is called)
    ('call-of-call', SUSPICIOUS,
     P4 + s('builtins') + s('str') + STACK_GLOBAL + EMPTY_TUPLE + REDUCE +
     EMPTY_TUPLE + REDUCE + STOP),
    # A STACK_GLOBAL whose name is a call's result: CPython would import
    # whatever str() made.
    # (the name, str('system') folded, is known: posix.system itself)
    ('computed-name-from-call', MALICIOUS,
     P4 + s('posix') + s('builtins') + s('str') + STACK_GLOBAL +
     s('system') + TUPLE1 + REDUCE + STACK_GLOBAL + STOP),
    ('persistent-id-text', UNSAFE, b'Pfoo\n.'),
    ('persistent-id-binary', UNSAFE, P2 + s('foo') + b'Q' + STOP),
    # A global imported and never called.
    ('unused-unknown-global', SUSPICIOUS,
     P4 + s('__main__') + s('Thing') + STACK_GLOBAL + STOP),
    ('unknown-class-called', UNSAFE,
     P4 + s('__main__') + s('Thing') + STACK_GLOBAL + EMPTY_TUPLE + NEWOBJ +
     STOP),
    # A second pickle after STOP, which CPython ignores.
    ('bytes-after-stop', SUSPICIOUS, b'N.' + b"cos\nsystem\n(S'id'\ntR."),
    ('second-proto', SUSPICIOUS, P2 + b'N' + P4 + STOP),
]


def hostile():
    for name, verdict, data in HOSTILE:
        print(name, verdict.replace(' ', '_'), data.hex())


def values():
    tz = datetime.timezone(datetime.timedelta(hours=-5), 'EST')
    return [
        ('dict', {'a': 1, 'b': [True, None, 2.5], (1, 2): b'x'}),
        ('list', [1, 'two', [3.0], {4}, frozenset([5]), bytearray(b'6')]),
        ('complex', 1 + 2j),
        ('datetime', datetime.datetime(2024, 2, 29, 13, 45, 30, 123456)),
        ('datetime-tz', datetime.datetime(2024, 1, 1, tzinfo=tz)),
        ('date', datetime.date(2024, 2, 29)),
        ('time', datetime.time(13, 45, 30)),
        ('timedelta', datetime.timedelta(days=1, seconds=5, microseconds=7)),
        ('utc', datetime.timezone.utc),
        ('decimal', decimal.Decimal('3.14')),
        ('fraction', fractions.Fraction(1, 3)),
        ('uuid', uuid.UUID('12345678-1234-5678-1234-567812345678')),
        ('ordered-dict', collections.OrderedDict([('a', 1), ('b', 2)])),
        ('defaultdict', collections.defaultdict(list, {'x': [1]})),
        ('deque', collections.deque([1, 2], maxlen=5)),
        ('counter', collections.Counter('abca')),
        ('error', ('#ERROR', KeyError('missing'))),
        ('oserror', FileNotFoundError(2, 'No such file')),
        ('range', range(0, 3)),
        ('set', {1, 2, 3}),
        ('bytes', b'\x00\xff'),
    ]


def safe():
    for name, value in values():
        for proto in range(pickle.HIGHEST_PROTOCOL + 1):
            print('%s-%d' % (name, proto), pickle.dumps(value, proto).hex())


if __name__ == '__main__':
    {'hostile': hostile, 'safe': safe}[sys.argv[1]]()
