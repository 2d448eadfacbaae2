/* A TCP client written as an event loop writes it: a non-blocking socket,
 * connect (EINPROGRESS), poll until writable, getsockopt(SO_ERROR), send,
 * poll until readable, recv, close. Connects to 127.0.0.1:argv[1]. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(atoi(argv[1]));
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    connect(s, (struct sockaddr *)&a, sizeof a);
    struct pollfd p = {.fd = s, .events = POLLOUT};
    poll(&p, 1, 3000);
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return 1;
    send(s, "hello", 5, 0);
    p.events = POLLIN;
    poll(&p, 1, 3000);
    char buf[512];
    recv(s, buf, sizeof buf, 0);
    close(s);
    return 0;
}
