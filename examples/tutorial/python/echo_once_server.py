#!/usr/bin/env python3
#coding=utf-8
# The tutorial's first echo server (seed 003, "向客户端发送数据"), ported to
# Python 3 with as few changes as possible:
# - print(), "except socket.error as msg", and bytes;
# - conn.resv(1024), a typo, is conn.recv(1024); str([1]), which printed
#   "[1]", is str(addr[1]); "Connected with" gets the space the tutorial's
#   own output shows; "Bind faild" is spelled "Bind failed";
# - HOST and PORT may be given as arguments: python3 echo_once_server.py [HOST] [PORT]
# - it prints "listening on HOST:PORT" after listen(), as the Deno version
#   does, so that port 0 (any free port) can be used.
import socket
import sys
HOST = sys.argv[1] if len(sys.argv) > 1 else '127.0.0.1'   #symbolic name meaning all available interfaces
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 8888  #Arbitrary non-privileged port
s = socket.socket(socket.AF_INET,socket.SOCK_STREAM)
print('Socket created ')
#创建绑定，
#bind函数用于将socket绑定到一个特定的地址和端口，它需要一个类似与connect函数所需的sockaddr_in结构体
try:
    s.bind((HOST,PORT))
except socket.error as msg:
    print('Bind failed ,Error Code: ' + str(msg.errno) + ' Message ' + msg.strerror)
    sys.exit()
print('Socket bind complete')
#开始监听链接
#listen函数所需的参数成为 backlog 用来控制程序忙时可保持等待状态的连接数。这里我们传递的是10
#意味着如果已经有10个链接在等待处理，那么第11个被拒绝
s.listen(10)
print('Socket now listening')
print('listening on %s:%s' % s.getsockname())
#wait to accept a connetction-blocking call
conn,addr = s.accept()
#display client information
print('Connected with ' + addr[0] + ':' + str(addr[1]))
#now keep talking with the client
data = conn.recv(1024)
conn.sendall(data)
#关闭打开的新生成的套接字conn，关闭最开始生成的套接字s
conn.close()
s.close()
