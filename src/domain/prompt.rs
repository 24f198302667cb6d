//! Interactive prompts: the four styles and their validation.

use serde::{Deserialize, Serialize};

/// Longest prompt text, in characters after trimming.
pub const MAX_TEXT_CHARS: usize = 75;
/// Longest word option, in characters after trimming.
pub const MAX_OPTION_CHARS: usize = 45;
/// Longest prompt, in seconds.
pub const MAX_DURATION_SECONDS: i64 = 86_400;

/// A prompt exactly as a client sends it, before validation.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "style", rename_all = "lowercase", deny_unknown_fields)]
pub enum PromptInput {
    /// A rating between `min` and `max`.
    Numeric {
        /// The question.
        text: String,
        /// Lowest rating.
        min: i64,
        /// Highest rating.
        max: i64,
        /// Must be 1.
        step: i64,
    },
    /// Press (and hold) while something is true.
    Press {
        /// The question.
        text: String,
    },
    /// Pick one of a few colours.
    Color {
        /// The question.
        text: String,
        /// `#RRGGBB` colours.
        colors: Vec<String>,
    },
    /// Pick one of a few words.
    Word {
        /// The question.
        text: String,
        /// The words to choose from.
        options: Vec<String>,
    },
}

/// A validated prompt, serialized as stored and as returned to clients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "style", rename_all = "lowercase")]
pub enum Prompt {
    /// A rating between `min` and `max` (at most 11 values, step 1).
    Numeric {
        /// The question.
        text: String,
        /// Lowest rating.
        min: i64,
        /// Highest rating.
        max: i64,
        /// Always 1.
        step: i64,
    },
    /// Press (and hold) while something is true.
    Press {
        /// The question.
        text: String,
    },
    /// Pick one of 2–8 colours, stored as upper-case `#RRGGBB`.
    Color {
        /// The question.
        text: String,
        /// The colours.
        colors: Vec<String>,
    },
    /// Pick one of 2–8 words.
    Word {
        /// The question.
        text: String,
        /// The trimmed words.
        options: Vec<String>,
    },
}

/// Why a prompt was refused: the field and the reason.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct PromptError {
    /// Path of the offending field, e.g. `prompt.colors[2]`.
    pub field: String,
    /// What is wrong with it.
    pub reason: String,
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> PromptError {
    PromptError {
        field: field.into(),
        reason: reason.into(),
    }
}

fn trimmed_text(field: &str, raw: &str, max: usize) -> Result<String, PromptError> {
    let text = raw.trim();
    let chars = text.chars().count();
    if chars == 0 || chars > max {
        return Err(invalid(
            field,
            format!("must be 1 to {max} characters after trimming, got {chars}"),
        ));
    }
    Ok(text.to_owned())
}

fn check_choice_count(field: &str, len: usize) -> Result<(), PromptError> {
    if !(2..=8).contains(&len) {
        return Err(invalid(
            field,
            format!("must have 2 to 8 entries, got {len}"),
        ));
    }
    Ok(())
}

fn parse_color(field: String, raw: &str) -> Result<String, PromptError> {
    let ok =
        raw.len() == 7 && raw.starts_with('#') && raw[1..].chars().all(|c| c.is_ascii_hexdigit());
    if !ok {
        return Err(invalid(
            field,
            format!("must be a colour like #A1B2C3, got {raw:?}"),
        ));
    }
    Ok(raw.to_ascii_uppercase())
}

impl Prompt {
    /// Validates a client's prompt (docs/rules.md, "Prompts").
    pub fn parse(input: PromptInput) -> Result<Self, PromptError> {
        Ok(match input {
            PromptInput::Numeric {
                text,
                min,
                max,
                step,
            } => {
                let text = trimmed_text("prompt.text", &text, MAX_TEXT_CHARS)?;
                if min > max {
                    return Err(invalid(
                        "prompt.min",
                        format!("must be at most max ({max}), got {min}"),
                    ));
                }
                if step != 1 {
                    return Err(invalid("prompt.step", format!("must be 1, got {step}")));
                }
                if max.checked_sub(min).is_none_or(|span| span > 10) {
                    return Err(invalid("prompt.max", "max − min must be at most 10"));
                }
                Prompt::Numeric {
                    text,
                    min,
                    max,
                    step,
                }
            }
            PromptInput::Press { text } => Prompt::Press {
                text: trimmed_text("prompt.text", &text, MAX_TEXT_CHARS)?,
            },
            PromptInput::Color { text, colors } => {
                let text = trimmed_text("prompt.text", &text, MAX_TEXT_CHARS)?;
                check_choice_count("prompt.colors", colors.len())?;
                let colors = colors
                    .iter()
                    .enumerate()
                    .map(|(i, c)| parse_color(format!("prompt.colors[{i}]"), c))
                    .collect::<Result<_, _>>()?;
                Prompt::Color { text, colors }
            }
            PromptInput::Word { text, options } => {
                let text = trimmed_text("prompt.text", &text, MAX_TEXT_CHARS)?;
                check_choice_count("prompt.options", options.len())?;
                let options = options
                    .iter()
                    .enumerate()
                    .map(|(i, o)| {
                        trimmed_text(&format!("prompt.options[{i}]"), o, MAX_OPTION_CHARS)
                    })
                    .collect::<Result<_, _>>()?;
                Prompt::Word { text, options }
            }
        })
    }

    /// The style's name as it appears in JSON.
    pub fn style(&self) -> &'static str {
        match self {
            Prompt::Numeric { .. } => "numeric",
            Prompt::Press { .. } => "press",
            Prompt::Color { .. } => "color",
            Prompt::Word { .. } => "word",
        }
    }

    /// Number of choices of a colour or word prompt.
    pub fn choice_count(&self) -> Option<usize> {
        match self {
            Prompt::Color { colors, .. } => Some(colors.len()),
            Prompt::Word { options, .. } => Some(options.len()),
            _ => None,
        }
    }
}

/// Validates a prompt's duration (docs/rules.md, "Prompts": integer, 1 … 86 400).
pub fn parse_duration(duration_seconds: i64) -> Result<i64, PromptError> {
    if !(1..=MAX_DURATION_SECONDS).contains(&duration_seconds) {
        return Err(invalid(
            "duration_seconds",
            format!("must be between 1 and {MAX_DURATION_SECONDS}, got {duration_seconds}"),
        ));
    }
    Ok(duration_seconds)
}

/// A stored prompt, as the rules and the aggregates see it.
#[derive(Debug, Clone, PartialEq)]
pub struct PromptRecord {
    /// Database id.
    pub id: i64,
    /// External uid (`ip_…`).
    pub uid: String,
    /// The validated prompt.
    pub prompt: Prompt,
    /// Duration in seconds.
    pub duration_seconds: i64,
    /// Unix seconds when created.
    pub created_at: f64,
    /// Unix seconds when soft-deleted, if it was.
    pub deleted_at: Option<f64>,
}

impl PromptRecord {
    /// A new prompt, not yet stored (`id` 0, a fresh uid).
    pub fn unsaved(prompt: Prompt, duration_seconds: i64, created_at: f64) -> Self {
        PromptRecord {
            id: 0,
            uid: super::uid::generate(super::uid::PROMPT),
            prompt,
            duration_seconds,
            created_at,
            deleted_at: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: serde_json::Value) -> Result<Prompt, PromptError> {
        Prompt::parse(serde_json::from_value(v).expect("shape"))
    }

    #[test]
    fn numeric_prompts_are_bounded() {
        assert!(
            parse(json!({"style":"numeric","text":" Mood ","min":1,"max":10,"step":1})).is_ok()
        );
        assert_eq!(
            parse(json!({"style":"numeric","text":"x","min":0,"max":11,"step":1}))
                .unwrap_err()
                .field,
            "prompt.max"
        );
        assert_eq!(
            parse(json!({"style":"numeric","text":"x","min":5,"max":4,"step":1}))
                .unwrap_err()
                .field,
            "prompt.min"
        );
        assert_eq!(
            parse(json!({"style":"numeric","text":"x","min":1,"max":4,"step":2}))
                .unwrap_err()
                .field,
            "prompt.step"
        );
        let extreme = json!({"style":"numeric","text":"x","min":i64::MIN,"max":i64::MAX,"step":1});
        assert!(parse(extreme).is_err());
    }

    #[test]
    fn text_is_trimmed_and_limited() {
        let p = parse(json!({"style":"press","text":"  hold  "})).unwrap();
        assert_eq!(
            p,
            Prompt::Press {
                text: "hold".into()
            }
        );
        assert!(parse(json!({"style":"press","text":"   "})).is_err());
        assert!(parse(json!({"style":"press","text":"é".repeat(75)})).is_ok());
        assert!(parse(json!({"style":"press","text":"é".repeat(76)})).is_err());
    }

    #[test]
    fn colors_are_upper_cased_and_checked() {
        let p = parse(json!({"style":"color","text":"c","colors":["#aabbcc","#000000"]})).unwrap();
        assert_eq!(p.choice_count(), Some(2));
        assert_eq!(
            p,
            Prompt::Color {
                text: "c".into(),
                colors: vec!["#AABBCC".into(), "#000000".into()]
            }
        );
        assert_eq!(
            parse(json!({"style":"color","text":"c","colors":["#aabbcc"]}))
                .unwrap_err()
                .field,
            "prompt.colors"
        );
        assert_eq!(
            parse(json!({"style":"color","text":"c","colors":["#aabbcc","red"]}))
                .unwrap_err()
                .field,
            "prompt.colors[1]"
        );
    }

    #[test]
    fn word_options_are_trimmed_and_limited() {
        let p = parse(json!({"style":"word","text":"w","options":[" a ","b"]})).unwrap();
        assert_eq!(
            p,
            Prompt::Word {
                text: "w".into(),
                options: vec!["a".into(), "b".into()]
            }
        );
        let many: Vec<String> = (0..9).map(|i| i.to_string()).collect();
        assert!(parse(json!({"style":"word","text":"w","options":many})).is_err());
        assert!(parse(json!({"style":"word","text":"w","options":["a","x".repeat(46)]})).is_err());
    }

    #[test]
    fn unknown_styles_and_fields_are_refused() {
        assert!(
            serde_json::from_value::<PromptInput>(json!({"style":"slider","text":"x"})).is_err()
        );
        assert!(
            serde_json::from_value::<PromptInput>(json!({"style":"press","text":"x","extra":1}))
                .is_err()
        );
        assert!(parse_duration(0).is_err());
        assert!(parse_duration(86_401).is_err());
        assert_eq!(parse_duration(60), Ok(60));
    }
}
