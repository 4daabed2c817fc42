//! Reading a Redis URL's parts (host, port, db) without connecting: the config's checks, the
//! port map and the feeds all need them. Pure, at the bottom of the house.
//!
//! A broker behind Redis Sentinel is written as kombu writes it:
//! `sentinel://[:password@]host:26379[/db];sentinel://host2:26379;…`, one `sentinel://` per
//! sentinel, the db and the master's password on the first. kombu takes the master's name
//! from its `master_name` transport option; here it is `redis.master_name`, which the config
//! carries into the URL as `?master_name=NAME` (so every connection, action and outbox row
//! that holds the URL holds the whole broker), with the sentinels' own password, if they have
//! one, as `sentinel_password=`.

/// The db a Redis URL names (its path), 0 when it names none.
pub fn db_of(url: &str) -> u32 {
    let path = url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split_once('/'))
        .map(|(_, p)| p)
        .unwrap_or("");
    path.split(['?', '#', ';'])
        .next()
        .and_then(|d| d.parse().ok())
        .unwrap_or(0)
}

/// Host and port of a `redis://` URL, for finding the Redis row in the port map.
/// None for a `sentinel://` URL: it names the sentinels, and the master moves.
pub fn host_port(url: &str) -> Option<(String, u16)> {
    if is_sentinel(url) {
        return None;
    }
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if hostport.is_empty() {
        return None;
    }
    match hostport.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || hostport.starts_with('[') => {
            Some((h.trim_matches(['[', ']']).to_string(), p.parse().ok()?))
        }
        _ => Some((hostport.trim_matches(['[', ']']).to_string(), 6379)),
    }
}

/// Whether two host names are one host: equal, or both this machine's loopback.
pub fn same_host(a: &str, b: &str) -> bool {
    let loopback = |h: &str| matches!(h, "127.0.0.1" | "localhost" | "::1");
    a == b || (loopback(a) && loopback(b))
}

/// The broker behind Redis Sentinel that a `sentinel://` URL names.
#[derive(Clone, PartialEq)]
pub struct SentinelUrl {
    /// The sentinels, in the order written: each is asked in turn.
    pub nodes: Vec<(String, u16)>,
    pub master_name: String,
    pub db: u32,
    /// The master's credentials (kombu reads them off the first `sentinel://`).
    pub username: Option<String>,
    pub password: Option<String>,
    /// The sentinels' own password, when they want one.
    pub sentinel_password: Option<String>,
}

// Never shows the passwords, wherever it is printed.
impl std::fmt::Debug for SentinelUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentinelUrl")
            .field("nodes", &self.nodes)
            .field("master_name", &self.master_name)
            .field("db", &self.db)
            .finish_non_exhaustive()
    }
}

pub const SENTINEL_SCHEME: &str = "sentinel://";

pub fn is_sentinel(url: &str) -> bool {
    url.starts_with(SENTINEL_SCHEME)
}

/// Reads kombu's Sentinel form; why not, in words, when it cannot be read.
pub fn sentinel(url: &str) -> Result<SentinelUrl, String> {
    let mut nodes = Vec::new();
    let mut first: Option<url::Url> = None;
    let mut query: Vec<(String, String)> = Vec::new();
    for (i, part) in url.split(';').map(str::trim).enumerate() {
        if part.is_empty() {
            continue;
        }
        let Some(rest) = part.strip_prefix(SENTINEL_SCHEME) else {
            return Err(format!(
                "sentinel {} must start with sentinel://, like sentinel://10.0.0.5:26379",
                i + 1
            ));
        };
        let parsed = url::Url::parse(&format!("redis://{rest}"))
            .map_err(|e| format!("sentinel {} cannot be read: {e}", i + 1))?;
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| format!("sentinel {} names no host", i + 1))?;
        nodes.push((
            host.trim_matches(['[', ']']).to_string(),
            parsed.port().unwrap_or(26379),
        ));
        query.extend(
            parsed
                .query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned())),
        );
        first.get_or_insert(parsed);
    }
    let Some(first) = first else {
        return Err("names no sentinel, like sentinel://10.0.0.5:26379".into());
    };
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    let master_name = param("master_name")
        .ok_or("names no master: set redis.master_name (kombu's master_name transport option)")?;
    Ok(SentinelUrl {
        nodes,
        master_name,
        db: first.path().trim_matches('/').parse().unwrap_or(0),
        username: Some(userinfo(first.username())).filter(|u| !u.is_empty()),
        password: first.password().map(userinfo),
        sentinel_password: param("sentinel_password"),
    })
}

/// A `sentinel://` URL with the master's name (and the sentinels' password) put in, when the
/// URL does not say them already; any other URL as it is.
pub fn with_master(url: &str, master_name: &str, sentinel_password: &str) -> String {
    if !is_sentinel(url) {
        return url.to_string();
    }
    let mut extra = Vec::new();
    if !master_name.is_empty() && !url.contains("master_name=") {
        extra.push(format!("master_name={}", encode(master_name)));
    }
    if !sentinel_password.is_empty() && !url.contains("sentinel_password=") {
        extra.push(format!("sentinel_password={}", encode(sentinel_password)));
    }
    if extra.is_empty() {
        return url.to_string();
    }
    let glue = if url.contains('?') { '&' } else { '?' };
    format!("{url}{glue}{}", extra.join("&"))
}

/// A `rediss://` URL with the config's CA file put in as `?ca_file=PATH` (when it does not
/// name one already), so every connection made from the URL verifies against it.
pub fn with_ca(url: &str, ca_file: &str) -> String {
    if !url.starts_with("rediss://") || ca_file.is_empty() || url.contains("ca_file=") {
        return url.to_string();
    }
    let glue = if url.contains('?') { '&' } else { '?' };
    format!("{url}{glue}ca_file={}", encode(ca_file))
}

/// The URL without the `ca_file` parameter, for the redis crate, and the CA file it named.
pub fn take_ca(url: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_string(), None);
    };
    let (query, fragment) = match query.split_once('#') {
        Some((q, f)) => (q, format!("#{f}")),
        None => (query, String::new()),
    };
    let mut ca = None;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|kv| {
            if !kv.starts_with("ca_file=") {
                return true;
            }
            ca = url::form_urlencoded::parse(kv.as_bytes())
                .next()
                .map(|(_, v)| v.into_owned());
            false
        })
        .collect();
    let url = if kept.is_empty() {
        format!("{base}{fragment}")
    } else {
        format!("{base}?{}{fragment}", kept.join("&"))
    };
    (url, ca)
}

/// A URL's user or password, percent-decoded as the redis crate decodes them: a `+` stays a
/// `+` (it is a space only in a query).
fn userinfo(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn host_port_from_urls() {
        assert_eq!(
            super::host_port("redis://127.0.0.1:6379/0"),
            Some(("127.0.0.1".into(), 6379))
        );
        assert_eq!(
            super::host_port("redis://:pw@cache.internal/2"),
            Some(("cache.internal".into(), 6379))
        );
        assert_eq!(
            super::host_port("rediss://u:p@[::1]:6380"),
            Some(("::1".into(), 6380))
        );
        assert_eq!(super::host_port("nonsense"), None);
    }

    #[test]
    fn kombus_sentinel_form() {
        let url = super::with_master(
            "sentinel://:p%40s+s@127.0.0.1:26379/2;sentinel://127.0.0.1:26380;sentinel://[::1]",
            "mymaster",
            "s&cret",
        );
        let s = super::sentinel(&url).unwrap();
        assert_eq!(
            s.nodes,
            vec![
                ("127.0.0.1".to_string(), 26379),
                ("127.0.0.1".to_string(), 26380),
                ("::1".to_string(), 26379)
            ]
        );
        assert_eq!(s.master_name, "mymaster");
        assert_eq!(s.db, 2);
        // Percent-decoded as userinfo: `%40` is `@`, and `+` stays `+`.
        assert_eq!(s.password.as_deref(), Some("p@s+s"));
        assert_eq!(s.sentinel_password.as_deref(), Some("s&cret"));
        assert_eq!(super::db_of(&url), 2);
        // Debug never shows a password.
        assert!(!format!("{s:?}").contains("p@s+s"));
        assert!(!format!("{s:?}").contains("cret"));
        // A master named in the URL is kept; without one it is refused in words.
        assert_eq!(
            super::with_master("sentinel://h:1?master_name=a", "b", ""),
            "sentinel://h:1?master_name=a"
        );
        let no_master = super::sentinel("sentinel://h:1").unwrap_err();
        assert!(no_master.contains("redis.master_name"), "{no_master}");
        let mixed = super::sentinel("sentinel://h:1;redis://h:2?master_name=m").unwrap_err();
        assert!(
            mixed.contains("sentinel 2 must start with sentinel://"),
            "{mixed}"
        );
        assert_eq!(
            super::with_master("redis://h:1/0", "m", "p"),
            "redis://h:1/0"
        );
    }

    #[test]
    fn a_ca_file_rides_in_the_url_and_comes_out_again() {
        let url = super::with_ca("rediss://:pw@cache:6380/1?protocol=resp2", "/etc/my ca.pem");
        assert_eq!(
            super::take_ca(&url),
            (
                "rediss://:pw@cache:6380/1?protocol=resp2".to_string(),
                Some("/etc/my ca.pem".to_string())
            )
        );
        let alone = super::with_ca("rediss://cache:6380/1", "/ca.pem");
        assert_eq!(
            super::take_ca(&alone),
            (
                "rediss://cache:6380/1".to_string(),
                Some("/ca.pem".to_string())
            )
        );
        // Only for TLS, and never twice.
        assert_eq!(super::with_ca("redis://h/0", "/ca.pem"), "redis://h/0");
        assert_eq!(super::with_ca(&alone, "/other.pem"), alone);
    }
}
