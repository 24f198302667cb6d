//! The event search (docs/api.md, "Search"): the request as sent
//! ([`request`]), validated into a [`SearchQuery`] of conditions, sampling
//! and limit ([`query`]), with its sort keys and keyset pagination
//! ([`sort`]); storage engines render the query to SQL.

pub mod query;
pub mod request;
pub mod sort;

pub use query::{Cmp, DEFAULT_LIMIT, Dropout, Field, MAX_LIMIT, SearchError, SearchQuery};
pub use request::{
    DropoutFilter, NumberFilter, NumberOp, SearchFilters, SearchRequest, SortDir, SortItemInput,
    SortKey, TextFilter, TextOp,
};
pub use sort::{MAX_RANDOM_DROPOUT, Scalar, SortItem};
