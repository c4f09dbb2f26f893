//! The `migrate` subcommand: where to copy from and to, and the report.

use crate::cli::{CliError, MigrateArgs, MigrateTarget};
use crate::config::Config;
use crate::store::postgres::{PgStore, PgUrl};
use crate::store::Backend;

/// Copy `[store] path` into the database named by `--url`, `--url-env` or
/// the config's `[store] url`/`url_env`; the count table on stdout.
pub fn run(cfg: &Config, args: &MigrateArgs) -> Result<(), CliError> {
    let MigrateTarget::Postgres = args.to;
    let url = target_url(cfg, args)?;
    let source = crate::store::open(&cfg.store.path, cfg.store.cache_mb, "migrate")?;
    eprintln!("copying {} into {url}", cfg.store.path.display());
    let target = PgStore::open(&url, &cfg.store.path, "migrate")?;
    let started = std::time::Instant::now();
    let counts = super::to_postgres(&*source, &target)
        .map_err(|e| CliError::runtime(url.scrub(&e.to_string())))?;
    println!(
        "{:<20} {:>10} {:>10} {:>10}",
        "table", "store", "added", "database"
    );
    for c in &counts {
        println!(
            "{:<20} {:>10} {:>10} {:>10}",
            c.table, c.source, c.added, c.target
        );
    }
    let rows: u64 = counts.iter().map(|c| c.added).sum();
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "done in {secs:.1} s: {rows} rows added ({:.0} rows/s); counts match",
        rows as f64 / secs.max(1e-9)
    );
    Ok(())
}

fn target_url(cfg: &Config, args: &MigrateArgs) -> Result<PgUrl, CliError> {
    let text = match (&args.url, &args.url_env) {
        (Some(u), _) => u.clone(),
        (None, Some(var)) => std::env::var(var)
            .map_err(|_| CliError::usage(format!("--url-env {var}: the variable is not set")))?,
        (None, None) => match &cfg.store.backend {
            Backend::Postgres(url) => return Ok(url.clone()),
            Backend::Sled => {
                return Err(CliError::usage(
                    "migrate --to postgres needs a database: --url-env NAME, --url URL, \
                     or [store] backend = \"postgres\" with url/url_env in the config",
                ))
            }
        },
    };
    PgUrl::parse(&text).map_err(CliError::usage)
}
