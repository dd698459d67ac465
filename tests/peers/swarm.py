#!/usr/bin/env python3
"""Many clients at once against one listener (asyncio, raw sockets).

  swarm.py good ADDRESS --clients N --messages M [--authkey KEY]
      N clients connect at once, authenticate when a key is given (the
      modern handshake, sha256, written here with hmac), and each sends M
      messages "c<i> m<j>"; then each closes.  Exit 0 when all are sent.
  swarm.py bad ADDRESS --clients N [--authkey KEY] [--hold SEC]
      N misbehaving clients at once, of every kind in turn: wrong key, no
      handshake (frames straight away), stalled (connect, say nothing),
      an HTTP request, random bytes, a port probe (connect, close).  Those
      that stay connected hold SEC seconds.  Prints "bad: N connected" on
      stderr once all are connected.
  swarm.py recv ADDRESS --clients N --expect K
      N clients connect (no key) and each reads K messages, printing
      "<i> <payload>" lines; exit 0 when all have K.
"""
import argparse
import asyncio
import hashlib
import hmac
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import addr  # noqa: E402


async def connect(address):
    family, target = addr.parse(address)
    if family == 'AF_UNIX':
        return await asyncio.open_unix_connection(target)
    return await asyncio.open_connection(target[0], target[1])


def frame(payload):
    return struct.pack('!i', len(payload)) + payload


async def read_frame(reader):
    n, = struct.unpack('!i', await reader.readexactly(4))
    return await reader.readexactly(n)


async def handshake(reader, writer, key):
    challenge = await read_frame(reader)
    assert challenge.startswith(b'#CHALLENGE#{sha256}'), challenge
    msg = challenge[len(b'#CHALLENGE#'):]
    writer.write(frame(b'{sha256}' + hmac.new(key, msg, hashlib.sha256)
                       .digest()))
    assert await read_frame(reader) == b'#WELCOME#'
    ours = b'{sha256}' + os.urandom(40)
    writer.write(frame(b'#CHALLENGE#' + ours))
    reply = await read_frame(reader)
    assert reply == b'{sha256}' + hmac.new(key, ours,
                                           hashlib.sha256).digest(), reply
    writer.write(frame(b'#WELCOME#'))


async def good_client(args, i, start):
    reader, writer = await connect(args.address)
    await start.wait()
    if args.authkey:
        await handshake(reader, writer, args.authkey.encode())
    for j in range(args.messages):
        writer.write(frame(b'c%d m%d' % (i, j)))
        if j % 50 == 49:
            await writer.drain()
    await writer.drain()
    writer.close()
    await writer.wait_closed()


async def bad_client(args, i, connected):
    kind = i % 6
    reader, writer = await connect(args.address)
    connected.append(i)
    if kind == 0 and args.authkey:      # wrong key
        challenge = await read_frame(reader)
        msg = challenge[len(b'#CHALLENGE#'):]
        writer.write(frame(b'{sha256}' + hmac.new(
            b'wrong', msg, hashlib.sha256).digest()))
    elif kind == 1:                     # no handshake: frames at once
        writer.write(frame(b'unauthenticated data') * 3)
    elif kind == 3:                     # an HTTP request
        writer.write(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    elif kind == 4:                     # random bytes
        writer.write(os.urandom(300))
    elif kind == 5:                     # a port probe
        writer.close()
        return
    # kind 2, and the rest after their bytes: stall, then go
    await writer.drain()
    await asyncio.sleep(args.hold)
    writer.close()


async def recv_client(args, i):
    reader, writer = await connect(args.address)
    lines = []
    for _ in range(args.expect):
        lines.append('%d %s' % (i, (await read_frame(reader)).decode()))
    writer.close()
    return lines


async def main(args):
    if args.mode == 'good':
        start = asyncio.Event()
        tasks = [asyncio.create_task(good_client(args, i, start))
                 for i in range(args.clients)]
        await asyncio.sleep(0)
        start.set()
        await asyncio.gather(*tasks)
    elif args.mode == 'bad':
        connected = []
        tasks = [asyncio.create_task(bad_client(args, i, connected))
                 for i in range(args.clients)]
        while len(connected) < args.clients:
            await asyncio.sleep(0.01)
        print('bad: %d connected' % len(connected), file=sys.stderr,
              flush=True)
        await asyncio.gather(*tasks, return_exceptions=True)
    else:
        results = await asyncio.gather(*[recv_client(args, i)
                                         for i in range(args.clients)])
        for lines in results:
            for line in lines:
                print(line)


if __name__ == '__main__':
    p = argparse.ArgumentParser()
    p.add_argument('mode', choices=['good', 'bad', 'recv'])
    p.add_argument('address')
    p.add_argument('--clients', type=int, default=10)
    p.add_argument('--messages', type=int, default=10)
    p.add_argument('--expect', type=int, default=1)
    p.add_argument('--authkey')
    p.add_argument('--hold', type=float, default=5)
    asyncio.run(main(p.parse_args()))
