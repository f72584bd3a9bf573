//! `make bench` (sync part): HTTP requests and time to flush N = 1, 100, 10,000 queued events to
//! the fake Twenty over loopback, RepXP's batched exactly-once push side by side with a naive
//! client that sends one conditional write per event, in the same run against the same server.

use std::time::{Duration, Instant};

use fake_twenty::{FakeConfig, FakeTwenty};
use repxp_engine::secrets::ApiKey;
use repxp_engine::snapshot::Snapshot;
use repxp_engine::sync::{sync_once, Mode};
use repxp_engine::twenty::progression_json::update_fields;
use repxp_engine::twenty::{Timeouts, TwentyClient};
use repxp_engine::{Progress, Store};

const EMAIL: &str = "bench@acme.test";

fn client(f: &FakeTwenty) -> Result<TwentyClient, Box<dyn std::error::Error>> {
    let key = ApiKey::new(&f.api_key()).ok_or("key")?;
    Ok(TwentyClient::new(&f.url(), key, Timeouts::default())?)
}

/// A fake Twenty with no rate limit, a client for it and a data directory.
async fn unlimited(
) -> Result<(FakeTwenty, TwentyClient, tempfile::TempDir), Box<dyn std::error::Error>> {
    let f = FakeTwenty::start(FakeConfig {
        rate_limit: u32::MAX,
        ..FakeConfig::default()
    })
    .await?;
    let c = client(&f)?;
    Ok((f, c, tempfile::tempdir()?))
}

/// One award synced, so the rep's record exists, as in steady use.
async fn synced_once(s: &mut Store, c: &TwentyClient) -> Result<(), Box<dyn std::error::Error>> {
    s.record(&Progress::xp(1, None)?, None, None)?;
    sync_once(s, c, EMAIL, Mode::Both).await?;
    Ok(())
}

/// RepXP: the whole queue in one compare-and-set write (the record exists already).
async fn repxp(n: usize) -> Result<(u64, Duration), Box<dyn std::error::Error>> {
    let (f, c, dir) = unlimited().await?;
    let mut s = Store::open_dir(dir.path())?;
    // The record exists already (the rep synced before), as in steady use.
    synced_once(&mut s, &c).await?;
    for _ in 0..n {
        s.record(&Progress::xp(3, None)?, None, None)?;
    }
    let before = c.requests_sent();
    let t = Instant::now();
    sync_once(&mut s, &c, EMAIL, Mode::PushOnly).await?;
    let took = t.elapsed();
    let total = f
        .records()
        .first()
        .and_then(|r| r["totalXp"].as_i64())
        .ok_or("no record")?;
    assert_eq!(total, 1 + 3 * n as i64, "every event counted once");
    Ok((c.requests_sent() - before, took))
}

/// Naive: one conditional write per event (the cheapest per-event push that is still safe).
async fn naive(n: usize) -> Result<(u64, Duration), Box<dyn std::error::Error>> {
    let (_f, c, _dir) = unlimited().await?;
    let mut rec = c.create(EMAIL, &Snapshot::default()).await?;
    let before = c.requests_sent();
    let t = Instant::now();
    for _ in 0..n {
        let mut next = rec.clone();
        next.total_xp += 3;
        next.sync_revision += 1;
        next.null_fields = Default::default();
        let id = rec.remote_id.clone().ok_or("id")?;
        rec = c
            .update_if(&id, &rec, &update_fields(&rec, &next))
            .await?
            .ok_or("lost a CAS with no other writer")?;
    }
    let took = t.elapsed();
    assert_eq!(rec.total_xp, 3 * n as i64);
    Ok((c.requests_sent() - before, took))
}

/// Requests one sync costs in each situation a rep meets, counted at the fake Twenty.
async fn situations() -> Result<(), Box<dyn std::error::Error>> {
    println!("| situation | requests of that sync | which |");
    println!("|---|---|---|");
    type Setup = fn(&FakeTwenty, &str);
    let cases: [(&str, bool, Setup); 7] = [
        (
            "first sync ever (look up, look in the trash, create)",
            false,
            |_, _| {},
        ),
        ("push, nobody else wrote", true, |_, _| {}),
        ("idle sync (nothing queued: one read)", true, |_, _| {}),
        (
            "push after the academy changed only a list",
            true,
            |f, id| {
                f.patch_record(id, serde_json::json!({"defeatedBosses": "[\"academy\"]"}));
            },
        ),
        ("push after an admin added XP", true, |f, id| {
            f.patch_record(id, serde_json::json!({"totalXp": 500}));
        }),
        (
            "push onto a record in the trash (refused, nothing written)",
            true,
            |f, id| {
                f.soft_delete(id);
            },
        ),
        (
            "push after the record was deleted for good (new record)",
            true,
            |f, id| {
                f.destroy(id);
            },
        ),
    ];
    for (i, (name, synced_before, setup)) in cases.into_iter().enumerate() {
        let (f, c, dir) = unlimited().await?;
        let mut s = Store::open_dir(dir.path())?;
        if synced_before {
            synced_once(&mut s, &c).await?;
            let id = f
                .records()
                .first()
                .and_then(|r| r["id"].as_str().map(str::to_string))
                .ok_or("no record")?;
            setup(&f, &id);
        }
        if i != 2 {
            s.record(&Progress::xp(3, None)?, None, None)?;
        }
        let before = f.stats();
        let _ = sync_once(&mut s, &c, EMAIL, Mode::Both).await;
        let after = f.stats();
        let kinds: Vec<String> = after
            .by_kind
            .iter()
            .filter_map(|(k, n)| {
                let d = n - before.kind(k);
                (d > 0).then(|| format!("{k} {d}"))
            })
            .collect();
        println!(
            "| {name} | {} | {} |",
            after.total - before.total,
            kinds.join(", ")
        );
    }
    println!();
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    situations().await?;
    println!("| queued events | RepXP requests | RepXP time ms | naive requests | naive time ms | requests saved |");
    println!("|---|---|---|---|---|---|");
    // `cargo test --all-targets` runs this binary without `--bench`: a quick smoke run then.
    let sizes: &[usize] = if std::env::args().any(|a| a == "--bench") {
        &[1, 100, 10_000]
    } else {
        &[1, 10]
    };
    for &n in sizes {
        let (rr, rt) = repxp(n).await?;
        let (nr, nt) = naive(n).await?;
        println!(
            "| {n} | {rr} | {:.1} | {nr} | {:.1} | {:.0}x |",
            rt.as_secs_f64() * 1e3,
            nt.as_secs_f64() * 1e3,
            nr as f64 / rr.max(1) as f64
        );
    }
    println!();
    println!("At Twenty's 100 requests/minute per workspace, the naive client needs 100 minutes of the whole team's budget for 10,000 events; RepXP needs one request.");
    Ok(())
}
