//! `handle`: one request against the store, the job queue and the presence
//! table. Runs on a blocking thread (store reads may take a while).

use super::export::Scans;
use super::presence::Presence;
use super::request::{
    AssignTo, Assigned, Audience, BulkContent, ListRows, Reply, Request, ThreadData,
};
use super::sync::SyncWork;
use crate::config::Config;
use crate::db::Db;
use crate::domain::{AccountId, ConvKey, TimestampMs};
use crate::job::Job;
use crate::media::picture::{pictures_of, PicKey, PictureChunk, Unavailable};
use crate::send::campaign;
use crate::store::{CampaignStatus, Swap};
use crate::team::AgentName;
use crate::update::SyncProgress;
use crate::workers::JobSender;
use std::collections::HashSet;
use std::sync::Arc;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Who asks: the owner's own UI (session 0) or an attached client's
/// connection, and the Unix user behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct Caller {
    pub session: u64,
    pub agent: Option<String>,
}

/// The inbox over one store and its workers.
pub struct Inbox {
    store: Db,
    jobs: JobSender,
    /// The table attached UIs share (None: nobody can attach).
    presence: Option<Arc<Presence>>,
    /// Accounts whose pages may use HUMAN_AGENT (the urgent pick's window).
    human_agent: HashSet<AccountId>,
    /// `[team] agents` (Unix users are agents too).
    agents: Vec<AgentName>,
    /// The pages and their tokens, for a campaign's preview (None: this
    /// inbox previews no campaigns).
    config: Option<Arc<Config>>,
    /// Exports in progress, one per caller session.
    exports: Scans,
    /// The picture cache `[media]` names, opened when first asked.
    pictures: std::sync::OnceLock<Option<Arc<crate::pictures::Source>>>,
    /// The cancel and progress of the one-shot sync this inbox runs (None:
    /// it runs none).
    sync: Option<SyncWork>,
    /// The send worker's context, so a one-shot's send keeps the process's
    /// pace (None: a context of its own per request).
    send: Option<crate::send::reply::SendCtx>,
}

/// The pages (and their Instagram accounts) allowed the HUMAN_AGENT tag.
pub fn human_agent_accounts(config: &Config) -> HashSet<AccountId> {
    config
        .pages
        .iter()
        .filter(|p| p.human_agent)
        .flat_map(|p| std::iter::once(p.id.clone()).chain(p.instagram_id.clone()))
        .collect()
}

fn err(e: crate::store::StoreError) -> String {
    e.to_string()
}

impl Inbox {
    pub fn new(store: Db, jobs: JobSender) -> Inbox {
        Inbox {
            store,
            jobs,
            presence: None,
            human_agent: HashSet::new(),
            agents: Vec::new(),
            config: None,
            exports: Scans::default(),
            pictures: Default::default(),
            sync: None,
            send: None,
        }
    }

    /// Send with the send worker's context (its Graph client and pace).
    pub fn with_send(mut self, ctx: crate::send::reply::SendCtx) -> Inbox {
        self.send = Some(ctx);
        self
    }

    /// The one-shot `dmdesk sync` this inbox runs (`Request::SyncNow`):
    /// stopped by `cancel`, its progress sent to `progress`.
    pub fn with_sync(
        mut self,
        cancel: CancellationToken,
        progress: watch::Sender<SyncProgress>,
    ) -> Inbox {
        self.sync = Some(SyncWork { cancel, progress });
        self
    }

    /// The config: its pages (the HUMAN_AGENT accounts among them) and its
    /// tokens (a campaign's preview leaves out pages whose token Meta
    /// refused), and `[team] agents`.
    pub fn with_config(self, config: Arc<Config>) -> Inbox {
        let inbox = self
            .with_human_agent(human_agent_accounts(&config))
            .with_team(config.team.agents.clone());
        Inbox {
            config: Some(config),
            ..inbox
        }
    }

    /// A piece of a kept picture; a missing one is fetched from the link
    /// the store has for that attachment (never a link the caller names).
    fn picture(&self, key: &PicKey, offset: u64) -> PictureChunk {
        let source = self.config.as_deref().and_then(|c| {
            self.pictures
                .get_or_init(|| crate::pictures::Source::open(&c.media))
                .clone()
        });
        let (Some(source), Ok(rt)) = (source, tokio::runtime::Handle::try_current()) else {
            return PictureChunk::Unavailable(Unavailable::Failed(
                "no picture cache where the store is".into(),
            ));
        };
        let url_of = || {
            let m = self.store.message(&key.mid).ok().flatten();
            m.as_ref()
                .and_then(|m| pictures_of(m).find(|(k, _)| k == key))
                .map(|(_, url)| url.to_string())
                .ok_or_else(|| Unavailable::Failed("no such picture in the store".into()))
        };
        crate::pictures::chunks::serve(&source, &rt, key, offset, url_of)
    }

    /// A caller's session ended: what it had open here (an export) goes.
    pub fn leave(&self, session: u64) {
        self.exports.leave(session);
    }

    /// The agents named in `[team] agents`.
    pub fn with_team(mut self, agents: Vec<AgentName>) -> Inbox {
        self.agents = agents;
        self
    }

    fn known(&self, a: &AgentName) -> bool {
        crate::team::is_known_agent(a, &self.agents)
    }

    pub fn with_presence(mut self, presence: Option<Arc<Presence>>) -> Inbox {
        self.presence = presence;
        self
    }

    pub fn with_human_agent(mut self, accounts: HashSet<AccountId>) -> Inbox {
        self.human_agent = accounts;
        self
    }

    /// Run one request for `who`. Errors are sentences for the status bar.
    pub fn handle(&self, who: &Caller, request: Request) -> Result<Reply, String> {
        let st = &self.store;
        Ok(match request {
            Request::List {
                filter,
                offset,
                limit,
                count,
                generation,
            } => {
                let rows = st.conversations(&filter, offset, limit).map_err(err)?;
                let total = if filter.is_empty() {
                    Some(st.conversation_count().map_err(err)?)
                } else if count {
                    Some(st.count_matching(&filter).map_err(err)?)
                } else {
                    None
                };
                Reply::List(ListRows {
                    offset,
                    rows,
                    total,
                    generation,
                })
            }
            Request::Search {
                query,
                generation,
                from,
            } => Reply::Search {
                results: Box::new(
                    st.search(&query, from.as_ref(), crate::search::PAGE)
                        .map_err(err)?,
                ),
                query,
                generation,
            },
            Request::Conversation { conv } => {
                Reply::Conversation(st.conversation(&conv).map_err(err)?.map(Box::new))
            }
            Request::Thread { conv, limit } => match st.conversation(&conv).map_err(err)? {
                None => Reply::Thread(None),
                Some(c) => Reply::Thread(Some(Box::new(ThreadData {
                    contact: st.contact(&conv).map_err(err)?,
                    messages: st.messages_latest(&conv, limit).map_err(err)?,
                    draft: st.draft(&conv).map_err(err)?,
                    notes: st.notes(&conv).map_err(err)?,
                    history: st.history(&conv).map_err(err)?,
                    conv: c,
                    limit,
                }))),
            },
            Request::Older {
                conv,
                before,
                limit,
            } => Reply::Older {
                messages: st.messages_before(&conv, &before, limit).map_err(err)?,
                conv,
                limit,
            },
            Request::Unread { request } => Reply::Unread {
                request,
                counts: st.unread_counts().map_err(err)?,
            },
            Request::Report {
                since_ms,
                utc_offset_s,
            } => Reply::Report(Box::new(
                super::report::from_store(
                    &**st,
                    since_ms,
                    TimestampMs::now(),
                    crate::clock::Zone::Fixed(utc_offset_s),
                )
                .map_err(err)?,
            )),
            Request::ViewCounts { me } => {
                let open = crate::filter::ConvFilter {
                    view: crate::filter::View::Open {
                        at: TimestampMs::now(),
                    },
                    ..Default::default()
                };
                let n = st.view_counts(me.as_ref(), &open).map_err(err)?;
                Reply::ViewCounts {
                    mine: n.mine,
                    unassigned: n.unassigned,
                    all: n.all,
                }
            }
            Request::Urgent => Reply::Urgent(
                crate::urgent::pick(
                    st.all_conversations().filter_map(|c| c.ok()),
                    |c| self.human_agent.contains(&c.key.account),
                    TimestampMs::now(),
                )
                .map(Box::new),
            ),
            Request::MarkRead { conv } => done(st.mark_read(&conv))?,
            Request::MarkUnread { conv } => done(st.mark_unread(&conv))?,
            Request::SetStatus {
                conv,
                status,
                snooze_until,
            } => done(st.set_status_by(
                &conv,
                status,
                snooze_until,
                me(who).as_ref(),
                TimestampMs::now(),
            ))?,
            Request::Assign { conv, to, expect } => self.assign(who, conv, to, expect)?,
            Request::Labels { conv, add, remove } => {
                for l in add.iter().chain(&remove) {
                    crate::change::check_label(l)?;
                }
                exists(st, &conv)?;
                done(st.set_labels(&conv, &add, &remove, me(who).as_ref(), TimestampMs::now()))?
            }
            Request::SetPriority { conv, priority } => {
                exists(st, &conv)?;
                done(st.set_priority(&conv, priority, me(who).as_ref(), TimestampMs::now()))?
            }
            Request::Note { conv, text } => {
                let author =
                    me(who).ok_or("a note needs its author, and who you are is not known here")?;
                let text = text.trim();
                if text.is_empty() {
                    return Err("an empty note: write something".into());
                }
                exists(st, &conv)?;
                let mentions = crate::team::mentions_in(text)
                    .into_iter()
                    .filter(|a| self.known(a))
                    .collect();
                let note = st
                    .add_note(&conv, &author, text, mentions, TimestampMs::now())
                    .map_err(err)?;
                Reply::Note(Box::new(note))
            }
            Request::History { conv } => Reply::History {
                notes: st.notes(&conv).map_err(err)?,
                history: st.history(&conv).map_err(err)?,
                conv,
            },
            Request::Mailbox => {
                let me = me(who).ok_or("who you are is not known here: no mailbox")?;
                Reply::Mailbox(st.mailbox(&me).map_err(err)?)
            }
            Request::MailAck { ids } => {
                let me = me(who).ok_or("who you are is not known here: no mailbox")?;
                done(st.mailbox_ack(&me, &ids))?
            }
            Request::SaveDraft { conv, text } => done(st.set_draft(&conv, &text))?,
            Request::SaveNoteDraft { conv, text } => done(st.set_note_draft(&conv, &text))?,
            Request::NoteDraft { conv } => Reply::NoteDraft {
                text: st.note_draft(&conv).map_err(err)?,
                conv,
            },
            Request::Job { job } => {
                let job = match &who.agent {
                    Some(name) => with_agent(job, name),
                    None => job,
                };
                self.jobs
                    .send(job)
                    .map_err(|_| "the background workers have stopped; restart dmdesk")?;
                Reply::Done
            }
            Request::Upload { step } => {
                Reply::Upload(crate::send::staging::Staging::under(st.path()).handle(
                    who.agent.as_deref(),
                    step,
                    TimestampMs::now(),
                )?)
            }
            Request::Picture { key, offset } => Reply::Picture(self.picture(&key, offset)),
            Request::Presence { conv, typing } => {
                if let (Some(p), Some(agent)) = (&self.presence, &who.agent) {
                    p.set(who.session, agent, conv, typing);
                }
                Reply::Done
            }
            Request::Export { what, from, limit } => {
                let (lines, done) = self.exports.page(st, who.session, what, from, limit)?;
                Reply::Export { lines, done }
            }
            Request::BulkPreview { audience, content } => {
                let config = self
                    .config
                    .as_deref()
                    .ok_or("campaigns are previewed where the config is")?;
                let recipients = match audience {
                    Audience::Listed(keys) => keys,
                    Audience::All => st
                        .all_conversations()
                        .map(|c| c.map(|c| c.key))
                        .collect::<Result<_, _>>()
                        .map_err(err)?,
                };
                let now = TimestampMs::now();
                let preview = match content {
                    BulkContent::Text { text, tag } => {
                        campaign::preview_from_store(st, config, &recipients, &text, tag, now)
                    }
                    BulkContent::File { about, instagram } => {
                        let instagram = instagram.as_ref().map(|_| ()).map_err(String::as_str);
                        campaign::preview_file_from_store(
                            st,
                            config,
                            &recipients,
                            &about,
                            instagram,
                            now,
                        )
                    }
                };
                Reply::BulkPreview(Box::new(preview.map_err(err)?))
            }
            Request::BulkCreate {
                title,
                text,
                tag,
                preview,
            } => {
                let by = who.agent.as_deref();
                let now = TimestampMs::now();
                let c = campaign::write(st, &title, &text, tag, by, &preview, now).map_err(err)?;
                // Durable before anyone is told it exists (and before a send).
                st.flush().map_err(err)?;
                Reply::Campaign(Some(Box::new(c)))
            }
            Request::BulkStart { id } => {
                if matches!(st.campaign(&id).map_err(err)?, Some(c) if c.status == CampaignStatus::Stopped)
                {
                    st.set_campaign_status(&id, CampaignStatus::Running, None, TimestampMs::now())
                        .map_err(err)?;
                }
                self.jobs
                    .send(Job::RunCampaign { id })
                    .map_err(|_| "the send worker has stopped")?;
                Reply::Done
            }
            Request::Campaign { id } => {
                Reply::Campaign(st.campaign(&id).map_err(err)?.map(Box::new))
            }
            Request::CampaignReport { id } => {
                Reply::CampaignReport(Box::new(campaign::report(st, &id).map_err(err)?))
            }
            Request::SyncNow { account } => {
                super::sync::sync_now(st, self.config.as_ref(), self.sync.as_ref(), account)?
            }
            Request::DeleteEvent { seq } => super::replay::delete(st, seq)?,
            Request::Replay => super::replay::replay(
                st,
                self.config
                    .as_deref()
                    .ok_or("replays run where the config is")?,
            )?,
            Request::StoreChecks => Reply::StoreChecks(Box::new(super::doctor::store_checks(
                st,
                self.config
                    .as_deref()
                    .ok_or("the store is checked where the config is")?,
            ))),
            Request::Send {
                conv,
                text,
                file,
                tag,
            } => {
                let out = super::send::Outgoing {
                    conv,
                    text,
                    file,
                    tag,
                };
                let config = self.config.as_ref();
                Reply::Sent(super::send::send_now(
                    st,
                    config,
                    self.send.as_ref(),
                    who.agent.as_deref(),
                    out,
                )?)
            }
        })
    }
}

impl Inbox {
    /// Assign by compare-and-set against what the caller saw (`expect`).
    fn assign(
        &self,
        who: &Caller,
        conv: ConvKey,
        to: AssignTo,
        expect: Option<AgentName>,
    ) -> Result<Reply, String> {
        let by = me(who);
        let to = match to {
            AssignTo::Agent(a) if self.known(&a) => Some(a),
            AssignTo::Agent(a) => {
                return Err(format!(
                    "`{a}` is not an agent: name one from [team] agents or a Unix user"
                ))
            }
            AssignTo::Me => Some(
                by.clone()
                    .ok_or("who you are is not known here: name the agent instead")?,
            ),
            AssignTo::Nobody => None,
        };
        let before = exists(&self.store, &conv)?.assignee;
        match self
            .store
            .assign(
                &conv,
                expect.as_ref(),
                to.as_ref(),
                by.as_ref(),
                TimestampMs::now(),
            )
            .map_err(err)?
        {
            Swap::Done => Ok(Reply::Assigned(Assigned::Done {
                from: if before == expect { expect } else { to.clone() },
                to,
                conv,
            })),
            Swap::Lost(current) => Ok(Reply::Assigned(Assigned::Taken { conv, current })),
        }
    }
}

/// The caller as an agent (None: a local caller whose user is unknown).
fn me(who: &Caller) -> Option<AgentName> {
    who.agent.as_deref().map(AgentName::from)
}

/// The conversation, or the sentence saying there is none.
fn exists(st: &Db, conv: &ConvKey) -> Result<crate::domain::Conversation, String> {
    st.conversation(conv)
        .map_err(err)?
        .ok_or_else(|| format!("no conversation {conv} in this store"))
}

fn done(r: Result<(), crate::store::StoreError>) -> Result<Reply, String> {
    r.map(|()| Reply::Done).map_err(err)
}

/// The agent on a job is the caller, whatever the job said.
fn with_agent(job: Job, name: &str) -> Job {
    match job {
        Job::Reply {
            conv, text, tag, ..
        } => Job::Reply {
            conv,
            text,
            tag,
            agent: Some(name.to_string()),
        },
        Job::Campaign {
            title,
            text,
            tag,
            recipients,
            ..
        } => Job::Campaign {
            title,
            text,
            tag,
            recipients,
            agent: Some(name.to_string()),
        },
        Job::SendFile {
            conv, upload, tag, ..
        } => Job::SendFile {
            conv,
            upload,
            tag,
            agent: Some(name.to_string()),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::Change;
    use crate::domain::{ConvKey, Message, Mid, Platform};

    fn seeded() -> (tempfile::TempDir, Db, ConvKey) {
        let dir = tempfile::tempdir().unwrap();
        let store = Db::open(&dir.path().join("store"), 8, "test").unwrap();
        let conv = ConvKey::new(Platform::Messenger, "P1", "U1");
        let m = Message::inbound(conv.clone(), Mid::new("m1"), TimestampMs(1_000));
        store
            .apply(&[Change::Message {
                msg: m,
                metadata: None,
                qualifying: true,
                from_sync: false,
            }])
            .unwrap();
        (dir, store, conv)
    }

    fn caller(agent: Option<&str>) -> Caller {
        Caller {
            session: 0,
            agent: agent.map(str::to_string),
        }
    }

    #[test]
    fn view_counts_count_the_open_view_by_whose() {
        let (_dir, store, conv) = seeded();
        let (jobs, _rx) = tokio::sync::mpsc::unbounded_channel();
        let inbox = Inbox::new(store, jobs).with_team(vec!["alice".into()]);
        let counts = |me: Option<&str>| {
            inbox.handle(
                &caller(Some("alice")),
                Request::ViewCounts {
                    me: me.map(AgentName::from),
                },
            )
        };
        let n = |mine, unassigned, all| {
            Ok(Reply::ViewCounts {
                mine,
                unassigned,
                all,
            })
        };
        assert_eq!(counts(Some("alice")), n(0, 1, 1));
        let take = Request::Assign {
            conv,
            to: AssignTo::Me,
            expect: None,
        };
        assert!(matches!(
            inbox.handle(&caller(Some("alice")), take),
            Ok(Reply::Assigned(Assigned::Done { .. }))
        ));
        assert_eq!(counts(Some("alice")), n(1, 0, 1));
        assert_eq!(counts(Some("bob")), n(0, 0, 1));
        assert_eq!(counts(None), n(0, 0, 1), "nobody named: mine is 0");
    }

    #[test]
    fn a_write_answers_done_and_the_next_read_sees_it() {
        let (_dir, store, conv) = seeded();
        let (jobs, _rx) = tokio::sync::mpsc::unbounded_channel();
        let inbox = Inbox::new(store, jobs);
        let me = caller(None);
        let save = Request::SaveDraft {
            conv: conv.clone(),
            text: "soon".into(),
        };
        assert_eq!(inbox.handle(&me, save), Ok(Reply::Done));
        let Ok(Reply::Thread(Some(t))) = inbox.handle(
            &me,
            Request::Thread {
                conv: conv.clone(),
                limit: 10,
            },
        ) else {
            panic!("no thread for a stored conversation");
        };
        assert_eq!((t.draft.as_deref(), t.messages.len()), (Some("soon"), 1));
        assert_eq!(
            inbox.handle(&me, Request::Unread { request: 7 }),
            Ok(Reply::Unread {
                request: 7,
                counts: vec![(conv.clone(), 1)]
            })
        );
        assert_eq!(
            inbox.handle(&me, Request::MarkRead { conv }),
            Ok(Reply::Done)
        );
        assert_eq!(
            inbox.handle(&me, Request::Unread { request: 8 }),
            Ok(Reply::Unread {
                request: 8,
                counts: vec![]
            })
        );
    }

    #[test]
    fn a_job_carries_the_callers_agent_whatever_it_said() {
        let (_dir, store, conv) = seeded();
        let (jobs, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let inbox = Inbox::new(store, jobs);
        let reply = |agent: &str| Request::Job {
            job: Job::Reply {
                conv: conv.clone(),
                text: "hi".into(),
                tag: None,
                agent: Some(agent.into()),
            },
        };
        let agent_of = |j: Option<Job>| match j {
            Some(Job::Reply { agent, .. }) => agent,
            other => panic!("expected a reply job, got {other:?}"),
        };
        inbox
            .handle(&caller(Some("alice")), reply("mallory"))
            .unwrap();
        assert_eq!(agent_of(rx.try_recv().ok()).as_deref(), Some("alice"));
        // No known caller: the job stays as the UI built it.
        inbox.handle(&caller(None), reply("bob")).unwrap();
        assert_eq!(agent_of(rx.try_recv().ok()).as_deref(), Some("bob"));
    }

    #[test]
    fn a_stopped_job_queue_is_an_error_not_a_silent_drop() {
        let (_dir, store, _) = seeded();
        let (jobs, rx) = tokio::sync::mpsc::unbounded_channel();
        drop(rx);
        let inbox = Inbox::new(store, jobs);
        let r = inbox.handle(
            &caller(None),
            Request::Job {
                job: Job::CancelSync,
            },
        );
        assert!(r.unwrap_err().contains("workers have stopped"));
    }

    #[test]
    fn two_agents_taking_one_conversation_at_once_one_wins_the_other_is_told() {
        let (_dir, store, conv) = seeded();
        let (jobs, _rx) = tokio::sync::mpsc::unbounded_channel();
        let inbox = Arc::new(Inbox::new(store, jobs));
        let barrier = Arc::new(std::sync::Barrier::new(2));
        let takers: Vec<_> = ["alice", "bob"]
            .into_iter()
            .map(|name| {
                let (inbox, barrier, conv) = (inbox.clone(), barrier.clone(), conv.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    let take = Request::Assign {
                        conv,
                        to: AssignTo::Me,
                        expect: None,
                    };
                    (name, inbox.handle(&caller(Some(name)), take).unwrap())
                })
            })
            .collect();
        let answers: Vec<_> = takers.into_iter().map(|t| t.join().unwrap()).collect();
        let winners: Vec<&str> = answers
            .iter()
            .filter(|(_, r)| matches!(r, Reply::Assigned(Assigned::Done { .. })))
            .map(|(n, _)| *n)
            .collect();
        assert_eq!(winners.len(), 1, "{answers:?}");
        let winner = AgentName::from(winners[0]);
        let loser = answers.iter().find(|(n, _)| *n != winners[0]).unwrap();
        assert_eq!(
            loser.1,
            Reply::Assigned(Assigned::Taken {
                conv: conv.clone(),
                current: Some(winner.clone())
            })
        );
        let Ok(Reply::History { history, .. }) =
            inbox.handle(&caller(None), Request::History { conv: conv.clone() })
        else {
            panic!("no history");
        };
        let assigned: Vec<_> = history
            .iter()
            .filter(|e| matches!(e.kind, crate::team::HistoryKind::Assigned { .. }))
            .collect();
        assert_eq!(assigned.len(), 1, "one assignment recorded: {history:?}");
        assert_eq!(assigned[0].by, Some(winner));
    }

    #[test]
    fn notes_mention_known_agents_and_me_needs_an_identity() {
        let (_dir, store, conv) = seeded();
        let (jobs, _rx) = tokio::sync::mpsc::unbounded_channel();
        let inbox = Inbox::new(store, jobs).with_team(vec!["bob".into()]);
        let note = Request::Note {
            conv: conv.clone(),
            text: "@bob and @nosuchagent_xyz, see this".into(),
        };
        let Ok(Reply::Note(n)) = inbox.handle(&caller(Some("alice")), note.clone()) else {
            panic!("note refused");
        };
        assert_eq!(n.mentions, vec![AgentName::from("bob")]);
        assert_eq!(n.author.as_str(), "alice");
        let Ok(Reply::Mailbox(mail)) = inbox.handle(&caller(Some("bob")), Request::Mailbox) else {
            panic!("no mailbox");
        };
        assert_eq!(mail.len(), 1);
        inbox
            .handle(
                &caller(Some("bob")),
                Request::MailAck {
                    ids: vec![mail[0].id.clone()],
                },
            )
            .unwrap();
        assert_eq!(
            inbox.handle(&caller(Some("bob")), Request::Mailbox),
            Ok(Reply::Mailbox(vec![]))
        );
        // Without an identity: no "me", no author.
        assert!(inbox.handle(&caller(None), note).is_err());
        let me = Request::Assign {
            conv: conv.clone(),
            to: AssignTo::Me,
            expect: None,
        };
        assert!(inbox
            .handle(&caller(None), me)
            .unwrap_err()
            .contains("who you are"));
        // Only agents may be named.
        let stranger = Request::Assign {
            conv,
            to: AssignTo::Agent("nosuchagent_xyz".into()),
            expect: None,
        };
        assert!(inbox
            .handle(&caller(Some("alice")), stranger)
            .unwrap_err()
            .contains("not an agent"));
    }
}
