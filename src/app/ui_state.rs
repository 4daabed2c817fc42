//! The UI's own state: the view, the focused pane, the mode (prompts, forms and
//! confirmations, each holding what it is about), selections and the flash message.

use chrono::{DateTime, Utc};
use std::collections::VecDeque;

use crate::executor::RunPlan;
use crate::platform::model::Level;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Agents,
    Queues,
    Ports,
    Activity,
}

impl Pane {
    pub const ORDER: [Pane; 4] = [Pane::Agents, Pane::Queues, Pane::Ports, Pane::Activity];

    pub fn title(self) -> &'static str {
        match self {
            Pane::Agents => "Agents",
            Pane::Queues => "Queues",
            Pane::Ports => "Ports",
            Pane::Activity => "Activity",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    Normal,
    Help,
    /// Typing a task filter; the text so far.
    Filter(String),
    /// The selected task's details.
    Detail,
    /// A revoke waiting for `y`.
    Confirm(Confirm),
    /// Filling in the dispatch form.
    Form(Box<Form>),
    /// Typing on the `:` command line; the text so far.
    Command(String),
    /// A dispatch waiting for `y`, with the exact message it will send.
    ConfirmDispatch(Box<PendingDispatch>),
    /// A Socket.IO emit waiting for `y`.
    ConfirmEmit(Box<PendingEmit>),
    /// A run waiting for `y`, or for the host's name when it is destructive.
    ConfirmExec(Box<PendingExec>),
    /// Typing the activity filter; the text so far.
    LogFilter(String),
    /// Typing the activity search; the text so far.
    LogSearch(String),
    /// `q` while runs are going: quitting cancels them; asks first.
    ConfirmQuit,
    /// In a protected context: an action confirmed, waiting for the context's name.
    ConfirmContext(Box<Held>),
    /// The selected worker's detail (`Ui::worker_pick`), asked of it over the pidbox.
    WorkerDetail,
    /// A container's detail, over the Containers view.
    ContainerDetail,
    /// An order to the fleet waiting for `y`, or for a word typed (a worker's name, a
    /// queue's name, a count).
    ConfirmOrder(Box<PendingOrder>),
}

/// A fleet order waiting for the operator's word.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingOrder {
    pub order: crate::orders::Order,
    /// What the confirmation shows besides the order's words: the first tasks of a bulk
    /// retry, how a retry's message is found, the sub-queues' depths once known.
    pub lines: Vec<String>,
    /// The word to type, when `y` is not enough.
    pub typed_word: Option<String>,
    pub typed: String,
    /// Why the last Enter did not confirm, shown in the dialog.
    pub wrong: Option<String>,
    /// The queue whose depth per sub-queue the dialog waits for (purge and move).
    pub depth_of: Option<String>,
    /// Given from a worker's detail, which comes back once it is answered or cancelled.
    pub from_detail: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PendingExec {
    pub plan: RunPlan,
    /// The hosts the runbook may run on, and which one is chosen.
    pub hosts: Vec<String>,
    pub host: usize,
    /// What has been typed, for a destructive run.
    pub typed: String,
    /// Why the last Enter did not run it (a host name that does not match), shown in the
    /// dialog itself.
    pub wrong: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PendingEmit {
    pub endpoint: String,
    pub namespace: String,
    pub event: String,
    pub payload: serde_json::Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormField {
    Agent,
    Task,
    Args,
    Kwargs,
    Priority,
    When,
    Expires,
}

impl FormField {
    pub const ALL: [FormField; 7] = [
        FormField::Agent,
        FormField::Task,
        FormField::Args,
        FormField::Kwargs,
        FormField::Priority,
        FormField::When,
        FormField::Expires,
    ];

    pub fn label(self) -> &'static str {
        match self {
            FormField::Agent => "agent",
            FormField::Task => "task",
            FormField::Args => "args",
            FormField::Kwargs => "kwargs",
            FormField::Priority => "priority",
            FormField::When => "countdown/ETA",
            FormField::Expires => "expires in",
        }
    }
}

/// The dispatch form, as typed so far.
#[derive(Debug, Clone, PartialEq)]
pub struct Form {
    pub field: FormField,
    pub agent: usize,
    pub task: String,
    pub args: String,
    pub kwargs: String,
    pub priority: u8,
    /// Seconds from now, or an RFC 3339 time.
    pub when: String,
    /// Seconds from now.
    pub expires: String,
    /// Why the last Enter was refused.
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PendingDispatch {
    pub agent: String,
    pub request: crate::platform::wire::TaskRequest,
    /// The exact bytes that will be pushed, pretty-printed, and the decoded body.
    pub preview: String,
    pub scroll: u16,
}

impl Mode {
    pub fn label(&self) -> &'static str {
        match self {
            Mode::Normal => "NORMAL",
            Mode::Help => "HELP",
            Mode::Filter(_) => "FILTER",
            Mode::Detail => "DETAIL",
            Mode::Confirm(_) => "CONFIRM",
            Mode::Form(_) => "DISPATCH",
            Mode::Command(_) => "COMMAND",
            Mode::ConfirmDispatch(_)
            | Mode::ConfirmEmit(_)
            | Mode::ConfirmExec(_)
            | Mode::ConfirmQuit
            | Mode::ConfirmContext(_) => "CONFIRM",
            Mode::LogFilter(_) => "FILTER",
            Mode::LogSearch(_) => "SEARCH",
            Mode::WorkerDetail => "WORKER",
            Mode::ContainerDetail => "CONTAINER",
            Mode::ConfirmOrder(_) => "CONFIRM",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirm {
    pub task_id: String,
    pub label: String,
    pub terminate: bool,
    /// The task has started: a revoke alone will not stop it, a terminate will.
    pub running: bool,
    /// What a terminate sends (Tab picks another).
    pub signal: crate::orders::KillSignal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Dashboard,
    Tasks,
    Workers,
    Executor,
    /// Failed tasks grouped by task name and exception type.
    Issues,
    /// The alerts in force and their history.
    Alerts,
    /// The Prometheus panels (`[[panels]]`).
    Metrics,
    /// The agents' containers, from the Docker Engine.
    Containers,
    /// Every context at once (`:fleet`), one row each.
    Contexts,
    /// Every connection the control room holds, with its state, since when, and its last
    /// error.
    Links,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskSort {
    Newest,
    Name,
    State,
    Agent,
    Runtime,
}

impl TaskSort {
    pub fn next(self) -> TaskSort {
        match self {
            TaskSort::Newest => TaskSort::Name,
            TaskSort::Name => TaskSort::State,
            TaskSort::State => TaskSort::Agent,
            TaskSort::Agent => TaskSort::Runtime,
            TaskSort::Runtime => TaskSort::Newest,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            TaskSort::Newest => "newest",
            TaskSort::Name => "name",
            TaskSort::State => "state",
            TaskSort::Agent => "agent",
            TaskSort::Runtime => "runtime",
        }
    }
}

/// A message for the operator in the status bar, for a few seconds: why an action was
/// refused, or how it went.
#[derive(Debug, Clone)]
pub struct Flash {
    pub text: String,
    pub level: Level,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Ui {
    pub mode: Mode,
    /// Command lines entered, newest last (bounded).
    pub history: VecDeque<String>,
    /// Where Up/Down stand in `history` while typing a command.
    pub history_pos: Option<usize>,
    pub view: View,
    /// The selected task, by id: it stays on that task whatever arrives above it, and an
    /// evicted one is reported as such rather than replaced by a neighbour.
    pub task_pick: Option<String>,
    pub task_sort: TaskSort,
    /// The applied task filter (see `app::tasks::Filter`).
    pub filter: String,
    pub detail_scroll: u16,
    /// Which of the task detail's links (root, parent, children) is selected.
    pub detail_link: Option<usize>,
    pub focus: Pane,
    pub zoomed: bool,
    pub width: u16,
    pub height: u16,
    pub agent_sel: usize,
    pub queue_sel: usize,
    pub port_sel: usize,
    pub help_scroll: u16,
    /// The activity log alone on the screen, without the bars.
    pub fullscreen: bool,
    /// A jump to a time waiting for older history from the store.
    pub goto_pending: Option<DateTime<Utc>>,
    /// The selected worker, by hostname: commands without `all` go to it.
    pub worker_pick: Option<String>,
    /// The `:` line was opened from a worker's detail, which it goes back to.
    pub resume_detail: bool,
    /// The Issues view's selected group, by its key (task name and exception type).
    pub issue_pick: Option<String>,
    /// The fleet overview: its rows as the loop last summed them up, and the one picked
    /// (by name).
    pub context_rows: Vec<crate::event::ContextRow>,
    pub context_pick: Option<String>,
    /// The Alerts view's selected alert, by rule and subject (`alert_book::ack_target`).
    pub alert_pick: Option<String>,
    /// The Links view's selection, by the link's name.
    pub link_pick: Option<String>,
    pub worker_scroll: u16,
    /// Set only by `chavion-tui replay`: the recorded time shown in the title bar.
    pub replay: Option<ReplayClock>,
}

/// What the replay's clock bar shows.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayClock {
    /// The recorded time of the last event applied.
    pub at: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Times real time (0 when stepping).
    pub speed: f64,
    pub paused: bool,
    /// A word for the operator: a jump's prompt, the alarm stopped at, the end reached.
    pub note: String,
}

/// Effects held until the context's name is typed.
#[derive(Debug, Clone, PartialEq)]
pub struct Held {
    pub effects: Vec<crate::app::effect::Effect>,
    pub typed: String,
}

impl Held {
    /// What waits, in words: "dispatching a task", "purging a queue".
    pub fn words(&self) -> Vec<&'static str> {
        self.effects
            .iter()
            .filter_map(|e| e.act().map(|a| a.words()))
            .collect()
    }
}
