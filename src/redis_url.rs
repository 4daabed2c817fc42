//! Reading a Redis URL's parts (host, port, db) without connecting: the config's checks, the
//! port map and the feeds all need them. Pure, at the bottom of the house.

/// The db a Redis URL names (its path), 0 when it names none.
pub fn db_of(url: &str) -> u32 {
    let path = url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split_once('/'))
        .map(|(_, p)| p)
        .unwrap_or("");
    path.split(['?', '#'])
        .next()
        .and_then(|d| d.parse().ok())
        .unwrap_or(0)
}

/// Host and port of a `redis://` URL, for finding the Redis row in the port map.
pub fn host_port(url: &str) -> Option<(String, u16)> {
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
}
