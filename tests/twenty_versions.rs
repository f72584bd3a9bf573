//! RepXP against every Twenty a customer may run (issue 11): the same steps through real
//! `repxp-cli` processes against `fake-twenty`'s 2025-06 and newest profiles (docs/twenty-api.md,
//! "Versions"): doctor reports before it changes anything, pages through the object list, reads
//! both metadata formats, works with `repEmail` as Text or Emails, says what the key may do,
//! and every failure a rep can meet ends in one line saying what to do next.

mod support;

use fake_twenty::{
    FakeConfig, Fault, FaultKind, RepEmailType, RestrictedKey, SchemaPreset, TwentyProfile,
};
use serde_json::{json, Value};
use support::laptops::*;

const ANA: &str = "ana@acme.test";

fn profile(p: TwentyProfile) -> FakeConfig {
    FakeConfig::for_profile(p)
}

fn repprogression_objects(t: &Twenty) -> usize {
    t.fake
        .object_names()
        .iter()
        .filter(|n| *n == "repProgressions")
        .count()
}

#[test]
fn doctor_reports_first_and_changes_the_data_model_only_with_fix() {
    for p in TwentyProfile::ALL {
        let t = twenty_with(FakeConfig {
            schema: SchemaPreset::NoObject,
            ..profile(p)
        });
        let l = Laptop::new(&t, ANA);
        let report = l.fails(&["doctor"]);
        assert!(
            report.contains("would create field totalXp (NUMBER)")
                && report.contains("would create field repEmail (TEXT)")
                && report.contains("nothing was changed in Twenty"),
            "{p:?}: {report}"
        );
        assert_eq!(
            repprogression_objects(&t),
            0,
            "{p:?}: doctor changed nothing"
        );
        match p {
            TwentyProfile::Newest => assert!(report.contains("Twenty v1.14.0"), "{report}"),
            // The real June 2025 server's /client-config has no appVersion and, on a build
            // without SENTRY_RELEASE, an empty `sentry` (docs/twenty-api.md §11).
            TwentyProfile::June2025 => assert!(
                report.contains("Twenty did not say its version"),
                "{report}"
            ),
        }
        let fixed = l.ok(&["doctor", "--fix"]);
        assert!(
            fixed.contains("created field syncWatermarks"),
            "{p:?}: {fixed}"
        );
        assert_eq!(repprogression_objects(&t), 1);
        let again = l.ok(&["doctor"]);
        assert!(
            again.contains("schema: repProgression has every field RepXP needs"),
            "{p:?}: {again}"
        );
        l.award(5);
        l.ok(&["sync"]);
        assert_eq!(xp_of(&t, ANA), 5, "{p:?}");
    }
}

#[test]
fn doctor_finds_the_object_beyond_the_first_page_and_never_duplicates_it() {
    for p in TwentyProfile::ALL {
        let t = twenty_with(FakeConfig {
            extra_objects: 150,
            metadata_page_size: Some(60),
            ..profile(p)
        });
        let l = Laptop::new(&t, ANA);
        let report = l.ok(&["doctor", "--fix"]);
        assert!(
            report.contains("schema: repProgression has every field RepXP needs"),
            "{p:?}: {report}"
        );
        assert!(
            !report.contains("created"),
            "{p:?}: created something: {report}"
        );
        assert_eq!(repprogression_objects(&t), 1, "{p:?}");
        let format = if p == TwentyProfile::Newest {
            "metadata API: current format"
        } else {
            "metadata API: legacy format"
        };
        assert!(report.contains(format), "{p:?}: {report}");
    }
}

#[test]
fn rep_email_as_an_emails_field_works_like_text() {
    for p in TwentyProfile::ALL {
        let t = twenty_with(FakeConfig {
            rep_email_type: RepEmailType::Emails,
            ..profile(p)
        });
        // The academy created Ana's record, capitalised its own way.
        t.fake.insert_record(json!({
            "repEmail": {"primaryEmail": "Ana@acme.test", "additionalEmails": null},
            "totalXp": 50
        }));
        let l = Laptop::new(&t, ANA);
        l.award(5);
        l.ok(&["sync"]);
        let recs = t.fake.live_records();
        assert_eq!(recs.len(), 1, "{p:?}: one record: {recs:?}");
        assert_eq!(recs[0]["totalXp"], 55, "{p:?}");
        // A rep with no record yet gets one, written the Emails way.
        let ben = Laptop::new(&t, "ben@acme.test");
        ben.award(7);
        ben.ok(&["sync"]);
        let bens: Vec<Value> = t
            .fake
            .live_records()
            .into_iter()
            .filter(|r| r["repEmail"]["primaryEmail"] == "ben@acme.test")
            .collect();
        assert_eq!(bens.len(), 1, "{p:?}");
        assert_eq!(bens[0]["totalXp"], 7);
        let report = l.ok(&["doctor"]);
        assert!(report.contains("EMAILS"), "{p:?}: {report}");
        // Once learnt, the next sync asks the Emails way at once: one request when idle.
        let before = t.fake.stats().total;
        l.ok(&["sync"]);
        assert_eq!(t.fake.stats().total - before, 1, "{p:?}");
    }
}

#[test]
fn a_key_limited_to_rep_progressions_syncs_and_doctor_says_what_it_may_do() {
    for p in TwentyProfile::ALL {
        let t = twenty_with(FakeConfig {
            extra_objects: 3,
            restricted_keys: vec![
                RestrictedKey {
                    key: "reps-key".into(),
                    name: "RepXP reps".into(),
                    data_model: false,
                    read: vec!["repProgressions".into()],
                    update: vec!["repProgressions".into()],
                },
                RestrictedKey {
                    key: "read-only-key".into(),
                    name: "Read only".into(),
                    data_model: false,
                    read: vec!["repProgressions".into()],
                    update: vec![],
                },
                RestrictedKey {
                    key: "no-reps-key".into(),
                    name: "Other team".into(),
                    data_model: false,
                    read: vec!["customObject1s".into()],
                    update: vec![],
                },
            ],
            ..profile(p)
        });
        let rep = Laptop::new(&t, ANA).with_key("reps-key");
        rep.award(5);
        rep.ok(&["sync"]);
        assert_eq!(xp_of(&t, ANA), 5, "{p:?}: a least-privilege key is enough");
        let report = rep.ok(&["doctor"]);
        // On 7f19111 any member may read the metadata (checked on the real server with a
        // Guest's token); only metadata writes need the data-model setting.
        let data_model = match p {
            TwentyProfile::Newest => "may not read the data model",
            TwentyProfile::June2025 => "may read the data model",
        };
        assert!(
            report.contains("may read Rep progressions")
                && report.contains("may update Rep progressions")
                && report.contains(data_model),
            "{p:?}: {report}"
        );
        let admin = Laptop::new(&t, ANA);
        let report = admin.ok(&["doctor"]);
        assert!(
            report.contains("data model") && report.contains("a key for reps needs neither"),
            "{p:?}: {report}"
        );
        let ro = Laptop::new(&t, "ro@acme.test").with_key("read-only-key");
        let report = ro.fails(&["doctor"]);
        assert!(
            report.contains("may read but not update"),
            "{p:?}: {report}"
        );
        let none = Laptop::new(&t, "x@acme.test").with_key("no-reps-key");
        none.award(1);
        let err = none.fails(&["sync"]);
        assert!(
            err.contains("may not do this")
                && err.contains(
                    "— next: Ask your Twenty admin to let your key's role use Rep progressions"
                ),
            "{p:?}: {err}"
        );
        assert_eq!(none.status()["sync"]["last_error_kind"], "permission");
    }
}

#[test]
fn a_missing_record_is_gone_whether_twenty_says_404_or_400() {
    for p in TwentyProfile::ALL {
        let t = twenty_with(profile(p));
        let l = Laptop::new(&t, ANA);
        l.award(10);
        l.ok(&["sync"]);
        let id = record_id(&t, ANA);
        assert!(t.fake.destroy(&id));
        l.award(2);
        l.ok(&["sync"]);
        assert_eq!(xp_of(&t, ANA), 2, "{p:?}: a new record, not an error");
    }
}

/// Each failure a rep can meet, on each profile: the sync fails with what happened, then one
/// line `next: …` saying what to do, and `status --json` carries the same step.
#[test]
fn every_failure_says_what_to_do_next() {
    type Setup = fn(&Twenty, &mut Laptop);
    let cases: [(&str, Setup, &str); 8] = [
        (
            "a bad API key",
            |_, l| l.key = "not-the-key".into(),
            "Enter a valid API key in Settings",
        ),
        (
            "credits spent (402)",
            |t, _| t.fake.set_fault(Fault::always(FaultKind::QuotaExhausted)),
            "Ask your Twenty admin to renew the workspace's plan or credits",
        ),
        (
            "no plan (402)",
            |t, _| t.fake.set_fault(Fault::always(FaultKind::PlanRequired)),
            "Ask your Twenty admin to renew the workspace's plan or credits",
        ),
        (
            "Twenty's server fails (503)",
            |t, _| {
                t.fake
                    .set_fault(Fault::always(FaultKind::ServerError { status: 503 }))
            },
            "Twenty has a server problem: RepXP retries by itself",
        ),
        (
            "Twenty is unreachable",
            |_, l| l.url = "http://127.0.0.1:9".into(),
            "Waiting for the network: RepXP retries by itself",
        ),
        (
            "the record is in the trash",
            |t, _| {
                let id = record_id(t, ANA);
                assert!(t.fake.soft_delete(&id));
            },
            "Ask your Twenty admin to restore your record from the trash",
        ),
        (
            "an admin changed the record's email",
            |t, _| {
                let id = record_id(t, ANA);
                t.fake
                    .patch_record(&id, json!({"repEmail": "ana.smith@acme.test"}));
            },
            "Change your email in Settings to the one Twenty now has",
        ),
        (
            "the total is not a whole number",
            |t, _| {
                let id = record_id(t, ANA);
                t.fake.patch_record(&id, json!({"totalXp": 12.5}));
            },
            "Ask your Twenty admin to fix the field RepXP names",
        ),
    ];
    for p in TwentyProfile::ALL {
        for (what, setup, next) in cases {
            let t = twenty_with(profile(p));
            let mut l = Laptop::new(&t, ANA);
            l.award(10);
            l.ok(&["sync"]);
            setup(&t, &mut l);
            l.award(1);
            let out = l.fails(&["sync"]);
            assert_eq!(
                out.trim_end().lines().count(),
                1,
                "{p:?}, {what}: one line: {out}"
            );
            assert!(
                out.trim_end().ends_with(&format!(" — next: {next}")),
                "{p:?}, {what}: {out}"
            );
            let s = l.status();
            assert_eq!(s["sync"]["next_step"], next, "{p:?}, {what}");
            assert_eq!(s["pending"], 1, "{p:?}, {what}: nothing lost");
        }
        // The rate limit, in the profile's 429 form: three requests a minute for the workspace.
        let t = twenty_with(FakeConfig {
            rate_limit: 3,
            ..profile(p)
        });
        let l = Laptop::new(&t, ANA);
        l.award(10);
        l.ok(&["sync"]);
        l.award(1);
        let out = l.fails(&["sync"]);
        let next = "Twenty is busy for your whole team: RepXP retries later";
        assert!(
            out.trim_end().ends_with(&format!("next: {next}")),
            "{p:?}: {out}"
        );
    }
}
