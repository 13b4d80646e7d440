#!/usr/bin/env python3
#coding=utf-8
# The tutorial's "get a whole home page" program (seed 003, "一个完整的实例"),
# ported to Python 3 with as few changes as possible:
# - print(), "except socket.error as msg", and bytes (the request is
#   encoded, the pieces are joined with b'');
# - the prints get the spaces the tutorial's own output shows
#   ("Ip address of HOST is IP"), "Faild" and "successefully" are spelled
#   "Failed" and "successfully";
# - host, port, path and file may be given as arguments (the tutorial:
#   www.sina.com.cn, 80, /, sina.html); the Host field carries the port when
#   it is not 80:
#   python3 save_page.py [HOST] [PORT] [PATH] [FILE]
#Socket client example in python
#for socket
import socket
#for exit
import sys
host = sys.argv[1] if len(sys.argv) > 1 else '127.0.0.1'
port = int(sys.argv[2]) if len(sys.argv) > 2 else 80
path = sys.argv[3] if len(sys.argv) > 3 else '/'
output = sys.argv[4] if len(sys.argv) > 4 else 'sina.html'
#处理异常
try:
    #create an AF_INET (IPV4),STREAM socket(TCP)
        #地址簇  AF_INET ----> IPV4
        #类型     SOCK_STREAM-----> 使用tcp控制协议
    s = socket.socket(socket.AF_INET,socket.SOCK_STREAM)
except socket.error as msg:
    print('Failed to create socket, Error code: ' + str(msg.errno) + ',Error message:' + msg.strerror)
    sys.exit(); #返回 systemexit异常，退出整个程序，
print('Socket Created')
#连接到服务器
#-----------------------------------------------------
#获取服务器的ip地址
try:
    remote_ip = socket.gethostbyname(host)
    #socket.gethostbyname  可以通过主机名称解析为ip地址
except socket.gaierror:
    #could not resolve
    print('Hostname could not be resolved .Exiting')
    sys.exit()
#指定服务器的ip 和端口
print('Ip address of ' + host + ' is ' + remote_ip)
#connect to remote server
s.connect((remote_ip,port))
print('Socket Connected to ' + host + ' on ip ' + remote_ip)
#-------------------------------------------------------------
#向服务器发送数据
#Send some data to remote server
#GET / HTTP/1.1\r\n\r\n 这是一个http协议的命令，用来获取网站首页的内容
message = 'GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' % (path, host if port == 80 else '%s:%s' % (host, port))
try:
    #Set the whole string
    s.sendall(message.encode())
except socket.error:
    #Send failed
    print('Send failed')
    sys.exit()
print('Message send successfully')
#接受服务器返回的数据
buffer = []
while True:
    #recv(max)方法，表示一次最多接受指定的字节数
    d = s.recv(1024)
    if d:
        buffer.append(d)
    else:
        break
#拼接了字符串data
data = b''.join(buffer)
#关闭连接
s.close()
#print data
#print buffer
header,html = data.split(b'\r\n\r\n',1)
print(header.decode('utf-8', 'replace'))
with open(output,'wb') as f:
    f.write(html)
