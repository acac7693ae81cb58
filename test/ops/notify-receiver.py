"""A stand-in for systemd's notify socket: binds a unix datagram socket and prints every datagram
as one JSON line with the sender's pid from SCM_CREDENTIALS (how systemd tells the main PID's
messages from others' under NotifyAccess=main)."""
import json
import socket
import struct
import sys

sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(sys.argv[1])
sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
print("LISTENING", flush=True)
while True:
    data, ancillary, _flags, _addr = sock.recvmsg(4096, socket.CMSG_SPACE(struct.calcsize("3i")))
    pid = None
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid, _uid, _gid = struct.unpack("3i", payload[: struct.calcsize("3i")])
    print(json.dumps({"pid": pid, "msg": data.decode()}), flush=True)
