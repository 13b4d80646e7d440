# The tutorial's smallest client (seed 004), already Python 3; changes:
# - the server's address may be given as arguments:
#   python3 ninhao_client.py [HOST] [PORT]
import socket
import sys
HOST = sys.argv[1] if len(sys.argv) > 1 else 'localhost'
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 8000
client = socket.socket()
client.connect((HOST,PORT)) # 三次握手
print(client.recv(1024).decode()) # 处理消息
client.close()
