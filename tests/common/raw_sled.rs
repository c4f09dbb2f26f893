//! sled itself on a store a `Db` dropped a moment ago.

/// Open with sled directly. sled's own I/O threads may still hold the
/// dropped handle (and its file lock) for a moment after the drop, so a
/// lock refusal is retried until they let go, for at most 10 s.
pub fn open_raw(path: &std::path::Path) -> sled::Db {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match sled::open(path) {
            Ok(db) => return db,
            Err(sled::Error::Io(e))
                if e.to_string().contains("could not acquire lock")
                    && std::time::Instant::now() < until =>
            {
                std::thread::sleep(std::time::Duration::from_millis(5))
            }
            Err(e) => panic!("waited 10 s for the closed store's sled lock: {e}"),
        }
    }
}
