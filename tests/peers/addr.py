"""Address parsing shared by the test peers (python3 stdlib only).

Accepts the conn-tools ADDRESS syntax:
  HOST:PORT, [IPV6]:PORT, :PORT, PORT, unix:PATH, anything with '/', @NAME
and returns (family, address) where family is 'AF_INET', 'AF_INET6' or
'AF_UNIX' and address is what multiprocessing.connection / socket expects:
a (host, port) tuple, a path, or '\\0NAME' for a Linux abstract socket.
"""

import socket


def parse(text, listening=False, family=None):
    if family == 'AF_UNIX' or text.startswith('unix:') or '/' in text:
        path = text[5:] if text.startswith('unix:') else text
        if path.startswith('@'):
            path = '\0' + path[1:]
        return 'AF_UNIX', path
    if text.startswith('@'):
        return 'AF_UNIX', '\0' + text[1:]
    if text.startswith('['):
        end = text.index(']')
        host, port = text[1:end], text[end + 2:]
        return 'AF_INET6', (host, int(port))
    if ':' in text:
        host, port = text.rsplit(':', 1)
    else:
        host, port = '', text
    if not host:
        host = '0.0.0.0' if listening else '127.0.0.1'
    fam = family or 'AF_INET'
    return fam, (host, int(port))


def show(family, address):
    """The conn-tools spelling of a bound address."""
    if family == 'AF_UNIX':
        if isinstance(address, bytes):
            address = address.decode('utf-8', 'surrogateescape')
        if address.startswith('\0'):
            return '@' + address[1:]
        return address if '/' in address else 'unix:' + address
    host, port = address[0], address[1]
    if family == 'AF_INET6':
        return '[%s]:%d' % (host, port)
    return '%s:%d' % (host, port)


def sock_family(family):
    return getattr(socket, family)
