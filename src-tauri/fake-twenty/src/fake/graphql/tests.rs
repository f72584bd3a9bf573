//! Whole GraphQL requests answered on a workspace's store, without HTTP (the HTTP ones, with
//! auth, faults and the rate limit, are `graphql_http_tests.rs`). Each expected answer is the
//! one the real June 2025 server gave (Twenty 7f19111) unless the test names the newest profile.

use serde_json::{json, Value};

use super::{answer, Caller};
use crate::fake::profile::TwentyProfile;
use crate::fake::{FakeConfig, Inner, Shared};

const NOW: u64 = 1_800_000_000_000;

fn inner(profile: TwentyProfile) -> Inner {
    Shared::fresh_inner(&FakeConfig::for_profile(profile))
}

fn ask_text(inner: &mut Inner, query: &str, variables: Value) -> (u16, String) {
    let caller = Caller {
        key_name: "RepXP test key",
        role: None,
        permissions_v2: false,
        reject: None,
        rate_limited: None,
    };
    let a = answer(
        inner,
        NOW,
        &json!({"query": query, "variables": variables}),
        &caller,
    );
    (a.status, a.body)
}

fn ask(inner: &mut Inner, query: &str, variables: Value) -> (u16, Value) {
    let (status, body) = ask_text(inner, query, variables);
    (status, serde_json::from_str(&body).expect("json"))
}

const SELECTION: &str = "{ id name createdAt updatedAt deletedAt totalXp level defeatedBosses passedExams efficiencyMetrics lastActivityDate syncWatermarks syncRevision repEmail }";

fn cas() -> String {
    format!("mutation RepXPWrite($filter: RepProgressionFilterInput!, $data: RepProgressionUpdateInput!) {{ updateRepProgressions(filter: $filter, data: $data) {SELECTION} }}")
}

fn find() -> String {
    format!("query RepXPFind($filter: RepProgressionFilterInput!) {{ repProgressions(filter: $filter, first: 60) {{ edges {{ node {SELECTION} }} }} }}")
}

fn create(inner: &mut Inner, email: &str, xp: i64) -> Value {
    let (s, v) = ask(
        inner,
        "mutation($data: RepProgressionCreateInput!) { createRepProgression(data: $data) { id updatedAt totalXp syncRevision position name passedExams } }",
        json!({"data": {"repEmail": email, "totalXp": xp, "syncRevision": 1}}),
    );
    assert_eq!(s, 200, "{v}");
    v["data"]["createRepProgression"].clone()
}

/// The compare-and-set filter RepXP builds for `rec` (graphql.rs `cas_filter`).
fn cas_filter(rec: &Value) -> Value {
    let t = rec["updatedAt"].as_str().unwrap();
    let ms: u32 = t[20..23].parse().unwrap();
    let next = format!("{}{:03}Z", &t[..20], ms + 1);
    json!({"and": [
        {"id": {"eq": rec["id"]}}, {"deletedAt": {"is": "NULL"}},
        {"updatedAt": {"gte": t}}, {"updatedAt": {"lt": next}},
        {"syncRevision": {"eq": rec["syncRevision"]}}, {"totalXp": {"eq": rec["totalXp"]}}
    ]})
}

#[test]
fn the_compare_and_set_lands_once_then_misses_with_not_found() {
    let mut w = inner(TwentyProfile::June2025);
    let rec = create(&mut w, "ana@acme.test", 40);
    assert_eq!(rec["position"], 1, "first record: position 1");
    assert_eq!(rec["name"], "Untitled", "June 2025 TEXT defaults");
    assert_eq!(rec["passedExams"], "");
    let filter = cas_filter(&rec);
    let (s, v) = ask(
        &mut w,
        &cas(),
        json!({"filter": filter, "data": {"totalXp": 45, "syncRevision": 2}}),
    );
    assert_eq!(s, 200, "{v}");
    let rows = v["data"]["updateRepProgressions"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["totalXp"], 45);
    assert_eq!(rows[0]["repEmail"], "ana@acme.test");
    let (s, text) = ask_text(
        &mut w,
        &cas(),
        json!({"filter": filter, "data": {"totalXp": 50}}),
    );
    assert_eq!(
        (s, text.as_str()),
        (
            200,
            r#"{"errors":[{"message":"Records not found","extensions":{"code":"NOT_FOUND"}}],"data":{"updateRepProgressions":null}}"#
        )
    );
}

#[test]
fn newest_update_many_answers_an_empty_list_and_reaches_the_trash() {
    let mut w = inner(TwentyProfile::Newest);
    let rec = create(&mut w, "ana@acme.test", 40);
    let (_, text) = ask_text(
        &mut w,
        &cas(),
        json!({"filter": {"id": {"eq": "00000000-0000-4000-8000-000000000000"}}, "data": {}}),
    );
    assert_eq!(text, r#"{"data":{"updateRepProgressions":[]}}"#);
    ask(
        &mut w,
        "mutation($id: UUID!) { deleteRepProgression(id: $id) { id } }",
        json!({"id": rec["id"]}),
    );
    let (_, v) = ask(
        &mut w,
        &cas(),
        json!({"filter": {"id": {"eq": rec["id"]}}, "data": {"level": 3}}),
    );
    let rows = v["data"]["updateRepProgressions"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "trashed rows match on the newest: {v}");
    assert!(rows[0]["deletedAt"].is_string(), "and stay in the trash");
    let (s, v) = ask(&mut w, &cas(), json!({"filter": {}, "data": {}}));
    assert_eq!(s, 200);
    assert_eq!(
        v["errors"][0]["message"],
        "A non-empty filter is required for a bulk mutation"
    );
}

#[test]
fn june_2025_update_many_never_selects_the_trash_but_its_update_reaches_it() {
    let mut w = inner(TwentyProfile::June2025);
    let live = create(&mut w, "ana@acme.test", 1);
    let gone = create(&mut w, "ben@acme.test", 1);
    ask(
        &mut w,
        "mutation($id: UUID!) { deleteRepProgression(id: $id) { id } }",
        json!({"id": gone["id"]}),
    );
    // Only the trashed row, even named by deletedAt: not selected, NOT_FOUND, nothing changed.
    let f = json!({"and": [{"id": {"eq": gone["id"]}}, {"deletedAt": {"is": "NOT_NULL"}}]});
    let (_, v) = ask(&mut w, &cas(), json!({"filter": f, "data": {"level": 7}}));
    assert_eq!(v["errors"][0]["extensions"]["code"], "NOT_FOUND");
    // A live and a trashed row: applied to both, then the event emitter fails.
    let f = json!({"repEmail": {"in": ["ana@acme.test", "ben@acme.test"]}});
    let (_, text) = ask_text(&mut w, &cas(), json!({"filter": f, "data": {"level": 5}}));
    assert_eq!(
        text,
        r#"{"errors":[{"message":"Cannot read properties of undefined (reading 'id')","extensions":{"code":"INTERNAL_SERVER_ERROR"}}],"data":{"updateRepProgressions":null}}"#
    );
    let trash = json!({"and": [{"deletedAt": {"is": "NOT_NULL"}}, {"id": {"eq": gone["id"]}}]});
    let (_, v) = ask(&mut w, &find(), json!({"filter": trash}));
    assert_eq!(v["data"]["repProgressions"]["edges"][0]["node"]["level"], 5);
    let (_, v) = ask(
        &mut w,
        &find(),
        json!({"filter": {"id": {"eq": live["id"]}}}),
    );
    assert_eq!(v["data"]["repProgressions"]["edges"][0]["node"]["level"], 5);
}

#[test]
fn trash_soft_delete_restore_destroy() {
    let mut w = inner(TwentyProfile::June2025);
    let rec = create(&mut w, "ana@acme.test", 1);
    let id = rec["id"].clone();
    let (_, v) = ask(
        &mut w,
        "mutation($id: UUID!) { deleteRepProgression(id: $id) { id deletedAt updatedAt } }",
        json!({"id": id}),
    );
    let d = &v["data"]["deleteRepProgression"];
    assert!(d["deletedAt"].is_string());
    assert_eq!(d["deletedAt"], d["updatedAt"], "one stamp");
    let (_, v) = ask(
        &mut w,
        &find(),
        json!({"filter": {"repEmail": {"ilike": "ANA@acme.test"}}}),
    );
    assert_eq!(
        v["data"]["repProgressions"]["edges"],
        json!([]),
        "reads hide the trash"
    );
    let f = json!({"and": [{"deletedAt": {"is": "NOT_NULL"}}, {"or": [{"id": {"eq": id}}, {"repEmail": {"ilike": "ANA@acme.test"}}]}]});
    let (_, v) = ask(&mut w, &find(), json!({"filter": f}));
    assert_eq!(v["data"]["repProgressions"]["edges"][0]["node"]["id"], id);
    // Trashing it again stamps it again (June 2025).
    let (_, v2) = ask(
        &mut w,
        "mutation($id: UUID!) { deleteRepProgression(id: $id) { deletedAt } }",
        json!({"id": id}),
    );
    assert!(v2["data"]["deleteRepProgression"]["deletedAt"].is_string());
    let (_, v) = ask(
        &mut w,
        "mutation($id: UUID!) { restoreRepProgression(id: $id) { deletedAt } }",
        json!({"id": id}),
    );
    assert_eq!(
        v,
        json!({"data": {"restoreRepProgression": {"deletedAt": null}}})
    );
    let destroy = "mutation($id: UUID!) { destroyRepProgression(id: $id) { id } }";
    let (_, v) = ask(&mut w, destroy, json!({"id": id}));
    assert_eq!(v["data"]["destroyRepProgression"]["id"], id);
    let (_, text) = ask_text(&mut w, destroy, json!({"id": id}));
    assert_eq!(
        text,
        r#"{"errors":[{"message":"Record not found","extensions":{"code":"NOT_FOUND"}}],"data":{"destroyRepProgression":null}}"#
    );
}

#[test]
fn answers_keep_the_selection_order_aliases_and_typename() {
    let mut w = inner(TwentyProfile::June2025);
    create(&mut w, "ana@acme.test", 3);
    let (s, text) = ask_text(
        &mut w,
        "query { team: repProgressions(first: 1) { __typename totalCount edges { node { totalXp repEmail createdBy { source } } } } }",
        json!({}),
    );
    assert_eq!(s, 200);
    assert_eq!(
        text,
        r#"{"data":{"team":{"__typename":"RepProgressionConnection","totalCount":1,"edges":[{"node":{"totalXp":3,"repEmail":"ana@acme.test","createdBy":{"source":"API"}}}]}}}"#
    );
}

#[test]
fn paging_with_first_and_after() {
    let mut w = inner(TwentyProfile::June2025);
    for e in ["a@acme.test", "b@acme.test", "c@acme.test"] {
        create(&mut w, e, 1);
    }
    let q = "query($after: String) { repProgressions(first: 2, after: $after) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id } } } }";
    let (_, v) = ask(&mut w, q, json!({}));
    let c = &v["data"]["repProgressions"];
    assert_eq!(c["totalCount"], 3);
    assert_eq!(c["pageInfo"]["hasNextPage"], true);
    let ids: Vec<&str> = c["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap())
        .collect();
    assert!(ids[0] < ids[1], "ordered by id");
    let (_, v) = ask(&mut w, q, json!({"after": c["pageInfo"]["endCursor"]}));
    let c2 = &v["data"]["repProgressions"];
    assert_eq!(c2["totalCount"], 3, "GraphQL counts without the cursor");
    assert_eq!(c2["edges"].as_array().unwrap().len(), 1);
    assert_eq!(c2["pageInfo"]["hasNextPage"], false);
    let (_, v) = ask(
        &mut w,
        "query { repProgressions(first: 1, last: 1) { totalCount } }",
        json!({}),
    );
    assert_eq!(
        v["errors"][0]["message"],
        "Cannot provide both first and last"
    );
}

#[test]
fn refusals_have_twentys_status_and_shape() {
    let mut w = inner(TwentyProfile::June2025);
    let rec = create(&mut w, "ana@acme.test", 1);
    let (s, text) = ask_text(
        &mut w,
        &cas(),
        json!({"filter": {"id": {"eq": rec["id"]}}, "data": {"totalXp": "lots"}}),
    );
    assert_eq!(
        (s, text.as_str()),
        (
            400,
            r#"{"errors":[{"message":"Int cannot represent non-integer value: \"lots\"","extensions":{"code":"BAD_USER_INPUT"}}]}"#
        )
    );
    let (s, text) = ask_text(&mut w, &find(), json!({"filter": {"id": {"eq": "x"}}}));
    assert_eq!(
        (s, text.as_str()),
        (
            400,
            r#"{"errors":[{"message":"Invalid UUID","extensions":{"code":"GRAPHQL_VALIDATION_FAILED"}}]}"#
        )
    );
    let (s, text) = ask_text(&mut w, &find(), json!({}));
    assert_eq!(s, 400);
    assert!(text.contains(r#"Variable \"$filter\" of required type \"RepProgressionFilterInput!\" was not provided."#), "{text}");
    let (s, text) = ask_text(
        &mut w,
        &find().replace("node { id", "node { id nope"),
        json!({"filter": {}}),
    );
    assert_eq!(
        (s, text.as_str()),
        (
            200,
            r#"{"errors":[{"message":"Cannot query field \"nope\" on type \"RepProgression\". Did you mean \"name\"?","locations":[{"line":1,"column":120}]}]}"#
        )
    );
    let (s, v) = ask(
        &mut w,
        &cas(),
        json!({"filter": {"id": {"eq": rec["id"]}}, "data": {"name": null}}),
    );
    assert_eq!(s, 200);
    assert_eq!(
        v["errors"][0]["message"],
        "null value in column \"name\" of relation \"_repProgression\" violates not-null constraint"
    );
    let (s, v) = ask(
        &mut w,
        "mutation { updateRepProgressions(data: {}) { id } }",
        json!({}),
    );
    assert_eq!(s, 200);
    assert_eq!(
        v,
        json!({"errors": [{"message": "Filter is required", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}],
               "data": {"updateRepProgressions": null}})
    );
}

#[test]
fn a_stored_nan_or_fraction_is_refused_when_serialized() {
    let mut w = inner(TwentyProfile::June2025);
    let rec = create(&mut w, "ana@acme.test", 1);
    let rows = w.records.get_mut("repProgressions").unwrap();
    rows[0]["level"] = json!("NaN");
    rows[0]["syncRevision"] = json!(2.5);
    let (s, text) = ask_text(
        &mut w,
        "query($f: RepProgressionFilterInput!) { repProgressions(filter: $f) { edges { node { id level syncRevision totalXp } } } }",
        json!({"f": {"id": {"eq": rec["id"]}}}),
    );
    assert_eq!(s, 200);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        v["errors"],
        json!([{"message": "Int cannot represent non-integer value: NaN", "extensions": {"code": "INTERNAL_SERVER_ERROR"}},
               {"message": "Int cannot represent non-integer value: 2.5", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}])
    );
    let node = &v["data"]["repProgressions"]["edges"][0]["node"];
    assert_eq!(
        (
            node["level"].is_null(),
            node["syncRevision"].is_null(),
            node["totalXp"].as_i64()
        ),
        (true, true, Some(1))
    );
}

#[test]
fn emails_rep_email_in_graphql() {
    let mut w = Shared::fresh_inner(&FakeConfig {
        rep_email_type: crate::fake::RepEmailType::Emails,
        ..FakeConfig::for_profile(TwentyProfile::June2025)
    });
    let (s, v) = ask(
        &mut w,
        "mutation($data: RepProgressionCreateInput!) { createRepProgression(data: $data) { repEmail { primaryEmail additionalEmails } } }",
        json!({"data": {"repEmail": {"primaryEmail": "Ana@Acme.test", "additionalEmails": null}}}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["data"]["createRepProgression"]["repEmail"],
        json!({"primaryEmail": "ana@acme.test", "additionalEmails": null})
    );
    let q = "query($f: RepProgressionFilterInput!) { repProgressions(filter: $f) { edges { node { repEmail { primaryEmail } } } } }";
    let (_, v) = ask(
        &mut w,
        q,
        json!({"f": {"repEmail": {"primaryEmail": {"ilike": "ANA@acme.test"}}}}),
    );
    assert_eq!(
        v["data"]["repProgressions"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Selected as a scalar (Unverified wording for EMAILS: graphql-js's ScalarLeafsRule).
    let (s, v) = ask(&mut w, &find(), json!({"filter": {}}));
    assert_eq!(s, 200);
    assert_eq!(
        v["errors"][0]["message"],
        "Field \"repEmail\" of type \"Emails\" must have a selection of subfields. Did you mean \"repEmail { ... }\"?"
    );
}
