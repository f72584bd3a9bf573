//! `make bench` (award part): latency of recording one award through the store, side by side in
//! the same run with a bare one-row SQLite INSERT on the same disk with the same settings (WAL,
//! synchronous=FULL, busy_timeout). The two are interleaved in rounds so drift in the machine's
//! load hits both alike.

use std::time::{Duration, Instant};

use repxp_engine::{Progress, Store};
use rusqlite::Connection;

const ROUNDS: usize = 10;
const PER_ROUND: usize = 500;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn summarise(name: &str, mut samples: Vec<Duration>, wall: Duration) -> (Duration, Duration) {
    samples.sort();
    let p50 = percentile(&samples, 0.50);
    let p99 = percentile(&samples, 0.99);
    let per_sec = samples.len() as f64 / wall.as_secs_f64();
    println!(
        "| {name} | {} | {:.3} | {:.3} | {:.3} | {:.0} |",
        samples.len(),
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        percentile(&samples, 1.0).as_secs_f64() * 1e3,
        per_sec
    );
    (p50, p99)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base = std::env::var_os("BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target")
        });
    std::fs::create_dir_all(&base)?;
    let dir = tempfile::tempdir_in(&base)?;

    let mut store = Store::open_dir(&dir.path().join("store"))?;
    let award = Progress::xp(25, Some("bench"))?;

    let bare = Connection::open(dir.path().join("bare.db"))?;
    bare.busy_timeout(Duration::from_secs(10))?;
    bare.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))?;
    bare.pragma_update(None, "synchronous", "FULL")?;
    bare.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, xp INTEGER NOT NULL)")?;
    let mut insert = bare.prepare("INSERT INTO t (xp) VALUES (?1)")?;

    // Warm both paths (page cache, prepared statements).
    for _ in 0..50 {
        store.record(&award, None, None)?;
        insert.execute([25])?;
    }

    let (mut a, mut b) = (Vec::new(), Vec::new());
    let (mut a_wall, mut b_wall) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..ROUNDS {
        let start = Instant::now();
        for _ in 0..PER_ROUND {
            let t = Instant::now();
            store.record(&award, None, None)?;
            a.push(t.elapsed());
        }
        a_wall += start.elapsed();
        let start = Instant::now();
        for _ in 0..PER_ROUND {
            let t = Instant::now();
            insert.execute([25])?;
            b.push(t.elapsed());
        }
        b_wall += start.elapsed();
    }
    println!("| path | n | p50 ms | p99 ms | max ms | per second |");
    println!("|---|---|---|---|---|---|");
    let (a50, a99) = summarise("Store::record (award)", a, a_wall);
    let (b50, b99) = summarise("bare INSERT, same settings", b, b_wall);
    println!();
    println!(
        "ratio award/bare: p50 {:.2}x, p99 {:.2}x",
        a50.as_secs_f64() / b50.as_secs_f64(),
        a99.as_secs_f64() / b99.as_secs_f64()
    );
    let total = store.progression()?.xp;
    assert_eq!(
        total,
        25 * (50 + ROUNDS * PER_ROUND) as i64,
        "every award counted"
    );
    Ok(())
}
