// ---- Taking turns ----------------------------------------------------------

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int turn;               // the step whose call may start now
static int in_call[ACTORS];    // the step each actor's thread is making a call for, or 0
static pid_t tid[ACTORS];      // each actor's thread, for /proc/self/task/TID
static int done[STEPS + 1];    // every call of step N has returned

// Wait for step's turn, then note that its thread is in the call.
static void begin(int step) {
    int a = STEP[step].actor;
    pthread_mutex_lock(&lock);
    while (turn != step)
        pthread_cond_wait(&changed, &lock);
    in_call[a] = step;
    tid[a] = gettid();
    pthread_mutex_unlock(&lock);
}

// The call of `step` on `fd` returned `ret`: note it and print it. errno is
// read first (printf may change it) and left as the call set it.
static long said(int step, int fd, long ret) {
    int err = errno;
    pthread_mutex_lock(&lock);
    in_call[STEP[step].actor] = 0;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
    printf("%3d  %-8s %s(", step, ACTOR[STEP[step].actor], STEP[step].call);
    if (fd >= 0)
        printf("%d", fd);
    if (ret == -1)
        printf(") = -1 %s (%s)\n", strerrorname_np(err), strerror(err));
    else
        printf(") = %ld\n", ret);
    errno = err;
    return ret;
}

// A receive: print it, and the bytes it read (escaped, the first 40).
__attribute__((unused)) static void said_data(int step, int fd, long n, const char *buf) {
    said(step, fd, n);
    if (n <= 0)
        return;
    int err = errno;
    printf("     \"");
    for (long i = 0; i < n && i < 40; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c == '\n') printf("\\n");
        else if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c >= 0x20 && c < 0x7f) putchar(c);
        else printf("\\x%02x", c);
    }
    printf(n > 40 ? "\"...\n" : "\"\n");
    errno = err;
}

// Every call of step has returned.
static void finish(int step) {
    pthread_mutex_lock(&lock);
    done[step] = 1;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

// Read a small /proc file into text; 0 if it cannot be read.
static int read_proc(const char *path, char *text, size_t size) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t len = read(fd, text, size - 1);
    close(fd);
    if (len <= 0)
        return 0;
    text[len] = '\0';
    return 1;
}

// Has the kernel got thread `t` asleep inside a system call? Its state in
// /proc/self/task/TID/stat (the field after the name in parentheses) is S,
// and /proc/self/task/TID/syscall names a call instead of "running".
static int asleep(pid_t t) {
    char path[64], text[512];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)t);
    if (!read_proc(path, text, sizeof text))
        return 0;
    char *end = strrchr(text, ')');
    if (end == NULL || end[1] != ' ' || end[2] != 'S')
        return 0;
    snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)t);
    if (!read_proc(path, text, sizeof text))
        return 0;
    return strncmp(text, "running", 7) != 0;
}

// The conductor's wait after giving `step` its turn: until its calls have
// returned or, for a call the lesson lets wait while later steps run, the
// kernel has its thread asleep in it; then until every actor it wakes has
// had its waiting call return.
static void wait_step(int step) {
    const struct step *s = &STEP[step];
    for (;;) {
        pthread_mutex_lock(&lock);
        int finished = done[step];
        int calling = in_call[s->actor] == step;
        pid_t t = tid[s->actor];
        pthread_mutex_unlock(&lock);
        if (finished)
            break;
        if (s->parks && calling && asleep(t)) {
            printf("%3d  %-8s %s ... waiting: the kernel has the thread asleep in the call\n",
                   step, ACTOR[s->actor], s->call);
            break;
        }
        nanosleep(&(struct timespec){0, 1000000}, NULL); // look again in 1 ms
    }
    for (int a = 0; a < ACTORS; a++) {
        if (!(s->wakes & (1u << a)))
            continue;
        pthread_mutex_lock(&lock);
        while (in_call[a] != 0)
            pthread_cond_wait(&changed, &lock);
        pthread_mutex_unlock(&lock);
    }
}

// An IPv4 address and port (host byte order), as a sockaddr_in.
__attribute__((unused)) static struct sockaddr_in ipv4(const char *ip, int port) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}
