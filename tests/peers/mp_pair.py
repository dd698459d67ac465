"""mp_pair.py - a multiprocessing Listener and Client of this interpreter
talking on loopback, for tests/bats/capture.bats to capture with tcpdump:
the handshake (with a key), then ping-pong of bytes and objects, each side
sending in turn.

Usage: python mp_pair.py PORT KEY [greeting]

greeting: the one exchange of README.md's "Reading a capture" instead.

Prints, once both are done, what went over the wire after the handshake,
one line a message, in order: "SRC>DST HEX", the bytes of each message
(send_bytes()' as they are, send()'s pickled as Connection.send pickles).
"""
import sys
import threading
from multiprocessing.connection import Client, Listener
from multiprocessing.reduction import ForkingPickler

PORT, KEY = int(sys.argv[1]), sys.argv[2].encode()
GREETING = [({'greeting': 'hello', 'n': [1, 2.5, None, True]},
             ('#RETURN', 'ok'))]
# (client sends, server answers): bytes first, then objects.
EXCHANGE = [
    (b"hello", b"world"),
    (b"", b"\x00\xff\n"),
    ({"a": 1, "b": [1.5, None]}, ("tuple", 2)),
    ("text \u00e9", list(range(300))),
]


if sys.argv[3:] == ["greeting"]:
    EXCHANGE = GREETING


def wire(value):
    if isinstance(value, bytes):
        return value
    return bytes(ForkingPickler.dumps(value))


def send(conn, value):
    if isinstance(value, bytes):
        conn.send_bytes(value)
    else:
        conn.send(value)


def recv(conn, value):
    got = conn.recv_bytes() if isinstance(value, bytes) else conn.recv()
    if got != value:
        raise SystemExit("mp_pair.py: got %r, not %r" % (got, value))


def serve(listener, result):
    with listener.accept() as conn:
        result.append(listener.last_accepted)
        for asked, answer in EXCHANGE:
            recv(conn, asked)
            send(conn, answer)


def main():
    listener = Listener(("127.0.0.1", PORT), authkey=KEY)
    result = []
    server = threading.Thread(target=serve, args=(listener, result))
    server.start()
    with Client(("127.0.0.1", PORT), authkey=KEY) as conn:
        for asked, answer in EXCHANGE:
            send(conn, asked)
            recv(conn, answer)
    server.join()
    listener.close()
    client = "%s:%d" % result[0]
    srv = "127.0.0.1:%d" % PORT
    for asked, answer in EXCHANGE:
        print("%s>%s %s" % (client, srv, wire(asked).hex()))
        print("%s>%s %s" % (srv, client, wire(answer).hex()))


if __name__ == "__main__":
    main()
