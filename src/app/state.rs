//! Everything the screen shows, owned by the UI task alone.

use super::keymap::Keymap;
pub use super::team::{ComposeMode, PickKind, Picker, Sort, TeamState};
use super::thread_layout::{Memo, Source};
use crate::clock::Zone;
use crate::domain::TimestampMs;
use crate::domain::{AccountId, Contact, ConvKey, Conversation, Message, Mid};
use crate::filter::ConvFilter;
use crate::request::Preview;
use crate::rules::template::CannedReply;
use crate::rules::window::{window, Tag, Window, WindowFacts};
use crate::team::{AgentName, HistoryEvent, Note};
use crate::update::{CampaignProgress, SyncProgress};
use ratatui_textarea::TextArea;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    List,
    Thread,
    Composer,
}

/// Options the app starts with (from the config and the command line).
#[derive(Debug, Clone)]
pub struct Options {
    pub zone: Zone,
    pub listen: Option<String>,
    pub demo: bool,
    pub no_color: bool,
    pub bell: bool,
    pub title: bool,
    pub keymap: Keymap,
    pub canned: Vec<CannedReply>,
    /// Accounts whose page has the HUMAN_AGENT permission.
    pub human_agent: HashSet<AccountId>,
    /// Accounts with a configured page (replies need a token).
    pub configured: HashSet<AccountId>,
    /// This agent's name (Unix user), to tell own replies from a colleague's.
    pub me: Option<String>,
    /// This UI's presence session at the owner (0: the owner's own UI).
    pub session: u64,
    /// The configured pages, no tokens (the bulk preview's eligibility rule
    /// and `{page_name}`).
    pub pages: Vec<crate::domain::PageInfo>,
    /// Draw borders and symbols in ASCII (a terminal without UTF-8).
    pub ascii: bool,
    /// Pages whose token the store has marked dead when the UI starts.
    pub dead_tokens: Vec<crate::update::DeadPage>,
    /// The last full sync when the UI starts (the store's).
    pub synced: Option<SyncProgress>,
    /// Pictures, links, notifications (src/app/media.rs).
    pub media: super::media::MediaOpts,
    /// `[team] agents`: whom a conversation can be assigned to (with the
    /// agents seen at work).
    pub agents: Vec<AgentName>,
    /// `[labels]`: a colour per label (a ratatui colour name or #rrggbb).
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default)]
pub struct ListPane {
    /// The rows last loaded; `rows[0]` is row `rows_top` of the filtered
    /// list. It differs from `top` only while the window has moved and its
    /// rows are on their way, so an index always names the row it names.
    pub rows: Vec<Conversation>,
    pub rows_top: usize,
    /// The filter generation the rows were loaded for: after a filter
    /// change the old rows name no row until the new ones arrive.
    pub rows_generation: u64,
    /// The first row of the window on screen.
    pub top: usize,
    /// Absolute index of the selected row.
    pub selected: usize,
    pub selected_key: Option<ConvKey>,
    /// Matching conversations (None until counted).
    pub total: Option<u64>,
    pub filter: ConvFilter,
    /// Bumped when the filter changes, so stale loads are ignored.
    pub generation: u64,
    /// How many rows fit.
    pub visible: usize,
    /// "Mark all matching" running: it pages through the filtered list.
    pub marking: Option<Marking>,
    /// The order of the rows.
    pub sort: Sort,
}

/// Marking every conversation that matches the filter, a page at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marking {
    /// The list generation it started in (a filter change stops it).
    pub generation: u64,
    /// The next page to read.
    pub offset: usize,
    /// Conversations it has seen so far.
    pub seen: usize,
}

/// Set in the generation of a list load that reads a page for "mark all
/// matching" rather than the window, so its answer is told apart.
pub const MARKING: u64 = 1 << 63;
/// Rows per "mark all matching" page (under the control socket's clamp).
pub const MARK_PAGE: usize = 1000;

impl ListPane {
    /// The row at absolute index `i`, if loaded.
    pub fn row(&self, i: usize) -> Option<&Conversation> {
        if self.rows_generation != self.generation {
            return None;
        }
        i.checked_sub(self.rows_top).and_then(|i| self.rows.get(i))
    }
    pub fn selected_row(&self) -> Option<&Conversation> {
        self.row(self.selected)
    }
    /// The loaded rows inside the window on screen, with their index.
    pub fn shown(&self) -> impl Iterator<Item = (usize, &Conversation)> {
        let (top, end) = (self.top, self.top + self.visible.max(1));
        let current = self.rows_generation == self.generation;
        self.rows
            .iter()
            .enumerate()
            .map(move |(i, c)| (self.rows_top + i, c))
            .filter(move |(i, _)| current && (top..end).contains(i))
    }
    /// The largest valid index (0 when empty).
    pub fn max_index(&self) -> usize {
        let known = self.rows_top + self.rows.len();
        let total = self.total.map(|t| t as usize).unwrap_or(known).max(known);
        total.saturating_sub(1)
    }
}

#[derive(Debug, Clone)]
pub struct ThreadPane {
    pub conv: Conversation,
    pub contact: Option<Contact>,
    /// Loaded messages, oldest first.
    pub messages: Vec<Message>,
    /// Lines scrolled up from the newest (0 = following new messages).
    pub scroll: usize,
    /// New messages that arrived while scrolled up.
    pub new_below: usize,
    /// The first message of the conversation is loaded.
    pub reached_start: bool,
    pub loading_older: bool,
    /// The selected message (copy, retry), by mid so that arrivals and
    /// older pages inserted around it never move it; None = the newest.
    pub cursor: Option<Mid>,
    /// Bumped when a loaded message changes in place (status, edit,
    /// reaction); with the counts and ends it keys the layout memo.
    pub rev: u64,
    /// The last layout of this thread (src/app/thread_layout.rs), so frames
    /// and scrolling that change nothing else do not lay out every loaded
    /// message again.
    pub memo: Memo,
    /// The conversation's page token is dead: no retry is offered.
    pub token_dead: bool,
    /// This thread's pictures (src/app/media.rs).
    pub pictures: super::media::Pictures,
    /// The team's notes on this conversation, oldest first.
    pub notes: Vec<Note>,
    /// Its recorded changes, oldest first.
    pub history: Vec<HistoryEvent>,
}

impl ThreadPane {
    /// Index of the selected message: the cursor's, else the newest.
    pub fn cursor_index(&self) -> Option<usize> {
        self.cursor
            .as_ref()
            .and_then(|c| self.messages.iter().rposition(|m| &m.mid == c))
            .or_else(|| self.messages.len().checked_sub(1))
    }
    /// The thread as its layout reads it.
    pub fn layout_source(&self) -> Source<'_> {
        Source {
            conv: &self.conv,
            contact: self.contact.as_ref(),
            messages: &self.messages,
            notes: &self.notes,
            history: &self.history,
            reached_start: self.reached_start,
            loading_older: self.loading_older,
            rev: self.rev,
            retry: !self.token_dead,
            pictures: Some(&self.pictures),
        }
    }
    /// Lines the thread takes at `width` (scrolling measures with it).
    pub fn line_count(&self, width: u16, zone: Zone, now: TimestampMs) -> usize {
        self.memo
            .measure(&self.layout_source(), width, zone, now)
            .len()
    }
    /// The message index of each line at `width` (None for separators).
    pub fn line_owners(&self, width: u16, zone: Zone, now: TimestampMs) -> Vec<Option<usize>> {
        self.memo
            .measure(&self.layout_source(), width, zone, now)
            .owners()
    }
}

/// An unread scan the edge is running off the UI loop.
#[derive(Debug, Clone, Default)]
pub struct UnreadLoad {
    pub request: u64,
    /// Conversations updated since the request: their counts are newer
    /// than what the scan may have read, so the answer does not override them.
    pub fresh: HashSet<ConvKey>,
}

#[derive(Debug, Clone)]
pub struct Composer {
    pub textarea: TextArea<'static>,
    /// HUMAN_AGENT chosen by the agent (outside the 24 h window).
    pub tag: Option<Tag>,
    /// Why the last send was refused, shown in the composer.
    pub refusal: Option<String>,
    /// A reply or a private note.
    pub mode: ComposeMode,
}

/// Our text areas: no cursor-line underline, a dim placeholder with no
/// colour (ratatui-textarea's default is dark grey, which NO_COLOR forbids),
/// and long lines wrapped (at words, or anywhere in a word wider than the
/// box) instead of scrolled sideways.
pub fn text_area(lines: Vec<String>, placeholder: &str) -> TextArea<'static> {
    let mut textarea = TextArea::new(lines);
    textarea.set_wrap_mode(ratatui_textarea::WrapMode::WordOrGlyph);
    textarea.set_cursor_line_style(ratatui::style::Style::default());
    textarea.set_placeholder_text(placeholder);
    textarea.set_placeholder_style(
        ratatui::style::Style::default().add_modifier(ratatui::style::Modifier::DIM),
    );
    textarea
}

impl Default for Composer {
    fn default() -> Self {
        let textarea = text_area(Vec::new(), REPLY_HINT);
        Composer {
            textarea,
            tag: None,
            refusal: None,
            mode: ComposeMode::Reply,
        }
    }
}

/// The placeholders say what the composer writes.
const REPLY_HINT: &str = "Write a reply…";
const NOTE_HINT: &str = "A note for the team (never sent to the customer); @name tells them…";

impl Composer {
    /// An empty composer for a private note.
    pub fn note() -> Composer {
        Composer {
            textarea: text_area(Vec::new(), NOTE_HINT),
            tag: None,
            refusal: None,
            mode: ComposeMode::Note,
        }
    }
    pub fn text(&self) -> String {
        self.textarea.lines().join("\n")
    }
    pub fn set_text(&mut self, text: &str) {
        let lines = text.split('\n').map(str::to_string).collect();
        let hint = match self.mode {
            ComposeMode::Reply => REPLY_HINT,
            ComposeMode::Note => NOTE_HINT,
        };
        let mut textarea = text_area(lines, hint);
        textarea.move_cursor(ratatui_textarea::CursorMove::Bottom);
        textarea.move_cursor(ratatui_textarea::CursorMove::End);
        *self = Composer {
            textarea,
            tag: None,
            refusal: None,
            mode: self.mode,
        };
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Error,
}

#[derive(Debug, Clone, Default)]
pub struct StatusInfo {
    /// (local day, count) of webhook events received today.
    pub events_today: (i64, u64),
    pub sync: Option<SyncProgress>,
    pub campaigns: BTreeMap<String, CampaignProgress>,
    pub message: Option<(Level, String)>,
    /// When `message` was set (the clock of the last tick).
    pub message_at: TimestampMs,
    /// The last `NOTICE_LOG` notices, oldest first: the status bar cuts
    /// long ones and clears them, the notices overlay shows them whole.
    pub log: std::collections::VecDeque<Notice>,
    /// Tokens to renew soon, from the owner (stay until renewed).
    pub tokens: Vec<String>,
    /// Pages whose token Meta rejected (stay until the config changes).
    pub dead: Vec<crate::update::DeadPage>,
}

impl StatusInfo {
    /// Whether `account`'s page token is dead (no send or retry can work).
    pub fn token_dead(&self, account: &AccountId) -> Option<&crate::update::DeadPage> {
        self.dead.iter().find(|d| d.accounts.contains(account))
    }

    /// Remember a dead page once (the owner may say it again).
    pub fn add_dead(&mut self, d: crate::update::DeadPage) {
        if !self.dead.contains(&d) {
            self.dead.push(d);
        }
    }
}

/// The status bar's address of an attached UI's owner.
pub fn attached_label(listen: Option<&str>, owner_pid: u32) -> String {
    format!(
        "{} (attached to pid {owner_pid})",
        listen.unwrap_or("no webhook server")
    )
}

/// One status-bar notice as the log keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub at: TimestampMs,
    pub level: Level,
    pub text: String,
}

/// How many notices the log keeps.
pub const NOTICE_LOG: usize = 200;

/// How long a notice stays on the status bar; the clock tick clears it.
/// Errors stay until something replaces them or the agent presses esc.
pub const NOTICE_MS: i64 = 15_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkStage {
    Edit,
    /// The inbox service was asked who the text reaches (`Request::BulkPreview`,
    /// the request `dmdesk bulk` makes); its answer moves on to `Confirm`.
    Previewing,
    Confirm,
}

#[derive(Debug, Clone)]
pub struct BulkState {
    pub text: TextArea<'static>,
    /// 0 = no tag, i = Tag::CAMPAIGN_TAGS[i-1] (empty since Meta retired the
    /// update tags: always 0).
    pub tag_index: usize,
    pub stage: BulkStage,
    /// The service's preview of the text and tag as they were when asked;
    /// None until asked, and again once either changes.
    pub preview: Option<Box<Preview>>,
}

impl BulkState {
    /// The popup over `text`, nothing asked yet.
    pub fn new(text: TextArea<'static>) -> BulkState {
        BulkState {
            text,
            tag_index: 0,
            stage: BulkStage::Edit,
            preview: None,
        }
    }

    pub fn tag(&self) -> Option<Tag> {
        self.tag_index
            .checked_sub(1)
            .and_then(|i| Tag::CAMPAIGN_TAGS.get(i).copied())
    }
}

#[derive(Debug, Clone, Default)]
pub struct CannedPicker {
    pub query: String,
    pub selected: usize,
}

/// The help overlay's two pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelpPage {
    /// Every action and its keys.
    Keys,
    /// The composer's text-editing keys.
    Composer,
}

#[derive(Debug, Clone)]
pub enum Overlay {
    /// Another agent replied here moments ago: send anyway?
    ConfirmSend(Box<PendingSend>),
    Help(HelpPage),
    Search {
        input: String,
    },
    /// The status menu, for the conversation named when it opened: a list
    /// reload underneath cannot change what it acts on.
    StatusMenu(Box<Conversation>),
    Bulk(Box<BulkState>),
    /// Cancel this running campaign? (named when the key was pressed, so
    /// progress updates underneath cannot change what `y` cancels).
    CancelCampaign(Box<CampaignProgress>),
    Canned(CannedPicker),
    /// The notices log; `scroll` hides that many of the newest notices.
    Notices {
        scroll: usize,
    },
    /// Assign, label, set a priority or pick the label filter, with completion.
    Pick(Box<Picker>),
    /// The team report (`D`); any key closes it.
    Report(Box<crate::report::Report>),
    /// The composer's attach prompt.
    Attach(Box<crate::app::attach::AttachPrompt>),
}

/// A reply held back until the agent confirms it (collision notice).
#[derive(Debug, Clone, PartialEq)]
pub struct PendingSend {
    pub conv: ConvKey,
    pub text: String,
    pub tag: Option<Tag>,
    /// Who replied, and how many seconds before.
    pub by: String,
    pub ago_s: i64,
}

#[derive(Debug, Clone)]
pub struct State {
    pub now: TimestampMs,
    pub opts: Options,
    pub size: (u16, u16),
    pub focus: Focus,
    pub overlay: Option<Overlay>,
    pub list: ListPane,
    pub thread: Option<ThreadPane>,
    pub composer: Composer,
    pub status: StatusInfo,
    /// Conversations marked for a bulk send.
    pub marked: BTreeMap<ConvKey, Conversation>,
    pub quit: bool,
    /// When the UI started: inbound messages newer than this ring the bell.
    pub started: TimestampMs,
    /// Recently seen inbound mids, so an edited or reacted message does not ring twice.
    pub seen_inbound: VecDeque<Mid>,
    /// Every conversation with unread messages and its count (window
    /// title): one store scan at start (`request::Request::Unread`), then kept
    /// up to date from `Update::Conversation`.
    pub unread: HashMap<ConvKey, u32>,
    /// The unread scan in flight, if any.
    pub unread_load: Option<UnreadLoad>,
    /// Numbers the unread scans, so a stale answer is ignored.
    pub unread_requests: u64,
    pub last_title: String,
    /// Who is viewing or typing where (teams), as the owner last told us.
    pub presence: Vec<crate::update::Viewer>,
    /// When typing was last reported for the open thread (throttle).
    pub typing_reported: Option<TimestampMs>,
    /// The owner's count of unread conversations (attached UI), which
    /// digests carry instead of every conversation's count.
    pub unread_total: Option<u64>,
    /// Full-text search (src/app/search.rs).
    pub search: super::search::SearchState,
    /// Focus and the notification rate limit (src/app/media.rs).
    pub media: super::media::MediaState,
    /// The team's agents, labels and pending assignments.
    pub team: TeamState,
}

/// Messages loaded when a thread opens, and per "load older" step.
pub const THREAD_PAGE: usize = 200;

impl State {
    pub fn new(opts: Options, now: TimestampMs, size: (u16, u16)) -> State {
        let mut s = State {
            now,
            opts,
            size,
            focus: Focus::List,
            overlay: None,
            list: ListPane::default(),
            thread: None,
            composer: Composer::default(),
            status: StatusInfo::default(),
            marked: BTreeMap::new(),
            quit: false,
            started: now,
            seen_inbound: VecDeque::new(),
            presence: Vec::new(),
            typing_reported: None,
            unread_total: None,
            media: Default::default(),
            unread: HashMap::new(),
            unread_load: None,
            unread_requests: 0,
            last_title: String::new(),
            search: Default::default(),
            team: TeamState::default(),
        };
        s.list.visible = super::layout::list_rows(&s.panes());
        // Resolved and sleeping conversations are out of the way by default.
        s.list.filter.view = crate::filter::View::Open { at: now };
        s.status.events_today.0 = crate::clock::day_key(now, s.opts.zone);
        s.status.dead = s.opts.dead_tokens.clone();
        s.status.sync = s.opts.synced.clone();
        s
    }

    pub fn panes(&self) -> super::layout::Panes {
        super::layout::panes(
            ratatui::layout::Rect::new(0, 0, self.size.0, self.size.1),
            self.opts.demo,
        )
    }

    pub fn human_agent_allowed(&self, c: &Conversation) -> bool {
        self.opts.human_agent.contains(&c.key.account)
    }

    pub fn facts(&self, c: &Conversation) -> WindowFacts {
        WindowFacts::of(c, self.human_agent_allowed(c))
    }

    pub fn window_of(&self, c: &Conversation) -> Window {
        window(&self.facts(c), self.now)
    }

    pub fn open_key(&self) -> Option<&ConvKey> {
        self.thread.as_ref().map(|t| &t.conv.key)
    }

    /// How many conversations have unread messages (all of them, not only
    /// the rows the list has shown).
    pub fn unread_conversations(&self) -> usize {
        match self.unread_total {
            Some(n) => n as usize,
            None => self.unread.values().filter(|n| **n > 0).count(),
        }
    }
}
