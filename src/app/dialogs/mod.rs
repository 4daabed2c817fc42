//! The dialogs: the one line editor, the one confirmation, the dispatch form and the `:`
//! command line (`forms`, routing `:` to each view's commands), the fleet orders'
//! confirmation (`orders`), a protected context's typed name (`protect`), and the `:`
//! command table (`commands`) the help overlay reads.

pub mod commands;
pub mod confirmation;
pub mod forms;
pub mod line_edit;
pub mod order_words;
pub mod orders;
pub mod protect;
