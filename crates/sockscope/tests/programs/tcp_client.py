# A TCP client in Python: connect to 127.0.0.1:argv[1], send a request,
# read until the server closes, close.
import socket
import sys

sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.connect(("127.0.0.1", int(sys.argv[1])))
sock.sendall(b"GET /\n")
answer = b""
while True:
    piece = sock.recv(512)
    if not piece:
        break
    answer += piece
print(len(answer), "bytes")
sock.close()
