//! The team's ranking and the rep's pace (issue 14), through real `repxp-cli` processes, a real
//! SQLite file and the fake Twenty over loopback holding a whole sales team, written to by other
//! writers (the academy, an admin, a duplicate record, the trash).

mod support;

use std::collections::BTreeMap;

use chrono::{Duration, TimeZone, Utc};
use repxp_engine::identity::Target;
use repxp_engine::secrets::ApiKey;
use repxp_engine::store::Store;
use repxp_engine::twenty::{Timeouts, TwentyClient};
use serde_json::{json, Value};
use support::laptops::*;

const ME: &str = "rep042@acme.test";

/// Competition ranks (1, 1, 3) by XP, ties by email: what the leaderboard must say.
fn expected(truth: &[(String, i64)]) -> Vec<(String, i64, u64)> {
    let mut rows = truth.to_vec();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut out = Vec::new();
    for (i, (email, xp)) in rows.iter().enumerate() {
        let rank = match out.last() {
            Some((_, prev, r)) if prev == xp => *r,
            _ => i as u64 + 1,
        };
        out.push((email.clone(), *xp, rank));
    }
    out
}

fn team_json(l: &Laptop) -> Value {
    serde_json::from_str(&l.ok(&["team", "--json"])).expect("team json")
}

fn rows(team: &Value) -> Vec<(String, i64, u64)> {
    team["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| {
            (
                m["email"].as_str().expect("email").to_string(),
                m["xp"].as_i64().expect("xp"),
                m["rank"].as_u64().expect("rank"),
            )
        })
        .collect()
}

#[test]
fn the_leaderboard_of_200_reps_ranks_like_twenty_holds_them() {
    let t = twenty();
    let truth = t.fake.seed_team(200);
    let l = Laptop::new(&t, ME);
    let before = t.fake.stats().total;
    let team = team_json(&l);
    // 201 live records (rep001 also has a duplicate): two pages of up to 200.
    assert_eq!(t.fake.stats().total - before, 2);
    assert_eq!(team["requests"], 2);
    // The duplicate under REP001@ (more XP, newer) and the trashed rep do not count.
    assert_eq!(rows(&team), expected(&truth));
    let mine: Vec<&Value> = team["members"]
        .as_array()
        .expect("members")
        .iter()
        .filter(|m| m["me"] == true)
        .collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["email"], ME);
    // The academy's records carry a name; the level follows the XP.
    let named = team["members"]
        .as_array()
        .expect("members")
        .iter()
        .find(|m| m["email"] == "rep003@acme.test")
        .expect("rep003");
    assert_eq!(named["name"], "Rep 003");
    assert!(named["level"].as_u64().expect("level") >= 1);
    // The text form marks the rep's own line.
    let text = l.ok(&["team"]);
    let line = text.lines().find(|l| l.contains(ME)).expect("my line");
    assert!(line.contains("← you"), "{line}");
    assert_eq!(text.lines().count(), 201, "a header and a line a rep");
    // XP recorded here and not pushed yet shows in the rep's own row at once.
    let had = truth.iter().find(|(e, _)| e == ME).expect("me").1;
    l.award(7_000);
    let team = team_json(&l);
    let me = &team["members"][0];
    assert_eq!(
        (me["email"].as_str(), me["xp"].as_i64(), me["rank"].as_u64()),
        (Some(ME), Some(had + 7_000), Some(1))
    );
}

#[test]
fn a_page_holds_200_records_and_a_bigger_team_is_paged_through() {
    let t = twenty();
    t.fake.seed_team(199); // 200 live records with the duplicate
    let l = Laptop::new(&t, ME);
    let before = t.fake.stats().total;
    assert_eq!(team_json(&l)["members"].as_array().map(Vec::len), Some(199));
    assert_eq!(t.fake.stats().total - before, 1, "one request");
    let t = twenty();
    let truth = t.fake.seed_team(450);
    let l = Laptop::new(&t, ME);
    let team = team_json(&l);
    assert_eq!(team["requests"], 3, "451 records, pages of 200");
    assert_eq!(rows(&team), expected(&truth));
}

#[test]
fn a_refused_key_is_one_line_and_nothing_is_kept() {
    let t = twenty();
    t.fake.seed_team(5);
    let l = Laptop::new(&t, ME).with_key("wrong-key");
    let text = l.fails(&["team"]);
    assert_eq!(text.trim().lines().count(), 1, "{text}");
    assert!(text.contains("next:"), "{text}");
    assert!(!text.contains("wrong-key"), "the key never shows: {text}");
}

#[test]
fn the_change_since_yesterday_compares_with_the_last_reading_of_an_earlier_day() {
    let t = twenty();
    t.fake.seed_team(20);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = Store::open_dir(dir.path()).expect("store");
    let target = Target {
        url: t.fake.url(),
        email: ME.into(),
    };
    let client = TwentyClient::new(
        &t.fake.url(),
        ApiKey::new(&t.fake.api_key()).expect("key"),
        Timeouts::default(),
    )
    .expect("client");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let read = |store: &mut Store, now| {
        let (records, requests) = rt.block_on(client.list_team()).expect("list");
        repxp_engine::team::read(store, &target, &records, requests, &now).expect("read")
    };
    let yesterday = Utc
        .with_ymd_and_hms(2026, 12, 1, 17, 0, 0)
        .single()
        .expect("time");
    let first = read(&mut store, yesterday);
    assert_eq!(first.since, None);
    assert!(first.members.iter().all(|m| m.xp_change.is_none()));
    // Overnight an admin gives rep005 1,000 XP; the morning reading compares with yesterday's.
    let id = live(&t, "rep005@acme.test")[0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let was = xp_of(&t, "rep005@acme.test");
    t.fake
        .patch_record(&id, json!({"totalXp": was + 1_000}))
        .expect("admin writes");
    let morning = read(&mut store, yesterday + Duration::hours(16));
    assert_eq!(morning.since.as_deref(), Some("2026-12-01"));
    let changes: BTreeMap<&str, i64> = morning
        .members
        .iter()
        .map(|m| (m.email.as_str(), m.xp_change.expect("known")))
        .collect();
    assert_eq!(changes["rep005@acme.test"], 1_000);
    assert!(changes
        .iter()
        .all(|(e, c)| *e == "rep005@acme.test" || *c == 0));
    let rep5 = morning
        .members
        .iter()
        .find(|m| m.email == "rep005@acme.test")
        .expect("rep005");
    assert_eq!(
        (rep5.rank, rep5.rank_change.map(|c| c > 0)),
        (1, Some(true))
    );
    // A second reading the same day still compares with yesterday, not with this morning.
    let noon = read(&mut store, yesterday + Duration::hours(19));
    let rep5 = noon
        .members
        .iter()
        .find(|m| m.email == "rep005@acme.test")
        .expect("rep005");
    assert_eq!(rep5.xp_change, Some(1_000));
}

#[test]
fn pace_and_pending_items_in_status_count_the_academys_xp_once() {
    let t = twenty();
    let l = Laptop::new(&t, ME);
    l.award(30);
    l.ok(&["boss", "gatekeeper"]);
    let s = l.status();
    assert_eq!(s["pace"]["xp_today"], 30);
    assert_eq!(s["pace"]["streak_days"], 1);
    assert_eq!(s["pace"]["streak_today"], true);
    assert_eq!(s["pending_items"]["bosses"], json!(["gatekeeper"]));
    assert_eq!(s["pending_items"]["last_activity"], true);
    l.ok(&["sync"]);
    let s = l.status();
    assert_eq!(s["pending_items"]["bosses"], json!([]));
    assert_eq!(s["pending_items"]["last_activity"], false);
    // The academy adds 50 XP and an exam; the next sync notes the 50 as earned today.
    let id = record_id(&t, ME);
    t.fake
        .patch_record(
            &id,
            json!({"totalXp": 80, "passedExams": "{\"cold-calls-101\":{\"score\":88}}",
                   "lastActivityDate": Utc::now().to_rfc3339()}),
        )
        .expect("academy writes");
    l.award(5);
    l.ok(&["sync"]);
    let s = l.status();
    assert_eq!(s["xp"], 85);
    assert_eq!(
        s["pace"]["xp_today"], 85,
        "ours 35 + the academy's 50, once each"
    );
    assert_eq!(s["pace"]["xp_this_week"], 85);
    // A sync that changes nothing adds nothing.
    l.ok(&["sync"]);
    assert_eq!(l.status()["pace"]["xp_today"], 85);
}

// Unix only: the zone is set through `TZ`, which Windows ignores (its zone is a system setting).
#[cfg(unix)]
#[test]
fn today_and_the_streak_follow_the_computers_time_zone() {
    // Honolulu (UTC-10) and Kiritimati (UTC+14), neither with DST, are always on different
    // dates: "today" must be each one's own. The CLI reads the zone from TZ like any program.
    let t = twenty();
    let l = Laptop::new(&t, ME);
    let now = Utc::now();
    for hours_ago in [48, 24, 0] {
        let at = (now - Duration::hours(hours_ago)).to_rfc3339();
        l.ok(&["award", "10", "--at", &at]);
    }
    let mut dates = Vec::new();
    for (tz, hours) in [
        ("UTC", 0),
        ("Pacific/Honolulu", -10),
        ("Pacific/Kiritimati", 14),
    ] {
        let out = std::process::Command::new(CLI)
            .arg("--data-dir")
            .arg(&l.data)
            .args(["status", "--json"])
            .env("TZ", tz)
            .env("REPXP_TWENTY_URL", &l.url)
            .env("REPXP_REP_EMAIL", &l.email)
            .env("REPXP_STATE_DIR", &l.state)
            .output()
            .expect("status");
        assert!(out.status.success());
        let s: Value = serde_json::from_str(&String::from_utf8_lossy(&out.stdout)).expect("json");
        let offset = chrono::FixedOffset::east_opt(hours * 3600).expect("offset");
        let today = Utc::now()
            .with_timezone(&offset)
            .format("%Y-%m-%d")
            .to_string();
        assert_eq!(s["pace"]["today"], today, "{tz}: the local date");
        assert_eq!(s["pace"]["xp_today"], 10, "{tz}");
        assert_eq!(
            s["pace"]["streak_days"], 3,
            "{tz}: one award a day, 24 h apart"
        );
        dates.push(today);
    }
    assert_ne!(dates[1], dates[2], "the two zones are a day apart");
}
