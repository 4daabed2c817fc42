//! Errors that point at a place in a file, the way a compiler does: `file:line:column: message`.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    /// 1-based; 0 when the problem has no place in the file (a missing file, say).
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl Diagnostic {
    pub fn at(
        file: &Path,
        text: &str,
        span: Option<Range<usize>>,
        message: impl Into<String>,
    ) -> Self {
        let (line, column) = match span {
            Some(span) => line_col(text, span.start),
            None => (0, 0),
        };
        Diagnostic {
            file: file.to_path_buf(),
            line,
            column,
            message: message.into(),
        }
    }
}

impl Diagnostic {
    /// A problem with a command-line flag rather than a file: shown as `--flag: message`.
    pub fn flag(flag: &str, message: impl Into<String>) -> Self {
        Diagnostic {
            file: PathBuf::from(flag),
            line: 0,
            column: 0,
            message: message.into(),
        }
    }

    /// Whether it came from the command line (see `flag`).
    pub fn is_flag(&self) -> bool {
        self.file.to_string_lossy().starts_with("--")
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file.display(),
                self.line,
                self.column,
                self.message
            )
        }
    }
}

pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..text.floor_char_boundary(offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based() {
        let text = "a = 1\nbb = 2\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        assert_eq!(line_col(text, 8), (2, 3));
    }
}
