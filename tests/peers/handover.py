"""handover.py - hands a socket to a program, as a service manager or a
parent process does, then becomes that program (exec: same pid).

    handover.py [--fd N] [--systemd] [--names A:B] [--sockets K]
                [--stdio] KIND [ADDRESS] -- CMD [ARG]...

KIND is what fd N (default 3) gets:
  listen      a TCP socket listening on 127.0.0.1:0 (the program names it)
  listen-unix a Unix socket listening on the abstract name ADDRESS
  connect     a TCP connection to ADDRESS (HOST:PORT)
  unix-pair   one end of a socketpair; a child process answers on the
              other end with multiprocessing.connection: it echoes each
              message back upper-cased, then closes
  bound       a TCP socket bound but not listening
  udp         a datagram socket
  file        /dev/null, not a socket
  accept      a TCP connection accepted on 127.0.0.1:0, announced on
              stderr first ("handover.py: listening on 127.0.0.1:PORT"),
              as inetd does it: with --stdio, on fds 0 and 1
--systemd sets LISTEN_PID (our pid: the program's after exec) and
LISTEN_FDS=K (fds 3 to 3+K-1, each a listening socket of KIND; --names
sets LISTEN_FDNAMES).  Works with Python 2.7 and 3.6+.
"""
import os
import socket
import sys


def make(kind, address):
    if kind == 'listen':
        s = socket.socket()
        s.bind(('127.0.0.1', 0))
        s.listen(5)
        return s
    if kind == 'listen-unix':
        s = socket.socket(socket.AF_UNIX)
        s.bind('\0' + address)
        s.listen(5)
        return s
    if kind == 'connect':
        host, port = address.rsplit(':', 1)
        return socket.create_connection((host, int(port)))
    if kind == 'bound':
        s = socket.socket()
        s.bind(('127.0.0.1', 0))
        return s
    if kind == 'udp':
        return socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if kind == 'unix-pair':
        ours, theirs = socket.socketpair()
        if os.fork() == 0:
            ours.close()
            answer(theirs)
            os._exit(0)
        theirs.close()
        return ours
    if kind == 'file':
        return open(os.devnull)
    if kind == 'accept':
        s = socket.socket()
        s.bind(('127.0.0.1', 0))
        s.listen(1)
        sys.stderr.write('handover.py: listening on 127.0.0.1:%d\n'
                         % s.getsockname()[1])
        sys.stderr.flush()
        conn = s.accept()[0]
        s.close()
        return conn
    sys.exit('handover.py: unknown kind ' + kind)


def answer(sock):
    from multiprocessing.connection import Connection
    conn = Connection(os.dup(sock.fileno()))
    sock.close()
    try:
        while True:
            conn.send_bytes(conn.recv_bytes().upper())
    except (EOFError, IOError, OSError):   # the program closed: done
        pass


def main(argv):
    fd, systemd, names, count, stdio = 3, False, None, 1, False
    while argv[0].startswith('--'):
        opt = argv.pop(0)
        if opt == '--fd':
            fd = int(argv.pop(0))
        elif opt == '--systemd':
            systemd = True
        elif opt == '--names':
            names = argv.pop(0)
        elif opt == '--sockets':
            count = int(argv.pop(0))
        elif opt == '--stdio':
            stdio = True
    kind = argv.pop(0)
    address = argv.pop(0) if argv[0] != '--' else None
    cmd = argv[argv.index('--') + 1:]
    held = []
    if stdio:
        s = make(kind, address)
        os.dup2(s.fileno(), 0)
        os.dup2(s.fileno(), 1)
        s.close()
        count = 0
    for i in range(count):
        s = make(kind, address)
        held.append(s)
        if s.fileno() != fd + i:
            os.dup2(s.fileno(), fd + i)
        if hasattr(os, 'set_inheritable'):   # Python 2: it already is
            os.set_inheritable(fd + i, True)
    if systemd:
        os.environ['LISTEN_PID'] = str(os.getpid())
        os.environ['LISTEN_FDS'] = str(count)
        if names is not None:
            os.environ['LISTEN_FDNAMES'] = names
    sys.stdout.flush()
    os.execvp(cmd[0], cmd)


main(sys.argv[1:])
