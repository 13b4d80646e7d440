# Clients from a loopback address of our choice (127.0.0.2, 127.0.0.3, ...),
# which Deno.connect cannot bind: each is a distinct client to a server on
# 127.0.0.1. The server under test greets every client it admits with a line.
#
#   hold FROM PORT COUNT   opens COUNT connections from FROM and prints, one
#                          line each, "served" (the greeting came) or
#                          "refused" (the connection was closed at once);
#                          then holds them until stdin ends.
#   churn FROM PORT COUNT [INTERVAL_MS]
#                          COUNT times, INTERVAL_MS apart: connect, read the
#                          greeting or the end, close; prints "served MS" or
#                          "refused MS" with how long the connection took.
import socket
import sys
import time


def attempt(source, port):
    s = socket.socket()
    s.bind((source, 0))
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    try:
        data = s.recv(1024)
    except (ConnectionResetError, socket.timeout):
        data = b""
    return s, ("served" if data else "refused")


def main():
    mode, source, port, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    interval = float(sys.argv[5]) / 1000 if len(sys.argv) > 5 else 0
    held = []
    for _ in range(count):
        start = time.monotonic()
        s, result = attempt(source, port)
        if mode == "hold":
            print(result, flush=True)
            held.append(s)
        else:
            print(result, round((time.monotonic() - start) * 1000, 2), flush=True)
            s.close()
            time.sleep(interval)
    if mode == "hold":
        sys.stdin.read()
    for s in held:
        s.close()


main()
