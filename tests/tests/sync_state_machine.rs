//! Property test of the batch/ack state machine through the real engine and the fake Twenty over
//! loopback: random interleavings of awards on two devices, syncs under faults (a lost reply, a
//! timeout, 5xx, a malformed body, refused connections, another writer), batches frozen and
//! then abandoned by a crash, and restarts. After every step Twenty never holds more than was
//! awarded (no double count) and holds one record; after healing, Twenty, device A and device B
//! all show exactly the sum of every award plus the other writer's additions (nothing lost).
//! `SYNC_SM_CASES` sets the number of cases (default 40); a failure prints the shrunk steps.

mod common;

use std::time::Duration;

use common::*;
use proptest::prelude::*;
use repxp_engine::sync::{sync_once, Mode};
use repxp_engine::Store;
use repxp_tests::{FakeTwenty, Fault, FaultKind};

#[derive(Debug, Clone)]
enum SyncFault {
    None,
    ApplyThenDrop,
    Hang,
    ServerError,
    Malformed,
    Refuse,
    OtherWriter(i64),
}

#[derive(Debug, Clone)]
enum Step {
    /// Device A records XP.
    Award(i64),
    /// Device A syncs while the fault hits its first request.
    Sync(SyncFault),
    /// Device A freezes a batch, then its process dies before sending it.
    FreezeThenCrash,
    /// Device A's process restarts (the store is reopened from the file).
    Restart,
    /// Device B (same rep, own database) records XP and syncs cleanly.
    OtherDevice(i64),
}

fn fault() -> impl Strategy<Value = SyncFault> {
    prop_oneof![
        4 => Just(SyncFault::None),
        3 => Just(SyncFault::ApplyThenDrop),
        1 => Just(SyncFault::Hang),
        2 => Just(SyncFault::ServerError),
        2 => Just(SyncFault::Malformed),
        1 => Just(SyncFault::Refuse),
        2 => (1i64..=300).prop_map(SyncFault::OtherWriter),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        5 => (1i64..=500).prop_map(Step::Award),
        5 => fault().prop_map(Step::Sync),
        1 => Just(Step::FreezeThenCrash),
        1 => Just(Step::Restart),
        2 => (1i64..=500).prop_map(Step::OtherDevice),
    ]
}

fn fault_kind(f: &SyncFault) -> Option<FaultKind> {
    Some(match f {
        SyncFault::None => return None,
        SyncFault::ApplyThenDrop => FaultKind::ApplyThenDrop,
        SyncFault::Hang => FaultKind::Hang,
        SyncFault::ServerError => FaultKind::ServerError { status: 503 },
        SyncFault::Malformed => FaultKind::MalformedJson,
        SyncFault::Refuse => FaultKind::RefuseConnections,
        SyncFault::OtherWriter(xp) => FaultKind::ConcurrentWriter {
            xp: *xp,
            bump_revision: true,
            add_boss: None,
            rep_email: Some(EMAIL.into()),
        },
    })
}

fn remote_total(f: &FakeTwenty) -> Option<i64> {
    let recs: Vec<_> = f
        .records()
        .into_iter()
        .filter(|r| r["repEmail"] == EMAIL)
        .collect();
    assert!(
        recs.len() <= 1,
        "more than one record for the rep: {recs:?}"
    );
    recs.first()
        .map(|r| r["totalXp"].as_i64().expect("totalXp"))
}

async fn run_case(steps: Vec<Step>) -> Result<(), TestCaseError> {
    let f = fake().await;
    // Short timeouts keep a hung request cheap; the outcome is "unknown" all the same.
    let c = client_with(&f, Duration::from_millis(300));
    let (dir_a, dir_b) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let mut a = Store::open_dir(dir_a.path())?;
    let mut b = Store::open_dir(dir_b.path())?;
    let (mut awarded, mut other_writer) = (0i64, 0i64);
    for (i, step) in steps.iter().enumerate() {
        match step {
            Step::Award(xp) => {
                award(&mut a, *xp);
                awarded += xp;
            }
            Step::Sync(sf) => {
                let record_existed = remote_total(&f).is_some();
                if let Some(kind) = fault_kind(sf) {
                    f.set_fault(Fault {
                        kind,
                        times: Some(1),
                        method: None,
                    });
                }
                let _ = sync_once(&mut a, &c, EMAIL, Mode::Both).await;
                let fired = f.faults().is_empty();
                f.clear_faults();
                if let (SyncFault::OtherWriter(xp), true, true) = (sf, fired, record_existed) {
                    other_writer += xp;
                }
            }
            Step::FreezeThenCrash => {
                let _ = a.freeze_batch()?;
                drop(a);
                a = Store::open_dir(dir_a.path())?;
            }
            Step::Restart => {
                drop(a);
                a = Store::open_dir(dir_a.path())?;
            }
            Step::OtherDevice(xp) => {
                award(&mut b, *xp);
                awarded += xp;
                sync_once(&mut b, &c, EMAIL, Mode::Both)
                    .await
                    .map_err(|e| TestCaseError::fail(format!("step {i}: device B: {e}")))?;
            }
        }
        let remote = remote_total(&f).unwrap_or(0);
        prop_assert!(
            remote <= awarded + other_writer,
            "step {i} {step:?}: Twenty holds {remote} > {awarded} awarded + {other_writer} by the other writer: double count"
        );
        let local = a.progression()?.xp;
        prop_assert!(
            local <= awarded + other_writer,
            "step {i} {step:?}: device A shows {local} > {} possible",
            awarded + other_writer
        );
    }
    // Heal: no faults; a few syncs drain every batch (at most 4 per sync).
    for _ in 0..4 {
        sync_once(&mut a, &c, EMAIL, Mode::Both)
            .await
            .map_err(|e| TestCaseError::fail(format!("healing sync of A: {e}")))?;
    }
    sync_once(&mut b, &c, EMAIL, Mode::Both)
        .await
        .map_err(|e| TestCaseError::fail(format!("healing sync of B: {e}")))?;
    let want = awarded + other_writer;
    prop_assert_eq!(
        remote_total(&f).unwrap_or(0),
        want,
        "Twenty: lost or doubled XP"
    );
    let (va, vb) = (a.progression()?, b.progression()?);
    prop_assert_eq!(va.pending, 0);
    prop_assert_eq!(va.xp, want, "device A");
    prop_assert_eq!(vb.xp, want, "device B");
    Ok(())
}

fn cases() -> u32 {
    std::env::var("SYNC_SM_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn any_interleaving_of_awards_faults_and_crashes_converges_exactly(
        steps in proptest::collection::vec(step(), 1..24)
    ) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        rt.block_on(run_case(steps))?;
    }
}
