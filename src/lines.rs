//! Turns a stream of output bytes into clean lines. Bytes arrive in arbitrary chunks (a
//! UTF-8 character or an escape sequence can straddle two), so lines are cut on `\n` first
//! and cleaned whole. A carriage return inside a line keeps what a terminal would show:
//! the text after it, so progress bars do not fill the scrollback.

/// A partial line longer than this is emitted as it is, cut, rather than growing for ever.
pub const MAX_PENDING: usize = 64 * 1024;

#[derive(Debug, Default)]
pub struct LineSplitter {
    pending: Vec<u8>,
    max_chars: usize,
}

impl LineSplitter {
    pub fn new(max_chars: usize) -> LineSplitter {
        LineSplitter {
            pending: Vec::new(),
            max_chars,
        }
    }

    /// The complete lines in `chunk` (with what was pending before it).
    pub fn push(&mut self, chunk: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = chunk;
        while let Some(i) = rest.iter().position(|b| *b == b'\n') {
            self.pending.extend_from_slice(&rest[..i]);
            out.push(self.take());
            rest = &rest[i + 1..];
        }
        self.pending.extend_from_slice(rest);
        if self.pending.len() > MAX_PENDING {
            out.push(self.take());
        }
        out
    }

    /// Bytes held for a line not ended yet: where a reader that resumes must start again.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    pub fn max_chars(&self) -> usize {
        self.max_chars
    }

    /// What is left when the stream ends: a last line without a newline.
    pub fn finish(&mut self) -> Option<String> {
        (!self.pending.is_empty()).then(|| self.take())
    }

    fn take(&mut self) -> String {
        let bytes = std::mem::take(&mut self.pending);
        let mut line = bytes.as_slice();
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        if let Some(cr) = line.iter().rposition(|b| *b == b'\r') {
            line = &line[cr + 1..];
        }
        crate::sanitize::clean(&String::from_utf8_lossy(line), self.max_chars)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_across_chunks_and_a_split_character() {
        let mut s = LineSplitter::new(100);
        assert!(s.push(b"hel").is_empty());
        let euro = "€".as_bytes();
        assert_eq!(s.push(&[b"lo ", &euro[..1]].concat()), Vec::<String>::new());
        assert_eq!(
            s.push(&[&euro[1..], b"\nsecond\r\nthi"].concat()),
            vec!["hello €".to_string(), "second".to_string()]
        );
        assert_eq!(s.finish(), Some("thi".to_string()));
        assert_eq!(s.finish(), None);
    }

    #[test]
    fn control_sequences_are_stripped_and_progress_keeps_the_last_frame() {
        let mut s = LineSplitter::new(100);
        assert_eq!(
            s.push(b"\x1b]52;c;aGk=\x07\x1b[31mred\x1b[0m\n10%\r50%\r100%\n"),
            vec!["red".to_string(), "100%".to_string()]
        );
    }

    #[test]
    fn an_endless_line_is_cut_with_a_marker() {
        let mut s = LineSplitter::new(10);
        let out = s.push(&vec![b'x'; MAX_PENDING + 1]);
        assert_eq!(out.len(), 1);
        assert!(out[0].starts_with("xxxxxxxxxx… ["), "{}", out[0]);
        assert!(out[0].contains("more chars cut"));
    }
}
