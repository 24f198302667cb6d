//! The admin listing of prompts (docs/api.md, "Listing prompts"), shared by
//! the engines: newest first, keyset-paginated by row id, with each
//! prompt's totals read from `interactive_prompt_totals` (one row per
//! prompt listed, never a count over its sessions or events).

use crate::domain::prompt::PromptRecord;

/// Which prompts a listing shows, by soft deletion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeletedFilter {
    /// Only prompts that are not deleted (the default).
    Live,
    /// Only deleted prompts.
    Deleted,
    /// Both.
    Any,
}

/// One page's request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListQuery {
    /// Only prompts older than the prompt of this row id (the previous
    /// page's last), or from the newest when `None`.
    pub before_id: Option<i64>,
    /// Most prompts on the page, 1 … 500.
    pub limit: usize,
    /// Which prompts, by deletion.
    pub deleted: DeletedFilter,
}

/// A listed prompt with its totals.
#[derive(Debug, Clone)]
pub struct ListedPrompt {
    /// The prompt.
    pub prompt: PromptRecord,
    /// Sessions started, with or without events.
    pub sessions: i64,
    /// Events stored.
    pub events: i64,
}

/// One page of the listing.
#[derive(Debug, Clone)]
pub struct PromptPage {
    /// Newest first.
    pub items: Vec<ListedPrompt>,
    /// The row id to continue before, when there may be more.
    pub next_before_id: Option<i64>,
}

/// The page's SQL: `$1` the row id to list before, `$2` the rows to read
/// (one more than the limit, to know whether another page follows).
pub fn sql(deleted: DeletedFilter) -> String {
    let filter = match deleted {
        DeletedFilter::Live => "AND p.deleted_at IS NULL",
        DeletedFilter::Deleted => "AND p.deleted_at IS NOT NULL",
        DeletedFilter::Any => "",
    };
    format!(
        "SELECT p.id, p.uid, p.prompt, p.duration_seconds, p.created_at, p.deleted_at,
            COALESCE(t.sessions, 0), COALESCE(t.events, 0)
         FROM interactive_prompts p
         LEFT JOIN interactive_prompt_totals t ON t.interactive_prompt_id = p.id
         WHERE p.id < $1 {filter}
         ORDER BY p.id DESC LIMIT $2"
    )
}

impl ListQuery {
    /// `$1` of [`sql`].
    pub fn before(&self) -> i64 {
        self.before_id.unwrap_or(i64::MAX)
    }

    /// `$2` of [`sql`].
    pub fn rows(&self) -> i64 {
        self.limit as i64 + 1
    }

    /// Makes the page from the rows read (up to [`Self::rows`]).
    pub fn page(&self, mut items: Vec<ListedPrompt>) -> PromptPage {
        let more = items.len() > self.limit;
        items.truncate(self.limit);
        let next_before_id = match items.last() {
            Some(last) if more => Some(last.prompt.id),
            _ => None,
        };
        PromptPage {
            items,
            next_before_id,
        }
    }
}
