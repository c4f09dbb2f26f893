//! A throwaway PostgreSQL database per test, created on the server named by
//! `DMDESK_TEST_PG_URL` (e.g. postgres://postgres@127.0.0.1:54329/postgres)
//! and dropped afterwards. Without it the PostgreSQL tests say they were
//! skipped and how to run them; under `CI=true` (which starts a server, see
//! .ci/run) a missing URL fails the test instead.

#![allow(dead_code)] // each test binary uses some of these

use dmdesk::store::postgres::PgUrl;
use std::sync::atomic::{AtomicU32, Ordering};

pub const URL_VAR: &str = "DMDESK_TEST_PG_URL";

/// The admin URL, or None after saying why the test is skipped.
pub fn admin_url(test: &str) -> Option<PgUrl> {
    match std::env::var(URL_VAR) {
        Ok(u) if !u.is_empty() => {
            Some(PgUrl::parse(&u).unwrap_or_else(|e| panic!("{URL_VAR}: {e}")))
        }
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("{test}: {URL_VAR} is not set (CI=true requires PostgreSQL; .ci/run starts one)")
        }
        _ => {
            // Straight to stderr, past the test harness's capture: a skip must show.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: no PostgreSQL; run with \
                 {URL_VAR}=postgres://postgres@127.0.0.1:54329/postgres \
                 (a server where that user may CREATE DATABASE)"
            );
            None
        }
    }
}

/// A fresh, empty database; dropped (connections and all) with this value.
pub struct TempDb {
    admin: PgUrl,
    name: String,
    pub url: PgUrl,
}

impl TempDb {
    pub fn create(test: &str) -> Option<TempDb> {
        static N: AtomicU32 = AtomicU32::new(0);
        let admin = admin_url(test)?;
        let name = format!(
            "dmdesk_test_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        admin_sql(&admin, &format!("CREATE DATABASE {name}"));
        let url = admin.with_database(&name);
        Some(TempDb { admin, name, url })
    }
}

impl TempDb {
    /// Refuse (false) or allow new connections to this database, superusers
    /// included; connections already open stay.
    pub fn allow_connections(&self, allow: bool) {
        admin_sql(
            &self.admin,
            &format!("ALTER DATABASE {} ALLOW_CONNECTIONS {allow}", self.name),
        );
    }

    /// End this database's connections named `application` and wait
    /// (bounded) until the server no longer lists them. Returns how many.
    pub fn terminate(&self, application: &str) -> i64 {
        self.terminate_where(&format!("application_name = '{application}'"))
    }

    /// End every connection to this database (as a restart would).
    pub fn terminate_all(&self) -> i64 {
        self.terminate_where("pid <> pg_backend_pid()")
    }

    fn terminate_where(&self, cond: &str) -> i64 {
        let which = format!(
            "FROM pg_stat_activity WHERE datname = '{}' AND {cond}",
            self.name
        );
        let ended = admin_value(
            &self.admin,
            &format!("SELECT count(pg_terminate_backend(pid)) {which}"),
        );
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let left = admin_value(&self.admin, &format!("SELECT count(*) {which}"));
            if left == 0 {
                return ended;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "awaited the end of connections where {cond} ({left} left)"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        admin_sql(
            &self.admin,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

/// One statement on the admin database, on a runtime of its own (tests
/// call this from plain and from async tests alike).
fn admin_sql(admin: &PgUrl, sql: &str) {
    admin_run(admin, sql, false);
}

/// A query answering one bigint, on the admin database.
fn admin_value(admin: &PgUrl, sql: &str) -> i64 {
    admin_run(admin, sql, true)
}

fn admin_run(admin: &PgUrl, sql: &str, value: bool) -> i64 {
    let (admin, sql) = (admin.clone(), sql.to_string());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let (client, conn) = tokio_postgres::connect(admin.expose(), tokio_postgres::NoTls)
                .await
                .unwrap_or_else(|e| panic!("connect to {admin}: {}", admin.scrub(&e.to_string())));
            tokio::spawn(conn);
            let done = if value {
                client
                    .query_one(&sql, &[])
                    .await
                    .map(|r| r.get::<_, i64>(0))
            } else {
                client.batch_execute(&sql).await.map(|()| 0)
            };
            done.unwrap_or_else(|e| panic!("{sql}: {}", admin.scrub(&e.to_string())))
        })
    })
    .join()
    .expect("admin statement")
}
