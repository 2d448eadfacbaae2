//! The seccomp filter that stops a traced program only at its socket calls.
//!
//! A classic-BPF program the kernel runs at every syscall entry of the
//! program (and of every process and thread it makes: the filter is
//! inherited and cannot be removed). It reads `struct seccomp_data` (the
//! syscall number at offset 0, the architecture at offset 4):
//!
//! ```text
//!   ld  [4]                  ; arch
//!   jeq ARCH, +1, +0         ; this build's architecture?
//!   ret ALLOW                ; another ABI (i386 on x86_64): run untraced
//!   ld  [0]                  ; nr
//!   jeq NR_1, ->trace        ; one test per traced call
//!   ...
//!   ret ALLOW                ; every other call runs at full speed
//! trace:
//!   ret TRACE                ; stop for the tracer (PTRACE_EVENT_SECCOMP)
//! ```
//!
//! Hand-written rather than with the seccompiler crate: it is a dozen
//! instructions, and libc already has every type and constant it needs.
//! SECCOMP_RET_TRACE without a tracer would fail the call with ENOSYS, so
//! the filter is only installed in a child that has asked to be traced.
//! x32 calls (x86_64 with bit 30 set in the number) match no number here,
//! so they run untraced too.

use super::Sys;

/// `AUDIT_ARCH_*` of this build: the ELF machine, marked 64-bit and
/// little-endian (linux/audit.h: `EM_X86_64 | __AUDIT_ARCH_64BIT |
/// __AUDIT_ARCH_LE`). libc has the `EM_*` numbers but not the audit ones.
const AUDIT_ARCH_64BIT: u32 = 0x8000_0000;
const AUDIT_ARCH_LE: u32 = 0x4000_0000;
#[cfg(target_arch = "x86_64")]
const MACHINE: u16 = libc::EM_X86_64;
#[cfg(target_arch = "aarch64")]
const MACHINE: u16 = libc::EM_AARCH64;
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!("sockscope run supports x86_64 and aarch64");
pub const AUDIT_ARCH: u32 = MACHINE as u32 | AUDIT_ARCH_64BIT | AUDIT_ARCH_LE;

// Classic BPF opcodes (linux/bpf_common.h), as libc spells them.
const LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
const JEQ_K: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
const RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;

/// Offsets into `struct seccomp_data`.
const NR_AT: u32 = 0;
const ARCH_AT: u32 = 4;

fn stmt(code: u16, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

/// A filter program, ready to install.
#[derive(Debug, Clone)]
pub struct Filter {
    code: Vec<libc::sock_filter>,
}

impl Filter {
    /// Stop (SECCOMP_RET_TRACE) at the calls in `traced`; allow the rest.
    ///
    /// # Panics
    ///
    /// If `traced` holds 255 calls or more: a conditional jump reaches at
    /// most 255 instructions ahead (there are a few dozen socket calls).
    #[must_use]
    pub fn new(traced: &[Sys]) -> Filter {
        // A conditional jump reaches at most 255 instructions ahead; there
        // are a few dozen socket calls.
        assert!(traced.len() < 255, "too many traced calls for one BPF jump");
        let n = traced.len();
        let mut code = vec![
            stmt(LD_W_ABS, ARCH_AT),
            jump(JEQ_K, AUDIT_ARCH, 1, 0),
            stmt(RET_K, libc::SECCOMP_RET_ALLOW),
            stmt(LD_W_ABS, NR_AT),
        ];
        for (i, s) in traced.iter().enumerate() {
            // From instruction 4 + i, the `ret TRACE` at 4 + n + 1 is
            // n - i instructions past the next one.
            let ahead = u8::try_from(n - i).expect("checked above");
            code.push(jump(JEQ_K, s.nr() as u32, ahead, 0));
        }
        code.push(stmt(RET_K, libc::SECCOMP_RET_ALLOW));
        code.push(stmt(RET_K, libc::SECCOMP_RET_TRACE));
        Filter { code }
    }

    /// The `sock_fprog` that prctl(PR_SET_SECCOMP) takes; it points into
    /// `self`, which must outlive its use.
    ///
    /// # Panics
    ///
    /// If the program is longer than `u16::MAX` instructions, which the
    /// limit in [`Filter::new`] rules out.
    #[must_use]
    pub fn prog(&self) -> libc::sock_fprog {
        libc::sock_fprog {
            len: u16::try_from(self.code.len()).expect("a short program"),
            filter: self.code.as_ptr().cast_mut(),
        }
    }

    /// How many instructions (for a test).
    #[must_use]
    pub fn len(&self) -> usize {
        self.code.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.code.is_empty()
    }
}
