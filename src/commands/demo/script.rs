//! The demo prompts and how their imagined audience answers them over time.
//!
//! Each prompt comes with a [`Script`]: a few keyframes saying what people
//! tend to answer at which moment (interpolated linearly between them), when
//! they press, and when they like. The history and the live crowd both
//! draw their sessions from it, so the totals drift the way a real audience
//! reacting to the same piece would.

use crate::domain::prompt::Prompt;

/// A demo prompt and the script its simulated participants follow.
#[derive(Debug, Clone)]
pub struct DemoPrompt {
    /// The prompt as stored.
    pub prompt: Prompt,
    /// Its duration in seconds.
    pub duration_seconds: i64,
    /// How people answer it.
    pub script: Script,
    /// Prompt times around which likes cluster.
    pub like_peaks: &'static [f64],
}

/// What answers look like over the prompt.
#[derive(Debug, Clone)]
pub enum Script {
    /// Ratings: `(time, mean, spread)` keyframes of a rounded normal.
    Numeric(&'static [(f64, f64, f64)]),
    /// Presses: `(from, to, share)` swells during which a share of people
    /// hold the button.
    Press(&'static [(f64, f64, f64)]),
    /// Colours or words: `(time, weights)` keyframes, one weight per option.
    Choice(&'static [(f64, &'static [f64])]),
}

/// The weights of a choice script at prompt time `t`, interpolated
/// linearly between keyframes (flat before the first and after the last).
pub fn choice_weights(keyframes: &[(f64, &[f64])], t: f64) -> Vec<f64> {
    let (first_t, first) = keyframes[0];
    if t <= first_t {
        return first.to_vec();
    }
    for pair in keyframes.windows(2) {
        let ((t0, w0), (t1, w1)) = (pair[0], pair[1]);
        if t <= t1 {
            let f = (t - t0) / (t1 - t0);
            return w0.iter().zip(w1).map(|(a, b)| a + (b - a) * f).collect();
        }
    }
    keyframes[keyframes.len() - 1].1.to_vec()
}

/// The `(mean, spread)` of a numeric script at prompt time `t`.
pub fn numeric_at(keyframes: &[(f64, f64, f64)], t: f64) -> (f64, f64) {
    let (t0, m0, s0) = keyframes[0];
    if t <= t0 {
        return (m0, s0);
    }
    for pair in keyframes.windows(2) {
        let ((t0, m0, s0), (t1, m1, s1)) = (pair[0], pair[1]);
        if t <= t1 {
            let f = (t - t0) / (t1 - t0);
            return (m0 + (m1 - m0) * f, s0 + (s1 - s0) * f);
        }
    }
    let (_, m, s) = keyframes[keyframes.len() - 1];
    (m, s)
}

/// Nobody in the script presses before this prompt time, so a person
/// trying the press prompt sees their own press move the totals.
pub const FIRST_SWELL: f64 = 6.0;
/// Nobody in the script picks the last word before this prompt time.
pub const LAST_WORD_FROM: f64 = 12.0;

/// The four demo prompts, one of each style.
pub fn prompts() -> Vec<DemoPrompt> {
    vec![
        DemoPrompt {
            prompt: Prompt::Numeric {
                text: "Breathe with the music. How calm do you feel right now?".into(),
                min: 1,
                max: 10,
                step: 1,
            },
            duration_seconds: 45,
            script: Script::Numeric(&[(0.0, 4.2, 1.9), (18.0, 6.0, 1.6), (45.0, 8.1, 1.1)]),
            like_peaks: &[14.0, 30.0, 42.0],
        },
        DemoPrompt {
            prompt: Prompt::Press {
                text: "Press and hold while the music swells".into(),
            },
            duration_seconds: 30,
            script: Script::Press(&[
                (FIRST_SWELL, 11.0, 0.75),
                (16.5, 19.5, 0.45),
                (23.0, 29.0, 0.85),
            ]),
            like_peaks: &[9.0, 26.0],
        },
        DemoPrompt {
            prompt: Prompt::Color {
                text: "Which colour is this song?".into(),
                colors: [
                    "#3B6EA8", "#56A3A6", "#8CB369", "#F4D35E", "#EE964B", "#D1495B",
                ]
                .map(String::from)
                .to_vec(),
            },
            duration_seconds: 40,
            script: Script::Choice(&[
                (0.0, &[0.45, 0.3, 0.12, 0.06, 0.04, 0.03]),
                (16.0, &[0.12, 0.2, 0.3, 0.25, 0.08, 0.05]),
                (28.0, &[0.05, 0.08, 0.12, 0.3, 0.3, 0.15]),
                (40.0, &[0.04, 0.04, 0.07, 0.15, 0.3, 0.4]),
            ]),
            like_peaks: &[12.0, 33.0],
        },
        DemoPrompt {
            prompt: Prompt::Word {
                text: "Pick the word for this moment".into(),
                options: ["calm", "curious", "hopeful", "joyful", "restless"]
                    .map(String::from)
                    .to_vec(),
            },
            duration_seconds: 30,
            script: Script::Choice(&[
                (0.0, &[0.45, 0.35, 0.15, 0.05, 0.0]),
                (LAST_WORD_FROM, &[0.3, 0.3, 0.25, 0.15, 0.0]),
                (18.0, &[0.08, 0.2, 0.2, 0.17, 0.35]),
                (30.0, &[0.05, 0.1, 0.3, 0.45, 0.1]),
            ]),
            like_peaks: &[8.0, 20.0, 28.0],
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_prompts_are_valid_and_cover_every_style() {
        let all = prompts();
        let styles: Vec<&str> = all
            .iter()
            .map(|p| match &p.prompt {
                Prompt::Numeric { .. } => "numeric",
                Prompt::Press { .. } => "press",
                Prompt::Color { .. } => "color",
                Prompt::Word { .. } => "word",
            })
            .collect();
        assert_eq!(styles, ["numeric", "press", "color", "word"]);
        for p in &all {
            let input = serde_json::from_value(serde_json::to_value(&p.prompt).unwrap()).unwrap();
            assert_eq!(Prompt::parse(input).unwrap(), p.prompt);
            if let Script::Choice(frames) = &p.script {
                let n = match &p.prompt {
                    Prompt::Color { colors, .. } => colors.len(),
                    Prompt::Word { options, .. } => options.len(),
                    _ => unreachable!(),
                };
                assert!(frames.iter().all(|(_, w)| w.len() == n));
            }
        }
    }

    #[test]
    fn keyframes_interpolate_linearly() {
        let frames: &[(f64, &[f64])] = &[(0.0, &[1.0, 0.0]), (10.0, &[0.0, 1.0])];
        assert_eq!(choice_weights(frames, 5.0), vec![0.5, 0.5]);
        assert_eq!(choice_weights(frames, 20.0), vec![0.0, 1.0]);
        assert_eq!(
            numeric_at(&[(0.0, 2.0, 1.0), (10.0, 4.0, 3.0)], 5.0),
            (3.0, 2.0)
        );
    }
}
