//! A prompt's JSON (docs/api.md, "Prompts"): [`PromptInput`] as a client
//! sends it, [`PromptView`] as the API returns a stored one.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::prompt::{self, Prompt};

/// An interactive prompt as a client sends it, tagged by `style`. Texts are
/// 1–75 characters and options 1–45 characters after trimming; anything
/// else is 422.
#[derive(Deserialize, ToSchema)]
#[serde(tag = "style", rename_all = "lowercase", deny_unknown_fields)]
pub enum PromptInput {
    /// A rating between `min` and `max`: `step` is 1 and `max − min ≤ 10`.
    Numeric {
        /// The question.
        #[schema(min_length = 1)]
        text: String,
        /// Lowest rating.
        min: i64,
        /// Highest rating.
        max: i64,
        /// Always 1.
        #[schema(minimum = 1, maximum = 1)]
        step: i64,
    },
    /// Press (and hold) while something is true.
    Press {
        /// The question.
        #[schema(min_length = 1)]
        text: String,
    },
    /// Pick one of 2–8 colours (`#RRGGBB`, returned upper-case).
    Color {
        /// The question.
        #[schema(min_length = 1)]
        text: String,
        /// The colours.
        #[schema(min_items = 2, max_items = 8, inline)]
        colors: Vec<Color>,
    },
    /// Pick one of 2–8 words.
    Word {
        /// The question.
        #[schema(min_length = 1)]
        text: String,
        /// The words to choose from.
        #[schema(min_items = 2, max_items = 8)]
        options: Vec<String>,
    },
}

/// A colour, `#RRGGBB`.
#[derive(Deserialize, ToSchema)]
#[schema(pattern = "^#[0-9A-Fa-f]{6}$")]
pub struct Color(String);

impl From<PromptInput> for prompt::PromptInput {
    fn from(input: PromptInput) -> Self {
        match input {
            PromptInput::Numeric {
                text,
                min,
                max,
                step,
            } => prompt::PromptInput::Numeric {
                text,
                min,
                max,
                step,
            },
            PromptInput::Press { text } => prompt::PromptInput::Press { text },
            PromptInput::Color { text, colors } => prompt::PromptInput::Color {
                text,
                colors: colors.into_iter().map(|c| c.0).collect(),
            },
            PromptInput::Word { text, options } => prompt::PromptInput::Word { text, options },
        }
    }
}

/// A validated interactive prompt, tagged by `style`: texts and options are
/// trimmed, colours upper-case.
#[derive(Serialize, ToSchema)]
#[schema(as = Prompt)]
#[serde(tag = "style", rename_all = "lowercase")]
pub enum PromptView<'a> {
    /// A rating between `min` and `max`: `step` is 1 and `max − min ≤ 10`.
    Numeric {
        /// Highest rating.
        max: i64,
        /// Lowest rating.
        min: i64,
        /// Always 1.
        #[schema(minimum = 1, maximum = 1)]
        step: i64,
        /// The question.
        #[schema(min_length = 1)]
        text: &'a str,
    },
    /// Press (and hold) while something is true.
    Press {
        /// The question.
        #[schema(min_length = 1)]
        text: &'a str,
    },
    /// Pick one of 2–8 colours.
    Color {
        /// The colours, upper-case.
        #[schema(min_items = 2, max_items = 8, inline, value_type = Vec<Color>)]
        colors: &'a [String],
        /// The question.
        #[schema(min_length = 1)]
        text: &'a str,
    },
    /// Pick one of 2–8 words.
    Word {
        /// The words to choose from.
        #[schema(min_items = 2, max_items = 8)]
        options: &'a [String],
        /// The question.
        #[schema(min_length = 1)]
        text: &'a str,
    },
}

impl<'a> From<&'a Prompt> for PromptView<'a> {
    fn from(p: &'a Prompt) -> Self {
        match p {
            Prompt::Numeric {
                text,
                min,
                max,
                step,
            } => PromptView::Numeric {
                max: *max,
                min: *min,
                step: *step,
                text,
            },
            Prompt::Press { text } => PromptView::Press { text },
            Prompt::Color { text, colors } => PromptView::Color { colors, text },
            Prompt::Word { text, options } => PromptView::Word { options, text },
        }
    }
}
