# The tutorial's smallest server (seed 004), already Python 3; changes:
# - HOST and PORT may be given as arguments: python3 ninhao_server.py [HOST] [PORT]
# - it prints "listening on HOST:PORT" after listen(), as the Deno version
#   does, so that port 0 (any free port) can be used.
import socket
import sys
HOST = sys.argv[1] if len(sys.argv) > 1 else 'localhost'
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 8000
server = socket.socket(socket.AF_INET,socket.SOCK_STREAM)
server.bind((HOST,PORT)) # 绑定端口
server.listen() # 开始监听,既建立连接池
print('listening on %s:%s' % server.getsockname())
conn,addr = server.accept()  # 取出连接池的连接三次握手
conn.send('您好'.encode())  # 处理接收信息
conn.close()  # 四次挥手
