//! The app's start options from the config: the terminal side reads the
//! config, so the pure app never names it.

use crate::app::keymap::Keymap;
use crate::app::media::MediaOpts;
use crate::app::state::Options;
use crate::clock::Zone;
use crate::config::Config;

pub fn from_config(cfg: &Config, keymap: Keymap) -> Options {
    let configured = (cfg.pages.iter())
        .flat_map(|p| std::iter::once(p.id.clone()).chain(p.instagram_id.clone()))
        .collect();
    Options {
        zone: Zone::Local,
        listen: None,
        demo: cfg.demo,
        no_color: false,
        bell: cfg.ui.bell,
        title: cfg.ui.title,
        keymap,
        canned: cfg.canned.clone(),
        human_agent: crate::inbox::human_agent_accounts(cfg),
        configured,
        me: None,
        session: 0,
        pages: cfg.page_infos(),
        // `[ui] ascii = "auto"` is settled from the locale by the terminal side.
        ascii: cfg.ui.ascii.unwrap_or(false),
        dead_tokens: Vec::new(),
        synced: None,
        // The picture mode and the opener are settled by the terminal side.
        media: MediaOpts {
            notify: cfg.notify.clone(),
            ..Default::default()
        },
        agents: cfg.team.agents.clone(),
        labels: cfg.labels.clone(),
    }
}
