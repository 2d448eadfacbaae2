//! The config file: a teacher's standing choices (theme, autoplay speed, key
//! bindings, the lesson to open with, a folder of their own lessons), read
//! from `config.toml` in the platform config directory
//! (`~/.config/sockscope/config.toml` on Linux) or from `--config FILE`.
//!
//! Every setting is optional, and a command-line flag always wins over the
//! file. A bad file is reported as `FILE:LINE:COLUMN: message` and the program
//! exits 2: a typo in a config file must point at itself, not be ignored.
//! `sockscope --print-config-template` prints [`TEMPLATE`], a commented file
//! that documents every setting.

use crossterm::event::KeyCode;
use serde::{Deserialize, Deserializer};
use sockscope_core::place::line_col;
use std::fmt;
use std::path::{Path, PathBuf};

/// The commented template `--print-config-template` prints. Every line that
/// sets something is commented out and shows the default, so the file changes
/// nothing until a line is uncommented (a test checks that the uncommented
/// template parses and equals the defaults).
pub const TEMPLATE: &str = include_str!("../assets/config-template.toml");

/// Colour schemes, as `--theme` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ThemeName {
    /// Light text on a dark terminal.
    #[default]
    Dark,
    /// Dark text, readable on a white terminal.
    Light,
    /// Maximum contrast, bold, for projectors (presenter mode uses it).
    HighContrast,
}

/// What the config file says. `None` means "not set": the built-in default or
/// a command-line flag decides.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub theme: Option<ThemeName>,
    /// Autoplay speed: milliseconds between steps.
    pub autoplay_ms: Option<Millis>,
    /// The lesson `sockscope` opens with.
    pub default_lesson: Option<String>,
    /// A folder of the teacher's own lesson files. Relative paths are taken
    /// from the config file's folder.
    pub lessons: Option<PathBuf>,
    /// Start the TUI in presenter mode.
    pub present: Option<bool>,
    #[serde(default)]
    pub keys: KeyConfig,
}

/// Autoplay interval, checked to be one a human can follow and wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Millis(pub u64);

/// Bounds for `autoplay_ms`.
pub const AUTOPLAY_MS: std::ops::RangeInclusive<u64> = 100..=60_000;

impl<'de> Deserialize<'de> for Millis {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = i64::deserialize(d)?;
        match u64::try_from(n) {
            Ok(ms) if AUTOPLAY_MS.contains(&ms) => Ok(Millis(ms)),
            _ => Err(serde::de::Error::custom(format!(
                "autoplay_ms must be {}-{} milliseconds, not {n}",
                AUTOPLAY_MS.start(),
                AUTOPLAY_MS.end()
            ))),
        }
    }
}

/// The `[keys]` table: for each action, the keys that trigger it.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyConfig {
    pub step: Option<Keys>,
    pub back: Option<Keys>,
    pub now: Option<Keys>,
    pub autoplay: Option<Keys>,
    pub faster: Option<Keys>,
    pub slower: Option<Keys>,
    pub restart: Option<Keys>,
    pub lessons: Option<Keys>,
    pub port: Option<Keys>,
    pub packets: Option<Keys>,
    pub kernel: Option<Keys>,
    pub save_pcap: Option<Keys>,
    pub help: Option<Keys>,
    pub quit: Option<Keys>,
    pub present: Option<Keys>,
    pub blank: Option<Keys>,
    pub freeze: Option<Keys>,
    pub handout: Option<Keys>,
    pub narration: Option<Keys>,
}

/// One key or a list of keys, as written in the file: `"q"` or
/// `["space", "right"]`. Key names: a single character, or one of
/// `space enter esc tab backspace left right up down home end pageup pagedown
/// f1`..`f12`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys(pub Vec<KeyCode>);

impl<'de> Deserialize<'de> for Keys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(String),
            Many(Vec<String>),
        }
        let names = match OneOrMany::deserialize(d)? {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        };
        if names.is_empty() {
            return Err(serde::de::Error::custom("give at least one key"));
        }
        names
            .iter()
            .map(|n| parse_key(n).map_err(serde::de::Error::custom))
            .collect::<Result<_, _>>()
            .map(Keys)
    }
}

/// A key as the config file names it.
pub fn parse_key(name: &str) -> Result<KeyCode, String> {
    let mut chars = name.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        return Ok(KeyCode::Char(c));
    }
    let lower = name.to_ascii_lowercase();
    Ok(match lower.as_str() {
        "space" => KeyCode::Char(' '),
        "enter" => KeyCode::Enter,
        "esc" => KeyCode::Esc,
        "tab" => KeyCode::Tab,
        "backspace" => KeyCode::Backspace,
        "left" => KeyCode::Left,
        "right" => KeyCode::Right,
        "up" => KeyCode::Up,
        "down" => KeyCode::Down,
        "home" => KeyCode::Home,
        "end" => KeyCode::End,
        "pageup" => KeyCode::PageUp,
        "pagedown" => KeyCode::PageDown,
        f if f.starts_with('f') => match f[1..].parse::<u8>() {
            Ok(n @ 1..=12) => KeyCode::F(n),
            _ => return Err(format!("unknown key `{name}`")),
        },
        _ => {
            return Err(format!(
                "unknown key `{name}`: use one character, or space, enter, esc, tab, \
                 backspace, left, right, up, down, home, end, pageup, pagedown, f1-f12"
            ));
        }
    })
}

/// The bindings in force: the file's choices over the defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMap {
    pub step: Vec<KeyCode>,
    pub back: Vec<KeyCode>,
    pub now: Vec<KeyCode>,
    pub autoplay: Vec<KeyCode>,
    pub faster: Vec<KeyCode>,
    pub slower: Vec<KeyCode>,
    pub restart: Vec<KeyCode>,
    pub lessons: Vec<KeyCode>,
    pub port: Vec<KeyCode>,
    pub packets: Vec<KeyCode>,
    pub kernel: Vec<KeyCode>,
    pub save_pcap: Vec<KeyCode>,
    pub help: Vec<KeyCode>,
    pub quit: Vec<KeyCode>,
    pub present: Vec<KeyCode>,
    pub blank: Vec<KeyCode>,
    pub freeze: Vec<KeyCode>,
    pub handout: Vec<KeyCode>,
    pub narration: Vec<KeyCode>,
}

impl Default for KeyMap {
    fn default() -> Self {
        use KeyCode::*;
        KeyMap {
            step: vec![Char(' '), Right, Char('l'), Char('n'), Enter, PageDown],
            back: vec![Left, Char('h'), Char('p'), PageUp],
            now: vec![End],
            autoplay: vec![Char('a')],
            faster: vec![Char('+'), Char('=')],
            slower: vec![Char('-'), Char('_')],
            restart: vec![Char('r')],
            lessons: vec![Char('L')],
            port: vec![Char(':')],
            // P is presenter mode; the packet pane shows the hex: x.
            packets: vec![Char('x')],
            kernel: vec![Char('K')],
            save_pcap: vec![Char('w')],
            help: vec![Char('?')],
            quit: vec![Char('q')],
            present: vec![Char('P')],
            blank: vec![Char('b'), Char('.')],
            freeze: vec![Char('f')],
            handout: vec![Char('e')],
            // m for more: the whole narration when the panel cuts it.
            narration: vec![Char('m')],
        }
    }
}

impl KeyMap {
    /// Every action with its config name and keys.
    pub fn named(&self) -> [(&'static str, &Vec<KeyCode>); 19] {
        [
            ("step", &self.step),
            ("back", &self.back),
            ("now", &self.now),
            ("autoplay", &self.autoplay),
            ("faster", &self.faster),
            ("slower", &self.slower),
            ("restart", &self.restart),
            ("lessons", &self.lessons),
            ("port", &self.port),
            ("packets", &self.packets),
            ("kernel", &self.kernel),
            ("save_pcap", &self.save_pcap),
            ("help", &self.help),
            ("quit", &self.quit),
            ("present", &self.present),
            ("blank", &self.blank),
            ("freeze", &self.freeze),
            ("handout", &self.handout),
            ("narration", &self.narration),
        ]
    }

    /// A key bound to two actions: (the key, one action, the other).
    pub fn duplicate(&self) -> Option<(KeyCode, &'static str, &'static str)> {
        let named = self.named();
        for (i, (a, keys)) in named.iter().enumerate() {
            for k in keys.iter() {
                if let Some((b, _)) = named[i + 1..].iter().find(|(_, ks)| ks.contains(k)) {
                    return Some((*k, a, b));
                }
            }
        }
        None
    }
}

impl KeyConfig {
    /// The bindings this file asks for, with the defaults for the rest.
    pub fn resolve(&self) -> KeyMap {
        let d = KeyMap::default();
        let pick = |k: &Option<Keys>, def: Vec<KeyCode>| k.as_ref().map_or(def, |k| k.0.clone());
        KeyMap {
            step: pick(&self.step, d.step),
            back: pick(&self.back, d.back),
            now: pick(&self.now, d.now),
            autoplay: pick(&self.autoplay, d.autoplay),
            faster: pick(&self.faster, d.faster),
            slower: pick(&self.slower, d.slower),
            restart: pick(&self.restart, d.restart),
            lessons: pick(&self.lessons, d.lessons),
            port: pick(&self.port, d.port),
            packets: pick(&self.packets, d.packets),
            kernel: pick(&self.kernel, d.kernel),
            save_pcap: pick(&self.save_pcap, d.save_pcap),
            help: pick(&self.help, d.help),
            quit: pick(&self.quit, d.quit),
            present: pick(&self.present, d.present),
            blank: pick(&self.blank, d.blank),
            freeze: pick(&self.freeze, d.freeze),
            handout: pick(&self.handout, d.handout),
            narration: pick(&self.narration, d.narration),
        }
    }
}

/// Why the config file could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "{}:{l}:{c}: {}", self.file.display(), self.message),
            (Some(l), None) => write!(f, "{}:{l}: {}", self.file.display(), self.message),
            _ => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// A config file as loaded: where it was and what it says.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Loaded {
    /// The file read, if there was one.
    pub file: Option<PathBuf>,
    /// Its text, to place later errors (an unknown `default_lesson`).
    pub source: String,
    pub config: Config,
}

/// Where the config file lives on this platform, if there is a home.
pub fn default_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "sockscope").map(|d| d.config_dir().join("config.toml"))
}

/// The lessons folder used when neither the command line nor the file names
/// one: `lessons/` next to the default config file.
pub fn default_lessons_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "sockscope").map(|d| d.config_dir().join("lessons"))
}

/// Parse a config file's text. `file` names it in errors.
pub fn parse(file: &Path, src: &str) -> Result<Config, ConfigError> {
    toml::from_str::<Config>(src).map_err(|e| {
        let place = e.span().map(|s| line_col(src, s.start));
        ConfigError {
            file: file.to_path_buf(),
            line: place.map(|p| p.0),
            column: place.map(|p| p.1),
            message: e.message().trim().to_string(),
        }
    })
}

/// Load `explicit` (which must exist), or else the default file (which may
/// be absent: then every setting is unset).
pub fn load(explicit: Option<&Path>) -> Result<Loaded, ConfigError> {
    let (path, required) = match explicit {
        Some(p) => (p.to_path_buf(), true),
        None => match default_path() {
            Some(p) => (p, false),
            None => return Ok(Loaded::default()),
        },
    };
    let source = match std::fs::read_to_string(&path) {
        Ok(s) => s,
        // The default file is optional. Run as another user (sudo, setpriv)
        // with HOME still pointing at the first one's, it can be unreadable:
        // that is "no config here", not an error.
        Err(e)
            if !required
                && matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied
                ) =>
        {
            return Ok(Loaded::default());
        }
        Err(e) => {
            return Err(ConfigError {
                file: path,
                line: None,
                column: None,
                message: format!("cannot read the config file: {e}"),
            });
        }
    };
    let mut config = parse(&path, &source)?;
    // A relative lessons folder is relative to the file that names it, not to
    // wherever the program happens to be started.
    if let (Some(dir), Some(base)) = (&config.lessons, path.parent())
        && dir.is_relative()
    {
        config.lessons = Some(base.join(dir));
    }
    Ok(Loaded {
        file: Some(path),
        source,
        config,
    })
}

impl Loaded {
    /// An error about `key`'s value, placed at the line that sets it.
    pub fn error_at(&self, key: &str, message: String) -> ConfigError {
        let line = self.source.lines().position(|l| {
            let t = l.trim_start();
            t.starts_with(key) && t[key.len()..].trim_start().starts_with('=')
        });
        ConfigError {
            file: self.file.clone().unwrap_or_default(),
            line: line.map(|l| l + 1),
            column: line.map(|_| 1),
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uncommented_template() -> String {
        TEMPLATE
            .lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(rest) if rest.contains(" = ") || rest.starts_with('[') => rest,
                _ => l,
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn the_template_changes_nothing_until_uncommented() {
        let c = parse(Path::new("t.toml"), TEMPLATE).unwrap();
        assert_eq!(c, Config::default());
    }

    #[test]
    fn the_uncommented_template_parses_to_the_defaults() {
        let text = uncommented_template();
        let c = parse(Path::new("t.toml"), &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(c.theme, Some(ThemeName::Dark));
        assert_eq!(c.autoplay_ms, Some(Millis(3000)));
        assert_eq!(
            std::time::Duration::from_millis(3000),
            crate::app::AUTOPLAY,
            "the template shows the TUI's real default"
        );
        assert_eq!(c.default_lesson.as_deref(), Some("tcp"));
        assert_eq!(c.present, Some(false));
        assert_eq!(c.keys.resolve(), KeyMap::default());
        // Every action of the key map appears in the template.
        assert!(
            c.keys.step.is_some()
                && c.keys.handout.is_some()
                && c.keys.freeze.is_some()
                && c.keys.narration.is_some()
        );
    }

    #[test]
    fn bad_files_name_file_line_and_column() {
        let cases: &[(&str, usize, &str)] = &[
            ("theme = \"neon\"\n", 1, "neon"),
            ("\n\nautoplay_ms = 5\n", 3, "autoplay_ms must be"),
            ("speed = 3\n", 1, "speed"),
            ("[keys]\nquit = \"ctrl-q\"\n", 2, "unknown key"),
            ("[keys]\nstep = []\n", 2, "at least one key"),
            ("theme = \n", 1, ""),
        ];
        for (src, line, needle) in cases {
            let e = parse(Path::new("/etc/x.toml"), src).unwrap_err();
            assert_eq!(e.line, Some(*line), "{src:?}: {e}");
            assert!(e.column.is_some(), "{src:?}: {e}");
            assert!(
                e.to_string().starts_with(&format!("/etc/x.toml:{line}:")),
                "{e}"
            );
            assert!(e.message.contains(needle), "{src:?}: {e}");
        }
    }

    #[test]
    fn keys_are_one_or_many() {
        let c = parse(
            Path::new("k.toml"),
            "[keys]\nquit = \"x\"\nstep = [\"space\", \"F5\", \"j\"]\n",
        )
        .unwrap();
        let k = c.keys.resolve();
        assert_eq!(k.quit, vec![KeyCode::Char('x')]);
        assert_eq!(
            k.step,
            vec![KeyCode::Char(' '), KeyCode::F(5), KeyCode::Char('j')]
        );
        assert_eq!(k.back, KeyMap::default().back);
    }

    #[test]
    fn the_defaults_bind_each_key_once_and_a_clash_is_found() {
        assert_eq!(KeyMap::default().duplicate(), None);
        let c = parse(Path::new("k.toml"), "[keys]\nquit = \"x\"\n").unwrap();
        let (k, a, b) = c.keys.resolve().duplicate().unwrap();
        assert_eq!((k, a, b), (KeyCode::Char('x'), "packets", "quit"));
    }

    #[test]
    fn relative_lessons_folder_is_relative_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        std::fs::write(&file, "lessons = \"mine\"\n").unwrap();
        let l = load(Some(&file)).unwrap();
        assert_eq!(l.config.lessons, Some(dir.path().join("mine")));
    }

    #[test]
    fn a_missing_explicit_file_is_an_error() {
        let e = load(Some(Path::new("/nonexistent/sockscope.toml"))).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/sockscope.toml"), "{e}");
    }

    #[test]
    fn errors_about_a_value_point_at_its_line() {
        let l = Loaded {
            file: Some("c.toml".into()),
            source: "theme = \"dark\"\ndefault_lesson = \"nope\"\n".into(),
            config: Config::default(),
        };
        let e = l.error_at("default_lesson", "no lesson `nope`".into());
        assert_eq!(e.to_string(), "c.toml:2:1: no lesson `nope`");
    }
}
