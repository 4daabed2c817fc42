//! The keymap's sections: the main screen's, the help overlay's, the focused activity
//! pane's, and one per view, each over the main screen's.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Section {
    /// The main screen: every view's keys, unless the view's own section binds the key.
    Normal,
    /// While the help overlay is open.
    Help,
    /// The Executor view; keys not bound here fall through to the main screen's.
    Executor,
    /// The activity log, when it has the focus; the main screen's keys fill in the rest.
    Log,
    // One section per view, empty by default: a key bound in one means that there, and
    // the main screen's keys fill in the rest.
    Dashboard,
    Tasks,
    Workers,
    Issues,
    Alerts,
    Metrics,
    Containers,
    Contexts,
    Links,
}

impl Section {
    /// The views' own sections, with their names in the config (`[[keymap.tasks]]`).
    pub const VIEWS: [(Section, &'static str); 9] = [
        (Section::Dashboard, "dashboard"),
        (Section::Tasks, "tasks"),
        (Section::Workers, "workers"),
        (Section::Issues, "issues"),
        (Section::Alerts, "alerts"),
        (Section::Metrics, "metrics"),
        (Section::Containers, "containers"),
        (Section::Contexts, "contexts"),
        (Section::Links, "links"),
    ];

    pub fn title(self) -> &'static str {
        match self {
            Section::Normal => "Main screen",
            Section::Help => "Help overlay",
            Section::Executor => "Executor view (other keys as on the main screen)",
            Section::Log => "Activity log, when focused (other keys as on the main screen)",
            Section::Dashboard => "Dashboard (other keys as on the main screen)",
            Section::Tasks => "Tasks view (other keys as on the main screen)",
            Section::Workers => "Workers view (other keys as on the main screen)",
            Section::Issues => "Issues view (other keys as on the main screen)",
            Section::Alerts => "Alerts view (other keys as on the main screen)",
            Section::Metrics => "Metrics view (other keys as on the main screen)",
            Section::Containers => "Containers view (other keys as on the main screen)",
            Section::Contexts => "Fleet overview (other keys as on the main screen)",
            Section::Links => "Links view (other keys as on the main screen)",
        }
    }
}
