
// What a send left for the next: the kernel may take fewer bytes than
// asked (a short count is not an error), and the rest is the program's.
struct unsent {
    const char *at;
    size_t len;
};

// After a send of `len` bytes at `at` returned `n`: what is still to send.
static void keep(struct unsent *u, const char *at, size_t len, long n) {
    size_t taken = n > 0 ? (size_t)n : 0;
    u->at = at + taken;
    u->len = len - taken;
}
