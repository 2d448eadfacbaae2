/* A forking TCP server: accept argv[2] clients (default 2) on
 * 127.0.0.1:argv[1]; a child per connection receives, answers and closes;
 * the parent closes its copy of the connection and waits for the children. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 0;
    int clients = argc > 2 ? atoi(argv[2]) : 2;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) { perror("bind"); return 1; }
    listen(s, 8);
    for (int i = 0; i < clients; i++) {
        int c = accept(s, NULL, NULL);
        if (c < 0) { perror("accept"); return 1; }
        if (fork() == 0) {
            close(s);
            char buf[512];
            ssize_t n = recv(c, buf, sizeof buf, 0);
            if (n > 0) send(c, buf, n, 0);
            close(c);
            _exit(0);
        }
        close(c);
    }
    close(s);
    while (wait(NULL) > 0) {}
    return 0;
}
