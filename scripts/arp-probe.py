#!/usr/bin/env python3
"""arp-probe.py IFACE VIP SOURCE SECONDS: who answers ARP for VIP, and when.

Broadcasts an ARP request for VIP (sender address SOURCE) out of IFACE every 10 ms for SECONDS and prints
"seconds mac" for every ARP reply about VIP, seconds since the start (monotonic). Prints "ready" first.
Used by fault-matrix.sh and the lab tests to see two VIP holders at once. Needs CAP_NET_RAW.
"""
import select
import socket
import struct
import sys
import time

iface, vip, source, seconds = sys.argv[1], socket.inet_aton(sys.argv[2]), socket.inet_aton(sys.argv[3]), float(sys.argv[4])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
s.bind((iface, 0x0806))
mac = s.getsockname()[4]
request = b"\xff" * 6 + mac + b"\x08\x06" + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mac + source + bytes(6) + vip
start = time.monotonic()
next_send = start
print("ready", flush=True)
while time.monotonic() - start < seconds:
    if time.monotonic() >= next_send:
        s.send(request)
        next_send += 0.01
    if select.select([s], [], [], max(0.0, next_send - time.monotonic()))[0]:
        data = s.recv(128)
        if len(data) >= 42 and data[12:14] == b"\x08\x06" and data[20:22] == b"\x00\x02" and data[28:32] == vip:
            print("%.3f %s" % (time.monotonic() - start, data[22:28].hex()), flush=True)
