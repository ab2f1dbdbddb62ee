//! Where the store's Redis is, as `HOPPER_REDIS_URL` says: one server's URL (`redis://`, `unix://`),
//! or the Sentinels that know which server is the master of a replicated Redis
//! (`redis+sentinel://[user:password@]host:port[,host:port...]/<master name>[/<db>]`).
//!
//! The redis crate reads the first form but has no URL for the second, so it is read here. The user,
//! password and database are the Redis nodes' (the master's), not the Sentinels': Sentinels are
//! usually run without a password, and one URL holding two sets of credentials would be hard to read.

/// Sentinel's own port, taken when an address gives none.
pub const SENTINEL_PORT: u16 = 26379;

const SENTINEL_SCHEME: &str = "redis+sentinel://";

/// The form a Sentinel URL must have, quoted in every error about one.
const SENTINEL_FORM: &str =
    "redis+sentinel://[user:password@]host:port[,host:port...]/<master name>[/<db>]";

#[derive(Clone, PartialEq, Eq)]
pub enum RedisAddress {
    /// One Redis server, its URL as the redis crate reads it.
    Server(String),
    /// A master that Sentinels watch and fail over.
    Sentinel(SentinelAddress),
}

/// A `redis+sentinel://` URL, read.
#[derive(Clone, PartialEq, Eq)]
pub struct SentinelAddress {
    /// The Sentinels to ask, as `(host, port)`; an IPv6 host without its brackets.
    pub sentinels: Vec<(String, u16)>,
    /// The name the Sentinels monitor the master under (`sentinel monitor <name> ...`).
    pub master: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub db: i64,
}

// By hand, so that a password never reaches a log through `{:?}`.
impl std::fmt::Debug for RedisAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Server(_) => f.write_str("Server(..)"),
            Self::Sentinel(address) => address.fmt(f),
        }
    }
}

impl std::fmt::Debug for SentinelAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sentinel")
            .field("sentinels", &self.sentinels)
            .field("master", &self.master)
            .field("db", &self.db)
            .finish_non_exhaustive()
    }
}

impl RedisAddress {
    /// Reads `HOPPER_REDIS_URL`; the error says what was wrong and which form is expected.
    pub fn parse(url: &str) -> Result<Self, String> {
        match url.strip_prefix(SENTINEL_SCHEME) {
            Some(rest) => parse_sentinel(rest)
                .map(Self::Sentinel)
                .map_err(|why| format!("not a Sentinel URL ({why}); expected {SENTINEL_FORM}")),
            None => redis::Client::open(url)
                .map(|_| Self::Server(url.to_owned()))
                .map_err(|e| {
                    format!(
                        "not a Redis URL ({e}); expected e.g. redis://127.0.0.1:6379, or \
                         {SENTINEL_FORM}"
                    )
                }),
        }
    }
}

fn parse_sentinel(rest: &str) -> Result<SentinelAddress, String> {
    let (authority, path) = rest
        .split_once('/')
        .ok_or("no master name after the Sentinels' addresses")?;
    // A password may hold an '@' of its own if it is not percent-encoded: the last one ends it.
    let (userinfo, hosts) = match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => (Some(userinfo), hosts),
        None => (None, authority),
    };
    let (username, password) = match userinfo {
        None => (None, None),
        Some(userinfo) => credentials(userinfo)?,
    };
    let sentinels = hosts
        .split(',')
        .map(sentinel)
        .collect::<Result<Vec<_>, _>>()?;
    let mut segments = path.split('/');
    let master = decode(segments.next().unwrap_or_default())?;
    if master.is_empty() {
        return Err("no master name after the Sentinels' addresses".to_owned());
    }
    let db = match segments.next() {
        None | Some("") => 0,
        Some(db) => db
            .parse::<i64>()
            .ok()
            .filter(|db| *db >= 0)
            .ok_or_else(|| format!("database {db:?} is not a number from 0 up"))?,
    };
    if segments.any(|s| !s.is_empty()) {
        return Err("more than a master name and a database after the addresses".to_owned());
    }
    Ok(SentinelAddress {
        sentinels,
        master,
        username,
        password,
        db,
    })
}

/// `user:password`, `:password` or `user`, percent-decoded; empty parts are absent.
fn credentials(userinfo: &str) -> Result<(Option<String>, Option<String>), String> {
    let (user, password) = match userinfo.split_once(':') {
        Some((user, password)) => (user, Some(password)),
        None => (userinfo, None),
    };
    let present = |s: String| (!s.is_empty()).then_some(s);
    Ok((
        present(decode(user)?),
        password.map(decode).transpose()?.and_then(present),
    ))
}

/// `host:port`, `host` (port 26379), `[v6]:port` or `[v6]`.
fn sentinel(address: &str) -> Result<(String, u16), String> {
    let (host, port) = if let Some(v6) = address.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or_else(|| {
            format!("{address:?} opens an IPv6 address with '[' but never closes it")
        })?;
        match after {
            "" => (host, None),
            _ => {
                let port = after.strip_prefix(':').ok_or_else(|| {
                    format!("{address:?}: expected ':<port>' after the IPv6 address")
                })?;
                (host, Some(port))
            }
        }
    } else {
        match address.rsplit_once(':') {
            Some((host, port)) if !host.contains(':') => (host, Some(port)),
            Some(_) => return Err(format!("{address:?}: write an IPv6 address in brackets")),
            None => (address, None),
        }
    };
    if host.is_empty() {
        return Err(format!("a Sentinel address without a host ({address:?})"));
    }
    let port = match port {
        None => SENTINEL_PORT,
        Some(port) => port
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| format!("{port:?} is not a port (1-65535) in {address:?}"))?,
    };
    Ok((host.to_owned(), port))
}

/// Percent-decoding, as URLs have it (`%40` for an '@' in a password).
fn decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("a '%' not followed by two hex digits in {text:?}"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("{text:?} does not decode to UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sentinel_of(url: &str) -> SentinelAddress {
        match RedisAddress::parse(url) {
            Ok(RedisAddress::Sentinel(address)) => address,
            other => panic!("{url}: {other:?}"),
        }
    }

    fn refusal(url: &str) -> String {
        RedisAddress::parse(url).expect_err(url)
    }

    #[test]
    fn several_sentinels_and_a_master() {
        let a = sentinel_of("redis+sentinel://10.0.0.1:26379,10.0.0.2:26380,sentinel-c/hopper");
        let expected = [
            ("10.0.0.1", 26379),
            ("10.0.0.2", 26380),
            ("sentinel-c", 26379),
        ];
        let expected: Vec<_> = expected.iter().map(|(h, p)| (h.to_string(), *p)).collect();
        assert_eq!(a.sentinels, expected);
        assert_eq!(a.master, "hopper");
        assert_eq!((a.username, a.password, a.db), (None, None, 0));
    }

    #[test]
    fn user_password_and_db_are_the_nodes() {
        let a = sentinel_of("redis+sentinel://app:s%40cret:x@h1:1,h2:2/jobs/3");
        assert_eq!(a.username.as_deref(), Some("app"));
        assert_eq!(a.password.as_deref(), Some("s@cret:x"));
        assert_eq!(a.db, 3);
        assert_eq!(a.master, "jobs");
        let only_password = sentinel_of("redis+sentinel://:pw@h1:1/jobs/");
        assert_eq!(only_password.username, None);
        assert_eq!(only_password.password.as_deref(), Some("pw"));
        assert_eq!(only_password.db, 0);
    }

    #[test]
    fn ipv6_sentinels_in_brackets() {
        let a = sentinel_of("redis+sentinel://[::1]:26380,[fe80::2]/m");
        assert_eq!(
            a.sentinels,
            vec![
                ("::1".to_owned(), 26380),
                ("fe80::2".to_owned(), SENTINEL_PORT)
            ]
        );
        assert!(refusal("redis+sentinel://::1:26380/m").contains("brackets"));
        assert!(refusal("redis+sentinel://[::1:26380/m").contains("never closes"));
    }

    #[test]
    fn a_missing_master_name_is_refused_with_the_form() {
        for url in [
            "redis+sentinel://h1:1",
            "redis+sentinel://h1:1/",
            "redis+sentinel://h1:1//0",
        ] {
            let why = refusal(url);
            assert!(why.contains("no master name"), "{url}: {why}");
            assert!(why.contains(SENTINEL_FORM), "{url}: {why}");
        }
    }

    #[test]
    fn bad_ports_hosts_and_databases_are_refused() {
        assert!(refusal("redis+sentinel://h1:26379,h2:port/m").contains("\"port\" is not a port"));
        assert!(refusal("redis+sentinel://h1:70000/m").contains("is not a port"));
        assert!(refusal("redis+sentinel://h1:0/m").contains("is not a port"));
        assert!(refusal("redis+sentinel://h1,,h2/m").contains("without a host"));
        assert!(refusal("redis+sentinel://h1/m/x").contains("database \"x\""));
        assert!(refusal("redis+sentinel://h1/m/-1").contains("database"));
        assert!(refusal("redis+sentinel://h1/m/0/extra").contains("more than"));
        assert!(refusal("redis+sentinel://u:%zz@h1/m").contains("hex digits"));
    }

    #[test]
    fn plain_urls_are_one_server_as_before() {
        for url in [
            "redis://127.0.0.1:6379",
            "redis://:pw@host:6380/2",
            "unix:///run/redis.sock",
        ] {
            assert_eq!(
                RedisAddress::parse(url),
                Ok(RedisAddress::Server(url.to_owned()))
            );
        }
        let why = refusal("http://host:6379");
        assert!(why.starts_with("not a Redis URL"), "{why}");
        assert!(why.contains("redis+sentinel://"), "{why}");
    }

    #[test]
    fn debug_never_shows_a_password() {
        let shown = format!("{:?}", sentinel_of("redis+sentinel://u:topsecret@h1/m"));
        assert!(!shown.contains("topsecret"), "{shown}");
        let shown = format!(
            "{:?}",
            RedisAddress::parse("redis://:topsecret@h1").expect("a plain URL")
        );
        assert!(!shown.contains("topsecret"), "{shown}");
    }
}
