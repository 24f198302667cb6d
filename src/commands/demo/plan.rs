//! One simulated participant's session: which events, at which prompt
//! times, drawn from a prompt's [`Script`].
//!
//! A plan always satisfies the event rules (docs/rules.md, "The event rules"): it starts with a
//! join, ends with a leave, its times never go back, no type repeats at the
//! same instant, and presses alternate start and end.

use rand::Rng;

use super::script::{DemoPrompt, Script, choice_weights, numeric_at};
use crate::domain::event::EventKind;

/// The events of one session, in order: `(prompt_time, kind)`.
pub type Plan = Vec<(f64, EventKind)>;

/// A standard normal sample (Box–Muller; `rand` alone has no normal).
fn normal(rng: &mut impl Rng) -> f64 {
    let u: f64 = rng.random_range(f64::EPSILON..1.0);
    let v: f64 = rng.random();
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// An index drawn with probability proportional to `weights`.
fn weighted(rng: &mut impl Rng, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut x = rng.random::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.iter().rposition(|w| *w > 0.0).unwrap_or(0)
}

/// Rounds to milliseconds, like a client's clock would.
fn ms(t: f64) -> f64 {
    (t * 1000.0).round() / 1000.0
}

/// Draws one session of `p`.
pub fn session(p: &DemoPrompt, rng: &mut impl Rng) -> Plan {
    let d = p.duration_seconds as f64;
    // Most people stay to the end; some drift away.
    let leave = if rng.random_bool(0.12) {
        ms(rng.random_range(0.3 * d..0.95 * d))
    } else {
        d
    };
    let mut events = vec![(0.0, EventKind::Join)];
    match p.script {
        Script::Numeric(frames) => {
            let mood = normal(rng) * 0.7; // a person's own lean, kept throughout
            let (min, max) = match &p.prompt {
                crate::domain::prompt::Prompt::Numeric { min, max, .. } => (*min, *max),
                _ => (1, 10),
            };
            answers(rng, leave, &mut events, |rng, t| {
                let (mean, spread) = numeric_at(frames, t);
                let r = (mean + mood + normal(rng) * spread).round() as i64;
                EventKind::Numeric {
                    rating: r.clamp(min, max),
                }
            });
        }
        Script::Choice(frames) => {
            let is_color = matches!(p.prompt, crate::domain::prompt::Prompt::Color { .. });
            answers(rng, leave, &mut events, |rng, t| {
                let index = weighted(rng, &choice_weights(frames, t)) as i64;
                if is_color {
                    EventKind::Color { index }
                } else {
                    EventKind::Word { index }
                }
            });
        }
        Script::Press(swells) => presses(rng, swells, leave, &mut events),
    }
    let likes = rng.random_range(0..=3);
    for _ in 0..likes {
        let peak = p.like_peaks[rng.random_range(0..p.like_peaks.len())];
        let t = ms((peak + normal(rng) * 1.5).clamp(0.5, leave));
        events.push((t, EventKind::Like));
    }
    finish(events, leave)
}

/// A first answer a few seconds in, then reconsiderations every few
/// seconds, recording only actual changes.
fn answers<R: Rng>(
    rng: &mut R,
    leave: f64,
    events: &mut Plan,
    mut draw: impl FnMut(&mut R, f64) -> EventKind,
) {
    let mut t = 1.0 + rng.random_range(0.0..4.0);
    let mut current = None;
    while t < leave {
        let kind = draw(rng, t);
        if current != Some(kind) {
            events.push((ms(t), kind));
            current = Some(kind);
        }
        t += rng.random_range(3.0..11.0);
    }
}

/// Holds the button through some of the swells.
fn presses(rng: &mut impl Rng, swells: &[(f64, f64, f64)], leave: f64, events: &mut Plan) {
    let mut free_from = 0.0;
    for (i, &(from, to, share)) in swells.iter().enumerate() {
        if !rng.random_bool(share) {
            continue;
        }
        let start = ms((from + normal(rng).abs() * 0.7).max(free_from));
        let next = swells.get(i + 1).map_or(f64::INFINITY, |s| s.0);
        let end = ms((to + normal(rng) * 0.8).min(next - 0.1).max(start + 0.3));
        if start >= leave {
            break;
        }
        events.push((start, EventKind::PressStart));
        events.push((end.min(leave), EventKind::PressEnd));
        free_from = end + 0.05;
    }
}

/// Sorts, drops what falls after leaving, nudges same-type ties apart,
/// and ends with the leave (releasing a press first).
fn finish(mut events: Plan, leave: f64) -> Plan {
    events.sort_by(|a, b| a.0.total_cmp(&b.0));
    events.retain(|(t, _)| *t <= leave);
    let mut out: Plan = Vec::with_capacity(events.len() + 2);
    let mut pressing = false;
    for (t, kind) in events {
        let mut t = t.max(out.last().map_or(0.0, |e| e.0));
        let same_type_at = |t: f64| {
            out.iter()
                .rev()
                .take_while(|e| e.0 >= t)
                .any(|e| e.1.event_type() == kind.event_type())
        };
        while same_type_at(t) {
            t = ms(t + 0.001);
        }
        if t > leave {
            continue;
        }
        match kind {
            EventKind::PressStart => pressing = true,
            EventKind::PressEnd => pressing = false,
            _ => {}
        }
        out.push((t, kind));
    }
    if pressing {
        out.push((leave, EventKind::PressEnd));
    }
    out.push((leave, EventKind::Leave));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::demo::script::{self, FIRST_SWELL, LAST_WORD_FROM};
    use rand::SeedableRng;

    #[test]
    fn plans_follow_the_event_rules() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        for p in script::prompts() {
            for _ in 0..500 {
                let plan = session(&p, &mut rng);
                assert_eq!(plan[0], (0.0, EventKind::Join));
                assert_eq!(plan.last().unwrap().1, EventKind::Leave);
                let mut pressing = false;
                for pair in plan.windows(2) {
                    assert!(pair[0].0 <= pair[1].0, "{plan:?}");
                    assert!(
                        pair[0].0 < pair[1].0 || pair[0].1.event_type() != pair[1].1.event_type()
                    );
                }
                for (t, kind) in &plan {
                    assert!((0.0..=p.duration_seconds as f64).contains(t));
                    match kind {
                        EventKind::PressStart => {
                            assert!(!pressing && *t >= FIRST_SWELL);
                            pressing = true;
                        }
                        EventKind::PressEnd => {
                            assert!(pressing);
                            pressing = false;
                        }
                        EventKind::Word { index: 4 } => assert!(*t >= LAST_WORD_FROM),
                        _ => {}
                    }
                }
            }
        }
    }
}
