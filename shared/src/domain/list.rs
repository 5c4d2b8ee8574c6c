//! Status lists and their entries as stored: what a list is, where its token is served, and
//! its publishing summary.

use crate::domain::lifetime::Lifetime;

/// The pool of lists the issuer API allocates from.
pub const GOVUK_POOL: &str = "govuk";
/// Entries per list and bits per entry for the GOV.UK pool (contract §1.6: 100,000 x 2 bits).
pub const LIST_SIZE: u64 = 100_000;

/// A status list: fixed size, `bits` per entry, served at `<base>/t/<list_id>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListRecord {
    pub list_id: String,
    /// Which allocation pool the list belongs to (`govuk` for the issuer API).
    pub pool: String,
    pub bits: u8,
    pub size: u64,
    pub open: bool,
    pub created_at: i64,
    /// Token lifetimes fixed when the list was created; `None` uses the publisher's defaults.
    /// An mDoc list takes its configuration's lifetimes at every publish instead.
    pub lifetime: Option<Lifetime>,
    /// The tenant and configuration of an mDoc list; `None` for the issuer API's lists.
    pub owner: Option<ListOwner>,
    /// The IACA under which its token in place was signed (mDoc lists, once published).
    pub published_iaca_id: Option<String>,
    /// No entry's `statusExpiry` is later than this (see [`crate::domain::resign`]); `None`
    /// while unknown (no entry with an expiry yet, mDoc lists).
    pub status_horizon: Option<i64>,
}

/// Who an mDoc status list belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListOwner {
    pub tenant_id: String,
    pub configuration_id: String,
}

impl ListRecord {
    /// The issuer API's list, or a tenant's mDoc list (it has an owner).
    pub fn family(&self) -> ListFamily {
        ListFamily::of_owned(self.owner.is_some())
    }

    /// Where the list's token is served (the `sub` of its tokens).
    pub fn uri(&self, base_url: &str) -> String {
        self.family().token_uri(base_url, &self.list_id)
    }
}

/// The two families of list, the issuer API's and the mDoc API's: each has its own token and
/// distribution paths, which the route table ([`crate::routes`]) serves and the tokens name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListFamily {
    /// The issuer API's lists: `<base>/t/<id>`, distributed at `<base>/status-lists`.
    GovUk,
    /// The mDoc API's lists: `<base>/v2/credentials/mobile/status-lists/<id>/token`, distributed
    /// at `<base>/v2/credentials/mobile/status-lists/distribution`.
    Mdoc,
}

impl ListFamily {
    pub const ALL: [ListFamily; 2] = [ListFamily::GovUk, ListFamily::Mdoc];

    /// The family of a list with (mDoc) or without (issuer API) an owning tenant.
    pub fn of_owned(owned: bool) -> ListFamily {
        if owned { ListFamily::Mdoc } else { ListFamily::GovUk }
    }

    /// The route of a list's token, its one `{...}` segment standing for the list id.
    pub const fn token_route(self) -> &'static str {
        match self {
            ListFamily::GovUk => "/t/{id}",
            ListFamily::Mdoc => "/v2/credentials/mobile/status-lists/{statusListId}/token",
        }
    }

    /// The path of the family's distribution document.
    pub const fn distribution_path(self) -> &'static str {
        match self {
            ListFamily::GovUk => "/status-lists",
            ListFamily::Mdoc => "/v2/credentials/mobile/status-lists/distribution",
        }
    }

    /// The URI of a list's token under `base_url`.
    pub fn token_uri(self, base_url: &str, list_id: &str) -> String {
        let route = self.token_route();
        let (before, rest) = route.split_once('{').expect("a token route has its id parameter");
        let (_, after) = rest.split_once('}').expect("a token route has its id parameter");
        format!("{base_url}{before}{list_id}{after}")
    }

    /// The URI of the family's distribution document under `base_url`.
    pub fn distribution_uri(self, base_url: &str) -> String {
        format!("{base_url}{}", self.distribution_path())
    }
}

/// One allocated index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub list_id: String,
    pub idx: u64,
    pub client_id: String,
    pub issued_at: i64,
    pub status_expiry: i64,
    /// The stored status value (0 VALID, 1 INVALID, 2 SUSPENDED).
    pub status: u8,
    pub revoked_at: Option<i64>,
}

/// A list's publishing state: its change sequence (bumped after every status change) and the
/// sequence of the newest published token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListState {
    pub list: ListRecord,
    pub change_seq: u64,
}

/// What a landed publish put in place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishedToken {
    pub seq: u64,
    pub iat: i64,
    pub exp: i64,
    /// The `Cache-Control: max-age` it was written with.
    pub max_age: u64,
    /// The IACA whose signer signed it (mDoc lists).
    pub iaca_id: Option<String>,
}

/// A list as the re-signer and the distribution document see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListSummary {
    pub list_id: String,
    /// `exp` of the newest published token; 0 if none was recorded.
    pub published_exp: i64,
    /// The `max-age` the token in place was written with; `None` if not recorded (a token
    /// published before it was, whose max-age was its ttl).
    pub published_max_age: Option<u64>,
    /// The lifetime stored with the list (issuer-API lists); an mDoc list's is its configuration's.
    pub lifetime: Option<Lifetime>,
    /// The owning tenant of an mDoc list.
    pub tenant_id: Option<String>,
    /// The configuration of an mDoc list.
    pub configuration_id: Option<String>,
    /// Whether the list still takes new entries.
    pub open: bool,
    /// See [`ListRecord::status_horizon`].
    pub status_horizon: Option<i64>,
}

impl ListSummary {
    pub fn family(&self) -> ListFamily {
        ListFamily::of_owned(self.tenant_id.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_family_has_its_uris() {
        let base = "https://example.com";
        assert_eq!(ListFamily::GovUk.token_uri(base, "ABC"), "https://example.com/t/ABC");
        assert_eq!(
            ListFamily::Mdoc.token_uri(base, "ABC"),
            "https://example.com/v2/credentials/mobile/status-lists/ABC/token"
        );
        assert_eq!(
            ListFamily::GovUk.distribution_uri(base),
            "https://example.com/status-lists"
        );
        assert_eq!(
            ListFamily::Mdoc.distribution_uri(base),
            "https://example.com/v2/credentials/mobile/status-lists/distribution"
        );
        assert_eq!(ListFamily::of_owned(true), ListFamily::Mdoc);
        assert_eq!(ListFamily::of_owned(false), ListFamily::GovUk);
    }
}
