//! The command line, as clap parses it. The shape follows DESIGN.md and is a
//! public contract: add flags freely, never rename or drop one.

use clap::{Parser, Subcommand};
use sockscope_core::engine::serve::{DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_PEERS};
pub use sockscope_core::ports::parse_port;
use sockscope_report::headless::Format;
use sockscope_report::program::Lang;
use sockscope_tui::theme::ThemeName;
use std::net::IpAddr;
use std::path::PathBuf;

// The bools are command-line flags (`--ascii`, `--present`, `--study`, ...),
// each independent of the others; the command line is a public contract.
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent command-line flags, as clap parses them"
)]
#[derive(Debug, Parser)]
#[command(
    name = "sockscope",
    version,
    about = "Teach socket programming by doing it for real: every step a real syscall on loopback.",
    long_about = None
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// A folder of your own lesson files (*.toml), added to the built-in
    /// lessons. Overrides `lessons` in the config file.
    #[arg(long, global = true, value_name = "DIR")]
    pub lessons: Option<PathBuf>,
    /// Read settings from FILE instead of the default config file
    /// (~/.config/sockscope/config.toml on Linux).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print a commented config file with every setting and its default, then exit.
    #[arg(long)]
    pub print_config_template: bool,
    /// Colours of the interactive screen: dark terminals, light (white)
    /// terminals, or high contrast for projectors. Overrides `theme` in the
    /// config file (dark if neither says). NO_COLOR turns colour off.
    #[arg(long, global = true, value_enum)]
    pub theme: Option<ThemeName>,
    /// Draw with plain ASCII, for terminals without box-drawing glyphs.
    #[arg(long, global = true)]
    pub ascii: bool,
    /// Presenter mode: high contrast, large heading and narration, less
    /// clutter (key P toggles it; b or . blanks the screen, f freezes it).
    #[arg(long, global = true)]
    pub present: bool,
    /// Run lessons on this machine's own loopback instead of sockscope's lab
    /// network (a private network namespace of its own, made when the kernel
    /// allows it: capture without sudo, no other program met). Overrides
    /// `host_network` in the config file. `serve` and `port` always use this
    /// machine's network.
    #[arg(long, global = true)]
    pub host_network: bool,
    /// Do not read the mouse (by default a click on a call in the lanes
    /// reviews its step and the wheel steps through the review); the
    /// terminal's own text selection then works as usual. Overrides `mouse`
    /// in the config file.
    #[arg(long, global = true)]
    pub no_mouse: bool,
    /// Forget which lessons you ran to their end (the ticks in the lesson
    /// picker): delete the progress file in your data folder, say so, and
    /// exit.
    #[arg(long)]
    pub reset_progress: bool,
    /// Study mode: before a call that has a question (what will recv
    /// return?), ask it; answer with its number, and the call runs and the
    /// kernel's real answer grades yours. Autoplay is off in study mode.
    #[arg(long, global = true)]
    pub study: bool,
    /// The code panel's language (`c` on the lesson screen opens it; again
    /// shows the next language). Overrides `code` in the config file.
    #[arg(long, global = true, value_parser = ["c", "python", "rust"])]
    pub code: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the lessons (built-in and your own), one a line, with a one-line summary.
    Lessons,
    /// Open the interactive screen on a lesson (with no command: `tcp`).
    Lesson {
        /// The lesson to open (see `sockscope lessons`).
        name: String,
        /// The port the lesson's server binds (0-65535; 0 lets the kernel choose).
        #[arg(long, default_value_t = 0, value_parser = parse_port, allow_hyphen_values = true)]
        port: u16,
    },
    /// Run a lesson to the end without a terminal and print its events.
    Trace {
        /// The lesson to run (see `sockscope lessons`).
        lesson: String,
        /// json: one event per line (JSON Lines); text: a readable transcript;
        /// markdown: a handout with each call, its narration and the diagrams.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// The port the lesson's server binds (0-65535; 0 lets the kernel choose).
        #[arg(long, default_value_t = 0, value_parser = parse_port, allow_hyphen_values = true)]
        port: u16,
        /// Run the lesson this many times back to back (each run with new
        /// sockets; in JSON, `seq` starts again at 1 for each run).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
        repeat: u32,
        /// Also write the packets captured on loopback to FILE, as a pcap
        /// file that tcpdump and Wireshark open (needs capture privilege;
        /// one run only).
        #[arg(long, value_name = "FILE", conflicts_with = "repeat")]
        pcap: Option<std::path::PathBuf>,
        /// With --pcap: replace FILE if it exists (without it, an existing
        /// file is never overwritten).
        #[arg(long, requires = "pcap")]
        force: bool,
        /// Do not capture packets, even when allowed; events' `segments`
        /// are then null.
        #[arg(long, conflicts_with = "pcap")]
        no_capture: bool,
        /// Do not read the kernel's view after each call (TCP states,
        /// queues, timers); events' `tcp_state` and `kernel` are then null.
        /// The calls and their results are the same.
        #[arg(long)]
        no_kernel: bool,
    },
    /// Explain one port number: its range, its well-known services, how this
    /// machine treats it, its bytes on the wire, and what binding it here does.
    /// Runs on this machine's network, never in the lab: it explains the machine.
    Port {
        /// The port, 0-65535 (0: the kernel picks an ephemeral port).
        #[arg(value_parser = parse_port, allow_hyphen_values = true)]
        port: u16,
        /// text: a few readable lines; json: one object (see README, "Port JSON fields").
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// A real echo server that waits for a peer you bring (nc, telnet, python,
    /// a browser) and shows every call it makes for each connection. Runs on
    /// this machine's network, never in the lab, so other terminals reach it.
    Serve {
        /// Serve UDP (recvfrom, sendto) instead of TCP.
        #[arg(long)]
        udp: bool,
        /// The port to bind (0-65535; 0 lets the kernel choose).
        #[arg(long, default_value_t = 0, value_parser = parse_port, allow_hyphen_values = true)]
        port: u16,
        /// The address to bind. Anything but loopback makes the port reachable
        /// from the network, and sockscope warns about it.
        #[arg(long, default_value = "127.0.0.1", value_name = "ADDR")]
        bind: IpAddr,
        /// How many connections to serve at once (1-1024). When all are
        /// taken, a newcomer gets the slot of the longest-idle connection of
        /// the address holding the most, or of one silent for 10 s or more;
        /// otherwise it is accepted and closed at once, with a note saying
        /// why.
        #[arg(long, default_value_t = DEFAULT_MAX_PEERS, value_parser = parse_max_peers)]
        max_peers: usize,
        /// Close a TCP connection that has sent nothing for SECS seconds
        /// (0: never), so a peer that walked away frees its slot.
        #[arg(long, value_name = "SECS", default_value_t = DEFAULT_IDLE_TIMEOUT.as_secs(), value_parser = parse_idle_timeout)]
        idle_timeout: u64,
        /// No terminal UI: print events as JSON Lines until SIGINT or SIGTERM.
        #[arg(long)]
        headless: bool,
    },
    /// Run your own program(s) under sockscope, stepped a socket call at a
    /// time: each call is held before the kernel sees it until you press
    /// Space. `sockscope run -- ./server 8080 ::: ./client 8080`. `:::`
    /// separates programs; each starts once the one before it has returned
    /// from listen (or bound a UDP socket), or has ended.
    Run {
        /// No terminal UI: print every socket call as it returns, the
        /// programs running freely.
        #[arg(long)]
        headless: bool,
        /// json: one event per line, with `trace`'s fields plus `pid`,
        /// `tid` and `comm`; text: a transcript like strace's.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Do not read the kernel's view after each call (TCP states and
        /// queues): `tcp_state` and `kernel` are then null.
        #[arg(long)]
        no_kernel: bool,
        /// Write the programs' own stdout and stderr to FILE (created or
        /// replaced) instead of sockscope's stderr, where each line is
        /// prefixed with the program's name and escaped.
        #[arg(long, value_name = "FILE")]
        program_output: Option<PathBuf>,
        /// With --headless: also write the packets captured on loopback to
        /// FILE, as a pcap file (needs capture privilege: every user has it
        /// in the lab network).
        #[arg(long, value_name = "FILE", requires = "headless")]
        pcap: Option<PathBuf>,
        /// With --pcap: replace FILE if it exists.
        #[arg(long, requires = "pcap")]
        force: bool,
        /// Do not capture packets, even when allowed; events' `segments`
        /// are then null.
        #[arg(long, conflicts_with = "pcap")]
        no_capture: bool,
        /// The program and its arguments; `:::` between programs.
        #[arg(last = true, required = true, num_args = 1.., value_name = "CMD")]
        command: Vec<std::ffi::OsString>,
    },
    /// Grade your own program in a role (tcp-server, tcp-client,
    /// udp-receiver, udp-sender, or a role file): sockscope plays the other
    /// side and checks each claim against the calls the program really
    /// made, with the evidence. `{port}` in the command line becomes the
    /// port of sockscope's server or receiver (also in SOCKSCOPE_PORT).
    /// Exit status 0 when every claim holds, 1 otherwise.
    Check {
        /// The role: a built-in's name, or a role file (ROLE.toml).
        role: String,
        /// text: a claim a line, ✓ or ✗, with its evidence; json: one
        /// object, for an autograder.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// The port sockscope's server or receiver takes (0: the kernel
        /// picks one, given to the program as `{port}`).
        #[arg(long, default_value_t = 0, value_parser = parse_port)]
        port: u16,
        /// Write the program's own stdout and stderr to FILE (otherwise
        /// they are dropped).
        #[arg(long, value_name = "FILE")]
        program_output: Option<PathBuf>,
        /// The program and its arguments.
        #[arg(last = true, required = true, num_args = 1.., value_name = "CMD")]
        command: Vec<std::ffi::OsString>,
    },
    /// Write a lesson as a program you can build and run yourself, in C,
    /// Python or Rust: the lesson's calls in the lesson's order, its
    /// narration as comments, each call's result printed. Without -o the
    /// source is printed (for Rust, src/main.rs: -o writes the Cargo
    /// project).
    Export {
        /// The lesson to write (see `sockscope lessons`).
        lesson: String,
        /// The language to write it in.
        #[arg(long, value_enum, default_value_t = Lang::C)]
        lang: Lang,
        /// Write the files into DIR (created if missing) and print how to
        /// build and run them.
        #[arg(short = 'o', long = "out", value_name = "DIR")]
        out: Option<PathBuf>,
        /// With -o: replace files that exist (without it, none is ever
        /// overwritten).
        #[arg(long, requires = "out")]
        force: bool,
    },
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `sockscope man | man -l -`.
    Man,
}

/// `--max-peers`: at least one, and few enough that the file-descriptor
/// limit is not the thing that stops the server.
pub fn parse_max_peers(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n @ 1..=1024) => Ok(n),
        _ => Err(format!("`{text}` is not a number from 1-1024")),
    }
}

/// `--idle-timeout`: seconds, 0 (never) to a day.
pub fn parse_idle_timeout(text: &str) -> Result<u64, String> {
    match text.trim().parse::<u64>() {
        Ok(n @ 0..=86_400) => Ok(n),
        _ => Err(format!(
            "`{text}` is not a number of seconds from 0-86400 (0: never)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_command_means_the_tui_and_flags_are_global() {
        let cli = Cli::try_parse_from(["sockscope"]).unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.theme, None);
        let cli = Cli::try_parse_from([
            "sockscope",
            "lesson",
            "udp",
            "--theme",
            "high-contrast",
            "--ascii",
        ])
        .unwrap();
        assert!(matches!(cli.command, Some(Command::Lesson { ref name, .. }) if name == "udp"));
        assert_eq!(cli.theme, Some(ThemeName::HighContrast));
        assert!(cli.ascii);
        assert!(Cli::try_parse_from(["sockscope", "--theme", "purple"]).is_err());
    }

    #[test]
    fn ports_parse_within_the_16_bit_range_only() {
        assert_eq!(parse_port("0"), Ok(0));
        assert_eq!(parse_port("65535"), Ok(65535));
        for bad in ["65536", "70000", "-1", "abc", "", "8o8o"] {
            let e = parse_port(bad).unwrap_err();
            assert!(e.contains("0-65535"), "{bad}: {e}");
        }
    }
}
