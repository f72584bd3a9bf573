//! Twenty stays the single source of truth when RepXP is not its only writer (issue 10): the
//! academy and admins change the rep's record, laptops are restored from backups and copied, an
//! email changes case or owner, a field holds what RepXP cannot read, a record goes to the trash,
//! Twenty refuses an event. Each case runs real `repxp-cli` processes on a real SQLite file, with
//! its own per-user state directory (a "laptop"), against the fake Twenty over loopback
//! (`cargo test`) or the real Twenty of `make test-twenty` (tests/support/server.rs): the other
//! writers then write through Twenty's own API.

mod support;

use std::path::PathBuf;
use std::process::Command;

use fake_twenty::{Fault, FaultKind};
use serde_json::json;
use support::laptops::*;
use support::server::*;

const ANA: &str = "ana@acme.test";

#[test]
fn the_academys_list_change_is_merged_not_overwritten() {
    let t = server();
    let ana = t.rep(ANA);
    let l = Laptop::new(&t, &ana);
    l.award(10);
    l.ok(&["sync"]);
    let id = t.record_id(&ana);
    // The academy: an exam passed for no points, a boss marked by an admin. Lists only.
    t.patch_record(
            &id,
            json!({"passedExams": "{\"cold-calls-101\":{\"score\":88}}", "defeatedBosses": "[\"academy-final\"]"}),
        );
    l.award(5);
    l.ok(&["boss", "gatekeeper"]);
    let before = t.requests();
    l.ok(&["sync"]);
    let spent = t.requests() - before;
    let rec = t.only(&ana);
    assert_eq!(rec["totalXp"], 15);
    assert_eq!(
        list(&rec, "defeatedBosses"),
        json!(["academy-final", "gatekeeper"])
    );
    assert_eq!(list(&rec, "passedExams")["cold-calls-101"]["score"], 88);
    assert_eq!(
        spent, 3,
        "a lost compare-and-set costs a re-read and a second write"
    );
    let s = l.status();
    assert_eq!(s["xp"], 15);
    assert_eq!(
        s["passed_exams"]["cold-calls-101"]["score"].as_f64(),
        Some(88.0)
    );
}

#[test]
fn a_writer_that_changes_only_a_metric_or_the_level_is_respected() {
    let t = server();
    let ana = t.rep(ANA);
    let l = Laptop::new(&t, &ana);
    l.award(1_240); // level 7 on RepXP's curve
    l.ok(&["metric", "talk_ratio", "0.5"]);
    l.ok(&["sync"]);
    let id = t.record_id(&ana);
    // An admin corrects a metric; the academy's own curve says level 9.
    t.patch_record(
        &id,
        json!({"efficiencyMetrics": "{\"talk_ratio\":0.3}", "level": 9}),
    );
    l.award(10);
    l.ok(&["sync"]);
    let rec = t.only(&ana);
    assert_eq!(rec["totalXp"], 1_250);
    assert_eq!(rec["level"], 9, "a level set elsewhere is never lowered");
    assert_eq!(
        list(&rec, "efficiencyMetrics")["talk_ratio"],
        0.3,
        "Twenty wins"
    );
    let s = l.status();
    assert_eq!(s["level"], 9);
    assert_eq!(s["efficiency_metrics"]["talk_ratio"], 0.3);
    // A value measured here after that is newer: it overwrites on the next push.
    l.ok(&["metric", "talk_ratio", "0.45"]);
    l.ok(&["sync"]);
    assert_eq!(list(&t.only(&ana), "efficiencyMetrics")["talk_ratio"], 0.45);
}

#[test]
fn a_data_dir_restored_from_a_backup_never_counts_twice_nor_drops_new_xp() {
    for in_place in [false, true] {
        let t = server();
        let ana = t.rep(ANA);
        let l = Laptop::new(&t, &ana);
        l.award(10);
        l.ok(&["sync"]);
        l.award(20);
        let backup = l.state.parent().expect("root").join("backup");
        l.backup(&backup);
        l.ok(&["sync"]);
        assert_eq!(t.xp_of(&ana), 30);
        if in_place {
            // `cp backup/* data/`: the same files, older content.
            write_in_place(&l.data, &std::fs::read(backup.join(DB)).expect("read"));
        } else {
            std::fs::remove_dir_all(&l.data).expect("rm");
            copy_dir(&backup, &l.data);
        }
        l.award(4);
        l.ok(&["sync"]);
        assert_eq!(t.xp_of(&ana), 34, "in place: {in_place}");
        let s = l.status();
        assert_eq!(
            (s["xp"].as_i64(), s["pending"].as_i64()),
            (Some(34), Some(0))
        );
        assert_eq!(s["held"], 0);
    }
}

#[test]
fn a_data_dir_copied_to_a_second_laptop_counts_every_award_once() {
    let t = server();
    let ana = t.rep(ANA);
    let a = Laptop::new(&t, &ana);
    a.award(10);
    a.ok(&["sync"]);
    a.award(20);
    // Copied while 20 XP were still queued: both copies hold them.
    let b = a.sibling(&t);
    a.backup(&b.data);
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    assert_eq!(t.xp_of(&ana), 30, "the shared queued award lands once");
    a.award(1);
    a.ok(&["sync"]);
    b.award(2);
    b.ok(&["sync"]);
    a.award(3);
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    assert_eq!(t.xp_of(&ana), 36);
    assert_eq!(a.status()["xp"], 36);
    assert_eq!(b.status()["xp"], 36);
    let marks = list(&t.only(&ana), "syncWatermarks");
    assert_eq!(marks.as_object().map(|m| m.len()), Some(2), "{marks}");
}

#[test]
fn the_email_is_matched_case_insensitively_and_duplicates_are_named() {
    let t = server();
    let ana = t.rep(ANA);
    // The academy created the record with a capital A.
    t.insert_record(json!({"repEmail": t.rep("Ana@acme.test"), "totalXp": 50, "name": "Ana"}));
    let l = Laptop::new(&t, &ana);
    l.award(5);
    l.ok(&["sync"]);
    assert_eq!(t.live(&ana).len(), 1, "no second record");
    assert_eq!(t.xp_of(&ana), 55);

    // Someone creates a second record for Ana anyway: RepXP keeps to the oldest and says so.
    t.insert_record(json!({"repEmail": t.rep("ANA@ACME.TEST"), "totalXp": 7}));
    l.award(1);
    l.ok(&["sync"]);
    // The push wrote to the record it knew; the next read (an idle sync) sees the duplicate.
    l.ok(&["sync"]);
    let recs = t.live(&ana);
    let oldest = recs
        .iter()
        .find(|r| r["repEmail"] == t.rep("Ana@acme.test").as_str())
        .expect("oldest");
    assert_eq!(oldest["totalXp"], 56);
    let s = l.status();
    let notes = s["attention"].to_string();
    assert!(
        notes.contains("duplicates") && notes.contains("2 records"),
        "{notes}"
    );
    let doctor = l.fails(&["doctor"]);
    assert!(
        doctor.contains(&format!("2 records answer to {ana}")),
        "{doctor}"
    );
}

#[test]
fn a_changed_email_starts_a_new_identity_and_queued_xp_stays_with_its_earner() {
    let t = server();
    let mut l = Laptop::new(&t, &t.rep("a@acme.test"));
    l.award(3);
    l.ok(&["sync"]);
    l.award(4); // earned as a@, still queued when the email changes (a laptop handed over)
    l.email = t.rep("b@acme.test");
    let s = l.status();
    assert_eq!(
        s["xp"], 0,
        "nothing of a@'s record or queue is shown as b@'s"
    );
    assert_eq!(s["held"], 1);
    assert!(
        s["attention"]
            .to_string()
            .contains(&format!("earned as {}", t.rep("a@acme.test"))),
        "{s}"
    );
    l.award(7);
    l.ok(&["sync"]);
    assert_eq!(
        t.xp_of(&t.rep("a@acme.test")),
        7,
        "a@ gets what a@ earned, nothing more"
    );
    assert_eq!(t.xp_of(&t.rep("b@acme.test")), 7);
    let s = l.status();
    assert_eq!((s["xp"].as_i64(), s["held"].as_i64()), (Some(7), Some(0)));

    // `connect` says so when it changes the identity.
    l.award(2);
    let out = Command::new(CLI)
        .arg("--data-dir")
        .arg(&l.data)
        .args(["connect", "--url", &l.url, "--email", &t.rep("c@acme.test")])
        .env("REPXP_TWENTY_API_KEY", &l.key)
        .env("REPXP_STATE_DIR", &l.state)
        .env_remove("REPXP_TWENTY_URL")
        .env_remove("REPXP_REP_EMAIL")
        .output()
        .expect("connect");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        text.contains("new identity") && text.contains("1 event(s) (+2 XP)"),
        "{text}"
    );
}

#[test]
fn xp_earned_under_a_mistyped_email_waits_until_the_rep_moves_it() {
    let t = server();
    let ana = t.rep(ANA);
    let mut l = Laptop::new(&t, &t.rep("anna@acme.test"));
    l.award(9); // never synced: the typo has no record in Twenty
    l.email = ana.clone();
    l.award(1);
    l.ok(&["sync"]);
    assert!(
        t.live(&t.rep("anna@acme.test")).is_empty(),
        "no record is made up for the typo"
    );
    assert_eq!(t.xp_of(&ana), 1);
    assert_eq!(l.status()["held_xp"], 9);
    l.ok(&["retry"]);
    l.ok(&["sync"]);
    assert_eq!(t.xp_of(&ana), 10);
    assert_eq!(l.status()["held"], 0);
}

#[test]
fn an_admin_renaming_the_record_keeps_repxp_off_it_until_the_rep_follows() {
    let t = server();
    let ana = t.rep(ANA);
    let mut l = Laptop::new(&t, &ana);
    l.award(10);
    l.ok(&["sync"]);
    let id = t.record_id(&ana);
    let smith = t.rep("ana.smith@acme.test");
    t.patch_record(&id, json!({"repEmail": smith}));
    l.award(5);
    let err = l.fails(&["sync"]);
    assert!(err.contains(&format!("now has the email {smith}")), "{err}");
    assert!(t.live(&ana).is_empty(), "no new record for the old email");
    l.email = smith.clone();
    l.ok(&["sync"]);
    assert_eq!(t.xp_of(&smith), 15);
}

#[test]
fn a_field_repxp_cannot_read_is_never_overwritten_and_xp_still_flows() {
    let t = server();
    let ana = t.rep(ANA);
    let l = Laptop::new(&t, &ana);
    l.award(10);
    l.ok(&["sync"]);
    let id = t.record_id(&ana);
    t.patch_record(&id, json!({"defeatedBosses": "gatekeeper, dragon"}));
    l.award(5);
    l.ok(&["boss", "procurement"]);
    l.ok(&["sync"]);
    let rec = t.only(&ana);
    assert_eq!(rec["totalXp"], 15, "XP is not held up");
    assert_eq!(
        rec["defeatedBosses"], "gatekeeper, dragon",
        "left as it was"
    );
    let s = l.status();
    assert_eq!(
        (s["pending"].as_i64(), s["held"].as_i64()),
        (Some(0), Some(1))
    );
    let notes = s["attention"].to_string();
    assert!(notes.contains("defeatedBosses"), "{notes}");
    let q = l.queue();
    assert_eq!(q[0]["parked"], "unreadable_field", "{q:?}");
    let doctor = l.fails(&["doctor"]);
    assert!(doctor.contains("field defeatedBosses"), "{doctor}");
    // Pulls go on.
    l.ok(&["sync", "--pull"]);
    // The admin repairs the field: the held boss goes out by itself.
    t.patch_record(
        &id,
        json!({"defeatedBosses": "[\"gatekeeper\",\"dragon\"]"}),
    );
    l.ok(&["sync"]);
    l.ok(&["sync"]);
    let rec = t.only(&ana);
    assert_eq!(
        list(&rec, "defeatedBosses"),
        json!(["gatekeeper", "dragon", "procurement"]),
        "the admin's list as the admin wrote it, the held boss added after it"
    );
    assert_eq!(l.status()["held"], 0);
}

#[test]
fn an_unreadable_total_stops_xp_but_never_overwrites_it() {
    let t = server();
    let ana = t.rep(ANA);
    let l = Laptop::new(&t, &ana);
    l.award(10);
    l.ok(&["sync"]);
    let id = t.record_id(&ana);
    t.patch_record(&id, json!({"totalXp": 12.5}));
    l.award(5);
    let err = l.fails(&["sync"]);
    assert!(err.contains("totalXp"), "{err}");
    assert_eq!(t.only(&ana)["totalXp"], 12.5);
    assert_eq!(l.status()["pending"], 1, "kept here");
    t.patch_record(&id, json!({"totalXp": 12}));
    l.ok(&["sync"]);
    assert_eq!(t.xp_of(&ana), 17);
}

#[test]
fn a_record_in_the_trash_is_never_written_and_comes_back_when_restored() {
    let t = server();
    let ana = t.rep(ANA);
    let l = Laptop::new(&t, &ana);
    l.award(10);
    l.ok(&["sync"]);
    let rec = t.only(&ana);
    let id = rec["id"].as_str().expect("id").to_string();
    assert!(t.soft_delete(&id));
    let trashed_before = t
        .records_of(&ana)
        .into_iter()
        .find(|r| r["id"] == id.as_str())
        .expect("in the trash");
    l.award(5);
    let err = l.fails(&["sync"]);
    assert!(err.contains("trash"), "{err}");
    let trashed_after = t
        .records_of(&ana)
        .into_iter()
        .find(|r| r["id"] == id.as_str())
        .expect("still in the trash");
    assert_eq!(trashed_before, trashed_after, "never written to");
    assert!(t.live(&ana).is_empty(), "and no second record beside it");
    // A laptop that never synced finds the trash too (it looks there before it creates).
    let fresh = Laptop::new(&t, &ana);
    fresh.award(1);
    assert!(fresh.fails(&["sync"]).contains("trash"));
    assert!(t.live(&ana).is_empty());
    let s = l.status();
    assert_eq!(s["sync"]["last_error_kind"], "record_trashed");
    assert!(s["sync"]["next_step"]
        .as_str()
        .unwrap_or("")
        .contains("Ask your Twenty admin to restore your record"));
    assert_eq!(s["xp"], 15, "what the rep earned is still shown");
    assert!(t.restore(&id));
    l.ok(&["sync"]);
    assert_eq!(t.xp_of(&ana), 15);

    // Destroyed for good: RepXP starts a new record with what it still has to send.
    assert!(t.destroy(&id));
    l.award(2);
    l.ok(&["sync"]);
    assert_eq!(t.xp_of(&ana), 2);
}

#[test]
fn an_event_twenty_refuses_is_held_with_its_reason_and_never_blocks_what_follows() {
    let t = server();
    let ana = t.rep(ANA);
    let l = Laptop::new(&t, &ana);
    l.award(10);
    l.ok(&["sync"]);
    t.set_fault(Fault::always(FaultKind::RejectWrites {
        contains: "poison".into(),
        status: 400,
        message: "Invalid value 'poison' for field \"defeatedBosses\"".into(),
    }));
    l.award(5);
    l.ok(&["boss", "poison"]);
    l.award(6);
    l.ok(&["boss", "dragon"]);
    l.ok(&["sync"]);
    let rec = t.only(&ana);
    assert_eq!(rec["totalXp"], 21);
    assert_eq!(list(&rec, "defeatedBosses"), json!(["dragon"]));
    let q = l.queue();
    assert_eq!(q.len(), 1, "{q:?}");
    assert_eq!(q[0]["parked"], "rejected");
    assert!(
        q[0]["reason"]
            .as_str()
            .unwrap_or("")
            .contains("Invalid value 'poison'"),
        "{q:?}"
    );
    let text = l.ok(&["queue"]);
    assert!(text.contains("held: rejected"), "{text}");
    // New XP still reaches Twenty; pulls go on.
    l.award(3);
    l.ok(&["sync"]);
    assert_eq!(t.xp_of(&ana), 24);
    // Once Twenty takes it, the rep sends it again.
    t.clear_faults();
    l.ok(&["retry"]);
    l.ok(&["sync"]);
    assert_eq!(
        list(&t.only(&ana), "defeatedBosses"),
        json!(["dragon", "poison"])
    );
    assert_eq!(l.status()["held"], 0);
}

#[test]
fn twenty_refusing_every_write_is_one_clear_error_not_a_held_queue() {
    let t = server();
    let ana = t.rep(ANA);
    let l = Laptop::new(&t, &ana);
    l.award(10);
    l.ok(&["sync"]);
    t.set_fault(Fault::always(FaultKind::RejectWrites {
        contains: "syncRevision".into(),
        status: 400,
        message: "record locked by a workflow".into(),
    }));
    l.award(5);
    let err = l.fails(&["sync"]);
    assert!(
        err.contains("refuses every change") && err.contains("record locked"),
        "{err}"
    );
    let s = l.status();
    assert_eq!(
        (s["pending"].as_i64(), s["held"].as_i64()),
        (Some(1), Some(0))
    );
}

#[test]
fn power_lost_right_after_twenty_applied_a_push_never_double_counts() {
    let t = server();
    let ana = t.rep(ANA);
    let l = Laptop::new(&t, &ana);
    l.award(10);
    l.ok(&["sync"]);
    l.award(25);
    // What the disk holds if power is cut after Twenty applied the push, before its
    // acknowledgement reached the disk: the database as it was before the sync.
    checkpoint(&l.data);
    let before = std::fs::read(l.data.join(DB)).expect("read");
    l.ok(&["sync"]);
    assert_eq!(t.xp_of(&ana), 35);
    write_in_place(&l.data, &before);
    assert_eq!(l.status()["pending"], 1, "the acknowledgement is gone");
    l.ok(&["sync"]);
    assert_eq!(t.xp_of(&ana), 35, "its watermark says it landed");
    let s = l.status();
    assert_eq!(
        (s["xp"].as_i64(), s["pending"].as_i64()),
        (Some(35), Some(0))
    );
}

#[test]
fn a_clone_with_its_identity_holds_back_what_may_be_counted_already() {
    // A whole-home copy: the data directory *and* the state directory travel together, so the
    // open-time checks cannot tell. Twenty's watermark can: the clone holds back its queued
    // events for the rep instead of counting them twice.
    let t = server();
    let ana = t.rep(ANA);
    let a = Laptop::new(&t, &ana);
    a.award(10);
    a.ok(&["sync"]);
    a.award(20);
    let root = tempfile::tempdir().expect("tempdir");
    let b = Laptop {
        _root: root,
        data: a.data.clone(),
        state: a.state.clone(),
        url: a.url.clone(),
        key: a.key.clone(),
        email: a.email.clone(),
        timeout_ms: a.timeout_ms,
    };
    // Same paths and files as `a` (a disk image keeps inodes): simulate by syncing `a`'s line
    // first, then rolling the files back to the clone's content.
    checkpoint(&a.data);
    let clone = std::fs::read(a.data.join(DB)).expect("read");
    let state_clone: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(a.state.join("identity"))
        .expect("identity dir")
        .flatten()
        .map(|e| (e.path(), std::fs::read(e.path()).expect("read")))
        .collect();
    a.award(1);
    a.ok(&["sync"]);
    assert_eq!(t.xp_of(&ana), 31);
    write_in_place(&b.data, &clone);
    for (p, bytes) in state_clone {
        std::fs::write(p, bytes).expect("clone identity");
    }
    b.award(2);
    b.ok(&["sync"]);
    assert_eq!(
        t.xp_of(&ana),
        31,
        "nothing that may be counted is sent blindly"
    );
    let s = b.status();
    assert_eq!(s["held"], 2, "{s}");
    assert!(
        s["attention"]
            .to_string()
            .contains("may already be counted"),
        "{s}"
    );
    // What the clone records from now on goes out under its new device id.
    b.award(4);
    b.ok(&["sync"]);
    assert_eq!(t.xp_of(&ana), 35);
    // The rep checks Twenty (31 = 10 + 20 + 1: the 20 is there, the 2 is not) and decides.
    let q = b.queue();
    let two = q
        .iter()
        .find(|e| e["amount"] == 2)
        .and_then(|e| e["id"].as_str())
        .expect("the 2 XP award")
        .to_string();
    b.ok(&["retry", &two]);
    b.ok(&["discard", "--all"]);
    b.ok(&["sync"]);
    assert_eq!(t.xp_of(&ana), 37);
    assert_eq!(b.status()["held"], 0);
}

#[test]
fn a_record_in_the_trash_under_another_case_of_the_email_is_not_duplicated() {
    let t = server();
    let ana = t.rep(ANA);
    let rec = t.insert_record(json!({"repEmail": t.rep("Ana@acme.test"), "totalXp": 40}));
    assert!(t.soft_delete(rec["id"].as_str().expect("id")));
    let l = Laptop::new(&t, &ana);
    l.award(5);
    let err = l.fails(&["sync"]);
    assert!(err.contains("trash"), "{err}");
    assert!(t.live(&ana).is_empty(), "no second record for Ana");
    assert!(t.restore(rec["id"].as_str().expect("id")));
    l.ok(&["sync"]);
    assert_eq!(t.xp_of(&ana), 45);
}

#[test]
fn the_academys_item_data_and_shapes_are_kept_when_repxp_adds_its_own() {
    let t = server();
    let ana = t.rep(ANA);
    let l = Laptop::new(&t, &ana);
    l.award(10);
    l.ok(&["sync"]);
    let id = t.record_id(&ana);
    // The academy keeps lists of items with data of its own.
    t.patch_record(
        &id,
        json!({
            "passedExams": "[{\"examId\":\"cold-calls-101\",\"score\":88,\"passedAt\":\"2026-01-05T10:00:00Z\"}]",
            "defeatedBosses": "[{\"id\":\"academy-final\",\"defeatedAt\":\"2026-01-05T10:00:00Z\"}]",
        }),
    );
    l.ok(&["exam", "objections", "--score", "75"]);
    l.ok(&["exam", "cold-calls-101", "--score", "92"]);
    l.ok(&["boss", "gatekeeper"]);
    l.award(5);
    l.ok(&["sync"]);
    let rec = t.only(&ana);
    assert_eq!(rec["totalXp"], 15);
    assert_eq!(
        list(&rec, "defeatedBosses"),
        json!([
            {"id": "academy-final", "defeatedAt": "2026-01-05T10:00:00Z"},
            {"id": "gatekeeper"}
        ]),
        "the academy's items untouched, RepXP's added in their shape"
    );
    assert_eq!(
        list(&rec, "passedExams"),
        json!([
            {"examId": "cold-calls-101", "score": 92, "passedAt": "2026-01-05T10:00:00Z"},
            {"examId": "objections", "score": 75}
        ]),
        "a better score replaces the score in place; the item keeps its date"
    );
    let s = l.status();
    assert_eq!(
        s["passed_exams"]["cold-calls-101"]["score"].as_f64(),
        Some(92.0)
    );
    assert_eq!(s["defeated_bosses"], json!(["academy-final", "gatekeeper"]));
    assert_eq!(s["pending"], 0);
}

#[test]
fn a_record_the_academy_made_with_a_padded_email_is_the_reps() {
    let t = server();
    let ana = t.rep(ANA);
    // A CSV import kept a trailing space.
    t.insert_record(json!({"repEmail": format!("{ana} "), "totalXp": 50}));
    let l = Laptop::new(&t, &ana);
    l.award(5);
    l.ok(&["sync"]);
    let recs = t.live(&ana);
    assert_eq!(recs.len(), 1, "no second record: {recs:?}");
    assert_eq!(recs[0]["totalXp"], 55);
    assert_eq!(l.status()["xp"], 55);
    let doctor = l.fails(&["doctor"]);
    assert!(doctor.contains("with spaces around it"), "{doctor}");
}

#[test]
fn an_admin_restoring_the_record_from_an_export_wins_and_the_next_push_builds_on_it() {
    let t = server();
    let ana = t.rep(ANA);
    let l = Laptop::new(&t, &ana);
    for xp in [10, 5, 5] {
        l.award(xp);
        l.ok(&["sync"]);
    }
    assert_eq!(l.status()["xp"], 20);
    let id = t.record_id(&ana);
    // The export was taken when the record said 100 XP, at an earlier revision.
    t.patch_record(&id, json!({"totalXp": 100, "syncRevision": 1}));
    l.ok(&["sync"]);
    assert_eq!(l.status()["xp"], 100, "Twenty's state wins");
    l.award(5);
    l.ok(&["sync"]);
    assert_eq!(t.xp_of(&ana), 105);
    assert_eq!(l.status()["xp"], 105);
}

#[test]
fn an_admins_level_stands_until_xp_levels_the_rep_up_the_curve() {
    let t = server();
    let ana = t.rep(ANA);
    let l = Laptop::new(&t, &ana);
    l.award(1_240); // level 7 on RepXP's curve
    l.ok(&["sync"]);
    let id = t.record_id(&ana);
    t.patch_record(&id, json!({"level": 3}));
    l.award(10);
    l.ok(&["sync"]);
    assert_eq!(t.only(&ana)["level"], 3, "the admin's level stands");
    let s = l.status();
    assert_eq!(
        (s["level"].as_i64(), s["next_level"].as_i64()),
        (Some(3), Some(8))
    );
    // 1,400 XP is level 8 of the curve: it takes over.
    l.award(150);
    l.ok(&["sync"]);
    assert_eq!(t.only(&ana)["level"], 8);
    assert_eq!(l.status()["level"], 8);
}

#[test]
fn a_laptop_clock_days_ahead_never_writes_an_activity_in_twentys_future() {
    let t = server();
    let ana = t.rep(ANA);
    let l = Laptop::new(&t, &ana);
    l.award(10);
    l.ok(&["sync"]);
    // An award stamped by a clock that runs a year ahead.
    l.ok(&["award", "5", "--at", "2031-06-01T09:00:00Z"]);
    l.ok(&["sync"]);
    let rec = t.only(&ana);
    let written = chrono::DateTime::parse_from_rfc3339(
        rec["lastActivityDate"].as_str().expect("lastActivityDate"),
    )
    .expect("a time");
    let latest = chrono::Utc::now() + chrono::TimeDelta::minutes(2);
    assert!(
        written < latest,
        "{written} is Twenty's now plus a minute at most"
    );
    assert_eq!(rec["totalXp"], 15);
}

#[test]
fn an_older_duplicate_never_takes_xp_a_lost_reply_already_landed() {
    let t = server();
    let ana = t.rep(ANA);
    // An old record of the rep's, under another address for now.
    let old = t.insert_record(json!({"repEmail": t.rep("ana.old@acme.test"), "totalXp": 15}));
    let old_id = old["id"].as_str().expect("id").to_string();
    let l = Laptop::new(&t, &ana);
    l.award(25);
    l.ok(&["sync"]);
    let first = t.record_id(&ana);
    // A push whose reply is lost after Twenty applied it...
    t.set_fault(Fault::times(FaultKind::ApplyThenDrop, 1).on_writes());
    l.award(10);
    l.fails(&["sync"]);
    assert_eq!(t.xp_of(&ana), 35, "applied");
    // ...then an admin gives the old record the rep's email (another case): it is the oldest.
    t.patch_record(&old_id, json!({"repEmail": t.rep("Ana@acme.test")}));
    l.ok(&["sync"]);
    let recs = t.live(&ana);
    let xp = |id: &str| {
        recs.iter()
            .find(|r| r["id"] == id)
            .and_then(|r| r["totalXp"].as_i64())
    };
    assert_eq!(
        (xp(&first), xp(&old_id)),
        (Some(35), Some(15)),
        "the lost reply's 10 XP landed once, on the record it was sent to"
    );
    let s = l.status();
    assert_eq!(
        (s["xp"].as_i64(), s["pending"].as_i64()),
        (Some(15), Some(0))
    );
    let notes = s["attention"].to_string();
    assert!(
        notes.contains("2 records") && notes.contains(&format!("{first} holds 35 XP")),
        "{notes}"
    );
    let doctor = l.fails(&["doctor"]);
    assert!(doctor.contains(&format!("{first} (35 XP)")), "{doctor}");
    // From now on the oldest gets what the rep earns.
    l.award(5);
    l.ok(&["sync"]);
    let recs = t.live(&ana);
    let total: i64 = recs.iter().filter_map(|r| r["totalXp"].as_i64()).sum();
    assert_eq!(total, 55, "15 + 25 + 10 + 5: every award counted once");
    assert_eq!(l.status()["xp"], 20);
}
