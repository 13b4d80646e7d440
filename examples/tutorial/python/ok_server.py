#!/usr/bin/env python3
#coding=utf-8
# The tutorial's server that keeps running (seed 003, "服务器一直运行"): its
# accept loop on top of the echo server's first lines, ported to Python 3
# with as few changes as possible:
# - print(), "except socket.error as msg", and bytes (b'OK...' + data);
# - "connected with" gets the space the tutorial's output shows for the
#   same line in the echo server; "Bind faild" is spelled "Bind failed";
# - HOST and PORT may be given as arguments: python3 ok_server.py [HOST] [PORT]
# - it prints "listening on HOST:PORT" after listen(), as the Deno version
#   does, so that port 0 (any free port) can be used.
# As in the tutorial, a connection is not closed in the loop: CPython closes
# it when `conn` is rebound at the next accept.
import socket
import sys
HOST = sys.argv[1] if len(sys.argv) > 1 else '127.0.0.1'   #symbolic name meaning all available interfaces
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 8888  #Arbitrary non-privileged port
s = socket.socket(socket.AF_INET,socket.SOCK_STREAM)
print('Socket created ')
try:
    s.bind((HOST,PORT))
except socket.error as msg:
    print('Bind failed ,Error Code: ' + str(msg.errno) + ' Message ' + msg.strerror)
    sys.exit()
print('Socket bind complete')
s.listen(10)
print('Socket now listening')
print('listening on %s:%s' % s.getsockname())
#接受链接
while 1:
    #wait to accept a connection - blocking call
    conn, addr = s.accept()
    #display client information
    print('connected with ' + addr[0] + ':' + str(addr[1]))
    #print conn
    #print addr
    #now keep taling with the client
    data = conn.recv(1024)
    reply = b'OK...' + data
    if not data:
        break
    #sendall 可以通过socket给客户端发送数据
    conn.sendall(reply)
conn.close()
s.close()
