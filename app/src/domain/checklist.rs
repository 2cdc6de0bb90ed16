//! The in-home checklist: the company's standard steps (a template, synced read-only to
//! devices) and a consultation's answers to them. A required step blocks finishing until it is
//! done or skipped with a note saying why — a reason to ask, not a dead end.

use super::{text, ValidationError};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TemplateStep {
    pub key: String,
    pub label: String,
    #[serde(default)]
    pub required: bool,
    /// Where in the visit the step is asked (absent: during the visit, as before stages).
    #[serde(default, skip_serializing_if = "Stage::is_visit")]
    pub stage: Stage,
}

/// The part of the visit a checklist step belongs to, so it is asked where it happens: "present
/// the options" beside the options, "ask for the decision" at the outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
// The analytics funnel has a `Stage` of its own in the document.
#[cfg_attr(feature = "ssr", schema(as = ChecklistStage))]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// The checklist step of the visit (inspection, findings).
    #[default]
    Visit,
    /// The options step (presenting, financing).
    Options,
    /// The outcome step (asking for the decision).
    Outcome,
}

impl Stage {
    pub const ALL: [Stage; 3] = [Stage::Visit, Stage::Options, Stage::Outcome];

    pub fn is_visit(&self) -> bool {
        *self == Stage::Visit
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Visit => "visit",
            Stage::Options => "options",
            Stage::Outcome => "outcome",
        }
    }

    pub fn parse(s: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// How the editor names it.
    pub fn label(self) -> &'static str {
        match self {
            Stage::Visit => "During the visit",
            Stage::Options => "With the options",
            Stage::Outcome => "At the decision",
        }
    }
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

/// The checklist a consultation is answered against, among the company's checklist records as
/// synced (each `{id, service_type, steps, retired}`): the revision it was captured with when
/// it has one (`pinned`, kept even once retired), else the live one of its service, else the
/// live general one. `None` when the company has none.
pub fn pick<'a>(
    templates: impl Iterator<Item = &'a serde_json::Value>,
    pinned: Option<uuid::Uuid>,
    service: Option<&str>,
) -> Option<(uuid::Uuid, Vec<TemplateStep>)> {
    let id_of = |t: &serde_json::Value| t.get("id")?.as_str()?.parse::<uuid::Uuid>().ok();
    let mut best: Option<(u8, &serde_json::Value)> = None;
    for t in templates {
        let own = t.get("service_type").and_then(serde_json::Value::as_str);
        let live = !t.get("retired").and_then(serde_json::Value::as_bool).unwrap_or(false);
        let rank = if pinned.is_some() && id_of(t) == pinned {
            0
        } else if live && own.is_some() && own == service {
            1
        } else if live && own.is_none() {
            2
        } else {
            continue;
        };
        if best.is_none_or(|(r, _)| rank < r) {
            best = Some((rank, t));
        }
    }
    let (_, t) = best?;
    Some((id_of(t)?, serde_json::from_value(t.get("steps")?.clone()).unwrap_or_default()))
}

/// The most steps a checklist holds: a visit is not an audit form.
pub const MAX_STEPS: usize = 40;

/// A step as the editor sends it: a step it had keeps its key (so answers given under an older
/// revision still match it); a new one has none and gets one made from its label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct StepDraft {
    #[serde(default)]
    pub key: Option<String>,
    pub label: String,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub stage: Stage,
}

/// The editor's steps, in order, as a checklist's steps: labels present and short, keys made
/// for new steps and unique, at most [`MAX_STEPS`].
pub fn parse_steps(drafts: &[StepDraft]) -> Result<Vec<TemplateStep>, ValidationError> {
    if drafts.len() > MAX_STEPS {
        return Err(ValidationError::new("steps", format!("a checklist holds at most {MAX_STEPS} steps")));
    }
    let given: BTreeSet<&str> = drafts.iter().filter_map(|d| d.key.as_deref()).collect();
    let mut used = BTreeSet::new();
    let mut steps = Vec::with_capacity(drafts.len());
    for (n, draft) in drafts.iter().enumerate() {
        let label = draft.label.trim();
        if label.is_empty() {
            return Err(ValidationError::new(
                "steps",
                format!("step {} has no text: write what to do", n + 1),
            ));
        }
        text::check("steps", label, 200)?;
        let key = match draft.key.as_deref() {
            Some(key) => {
                if key.is_empty()
                    || key.len() > 40
                    || !key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                {
                    return Err(ValidationError::new(
                        "steps",
                        format!("step {}'s key must be 1–40 of a–z, 0–9 and _", n + 1),
                    ));
                }
                key.to_string()
            }
            None => fresh_key(label, |k| given.contains(k) || used.contains(k)),
        };
        if !used.insert(key.clone()) {
            return Err(ValidationError::new("steps", format!("step {} repeats the key {key}", n + 1)));
        }
        steps.push(TemplateStep {
            key,
            label: label.to_string(),
            required: draft.required,
            stage: draft.stage,
        });
    }
    Ok(steps)
}

/// A key from a label ("Check the flue!" → "check_the_flue"), numbered if `taken`.
fn fresh_key(label: &str, taken: impl Fn(&str) -> bool) -> String {
    let mut base = String::new();
    for c in label.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            base.push(c);
        } else if !base.ends_with('_') && !base.is_empty() {
            base.push('_');
        }
        if base.len() >= 32 {
            break;
        }
    }
    let base = match base.trim_end_matches('_') {
        "" => "step".to_string(),
        b => b.to_string(),
    };
    (1..)
        .map(|n| if n == 1 { base.clone() } else { format!("{base}_{n}") })
        .find(|k| !taken(k))
        .expect("some number is free")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(key: &str, required: bool) -> TemplateStep {
        TemplateStep { key: key.into(), label: key.to_uppercase(), required, stage: Stage::Visit }
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

    #[test]
    fn a_consultation_keeps_the_revision_it_was_captured_with() {
        use serde_json::json;
        let ids: Vec<uuid::Uuid> = (1..=4).map(uuid::Uuid::from_u128).collect();
        let steps = |label: &str| json!([{ "key": "k", "label": label, "required": true }]);
        let templates = [
            json!({ "id": ids[0], "service_type": null, "steps": steps("general v1"), "retired": true }),
            json!({ "id": ids[1], "service_type": null, "steps": steps("general v2"), "retired": false }),
            json!({ "id": ids[2], "service_type": "hvac", "steps": steps("hvac v1"), "retired": false }),
        ];
        let label = |p: Option<(uuid::Uuid, Vec<TemplateStep>)>| p.map(|(_, s)| s[0].label.clone());
        assert_eq!(label(pick(templates.iter(), None, Some("hvac"))).as_deref(), Some("hvac v1"));
        assert_eq!(label(pick(templates.iter(), None, Some("plumbing"))).as_deref(), Some("general v2"));
        assert_eq!(label(pick(templates.iter(), None, None)).as_deref(), Some("general v2"));
        assert_eq!(
            label(pick(templates.iter(), Some(ids[0]), Some("hvac"))).as_deref(),
            Some("general v1"),
            "the retired revision it was captured with, not today's"
        );
        assert_eq!(
            label(pick(templates.iter(), Some(ids[3]), Some("hvac"))).as_deref(),
            Some("hvac v1"),
            "a pin this device has not received yet falls back to the live one"
        );
        assert_eq!(pick([].iter(), None, None), None);
    }

    fn draft(key: Option<&str>, label: &str) -> StepDraft {
        StepDraft { key: key.map(str::to_string), label: label.into(), required: false, stage: Stage::Visit }
    }

    #[test]
    fn new_steps_get_keys_from_their_labels_and_kept_steps_keep_theirs() {
        let steps = parse_steps(&[
            draft(Some("intro"), "Introduce yourself"),
            draft(None, "Check the flue!"),
            draft(None, "Check the flue"),
            draft(None, "Intro"),
            draft(None, "¿?"),
        ])
        .unwrap();
        let keys: Vec<&str> = steps.iter().map(|s| s.key.as_str()).collect();
        assert_eq!(keys, ["intro", "check_the_flue", "check_the_flue_2", "intro_2", "step"]);
    }

    #[test]
    fn bad_steps_are_refused_by_their_number() {
        let err = parse_steps(&[draft(None, "ok"), draft(None, "  ")]).unwrap_err();
        assert_eq!((err.field, err.message.as_str()), ("steps", "step 2 has no text: write what to do"));
        let err = parse_steps(&[draft(Some("a"), "x"), draft(Some("a"), "y")]).unwrap_err();
        assert!(err.message.contains("repeats"), "{err}");
        assert!(parse_steps(&[draft(Some("Bad Key"), "x")]).is_err());
        assert!(parse_steps(&vec![draft(None, "x"); MAX_STEPS + 1]).is_err());
    }
}
