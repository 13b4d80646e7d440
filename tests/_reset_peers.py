# Connects COUNT times to 127.0.0.1:PORT and resets each connection at once
# (SO_LINGER 0), before the server accepts it: what a load balancer's TCP
# health check can look like to a busy server.
import socket
import struct
import sys

port, count = int(sys.argv[1]), int(sys.argv[2])
for _ in range(count):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
