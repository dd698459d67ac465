"""Standard library values conn-tools knows (src/core/pickle-known.c):
datetime, zoneinfo, Decimal, Fraction, UUID, pathlib, ipaddress,
re.compile, array.array and enum members (a readable form).  See
tests/peers/reprs.py for the contract; what an interpreter lacks is
skipped.  Python 2.7 runs this file too: no syntax newer than 2.7."""
import array
import datetime
import decimal
import fractions
import re
import sys
import uuid

PY = sys.version_info[:2]
class AtProtocol4(object):
    """obj pickled as protocol 4 does under every protocol: datetime and
    time keep fold=1 only there."""

    def __init__(self, obj):
        self.obj = obj

    def __reduce_ex__(self, proto):
        return self.obj.__reduce_ex__(4)

    def __repr__(self):
        return repr(self.obj)


def datetimes():
    td = datetime.timedelta
    yield 'date', datetime.date(2024, 2, 29)
    yield 'date min', datetime.date.min
    yield 'date max', datetime.date.max
    yield 'time 0', datetime.time(0, 0)
    yield 'time h m', datetime.time(13, 45)
    yield 'time h m s', datetime.time(13, 45, 30)
    yield 'time us', datetime.time(13, 45, 0, 1)
    yield 'time max', datetime.time.max
    yield 'datetime', datetime.datetime(2024, 2, 29, 13, 45, 30, 123456)
    yield 'datetime midnight', datetime.datetime(2024, 1, 1)
    yield 'datetime seconds', datetime.datetime(2024, 1, 1, 0, 0, 5)
    yield 'datetime min', datetime.datetime.min
    yield 'datetime max', datetime.datetime.max
    yield 'timedelta 0', td(0)
    yield 'timedelta days', td(1)
    yield 'timedelta seconds', td(0, 1)
    yield 'timedelta us', td(0, 0, 1)
    yield 'timedelta all', td(1, 5, 7)
    yield 'timedelta negative', td(-1)
    yield 'timedelta -1us', td(microseconds=-1)
    yield 'timedelta max', td.max
    yield 'timedelta min', td.min
    if PY < (3, 2):
        return
    tz = datetime.timezone
    yield 'timezone utc', tz.utc
    yield 'timezone +1', tz(td(hours=1))
    yield 'timezone -5 named', tz(td(hours=-5), 'EST')
    yield 'timezone 0 named', tz(td(0), 'UTC')
    yield 'timezone max', tz.max
    yield 'timezone min', tz.min
    yield 'timezone quote', tz(td(hours=2), "it's")
    yield 'timezone quotes', tz(td(hours=2), 'a"b\'c')
    yield 'timezone unicode', tz(td(hours=1), u'Z\xfcrich \u6771\u4eac')
    yield 'time utc', datetime.time(1, 2, 3, 4, tzinfo=tz.utc)
    yield 'time +5:30', datetime.time(12, 0, tzinfo=tz(td(hours=5, minutes=30)))
    yield 'datetime utc', datetime.datetime(2024, 2, 29, 13, 45, tzinfo=tz.utc)
    yield 'datetime named', datetime.datetime(
        1999, 12, 31, 23, 59, 59, 999999, tz(td(hours=-8), 'PST'))
    if PY >= (3, 6):
        yield 'datetime fold', AtProtocol4(
            datetime.datetime(2024, 11, 3, 1, 30, fold=1))
        yield 'time fold', AtProtocol4(
            datetime.time(1, 30, tzinfo=tz.utc, fold=1))
    if PY >= (3, 7):
        yield 'timezone seconds', tz(td(hours=-1, seconds=-1))
        yield 'timezone us', tz(td(seconds=1, microseconds=5))
    try:
        import zoneinfo
        paris = zoneinfo.ZoneInfo('Europe/Paris')
    except Exception:
        return
    yield 'zoneinfo', paris
    yield 'zoneinfo utc', zoneinfo.ZoneInfo('UTC')
    yield 'zoneinfo no_cache', zoneinfo.ZoneInfo.no_cache('America/New_York')
    yield 'datetime zoneinfo', datetime.datetime(2024, 7, 1, 12, tzinfo=paris)


def numbers():
    D = decimal.Decimal
    for text in ('3.14', '0', '-0', '1.000', 'NaN', '-NaN', 'sNaN', 'NaN123',
                 'Infinity', '-Infinity', '1E+10', '1e-9', '0.000001',
                 '0.0000001', '123.456e5', '-0E+3', '0E-7', '1e999999',
                 '12345678901234567890123456789.123456789'):
        yield 'Decimal ' + text, D(text)
    yield 'Decimal of int', D(10 ** 30)
    F = fractions.Fraction
    yield 'Fraction', F(1, 3)
    yield 'Fraction negative', F(-1, 3)
    yield 'Fraction 0', F(0)
    yield 'Fraction int', F(5)
    yield 'Fraction big', F(10 ** 30 + 1, 3 ** 40)
    yield 'Fraction big negative', F(-(2 ** 100), 3)


def identifiers():
    yield 'UUID 0', uuid.UUID(int=0)
    yield 'UUID max', uuid.UUID(int=(1 << 128) - 1)
    yield 'UUID', uuid.UUID('12345678-1234-5678-1234-567812345678')
    yield 'UUID v4', uuid.UUID('94f2c86c-10d2-4427-9277-2d4c9113448b')
    if PY >= (3, 7):
        yield 'UUID is_safe', uuid.UUID(int=5, is_safe=uuid.SafeUUID.safe)
    try:
        import ipaddress
    except ImportError:
        return
    for text in ('0.0.0.0', '255.255.255.255', '192.168.1.1', '::', '::1',
                 '2001:db8::1', '2001:db8:0:0:1:0:0:1', '1:0:0:2::3',
                 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '::ffff:1.2.3.4',
                 '1::', '0:0:1::'):
        yield 'ip_address ' + text, ipaddress.ip_address(u'' + text)
    if PY >= (3, 9):    # up to 3.10 an address pickles as an int, no scope
        yield ('ip_address scope', ipaddress.ip_address(u'fe80::1%eth0'),
               None if PY >= (3, 11) else "IPv6Address('fe80::1')")
    for text in ('10.0.0.0/8', '0.0.0.0/0', '::/0', '2001:db8::/32',
                 '192.168.1.1/32'):
        yield 'ip_network ' + text, ipaddress.ip_network(u'' + text)
    for text in ('1.2.3.4/24', '::1/128', '2001:db8::5/64'):
        yield 'ip_interface ' + text, ipaddress.ip_interface(u'' + text)


def paths():
    try:
        import pathlib
    except ImportError:
        return
    P, W = pathlib.PurePosixPath, pathlib.PureWindowsPath
    for text in ('/a/b', 'a/b/', '.', '', '/', '//x', '///x', '/a/./b',
                 "it's", 'a"b\'c', u'h\xe9llo/\u6771'):
        yield 'PurePosixPath ' + text, P(text)
    yield 'PurePosixPath joined', P('a', '/b', 'c')
    yield 'PosixPath', pathlib.PosixPath('/tmp')
    yield 'Path', pathlib.Path('rel/x')
    for text in ('c:/x', 'C:\\Users\\a', 'a\\b', 'c:', 'c:x', '\\x', 'c:\\',
                 '//server/share', '\\\\server\\share\\x\\', '//s/sh/a/./b'):
        yield 'PureWindowsPath ' + text, W(text)
    yield 'PureWindowsPath joined', W('c:/a', 'C:b', '/d', '//s/sh', 'e')


def patterns():
    yield 're', re.compile('a+')
    yield 're flags', re.compile('a+', re.I)
    yield 're many flags', re.compile('a', re.I | re.M | re.S | re.X)
    yield 're quote', re.compile("it's")
    yield 're unicode', re.compile(u'h\xe9')
    yield 're bytes', re.compile(b'x')
    yield 're bytes flags', re.compile(b'x', re.I)
    yield 're long', re.compile('a' * 300)
    yield 're long quote', re.compile("'" * 250)
    if PY >= (3, 0):
        yield 're ASCII', re.compile('a', re.A)
        yield 're bytes LOCALE', re.compile(b'a', re.L)


def arrays():
    A = array.array
    yield 'array b', A('b', [-128, 0, 127])
    yield 'array B', A('B', [0, 255])
    yield 'array h', A('h', [-32768, 32767])
    yield 'array H', A('H', [65535])
    yield 'array i', A('i', [1, 2])
    yield 'array I', A('I', [0, 4294967295])
    yield 'array l', A('l', [-(1 << 63)])
    yield 'array L', A('L', [(1 << 64) - 1])
    yield 'array f', A('f', [0.1, 1.5, float('inf')])
    yield 'array d', A('d', [1e300, -0.0, 0.1])
    yield 'array empty', A('i')
    if PY >= (3, 3):
        yield 'array q', A('q', [-(1 << 63), (1 << 63) - 1])
        yield 'array Q', A('Q', [(1 << 64) - 1])
    if PY < (3, 13):    # 'u' warns from 3.13 on
        yield 'array u', A('u', u'h\xe9llo \U0001f600')
        yield 'array u empty', A('u')
    if PY >= (3, 13):
        yield 'array w', A('w', u'h\xe9llo \U0001f600')


def enums():
    """A member pickles as Class(value): conn-tools prints that call,
    readable but not Python's <Class.NAME: value>."""
    if PY < (3, 5):
        return
    import http
    yield 'enum HTTPStatus', http.HTTPStatus.OK, 'http.HTTPStatus(200)'
    if PY >= (3, 11):   # before, by its global name: socket.AF_INET
        import socket
        yield 'enum AddressFamily', socket.AF_INET, 'socket.AddressFamily(2)'


def cases():
    for family in (datetimes, numbers, identifiers, paths, patterns, arrays):
        for case in family():
            # (reprs.bats passes each interpreter's --python-repr: 3.6's
            # timedelta(1, 5) is its own repr)
            yield case if len(case) > 2 and case[2] is not None \
                else case[:2]
    for case in enums():
        yield case
