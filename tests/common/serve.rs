//! A real `dmdesk serve` child process: started with a command the test
//! prepared, its listening address read from its log, the rest of its log
//! kept for the test to read.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Serve {
    pub child: Child,
    pub addr: SocketAddr,
    /// Log lines after the one naming the address.
    pub log: Arc<Mutex<Vec<String>>>,
}

/// Spawn `cmd` (a `dmdesk ... serve`, or a shell that execs it) with info
/// logging, and wait (bounded) for the line naming its address.
pub fn spawn(mut cmd: Command) -> Serve {
    let mut child = cmd
        .env("DMDESK_LOG", "info")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn serve");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(30);
    let addr: SocketAddr = loop {
        assert!(Instant::now() < deadline, "awaited `serve` listening");
        let line = lines.next().expect("serve exited early").unwrap();
        if let Some(i) = line.find("addr=") {
            break line[i + 5..]
                .split_whitespace()
                .next()
                .unwrap()
                .parse()
                .unwrap();
        }
    };
    let log = Arc::new(Mutex::new(Vec::new()));
    let keep = log.clone();
    std::thread::spawn(move || {
        for l in lines.map_while(Result::ok) {
            keep.lock().unwrap().push(l);
        }
    });
    Serve { child, addr, log }
}
