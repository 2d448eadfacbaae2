//! The in-kernel filter on the capture socket: a classic BPF program that
//! keeps only IPv4 TCP and UDP frames to or from sockscope's own ports (and
//! ICMP, which carries port-unreachable errors about our datagrams).
//!
//! Of the two copies of each frame `lo` shows a packet socket, it keeps the
//! one taken on the way out. That copy is taken in the sender's own
//! transmit path, inside the system call that sent it: when close(2)
//! returns, its FIN is already in the capture. The arriving copy is taken
//! later, when the receive softirq runs, which on a busy machine the kernel
//! hands to ksoftirqd, after the call has returned and its packets were
//! looked for.
//!
//! `lo` carries every loopback conversation on the machine. Without a filter,
//! a paused lesson's capture socket would fill its buffer with other
//! programs' traffic and the kernel would then drop the next step's packets.
//! The program is rebuilt whenever the engine learns a new port (a bind, the
//! destination of a connect or sendto), like tcpdump's
//! `tcp port A or tcp port B`.

use std::collections::BTreeSet;

/// One classic BPF instruction (`struct sock_filter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

// Opcodes, as <linux/filter.h> composes them.
const LDW_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const LDH_ABS: u16 = 0x28; // BPF_LD | BPF_H | BPF_ABS
const LDB_ABS: u16 = 0x30; // BPF_LD | BPF_B | BPF_ABS
const LDH_IND: u16 = 0x48; // BPF_LD | BPF_H | BPF_IND
const LDX_MSH: u16 = 0xb1; // BPF_LDX | BPF_B | BPF_MSH: X = 4 * (P[k] & 0xf)
const JEQ: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const JSET: u16 = 0x45; // BPF_JMP | BPF_JSET | BPF_K
const RET: u16 = 0x06; // BPF_RET | BPF_K

/// The ancillary load of the frame's packet type (`SKF_AD_OFF +
/// SKF_AD_PKTTYPE` in <linux/filter.h>): not a byte of the frame but the
/// `sll_pkttype` the socket would report. The offset is negative; BPF reads
/// it as the u32 of the same bits.
const PKTTYPE: u32 = (libc::SKF_AD_OFF + libc::SKF_AD_PKTTYPE) as u32;
/// `PACKET_OUTGOING`: the copy of a frame this host sent.
const OUTGOING: u32 = libc::PACKET_OUTGOING as u32;

/// Bytes of a frame the filter keeps (all of it, up to the capture buffer).
const KEEP: u32 = 0x40000;

/// Jump offsets are one byte, so the program holds at most this many ports;
/// a lesson uses a handful.
pub const MAX_PORTS: usize = 100;

/// The program that keeps frames whose source or destination port is in
/// `ports` (the first [`MAX_PORTS`] of them).
///
/// # Panics
///
/// If a jump offset did not fit in its byte, which cutting `ports` to
/// [`MAX_PORTS`] rules out.
#[must_use]
pub fn program(ports: &BTreeSet<u16>) -> Vec<Insn> {
    let ports: Vec<u16> = ports.iter().copied().take(MAX_PORTS).collect();
    let n = ports.len();
    // Layout: 12 fixed instructions, n source-port tests, one load, n
    // destination-port tests, then DROP and ACCEPT.
    let drop_at = 13 + 2 * n;
    let accept_at = drop_at + 1;
    let mut p = Vec::with_capacity(accept_at + 1);
    let ins = |code, jt, jf, k| Insn { code, jt, jf, k };
    // Relative jump from instruction `at` to `to`.
    let off = |at: usize, to: usize| u8::try_from(to - at - 1).expect("program fits");
    p.push(ins(LDW_ABS, 0, 0, PKTTYPE)); // 0: which copy
    p.push(ins(JEQ, 0, off(1, drop_at), OUTGOING)); // 1: the outgoing one only
    p.push(ins(LDH_ABS, 0, 0, 12)); // 2: EtherType
    p.push(ins(JEQ, 0, off(3, drop_at), 0x0800)); // 3: IPv4?
    p.push(ins(LDB_ABS, 0, 0, 23)); // 4: IP protocol
    p.push(ins(JEQ, off(5, accept_at), 0, 1)); // 5: ICMP: keep
    p.push(ins(JEQ, 1, 0, 6)); // 6: TCP: to the ports
    p.push(ins(JEQ, 0, off(7, drop_at), 17)); // 7: UDP, or drop
    p.push(ins(LDH_ABS, 0, 0, 20)); // 8: flags and fragment offset
    p.push(ins(JSET, off(9, drop_at), 0, 0x1fff)); // 9: a later fragment has no ports
    p.push(ins(LDX_MSH, 0, 0, 14)); // 10: X = IP header length
    p.push(ins(LDH_IND, 0, 0, 14)); // 11: source port
    for (i, port) in ports.iter().enumerate() {
        let at = 12 + i;
        p.push(ins(JEQ, off(at, accept_at), 0, u32::from(*port)));
    }
    p.push(ins(LDH_IND, 0, 0, 16)); // destination port
    for (i, port) in ports.iter().enumerate() {
        let at = 13 + n + i;
        p.push(ins(JEQ, off(at, accept_at), 0, u32::from(*port)));
    }
    p.push(ins(RET, 0, 0, 0)); // DROP
    p.push(ins(RET, 0, 0, KEEP)); // ACCEPT
    debug_assert_eq!(p.len(), accept_at + 1);
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    /// A classic BPF interpreter for the instructions `program` uses, so the
    /// tests run the program exactly as the kernel would, on the outgoing
    /// copy of a frame.
    fn run(p: &[Insn], pkt: &[u8]) -> u32 {
        run_copy(p, pkt, OUTGOING)
    }

    /// The same, on the copy of a frame whose packet type is `pkttype`.
    fn run_copy(prog: &[Insn], pkt: &[u8], pkttype: u32) -> u32 {
        // `a` and `x` are classic BPF's two registers, A and X.
        let (mut a, mut x, mut pc) = (0u32, 0u32, 0usize);
        let half = |offset: usize| {
            pkt.get(offset..offset + 2)
                .map(|bytes| u32::from(u16::from_be_bytes([bytes[0], bytes[1]])))
        };
        loop {
            let insn = prog[pc];
            pc += 1;
            match insn.code {
                LDW_ABS if insn.k == PKTTYPE => a = pkttype,
                LDH_ABS => match half(insn.k as usize) {
                    Some(value) => a = value,
                    None => return 0,
                },
                LDB_ABS => match pkt.get(insn.k as usize) {
                    Some(&value) => a = u32::from(value),
                    None => return 0,
                },
                LDH_IND => match half((x + insn.k) as usize) {
                    Some(value) => a = value,
                    None => return 0,
                },
                LDX_MSH => match pkt.get(insn.k as usize) {
                    Some(&value) => x = 4 * u32::from(value & 0xf),
                    None => return 0,
                },
                JEQ => pc += usize::from(if a == insn.k { insn.jt } else { insn.jf }),
                JSET => pc += usize::from(if a & insn.k != 0 { insn.jt } else { insn.jf }),
                RET => return insn.k,
                code => panic!("unexpected opcode {code:#x}"),
            }
        }
    }

    fn udp(sp: u16, dp: u16) -> Vec<u8> {
        let mut f = Vec::new();
        PacketBuilder::ethernet2([0; 6], [0; 6])
            .ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
            .udp(sp, dp)
            .write(&mut f, b"x")
            .unwrap();
        f
    }

    fn tcp(sp: u16, dp: u16) -> Vec<u8> {
        let mut f = Vec::new();
        PacketBuilder::ethernet2([0; 6], [0; 6])
            .ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
            .tcp(sp, dp, 1, 100)
            .syn()
            .write(&mut f, b"")
            .unwrap();
        f
    }

    #[test]
    fn keeps_our_ports_either_way_and_drops_the_rest() {
        let p = program(&[8080, 40000].into());
        assert_eq!(run(&p, &tcp(50000, 8080)), KEEP);
        assert_eq!(run(&p, &tcp(8080, 50000)), KEEP);
        assert_eq!(run(&p, &udp(40000, 9)), KEEP);
        assert_eq!(run(&p, &tcp(50000, 50001)), 0);
        assert_eq!(run(&p, &udp(1, 2)), 0);
        let mut ipv6 = tcp(8080, 8080);
        ipv6[12..14].copy_from_slice(&[0x86, 0xdd]);
        assert_eq!(run(&p, &ipv6), 0);
        assert_eq!(run(&p, &[0; 10]), 0, "short frames are dropped");
        // PACKET_HOST (0): the arriving copy of the same frame.
        assert_eq!(run_copy(&p, &tcp(50000, 8080), 0), 0, "one copy only");
    }

    #[test]
    fn no_ports_keeps_nothing_but_icmp() {
        let p = program(&BTreeSet::new());
        assert_eq!(run(&p, &tcp(1, 2)), 0);
        let mut icmp = udp(1, 2);
        icmp[23] = 1;
        assert_eq!(run(&p, &icmp), KEEP);
    }

    #[test]
    fn the_largest_program_still_jumps_within_range() {
        let many: BTreeSet<u16> = (1000..1000 + MAX_PORTS as u16 + 50).collect();
        let p = program(&many);
        assert_eq!(p.len(), 15 + 2 * MAX_PORTS);
        assert_eq!(run(&p, &tcp(5, 1000)), KEEP);
        assert_eq!(run(&p, &tcp(1000 + MAX_PORTS as u16 - 1, 5)), KEEP);
    }
}
