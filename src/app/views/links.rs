//! The Links view (`:links`): every connection the control room holds (Redis, the
//! sampler, Socket.IO endpoints, Docker, Prometheus, the recorder…), with its state, since
//! when, and its last error, kept after it recovers. Read-only: its keys only move the
//! selection, which follows the link's name.

use crate::app::common::{Outcome, is_movement, moved, page, step_of};
use crate::app::state::{Link, Mode, State, View};
use crate::config::keymap::Action;

/// The links in the view's order: the troubled first (down, then degraded), then by name.
pub fn listed(state: &State) -> Vec<&Link> {
    let mut all: Vec<&Link> = state.links.iter().collect();
    all.sort_by_key(|l| (trouble(l), l.name.as_str()));
    all
}

/// 0 down or connecting, 1 degraded, 2 up: the order an operator reads them in.
fn trouble(l: &Link) -> u8 {
    use crate::event::LinkHealth::*;
    match l.health {
        Down { .. } | Connecting => 0,
        Degraded { .. } => 1,
        Up => 2,
    }
}

/// The selected link's row; the first when none is selected (or it is gone).
pub fn picked_index(state: &State, all: &[&Link]) -> Option<usize> {
    state
        .ui
        .link_pick
        .as_ref()
        .and_then(|name| all.iter().position(|l| &l.name == name))
        .or((!all.is_empty()).then_some(0))
}

pub fn act(state: &mut State, action: Action) -> Option<Outcome> {
    if state.ui.view != View::Links || state.ui.mode != Mode::Normal {
        return None;
    }
    if !is_movement(action) {
        return None;
    }
    let all = listed(state);
    let at = picked_index(state, &all).unwrap_or(0);
    let to = moved(at, step_of(action, page(state)), all.len());
    state.ui.link_pick = all.get(to).map(|l| l.name.clone());
    Some(Outcome::redraw())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::LinkHealth;

    fn state() -> State {
        let cfg = crate::config::Config::default();
        let km =
            crate::config::keymap::build("default", std::path::Path::new("/nonexistent"), vec![])
                .unwrap();
        State::new(&cfg, km, chrono::Utc::now())
    }

    fn link(s: &mut State, name: &str, health: LinkHealth) {
        crate::app::model::infrastructure::link(s, name.into(), health);
    }

    #[test]
    fn troubled_links_come_first_and_the_selection_follows_the_name() {
        let mut s = state();
        link(&mut s, "redis", LinkHealth::Up);
        link(&mut s, "sio:dash", LinkHealth::Up);
        let down = LinkHealth::Down {
            why: "connection refused".into(),
            retry_in: None,
        };
        link(&mut s, "docker", down);
        let names =
            |s: &State| -> Vec<String> { listed(s).iter().map(|l| l.name.clone()).collect() };
        assert_eq!(names(&s), ["docker", "redis", "sio:dash"]);
        s.ui.view = View::Links;
        act(&mut s, Action::Down);
        assert_eq!(s.ui.link_pick.as_deref(), Some("redis"));
        // Docker comes back: the rows reorder, the selection stays on redis.
        link(&mut s, "docker", LinkHealth::Up);
        assert_eq!(names(&s), ["docker", "redis", "sio:dash"]);
        let all = listed(&s);
        assert_eq!(all[picked_index(&s, &all).unwrap()].name, "redis");
        // The last error is kept after it recovered, and `since` is when it came back.
        let docker = s.links.iter().find(|l| l.name == "docker").unwrap();
        assert_eq!(
            docker.last_error.as_ref().map(|(_, w)| w.as_str()),
            Some("connection refused")
        );
        assert!(matches!(docker.health, LinkHealth::Up));
    }

    #[test]
    fn a_retrying_link_keeps_its_since() {
        let mut s = state();
        let t0 = s.now;
        let down = |why: &str| LinkHealth::Down {
            why: why.into(),
            retry_in: None,
        };
        link(&mut s, "redis", down("refused"));
        s.now = t0 + chrono::Duration::seconds(5);
        link(&mut s, "redis", LinkHealth::Connecting);
        link(&mut s, "redis", down("refused"));
        assert_eq!(s.links[0].since, t0, "down and connecting are one spell");
        s.now = t0 + chrono::Duration::seconds(9);
        link(&mut s, "redis", LinkHealth::Up);
        assert_eq!(s.links[0].since, t0 + chrono::Duration::seconds(9));
    }
}
