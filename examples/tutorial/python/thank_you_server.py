#coding=utf-8
# The tutorial's TCP server (seeds 000 to 002), ported to Python 3 with as
# few changes as possible:
# - print() and bytes (.encode() to send, .decode() to print);
# - HOST and PORT may be given as arguments: python3 thank_you_server.py [HOST] [PORT]
# - it prints "listening on HOST:PORT" after listen(), as the Deno version
#   does, so that port 0 (any free port) can be used.
import sys
from socket import *

HOST = sys.argv[1] if len(sys.argv) > 1 else ''
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 7788
## 创建socket
tcpSerSocket = socket(AF_INET, SOCK_STREAM)
## 绑定本地信息
address = (HOST, PORT)
tcpSerSocket.bind(address)
## 使用socket创建的套接字默认的属性是主动的，使用listen将其变为被动的，这样就可以接收别人的链接了
tcpSerSocket.listen(5)
print('listening on %s:%s' % tcpSerSocket.getsockname())
## 如果有新的客户端来链接服务器，那么就产生一个新的套接字专门为这个客户端服务器
## newSocket用来为这个客户端服务
## tcpSerSocket就可以省下来专门等待其他新客户端的链接
newSocket, clientAddr = tcpSerSocket.accept()
## 接收对方发送过来的数据，最大接收1024个字节
recvData = newSocket.recv(1024)
print('接收到的数据为:', recvData.decode('utf-8', 'replace'))
## 发送一些数据到客户端
newSocket.send("thank you !".encode())
## 关闭为这个客户端服务的套接字，只要关闭了，就意味着为不能再为这个客户端服务了，如果还需要服务，只能再次重新连接
newSocket.close()
## 关闭监听套接字，只要这个套接字关闭了，就意味着整个程序不能再接收任何新的客户端的连接
tcpSerSocket.close()
