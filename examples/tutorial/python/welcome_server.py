#!/usr/bin/env python3
#coding=utf-8
# The tutorial's server for many clients at once (seed 003), ported to
# Python 3 with as few changes as possible:
# - print() and bytes (b'Hello,%s!' % data is the Python 2 'Hello,%s!' % data);
# - time.spleep(1), a typo that killed each thread at its first message,
#   is time.sleep(1); "Conection" is spelled "Connection";
# - HOST, PORT and the delay in seconds may be given as arguments:
#   python3 welcome_server.py [HOST] [PORT] [DELAY]
# - it prints "listening on HOST:PORT" after listen(), as the Deno version
#   does, so that port 0 (any free port) can be used.
import  socket
import  sys
import  threading
import  time
HOST = sys.argv[1] if len(sys.argv) > 1 else '127.0.0.1'
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 9999
DELAY = float(sys.argv[3]) if len(sys.argv) > 3 else 1
#创建一个基于ipv4 和tcp 面向流的socket
s = socket.socket(socket.AF_INET,socket.SOCK_STREAM)
#绑定监听的地址和端口
s.bind((HOST,PORT))
#调用listen方法进行监听，传入的参数指定等待连接的最大数量
s.listen(5)
print('listening on %s:%s' % s.getsockname())
print('Waiting for connection')
def tcplink(sock,addr):
    print('Accept new connection from %s:%s...' % addr)
    sock.send(b'Welcome')
    while True:
        # recv(max)方法，表示一次最多接受指定的字节数
        data = sock.recv(1024)
        time.sleep(DELAY)
        if data == b'exit' or not data:
            break
        sock.send(b'Hello,%s!' % data)
    sock.close()
    print('Connection from %s:%s closed' % addr)
#服务器程序通过一个永久循环接受来自客户端的连接
#accept()会等待返回一个客户端的连接
while True:
    #接受一个新连接
    sock, addr = s.accept()
    #创建一个新线程来处理tcp连接
    t = threading.Thread(target = tcplink,args=(sock,addr))
    t.start()
