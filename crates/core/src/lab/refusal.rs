//! Why the kernel refused the lab, in one line: what failed, the setting or
//! profile behind it as far as this machine shows, and what would enable it.
//!
//! The kernel answers only an errno; the reason behind an EPERM is read from
//! the settings that cause one ([`Facts`]), so the sentence names the one
//! this machine has. [`Refusal::new`] is a pure function of the failure and
//! the facts, tested for each cause below.

use sockscope_sys::lab::{EnterError, Step};

/// The settings that decide whether an ordinary process may make a user
/// namespace, as read from /proc.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// /proc/sys/user/max_user_namespaces.
    pub max_user_namespaces: Option<u64>,
    /// /proc/sys/kernel/unprivileged_userns_clone (Debian's older switch).
    pub unprivileged_userns_clone: Option<u64>,
    /// /proc/sys/kernel/apparmor_restrict_unprivileged_userns (Ubuntu 23.10+).
    pub apparmor_restrict: Option<u64>,
    /// `Seccomp:` of /proc/self/status: 0 none, 1 strict, 2 a filter.
    pub seccomp: Option<u64>,
    /// Whether /proc/self/uid_map maps any id (empty in a user namespace
    /// whose maps were never written, as `unshare -U` leaves it).
    pub uid_mapped: bool,
}

fn number(path: &str) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

impl Facts {
    #[must_use]
    pub fn read() -> Facts {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        Facts {
            max_user_namespaces: number("/proc/sys/user/max_user_namespaces"),
            unprivileged_userns_clone: number("/proc/sys/kernel/unprivileged_userns_clone"),
            apparmor_restrict: number("/proc/sys/kernel/apparmor_restrict_unprivileged_userns"),
            seccomp: status
                .lines()
                .find_map(|l| l.strip_prefix("Seccomp:"))
                .and_then(|v| v.trim().parse().ok()),
            uid_mapped: std::fs::read_to_string("/proc/self/uid_map")
                .is_ok_and(|m| !m.trim().is_empty()),
        }
    }
}

/// The kernel refused the lab: which call, its errno, and the sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub step: Step,
    /// The errno's name (EPERM, ENOSPC, ...).
    pub errno: String,
    /// Why, and what would enable the lab, in one sentence.
    pub why: String,
}

impl Refusal {
    #[must_use]
    pub fn new(e: &EnterError, facts: &Facts) -> Refusal {
        let errno = e.errno().unwrap_or(0);
        Refusal {
            step: e.step,
            errno: crate::vocab::errno::lookup(errno).name.to_string(),
            why: why(e.step, errno, facts),
        }
    }

    /// The one line printed at startup.
    #[must_use]
    pub fn line(&self) -> String {
        format!(
            "no lab network (the kernel refused {}: {}): {}; running on the host network, this machine's loopback",
            self.step.name(),
            self.errno,
            self.why
        )
    }
}

fn why(step: Step, errno: i32, f: &Facts) -> String {
    match (step, errno) {
        (Step::Unshare, libc::ENOSPC) if f.max_user_namespaces == Some(0) => {
            "user namespaces are switched off (user.max_user_namespaces = 0); \
             `sudo sysctl -w user.max_user_namespaces=15000` enables them"
                .into()
        }
        (Step::Unshare, libc::ENOSPC) => format!(
            "this user has as many user namespaces as user.max_user_namespaces allows ({}); \
             close some, or raise it with `sudo sysctl -w user.max_user_namespaces=15000`",
            f.max_user_namespaces
                .map_or_else(|| "unknown".into(), |n| n.to_string())
        ),
        (Step::Unshare, libc::EPERM) if !f.uid_mapped => {
            "sockscope runs in a user namespace whose uid_map is empty (as `unshare -U` leaves it), \
             and an unmapped user may not make another; run it outside that namespace, or in one \
             with a mapping (`unshare -U --map-current-user`)"
                .into()
        }
        (Step::Unshare, libc::EPERM) if f.unprivileged_userns_clone == Some(0) => {
            "ordinary users may not make user namespaces here (kernel.unprivileged_userns_clone = 0); \
             `sudo sysctl -w kernel.unprivileged_userns_clone=1` allows it"
                .into()
        }
        (Step::Unshare | Step::UnshareNet, libc::EPERM) if f.seccomp == Some(2) => {
            "a seccomp filter refused unshare (a container's profile, most likely); \
             run the container with `--security-opt seccomp=unconfined`, or allow unshare in its profile"
                .into()
        }
        (Step::Unshare, libc::EUSERS) => {
            "user namespaces are nested 32 deep already, the kernel's limit; \
             run sockscope from an outer namespace"
                .into()
        }
        (Step::Unshare, libc::EINVAL) => {
            "the process had started a thread before entering the lab, which the kernel forbids \
             (a bug in sockscope: please report it)"
                .into()
        }
        (Step::Setgroups | Step::UidMap | Step::GidMap | Step::UnshareNet, libc::EPERM)
            if f.apparmor_restrict == Some(1) =>
        {
            "AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns = 1); \
             allow sockscope with a profile in /etc/apparmor.d/ holding \
             `profile sockscope /path/to/sockscope flags=(unconfined) { userns, }`, or for every \
             program `sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`"
                .into()
        }
        _ => "the kernel's user namespace settings or a security module forbid it here; \
              check user.max_user_namespaces, kernel.unprivileged_userns_clone and \
              kernel.apparmor_restrict_unprivileged_userns"
            .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(step: Step, errno: i32, facts: Facts) -> String {
        let e = EnterError {
            step,
            error: std::io::Error::from_raw_os_error(errno),
        };
        Refusal::new(&e, &facts).line()
    }

    fn mapped() -> Facts {
        Facts {
            uid_mapped: true,
            ..Facts::default()
        }
    }

    #[test]
    fn each_cause_names_its_setting_and_the_way_to_enable_the_lab() {
        let off = Facts {
            max_user_namespaces: Some(0),
            ..mapped()
        };
        let line = refused(Step::Unshare, libc::ENOSPC, off);
        assert!(line.contains("unshare(CLONE_NEWUSER): ENOSPC"), "{line}");
        assert!(
            line.contains("sudo sysctl -w user.max_user_namespaces=15000"),
            "{line}"
        );

        let line = refused(Step::Unshare, libc::EPERM, Facts::default());
        assert!(line.contains("uid_map is empty"), "{line}");

        let debian = Facts {
            unprivileged_userns_clone: Some(0),
            ..mapped()
        };
        let line = refused(Step::Unshare, libc::EPERM, debian);
        assert!(
            line.contains("kernel.unprivileged_userns_clone=1"),
            "{line}"
        );

        let container = Facts {
            seccomp: Some(2),
            ..mapped()
        };
        let line = refused(Step::Unshare, libc::EPERM, container);
        assert!(line.contains("seccomp=unconfined"), "{line}");

        let ubuntu = Facts {
            apparmor_restrict: Some(1),
            ..mapped()
        };
        let line = refused(Step::UidMap, libc::EPERM, ubuntu);
        assert!(line.contains("writing /proc/self/uid_map: EPERM"), "{line}");
        assert!(line.contains("userns,"), "{line}");
        assert!(
            line.contains("kernel.apparmor_restrict_unprivileged_userns=0"),
            "{line}"
        );
    }

    #[test]
    fn a_refusal_is_one_line_that_ends_on_the_host_network() {
        for (step, errno) in [
            (Step::Unshare, libc::EPERM),
            (Step::Unshare, libc::ENOSPC),
            (Step::UidMap, libc::EPERM),
            (Step::UnshareNet, libc::EACCES),
        ] {
            let line = refused(step, errno, mapped());
            assert!(!line.contains('\n'), "{line}");
            assert!(line.ends_with("running on the host network, this machine's loopback"));
        }
    }
}
