//! Full-text search's state: the query being typed, the results the data
//! worker sent back, the selected result, and the jump Enter started.

use crate::domain::{ConvKey, Mid};
use crate::search::{SearchFrom, SearchResults};

/// The search pane, shown in place of the list while it is open.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchPane {
    pub input: String,
    /// Bumped with every edit of the query, so a stale answer is ignored.
    pub generation: u64,
    /// The answer for the current query (None: asked, not yet answered).
    pub results: Option<SearchResults>,
    /// The generation `results` answer (older than `generation`: searching).
    pub answered: u64,
    /// The next page was asked for (from here): its hits are appended.
    pub extending: Option<SearchFrom>,
    pub selected: usize,
}

/// Everything search keeps between keys.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchState {
    /// Open while the agent searches (the list pane shows the results).
    pub pane: Option<SearchPane>,
    /// Enter opened this conversation at this message: it is selected and
    /// scrolled to as soon as the thread has loaded back to it.
    pub jump: Option<(ConvKey, Mid)>,
}
