//! The exposure audit's nouns and judgement: a listening socket (`Listener`), what the
//! audit finds (`Finding`), `/proc/net/tcp{,6}`'s text parsed, and the judgement of
//! listeners against the port map. Pure: `feeds::exposure` reads /proc.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Listener {
    pub addr: IpAddr,
    pub port: u16,
    pub inode: u64,
    /// `name (pid N)` of the owning process, when /proc lets us see it.
    pub owner: Option<String>,
}

impl Listener {
    pub fn public(&self) -> bool {
        !self.addr.is_loopback()
    }
}

/// Parses /proc/net/tcp or /proc/net/tcp6 text; keeps the sockets in LISTEN (state 0A).
pub fn parse_proc_net_tcp(text: &str) -> Vec<Listener> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 10 || f[3] != "0A" {
                return None;
            }
            let (ip_hex, port_hex) = f[1].split_once(':')?;
            Some(Listener {
                addr: parse_addr(ip_hex)?,
                port: u16::from_str_radix(port_hex, 16).ok()?,
                inode: f[9].parse().ok()?,
                owner: None,
            })
        })
        .collect()
}

/// The kernel prints each 32-bit word of the address in host (little-endian) byte order.
fn parse_addr(hex: &str) -> Option<IpAddr> {
    let word = |i: usize| {
        u32::from_str_radix(hex.get(i * 8..i * 8 + 8)?, 16)
            .ok()
            .map(u32::swap_bytes)
    };
    match hex.len() {
        8 => Some(IpAddr::V4(Ipv4Addr::from(word(0)?))),
        32 => {
            let mut bytes = [0u8; 16];
            for i in 0..4 {
                bytes[i * 4..i * 4 + 4].copy_from_slice(&word(i)?.to_be_bytes());
            }
            let v6 = Ipv6Addr::from(bytes);
            // An IPv4-mapped address is that IPv4 address.
            Some(v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4))
        }
        _ => None,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Finding {
    /// An internal service listening on a non-loopback address.
    Exposed {
        service: String,
        listener: Listener,
        remedy: String,
    },
    /// Listening, and not in the port map.
    Unmapped { listener: Listener },
}

pub fn remedy(service: &str, port: u16) -> String {
    let firewall = format!("or block it: ufw deny {port}/tcp");
    match service.to_ascii_lowercase().as_str() {
        s if s.contains("redis") => {
            format!("set `bind 127.0.0.1 -::1` in redis.conf and restart, {firewall}")
        }
        s if s.contains("postgres") => {
            format!("set listen_addresses = 'localhost' in postgresql.conf and restart, {firewall}")
        }
        s if s.contains("prometheus") => {
            format!("start it with --web.listen-address=127.0.0.1:{port}, {firewall}")
        }
        s if s.contains("grafana") => {
            format!("set http_addr = 127.0.0.1 in grafana.ini, {firewall}")
        }
        _ => format!("bind it to 127.0.0.1, {firewall}"),
    }
}

/// Judges the listeners against the port map: `mapped` is (name, port, internal).
pub fn audit(listeners: &[Listener], mapped: &[(String, u16, bool)]) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for l in listeners {
        match mapped.iter().find(|(_, p, _)| *p == l.port) {
            Some((name, port, true)) if l.public() => {
                out.push(Finding::Exposed {
                    service: name.clone(),
                    listener: l.clone(),
                    remedy: remedy(name, *port),
                });
            }
            Some(_) => {}
            // One finding per port, whichever addresses it listens on.
            None if seen.insert(l.port) => out.push(Finding::Unmapped {
                listener: l.clone(),
            }),
            None => {}
        }
    }
    out
}

/// The port map as the audit needs it: (name, port, internal).
pub fn port_map(cfg: &crate::config::Config) -> Vec<(String, u16, bool)> {
    cfg.ports
        .iter()
        .map(|p| (p.name.clone(), *p.port.get_ref(), p.internal))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Captured from a Debian 12 VM: redis on 0.0.0.0:6379 (exposed), postgres on
    // 127.0.0.1:5432, nginx on 0.0.0.0:80, something on 0.0.0.0:8080, and an established
    // connection that must be ignored.
    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:18EB 00000000:0000 0A 00000000:00000000 00:00000000 00000000   104        0 20031 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000   105        0 20112 1 0000000000000000 100 0 0 10 0
   2: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 19870 1 0000000000000000 100 0 0 10 0
   3: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 23345 1 0000000000000000 100 0 0 10 0
   4: 0100007F:18EB 0100007F:D3A2 01 00000000:00000000 00:00000000 00000000   104        0 29999 1 0000000000000000 20 4 30 10 -1
";
    // ::1 on 5432 and :: on 9090 (Prometheus, exposed over IPv6), ::ffff:10.0.0.5 on 3000.
    const TCP6: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:1538 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000   105        0 20113 1 0000000000000000 100 0 0 10 0
   1: 00000000000000000000000000000000:2382 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000    65        0 21001 1 0000000000000000 100 0 0 10 0
   2: 0000000000000000FFFF00000500000A:0BB8 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000   472        0 21002 1 0000000000000000 100 0 0 10 0
";

    #[test]
    fn parses_listening_sockets_in_both_families() {
        let v4 = parse_proc_net_tcp(TCP);
        let got: Vec<(String, u16)> = v4.iter().map(|l| (l.addr.to_string(), l.port)).collect();
        assert_eq!(
            got,
            [
                ("0.0.0.0".into(), 6379),
                ("127.0.0.1".into(), 5432),
                ("0.0.0.0".into(), 80),
                ("0.0.0.0".into(), 8080)
            ]
        );
        let v6 = parse_proc_net_tcp(TCP6);
        let got: Vec<(String, u16)> = v6.iter().map(|l| (l.addr.to_string(), l.port)).collect();
        assert_eq!(
            got,
            [
                ("::1".into(), 5432),
                ("::".into(), 9090),
                ("10.0.0.5".into(), 3000)
            ]
        );
        assert!(!v6[0].public() && v6[1].public() && v6[2].public());
    }

    #[test]
    fn flags_exposed_internal_services_and_unmapped_ports() {
        let mut all = parse_proc_net_tcp(TCP);
        all.extend(parse_proc_net_tcp(TCP6));
        let map = vec![
            ("Nginx HTTP".to_string(), 80, false),
            ("Redis".to_string(), 6379, true),
            ("PostgreSQL".to_string(), 5432, true),
            ("Prometheus".to_string(), 9090, true),
            ("Grafana".to_string(), 3000, true),
        ];
        let findings = audit(&all, &map);
        let exposed: Vec<(&str, String)> = findings
            .iter()
            .filter_map(|f| match f {
                Finding::Exposed {
                    service, listener, ..
                } => Some((service.as_str(), listener.addr.to_string())),
                _ => None,
            })
            .collect();
        assert_eq!(
            exposed,
            [
                ("Redis", "0.0.0.0".into()),
                ("Prometheus", "::".into()),
                ("Grafana", "10.0.0.5".into())
            ]
        );
        let unmapped: Vec<u16> = findings
            .iter()
            .filter_map(|f| {
                if let Finding::Unmapped { listener } = f {
                    Some(listener.port)
                } else {
                    None
                }
            })
            .collect();
        assert_eq!(unmapped, [8080]);
        let Finding::Exposed { remedy, .. } = &findings[0] else {
            panic!()
        };
        assert_eq!(
            remedy,
            "set `bind 127.0.0.1 -::1` in redis.conf and restart, or block it: ufw deny 6379/tcp"
        );
    }

    #[test]
    fn garbage_lines_are_skipped() {
        assert!(parse_proc_net_tcp("header\n0: zz:zz 0 0A\n\u{1b}[2J").is_empty());
    }
}
