/* A broken TCP server for `sockscope check`: it answers each client but
 * never closes the connection, and goes straight back to accept. Port in
 * argv[1] (0: the kernel picks). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
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
    for (;;) {
        int c = accept(s, NULL, NULL);
        if (c < 0) return 1;
        char buf[512];
        ssize_t n = recv(c, buf, sizeof buf, 0);
        if (n > 0) send(c, buf, n, 0);
        /* forgot: close(c); */
    }
}
