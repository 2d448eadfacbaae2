/* A broken TCP client for `sockscope check`: it assumes one recv returns
 * the whole answer, and closes after it. Connects to 127.0.0.1:argv[1]. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(atoi(argv[1]));
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) { perror("connect"); return 1; }
    const char *req = "GET /\n";
    send(s, req, strlen(req), 0);
    char buf[512];
    ssize_t n = recv(s, buf, sizeof buf, 0);
    printf("got %zd bytes\n", n);
    close(s);
    return 0;
}
