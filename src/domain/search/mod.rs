//! The event search (docs/api.md, "Search"): the request as sent
//! ([`request`]), validated into a [`SearchQuery`] of conditions, sampling
//! and limit ([`query`]), with its sort keys and keyset pagination
//! ([`sort`]); storage engines render the query to SQL.

pub mod query;
pub mod request;
pub mod sort;

pub use query::{Cmp, Dropout, Field, Scalar, SearchError, SearchQuery};
pub use request::{
    DropoutFilter, NumberFilter, NumberOp, SearchFilters, SearchRequest, SortItemInput, TextFilter,
    TextOp,
};
pub use sort::{SortDir, SortItem, SortKey};

/// Largest page.
pub const MAX_LIMIT: usize = 5000;
/// Page size when none is given.
pub const DEFAULT_LIMIT: usize = 100;
/// Largest `dropout_for_total` that may be combined with a random sort.
pub const MAX_RANDOM_DROPOUT: i64 = 100;
