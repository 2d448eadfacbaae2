//! The code panel (`c`): each actor's part of the lesson as source code a
//! student would write, in C (the default), Python or Rust. The lines are
//! the ones `sockscope export` writes (`sockscope_report::program`), so a
//! teacher's lesson gets them too, and what the panel shows beside a call
//! is the code that, built and run on its own, makes that call: the
//! exported programs are checked under strace against the lesson
//! (crates/sockscope/tests/export_strace.rs). The screen marks the line of
//! the current call and writes this run's results beside the lines that
//! ran.

use sockscope_core::lesson::Lesson;
pub use sockscope_report::program::Lang;
use sockscope_report::program::{ident, statements};

/// One line of the program: its text, the lesson step it belongs to
/// (`None` for the function's frame), and whether it is the line that
/// makes the step's call (the one the result is written beside).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeLine {
    pub text: String,
    pub step: Option<usize>,
    pub call: bool,
}

/// `actor`'s part of `lesson`, as a function in `lang`.
#[must_use]
pub fn program(lesson: &Lesson, actor: &str, lang: Lang) -> Vec<CodeLine> {
    let frame = |text: String| CodeLine {
        text,
        step: None,
        call: false,
    };
    let name = ident(actor);
    let mut lines = vec![frame(match lang {
        Lang::C => format!("static void *{name}(void *arg) {{"),
        Lang::Python => format!("def {name}():"),
        Lang::Rust => format!("fn {name}() {{"),
    })];
    for (i, (step, st)) in lesson
        .steps
        .iter()
        .zip(statements(lesson, lang))
        .enumerate()
    {
        if step.actor != actor {
            continue;
        }
        let at = |text: String, call: bool| CodeLine {
            text,
            step: Some(i + 1),
            call,
        };
        lines.extend(st.setup.into_iter().map(|s| at(format!("    {s}"), false)));
        let text = match (step.repeat, lang) {
            (Some(n), Lang::C) => format!("    for (int i = 0; i < {n}; i++) {}", st.call),
            (Some(n), Lang::Python) => format!("    for _ in range({n}): {}", st.call),
            (Some(n), Lang::Rust) => format!("    for _ in 0..{n} {{ {} }}", st.call),
            (None, _) => format!("    {}", st.call),
        };
        lines.push(at(text, true));
    }
    let end: &[&str] = match lang {
        Lang::C => &["    return NULL;", "}"],
        Lang::Python => &[],
        Lang::Rust => &["}"],
    };
    lines.extend(end.iter().map(|t| frame((*t).to_string())));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_of_every_built_in_lesson_has_one_call_line_in_its_actors_program() {
        for l in sockscope_core::lesson::builtins() {
            for lang in Lang::ALL {
                let mut calls = 0;
                for a in &l.actors {
                    let p = program(&l, &a.name, lang);
                    for line in p.iter().filter(|c| c.call) {
                        assert!(
                            !line.text.trim().is_empty(),
                            "{} {lang:?}: {line:?}",
                            l.name
                        );
                        calls += 1;
                    }
                }
                assert_eq!(calls, l.steps.len(), "{} {lang:?}", l.name);
            }
        }
    }

    #[test]
    fn the_tcp_servers_program_reads_as_c_python_and_rust() {
        let l = sockscope_core::lesson::builtin("tcp").unwrap();
        let c = program(&l, "server", Lang::C);
        assert_eq!(c[0].text, "static void *server(void *arg) {");
        assert_eq!(c[1].text, "    listener = socket(AF_INET, SOCK_STREAM, 0);");
        assert!(
            c.iter().any(|l| l.text == "    n = listen(listener, 8);"),
            "{c:#?}"
        );
        // bind's address is a setup line of its step, not its call line.
        let bind: Vec<&CodeLine> = c.iter().filter(|l| l.step == Some(2)).collect();
        assert_eq!(bind.len(), 2, "{bind:#?}");
        assert!(bind[0].text.contains("ipv4(\"127.0.0.1\", 0)") && !bind[0].call);
        let py = program(&l, "server", Lang::Python);
        assert_eq!(py[0].text, "def server():");
        assert!(
            py.iter()
                .any(|l| l.text == "    sock.conn = sock.listener.accept()[0]"),
            "{py:#?}"
        );
        let rs = program(&l, "server", Lang::Rust);
        assert!(
            rs.iter()
                .any(|l| l.text == "    CONN.set(sys::accept(LISTENER.get()));"),
            "{rs:#?}"
        );
        assert_eq!(rs.last().unwrap().text, "}");
    }
}
