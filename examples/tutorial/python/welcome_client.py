#!/usr/bin/env python3
#coding=utf-8
# The tutorial's client for the welcome server (seed 003), ported to Python 3
# with as few changes as possible:
# - print() and bytes (.encode() to send, .decode() to print);
# - the server's address may be given as arguments:
#   python3 welcome_client.py [HOST] [PORT]
import socket
import sys
HOST = sys.argv[1] if len(sys.argv) > 1 else '127.0.0.1'
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 9999
#创建一个IPV4，和TCP 面向流的连接
s = socket.socket(socket.AF_INET,socket.SOCK_STREAM)
#创建tcp连接
    #连接参数是一个tuple 包含服务器地址和端口号
s.connect((HOST,PORT))
#s.recv(max)方法，表示一次做多接受指定的字节数
#打印出第一次接收到的服务器的1024个字节
print(s.recv(1024).decode('utf-8', 'replace'))
for data in ['ning','yan','ke']:
    #s.send向服务器发送请求要求，要求返回相应的内容
    s.send(data.encode())
    print(s.recv(1024).decode('utf-8', 'replace'))
s.send(b'exit')
s.close()
