//! What the app says when an operator's request cannot be done as asked: a `:` command, a
//! filter or a time that does not parse, an order without its aim, a draft that is not a
//! task. Its words are shown as they are, in the status bar or under the field.

/// An operator's input refused, with why in words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

impl From<String> for InputError {
    fn from(words: String) -> InputError {
        InputError(words)
    }
}

impl From<&str> for InputError {
    fn from(words: &str) -> InputError {
        InputError(words.to_string())
    }
}
