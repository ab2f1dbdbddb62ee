//! Django REST Framework 3.6.4's `PageNumberPagination` as Scale configures it (`util.rest.
//! DefaultPagination`: 100 a page, `page_size` up to 1000; reference §1.2), with Django 1.11's
//! `Paginator` page arithmetic and DRF's `replace_query_param`/`remove_query_param` links.

use std::ops::Range;

use serde::Serialize;

use super::filters::{PyInt, python_int};
use super::{ScaleError, query_pairs};

pub(crate) const DEFAULT_PAGE_SIZE: usize = 100;
pub(crate) const MAX_PAGE_SIZE: usize = 1000;

/// The list envelope, fields in DRF's order.
#[derive(Debug, Serialize, PartialEq)]
pub(crate) struct Envelope<T> {
    pub count: usize,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<T>,
}

/// One page chosen for a request: which items to take and the links around them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Page {
    pub count: usize,
    pub number: usize,
    pub size: usize,
    /// The slice of the full, ordered result list to serialise.
    pub items: Range<usize>,
    pub next: Option<String>,
    pub previous: Option<String>,
}

impl Page {
    /// Wraps the page's results (already sliced with `items`) in the envelope.
    pub(crate) fn envelope<T>(&self, results: Vec<T>) -> Envelope<T> {
        Envelope {
            count: self.count,
            next: self.next.clone(),
            previous: self.previous.clone(),
            results,
        }
    }
}

/// DRF's `NotFound(invalid_page_message)`: the page is not a number, below 1 or past the end.
pub(crate) fn invalid_page() -> ScaleError {
    ScaleError::not_found("Invalid page.")
}

/// `get_page_size`: `_positive_int(strict=True, cutoff=1000)` on the last `page_size`; zero, negative
/// and non-integer values are ignored silently (100), larger ones clamped, however large.
fn page_size(value: Option<&str>) -> usize {
    match value.and_then(python_int) {
        Some(PyInt::Small(n)) if n > 0 => {
            usize::try_from(n).map_or(MAX_PAGE_SIZE, |n| n.min(MAX_PAGE_SIZE))
        }
        Some(PyInt::Big { negative: false }) => MAX_PAGE_SIZE,
        _ => DEFAULT_PAGE_SIZE,
    }
}

/// Chooses the page for `count` ordered results and a request at `url` (absolute, as Django's
/// `build_absolute_uri()` gives it, query included): `page` is 1-based, `last` means the last page,
/// and page 1 of nothing is a valid empty page (`allow_empty_first_page`).
pub(crate) fn paginate(count: usize, url: &str) -> Result<Page, ScaleError> {
    let (base, query) = url.split_once('?').map_or((url, ""), |(b, q)| (b, q));
    let (query, fragment) = query
        .split_once('#')
        .map_or((query, None), |(q, f)| (q, Some(f)));
    let pairs = query_pairs(query);
    let last = |key: &str| {
        pairs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let size = page_size(last("page_size"));
    let pages = count.max(1).div_ceil(size);
    let number = match last("page") {
        None => 1,
        Some("last") => pages,
        Some(text) => match python_int(text) {
            Some(PyInt::Small(n)) if n >= 1 && usize::try_from(n).is_ok_and(|n| n <= pages) => {
                n as usize
            }
            _ => return Err(invalid_page()),
        },
    };
    let start = (number - 1) * size;
    let link = |page: Option<usize>| with_page(base, &pairs, page, fragment);
    Ok(Page {
        count,
        number,
        size,
        items: start..(start + size).min(count),
        next: (number < pages).then(|| link(Some(number + 1))),
        // `get_previous_link` drops `page` rather than writing `page=1`.
        previous: (number > 1).then(|| link((number > 2).then_some(number - 1))),
    })
}

/// `replace_query_param` (or, for `None`, `remove_query_param`): the query re-encoded with the keys
/// sorted (`urlencode(sorted(query_dict.items()), doseq=True)`), values of a key in their order.
fn with_page(
    base: &str,
    pairs: &[(String, String)],
    page: Option<usize>,
    fragment: Option<&str>,
) -> String {
    let mut kept: Vec<(&str, String)> = pairs
        .iter()
        .filter(|(k, _)| k != "page")
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    if let Some(page) = page {
        kept.push(("page", page.to_string()));
    }
    kept.sort_by(|a, b| a.0.cmp(b.0)); // stable: a key's values stay in order, as parse_qs keeps them
    let query: Vec<String> = kept
        .iter()
        .map(|(k, v)| format!("{}={}", quote_plus(k), quote_plus(v)))
        .collect();
    let mut out = base.to_owned();
    if !query.is_empty() {
        out.push('?');
        out.push_str(&query.join("&"));
    }
    if let Some(f) = fragment.filter(|f| !f.is_empty()) {
        out.push('#');
        out.push_str(f);
    }
    out
}

/// Python 2's `urllib.quote_plus`: letters, digits and `_.-` stay, space is `+`, the rest `%XX`.
fn quote_plus(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'.' | b'-' => out.push(char::from(b)),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    // A failed unwrap in a table-driven test names the case in its panic; that is the point here.
    #![allow(clippy::unwrap_used, clippy::type_complexity)]

    use super::*;

    const URL: &str = "http://scale.test/v5/load/";

    #[test]
    fn pages_and_links() {
        // (count, query, number, size, items, next, previous)
        let cases: [(
            usize,
            &str,
            usize,
            usize,
            Range<usize>,
            Option<&str>,
            Option<&str>,
        ); 9] = [
            (0, "", 1, 100, 0..0, None, None),
            (250, "", 1, 100, 0..100, Some("?page=2"), None),
            (250, "?page=2", 2, 100, 100..200, Some("?page=3"), Some("")),
            (250, "?page=3", 3, 100, 200..250, None, Some("?page=2")),
            (250, "?page=last", 3, 100, 200..250, None, Some("?page=2")),
            (
                250,
                "?started=P1D&page=2&job_type_id=2&job_type_id=1&page_size=50",
                2,
                50,
                50..100,
                Some("?job_type_id=2&job_type_id=1&page=3&page_size=50&started=P1D"),
                Some("?job_type_id=2&job_type_id=1&page_size=50&started=P1D"),
            ),
            (
                5000,
                "?page_size=5000",
                1,
                1000,
                0..1000,
                Some("?page=2&page_size=5000"),
                None,
            ),
            (
                5000,
                "?page_size=99999999999999999999999",
                1,
                1000,
                0..1000,
                Some("?page=2&page_size=99999999999999999999999"),
                None,
            ),
            (
                250,
                "?page_size=0&page= 2 ",
                2,
                100,
                100..200,
                Some("?page=3&page_size=0"),
                Some("?page_size=0"),
            ),
        ];
        for (count, query, number, size, items, next, previous) in cases {
            let page = paginate(count, &format!("{URL}{query}")).unwrap();
            let link = |l: Option<&str>| l.map(|q| format!("{URL}{q}"));
            assert_eq!(
                page,
                Page {
                    count,
                    number,
                    size,
                    items,
                    next: link(next),
                    previous: link(previous)
                },
                "{query}"
            );
        }
    }

    #[test]
    fn page_size_ignored_or_clamped() {
        let cases = [
            (None, 100),
            (Some("10"), 10),
            (Some(" 10 "), 10),
            (Some("1000"), 1000),
            (Some("1001"), 1000),
            (Some("0"), 100),
            (Some("-5"), 100),
            (Some("abc"), 100),
            (Some("1.5"), 100),
            (Some(""), 100),
        ];
        for (value, want) in cases {
            assert_eq!(page_size(value), want, "{value:?}");
        }
    }

    #[test]
    fn invalid_pages() {
        for query in [
            "?page=4",
            "?page=0",
            "?page=-1",
            "?page=abc",
            "?page=",
            "?page=1.0",
            "?page=LAST",
            "?page=99999999999999999999",
        ] {
            let err = paginate(250, &format!("{URL}{query}")).unwrap_err();
            assert_eq!(
                (err.status.as_u16(), err.body.to_string()),
                (404, r#"{"detail":"Invalid page."}"#.into())
            );
        }
        assert!(paginate(0, &format!("{URL}?page=2")).is_err());
    }

    #[test]
    fn links_reencode_like_python() {
        let page = paginate(
            300,
            &format!("{URL}?job_type_name=a+b%2Cc~*&flag&x=%C3%A9;page=2"),
        )
        .unwrap();
        assert_eq!(
            page.next.as_deref(),
            Some("http://scale.test/v5/load/?flag=&job_type_name=a+b%2Cc%7E%2A&page=3&x=%C3%A9")
        );
    }

    #[test]
    fn envelope_order() {
        let page = paginate(1, URL).unwrap();
        let body = serde_json::to_string(&page.envelope(vec![1])).unwrap();
        assert_eq!(
            body,
            r#"{"count":1,"next":null,"previous":null,"results":[1]}"#
        );
    }
}
