//! What a participant does in a session, by prompt style: join, then
//! answers, likes and presses, then leave — the sequence the web client
//! produces.

use serde_json::{Value, json};

/// The styles the load generator knows.
pub const STYLES: [&str; 4] = ["numeric", "press", "color", "word"];

/// One participant's progress through a session.
#[derive(Debug, Clone)]
pub struct Script {
    style: &'static str,
    step: u32,
}

impl Script {
    /// A fresh session of a prompt of `style`.
    pub fn new(style: &str) -> Self {
        let style = STYLES
            .into_iter()
            .find(|s| *s == style)
            .unwrap_or("numeric");
        Script { style, step: 0 }
    }

    /// Number of events posted so far.
    pub fn posted(&self) -> u32 {
        self.step
    }

    /// The next event's route and data; `ending` makes it the leave. A
    /// press session that is pressing ends its press first.
    pub fn next(&mut self, ending: bool) -> (&'static str, Value) {
        let step = self.step;
        self.step += 1;
        if step == 0 {
            return ("join", json!({}));
        }
        let i = (step - 1) as usize;
        let pick = || json!({"index": rand::random_range(0..4)});
        if ending {
            return ("leave", json!({}));
        }
        match self.style {
            "press" => match i % 3 {
                0 => ("respond_press_prompt/start", json!({})),
                1 => ("like", json!({})),
                _ => ("respond_press_prompt/end", json!({})),
            },
            "color" if i.is_multiple_of(2) => ("respond_color_prompt", pick()),
            "word" if i.is_multiple_of(2) => ("respond_word_prompt", pick()),
            "numeric" if i.is_multiple_of(2) => (
                "respond_numeric_prompt",
                json!({"rating": rand::random_range(1..=10)}),
            ),
            _ => ("like", json!({})),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_press_session_alternates_start_and_end() {
        let mut s = Script::new("press");
        let routes: Vec<_> = (0..7).map(|i| s.next(i == 6).0).collect();
        assert_eq!(
            routes,
            [
                "join",
                "respond_press_prompt/start",
                "like",
                "respond_press_prompt/end",
                "respond_press_prompt/start",
                "like",
                "leave"
            ]
        );
    }
}
