/* A TCP server as the course writes it: socket, bind, listen, then for
 * each of N clients (argv[2], default 1) accept, recv one message, send an
 * answer, close. Port in argv[1] (0: the kernel picks). sockscope run and
 * check test it; the calls are the course's blocking sequence. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 0;
    int clients = argc > 2 ? atoi(argv[2]) : 1;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) { perror("bind"); return 1; }
    if (listen(s, 8) < 0) { perror("listen"); return 1; }
    for (int i = 0; clients == 0 || i < clients; i++) {
        int c = accept(s, NULL, NULL);
        if (c < 0) { perror("accept"); return 1; }
        char buf[512];
        ssize_t n = recv(c, buf, sizeof buf, 0);
        if (n > 0) {
            char reply[600];
            int len = snprintf(reply, sizeof reply, "echo: %.*s", (int)n, buf);
            send(c, reply, len, 0);
        }
        close(c);
    }
    close(s);
    printf("served %d\n", clients);
    return 0;
}
