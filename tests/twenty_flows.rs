//! What a Twenty admin and a rep go through, end to end, against the fake (`cargo test`) and
//! against the real Twenty of `make test-twenty` (tests/support/server.rs): setting up a
//! workspace with `doctor`, a role that may use Rep progressions and nothing else, the team
//! across pages, the network failing in front of Twenty, and the whole story of issue 21 (the
//! academy, an admin, the trash and back). Real `repxp-cli` processes, real SQLite files.

mod support;

use fake_twenty::{FakeConfig, Fault, FaultKind, RestrictedKey, SchemaPreset};
use serde_json::{json, Value};
use support::laptops::*;
use support::server::*;

const ANA: &str = "ana@acme.test";

fn profile() -> FakeConfig {
    FakeConfig::for_profile(profile_from_env())
}

#[test]
fn doctor_reports_a_workspace_without_the_object_and_fix_makes_it() {
    let t = Server::exclusive().unwrap_or_else(|| {
        server_with(FakeConfig {
            schema: SchemaPreset::NoObject,
            ..profile()
        })
    });
    if let Some(r) = t.real() {
        // A workspace that never had RepXP: the object (and every record of it) goes.
        r.block_on(r.twenty.drop_object());
    }
    let ana = t.rep(ANA);
    let l = Laptop::new(&t, &ana);
    let report = l.fails(&["doctor"]);
    for line in [
        "the Rep progressions object (repProgression) is missing",
        "would create field totalXp (NUMBER)",
        "would create field repEmail (TEXT)",
        "would create field syncWatermarks (TEXT)",
        "nothing was changed in Twenty",
    ] {
        assert!(report.contains(line), "{line}: {report}");
    }
    assert_eq!(object_exists(&t), Some(false), "doctor changed nothing");
    let fixed = l.ok(&["doctor", "--fix"]);
    assert!(
        fixed.contains("created the Rep progressions object")
            && fixed.contains("created field syncRevision"),
        "{fixed}"
    );
    assert_eq!(object_exists(&t), Some(true));
    let again = l.ok(&["doctor"]);
    assert!(
        again.contains("schema: repProgression has every field RepXP needs")
            && !again.contains("created"),
        "{again}"
    );
    l.award(5);
    l.ok(&["sync"]);
    l.award(5);
    l.ok(&["sync"]);
    assert_eq!(t.xp_of(&ana), 10);
    assert_eq!(l.status()["xp"], 10);
}

/// Whether the Rep progressions object exists (`None`: the fake does not say).
fn object_exists(t: &Server) -> Option<bool> {
    match (t.real(), t.fake()) {
        (Some(r), _) => Some(r.block_on(r.twenty.object_id()).is_some()),
        (None, Some(f)) => Some(f.rep_object_id().is_some()),
        _ => None,
    }
}

#[test]
fn a_role_limited_to_rep_progressions_syncs_and_doctor_says_what_it_may_not_do() {
    let fake = || {
        let limited = |key: &str, update: bool| RestrictedKey {
            key: key.into(),
            name: key.into(),
            data_model: false,
            read: vec!["repProgressions".into()],
            update: if update {
                vec!["repProgressions".into()]
            } else {
                vec![]
            },
        };
        server_with(FakeConfig {
            extra_objects: 3,
            restricted_keys: vec![limited("reps-key", true), limited("read-only-key", false)],
            ..profile()
        })
    };
    let t = Server::exclusive().unwrap_or_else(fake);
    let ana = t.rep(ANA);
    // The admin makes the role through Twenty's own API and gives it to a rep.
    let key = |update: bool| match t.real() {
        Some(r) => {
            r.roles_changed.set(true);
            r.block_on(r.twenty.guest_with_role("RepXP reps", update))
        }
        None => if update { "reps-key" } else { "read-only-key" }.to_string(),
    };
    let rep = Laptop::new(&t, &ana).with_key(&key(true));
    rep.award(5);
    rep.ok(&["sync"]);
    rep.award(2);
    rep.ok(&["sync"]);
    assert_eq!(t.xp_of(&ana), 7, "a least-privilege key is enough");
    let report = rep.ok(&["doctor"]);
    assert!(
        report.contains("may read Rep progressions")
            && report.contains("may update Rep progressions"),
        "{report}"
    );
    assert!(
        !report.contains("and read "),
        "the role reaches no other object: {report}"
    );
    let ro = Laptop::new(&t, &t.rep("ro@acme.test")).with_key(&key(false));
    let report = ro.fails(&["doctor"]);
    assert!(report.contains("may read but not update"), "{report}");
    ro.award(1);
    let err = ro.fails(&["sync"]);
    assert!(
        err.contains("may not do this")
            && err.contains(
                "— next: Ask your Twenty admin to let your key's role use Rep progressions"
            ),
        "{err}"
    );
    assert_eq!(ro.status()["sync"]["last_error_kind"], "permission");
    assert_eq!(ro.status()["pending"], 1, "kept");
}

#[test]
fn the_team_is_read_across_pages() {
    let t = server();
    let me = t.rep("rep000@acme.test");
    let team: Vec<(String, i64)> = (1..=250)
        .map(|i| (t.rep(&format!("rep{i:03}@acme.test")), (i * 37 % 500) * 10))
        .collect();
    t.insert_many(
        &team
            .iter()
            .map(|(email, xp)| fields(email, json!({"totalXp": xp})))
            .collect::<Vec<Value>>(),
    );
    let l = Laptop::new(&t, &me);
    l.award(10);
    l.ok(&["sync"]);
    let before = t.requests();
    let read: Value = serde_json::from_str(&l.ok(&["team", "--json"])).expect("team json");
    let spent = t.requests() - before;
    let members = read["members"].as_array().expect("members");
    for (email, xp) in &team {
        let row = members
            .iter()
            .find(|m| m["email"] == email.as_str())
            .unwrap_or_else(|| panic!("{email} missing from the team"));
        assert_eq!(row["xp"], *xp, "{email}");
    }
    let mine = members
        .iter()
        .find(|m| m["me"] == true)
        .expect("my own row");
    assert_eq!(
        (mine["email"].as_str(), mine["xp"].as_i64()),
        (Some(me.as_str()), Some(10))
    );
    // Ranks agree with the XP shown: nobody with more XP ranks below anybody with less.
    for a in members {
        for b in members {
            if a["xp"].as_i64() > b["xp"].as_i64() {
                assert!(a["rank"].as_u64() < b["rank"].as_u64(), "{a} {b}");
            }
        }
    }
    let pages = read["requests"].as_u64().expect("requests");
    assert!(pages >= 2, "251+ records are more than one page of 200");
    assert_eq!(spent, pages, "one request a page, nothing else");
    assert!(
        (members.len() as u64).div_ceil(200) <= pages,
        "{} records in {pages} pages",
        members.len()
    );
}

#[test]
fn the_network_failing_in_front_of_twenty_loses_and_doubles_nothing() {
    let t = server();
    let ana = t.rep(ANA);
    let l = Laptop::new(&t, &ana);
    l.award(10);
    l.ok(&["sync"]);

    // The network goes down, then comes back.
    t.set_down(true);
    l.award(5);
    let err = l.fails(&["sync"]);
    assert!(err.contains("nothing is lost"), "{err}");
    assert_eq!(l.status()["pending"], 1);
    t.set_down(false);
    l.ok(&["sync"]);
    assert_eq!(t.xp_of(&ana), 15);

    // Twenty applies the write, and its reply is lost on the way back.
    t.set_fault(Fault::times(FaultKind::ApplyThenDrop, 1).on_method("POST"));
    l.award(7);
    let err = l.fails(&["sync"]);
    assert!(err.contains("broke before its answer"), "{err}");
    assert_eq!(t.xp_of(&ana), 22, "applied");
    assert_eq!(l.status()["pending"], 1, "not known here yet");
    l.ok(&["sync"]);
    assert_eq!(
        t.xp_of(&ana),
        22,
        "the watermark says it landed: not sent twice"
    );

    // A gateway error, an answer that never comes, a body cut in half.
    for (fault, said) in [
        (FaultKind::ServerError { status: 502 }, "server error"),
        (FaultKind::Hang, "did not answer in time"),
        (FaultKind::MalformedJson, "cannot read"),
    ] {
        t.set_fault(Fault::times(fault, 1).on_method("POST"));
        l.award(1);
        let err = l.fails(&["sync"]);
        assert!(err.contains(said), "{said}: {err}");
        l.ok(&["sync"]);
    }
    assert_eq!(t.xp_of(&ana), 25);
    let s = l.status();
    assert_eq!(
        (s["xp"].as_i64(), s["pending"].as_i64()),
        (Some(25), Some(0))
    );
}

/// Issue 21's "done when": doctor --fix; awards and syncs; the academy adds a boss; an admin
/// adds XP; the record is trashed with XP queued, then restored: exact on Twenty and in status.
#[test]
fn academy_admin_trash_and_restore_end_exact() {
    let t = server();
    let ana = t.rep(ANA);
    let l = Laptop::new(&t, &ana);
    l.ok(&["doctor", "--fix"]);
    l.award(10);
    l.ok(&["sync"]);
    l.award(5);
    l.ok(&["boss", "gatekeeper"]);
    l.ok(&["exam", "objections", "--score", "80"]);
    l.ok(&["sync"]);
    let id = t.record_id(&ana);
    // The academy adds a boss and an exam of its own; an admin adds 100 XP by hand.
    let rec = t.only(&ana);
    let mut bosses = list(&rec, "defeatedBosses");
    bosses
        .as_array_mut()
        .expect("a list")
        .push(json!("academy-final"));
    t.patch_record(&id, json!({"defeatedBosses": bosses.to_string()}));
    t.patch_record(&id, json!({"totalXp": 115}));
    l.award(3);
    l.ok(&["sync"]);
    assert_eq!(t.xp_of(&ana), 118);
    // Trashed with XP queued; nothing is written to it; then restored.
    l.award(4);
    assert!(t.soft_delete(&id));
    let err = l.fails(&["sync"]);
    assert!(err.contains("trash"), "{err}");
    let s = l.status();
    assert_eq!(s["sync"]["last_error_kind"], "record_trashed");
    assert_eq!(
        (s["xp"].as_i64(), s["pending"].as_i64()),
        (Some(122), Some(1))
    );
    assert!(
        t.live(&ana).is_empty(),
        "no second record beside the trashed one"
    );
    assert!(t.restore(&id));
    l.ok(&["sync"]);
    let rec = t.only(&ana);
    assert_eq!(rec["totalXp"], 122);
    // The academy's order stands: RepXP had nothing to add to the list, so it never rewrote it.
    assert_eq!(
        list(&rec, "defeatedBosses"),
        json!(["gatekeeper", "academy-final"])
    );
    assert_eq!(
        list(&rec, "passedExams")["objections"]["score"].as_f64(),
        Some(80.0)
    );
    let s = l.status();
    assert_eq!(
        (s["xp"].as_i64(), s["pending"].as_i64(), s["held"].as_i64()),
        (Some(122), Some(0), Some(0))
    );
    assert!(s["sync"]["last_error"].is_null(), "{s}");
}

/// What a sync costs, on this Twenty (BENCHMARKS.md, "Requests per sync on a real Twenty").
#[test]
fn requests_per_sync() {
    let t = server();
    let ana = t.rep(ANA);
    let l = Laptop::new(&t, &ana);
    let cost = |what: &str, step: &dyn Fn()| {
        let before = t.requests();
        step();
        let n = t.requests() - before;
        println!(
            "requests per sync ({}): {what}: {n}",
            if t.is_real() { "real Twenty" } else { "fake" }
        );
        n
    };
    let first = cost("first sync (find, trash, create)", &|| {
        l.award(10);
        l.ok(&["sync"]);
    });
    let push = cost("a push nobody raced", &|| {
        l.award(5);
        l.ok(&["sync"]);
    });
    let idle = cost("an idle sync", &|| {
        l.ok(&["sync"]);
    });
    let id = t.record_id(&ana);
    let raced = cost("a push that lost the compare-and-set", &|| {
        t.patch_record(&id, json!({"level": 3}));
        l.award(1);
        l.ok(&["sync"]);
    });
    assert_eq!((first, push, idle, raced), (3, 1, 1, 3));
    assert_eq!(t.xp_of(&ana), 16);
}
