//! Auto-assignment (`[team] auto_assign = "round-robin"`): a conversation
//! that opens with nobody assigned goes to the next agent attached now, in
//! name order, skipping agents at `max_open_per_agent`. It runs where the
//! owner sees conversations open (the update bus beside the control
//! socket), not in the store; the store's compare-and-set keeps it from
//! overriding an agent who was faster.

use crate::db::Db;
use crate::domain::{ConvKey, TimestampMs};
use crate::filter::{AssigneeFilter, ConvFilter, View};
use crate::inbox::presence::Presence;
use crate::store::Swap;
use crate::team::{AgentName, HistoryKind};
use crate::update::Update;
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

pub struct RoundRobin {
    cap: Option<u32>,
    /// Who got the last one (the next goes to the agent after them).
    last: Mutex<Option<AgentName>>,
}

impl RoundRobin {
    pub fn new(cap: Option<u32>) -> RoundRobin {
        RoundRobin {
            cap,
            last: Mutex::new(None),
        }
    }

    /// The next agent after the last one given among `attached`, skipping
    /// those with `open_of(agent)` at the cap; None when everyone is full.
    pub fn pick(
        &self,
        attached: &[AgentName],
        mut open_of: impl FnMut(&AgentName) -> u64,
    ) -> Option<AgentName> {
        let mut agents = attached.to_vec();
        agents.sort();
        agents.dedup();
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let start = last
            .as_ref()
            .map_or(0, |l| agents.iter().position(|a| a > l).unwrap_or(0));
        let n = agents.len();
        let chosen = (0..n)
            .map(|i| &agents[(start + i) % n])
            .find(|a| self.cap.is_none_or(|cap| open_of(a) < u64::from(cap)))?;
        *last = Some(chosen.clone());
        Some(chosen.clone())
    }
}

/// Assign `conv` (if still nobody's) to the next attached agent.
pub fn assign_opened(db: &Db, rr: &RoundRobin, attached: &[AgentName], conv: &ConvKey) {
    let now = TimestampMs::now();
    let open_of = |a: &AgentName| {
        let mine = ConvFilter {
            assignee: AssigneeFilter::Mine(a.clone()),
            view: View::Open { at: now },
            ..ConvFilter::default()
        };
        db.count_matching(&mine).unwrap_or(u64::MAX)
    };
    let Some(agent) = rr.pick(attached, open_of) else {
        return;
    };
    match db.assign(conv, None, Some(&agent), None, now) {
        Ok(Swap::Done) => tracing::info!(%conv, %agent, "auto-assigned"),
        Ok(Swap::Lost(_)) => {} // someone took it first
        Err(e) => tracing::warn!(%conv, error = %e, "auto-assignment failed"),
    }
}

/// Watch the bus for conversations that open and assign them, until cancelled.
pub async fn run(db: Db, presence: Arc<Presence>, rr: RoundRobin, cancel: CancellationToken) {
    let rr = Arc::new(rr);
    let mut sub = db.subscribe();
    loop {
        let p = tokio::select! {
            p = sub.recv() => p,
            _ = cancel.cancelled() => return,
        };
        let conv = match p {
            Ok(p) => match &*p.update {
                Update::History(e) if e.kind == HistoryKind::Opened => e.conv.clone(),
                _ => continue,
            },
            Err(crate::bus::RecvError::Closed) => return,
            Err(_) => continue, // missed some: those stay unassigned
        };
        let attached = presence.attached_agents();
        if attached.is_empty() {
            continue;
        }
        let (db2, rr2) = (db.clone(), rr.clone());
        // Store calls may wait on a disk or a database: not on the runtime's threads.
        let _ =
            tokio::task::spawn_blocking(move || assign_opened(&db2, &rr2, &attached, &conv)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<AgentName> {
        v.iter().map(|s| AgentName::from(*s)).collect()
    }

    #[test]
    fn turns_go_round_in_name_order_and_skip_full_agents() {
        let rr = RoundRobin::new(Some(2));
        let attached = names(&["carol", "alice", "bob"]);
        let open = |a: &AgentName| if a.as_str() == "bob" { 2 } else { 0 };
        let picks: Vec<_> = (0..4)
            .map(|_| rr.pick(&attached, open).unwrap().0)
            .collect();
        assert_eq!(picks, ["alice", "carol", "alice", "carol"]);
        // alice left: the turn moves on to who is there.
        assert_eq!(rr.pick(&names(&["bob", "dave"]), |_| 0).unwrap().0, "dave");
        // Everyone full: nobody.
        assert_eq!(rr.pick(&attached, |_| 2), None);
        assert_eq!(RoundRobin::new(None).pick(&[], |_| 0), None);
    }
}
