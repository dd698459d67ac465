#!/usr/bin/env python3
"""chaos.py - cheap attacks on a listener, for tests/bats/chaos.bats.

Loopback or Unix sockets only; every run is bounded in count and time.

  chaos.py slowloris ADDRESS [--conns N] [--seconds S]
      N connections (default 300) that never send a byte; each one the
      listener drops is opened again at once, for S seconds (default 20),
      or until stdin ends.  Prints "slowloris: N connected" to stderr once
      they all are, and "slowloris: K reopened" at the end.
  chaos.py hold ADDRESS [--conns N] [--seconds S]
      opens up to N connections (default 100; fewer if the listener stops
      taking them), says "hold: K connected", holds them S seconds
      (default 3) or until stdin ends, then closes them all.
  chaos.py resets ADDRESS [--conns N]
      N connections (default 500) that connect and reset at once (SO_LINGER
      0, no byte sent); says "resets: N sent".
  chaos.py slowpickles ADDRESS [--conns N] [--seconds S] [--ints K]
      N keyless connections (default 1), each sending one costly pickle
      after another for S seconds (default 10) or until stdin ends: K ints
      of about 4300 digits each (default 8000, 15 MB), the most CPython
      prints, whose decimals take long to make.  Says "slowpickles: N
      connected", then "slowpickles: K sent" at the end.
  chaos.py honest ADDRESS [--messages M] [--interval MS]
      one keyless client sending M small pickles (default 100), the tuple
      ('honest', i, time.monotonic_ns()), one every MS ms (default 20).
  chaos.py latency FILE
      reads conn-listen --out repr lines on stdin and copies them to
      stdout; for each ('honest', i, T) line, appends "i delay_ms" to FILE
      at once (the clock is the machine's monotonic one, as the sender's).
"""
import pickle
import random
import argparse
import select
import socket
import struct
import sys
import time


def address(text):
    if text.startswith("unix:"):
        return socket.AF_UNIX, text[5:]
    if "/" in text:
        return socket.AF_UNIX, text
    host, _, port = text.rpartition(":")
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return family, (host, int(port))


def opened(addr, timeout=2.0):
    family, where = addr
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(where)
    except OSError:
        s.close()
        return None
    s.setblocking(False)
    return s


def stdin_ended():
    r, _, _ = select.select([sys.stdin], [], [], 0)
    return bool(r) and sys.stdin.buffer.read1(4096) == b""


def gone(s):
    """True once the listener has closed or reset s (bytes it sent, such
    as a challenge, are read and ignored)."""
    try:
        while True:
            data = s.recv(65536)
            if not data:
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True


def slowloris(args, addr):
    end = time.monotonic() + args.seconds
    socks = []
    while len(socks) < args.conns and time.monotonic() < end:
        s = opened(addr)
        if s:
            socks.append(s)
    print("slowloris: %d connected" % len(socks), file=sys.stderr, flush=True)
    reopened = 0
    while time.monotonic() < end:
        r, _, _ = select.select(socks + [sys.stdin], [], [], 0.2)
        if sys.stdin in r and stdin_ended():
            break
        for s in r:
            if s is sys.stdin or not gone(s):
                continue
            socks.remove(s)
            s.close()
            n = opened(addr)
            if n:
                socks.append(n)
                reopened += 1
    print("slowloris: %d reopened" % reopened, file=sys.stderr, flush=True)


def hold(args, addr):
    socks = []
    for _ in range(args.conns):
        s = opened(addr, 0.5)
        if s is None:
            break
        socks.append(s)
    print("hold: %d connected" % len(socks), file=sys.stderr, flush=True)
    end = time.monotonic() + args.seconds
    while time.monotonic() < end:
        r, _, _ = select.select([sys.stdin], [], [], 0.1)
        if r and stdin_ended():
            break
    for s in socks:
        s.close()


def resets(args, addr):
    sent = 0
    for _ in range(args.conns):
        s = opened(addr)
        if s is None:
            continue
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     struct.pack("ii", 1, 0))
        s.close()
        sent += 1
    print("resets: %d sent" % sent, file=sys.stderr, flush=True)


def frame(payload):
    return struct.pack("!i", len(payload)) + payload


def slowpickles(args, addr):
    rng = random.Random(14)
    # getrandbits(14280) has 4298 or 4299 digits: within CPython's 4300.
    data = frame(pickle.dumps([rng.getrandbits(14280) | 1 << 14279
                               for _ in range(args.ints)], 4))
    socks = [s for s in (opened(addr) for _ in range(args.conns)) if s]
    for s in socks:
        s.setblocking(True)
    print("slowpickles: %d connected" % len(socks), file=sys.stderr,
          flush=True)
    end, sent = time.monotonic() + args.seconds, 0
    while socks and time.monotonic() < end:
        r, _, _ = select.select([sys.stdin], [], [], 0)
        if r and stdin_ended():
            break
        for s in list(socks):
            try:
                s.sendall(data)
                sent += 1
            except OSError:
                socks.remove(s)
    print("slowpickles: %d sent" % sent, file=sys.stderr, flush=True)


def honest(args, addr):
    s = opened(addr)
    if s is None:
        sys.exit("honest: cannot connect")
    s.setblocking(True)
    for i in range(args.messages):
        s.sendall(frame(pickle.dumps(("honest", i, time.monotonic_ns()), 4)))
        time.sleep(args.interval / 1000.0)
    s.close()


def latency(args):
    with open(args.address, "a") as report:
        for line in sys.stdin:
            sys.stdout.write(line)
            sys.stdout.flush()
            if line.startswith("('honest', "):
                _, i, t = line.strip("()\n").split(", ")
                report.write("%s %.3f\n" % (
                    i, (time.monotonic_ns() - int(t)) / 1e6))
                report.flush()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("attack", choices=["slowloris", "hold", "resets",
                                      "slowpickles", "honest", "latency"])
    p.add_argument("address")
    p.add_argument("--conns", type=int)
    p.add_argument("--seconds", type=float)
    p.add_argument("--ints", type=int, default=8000)
    p.add_argument("--messages", type=int, default=100)
    p.add_argument("--interval", type=float, default=20)
    args = p.parse_args()
    if args.attack == "latency":
        return latency(args)
    defaults = {"slowloris": (300, 20), "hold": (100, 3), "resets": (500, 0),
                "slowpickles": (1, 10), "honest": (1, 0)}
    conns, seconds = defaults[args.attack]
    args.conns = args.conns if args.conns is not None else conns
    args.seconds = args.seconds if args.seconds is not None else seconds
    addr = address(args.address)
    {"slowloris": slowloris, "hold": hold, "resets": resets,
     "slowpickles": slowpickles, "honest": honest}[args.attack](args, addr)


if __name__ == "__main__":
    main()
