#!/usr/bin/env python3
"""bench-python.py - python3's multiprocessing.connection on both ends,
the Python figures of tools/bench.

    python3 tools/bench-python.py stream    unix|tcp SIZE COUNT  -> MSGS_PER_S MB_PER_S
    python3 tools/bench-python.py pingpong  unix|tcp SIZE COUNT  -> P50_NS P99_NS
    python3 tools/bench-python.py handshake unix|tcp 0 COUNT     -> HANDSHAKES_PER_S
    python3 tools/bench-python.py lines     ADDRESS              (reads stdin)

A forked child is the Listener; the parent is the Client and takes the
time.  stream: COUNT send_bytes() of SIZE bytes, then the child's count
comes back; pingpong: send_bytes() and recv_bytes() of the echo;
handshake: Client() with an authkey and close, COUNT times.  lines: sends
each line of stdin (newline removed) with send_bytes() to ADDRESS, the
"Python script" of the command-line comparison.
"""
import os
import socket
import sys
import tempfile
import time
from multiprocessing.connection import Client, Listener

KEY = b"conn-bench"


def listener(kind, authkey):
    if kind == "unix":
        path = os.path.join(tempfile.mkdtemp(), "s")
        return Listener(path, "AF_UNIX", authkey=authkey)
    return Listener(("127.0.0.1", 0), "AF_INET", authkey=authkey)


def serve(lst, workload, count):
    if workload == "handshake":
        for _ in range(count):
            try:
                lst.accept().close()
            except Exception:
                pass
        return
    conn = lst.accept()
    if workload == "stream":
        n = 0
        try:
            while True:
                conn.recv_bytes()
                n += 1
        except EOFError:
            conn.send_bytes(str(n).encode())
    else:
        try:
            while True:
                conn.send_bytes(conn.recv_bytes())
        except EOFError:
            pass


def run(workload, kind, size, count):
    lst = listener(kind, KEY if workload == "handshake" else None)
    address = lst.address
    pid = os.fork()
    if pid == 0:
        try:
            serve(lst, workload, count)
        finally:
            os._exit(0)
    lst._listener._socket.close()
    payload = b"x" * size
    if workload == "handshake":
        t0 = time.perf_counter()
        for _ in range(count):
            Client(address, authkey=KEY).close()
        t = time.perf_counter() - t0
        print(f"{count / t:.0f}")
    elif workload == "stream":
        conn = Client(address)
        t0 = time.perf_counter()
        for _ in range(count):
            conn.send_bytes(payload)
        # EOF to the sink, as conn-bench does; Connection has no shutdown().
        with socket.socket(fileno=os.dup(conn.fileno())) as s:
            s.shutdown(socket.SHUT_WR)
        seen = int(conn.recv_bytes())
        t = time.perf_counter() - t0
        assert seen == count, (seen, count)
        print(f"{count / t:.0f} {count * size / t / 1e6:.1f}")
        conn.close()
    else:
        conn = Client(address)
        samples = []
        for _ in range(count):
            t0 = time.perf_counter_ns()
            conn.send_bytes(payload)
            conn.recv_bytes()
            samples.append(time.perf_counter_ns() - t0)
        conn.close()
        samples.sort()
        print(samples[len(samples) // 2], samples[len(samples) * 99 // 100])
    os.waitpid(pid, 0)


def lines(address):
    if address.startswith("@"):
        address = "\0" + address[1:]
    elif "/" not in address:
        host, _, port = address.rpartition(":")
        address = (host or "127.0.0.1", int(port))
    with Client(address) as conn:
        for line in sys.stdin.buffer:
            conn.send_bytes(line.rstrip(b"\n"))


def main():
    if sys.argv[1] == "lines":
        lines(sys.argv[2])
    else:
        run(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))


if __name__ == "__main__":
    main()
