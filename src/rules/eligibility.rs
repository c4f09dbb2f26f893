//! Who a bulk message may go to: one pure rule for the bulk preview (the
//! inbox service's `BulkPreview`, which the terminal's popup and `dmdesk
//! bulk` both ask) and the campaign (send/campaign/), so the screen never
//! promises a recipient the campaign then skips.
//!
//! Per recipient, in this order (the first that applies is the reason):
//! the tag (HUMAN_AGENT never goes on a campaign), the account (configured,
//! and for this platform), the page's token (Meta refused it: error 190),
//! the text rendered for this recipient (unknown variables, empty, Meta's
//! length limit per platform), the conversation (the customer wrote), standby
//! (another app owns the thread), and the window (campaigns go only inside
//! the 24-hour window: no tag is left for them).
//!
//! It takes plain facts about pages — what an attached UI receives in
//! `hello` (`PageInfo`) — not the Config, and no store.

use super::template::{Template, UnknownVariable, Vars};
use super::window::{self, Plan, Purpose, Tag, WindowFacts};
use crate::domain::PageInfo;
use crate::domain::{AccountId, Contact, ConvKey, Conversation, Platform, TimestampMs};
use std::collections::BTreeSet;
use std::fmt;

/// The configured pages as plain facts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pages {
    pub pages: Vec<PageInfo>,
    /// Pages whose token Meta refused (190). Only the process holding the
    /// store knows; an attached UI leaves this empty.
    pub dead: BTreeSet<AccountId>,
}

impl Pages {
    pub fn new(pages: Vec<PageInfo>) -> Pages {
        Pages {
            pages,
            dead: BTreeSet::new(),
        }
    }

    /// The page answering for `account` (a page's Instagram account is
    /// answered with the page's token), and the account's platform.
    /// An account connected both ways answers through Instagram Login.
    pub fn find(&self, account: &AccountId) -> Option<(&PageInfo, Platform)> {
        crate::domain::page_for(&self.pages, account)
    }
}

/// Why a recipient is not sent the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// HUMAN_AGENT on a campaign.
    Tag(String),
    Unconfigured(AccountId),
    WrongPlatform {
        account: AccountId,
        configured: Platform,
        asked: Platform,
    },
    DeadPage {
        page: String,
    },
    UnknownVariable(UnknownVariable),
    /// Empty, or over Meta's limit for the platform (after rendering).
    TextLength(String),
    NeverWrote,
    Standby,
    /// Outside the 24-hour window (or what `window::plan` said).
    Window(String),
    /// A file Instagram customers cannot be sent (it takes media only by a
    /// URL dmdesk serves, and only some types), with why.
    MediaByUrl(String),
}

impl Skip {
    /// Whether the campaign should stop rather than skip: a dead token is
    /// fixed by the operator, then the campaign resumes.
    pub fn stops_campaign(&self) -> bool {
        matches!(self, Skip::DeadPage { .. })
    }
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Skip::Tag(r) | Skip::TextLength(r) | Skip::Window(r) | Skip::MediaByUrl(r) => {
                f.write_str(r)
            }
            Skip::Unconfigured(a) => write!(
                f,
                "account {a} is not in the config: add a [[pages]] block with this id (or as its instagram_id), or an [[instagram]] block, and a token"
            ),
            Skip::WrongPlatform {
                account,
                configured,
                asked,
            } => write!(
                f,
                "account {account} is a {configured} account in the config, not {asked}"
            ),
            Skip::DeadPage { page } => write!(
                f,
                "page {page}: the token is invalid (Meta refused it); put a new one in the config"
            ),
            Skip::UnknownVariable(e) => write!(f, "{e}"),
            Skip::NeverWrote => f.write_str(
                "the customer never wrote to this account (no conversation in the store)",
            ),
            Skip::Standby => f.write_str("another app controls this conversation (standby)"),
        }
    }
}

/// One recipient as the rule sees it.
#[derive(Debug, Clone, Copy)]
pub struct Recipient<'a> {
    pub key: &'a ConvKey,
    pub conv: Option<&'a Conversation>,
    pub contact: Option<&'a Contact>,
}

/// The message: a template rendered per recipient, or the text a first
/// attempt already rendered (a resumed campaign sends that same text).
#[derive(Debug, Clone, Copy)]
pub enum Body<'a> {
    Template(&'a Template),
    Rendered(&'a str),
    /// A file uploaded once for the campaign, described for the preview
    /// (say "[image] parcel.png"); no text rule applies to it. `instagram`:
    /// Ok when Instagram customers can be sent it (by a URL dmdesk serves),
    /// else why not.
    File {
        about: &'a str,
        instagram: Result<(), &'a str>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Send { plan: Plan, text: String },
    Skip(Skip),
}

impl Verdict {
    pub fn is_send(&self) -> bool {
        matches!(self, Verdict::Send { .. })
    }
}

/// The rule. `tag` is what the campaign carries (only ever refused now).
pub fn check(
    pages: &Pages,
    r: Recipient<'_>,
    body: Body<'_>,
    tag: Option<Tag>,
    now: TimestampMs,
) -> Verdict {
    match decide(pages, r, body, tag, now) {
        Ok((plan, text)) => Verdict::Send { plan, text },
        Err(s) => Verdict::Skip(s),
    }
}

fn decide(
    pages: &Pages,
    r: Recipient<'_>,
    body: Body<'_>,
    tag: Option<Tag>,
    now: TimestampMs,
) -> Result<(Plan, String), Skip> {
    if tag == Some(Tag::HumanAgent) {
        return Err(Skip::Tag(
            "HUMAN_AGENT is for a person answering a customer; it is never allowed on a campaign"
                .into(),
        ));
    }
    let key = r.key;
    let (page, platform) = pages
        .find(&key.account)
        .ok_or_else(|| Skip::Unconfigured(key.account.clone()))?;
    if platform != key.platform {
        return Err(Skip::WrongPlatform {
            account: key.account.clone(),
            configured: platform,
            asked: key.platform,
        });
    }
    if pages.dead.contains(&page.id) {
        return Err(Skip::DeadPage {
            page: format!("{} ({})", page.name, page.id),
        });
    }
    let text = match body {
        Body::Rendered(t) => t.to_string(),
        Body::Template(t) => t.render(&Vars::of(
            r.contact,
            r.conv.map_or("", |c| c.name.as_str()),
            Some(&page.name),
        )),
        Body::File { about, .. } => about.to_string(),
    };
    match body {
        Body::File {
            instagram: Err(why),
            ..
        } if key.platform == Platform::Instagram => return Err(Skip::MediaByUrl(why.into())),
        Body::File { .. } => {}
        _ => window::check_text(key.platform, &text).map_err(|e| Skip::TextLength(e.0))?,
    }
    let conv = r.conv.ok_or(Skip::NeverWrote)?;
    if conv.standby {
        return Err(Skip::Standby);
    }
    let facts = WindowFacts::of(conv, page.human_agent);
    if window::window(&facts, now) == window::Window::Never {
        return Err(Skip::NeverWrote);
    }
    let plan = window::plan(&facts, now, tag, Purpose::Campaign).map_err(|e| Skip::Window(e.0))?;
    Ok((plan, text))
}

/// `check` for a text not yet parsed: an unknown variable skips everyone
/// (callers refuse it earlier; this keeps it from ever being sent).
pub fn check_text(
    pages: &Pages,
    r: Recipient<'_>,
    text: &str,
    tag: Option<Tag>,
    now: TimestampMs,
) -> Verdict {
    match Template::parse(text) {
        Ok(t) => check(pages, r, Body::Template(&t), tag, now),
        Err(e) => Verdict::Skip(Skip::UnknownVariable(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: TimestampMs = TimestampMs(1_700_000_000_000);
    const H: i64 = TimestampMs::HOUR;

    fn pages() -> Pages {
        Pages::new(vec![PageInfo {
            id: AccountId::new("p1"),
            name: "Coffee".into(),
            instagram_id: Some(AccountId::new("ig1")),
            human_agent: true,
        }])
    }

    fn conv(p: Platform, user: &str, name: &str, ago_h: Option<i64>) -> Conversation {
        let acc = match p {
            Platform::Messenger => "p1",
            Platform::Instagram => "ig1",
        };
        let mut c = Conversation::new(ConvKey::new(p, acc, user), name.into());
        c.last_inbound = ago_h.map(|h| NOW.plus_ms(-h * H));
        c.last_user_message = c.last_inbound;
        c
    }

    fn run(pages: &Pages, c: &Conversation, text: &str, tag: Option<Tag>) -> Verdict {
        let r = Recipient {
            key: &c.key,
            conv: Some(c),
            contact: None,
        };
        check_text(pages, r, text, tag, NOW)
    }

    fn skip(v: Verdict) -> Skip {
        match v {
            Verdict::Skip(s) => s,
            other => panic!("expected a skip, got {other:?}"),
        }
    }

    #[test]
    fn inside_the_window_sends_the_rendered_text() {
        let c = conv(Platform::Messenger, "u", "Ann Lee", Some(1));
        assert_eq!(
            run(&pages(), &c, "Thanks {first_name}, from {page_name}", None),
            Verdict::Send {
                plan: Plan::Response,
                text: "Thanks Ann, from Coffee".into()
            }
        );
    }

    #[test]
    fn outside_the_window_is_skipped_saying_why() {
        for p in [Platform::Messenger, Platform::Instagram] {
            let c = conv(p, "u", "Ann", Some(30));
            let s = skip(run(&pages(), &c, "hi", None));
            assert!(
                matches!(&s, Skip::Window(r) if r.contains("retired")),
                "{s}"
            );
        }
    }

    #[test]
    fn human_agent_is_a_tag_skip() {
        let c = conv(Platform::Messenger, "u", "Ann", Some(1));
        let s = skip(run(&pages(), &c, "hi", Some(Tag::HumanAgent)));
        assert!(matches!(s, Skip::Tag(_)));
    }

    #[test]
    fn standby_is_skipped() {
        let mut c = conv(Platform::Messenger, "u", "Ann", Some(1));
        c.standby = true;
        assert_eq!(skip(run(&pages(), &c, "hi", None)), Skip::Standby);
    }

    #[test]
    fn unconfigured_and_wrong_platform_accounts() {
        let mut c = conv(Platform::Messenger, "u", "Ann", Some(1));
        c.key.account = AccountId::new("zz");
        assert_eq!(
            skip(run(&pages(), &c, "hi", None)),
            Skip::Unconfigured(AccountId::new("zz"))
        );
        let mut c = conv(Platform::Messenger, "u", "Ann", Some(1));
        c.key.account = AccountId::new("ig1");
        assert!(matches!(
            skip(run(&pages(), &c, "hi", None)),
            Skip::WrongPlatform { .. }
        ));
    }

    #[test]
    fn a_dead_page_is_skipped_and_stops_a_campaign() {
        let mut p = pages();
        p.dead.insert(AccountId::new("p1"));
        // Its Instagram account goes out with the page's token: dead too.
        let c = conv(Platform::Instagram, "u", "Ann", Some(1));
        let s = skip(run(&p, &c, "hi", None));
        assert!(matches!(&s, Skip::DeadPage { .. }), "{s}");
        assert!(s.stops_campaign());
        assert!(!Skip::Standby.stops_campaign());
    }

    #[test]
    fn text_length_is_checked_on_the_rendered_text_per_platform() {
        // 1990 characters of template, and a long name pushes it over 2000.
        let long = format!("{}{{name}}", "a".repeat(1990));
        let short = conv(Platform::Messenger, "u", "Bo", Some(1));
        assert!(run(&pages(), &short, &long, None).is_send());
        let named = conv(Platform::Messenger, "u", "Bartholomew Longname", Some(1));
        assert!(matches!(
            skip(run(&pages(), &named, &long, None)),
            Skip::TextLength(_)
        ));
        // Instagram counts bytes: 501 × "é" is 1002 bytes.
        let ig = conv(Platform::Instagram, "u", "Bo", Some(1));
        assert!(matches!(
            skip(run(&pages(), &ig, &"é".repeat(501), None)),
            Skip::TextLength(_)
        ));
        assert!(run(&pages(), &short, &"é".repeat(501), None).is_send());
        assert!(matches!(
            skip(run(&pages(), &short, "  ", None)),
            Skip::TextLength(_)
        ));
    }

    #[test]
    fn never_wrote_is_skipped() {
        let c = conv(Platform::Messenger, "u", "Ann", None);
        assert_eq!(skip(run(&pages(), &c, "hi", None)), Skip::NeverWrote);
        let key = ConvKey::new(Platform::Messenger, "p1", "nobody");
        let r = Recipient {
            key: &key,
            conv: None,
            contact: None,
        };
        assert_eq!(
            check_text(&pages(), r, "hi", None, NOW),
            Verdict::Skip(Skip::NeverWrote)
        );
    }

    #[test]
    fn an_unknown_variable_skips_and_a_rendered_body_is_sent_as_is() {
        let c = conv(Platform::Messenger, "u", "Ann", Some(1));
        assert!(matches!(
            skip(run(&pages(), &c, "Hi {frist_name}", None)),
            Skip::UnknownVariable(_)
        ));
        let r = Recipient {
            key: &c.key,
            conv: Some(&c),
            contact: None,
        };
        assert_eq!(
            check(&pages(), r, Body::Rendered("Hi {first_name}"), None, NOW),
            Verdict::Send {
                plan: Plan::Response,
                text: "Hi {first_name}".into()
            }
        );
    }
}
