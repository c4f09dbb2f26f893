//! A PostgreSQL connection URL. It may carry a password, so it prints with
//! the password replaced (`Debug`, `Display`) and errors about it name only
//! the redacted form.

use std::fmt;

#[derive(Clone, PartialEq, Eq)]
pub struct PgUrl(String);

impl PgUrl {
    /// Accept `postgres://` or `postgresql://` URLs that tokio-postgres can use.
    pub fn parse(s: &str) -> Result<PgUrl, String> {
        let url = PgUrl(s.to_string());
        let parsed = url::Url::parse(s).map_err(|_| format!("`{url}` is not a URL"))?;
        if !matches!(parsed.scheme(), "postgres" | "postgresql") {
            return Err(format!("`{url}` is not a postgres:// URL"));
        }
        s.parse::<tokio_postgres::Config>().map_err(|e| {
            format!(
                "`{url}` is not a PostgreSQL URL: {}",
                url.scrub(&e.to_string())
            )
        })?;
        Ok(url)
    }

    /// The URL itself, for the connection only (never for printing).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The same URL naming another database (tests create throwaway ones).
    pub fn with_database(&self, db: &str) -> PgUrl {
        let mut u = url::Url::parse(&self.0).expect("checked in parse");
        u.set_path(&format!("/{db}"));
        PgUrl(u.to_string())
    }

    fn password(&self) -> Option<String> {
        url::Url::parse(&self.0)
            .ok()
            .and_then(|u| u.password().map(str::to_string))
            .filter(|p| !p.is_empty())
    }

    /// `text` with this URL's password (raw or percent-decoded) blanked out.
    pub fn scrub(&self, text: &str) -> String {
        let Some(p) = self.password() else {
            return text.to_string();
        };
        let decoded = percent_decode(&p);
        text.replace(&p, "***").replace(&decoded, "***")
    }
}

/// `%2F` → `/` (the URL keeps the password encoded; a server may echo it decoded).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (b[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl fmt::Display for PgUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match url::Url::parse(&self.0) {
            Ok(mut u) => {
                if u.password().is_some() {
                    let _ = u.set_password(Some("***"));
                }
                f.write_str(u.as_str())
            }
            // Unparseable: print nothing of it (it might hold a password).
            Err(_) => f.write_str("<invalid URL>"),
        }
    }
}

impl fmt::Debug for PgUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PgUrl({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_never_prints() {
        let u = PgUrl::parse("postgres://ann:s3cr%2Fet@db.example:5432/dmdesk").unwrap();
        assert_eq!(u.to_string(), "postgres://ann:***@db.example:5432/dmdesk");
        assert!(!format!("{u:?}").contains("s3cr"));
        assert_eq!(u.scrub("auth failed for s3cr/et"), "auth failed for ***");
        assert_eq!(
            u.expose(),
            "postgres://ann:s3cr%2Fet@db.example:5432/dmdesk"
        );
    }

    #[test]
    fn other_schemes_and_garbage_are_refused_without_echoing_a_password() {
        let e = PgUrl::parse("mysql://ann:hunter2@h/db").unwrap_err();
        assert!(
            e.contains("not a postgres:// URL") && !e.contains("hunter2"),
            "{e}"
        );
        let e = PgUrl::parse("not a url").unwrap_err();
        assert!(e.contains("is not a URL"), "{e}");
    }

    #[test]
    fn with_database_swaps_only_the_path() {
        let u = PgUrl::parse("postgres://postgres@127.0.0.1:54329/postgres").unwrap();
        assert_eq!(
            u.with_database("t_1").expose(),
            "postgres://postgres@127.0.0.1:54329/t_1"
        );
    }
}
