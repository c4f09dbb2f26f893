//! A small bounded HTTP/1.1 load generator for the shell benchmarks
//! (wrk is not on these machines): N keep-alive connections post
//! pre-signed bodies (or GET a path) to one or more loopback servers until
//! the count or the time runs out, then print one line of figures.
//!
//!   cargo bench --bench http_load -- --target 127.0.0.1:8080 [--target ...]
//!       [--bodies FILE] [--path /webhook] [--conns 64] [--count 20000]
//!       [--secs 5] [--threads 1]
//!
//! FILE has one request a line: `sha256=<hex>` TAB `<body>` (benches/pg_ingest.sh
//! writes it); without it the requests are GETs of --path. Connections are
//! spread round-robin over the targets. Output (one line, key=value):
//! `ok`, `non2xx`, `errors`, `secs`, `rps` (2xx per second), `p50_ms`,
//! `p99_ms`, `max_ms` (latency of 2xx answers, from the request's first byte
//! written to its answer's last byte read).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

struct Opts {
    targets: Vec<SocketAddr>,
    bodies: Option<String>,
    path: String,
    conns: usize,
    count: usize,
    secs: f64,
    threads: usize,
}

fn opts() -> Opts {
    let mut o = Opts {
        targets: Vec::new(),
        bodies: None,
        path: "/webhook".into(),
        conns: 64,
        count: 20_000,
        secs: 5.0,
        threads: 1,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().unwrap_or_else(|| panic!("{a} needs a value"));
        match a.as_str() {
            "--target" => o.targets.push(val().parse().expect("--target ip:port")),
            "--bodies" => o.bodies = Some(val()),
            "--path" => o.path = val(),
            "--conns" => o.conns = val().parse().expect("--conns"),
            "--count" => o.count = val().parse().expect("--count"),
            "--secs" => o.secs = val().parse().expect("--secs"),
            "--threads" => o.threads = val().parse().expect("--threads"),
            "--bench" => {} // added by `cargo bench`
            other => panic!("unknown argument {other}"),
        }
    }
    assert!(!o.targets.is_empty(), "give at least one --target");
    for t in &o.targets {
        // Loopback only: this tool never loads anything off the machine.
        assert!(t.ip().is_loopback(), "{t} is not a loopback address");
    }
    o
}

/// Ready-to-write requests, one per body line (or one GET).
fn requests(o: &Opts) -> Vec<Vec<u8>> {
    let Some(file) = &o.bodies else {
        return vec![format!("GET {} HTTP/1.1\r\nHost: bench\r\n\r\n", o.path).into_bytes()];
    };
    let text = std::fs::read_to_string(file).expect("read --bodies");
    text.lines()
        .take(o.count)
        .map(|line| {
            let (sig, body) = line.split_once('\t').expect("sig TAB body");
            let mut r = format!(
                "POST {} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n\
                 X-Hub-Signature-256: {sig}\r\nContent-Length: {}\r\n\r\n",
                o.path,
                body.len()
            )
            .into_bytes();
            r.extend_from_slice(body.as_bytes());
            r
        })
        .collect()
}

#[derive(Default)]
struct Tally {
    ok_us: Vec<u32>,
    non2xx: usize,
    errors: usize,
}

/// One answer: its status. Reads headers, then Content-Length bytes.
async fn answer(r: &mut BufReader<TcpStream>) -> std::io::Result<u16> {
    let mut line = String::new();
    if r.read_line(&mut line).await? == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or(std::io::ErrorKind::InvalidData)?;
    let mut len = 0usize;
    loop {
        line.clear();
        if r.read_line(&mut line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v
                    .trim()
                    .parse()
                    .map_err(|_| std::io::ErrorKind::InvalidData)?;
            }
        }
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).await?;
    Ok(status)
}

async fn connection(
    target: SocketAddr,
    reqs: Arc<Vec<Vec<u8>>>,
    next: Arc<AtomicUsize>,
    count: usize,
    deadline: Instant,
) -> Tally {
    let mut t = Tally::default();
    let mut conn: Option<BufReader<TcpStream>> = None;
    loop {
        if Instant::now() >= deadline {
            return t;
        }
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= count {
            return t;
        }
        if conn.is_none() {
            match TcpStream::connect(target).await {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    conn = Some(BufReader::new(s));
                }
                Err(_) => {
                    t.errors += 1;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            }
        }
        let c = conn.as_mut().expect("connected above");
        let req = &reqs[i % reqs.len()];
        let start = Instant::now();
        let res = async {
            c.get_mut().write_all(req).await?;
            answer(c).await
        };
        match tokio::time::timeout(Duration::from_secs(30), res).await {
            Ok(Ok(s)) if (200..300).contains(&s) => t
                .ok_us
                .push(start.elapsed().as_micros().min(u32::MAX as u128) as u32),
            Ok(Ok(_)) => t.non2xx += 1,
            _ => {
                t.errors += 1;
                conn = None;
            }
        }
    }
}

fn main() {
    let o = opts();
    let reqs = Arc::new(requests(&o));
    let count = if o.bodies.is_some() {
        o.count.min(reqs.len())
    } else {
        o.count
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(o.threads)
        .enable_all()
        .build()
        .expect("runtime");
    let (tally, secs) = rt.block_on(async {
        let next = Arc::new(AtomicUsize::new(0));
        let start = Instant::now();
        let deadline = start + Duration::from_secs_f64(o.secs);
        let tasks: Vec<_> = (0..o.conns)
            .map(|k| {
                tokio::spawn(connection(
                    o.targets[k % o.targets.len()],
                    reqs.clone(),
                    next.clone(),
                    count,
                    deadline,
                ))
            })
            .collect();
        let mut all = Tally::default();
        for task in tasks {
            let t = task.await.expect("connection task");
            all.ok_us.extend(t.ok_us);
            all.non2xx += t.non2xx;
            all.errors += t.errors;
        }
        (all, start.elapsed().as_secs_f64())
    });
    let mut lat = tally.ok_us;
    lat.sort_unstable();
    let pct = |p: f64| -> f64 {
        if lat.is_empty() {
            return f64::NAN;
        }
        let i = ((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1;
        lat[i] as f64 / 1000.0
    };
    println!(
        "ok={} non2xx={} errors={} secs={:.3} rps={:.1} p50_ms={:.2} p99_ms={:.2} max_ms={:.2}",
        lat.len(),
        tally.non2xx,
        tally.errors,
        secs,
        lat.len() as f64 / secs,
        pct(0.50),
        pct(0.99),
        lat.last().map_or(f64::NAN, |&m| m as f64 / 1000.0),
    );
}
