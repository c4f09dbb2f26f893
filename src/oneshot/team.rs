//! `dmdesk assign`, `dmdesk label`, `dmdesk note`: one line on stdout
//! saying what happened. They run through the inbox service, in this
//! process or in the one holding the store (the agent is then the socket
//! peer's Unix user, never a name the client sends).

use crate::cli::{AssignArgs, CliError, CliResult, ConvArgs, LabelArgs, NoteArgs};
use crate::config::Config;
use crate::console::Console;
use crate::db::Db;
use crate::domain::{AccountId, ConvKey, Conversation, Platform, UserId};
use crate::inbox::{AssignTo, Assigned, Caller, Reply, Request};
use crate::team::AgentName;

/// The conversation named on the command line: the platform from the
/// config's accounts, or (an account not configured) from the store.
fn conv_of(cfg: &Config, store: &Db, a: &ConvArgs) -> Result<ConvKey, CliError> {
    let account = AccountId::new(a.account.trim());
    let user = UserId::new(a.user.trim());
    let key = |platform| ConvKey {
        platform,
        account: account.clone(),
        user: user.clone(),
    };
    if let Some((_, platform)) = cfg.page_for(&account) {
        return Ok(key(platform));
    }
    for platform in [Platform::Messenger, Platform::Instagram] {
        if conversation(cfg, store, &key(platform))?.is_some() {
            return Ok(key(platform));
        }
    }
    Err(CliError::runtime(format!(
        "no conversation with user {user} on account {account} in this store"
    )))
}

/// The inbox service for one request (one-shots queue no jobs).
fn ask(cfg: &Config, store: &Db, console: &Console, r: Request) -> Result<Reply, CliError> {
    let caller = Caller {
        session: 0,
        agent: console.agent.clone(),
    };
    let reply = super::inbox(cfg, store.clone(), None)
        .handle(&caller, r)
        .map_err(CliError::runtime)?;
    store.flush()?;
    Ok(reply)
}

/// One conversation's summary, from the inbox service.
fn conversation(
    cfg: &Config,
    store: &Db,
    conv: &ConvKey,
) -> Result<Option<Conversation>, CliError> {
    let me = Caller {
        session: 0,
        agent: None,
    };
    let r = Request::Conversation { conv: conv.clone() };
    match super::inbox(cfg, store.clone(), None).handle(&me, r) {
        Ok(Reply::Conversation(c)) => Ok(c.map(|c| *c)),
        Ok(other) => Err(CliError::runtime(format!("unexpected answer {other:?}"))),
        Err(e) => Err(CliError::runtime(e)),
    }
}

fn or_nobody(a: &Option<AgentName>) -> String {
    a.as_ref().map_or("nobody".into(), |a| a.to_string())
}

pub fn assign(cfg: &Config, store: &Db, a: &AssignArgs, console: &Console) -> CliResult {
    let to = match (&a.to, a.me) {
        (Some(name), _) => {
            let name = AgentName::new(name.trim());
            if !crate::team::is_known_agent(&name, &cfg.team.agents) {
                return Err(CliError::usage(format!(
                    "--to {name}: not an agent; name one from [team] agents or a Unix user"
                )));
            }
            AssignTo::Agent(name)
        }
        (None, true) => AssignTo::Me,
        (None, false) => AssignTo::Nobody,
    };
    let conv = conv_of(cfg, store, &a.conv)?;
    let Some(c) = conversation(cfg, store, &conv)? else {
        return Err(CliError::runtime(format!(
            "no conversation {conv} in this store"
        )));
    };
    // Compare-and-set against what we read: someone faster wins.
    let r = Request::Assign {
        conv: conv.clone(),
        to,
        expect: c.assignee,
    };
    match ask(cfg, store, console, r)? {
        Reply::Assigned(Assigned::Done { from, to, .. }) if from == to => {
            console.out(&format!("{conv}: already {}", or_nobody(&to)));
            Ok(())
        }
        Reply::Assigned(Assigned::Done { from, to, .. }) => {
            // Whom the store tells (a mailbox item): the one it was taken
            // from and the one it goes to, but never the agent acting.
            let others: Vec<String> = [&from, &to]
                .into_iter()
                .flatten()
                .filter(|a| Some(a.as_str()) != console.agent.as_deref())
                .map(|a| a.to_string())
                .collect();
            let told = match others.as_slice() {
                [] => String::new(),
                [one] => format!(" ({one} is told)"),
                many => format!(" ({} are told)", many.join(" and ")),
            };
            console.out(&format!(
                "{conv}: assigned to {} (was {}){told}",
                or_nobody(&to),
                or_nobody(&from)
            ));
            Ok(())
        }
        Reply::Assigned(Assigned::Taken { current, .. }) => Err(CliError::runtime(format!(
            "{conv}: taken by {} meanwhile; nothing changed",
            or_nobody(&current)
        ))),
        other => Err(CliError::runtime(format!("unexpected answer {other:?}"))),
    }
}

pub fn label(cfg: &Config, store: &Db, a: &LabelArgs, console: &Console) -> CliResult {
    for l in a.add.iter().chain(&a.remove) {
        crate::change::check_label(l).map_err(CliError::usage)?;
    }
    let conv = conv_of(cfg, store, &a.conv)?;
    ask(
        cfg,
        store,
        console,
        Request::Labels {
            conv: conv.clone(),
            add: a.add.clone(),
            remove: a.remove.clone(),
        },
    )?;
    let labels = conversation(cfg, store, &conv)?
        .map(|c| c.labels)
        .unwrap_or_default();
    console.out(&format!(
        "{conv}: labels {}",
        if labels.is_empty() {
            "(none)".to_string()
        } else {
            labels.join(", ")
        }
    ));
    Ok(())
}

pub fn note(cfg: &Config, store: &Db, a: &NoteArgs, console: &Console) -> CliResult {
    if a.text.trim().is_empty() {
        return Err(CliError::usage("--text: an empty note"));
    }
    let conv = conv_of(cfg, store, &a.conv)?;
    let r = Request::Note {
        conv: conv.clone(),
        text: a.text.clone(),
    };
    match ask(cfg, store, console, r)? {
        Reply::Note(n) => {
            let told = if n.mentions.is_empty() {
                String::new()
            } else {
                let names: Vec<&str> = n.mentions.iter().map(|m| m.as_str()).collect();
                format!(" ({} told)", names.join(", "))
            };
            console.out(&format!("{conv}: note {} by {}{told}", n.id, n.author));
            Ok(())
        }
        other => Err(CliError::runtime(format!("unexpected answer {other:?}"))),
    }
}
