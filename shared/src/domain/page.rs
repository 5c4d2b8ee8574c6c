//! One page of a listing.

/// One page of a listing, with the key to continue after (if there may be more).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_after: Option<String>,
}
