#!/usr/bin/env python3
"""pcapgen.py - hand-built packet captures of this protocol's traffic, for
the tests of conn-pipe --in pcap (tests/bats/capture.bats) and the capture
fuzzer's seeds (tests/fuzz/make-seeds.py): the reassembly tested without
tcpdump.

Usage: pcapgen.py SCENARIO FILE

Scenarios: inorder, reorder, retransmit, midstream, ipv6, pcapng, sll2,
null, gap, http, evil (a pickle calling os.system after a harmless one,
no handshake).  Each one is a client (127.0.0.1:40000, [::1]:40000 for
IPv6) talking to a server (127.0.0.2:5000, [::2]:5000): a keyed modern
handshake, then "hello" from the client and "world" from the server
(midstream: from a capture that starts inside the handshake).
"""
import struct
import sys

SYN, FIN, ACK, PSH = 0x02, 0x01, 0x10, 0x08
ETHERNET, NULL, RAW, SLL2 = 1, 0, 101, 276


def frame(payload):
    return struct.pack(">i", len(payload)) + payload


def tcp(sport, dport, seq, flags, payload):
    return struct.pack(">HHIIBBHHH", sport, dport, seq, 0, 5 << 4, flags,
                       65535, 0, 0) + payload


def ip_packet(src, dst, segment, v6):
    if v6:
        return struct.pack(">IHBB", 6 << 28, len(segment), 6, 64) + \
            src + dst + segment
    return struct.pack(">BBHHHBBH", 0x45, 0, 20 + len(segment), 0, 0x4000,
                       64, 6, 0) + src + dst + segment


def link(linktype, ip, v6):
    if linktype == ETHERNET:
        return b"\0" * 12 + struct.pack(">H", 0x86dd if v6 else 0x0800) + ip
    if linktype == SLL2:
        return struct.pack(">HHIHBB", 0x86dd if v6 else 0x0800, 0, 1, 772,
                           0, 6) + b"\0" * 8 + ip
    if linktype == NULL:
        return struct.pack("<I", 30 if v6 else 2) + ip
    return ip


class Conversation:
    """Both ends of a TCP connection and their sequence numbers; every
    segment made is kept in packets, in order, as link-layer bytes."""

    def __init__(self, linktype=ETHERNET, v6=False):
        self.linktype, self.v6 = linktype, v6
        if v6:
            hosts = (b"\0" * 15 + b"\1", b"\0" * 15 + b"\2")
        else:
            hosts = (bytes([127, 0, 0, 1]), bytes([127, 0, 0, 2]))
        self.ends = [(hosts[0], 40000), (hosts[1], 5000)]
        self.seq = [1000, 5000000]
        self.packets = []

    def segment(self, side, flags, payload=b"", seq=None):
        src, dst = self.ends[side], self.ends[1 - side]
        seg = tcp(src[1], dst[1], self.seq[side] if seq is None else seq,
                  flags, payload)
        ip = ip_packet(src[0], dst[0], seg, self.v6)
        return link(self.linktype, ip, self.v6)

    def add(self, side, flags, payload=b""):
        packet = self.segment(side, flags, payload)
        self.packets.append(packet)
        self.seq[side] = (self.seq[side] + len(payload) +
                          (1 if flags & (SYN | FIN) else 0)) % (1 << 32)
        return packet

    def open(self):
        self.add(0, SYN)
        self.add(1, SYN | ACK)
        self.add(0, ACK)

    def send(self, side, data, pieces=1):
        """data in pieces segments of about equal size."""
        size = max(1, -(-len(data) // pieces))
        for at in range(0, len(data), size):
            self.add(side, ACK | PSH, data[at:at + size])

    def close(self):
        self.add(0, FIN | ACK)
        self.add(1, FIN | ACK)


def handshake(c):
    c.send(1, frame(b"#CHALLENGE#{sha256}" + b"c" * 40))
    c.send(0, frame(b"{sha256}" + b"d" * 32))
    c.send(1, frame(b"#WELCOME#"))
    c.send(0, frame(b"#CHALLENGE#{sha256}" + b"e" * 40))
    c.send(1, frame(b"{sha256}" + b"f" * 32))
    c.send(0, frame(b"#WELCOME#"))


def exchange(c, pieces=1):
    c.open()
    handshake(c)
    c.send(0, frame(b"hello"), pieces)
    c.send(1, frame(b"world"), pieces)
    c.close()
    return c.packets


def client_sends(*data, lost=()):
    """A connection with no handshake in which the client sends each of
    data, then closes; the segments of the data numbered in lost are left
    out of the capture."""
    c = Conversation()
    c.open()
    for i, d in enumerate(data):
        c.send(0, d)
        if i in lost:
            c.packets.pop()
    c.close()
    return ETHERNET, c.packets


def scenario(name):
    """(linktype, packets) of a scenario."""
    if name in ("inorder", "pcapng"):
        return ETHERNET, exchange(Conversation())
    if name == "ipv6":
        return RAW, exchange(Conversation(RAW, v6=True))
    if name == "sll2":
        return SLL2, exchange(Conversation(SLL2))
    if name == "null":
        return NULL, exchange(Conversation(NULL, v6=True))
    if name == "reorder":
        packets = exchange(Conversation(), pieces=3)
        # hello's three segments come last first.
        at = len(packets) - 2 - 6
        packets[at:at + 3] = packets[at:at + 3][::-1]
        return ETHERNET, packets
    if name == "retransmit":
        packets = exchange(Conversation(), pieces=3)
        at = len(packets) - 2 - 6
        # The second segment twice, the first again after the third.
        hello = packets[at:at + 3]
        packets[at:at + 3] = [hello[0], hello[1], hello[1], hello[2],
                              hello[0]]
        return ETHERNET, packets
    if name == "midstream":
        packets = exchange(Conversation())
        # From the client's reply on: its first 10 bytes lost too.
        c = Conversation()
        c.seq = [1001 + 10, 5000001 + 63]
        reply = frame(b"{sha256}" + b"d" * 32)[10:]
        return ETHERNET, [c.segment(0, ACK, reply)] + packets[5:]
    if name == "gap":
        return client_sends(frame(b"lost"), frame(b"after the gap"),
                            lost=(0,))
    if name == "evil":
        return client_sends(frame(b"\x80\x04K\x01."),
                            frame(b"cos\nsystem\n(S'echo hi'\ntR."))
    if name == "http":
        return client_sends(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    raise SystemExit("pcapgen.py: no scenario '%s'" % name)


def write_pcap(f, linktype, packets):
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 262144,
                        linktype))
    for i, p in enumerate(packets):
        f.write(struct.pack("<IIII", 1700000000, i * 1000, len(p), len(p)))
        f.write(p)


def pcapng_block(kind, body):
    body += b"\0" * (-len(body) % 4)
    return struct.pack("<II", kind, 12 + len(body)) + body + \
        struct.pack("<I", 12 + len(body))


def write_pcapng(f, linktype, packets):
    f.write(pcapng_block(0x0a0d0d0a, struct.pack("<IHHq", 0x1a2b3c4d, 1, 0,
                                                 -1)))
    f.write(pcapng_block(1, struct.pack("<HHI", linktype, 0, 262144)))
    for i, p in enumerate(packets):
        us = 1700000000 * 1000000 + i * 1000
        f.write(pcapng_block(6, struct.pack("<IIIII", 0, us >> 32,
                                            us & 0xffffffff, len(p),
                                            len(p)) + p))


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: pcapgen.py SCENARIO FILE")
    linktype, packets = scenario(sys.argv[1])
    with open(sys.argv[2], "wb") as f:
        if sys.argv[1] == "pcapng":
            write_pcapng(f, linktype, packets)
        else:
            write_pcap(f, linktype, packets)


if __name__ == "__main__":
    main()
