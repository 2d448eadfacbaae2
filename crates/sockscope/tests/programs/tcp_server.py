# A TCP server in Python, as the course writes it: for each client (argv[2],
# default 2) accept, read the message, answer, close. Port in argv[1] (0:
# the kernel picks). `sockscope run` and `check` test it.
import socket
import sys

port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
clients = int(sys.argv[2]) if len(sys.argv) > 2 else 2
listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.bind(("127.0.0.1", port))
listener.listen(8)
for _ in range(clients):
    conn, _ = listener.accept()
    data = conn.recv(512)
    conn.sendall(b"echo: " + data)
    conn.close()
listener.close()
