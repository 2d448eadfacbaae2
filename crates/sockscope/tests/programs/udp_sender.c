/* A UDP sender: sendto 127.0.0.1:argv[1] the message argv[2] (default
 * "ping"), wait for the answer with recvfrom, close. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: udp_sender PORT [MSG]\n"); return 2; }
    const char *msg = argc > 2 ? argv[2] : "ping";
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(atoi(argv[1]));
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    sendto(s, msg, strlen(msg), 0, (struct sockaddr *)&a, sizeof a);
    char buf[512];
    ssize_t n = recvfrom(s, buf, sizeof buf, 0, NULL, NULL);
    if (n < 0) { perror("recvfrom"); return 1; }
    close(s);
    return 0;
}
