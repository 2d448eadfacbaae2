/* A TCP client: connect to 127.0.0.1:argv[1], send argv[2] (default
 * "hello"), read the whole answer (until the server closes), close.
 * argv[3], if given, is how many times to do it (the benchmark: 10000). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: tcp_client PORT [MSG] [TIMES]\n"); return 2; }
    const char *msg = argc > 2 ? argv[2] : "hello";
    int times = argc > 3 ? atoi(argv[3]) : 1;
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(atoi(argv[1]));
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    for (int i = 0; i < times; i++) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) { perror("connect"); return 1; }
        send(s, msg, strlen(msg), 0);
        char buf[512];
        ssize_t n, total = 0;
        while ((n = recv(s, buf, sizeof buf, 0)) > 0) total += n;
        close(s);
        if (times == 1) printf("got %zd bytes\n", total);
    }
    return 0;
}
