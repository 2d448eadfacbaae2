//! The small C programs of tests/programs/, compiled once per test binary
//! with the machine's C compiler (`cc`), for the tests of `run` and `check`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The folder with every program built, or why it could not be built (no
/// `cc`): the caller skips with that reason.
pub fn built() -> Result<&'static Path, String> {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    DIR.get_or_init(|| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/programs");
        let out = std::env::temp_dir().join(format!("sockscope-programs-{}", std::process::id()));
        std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
        for entry in std::fs::read_dir(&src).map_err(|e| e.to_string())? {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.extension().is_none_or(|x| x != "c") {
                continue;
            }
            let name = path.file_stem().unwrap();
            let status = std::process::Command::new("cc")
                .arg("-O2")
                .arg("-o")
                .arg(out.join(name))
                .arg(&path)
                .status()
                .map_err(|e| format!("no C compiler (cc): {e}"))?;
            if !status.success() {
                return Err(format!("cc failed on {}", path.display()));
            }
        }
        Ok(out)
    })
    .as_ref()
    .map(PathBuf::as_path)
    .map_err(Clone::clone)
}

/// A program's path as a string.
pub fn program(dir: &Path, name: &str) -> String {
    dir.join(name).to_string_lossy().into_owned()
}

/// A port nobody listens on right now (bound to 0, then released): the
/// programs take their port on the command line.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    port
}

/// Is a TCP socket listening on 127.0.0.1:`port` (/proc/net/tcp, state 0A)?
pub fn listening(port: u16) -> bool {
    listening_at("/proc/net/tcp", port)
}

/// The same, in the network namespace of process `pid` (a program `run`
/// started in the lab network): the kernel's table as that process sees
/// it, /proc/PID/net/tcp.
pub fn listening_in(pid: i32, port: u16) -> bool {
    listening_at(&format!("/proc/{pid}/net/tcp"), port)
}

fn listening_at(table: &str, port: u16) -> bool {
    let want = format!("0100007F:{port:04X}");
    std::fs::read_to_string(table).is_ok_and(|t| {
        t.lines().skip(1).any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.get(1) == Some(&want.as_str()) && f.get(3) == Some(&"0A")
        })
    })
}

/// Is a UDP socket bound to 127.0.0.1:`port` (/proc/net/udp)?
pub fn udp_bound(port: u16) -> bool {
    let want = format!("0100007F:{port:04X}");
    std::fs::read_to_string("/proc/net/udp").is_ok_and(|t| {
        t.lines()
            .skip(1)
            .any(|l| l.split_whitespace().nth(1) == Some(want.as_str()))
    })
}
