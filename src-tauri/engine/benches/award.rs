//! `make bench` (award part): latency of recording one award through the store, side by side in
//! the same run with a bare one-row SQLite INSERT on the same disk with the same settings (WAL,
//! the store's `synchronous`, busy_timeout), and, for reference, the bare INSERT with
//! synchronous=FULL (one fsync per commit: what this disk costs). Interleaved in rounds so drift in
//! the machine's load hits all alike.

use std::time::{Duration, Instant};

use repxp_engine::store::SYNCHRONOUS;
use repxp_engine::{Progress, Store};
use rusqlite::Connection;

const ROUNDS: usize = 10;
const PER_ROUND: usize = 500;
/// `cargo test --all-targets` runs this binary without `--bench`: a quick smoke run then.
fn per_round() -> usize {
    if std::env::args().any(|a| a == "--bench") {
        PER_ROUND
    } else {
        5
    }
}

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

    let open_bare = |name: &str, sync: &str| -> rusqlite::Result<Connection> {
        let c = Connection::open(dir.path().join(name))?;
        c.busy_timeout(Duration::from_secs(10))?;
        c.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))?;
        c.pragma_update(None, "synchronous", sync)?;
        c.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, xp INTEGER NOT NULL)")?;
        Ok(c)
    };
    let bare = open_bare("bare.db", SYNCHRONOUS.1)?;
    let full = open_bare("bare-full.db", "FULL")?;
    let mut insert = bare.prepare("INSERT INTO t (xp) VALUES (?1)")?;
    let mut insert_full = full.prepare("INSERT INTO t (xp) VALUES (?1)")?;
    // The same row into a copy of the events table (same indexes), values precomputed: what
    // SQLite alone costs for our row, so the ratio is our code's overhead.
    let same = open_bare("bare-events.db", SYNCHRONOUS.1)?;
    same.execute_batch(include_str!("../src/migrations/0001_initial.sql"))?;
    let mut insert_same = same.prepare(
        "INSERT INTO events (id, kind, xp, subject, value, occurred_at, recorded_at)
         VALUES (?1, 'xp', 25, 'bench', NULL, '2026-11-25T12:00:00.000Z', '2026-11-25T12:00:00.000Z')
         ON CONFLICT (id) DO NOTHING",
    )?;
    let ids: Vec<String> = (0..(ROUNDS * per_round() + 50))
        .map(|_| uuid::Uuid::now_v7().to_string())
        .collect();
    let mut next_id = ids.iter();

    // Warm every path (page cache, prepared statements).
    for _ in 0..50 {
        store.record(&award, None, None)?;
        insert.execute([25])?;
        insert_full.execute([25])?;
        insert_same.execute([next_id.next().ok_or("ids")?])?;
    }

    let mut samples = [Vec::new(), Vec::new(), Vec::new(), Vec::new()];
    let mut walls = [Duration::ZERO; 4];
    for _ in 0..ROUNDS {
        for (path, (s, wall)) in samples.iter_mut().zip(walls.iter_mut()).enumerate() {
            let start = Instant::now();
            for _ in 0..per_round() {
                let t = Instant::now();
                match path {
                    0 => store.record(&award, None, None).map(|_| ())?,
                    1 => insert_same
                        .execute([next_id.next().ok_or("ids")?])
                        .map(|_| ())?,
                    2 => insert.execute([25]).map(|_| ())?,
                    _ => insert_full.execute([25]).map(|_| ())?,
                }
                s.push(t.elapsed());
            }
            *wall += start.elapsed();
        }
    }
    let [a, b, c, d] = samples;
    println!("| path | n | p50 ms | p99 ms | max ms | per second |");
    println!("|---|---|---|---|---|---|");
    let sync = SYNCHRONOUS.1;
    let (a50, a99) = summarise(
        &format!("Store::record (award), synchronous={sync}"),
        a,
        walls[0],
    );
    let (b50, b99) = summarise(
        "bare INSERT of the same row, same table and settings",
        b,
        walls[1],
    );
    let (c50, c99) = summarise(
        "bare INSERT of a one-column row, same settings",
        c,
        walls[2],
    );
    summarise(
        "bare INSERT of a one-column row, synchronous=FULL (fsync per commit)",
        d,
        walls[3],
    );
    println!();
    println!(
        "ratio award/one-column bare: p50 {:.2}x, p99 {:.2}x",
        a50.as_secs_f64() / c50.as_secs_f64(),
        a99.as_secs_f64() / c99.as_secs_f64()
    );
    println!();
    println!(
        "ratio award/same-row bare: p50 {:.2}x, p99 {:.2}x",
        a50.as_secs_f64() / b50.as_secs_f64(),
        a99.as_secs_f64() / b99.as_secs_f64()
    );
    let total = store.progression()?.xp;
    assert_eq!(
        total,
        25 * (50 + ROUNDS * per_round()) as i64,
        "every award counted"
    );
    Ok(())
}
