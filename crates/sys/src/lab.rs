//! The lab network's system calls: a private user and network namespace for
//! this process, its loopback brought up, and one capability given back.
//!
//! Why a user namespace: creating a network namespace needs CAP_SYS_ADMIN,
//! which an ordinary user does not hold. But an ordinary user may create a
//! *user* namespace (unless the administrator forbids it), and the creator of
//! a user namespace holds every capability inside it, over the namespaces it
//! owns. Unsharing both at once (`CLONE_NEWUSER | CLONE_NEWNET`) makes the
//! new network namespace owned by the new user namespace, so in it this
//! process may open AF_PACKET sockets (CAP_NET_RAW), set the namespace's
//! sysctls and netfilter rules (CAP_NET_ADMIN), and nothing on the machine
//! outside is touched.
//!
//! The kernel allows `CLONE_NEWUSER` only to a single-threaded process (a
//! thread left behind would share memory with a process whose credentials
//! changed), so [`enter`] must run before any thread or async runtime
//! starts: sockscope calls it first thing in `main`. The policy around it
//! (when to enter, what a refusal means, what the screen says) is in
//! `sockscope_core::lab`; this module only makes the calls and reports
//! which one failed and with what errno.

use std::fmt;
use std::io;

/// The steps of [`enter`], in the order they run; a failure names one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// `unshare(CLONE_NEWUSER)`.
    Unshare,
    /// Writing `deny` to /proc/self/setgroups: the kernel requires it before
    /// an unprivileged process may write its gid_map (otherwise the process
    /// could drop a supplementary group that was denying it access).
    Setgroups,
    /// Writing /proc/self/uid_map.
    UidMap,
    /// Writing /proc/self/gid_map.
    GidMap,
    /// `unshare(CLONE_NEWNET)`, from inside the new user namespace.
    UnshareNet,
    /// Bringing `lo` up (SIOCSIFFLAGS).
    LoUp,
}

impl Step {
    /// The call or file, as a user would look it up.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Step::Unshare => "unshare(CLONE_NEWUSER)",
            Step::Setgroups => "writing /proc/self/setgroups",
            Step::UidMap => "writing /proc/self/uid_map",
            Step::GidMap => "writing /proc/self/gid_map",
            Step::UnshareNet => "unshare(CLONE_NEWNET)",
            Step::LoUp => "ioctl(SIOCSIFFLAGS, lo up)",
        }
    }
}

/// Which step of [`enter`] failed, and the kernel's answer.
#[derive(Debug)]
pub struct EnterError {
    pub step: Step,
    pub error: io::Error,
}

impl EnterError {
    /// The errno, when the kernel gave one.
    #[must_use]
    pub fn errno(&self) -> Option<i32> {
        self.error.raw_os_error()
    }
}

impl fmt::Display for EnterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed: {}", self.step.name(), self.error)
    }
}

impl std::error::Error for EnterError {}

/// Move this process into a new user namespace, map its own user and group
/// ids into it unchanged, then into a new network namespace owned by it, and
/// bring that namespace's `lo` up.
///
/// The ids are mapped to themselves (`1000 1000 1`), not to 0: inside the lab
/// the learner is still themselves (files they write are theirs, `getuid()`
/// says what it says outside), and the capabilities the kernel grants the
/// creator of a user namespace do not depend on the mapping: they last until
/// the process execs a program.
///
/// Two unshares, not one with both flags: where the kernel lets a process
/// create a user namespace but not map its ids (Ubuntu's AppArmor
/// restriction makes the uid_map write fail with EPERM), the process is
/// still on the machine's network, where it can carry on as before. A
/// network namespace made in one call with the user namespace would be one
/// with `lo` down and no capability to bring it up, and no way back.
///
/// Must be called while the process has one thread (see the module comment);
/// otherwise unshare fails with EINVAL. Only a failure at [`Step::LoUp`]
/// leaves the process in a network namespace it cannot use.
pub fn enter() -> Result<(), EnterError> {
    use nix::sched::{CloneFlags, unshare};
    // SAFETY: geteuid and getegid have no preconditions and cannot fail.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    let fail = |step: Step| move |error: io::Error| EnterError { step, error };
    unshare(CloneFlags::CLONE_NEWUSER)
        .map_err(io::Error::from)
        .map_err(fail(Step::Unshare))?;
    // Until the maps are written the process's ids are unmapped in its own
    // namespace (they read as 65534, the overflow id). An unprivileged
    // process may write one line mapping its own effective id, and only
    // once, and only after giving up setgroups(2) for the namespace.
    let write =
        |step: Step, path: &str, text: String| std::fs::write(path, text).map_err(fail(step));
    write(Step::Setgroups, "/proc/self/setgroups", "deny".into())?;
    write(
        Step::UidMap,
        "/proc/self/uid_map",
        format!("{uid} {uid} 1\n"),
    )?;
    write(
        Step::GidMap,
        "/proc/self/gid_map",
        format!("{gid} {gid} 1\n"),
    )?;
    // The network namespace is owned by the user namespace the process is
    // in when it is made: the new one, where the process holds
    // CAP_NET_ADMIN and CAP_NET_RAW.
    unshare(CloneFlags::CLONE_NEWNET)
        .map_err(io::Error::from)
        .map_err(fail(Step::UnshareNet))?;
    // A new network namespace has exactly one interface, `lo`, and it is
    // down: until it is up, connect to 127.0.0.1 fails with ENETUNREACH.
    set_up("lo").map_err(fail(Step::LoUp))
}

/// An `ifreq` naming interface `name`, its other fields zero.
fn ifreq(name: &str) -> io::Result<libc::ifreq> {
    // SAFETY: `ifreq` is a plain C struct (a name array and a union of
    // integers, addresses and a pointer); all-zero bytes are a valid value
    // of every field.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    let bytes = name.as_bytes();
    if bytes.len() >= req.ifr_name.len() {
        return Err(io::Error::from_raw_os_error(libc::ENAMETOOLONG));
    }
    for (dst, &src) in req.ifr_name.iter_mut().zip(bytes) {
        *dst = src as libc::c_char;
    }
    Ok(req)
}

/// The interface flags of `name` (IFF_UP, IFF_LOOPBACK, ...), read with
/// SIOCGIFFLAGS on a throwaway UDP socket (any socket of the namespace will
/// do: the ioctl asks about the calling process's network namespace).
pub fn flags(name: &str) -> io::Result<libc::c_int> {
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None)?;
    let mut req = ifreq(name)?;
    get_flags(&sock, &mut req)?;
    // SAFETY: SIOCGIFFLAGS filled the union's `ifru_flags` member.
    Ok(libc::c_int::from(unsafe { req.ifr_ifru.ifru_flags }))
}

fn get_flags(sock: &socket2::Socket, req: &mut libc::ifreq) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: SIOCGIFFLAGS reads the name from and writes the flags into
    // the `ifreq` we pass, a live, properly aligned local; the fd is open
    // (borrowed from `sock`).
    let rc = unsafe {
        libc::ioctl(
            sock.as_raw_fd(),
            libc::SIOCGIFFLAGS,
            std::ptr::from_mut(req),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Is interface `name` up (IFF_UP)?
pub fn is_up(name: &str) -> io::Result<bool> {
    Ok(flags(name)? & libc::IFF_UP != 0)
}

/// Set IFF_UP on interface `name` (what `ip link set lo up` does, through
/// the older ioctl rather than rtnetlink: one call, no message to build).
/// Needs CAP_NET_ADMIN over the namespace, which the lab's creator holds.
pub fn set_up(name: &str) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None)?;
    let mut req = ifreq(name)?;
    get_flags(&sock, &mut req)?;
    // SAFETY: SIOCGIFFLAGS above filled `ifru_flags`; reading and writing
    // that union member is reading and writing the short it holds.
    unsafe { req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
    // SAFETY: SIOCSIFFLAGS only reads the `ifreq` (name and flags), a live
    // local; the fd is open.
    let rc = unsafe {
        libc::ioctl(
            sock.as_raw_fd(),
            libc::SIOCSIFFLAGS,
            std::ptr::from_mut(&mut req),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// CAP_NET_BIND_SERVICE's number (linux/capability.h).
pub const CAP_NET_BIND_SERVICE: u32 = 10;

/// Remove capability `cap` from this thread's effective, permitted and
/// inheritable sets (threads started later inherit the result).
///
/// Why: the lab's creator holds every capability in it, including
/// CAP_NET_BIND_SERVICE, so a bind to port 80 would succeed there even for a
/// learner who may not do it on this machine, and the `privileged` lesson
/// (which teaches this machine's rule) would teach something false. The
/// caller drops it unless the process held it before entering the lab.
///
/// capget/capset are called by number: libc declares no wrapper for them
/// and nix has none; a crate for two calls (caps) is more than they need.
pub fn drop_capability(cap: u32) -> io::Result<()> {
    // _LINUX_CAPABILITY_VERSION_3: two 32-bit words per set.
    const VERSION_3: u32 = 0x2008_0522;
    #[repr(C)]
    struct Header {
        version: u32,
        pid: libc::c_int,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    let mut header = Header {
        version: VERSION_3,
        pid: 0,
    };
    let mut data = [Data::default(); 2];
    // SAFETY: capget writes two `Data` words (version 3) through a pointer
    // to a live array of two, and may write the preferred version into the
    // live header; pid 0 means this thread.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_capget,
            std::ptr::from_mut(&mut header),
            data.as_mut_ptr(),
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    let (word, bit) = ((cap / 32) as usize, 1u32 << (cap % 32));
    let Some(d) = data.get_mut(word) else {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    };
    d.effective &= !bit;
    d.permitted &= !bit;
    d.inheritable &= !bit;
    // SAFETY: capset only reads the header and the two `Data` words, live
    // locals of the layout version 3 defines.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_capset,
            std::ptr::from_mut(&mut header),
            data.as_ptr(),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
