//! `sockscope port N`, run as a student would run it, checked against the
//! kernel: /proc's settings, sockets the test itself holds, and the same
//! binary run as the user nobody and as root without capabilities.

mod common;
#[path = "support/setpriv.rs"]
mod setpriv;

use common::{bin, ephemeral_range};
use serde_json::Value;

fn report(port: &str) -> Value {
    let out = bin()
        .args(["port", port, "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "port {port}: {out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn names(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn range_names_privilege_and_bytes_for_many_ports() {
    // (port, course range, IANA name, TCP names, UDP names, header bytes)
    type Case = (
        u16,
        &'static str,
        &'static str,
        &'static [&'static str],
        &'static [&'static str],
        &'static str,
    );
    let cases: &[Case] = &[
        (0, "well-known", "System", &[], &[], "00 00"),
        (1, "well-known", "System", &["tcpmux"], &[], "00 01"),
        (21, "well-known", "System", &["ftp"], &["fsp"], "00 15"),
        (80, "well-known", "System", &["http"], &[], "00 50"),
        (443, "well-known", "System", &["https"], &["https"], "01 bb"),
        (1023, "well-known", "System", &[], &[], "03 ff"),
        (1024, "general", "User", &[], &[], "04 00"),
        (8080, "general", "User", &["http-alt"], &[], "1f 90"),
        (32768, "general", "User", &[], &[], "80 00"),
        (49151, "general", "User", &[], &[], "bf ff"),
        (49152, "dynamic", "Dynamic", &[], &[], "c0 00"),
        (60999, "dynamic", "Dynamic", &[], &[], "ee 47"),
        (65535, "dynamic", "Dynamic", &[], &[], "ff ff"),
    ];
    let start = setpriv::unprivileged_port_start();
    let (lo, hi) = ephemeral_range();
    for &(port, range, iana, tcp, udp, bytes) in cases {
        let v = report(&port.to_string());
        assert_eq!(v["port"], port);
        assert_eq!(v["range"]["name"], range, "{port}");
        assert_eq!(v["range"]["iana"], iana, "{port}");
        let (low, high) = (
            v["range"]["low"].as_u64().unwrap(),
            v["range"]["high"].as_u64().unwrap(),
        );
        assert!((low..=high).contains(&u64::from(port)), "{port}");
        // The bundled Debian netbase table names these; /etc/services may add more.
        let got_tcp = names(&v["services"]["tcp"]);
        let got_udp = names(&v["services"]["udp"]);
        for n in tcp {
            assert!(got_tcp.iter().any(|g| g == n), "{port}/tcp: {got_tcp:?}");
        }
        for n in udp {
            assert!(got_udp.iter().any(|g| g == n), "{port}/udp: {got_udp:?}");
        }
        for s in v["services"]["tcp"].as_array().unwrap() {
            assert!(!s["sources"].as_array().unwrap().is_empty());
        }
        assert_eq!(v["wire"]["hex"], bytes, "{port}");
        // This machine's settings, as /proc says them.
        assert_eq!(v["machine"]["unprivileged_port_start"], start);
        assert_eq!(
            v["machine"]["privileged"],
            port != 0 && port < start,
            "{port}"
        );
        assert_eq!(v["machine"]["ephemeral_range"], serde_json::json!([lo, hi]));
        assert_eq!(
            v["machine"]["iana_dynamic_range"],
            serde_json::json!([49152, 65535])
        );
        if port != 0 {
            assert_eq!(
                v["machine"]["ephemeral"],
                (lo..=hi).contains(&port),
                "{port}"
            );
        }
        // A real bind happened for both protocols and was released.
        for proto in ["tcp", "udp"] {
            let b = &v["bind"][proto];
            assert_eq!(b["addr"], format!("127.0.0.1:{port}"));
            assert_eq!(b["released"], "ok", "{port}/{proto}");
            let result = b["result"].as_str().unwrap();
            assert!(
                ["ok", "EADDRINUSE", "EACCES"].contains(&result),
                "{port}/{proto}: {b}"
            );
        }
    }
}

#[test]
fn names_say_which_table_gave_them() {
    let v = report("80");
    let http = &v["services"]["tcp"][0];
    assert_eq!(http["name"], "http");
    let sources: Vec<&str> = http["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(sources[0].starts_with("Debian netbase "), "{sources:?}");
    let etc = std::fs::read_to_string("/etc/services").unwrap_or_default();
    let listed_here = etc
        .lines()
        .any(|l| l.split_whitespace().take(2).eq(["http", "80/tcp"]));
    assert_eq!(
        sources.contains(&"/etc/services"),
        listed_here,
        "{sources:?}"
    );
}

#[test]
fn port_0_shows_the_port_the_kernel_picked() {
    let (lo, hi) = ephemeral_range();
    let v = report("0");
    assert!(v["note"].as_str().unwrap().contains("kernel"));
    for proto in ["tcp", "udp"] {
        let b = &v["bind"][proto];
        assert_eq!(b["result"], "ok");
        let bound: std::net::SocketAddr = b["bound"].as_str().unwrap().parse().unwrap();
        assert!(
            (lo..=hi).contains(&bound.port()),
            "{bound} outside {lo}-{hi}"
        );
    }
    let out = bin().args(["port", "0"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("the kernel chose port"), "{text}");
    assert!(text.contains(&format!("{lo}-{hi}")), "{text}");
}

#[test]
fn a_port_held_by_another_socket_reports_eaddrinuse_and_the_holder() {
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let me = std::process::id();
    for (proto, port) in [
        ("tcp", tcp.local_addr().unwrap().port()),
        ("udp", udp.local_addr().unwrap().port()),
    ] {
        let v = report(&port.to_string());
        let b = &v["bind"][proto];
        assert_eq!(b["result"], "EADDRINUSE", "{b}");
        assert_eq!(b["errno"], libc::EADDRINUSE);
        let holders = b["holders"].as_array().unwrap();
        assert!(
            holders.iter().any(|h| h["pid"] == me),
            "{proto} {port}: holder should be this test, pid {me}: {b}"
        );
        let out = bin().args(["port", &port.to_string()]).output().unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("EADDRINUSE"), "{text}");
        assert!(text.contains(&format!("pid {me}")), "{text}");
    }
}

#[test]
fn privileged_port_is_eacces_for_nobody_and_allowed_for_root() {
    if !setpriv::available() {
        return;
    }
    let start = setpriv::unprivileged_port_start();
    let b = setpriv::binary();
    let run = |mut c: std::process::Command| -> Value {
        let out = setpriv::output(&mut c);
        assert!(out.status.success(), "{out:?}");
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let v = run(setpriv::as_nobody(&b, &["port", "80", "--format", "json"]));
    assert_eq!(v["machine"]["uid"], 65534);
    assert_eq!(v["machine"]["cap_net_bind_service"], false);
    for proto in ["tcp", "udp"] {
        let r = &v["bind"][proto];
        if start > 80 {
            assert_eq!(r["result"], "EACCES", "{r}");
            assert_eq!(r["errno"], libc::EACCES);
            let why = r["why"].as_str().unwrap();
            assert!(
                why.contains(&format!("ip_unprivileged_port_start = {start}")),
                "{why}"
            );
            assert!(why.contains("CAP_NET_BIND_SERVICE"), "{why}");
        } else {
            println!("ip_unprivileged_port_start = {start}: port 80 is not privileged here");
            assert_ne!(r["result"], "EACCES", "{r}");
            assert_eq!(v["machine"]["privileged"], false);
        }
    }
    // A port at or above the threshold is never EACCES for nobody.
    let v = run(setpriv::as_nobody(
        &b,
        &["port", &start.max(1024).to_string(), "--format", "json"],
    ));
    for proto in ["tcp", "udp"] {
        assert_ne!(v["bind"][proto]["result"], "EACCES");
    }
    if !setpriv::am_root() {
        sockscope_core::testing::skip("the root path: the tests do not run as root");
        return;
    }
    // Root, with CAP_NET_BIND_SERVICE: allowed, and the reason is named.
    let v = report("80");
    for proto in ["tcp", "udp"] {
        let r = &v["bind"][proto];
        match r["result"].as_str().unwrap() {
            "EACCES" if start > 80 && !setpriv::have_cap_net_bind_service() => {
                println!("root without CAP_NET_BIND_SERVICE here (dropped by the container)");
            }
            "ok" if start > 80 => {
                assert!(
                    r["why"]
                        .as_str()
                        .unwrap()
                        .contains("holds CAP_NET_BIND_SERVICE"),
                    "{r}"
                );
            }
            "ok" => {}
            "EADDRINUSE" => sockscope_core::testing::skip(&format!(
                "the root bind of 80/{proto}: the port is in use here"
            )),
            other => panic!("root bind of 80/{proto}: {other}"),
        }
    }
    // Root without the capability: uid 0 is not what matters, the capability is.
    if start > 80 {
        let v = run(setpriv::without_caps(
            &b,
            &["port", "80", "--format", "json"],
        ));
        assert_eq!(v["machine"]["uid"], 0);
        assert_eq!(v["machine"]["cap_net_bind_service"], false);
        assert_eq!(v["bind"]["tcp"]["result"], "EACCES");
    }
}

#[test]
fn bad_ports_exit_2_with_one_line_naming_the_range() {
    for bad in ["70000", "65536", "-1", "abc", ""] {
        let out = bin().args(["port", bad]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "port {bad:?}");
        assert!(out.stdout.is_empty());
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "port {bad:?}: {err}");
        assert!(err.contains("0-65535"), "port {bad:?}: {err}");
        assert!(
            !err.contains("backtrace") && !err.contains("panicked"),
            "{err}"
        );
    }
}

#[test]
fn the_text_report_tells_everything_in_a_few_lines() {
    let out = bin().args(["port", "80"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "Port 80",
        "0-1023",
        "well-known",
        "System Ports",
        "RFC 6335",
        "http",
        "Debian netbase 6.",
        "ip_unprivileged_port_start",
        "ip_local_port_range",
        "00 50",
        "bind(127.0.0.1:80)",
    ] {
        assert!(text.contains(needle), "missing {needle} in\n{text}");
    }
    assert!(text.lines().count() <= 14, "{text}");
}

#[test]
fn a_closed_connection_in_time_wait_still_holds_its_port_and_no_process_owns_it() {
    use std::io::Read;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (mut server, _) = listener.accept().unwrap();
    let port = client.local_addr().unwrap().port();
    // The client closes first, so its end of the connection goes to
    // TIME_WAIT once the server's FIN arrives.
    drop(client);
    let mut buf = [0u8; 1];
    assert_eq!(server.read(&mut buf).unwrap(), 0, "the server reads EOF");
    drop(server);
    // Wait (bounded) until the kernel's table shows the TIME_WAIT socket.
    let hex = format!(":{port:04X} ");
    let in_time_wait = || {
        std::fs::read_to_string("/proc/net/tcp")
            .unwrap()
            .lines()
            .any(|l| {
                l.contains(&format!("0100007F{hex}")) && l.split_whitespace().nth(3) == Some("06")
            })
    };
    for _ in 0..200 {
        if in_time_wait() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(in_time_wait(), "no TIME_WAIT socket on port {port}");
    let v = report(&port.to_string());
    let b = &v["bind"]["tcp"];
    assert_eq!(b["result"], "EADDRINUSE", "{b}");
    let tw = b["holders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["state"] == "TIME_WAIT")
        .unwrap_or_else(|| panic!("{b}"));
    assert_eq!(tw["pid"], Value::Null);
    assert_eq!(tw["inode"], 0);
    assert!(tw["who"].as_str().unwrap().contains("no process"), "{tw}");
}

#[test]
fn a_holder_in_another_users_process_is_named_as_unseen() {
    if !setpriv::available() {
        return;
    }
    // This test process holds the port; nobody may not read its fds.
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = udp.local_addr().unwrap().port().to_string();
    let b = setpriv::binary();
    let out = setpriv::output(&mut setpriv::as_nobody(
        &b,
        &["port", &port, "--format", "json"],
    ));
    assert!(out.status.success(), "{out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = &v["bind"]["udp"];
    assert_eq!(r["result"], "EADDRINUSE", "{r}");
    let h = &r["holders"][0];
    assert_eq!(h["pid"], Value::Null, "{h}");
    assert!(
        h["who"]
            .as_str()
            .unwrap()
            .contains("could not see which process"),
        "{h}"
    );
}

#[test]
fn eacces_names_the_threshold_and_the_commands_that_get_past_it() {
    if !setpriv::available() {
        return;
    }
    let start = setpriv::unprivileged_port_start();
    if start <= 80 {
        sockscope_core::testing::skip(&format!(
            "ip_unprivileged_port_start = {start}, so port 80 is not privileged here"
        ));
        return;
    }
    let b = setpriv::binary();
    let out = setpriv::output(&mut setpriv::as_nobody(&b, &["port", "80"]));
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let tcp = text
        .lines()
        .find(|l| l.trim_start().starts_with("bind TCP"))
        .unwrap();
    assert!(
        tcp.contains(&format!("net.ipv4.ip_unprivileged_port_start = {start}")),
        "{tcp}"
    );
    assert!(
        tcp.contains(&format!("use a port from {start} up")),
        "{tcp}"
    );
    assert!(
        tcp.contains(&format!(
            "sudo setcap cap_net_bind_service+ep {}",
            b.path.display()
        )),
        "{tcp}"
    );
}

#[test]
fn a_holders_process_name_is_escaped_whatever_it_calls_itself() {
    use std::io::BufRead;
    if std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI installs python3"
        );
        sockscope_core::testing::skip("python3 is not installed (.ci/run installs it)");
        return;
    }
    // A process renames itself to an escape sequence (as prctl(PR_SET_NAME)
    // does) and holds a port.
    let mut holder = std::process::Command::new("python3")
        .args([
            "-c",
            "import socket\n\
             open('/proc/self/comm', 'w').write('\\x1b]0;pwned\\x07\\x1b[2J')\n\
             s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()\n\
             print(s.getsockname()[1], flush=True)\n\
             import sys; sys.stdin.read()\n",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(holder.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line.trim().to_string();
    let out = bin().args(["port", &port]).output().unwrap();
    drop(holder.stdin.take());
    let _ = holder.wait();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("EADDRINUSE"), "{text}");
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}'),
        "{text:?}"
    );
    assert!(text.contains("\\x1b]0;pwned\\x07"), "{text}");
}
