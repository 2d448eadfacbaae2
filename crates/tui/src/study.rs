//! Study mode's predictions: before a call with a `predict` question runs,
//! the student picks what they think will happen; when the call returns,
//! each choice is checked against the real event with the same claims
//! machinery as `expect`, and the screen says which one the kernel made
//! true. No answer key is stored anywhere: the kernel's answer is the key.

use sockscope_core::engine::{Event, expect};
use sockscope_core::lesson::Predict;

/// What the kernel made of a prediction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Graded {
    /// The choice the student picked (from 0).
    pub picked: usize,
    /// The choices whose every claim held on this run.
    pub held: Vec<usize>,
}

impl Graded {
    /// The student's choice came true.
    #[must_use]
    pub fn right(&self) -> bool {
        self.held.contains(&self.picked)
    }
}

/// Check every choice of `predict` against `event`.
#[must_use]
pub fn grade(predict: &Predict, picked: usize, event: &Event) -> Graded {
    let held = predict
        .choices
        .iter()
        .enumerate()
        .filter(|(_, c)| expect::check(&c.expect, event).iter().all(|k| k.ok))
        .map(|(i, _)| i)
        .collect();
    Graded { picked, held }
}

/// The line the narration shows once the call has returned.
#[must_use]
pub fn verdict(predict: &Predict, g: &Graded, ok: &str, bad: &str) -> String {
    let said = |i: usize| {
        predict
            .choices
            .get(i)
            .map_or_else(String::new, |c| c.say.clone())
    };
    let kernel = match g.held.as_slice() {
        [] => "none of the choices (the call's line shows what it did)".to_string(),
        held => held
            .iter()
            .map(|&i| format!("\u{201c}{}\u{201d}", said(i)))
            .collect::<Vec<_>>()
            .join(" and "),
    };
    if g.right() {
        format!(
            "{ok} You predicted \u{201c}{}\u{201d}, and the kernel agrees.",
            said(g.picked)
        )
    } else {
        format!(
            "{bad} You predicted \u{201c}{}\u{201d}; the kernel did {kernel}.",
            said(g.picked)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sockscope_core::engine::{Call, Proto};
    use sockscope_core::lesson::Choice;

    fn predict() -> Predict {
        let choice = |say: &str, bytes: i64| Choice {
            say: say.into(),
            expect: [("bytes".to_string(), toml::Value::Integer(bytes))].into(),
        };
        Predict {
            ask: "What will recv return?".into(),
            choices: vec![choice("5 bytes", 5), choice("10 bytes", 10)],
        }
    }

    fn recv(bytes: usize) -> Event {
        Event {
            actor: "server".into(),
            call: Call::Recv,
            proto: Proto::Tcp,
            bytes: Some(bytes),
            ..Event::default()
        }
    }

    #[test]
    fn the_kernel_decides_which_choice_came_true() {
        let p = predict();
        let g = grade(&p, 0, &recv(10));
        assert_eq!(g.held, vec![1]);
        assert!(!g.right());
        let said = verdict(&p, &g, "✓", "✗");
        assert_eq!(
            said,
            "✗ You predicted \u{201c}5 bytes\u{201d}; the kernel did \u{201c}10 bytes\u{201d}."
        );
        let g = grade(&p, 1, &recv(10));
        assert!(g.right());
        assert!(verdict(&p, &g, "✓", "✗").starts_with("✓ You predicted"));
        // An outcome the author did not foresee: no choice holds.
        let g = grade(&p, 1, &recv(3));
        assert!(g.held.is_empty());
        assert!(verdict(&p, &g, "✓", "✗").contains("none of the choices"));
    }
}
