#coding=utf-8
# The tutorial's TCP client (seeds 000 to 002), ported to Python 3 with as
# few changes as possible:
# - print(), input() for raw_input(), and bytes (.encode() to send,
#   .decode() to print);
# - the server's address may be given as arguments, and defaults to this
#   machine (the tutorial's server was 192.168.1.102):
#   python3 send_client.py [HOST] [PORT]
import sys
from socket import *

HOST = sys.argv[1] if len(sys.argv) > 1 else '127.0.0.1'
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 7788
## 创建socket
tcpClientSocket = socket(AF_INET, SOCK_STREAM)
## 链接服务器
serAddr = (HOST, PORT)
tcpClientSocket.connect(serAddr)
## 提示用户输入数据
sendData = input("请输入要发送的数据:")
tcpClientSocket.send(sendData.encode())
## 接收对方发送过来的数据，最大接收1024个字节
recvData = tcpClientSocket.recv(1024)
print('接收到的数据为:', recvData.decode('utf-8', 'replace'))
## 关闭套接字
tcpClientSocket.close()
