//! The in-home checklist: the company's standard steps (a template, synced read-only to
//! devices) and a consultation's answers to them. A required step blocks finishing until it is
//! done or skipped with a note saying why — a reason to ask, not a dead end.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateStep {
    pub key: String,
    pub label: String,
    #[serde(default)]
    pub required: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    Done,
    Skipped,
}

/// One answer, stored under the step's key in the consultation's `checklist` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    pub state: StepState,
    #[serde(default)]
    pub note: String,
}

pub type Answers = BTreeMap<String, Answer>;

/// The required steps still open: neither done nor skipped with a note.
pub fn gaps<'a>(steps: &'a [TemplateStep], answers: &Answers) -> Vec<&'a TemplateStep> {
    steps
        .iter()
        .filter(|s| s.required)
        .filter(|s| match answers.get(&s.key) {
            Some(Answer { state: StepState::Done, .. }) => false,
            Some(Answer { state: StepState::Skipped, note }) => note.trim().is_empty(),
            None => true,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(key: &str, required: bool) -> TemplateStep {
        TemplateStep { key: key.into(), label: key.to_uppercase(), required }
    }

    #[test]
    fn required_steps_need_an_answer_or_a_reason() {
        let steps = [step("intro", true), step("photos", false), step("ask", true)];
        let mut answers = Answers::new();
        let open: Vec<&str> = gaps(&steps, &answers).iter().map(|s| s.key.as_str()).collect();
        assert_eq!(open, ["intro", "ask"], "optional steps never block");
        answers.insert("intro".into(), Answer { state: StepState::Done, note: String::new() });
        answers.insert("ask".into(), Answer { state: StepState::Skipped, note: " ".into() });
        assert_eq!(gaps(&steps, &answers).len(), 1, "a skip without a reason is still open");
        answers.insert("ask".into(), Answer { state: StepState::Skipped, note: "customer left".into() });
        assert!(gaps(&steps, &answers).is_empty());
    }
}
