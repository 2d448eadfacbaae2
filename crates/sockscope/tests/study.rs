//! Study mode's questions, answered by the real kernel: every built-in
//! lesson asks at least one, and for every step with a `predict` question
//! exactly one of its choices comes true on this machine (a question whose
//! choices all fail, or several hold, would teach nothing), and a student
//! who picks another is told what the kernel did instead.

mod common;

use common::{events, run};
use sockscope_core::lesson;
use sockscope_tui::study::{grade, verdict};

#[test]
fn every_built_in_question_has_exactly_one_answer_on_this_kernel() {
    let mut asked = 0;
    for l in lesson::builtins() {
        let questions: Vec<(usize, &lesson::Predict)> = l.questions().collect();
        assert!(
            !questions.is_empty(),
            "{} has no study question: every built-in lesson asks at least one",
            l.name
        );
        let ev = events(&run(&l.name));
        for (step, p) in questions {
            let e = ev
                .iter()
                .find(|e| e.step == step)
                .unwrap_or_else(|| panic!("{} step {step} has no event", l.name));
            let g = grade(p, 0, e);
            assert_eq!(
                g.held.len(),
                1,
                "{} step {step}: choices that held {:?} for {}",
                l.name,
                g.held,
                e.syscall_line()
            );
            // Whoever picks a wrong choice hears the kernel's.
            let right = g.held[0];
            let wrong = (right + 1) % p.choices.len();
            let said = verdict(p, &grade(p, wrong, e), "+", "x");
            assert!(said.starts_with("x "), "{said}");
            assert!(said.contains(&p.choices[right].say), "{said}");
            asked += 1;
        }
    }
    assert!(asked >= lesson::builtins().len(), "{asked} questions");
}
