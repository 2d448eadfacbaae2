//! Who gets a slot when every slot is taken: the rule that keeps one
//! student's script from locking a lecture hall out.
//!
//! `serve` holds at most `max_peers` connections. Before this rule, the
//! 65th connection was closed at once, so 64 connections sending one byte a
//! second (slowloris) held every slot, and every real student who came after
//! them was turned away. Now, when a newcomer finds every slot taken:
//!
//! 1. If some address holds more slots than the newcomer's address would
//!    after joining (it holds at least two more), that address yields: its
//!    longest-idle connection is closed and the newcomer takes the slot. A
//!    script holding 64 slots from one address loses one to each student who
//!    arrives from another address, and cannot win them back by
//!    reconnecting (its own address already holds the most).
//! 2. Otherwise, a connection idle for at least [`YIELD_AFTER`] yields, the
//!    longest-idle first, provided its address holds at least one more slot
//!    than the newcomer's: in a hall where everyone holds one slot, a
//!    student who has been silent for a while makes room for one who
//!    arrives; a script reconnecting from an address that already holds
//!    slots cannot push anyone out this way.
//! 3. Otherwise the newcomer is accepted and closed at once, with the reason
//!    (as before): every slot is held by a fair share of active peers.
//!
//! The rule reads only the slots' addresses and idle times, so it is a pure
//! function, tested below without sockets.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// How long a connection must have been silent before rule 2 may close it
/// for a newcomer.
pub const YIELD_AFTER: Duration = Duration::from_secs(10);

/// One held slot: which connection, from which address, silent since when.
#[derive(Debug, Clone, Copy)]
pub struct Slot<K> {
    pub key: K,
    pub ip: IpAddr,
    pub last_heard: Instant,
}

/// What to do with a newcomer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admit<K> {
    /// A slot is free.
    Seat,
    /// Close this connection and seat the newcomer; why, in words.
    Yield(K, String),
    /// Every slot is fairly held: close the newcomer.
    Refuse,
}

/// Decide for a newcomer from `ip`, with `slots` held out of `max`.
pub fn admit<K: Copy>(slots: &[Slot<K>], max: usize, ip: IpAddr, now: Instant) -> Admit<K> {
    if slots.len() < max {
        return Admit::Seat;
    }
    let mut held: HashMap<IpAddr, usize> = HashMap::new();
    for s in slots {
        *held.entry(s.ip).or_default() += 1;
    }
    let mine = held.get(&ip).copied().unwrap_or(0);
    let idle = |s: &Slot<K>| now.saturating_duration_since(s.last_heard);
    // Rule 1: the address holding the most, if it holds at least two more
    // than the newcomer's; its longest-idle connection.
    if let Some((&greedy, &most)) = held.iter().max_by_key(|(ip, n)| (**n, **ip))
        && most > mine + 1
        && let Some(victim) = slots
            .iter()
            .filter(|s| s.ip == greedy)
            .max_by_key(|s| idle(s))
    {
        return Admit::Yield(
            victim.key,
            format!(
                "yielded its slot: all {max} slots were taken and {greedy} held {most} of them, the most of any address; its longest-idle connection is closed so that {ip} can be served"
            ),
        );
    }
    // Rule 2: the longest-idle connection silent for YIELD_AFTER, from an
    // address that holds more than the newcomer's.
    if let Some(victim) = slots
        .iter()
        .filter(|s| idle(s) >= YIELD_AFTER && held[&s.ip] > mine)
        .max_by_key(|s| idle(s))
    {
        return Admit::Yield(
            victim.key,
            format!(
                "yielded its slot: all {max} slots were taken and this connection had been silent for {} s, the longest; it is closed so that {ip} can be served",
                idle(victim).as_secs()
            ),
        );
    }
    Admit::Refuse
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    fn slots(now: Instant, spec: &[(u8, u64)]) -> Vec<Slot<usize>> {
        spec.iter()
            .enumerate()
            .map(|(key, &(last, idle_s))| Slot {
                key,
                ip: ip(last),
                last_heard: now.checked_sub(Duration::from_secs(idle_s)).unwrap(),
            })
            .collect()
    }

    #[test]
    fn a_free_slot_seats_anyone() {
        let now = Instant::now();
        assert_eq!(admit(&slots(now, &[(1, 0)]), 2, ip(1), now), Admit::Seat);
    }

    #[test]
    fn a_script_holding_every_slot_yields_its_idlest_to_a_student() {
        let now = Instant::now() + Duration::from_secs(100);
        // 64 slowloris connections from .1, each heard within the last second.
        let held: Vec<(u8, u64)> = (0..64u64).map(|i| (1, i % 2)).collect();
        let s = slots(now, &held);
        match admit(&s, 64, ip(2), now) {
            Admit::Yield(k, why) => {
                assert_eq!(s[k].ip, ip(1));
                assert_eq!(now - s[k].last_heard, Duration::from_secs(1));
                assert!(why.contains("127.0.0.1 held 64"), "{why}");
            }
            other => panic!("{other:?}"),
        }
        // The script reconnecting from its own address wins nothing back.
        assert_eq!(admit(&s, 64, ip(1), now), Admit::Refuse);
    }

    #[test]
    fn among_equals_only_a_long_silence_yields() {
        let now = Instant::now() + Duration::from_secs(100);
        let busy = slots(now, &[(1, 1), (2, 2), (3, 3)]);
        assert_eq!(admit(&busy, 3, ip(4), now), Admit::Refuse);
        let quiet = slots(now, &[(1, 1), (2, 30), (3, 12)]);
        assert!(matches!(admit(&quiet, 3, ip(4), now), Admit::Yield(1, _)));
        // A newcomer whose address already holds a slot cannot push out a
        // silent student this way.
        assert_eq!(admit(&quiet, 3, ip(1), now), Admit::Refuse);
    }
}
