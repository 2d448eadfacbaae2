/* A broken TCP server for `sockscope check`: it listens, then reads from
 * the listening socket itself instead of accepting a connection (recv on
 * a listener fails with ENOTCONN). Port in argv[1] (0: the kernel picks). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(argc > 1 ? atoi(argv[1]) : 0);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) return 1;
    if (listen(s, 8) < 0) return 1;
    char buf[512];
    if (recv(s, buf, sizeof buf, 0) < 0) perror("recv");
    close(s);
    return 1;
}
