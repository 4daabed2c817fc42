//! `*` wildcards, as Redis PSUBSCRIBE patterns and worker hostname patterns use them.

pub fn matches(pattern: &str, text: &str) -> bool {
    // Every task event is matched against the agents' hostname patterns: ASCII names (all of
    // them in practice) are matched in place, without collecting chars.
    if pattern.is_ascii() && text.is_ascii() {
        return wild(pattern.as_bytes(), text.as_bytes(), b'*', b'?');
    }
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    wild(&p, &t, '*', '?')
}

/// Iterative matcher with single-star backtracking: linear in practice, no recursion.
fn wild<T: PartialEq + Copy>(p: &[T], t: &[T], star_of: T, any: T) -> bool {
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == any || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == star_of {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == star_of)
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn wildcards() {
        assert!(matches("chavion:agents:*", "chavion:agents:THINKING"));
        assert!(matches("thinking@*", "thinking@vm-1"));
        assert!(!matches("thinking@*", "judging@vm-1"));
        assert!(matches("*", ""));
        assert!(matches("a*b*c", "aXXbYYc"));
        assert!(!matches("a*b*c", "aXXbYY"));
        assert!(matches("w?@h", "w1@h"));
        // Not ASCII: `?` is one character, not one byte.
        assert!(matches("w?@h", "wé@h"));
        assert!(!matches("w?@h", "wéé@h"));
    }
}
