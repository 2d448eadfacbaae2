//! Export a run's captured frames as a classic pcap file that tcpdump,
//! Wireshark and every other capture tool read.
//!
//! The link type is Ethernet: `lo` gives each packet a 14-byte Ethernet
//! header with both MACs zero, which is exactly what `tcpdump -i lo -w`
//! records too.

use super::capture::FRAME_BUF;
use super::segment::Frame;
use pcap_file::DataLink;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use std::io::Write;

/// Write `frames` as pcap to `out`.
pub fn write(out: impl Write, frames: &[Frame]) -> Result<(), pcap_file::PcapError> {
    let header = PcapHeader {
        datalink: DataLink::ETHERNET,
        snaplen: FRAME_BUF as u32,
        ..PcapHeader::default()
    };
    let mut w = PcapWriter::with_header(out, header)?;
    for f in frames {
        w.write_packet(&PcapPacket::new(f.time, f.orig_len, &f.data))?;
    }
    Ok(())
}

/// Write `frames` to the file at `path`.
pub fn write_file(path: &std::path::Path, frames: &[Frame]) -> std::io::Result<()> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    write(&mut file, frames).map_err(std::io::Error::other)?;
    // A BufWriter dropped unflushed loses its write error: flush, so a full
    // disk is reported.
    file.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pcap_file::pcap::PcapReader;
    use std::time::Duration;

    #[test]
    fn frames_read_back_identical() {
        let frames = vec![
            Frame {
                n: 1,
                time: Duration::new(1_700_000_000, 123_456_000),
                data: vec![0; 54],
                orig_len: 54,
            },
            Frame {
                n: 2,
                time: Duration::new(1_700_000_001, 0),
                data: (0..=255).collect(),
                orig_len: 256,
            },
        ];
        let mut buf = Vec::new();
        write(&mut buf, &frames).unwrap();
        let mut r = PcapReader::new(&buf[..]).unwrap();
        assert_eq!(r.header().datalink, DataLink::ETHERNET);
        for f in &frames {
            let p = r.next_packet().unwrap().unwrap();
            assert_eq!(
                (p.timestamp, p.orig_len, &p.data[..]),
                (f.time, f.orig_len, &f.data[..])
            );
        }
        assert!(r.next_packet().is_none());
    }
}
