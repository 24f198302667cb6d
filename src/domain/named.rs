//! Named prompts (docs/api.md, "Named prompts"): a definition names a
//! prompt by a stable identifier, and each of its instances is an ordinary
//! prompt. Which instance is current, and when the next one is due, is
//! decided here; the engines only store and race for it.

use super::prompt::{Prompt, PromptError, PromptRecord};

/// Longest identifier, in characters.
pub const MAX_IDENTIFIER_CHARS: usize = 64;
/// Shortest `expires_seconds`.
pub const MIN_EXPIRES_SECONDS: i64 = 60;

/// Checks an identifier: 1–64 characters of `[a-z0-9-]`.
pub fn parse_identifier(raw: &str) -> Result<String, PromptError> {
    let len = raw.chars().count();
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
    if len == 0 || len > MAX_IDENTIFIER_CHARS || !raw.chars().all(allowed) {
        return Err(PromptError {
            field: "identifier".into(),
            reason: format!(
                "must be 1 to {MAX_IDENTIFIER_CHARS} characters of a-z, 0-9 and -, got {raw:?}"
            ),
        });
    }
    Ok(raw.to_owned())
}

/// Checks how long an instance stays current: an integer ≥ 60 seconds.
pub fn parse_expires(expires_seconds: i64) -> Result<i64, PromptError> {
    if expires_seconds < MIN_EXPIRES_SECONDS {
        return Err(PromptError {
            field: "expires_seconds".into(),
            reason: format!("must be at least {MIN_EXPIRES_SECONDS}, got {expires_seconds}"),
        });
    }
    Ok(expires_seconds)
}

/// What an admin sets on a definition (validated).
#[derive(Debug, Clone, PartialEq)]
pub struct DefinitionSettings {
    /// The prompt every new instance gets.
    pub prompt: Prompt,
    /// Every new instance's duration.
    pub duration_seconds: i64,
    /// How long an instance stays current after it is created.
    pub expires_seconds: i64,
}

/// A stored definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Definition {
    /// Database id.
    pub id: i64,
    /// The stable name.
    pub identifier: String,
    /// Counts the changes of `prompt` or `duration_seconds`, from 1.
    pub version: i64,
    /// The current settings.
    pub settings: DefinitionSettings,
    /// Unix seconds when soft-deleted, if it was.
    pub deleted_at: Option<f64>,
}

/// An instance of a definition: the prompt made for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    /// Its number within the definition, from 1.
    pub seq: i64,
    /// The definition's version it was made of.
    pub version: i64,
    /// Unix seconds when it was made.
    pub created_at: f64,
    /// The prompt.
    pub prompt: PromptRecord,
}

/// A definition with its newest instance, as read together.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedPrompt {
    /// The definition.
    pub definition: Definition,
    /// Its newest instance (the highest `seq`), if any was made.
    pub latest: Option<Instance>,
}

impl NamedPrompt {
    /// The current instance at `now` (Unix seconds): the newest one, of
    /// the definition's current version, made less than `expires_seconds`
    /// ago, whose prompt has not been deleted.
    pub fn current(&self, now: f64) -> Option<&Instance> {
        let d = &self.definition;
        self.latest.as_ref().filter(|i| {
            i.version == d.version
                && now - i.created_at < d.settings.expires_seconds as f64
                && i.prompt.deleted_at.is_none()
        })
    }

    /// The `seq` the next instance takes.
    pub fn next_seq(&self) -> i64 {
        self.latest.as_ref().map_or(1, |i| i.seq + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(version: i64, latest: Option<(i64, f64, bool)>) -> NamedPrompt {
        let prompt = Prompt::Press {
            text: "Hold".into(),
        };
        NamedPrompt {
            definition: Definition {
                id: 1,
                identifier: "onboarding".into(),
                version,
                settings: DefinitionSettings {
                    prompt: prompt.clone(),
                    duration_seconds: 10,
                    expires_seconds: 100,
                },
                deleted_at: None,
            },
            latest: latest.map(|(v, created_at, deleted)| Instance {
                seq: 3,
                version: v,
                created_at,
                prompt: PromptRecord {
                    deleted_at: deleted.then_some(created_at),
                    ..PromptRecord::unsaved(prompt, 10, created_at)
                },
            }),
        }
    }

    #[test]
    fn identifiers_are_1_to_64_of_lower_case_letters_digits_and_hyphens() {
        let (longest, too_long) = ("x".repeat(64), "x".repeat(65));
        for ok in ["a", "onboarding-mood-2", longest.as_str(), "-", "0"] {
            assert_eq!(parse_identifier(ok).as_deref(), Ok(ok));
        }
        for bad in [
            "",
            "Upper",
            "with space",
            "under_score",
            "é",
            too_long.as_str(),
            "a/b",
        ] {
            let e = parse_identifier(bad).unwrap_err();
            assert_eq!(e.field, "identifier", "{bad:?}");
        }
    }

    #[test]
    fn expiry_is_at_least_a_minute() {
        assert_eq!(parse_expires(60), Ok(60));
        assert_eq!(parse_expires(i64::MAX), Ok(i64::MAX));
        for bad in [59, 0, -1, i64::MIN] {
            assert_eq!(parse_expires(bad).unwrap_err().field, "expires_seconds");
        }
    }

    #[test]
    fn the_newest_instance_is_current_until_it_expires_changes_version_or_is_deleted() {
        assert_eq!(named(1, None).current(0.0), None);
        assert_eq!(named(1, None).next_seq(), 1);
        let fresh = named(2, Some((2, 1000.0, false)));
        assert_eq!(fresh.current(1000.0).map(|i| i.seq), Some(3));
        assert_eq!(fresh.current(1099.9).map(|i| i.seq), Some(3));
        assert_eq!(fresh.current(1100.0), None, "expired");
        assert_eq!(fresh.next_seq(), 4);
        assert_eq!(
            named(3, Some((2, 1000.0, false))).current(1000.0),
            None,
            "old version"
        );
        assert_eq!(
            named(2, Some((2, 1000.0, true))).current(1000.0),
            None,
            "deleted prompt"
        );
    }
}
