//! The one confirmation: `y` or `n` when that is enough, a word typed exactly when it is
//! not (a destructive runbook's host, a protected context's name, a worker's or queue's
//! name for an order). Each dialog keeps its own words; the answering is here, and the
//! typing goes through the one line editor.

use crossterm::event::{KeyCode, KeyEvent};

/// What a key said to a confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Said {
    Yes,
    No,
    /// Enter on a word that is not the one asked for (nothing typed, or something else).
    Mistyped,
    /// The typed word changed.
    Typing,
    /// A key that means nothing here.
    Other,
}

/// The answer a key gives. With `word`, Enter confirms only on exactly that word and every
/// editing key types; without one, `y` confirms and `n` declines. Esc always declines.
pub fn answer(word: Option<&str>, typed: &mut String, key: &KeyEvent) -> Said {
    match (word, key.code) {
        (_, KeyCode::Esc) => Said::No,
        (None, KeyCode::Char('y' | 'Y')) => Said::Yes,
        (None, KeyCode::Char('n' | 'N')) => Said::No,
        (None, _) => Said::Other,
        (Some(w), KeyCode::Enter) if typed == w => Said::Yes,
        (Some(_), KeyCode::Enter) => Said::Mistyped,
        (Some(_), _) if crate::app::dialogs::line_edit::edit(typed, key) => Said::Typing,
        (Some(_), _) => Said::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(code: KeyCode) -> KeyEvent {
        KeyEvent::from(code)
    }

    #[test]
    fn y_and_n_without_a_word() {
        let mut t = String::new();
        assert_eq!(answer(None, &mut t, &k(KeyCode::Char('y'))), Said::Yes);
        assert_eq!(answer(None, &mut t, &k(KeyCode::Char('N'))), Said::No);
        assert_eq!(answer(None, &mut t, &k(KeyCode::Esc)), Said::No);
        assert_eq!(answer(None, &mut t, &k(KeyCode::Enter)), Said::Other);
        assert!(t.is_empty(), "nothing is typed without a word");
    }

    #[test]
    fn only_the_exact_word_confirms() {
        let mut t = String::new();
        let word = Some("prod");
        assert_eq!(answer(word, &mut t, &k(KeyCode::Enter)), Said::Mistyped);
        // `y` is a letter of the word here, not a yes.
        assert_eq!(answer(word, &mut t, &k(KeyCode::Char('y'))), Said::Typing);
        assert_eq!(answer(word, &mut t, &k(KeyCode::Enter)), Said::Mistyped);
        assert_eq!(answer(word, &mut t, &k(KeyCode::Backspace)), Said::Typing);
        for c in "prod".chars() {
            answer(word, &mut t, &k(KeyCode::Char(c)));
        }
        assert_eq!(answer(word, &mut t, &k(KeyCode::Enter)), Said::Yes);
        assert_eq!(answer(word, &mut t, &k(KeyCode::Esc)), Said::No);
    }
}
