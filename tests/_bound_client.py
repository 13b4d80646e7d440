# A client bound to a local address of our choosing (127.0.0.2, say), which
# Deno.connect cannot do: for each MESSAGE, connects from SOURCE to HOST:PORT,
# sends the message and a newline, and prints one JSON line with its own
# address and the first line it got back ("reply": null if none came).
#
#   python3 tests/_bound_client.py SOURCE HOST PORT MESSAGE...
import json
import socket
import sys

source, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
for message in sys.argv[4:]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.bind((source, 0))
        s.connect((host, port))
        client = "%s:%d" % s.getsockname()
        s.sendall(message.encode() + b"\n")
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = s.recv(4096)
            if not chunk:
                break
            reply += chunk
        print(json.dumps({
            "client": client,
            "reply": reply.decode() if reply else None,
        }), flush=True)
