"""collections' classes as their repr() (tests/bats/reprs.bats): pickled
by __reduce__ as calls, defaultdict and deque then filled by SETITEMS and
APPENDS.  OrderedDict's repr() is the receiver's: reprs.bats passes
--python-repr."""
import collections
import sys


def cases():
    od = collections.OrderedDict
    yield 'OrderedDict', od([('b', 1), ('a', [2])])
    yield 'empty OrderedDict', od()
    yield 'nested OrderedDict', od([('x', od([(1, 2)])), ('y', None)])
    yield 'defaultdict(list)', collections.defaultdict(list, {'x': [1]})
    yield 'defaultdict(int)', collections.defaultdict(int, {1: 2})
    yield 'defaultdict(None)', collections.defaultdict(None, {'a': 1})
    yield 'empty defaultdict', collections.defaultdict(set)
    yield 'deque', collections.deque([1, 'two', (3,)])
    yield 'empty deque', collections.deque()
    yield 'deque with maxlen', collections.deque([1, 2], maxlen=3)
    yield 'full deque', collections.deque(range(10), maxlen=3)
    yield 'deque of maxlen 0', collections.deque(maxlen=0)
    yield 'Counter', collections.Counter('abracadabra')
    yield 'Counter of ties', collections.Counter({'x': 1, 'y': 2, 'z': 1})
    yield 'Counter of zeros', collections.Counter({'a': 0, 'b': -1, 'c': 3})
    yield 'Counter of floats', collections.Counter({'a': 0.5, 'b': 2})
    yield 'empty Counter', collections.Counter()
    yield 'together', [collections.Counter('aab'),
                       collections.deque([collections.defaultdict(list)])]
    if sys.version_info[0] > 2:     # Python 2 cannot pickle these cycles
        d = collections.defaultdict(list)
        d['self'] = d
        yield 'recursive defaultdict', d
        q = collections.deque()
        q.append(q)
        yield 'recursive deque', q
