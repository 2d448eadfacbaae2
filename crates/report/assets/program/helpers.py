# ---- Taking turns ------------------------------------------------------------

changed = threading.Condition()
turn = [0]                         # the step whose call may start now
in_call = {a: 0 for a in ACTORS}   # the step each actor's thread is making a call for, or 0
tid = {a: 0 for a in ACTORS}       # each actor's thread, for /proc/self/task/TID
done = set()                       # the steps whose every call has returned
last = threading.local()           # this thread's last errno (0: the call worked)


def run(step, call, on):
    """Wait for step's turn, make the call (on the socket named `on`, None
    for socket()), print what it returned, and
    return that (None if it failed: then last.errno says why)."""
    actor = STEPS[step][0]
    with changed:
        changed.wait_for(lambda: turn[0] == step)
        in_call[actor] = step
        tid[actor] = threading.get_native_id()
    # The socket's fd, read before the call (close() makes it -1).
    fd = "" if on is None else str(getattr(sock, on).fileno())
    try:
        result, last.errno = call(), 0
    except OSError as e:
        result, last.errno = None, e.errno
    with changed:
        in_call[actor] = 0
        changed.notify_all()
    head = f"{step:3}  {actor:<8} {STEPS[step][1]}({fd})"
    if last.errno:
        say(f"{head} = -1 {errno.errorcode.get(last.errno, last.errno)} ({os.strerror(last.errno)})")
    elif isinstance(result, socket.socket):
        say(f"{head} = {result.fileno()}")
    elif isinstance(result, (bytes, tuple)):
        data = result[0] if isinstance(result, tuple) else result
        shown = repr(data[:40])[2:-1] + ("..." if len(data) > 40 else "")
        say(f"{head} = {len(data)}" + (f'\n     "{shown}"' if data else ""))
    elif isinstance(result, list):
        say(f"{head} = {len(result)}")
    else:
        say(f"{head} = {result or 0}")
    return result


def say(text):
    """One write per line, so two threads' lines never mix."""
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except OSError:
        pass  # stdout went away (| head): the lesson goes on


def finish(step):
    """Every call of step has returned."""
    with changed:
        done.add(step)
        changed.notify_all()


def asleep(t):
    """Has the kernel got thread t asleep inside a system call? Its state in
    /proc/self/task/TID/stat is S, /proc/self/task/TID/syscall names a call
    instead of "running", and the call is not the futex a thread waiting
    for Python's own lock sleeps in."""
    try:
        with open(f"/proc/self/task/{t}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        with open(f"/proc/self/task/{t}/syscall") as f:
            call = f.read()
        with open(f"/proc/self/task/{t}/wchan") as f:
            wchan = f.read()
    except (OSError, IndexError):
        return False
    return state == "S" and not call.startswith("running") and "futex" not in wchan


def wait_step(step):
    """The conductor's wait after giving step its turn: until its calls have
    returned or, for a call the lesson lets wait while later steps run, the
    kernel has its thread asleep in it; then until every actor it wakes has
    had its waiting call return."""
    actor, _, parks, wakes = STEPS[step]
    while True:
        with changed:
            finished = step in done
            calling = in_call[actor] == step
            t = tid[actor]
        if finished:
            break
        if parks and calling and asleep(t):
            say(f"{step:3}  {actor:<8} {STEPS[step][1]} ... waiting: the kernel has the thread asleep in the call")
            break
        time.sleep(0.001)  # look again in 1 ms
    for woken in wakes:
        with changed:
            changed.wait_for(lambda: in_call[woken] == 0)
