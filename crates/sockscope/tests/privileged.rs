//! The `privileged` lesson's narration, checked as root and as an ordinary
//! user. Its bind-80 step has no `expect` (the result depends on who runs
//! it), so this file checks both outcomes it describes, following this
//! machine's real ip_unprivileged_port_start.

mod common;
#[path = "support/setpriv.rs"]
mod setpriv;

use serde_json::Value;

fn events(out: std::process::Output) -> Vec<Value> {
    assert!(out.status.success(), "{out:?}");
    common::json_lines(&out)
}

fn bind_80(ev: &[Value]) -> &Value {
    ev.iter()
        .find(|e| e["call"] == "bind" && e["args"].as_str().unwrap().ends_with("127.0.0.1:80"))
        .unwrap()
}

/// Every step but bind 80 carries an `expect`; all of them hold.
fn claims_hold(ev: &[Value]) {
    for e in ev {
        for c in e["checks"].as_array().unwrap() {
            assert_eq!(c["ok"], true, "{e}");
        }
    }
    let free = ev
        .iter()
        .find(|e| e["args"].as_str().unwrap().ends_with("127.0.0.1:0"))
        .unwrap();
    let local: std::net::SocketAddr = free["local"].as_str().unwrap().parse().unwrap();
    assert!(
        local.port() >= setpriv::unprivileged_port_start(),
        "ephemeral ports are unprivileged"
    );
}

#[test]
fn as_nobody_bind_80_is_eacces_unless_the_threshold_allows_it() {
    if !setpriv::available() {
        return;
    }
    let b = setpriv::binary();
    let ev = events(setpriv::output(&mut setpriv::as_nobody(
        &b,
        &["trace", "privileged", "--format", "json"],
    )));
    claims_hold(&ev);
    let bind = bind_80(&ev);
    if setpriv::unprivileged_port_start() > 80 {
        assert_eq!(bind["result"], "EACCES", "{bind}");
        assert!(
            bind["explain"]
                .as_str()
                .unwrap()
                .contains("CAP_NET_BIND_SERVICE")
        );
    } else {
        println!("ip_unprivileged_port_start <= 80: port 80 is not privileged on this machine");
        assert_ne!(bind["result"], "EACCES", "{bind}");
    }
}

#[test]
fn as_root_bind_80_succeeds_and_without_the_capability_it_does_not() {
    if !setpriv::am_root() {
        sockscope_core::testing::skip("the tests do not run as root");
        return;
    }
    let ev = events(
        common::bin()
            .args(["trace", "privileged", "--format", "json"])
            .output()
            .unwrap(),
    );
    claims_hold(&ev);
    let bind = bind_80(&ev);
    if bind["result"] == "EADDRINUSE" {
        sockscope_core::testing::skip("another program holds port 80 here");
        return;
    }
    if setpriv::unprivileged_port_start() > 80 && !setpriv::have_cap_net_bind_service() {
        // The narration's "unless it was dropped" case.
        assert_eq!(bind["result"], "EACCES", "{bind}");
        return;
    }
    assert_eq!(bind["result"], "ok", "{bind}");
    assert_eq!(bind["local"], "127.0.0.1:80");
    if !setpriv::available() {
        return;
    }
    if setpriv::unprivileged_port_start() <= 80 {
        sockscope_core::testing::skip(
            "the capability half: ip_unprivileged_port_start <= 80 lets everyone bind port 80 here",
        );
        return;
    }
    // Root is allowed because of CAP_NET_BIND_SERVICE, as the narration says.
    let b = setpriv::binary();
    let ev = events(setpriv::output(&mut setpriv::without_caps(
        &b,
        &["trace", "privileged", "--format", "json"],
    )));
    assert_eq!(bind_80(&ev)["result"], "EACCES");
}

#[test]
fn the_narration_names_both_outcomes_and_the_threshold() {
    let l = sockscope_core::lesson::builtin("privileged").unwrap();
    let step = l
        .steps
        .iter()
        .find(|s| s.addr.as_deref() == Some("127.0.0.1:80"))
        .unwrap();
    assert!(step.expect.is_empty(), "the result depends on who runs it");
    for needle in [
        "ip_unprivileged_port_start",
        "CAP_NET_BIND_SERVICE",
        "EACCES",
        "root",
    ] {
        assert!(
            step.why.to_lowercase().contains(&needle.to_lowercase()),
            "{needle}"
        );
    }
}
