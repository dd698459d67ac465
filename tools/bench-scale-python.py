#!/usr/bin/env python3
"""The Python side of tools/bench-scale: a multiprocessing.connection
Listener serving each connection in a thread.

    bench-scale-python.py ADDRESS KEYFILE CLIENTS OUTFILE

ADDRESS is a Unix socket path or HOST:PORT.  Prints "listening" once
bound, accepts CLIENTS connections (accept() runs the handshake, one at a
time, as the module does), each served by a thread that writes every
message it receives, and a newline, to OUTFILE (under a lock, so that
messages stay whole).  Prints "done" once every connection has ended and
OUTFILE is flushed, then waits for stdin to end (tools/bench-scale reads
its CPU time meanwhile).
"""
import sys
import threading
from multiprocessing.connection import Listener

BACKLOG = 128  # the driver keeps up to 128 handshakes under way


def main():
    address, keyfile, clients, outfile = sys.argv[1:5]
    with open(keyfile, 'rb') as f:
        key = f.read().rstrip(b'\n')
    if ':' in address and not address.startswith('/'):
        host, port = address.rsplit(':', 1)
        address, family = (host, int(port)), 'AF_INET'
    else:
        family = 'AF_UNIX'
    threading.stack_size(256 * 1024)  # 10,000 threads
    out = open(outfile, 'wb', buffering=1 << 20)
    lock = threading.Lock()

    def serve(conn):
        with conn:
            try:
                while True:
                    msg = conn.recv_bytes()
                    with lock:
                        out.write(msg + b'\n')
            except EOFError:
                pass

    threads = []
    with Listener(address, family, backlog=BACKLOG, authkey=key) as lst:
        print('listening', flush=True)
        for _ in range(int(clients)):
            t = threading.Thread(target=serve, args=(lst.accept(),),
                                 daemon=True)
            t.start()
            threads.append(t)
        for t in threads:
            t.join()
    out.close()
    print('done', flush=True)
    sys.stdin.read()


if __name__ == '__main__':
    main()
