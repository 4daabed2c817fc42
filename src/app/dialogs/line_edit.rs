//! The one line editor every prompt uses: the Tasks and activity filters, the search, the
//! `:` line, the dispatch form's text fields, and the word a confirmation wants typed.
//! Backspace, Ctrl-U (the line), Ctrl-W (a word), printable keys; one cap for all.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// The most characters a typed line holds: a task's JSON arguments fit; a paste flood
/// into a prompt does not grow the state without end.
pub const LINE_MAX: usize = 4_000;

/// Applies an editing key to `text`. True when the key was one (even at the cap, so the
/// caller does not read it as a command); false for the rest (Enter, Esc, Tab, arrows…).
pub fn edit(text: &mut String, key: &KeyEvent) -> bool {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let alt = key.modifiers.contains(KeyModifiers::ALT);
    match key.code {
        KeyCode::Backspace => {
            text.pop();
        }
        KeyCode::Char('u') if ctrl => text.clear(),
        KeyCode::Char('w') if ctrl => {
            let kept = text.trim_end().rfind(' ').map_or(0, |i| i + 1);
            text.truncate(kept);
        }
        KeyCode::Char(c) if !ctrl && !alt && !c.is_control() => {
            if text.chars().count() < LINE_MAX {
                text.push(c);
            }
        }
        _ => return false,
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(text: &mut String, code: KeyCode, mods: KeyModifiers) -> bool {
        edit(text, &KeyEvent::new(code, mods))
    }

    #[test]
    fn typing_erasing_and_the_cap() {
        let mut t = String::new();
        for c in "state:failure agent:THINKING".chars() {
            assert!(press(&mut t, KeyCode::Char(c), KeyModifiers::SHIFT));
        }
        assert!(press(&mut t, KeyCode::Char('w'), KeyModifiers::CONTROL));
        assert_eq!(t, "state:failure ");
        assert!(press(&mut t, KeyCode::Backspace, KeyModifiers::NONE));
        assert_eq!(t, "state:failure");
        assert!(press(&mut t, KeyCode::Char('u'), KeyModifiers::CONTROL));
        assert_eq!(t, "");
        assert!(!press(&mut t, KeyCode::Enter, KeyModifiers::NONE));
        assert!(!press(&mut t, KeyCode::Char('x'), KeyModifiers::ALT));
        assert!(!press(&mut t, KeyCode::Char('c'), KeyModifiers::CONTROL));
        for _ in 0..LINE_MAX + 50 {
            press(&mut t, KeyCode::Char('é'), KeyModifiers::NONE);
        }
        assert_eq!(t.chars().count(), LINE_MAX, "a flood stops at the cap");
    }
}
