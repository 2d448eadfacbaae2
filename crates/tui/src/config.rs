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

use crate::keys::{Bind, KeyMap, KeyName, TABLE};
use crate::theme::{ColorOverrides, ROLES, ThemeColors, ThemeName};
use serde::{Deserialize, Deserializer};
use sockscope_core::place::line_col;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

/// The commented template `--print-config-template` prints. Every line that
/// sets something is commented out and shows the default, so the file changes
/// nothing until a line is uncommented (a test checks that the uncommented
/// template parses and equals the defaults). Its keys and colours sections
/// are written from the key table and the theme's roles, so they list
/// exactly what the parser accepts.
pub static TEMPLATE: LazyLock<String> = LazyLock::new(|| {
    include_str!("../assets/config-template.toml")
        .replace("@COLORS@", &colors_section())
        .replace("@KEYS@", &keys_section())
});

/// `# role = "colour"  # what it colours`, one line a role, with the dark
/// theme's colours as written in its file.
fn colors_section() -> String {
    let dark: toml::Table = toml::from_str(ThemeColors::builtin_toml(ThemeName::Dark))
        .expect("the dark theme parses (tested)");
    let lines: Vec<(String, &str)> = ROLES
        .iter()
        .map(|(role, doc)| {
            let value = dark.get(*role).map(ToString::to_string).unwrap_or_default();
            (format!("{role} = {value}"), doc.trim())
        })
        .collect();
    commented(&lines)
}

/// `# name = ["key", ...]  # what it does`, one line a rebindable action,
/// in the key table's order.
fn keys_section() -> String {
    let lines: Vec<(String, &str)> = TABLE
        .iter()
        .filter_map(|spec| {
            let Bind::Config(name) = spec.bind else {
                return None;
            };
            let quoted: Vec<String> = spec.keys.iter().map(|k| format!("{k:?}")).collect();
            let keys = match quoted.as_slice() {
                [one] => one.clone(),
                many => format!("[{}]", many.join(", ")),
            };
            let does = spec.help.first().map_or("", |(_, d)| d);
            Some((format!("{name} = {keys}"), does))
        })
        .collect();
    commented(&lines)
}

/// Setting lines, commented out, each with its explanation lined up after it.
fn commented(lines: &[(String, &str)]) -> String {
    let width = lines
        .iter()
        .map(|(s, _)| s.chars().count())
        .max()
        .unwrap_or(0);
    lines
        .iter()
        .map(|(setting, why)| format!("# {setting:<width$}  # {why}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// What the config file says. `None` means "not set": the built-in default or
/// a command-line flag decides.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub theme: ThemeConfig,
    /// Autoplay speed: milliseconds between steps.
    pub autoplay_ms: Option<Millis>,
    /// The lesson `sockscope` opens with.
    pub default_lesson: Option<String>,
    /// A folder of the teacher's own lesson files. Relative paths are taken
    /// from the config file's folder.
    pub lessons: Option<PathBuf>,
    /// Start the TUI in presenter mode.
    pub present: Option<bool>,
    /// Run lessons on the machine's loopback, not in the lab network.
    pub host_network: Option<bool>,
    /// Read the mouse on the lesson screen (default true).
    pub mouse: Option<bool>,
    /// Keep the student's progress between sessions (default true).
    pub progress: Option<bool>,
    /// Start the lesson screen in study mode (default false).
    pub study: Option<bool>,
    /// The code panel's language: `c` (the default), `python` or `rust`.
    pub code: Option<String>,
    #[serde(default)]
    pub keys: KeyConfig,
}

/// The file's `theme`: a name (`theme = "light"`), or a table with a name
/// and single colours to change (`[theme]` `name = "light"`,
/// `[theme.colors]` `current_step_bg = "#ffcc00"`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ThemeConfig {
    pub name: Option<ThemeName>,
    pub colors: ColorOverrides,
}

impl<'de> Deserialize<'de> for ThemeConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Table {
            name: Option<ThemeName>,
            #[serde(default)]
            colors: ColorOverrides,
        }
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = ThemeConfig;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a theme name, or a table with `name` and `colors`")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ThemeConfig, E> {
                use serde::de::IntoDeserializer;
                Ok(ThemeConfig {
                    name: Some(ThemeName::deserialize(v.into_deserializer())?),
                    colors: ColorOverrides::default(),
                })
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                m: M,
            ) -> Result<ThemeConfig, M::Error> {
                let t = Table::deserialize(serde::de::value::MapAccessDeserializer::new(m))?;
                Ok(ThemeConfig {
                    name: t.name,
                    colors: t.colors,
                })
            }
        }
        d.deserialize_any(Visitor)
    }
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

/// The `[keys]` table: for each rebindable action of the key table, by its
/// config name, the keys the file gives it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(transparent)]
pub struct KeyConfig(BTreeMap<ActionName, Keys>);

/// A rebindable action's name in `[keys]`: one the key table has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ActionName(&'static str);

impl<'de> Deserialize<'de> for ActionName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        let names = || {
            TABLE.iter().filter_map(|s| match s.bind {
                Bind::Config(n) => Some(n),
                Bind::Fixed | Bind::Window => None,
            })
        };
        names().find(|n| *n == name).map(ActionName).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown action `{name}` in [keys]; the actions are: {}",
                names().collect::<Vec<_>>().join(", ")
            ))
        })
    }
}

/// One key or a list of keys, as written in the file: `"q"` or
/// `["space", "right"]` (see [`KeyName`] for the names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys(pub Vec<KeyName>);

impl<'de> Deserialize<'de> for Keys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(String),
            Many(Vec<String>),
        }
        // Strings first, names checked after: an untagged enum would hide
        // why a name is wrong behind "did not match any variant".
        let names = match OneOrMany::deserialize(d)? {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        };
        if names.is_empty() {
            return Err(serde::de::Error::custom("give at least one key"));
        }
        names
            .into_iter()
            .map(|n| KeyName::try_from(n).map_err(serde::de::Error::custom))
            .collect::<Result<_, _>>()
            .map(Keys)
    }
}

impl KeyConfig {
    /// The bindings this file asks for, with the defaults for the rest.
    #[must_use]
    pub fn resolve(&self) -> KeyMap {
        KeyMap::with(|name| self.0.get(&ActionName(name)).map(|k| k.0.as_slice()))
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
#[must_use]
pub fn default_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "sockscope").map(|d| d.config_dir().join("config.toml"))
}

/// The lessons folder used when neither the command line nor the file names
/// one: `lessons/` next to the default config file.
#[must_use]
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
    // A regular file of at most CONFIG_MAX bytes: `--config /dev/zero` must
    // be refused, not read until memory runs out.
    let source = match sockscope_core::textfile::read(&path, sockscope_core::textfile::CONFIG_MAX) {
        Ok(s) => s,
        // The default file is optional. Run as another user (sudo, setpriv)
        // with HOME still pointing at the first one's, it can be unreadable:
        // that is "no config here", not an error.
        Err(e)
            if !required
                && matches!(
                    e.io_kind(),
                    Some(std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied)
                ) =>
        {
            return Ok(Loaded::default());
        }
        Err(e) => {
            return Err(ConfigError {
                file: path,
                line: e.place().map(|p| p.0),
                column: e.place().map(|p| p.1),
                message: format!("not a usable config file: {e}"),
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
    #[must_use]
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
    use crate::keys::Action;
    use crossterm::event::KeyCode;

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
        let c = parse(Path::new("t.toml"), &TEMPLATE).unwrap();
        assert_eq!(c, Config::default());
    }

    #[test]
    fn the_uncommented_template_parses_to_the_defaults() {
        let text = uncommented_template();
        let c = parse(Path::new("t.toml"), &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(c.theme.name, Some(ThemeName::Dark));
        // Every role is in the template, with the dark theme's colour.
        let dark = ThemeColors::builtin(ThemeName::Dark);
        assert_eq!(dark.clone().with(&c.theme.colors), dark);
        let table: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(
            table["theme"]["colors"].as_table().unwrap().len(),
            ROLES.len()
        );
        assert_eq!(c.autoplay_ms, Some(Millis(3000)));
        assert_eq!(
            std::time::Duration::from_secs(3),
            crate::app::AUTOPLAY,
            "the template shows the TUI's real default"
        );
        assert_eq!(c.default_lesson.as_deref(), Some("tcp"));
        assert_eq!(c.present, Some(false));
        assert_eq!(c.host_network, Some(false));
        assert_eq!(c.keys.resolve(), KeyMap::default());
        // Every rebindable action of the key table appears in the template.
        let rebindable = TABLE
            .iter()
            .filter(|s| matches!(s.bind, Bind::Config(_)))
            .count();
        assert_eq!(c.keys.0.len(), rebindable);
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
            ("[keys]\nspeed = \"x\"\n", 2, "unknown action `speed`"),
            ("[theme]\nname = \"neon\"\n", 2, "neon"),
            (
                "[theme.colors]\ncurrent_step_bg = \"nope\"\n",
                2,
                "unknown colour `nope`",
            ),
            ("[theme.colors]\ncurrent_bg = \"red\"\n", 2, "current_bg"),
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
        assert_eq!(k.keys(Action::Quit), [KeyCode::Char('x')]);
        assert_eq!(
            k.keys(Action::Next),
            [KeyCode::Char(' '), KeyCode::F(5), KeyCode::Char('j')]
        );
        assert_eq!(k.keys(Action::Back), KeyMap::default().keys(Action::Back));
    }

    #[test]
    fn the_defaults_bind_each_key_once_and_a_clash_is_found() {
        assert_eq!(KeyMap::default().duplicate(), None);
        let c = parse(Path::new("k.toml"), "[keys]\nquit = \"x\"\n").unwrap();
        let (k, a, b) = c.keys.resolve().duplicate().unwrap();
        assert_eq!((k, a, b), (KeyCode::Char('x'), "packets", "quit"));
    }

    #[test]
    fn the_template_lists_each_rebindable_action_once_in_table_order() {
        let names: Vec<&str> = TEMPLATE
            .lines()
            .skip_while(|l| *l != "# [keys]")
            .filter_map(|l| l.strip_prefix("# ")?.split(" = ").next())
            .filter(|n| !n.starts_with('['))
            .collect();
        let table: Vec<&str> = TABLE
            .iter()
            .filter_map(|s| match s.bind {
                Bind::Config(n) => Some(n),
                _ => None,
            })
            .collect();
        assert_eq!(names, table);
        assert!(
            TEMPLATE
                .contains("# step = [\"space\", \"right\", \"l\", \"n\", \"enter\", \"pagedown\"]")
        );
        assert!(TEMPLATE.contains("# quit = \"q\""));
        assert!(!TEMPLATE.contains('@'), "every section filled in");
    }

    #[test]
    fn a_theme_is_a_name_or_a_table_with_single_colours() {
        let c = parse(Path::new("t.toml"), "theme = \"light\"\n").unwrap();
        assert_eq!(c.theme.name, Some(ThemeName::Light));
        assert_eq!(c.theme.colors, ColorOverrides::default());
        let c = parse(
            Path::new("t.toml"),
            "[theme]\nname = \"high-contrast\"\n[theme.colors]\ncurrent_step_bg = \"#ffcc00\"\n",
        )
        .unwrap();
        assert_eq!(c.theme.name, Some(ThemeName::HighContrast));
        assert_eq!(
            c.theme.colors.current_step_bg,
            Some(ratatui::style::Color::Rgb(0xff, 0xcc, 0x00))
        );
        // Colours alone keep the default theme.
        let c = parse(Path::new("t.toml"), "[theme.colors]\nkey = \"red\"\n").unwrap();
        assert_eq!(c.theme.name, None);
        assert_eq!(c.theme.colors.key, Some(ratatui::style::Color::Red));
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
