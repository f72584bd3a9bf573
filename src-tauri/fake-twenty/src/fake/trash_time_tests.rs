//! Loopback tests of trash (soft delete, destroy, restore), microsecond timestamps, DATE_TIME
//! filters and the other-writer / reject-writes faults. Each test names the Twenty spec or
//! source it checks (paths under packages/twenty-server/, commits from /work/twenty-research.md).

use std::sync::Arc;

use reqwest::Method;
use serde_json::{json, Value};

use super::tests::{parse, seed, send, start};
use super::*;

const NOT_FOUND: &str =
    r#"{"statusCode":404,"error":"NotFoundException","messages":["Record not found"]}"#;

struct Api {
    fake: FakeTwenty,
    client: reqwest::Client,
}

impl Api {
    async fn new(config: FakeConfig) -> Api {
        let (fake, client) = start(config).await;
        Api { fake, client }
    }

    async fn manual(start_ms: u64, legacy: bool) -> (Api, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new(start_ms));
        let api = Api::new(FakeConfig {
            clock: clock.clone(),
            legacy_datetime_filters: legacy,
            ..FakeConfig::default()
        })
        .await;
        (api, clock)
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, String) {
        let (s, _, t) = send(&self.client, &self.fake, method, path, body).await;
        (s, t)
    }

    async fn get(&self, path: &str) -> (u16, String) {
        self.call(Method::GET, path, None).await
    }

    async fn delete(&self, path: &str) -> (u16, String) {
        self.call(Method::DELETE, path, None).await
    }

    async fn patch(&self, path: &str, body: Value) -> (u16, String) {
        self.call(Method::PATCH, path, Some(body)).await
    }

    async fn post(&self, path: &str, body: Value) -> (u16, String) {
        self.call(Method::POST, path, Some(body)).await
    }

    /// Ids listed by find-many with this (URL-ready) filter.
    async fn ids(&self, filter: &str) -> Vec<String> {
        let (s, t) = self
            .get(&format!("/rest/repProgressions?filter={filter}"))
            .await;
        assert_eq!(s, 200, "{t}");
        parse(&t)["data"]["repProgressions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect()
    }

    async fn shutdown(self) {
        self.fake.shutdown().await;
    }
}

fn rec<'a>(records: &'a [Value], id: &str) -> &'a Value {
    records.iter().find(|r| r["id"] == id).expect("record")
}

/// `…T14:57:22.278Z`: 24 characters, three fractional digits.
fn is_ms_iso(v: &Value) -> bool {
    let s = v.as_str().unwrap_or_default();
    s.len() == 24 && s.ends_with('Z') && s.as_bytes()[19] == b'.'
}

/// `…T14:57:22.278391Z`: six fractional digits.
fn is_us_iso(v: &Value) -> bool {
    let s = v.as_str().unwrap_or_default();
    s.len() == 27 && s.ends_with('Z') && s.as_bytes()[19] == b'.'
}

/// The ms ISO text one millisecond later.
fn plus_1ms(iso: &str) -> String {
    let ns = timestamps::parse_stored(iso).unwrap();
    timestamps::iso_ms_of_ns(ns + 1_000_000)
}

/// Soft delete, then reads. Checks test/integration/rest/suites/rest-api-core-restore.integration-spec.ts
/// (`ad4d7ca`, setup: `DELETE /people/{id}?soft_delete=true` -> 200), rest-api-delete-one.handler.ts
/// (`{ data: { deletePerson: { id } } }`), common-find-many-query-runner.service.ts (`442e2cd`,
/// trashed rows left out unless the filter mentions `deletedAt`), common-find-one-query-runner.service.ts
/// (`57bddbd`, trashed id -> 404 "Record not found") and build-mutation-statement.util.ts
/// (`0cb4db3`, soft delete of a trashed row matches nothing -> 404).
#[tokio::test]
async fn soft_delete_hides_from_reads_until_the_filter_asks() {
    let api = Api::new(FakeConfig::default()).await;
    let gone = seed(&api.fake, "a@b.c", 10, 1);
    let kept = seed(&api.fake, "x@y.z", 20, 1);

    let (s, t) = api
        .delete(&format!("/rest/repProgressions/{gone}?soft_delete=true"))
        .await;
    assert_eq!(s, 200, "{t}");
    assert_eq!(
        t,
        format!(r#"{{"data":{{"deleteRepProgression":{{"id":"{gone}"}}}}}}"#)
    );

    let (s, t) = api.get("/rest/repProgressions").await;
    assert_eq!(s, 200);
    let v = parse(&t);
    assert_eq!(v["totalCount"], 1);
    assert_eq!(v["data"]["repProgressions"][0]["id"], kept.as_str());

    let (s, t) = api.get(&format!("/rest/repProgressions/{gone}")).await;
    assert_eq!((s, t.as_str()), (404, NOT_FOUND));

    assert_eq!(
        api.ids("deletedAt%5Bis%5D%3ANOT_NULL").await,
        vec![gone.clone()]
    );
    assert_eq!(
        api.ids("or(deletedAt%5Bis%5D%3ANULL,deletedAt%5Bis%5D%3ANOT_NULL)")
            .await
            .len(),
        2
    );
    // A filter on another field keeps the implicit `deletedAt IS NULL`.
    assert!(api.ids("repEmail%5Beq%5D%3Aa%40b.c").await.is_empty());

    // Still stored: deletedAt and updatedAt carry the same statement stamp.
    let r = rec(&api.fake.records(), &gone).clone();
    assert!(is_ms_iso(&r["deletedAt"]), "{r}");
    assert_eq!(r["deletedAt"], r["updatedAt"]);
    assert_eq!(api.fake.live_records().len(), 1);

    // Trashing it again: 404 (newest).
    let (s, t) = api
        .delete(&format!("/rest/repProgressions/{gone}?soft_delete=true"))
        .await;
    assert_eq!((s, t.as_str()), (404, NOT_FOUND));
    assert_eq!(api.fake.stats().kind("delete_one"), 2);
    api.shutdown().await;
}

/// Restore one and many. Checks test/integration/rest/suites/rest-api-core-restore.integration-spec.ts
/// (`ad4d7ca`: `PATCH /people/{id}/restore` -> 200 `data.restorePerson`, then `GET` matches the
/// original; `PATCH /people/restore?filter=id[eq]:…` -> 200 `data.restorePeople`),
/// rest-api-restore-one.handler.ts (`02e13c8`), workspace-mutation-query-builder.spec.ts
/// (`a36f72e`: restore sets `deletedAt = NULL, updatedAt = CURRENT_TIMESTAMP`) and
/// common-base-query-runner.service.ts (`runFilteredMutation`: empty filter -> 400).
#[tokio::test]
async fn restore_brings_the_record_back_with_its_data() {
    let (api, clock) = Api::manual(1_800_000_000_000, false).await;
    let id = seed(&api.fake, "a@b.c", 42, 3);
    let (_, t) = api.get(&format!("/rest/repProgressions/{id}")).await;
    let original = parse(&t)["data"]["repProgression"].clone();

    clock.advance(10);
    assert!(api.fake.soft_delete(&id));
    clock.advance(10);
    let (s, t) = api
        .call(
            Method::PATCH,
            &format!("/rest/repProgressions/{id}/restore"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{t}");
    let restored = parse(&t)["data"]["restoreRepProgression"].clone();
    assert_eq!(restored["id"], id.as_str());
    assert_eq!(restored["deletedAt"], Value::Null);
    assert_eq!(restored["totalXp"], 42);
    assert_eq!(restored["repEmail"], "a@b.c");
    assert!(restored["updatedAt"].as_str() > original["updatedAt"].as_str());

    let (s, t) = api.get(&format!("/rest/repProgressions/{id}")).await;
    assert_eq!(s, 200);
    let again = parse(&t)["data"]["repProgression"].clone();
    for k in [
        "id",
        "repEmail",
        "totalXp",
        "syncRevision",
        "createdAt",
        "position",
    ] {
        assert_eq!(again[k], original[k], "{k}");
    }

    // Restore many by filter.
    assert!(api.fake.soft_delete(&id));
    let (s, t) = api
        .call(
            Method::PATCH,
            &format!("/rest/repProgressions/restore?filter=id%5Beq%5D%3A{id}"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{t}");
    let rows = parse(&t)["data"]["restoreRepProgressions"].clone();
    assert_eq!(rows.as_array().unwrap().len(), 1);
    assert_eq!(rows[0]["id"], id.as_str());
    assert_eq!(rows[0]["deletedAt"], Value::Null);
    assert_eq!(api.fake.live_records().len(), 1);

    // `*path/restore` wins over `*path`: this is restore-many, not update-one of id "restore".
    let (s, t) = api
        .call(Method::PATCH, "/rest/repProgressions/restore", None)
        .await;
    assert_eq!(s, 400);
    assert_eq!(
        t,
        r#"{"statusCode":400,"error":"BadRequestException","messages":["A non-empty filter is required for a bulk mutation"]}"#
    );
    let (s, t) = api
        .call(
            Method::PATCH,
            "/rest/repProgressions/00000000-0000-4000-8000-000000000000/restore",
            None,
        )
        .await;
    assert_eq!((s, t.as_str()), (404, NOT_FOUND));
    let stats = api.fake.stats();
    assert_eq!(stats.kind("restore_one"), 2);
    assert_eq!(stats.kind("restore_many"), 2);
    assert_eq!(stats.kind("update_one"), 0);
    api.shutdown().await;
}

/// Destroy. Checks test/integration/rest/suites/rest-api-core-delete.integration-spec.ts
/// (`02a1f88`: `DELETE /people/{id}` without `soft_delete` -> 200 `data.deletePerson` = `{ id }`;
/// non-existing id -> 404 NotFoundException "Record not found"), parse-soft-delete-rest-request.util.ts
/// (`01c5e99`: only `soft_delete=true` soft-deletes) and rest-api-destroy-one.handler.ts (`d1340b4`).
#[tokio::test]
async fn destroy_removes_for_good_even_from_the_trash() {
    let api = Api::new(FakeConfig::default()).await;
    let a = seed(&api.fake, "a@b.c", 1, 0);
    let b = seed(&api.fake, "b@b.c", 2, 0);
    let c = seed(&api.fake, "c@b.c", 3, 0);

    let (s, t) = api.delete(&format!("/rest/repProgressions/{a}")).await;
    assert_eq!(s, 200);
    assert_eq!(
        t,
        format!(r#"{{"data":{{"deleteRepProgression":{{"id":"{a}"}}}}}}"#)
    );
    let (s, t) = api.delete(&format!("/rest/repProgressions/{a}")).await;
    assert_eq!((s, t.as_str()), (404, NOT_FOUND));

    // `soft_delete=TRUE` is not "true": destroy.
    let (s, _) = api
        .delete(&format!("/rest/repProgressions/{b}?soft_delete=TRUE"))
        .await;
    assert_eq!(s, 200);

    // A trashed record can be destroyed.
    assert!(api.fake.soft_delete(&c));
    let (s, _) = api
        .delete(&format!("/rest/repProgressions/{c}?soft_delete=false"))
        .await;
    assert_eq!(s, 200);
    assert!(api.fake.records().is_empty());
    assert!(!api.fake.restore(&c));
    api.shutdown().await;
}

/// Bulk delete and destroy. Checks test/integration/rest/suites/rest-api-core-delete.integration-spec.ts
/// (`02a1f88`: no filter -> 400 BadRequestException "Filters are mandatory for bulk delete
/// operations" / "... bulk destroy operations"), rest-api-delete-many.handler.ts and
/// rest-api-destroy-many.handler.ts (full message), build-mutation-statement.util.ts (`0cb4db3`:
/// soft delete only live rows; destroy has no `deletedAt` predicate).
#[tokio::test]
async fn bulk_delete_needs_a_filter() {
    let api = Api::new(FakeConfig::default()).await;
    let (s, t) = api.delete("/rest/repProgressions?soft_delete=true").await;
    assert_eq!(s, 400);
    assert_eq!(
        t,
        r#"{"statusCode":400,"error":"BadRequestException","messages":["Filters are mandatory for bulk delete operations. Please provide at least one filter to prevent accidental deletion of all records."]}"#
    );
    let (s, t) = api.delete("/rest/repProgressions?soft_delete=false").await;
    assert_eq!(s, 400);
    assert!(t.contains("Filters are mandatory for bulk destroy operations"));
    let (s, t) = api.delete("/rest/repProgressions").await;
    assert_eq!(s, 400);
    assert!(t.contains("Filters are mandatory for bulk destroy operations"));

    let a = seed(&api.fake, "a@b.c", 5, 0);
    let b = seed(&api.fake, "b@b.c", 5, 0);
    let c = seed(&api.fake, "c@b.c", 9, 0);
    assert!(api.fake.soft_delete(&b));
    // Soft delete: live matches only (b is already trashed).
    let (s, t) = api
        .delete("/rest/repProgressions?soft_delete=true&filter=totalXp%5Beq%5D%3A5")
        .await;
    assert_eq!(s, 200, "{t}");
    assert_eq!(
        t,
        format!(r#"{{"data":{{"deleteRepProgressions":[{{"id":"{a}"}}]}}}}"#)
    );
    // Destroy: every match, trashed included.
    let (s, t) = api
        .delete("/rest/repProgressions?filter=totalXp%5Beq%5D%3A5")
        .await;
    assert_eq!(s, 200, "{t}");
    let ids = parse(&t)["data"]["deleteRepProgressions"].clone();
    assert_eq!(ids, json!([{"id": a}, {"id": b}]));
    let left = api.fake.records();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["id"], c.as_str());
    assert_eq!(api.fake.stats().kind("delete_many"), 5);
    api.shutdown().await;
}

/// Updates match trashed rows. Checks build-mutation-query-builder.util.ts (`785be17`: no
/// `deletedAt IS NULL` on mutations), build-mutation-statement.util.spec.ts (`e1a11b0`: update SQL
/// has no `deletedAt` predicate), common-update-one-query-runner.service.ts (`5eae7b0`) and PR
/// #13425 ("updateOne/Many works on soft deleted records").
#[tokio::test]
async fn updates_apply_to_trashed_records_which_stay_trashed() {
    let api = Api::new(FakeConfig::default()).await;
    let id = seed(&api.fake, "a@b.c", 100, 4);
    assert!(api.fake.soft_delete(&id));
    let trashed_at = rec(&api.fake.records(), &id)["deletedAt"].clone();

    let (s, t) = api
        .patch(
            &format!(
                "/rest/repProgressions?filter=and(id%5Beq%5D%3A{id},syncRevision%5Beq%5D%3A4)"
            ),
            json!({"totalXp": 150, "syncRevision": 5}),
        )
        .await;
    assert_eq!(s, 200, "{t}");
    let rows = parse(&t)["data"]["updateRepProgressions"].clone();
    assert_eq!(rows.as_array().unwrap().len(), 1);
    assert_eq!(rows[0]["totalXp"], 150);
    assert_eq!(rows[0]["deletedAt"], trashed_at);

    let (s, t) = api
        .patch(&format!("/rest/repProgressions/{id}"), json!({"level": 3}))
        .await;
    assert_eq!(s, 200, "{t}");
    assert_eq!(parse(&t)["data"]["updateRepProgression"]["level"], 3);

    let r = rec(&api.fake.records(), &id).clone();
    assert_eq!(r["totalXp"], 150);
    assert_eq!(r["deletedAt"], trashed_at, "still in the trash");
    assert!(api.fake.live_records().is_empty());
    let (s, _) = api.get(&format!("/rest/repProgressions/{id}")).await;
    assert_eq!(s, 404);
    api.shutdown().await;
}

/// The newest update-many refuses an empty filter: common-base-query-runner.service.ts
/// `runFilteredMutation` ("A non-empty filter is required for a bulk mutation", PR #24746).
#[tokio::test]
async fn update_many_without_filter_is_400() {
    let api = Api::new(FakeConfig::default()).await;
    seed(&api.fake, "a@b.c", 1, 0);
    let (s, t) = api
        .patch("/rest/repProgressions", json!({"totalXp": 9}))
        .await;
    assert_eq!(s, 400);
    assert_eq!(
        t,
        r#"{"statusCode":400,"error":"BadRequestException","messages":["A non-empty filter is required for a bulk mutation"]}"#
    );
    assert_eq!(api.fake.records()[0]["totalXp"], 1);
    api.shutdown().await;
}

/// Unique values stay reserved in the trash. Checks generate-index-for-flat-field-metadata.util.ts
/// (`44697aa`: `indexWhereClause: null`) and issue #24227 ("please hard delete the soft deleted
/// row"); duplicate answer from http-exception-handler.service.ts (`1395032`).
#[tokio::test]
async fn trashed_record_keeps_its_rep_email() {
    let api = Api::new(FakeConfig::default()).await;
    let old = seed(&api.fake, "a@b.c", 1, 0);
    let other = seed(&api.fake, "z@b.c", 1, 0);
    assert!(api.fake.soft_delete(&old));
    let dup = r#"{"statusCode":400,"error":"BadRequestException","messages":["A duplicate entry was detected"]}"#;
    let (s, t) = api
        .post("/rest/repProgressions", json!({"repEmail": "a@b.c"}))
        .await;
    assert_eq!((s, t.as_str()), (400, dup));
    let (s, t) = api
        .patch(
            &format!("/rest/repProgressions/{other}"),
            json!({"repEmail": "a@b.c"}),
        )
        .await;
    assert_eq!((s, t.as_str()), (400, dup));
    // Destroying the trashed record frees the value.
    assert!(api.fake.destroy(&old));
    let (s, _) = api
        .post("/rest/repProgressions", json!({"repEmail": "a@b.c"}))
        .await;
    assert_eq!(s, 201);
    api.shutdown().await;
}

/// Microsecond storage, millisecond output, `CURRENT_TIMESTAMP` unless the body sets `updatedAt`.
/// Checks workspace-mutation-query-builder.ts / .spec.ts (`b2fef50` / `a36f72e`: "should not
/// append updatedAt maintenance when the caller sets updatedAt itself"),
/// field-metadata-type-to-column-type.util.ts (`035f9e6`: `timestamptz`) and format-result.util.ts
/// (`004b5d9`, output through `Date.toISOString()`).
#[tokio::test]
async fn updated_at_is_stored_in_us_and_rendered_in_ms() {
    let (api, _clock) = Api::manual(1_800_000_000_000, false).await;
    let (s, t) = api
        .post(
            "/rest/repProgressions",
            json!({"repEmail": "a@b.c", "lastActivityDate": "2026-11-25T10:00:00.123456Z"}),
        )
        .await;
    assert_eq!(s, 201);
    let created = parse(&t)["data"]["createRepProgression"].clone();
    let id = created["id"].as_str().unwrap().to_string();
    for k in ["createdAt", "updatedAt", "lastActivityDate"] {
        assert!(is_ms_iso(&created[k]), "{k}: {created}");
    }
    assert_eq!(created["lastActivityDate"], "2026-11-25T10:00:00.123Z");
    let stored = api.fake.stored_records()[0].clone();
    assert!(is_us_iso(&stored["updatedAt"]), "{stored}");
    assert_eq!(stored["lastActivityDate"], "2026-11-25T10:00:00.123456Z");
    assert_eq!(api.fake.rendered(&stored), api.fake.records()[0]);

    // Two writes in the same millisecond (the manual clock does not move): distinct and
    // increasing stored values, the same ms in the output.
    let before = stored["updatedAt"].as_str().unwrap().to_string();
    let (s, t) = api
        .patch(&format!("/rest/repProgressions/{id}"), json!({"level": 2}))
        .await;
    assert_eq!(s, 200);
    let first = api.fake.stored_records()[0]["updatedAt"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, _) = api
        .patch(&format!("/rest/repProgressions/{id}"), json!({"level": 3}))
        .await;
    assert_eq!(s, 200);
    let second = api.fake.stored_records()[0]["updatedAt"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        before < first && first < second,
        "{before} {first} {second}"
    );
    let rendered = parse(&t)["data"]["updateRepProgression"]["updatedAt"].clone();
    assert_eq!(rendered, api.fake.records()[0]["updatedAt"]);
    assert!(is_ms_iso(&rendered));

    // A body `updatedAt` is stored as given.
    let (s, t) = api
        .patch(
            &format!("/rest/repProgressions/{id}"),
            json!({"level": 4, "updatedAt": "2026-01-02T03:04:05.678Z"}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        parse(&t)["data"]["updateRepProgression"]["updatedAt"],
        "2026-01-02T03:04:05.678Z"
    );
    assert_eq!(
        api.fake.stored_records()[0]["updatedAt"],
        "2026-01-02T03:04:05.678000Z"
    );
    // An invalid written date-time: data-arg-processor validate-date-time-field-or-throw.util.ts (`8d24ebb`).
    let (s, t) = api
        .patch(
            &format!("/rest/repProgressions/{id}"),
            json!({"updatedAt": "soon"}),
        )
        .await;
    assert_eq!(s, 400);
    assert_eq!(
        t,
        r#"{"statusCode":400,"error":"BadRequestException","messages":["Invalid value 'soon' for date-time field \"updatedAt\". Expected format: 'YYYY-MM-DDTHH:mm:ssZ'"]}"#
    );
    api.shutdown().await;
}

/// Runs `updatedAt` filters built from the API's own (ms) value. Checks
/// compute-where-condition-parts.ts: newest (`04ebb83`) widens eq/neq/gt/lte by 1 ms, older
/// (`d8c8500`) compares plainly; validate-date-time-field-or-throw.util.ts (filter, `d1340b4`).
async fn datetime_filters(legacy: bool) -> (bool, bool, bool, bool) {
    let (api, clock) = Api::manual(1_800_000_000_000, legacy).await;
    let id = seed(&api.fake, "a@b.c", 1, 0);
    clock.advance(5);
    seed(&api.fake, "other@b.c", 1, 0);
    let t = rec(&api.fake.records(), &id)["updatedAt"]
        .as_str()
        .unwrap()
        .to_string();
    let stored = rec(&api.fake.stored_records(), &id)["updatedAt"].clone();
    assert_ne!(
        timestamps::parse_stored(&t),
        timestamps::parse_stored(stored.as_str().unwrap()),
        "the stored value has microseconds the API does not show"
    );
    let bracket = api
        .ids(&format!(
            "and(updatedAt%5Bgte%5D%3A{t},updatedAt%5Blt%5D%3A{})",
            plus_1ms(&t)
        ))
        .await
        == vec![id.clone()];
    let eq = api.ids(&format!("updatedAt%5Beq%5D%3A{t}")).await == vec![id.clone()];
    let gt_excludes_self = !api
        .ids(&format!("updatedAt%5Bgt%5D%3A{t}"))
        .await
        .contains(&id);
    let lte_includes_self = api
        .ids(&format!("updatedAt%5Blte%5D%3A{t}"))
        .await
        .contains(&id);
    let (s, body) = api
        .get("/rest/repProgressions?filter=updatedAt%5Bgte%5D%3Ayesterday")
        .await;
    assert_eq!(s, 400);
    assert_eq!(
        body,
        r#"{"statusCode":400,"error":"BadRequestException","messages":["Invalid value 'yesterday' for date-time field \"updatedAt\". Expected format: 'YYYY-MM-DDTHH:mm:ssZ'"]}"#
    );
    api.shutdown().await;
    (bracket, eq, gt_excludes_self, lte_includes_self)
}

#[tokio::test]
async fn datetime_filters_newest_widen_by_one_ms() {
    assert_eq!(datetime_filters(false).await, (true, true, true, true));
}

#[tokio::test]
async fn datetime_filters_legacy_compare_plainly() {
    // The bracket still works; eq with the API value matches nothing; gt matches the record
    // itself; lte misses it.
    assert_eq!(datetime_filters(true).await, (true, false, false, false));
}

/// A writer that changes only a list: neither number moves, so a CAS on `syncRevision` and
/// `totalXp` still applies (docs/twenty-api.md "CAS choice"); with the newest `updatedAt[eq]`
/// window (compute-where-condition-parts.ts `04ebb83`) the CAS catches it.
#[tokio::test]
async fn other_writer_list_only_change() {
    let (api, clock) = Api::manual(1_800_000_000_000, false).await;
    let id = seed(&api.fake, "a@b.c", 100, 4);
    let seen = rec(&api.fake.records(), &id)["updatedAt"]
        .as_str()
        .unwrap()
        .to_string();
    clock.advance(3);
    api.fake.set_fault(Fault::times(
        FaultKind::OtherWriter(OtherWrite {
            rep_email: Some("a@b.c".into()),
            add_boss: Some("dragon".into()),
            add_exam: Some("exam-1".into()),
            set_metric: Some(MetricValue {
                name: "calls".into(),
                value: 2.5,
            }),
            ..OtherWrite::default()
        }),
        1,
    ));
    // CAS including updatedAt: misses, the other writer stamped updatedAt.
    let cas = |extra: &str| {
        format!(
            "/rest/repProgressions?filter=and(id%5Beq%5D%3A{id},syncRevision%5Beq%5D%3A4,totalXp%5Beq%5D%3A100{extra})"
        )
    };
    let (s, t) = api
        .patch(
            &cas(&format!(",updatedAt%5Beq%5D%3A{seen}")),
            json!({"totalXp": 110, "syncRevision": 5}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(t, r#"{"data":{"updateRepProgressions":[]}}"#);
    let r = rec(&api.fake.records(), &id).clone();
    assert_eq!(r["defeatedBosses"], r#"["dragon"]"#);
    assert_eq!(r["passedExams"], r#"{"exam-1":{}}"#);
    assert_eq!(r["efficiencyMetrics"], r#"{"calls":2.5}"#);
    assert_eq!(r["totalXp"], 100);
    assert_eq!(r["syncRevision"], 4);
    assert_ne!(r["updatedAt"], seen.as_str());
    // Without updatedAt the CAS cannot see the list-only change.
    let (s, t) = api
        .patch(&cas(""), json!({"totalXp": 110, "syncRevision": 5}))
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        parse(&t)["data"]["updateRepProgressions"][0]["defeatedBosses"],
        r#"["dragon"]"#
    );

    // keep_updated_at: the writer sends updatedAt itself; unreadable list text is left alone
    // while the rest applies; set_fields are stored raw, last.
    let before = rec(&api.fake.stored_records(), &id)["updatedAt"].clone();
    clock.advance(3);
    api.fake.set_fault(Fault::times(
        FaultKind::OtherWriter(OtherWrite {
            xp: 7,
            bump_revision: true,
            set_fields: Some(
                json!({"defeatedBosses": "gatekeeper, dragon", "level": 9})
                    .as_object()
                    .unwrap()
                    .clone(),
            ),
            keep_updated_at: true,
            ..OtherWrite::default()
        }),
        1,
    ));
    api.fake.set_fault(Fault::times(
        FaultKind::OtherWriter(OtherWrite {
            add_boss: Some("hydra".into()),
            add_exam: Some("exam-2".into()),
            keep_updated_at: true,
            ..OtherWrite::default()
        }),
        1,
    ));
    let (s, _) = api
        .delete("/rest/repProgressions/00000000-0000-4000-8000-000000000000")
        .await;
    assert_eq!(s, 404, "a DELETE is a record write too");
    let stored = rec(&api.fake.stored_records(), &id).clone();
    assert_eq!(stored["updatedAt"], before);
    assert_eq!(stored["totalXp"], 117);
    assert_eq!(stored["syncRevision"], 6);
    assert_eq!(stored["level"], 9);
    assert_eq!(stored["defeatedBosses"], "gatekeeper, dragon");
    assert_eq!(stored["passedExams"], r#"{"exam-1":{},"exam-2":{}}"#);
    assert!(api.fake.faults().is_empty());
    api.shutdown().await;
}

/// RejectWrites: a workspace that refuses a value (e.g. a field turned into a SELECT); the
/// answer uses Twenty's error shape (http-exception-handler.service.ts `1395032`).
#[tokio::test]
async fn reject_writes_refuses_matching_bodies_only() {
    let api = Api::new(FakeConfig::default()).await;
    let id = seed(&api.fake, "a@b.c", 1, 0);
    api.fake.set_fault(Fault::times(
        FaultKind::RejectWrites {
            contains: "\"level\"".into(),
            status: 400,
            message: "Value \"9\" is not a valid option for field \"level\"".into(),
        },
        1,
    ));
    let (s, t) = api
        .patch(
            &format!("/rest/repProgressions/{id}"),
            json!({"totalXp": 2}),
        )
        .await;
    assert_eq!(s, 200, "{t}");
    let (s, t) = api
        .patch(&format!("/rest/repProgressions/{id}"), json!({"level": 9}))
        .await;
    assert_eq!(s, 400);
    assert_eq!(
        t,
        r#"{"statusCode":400,"error":"BadRequestException","messages":["Value \"9\" is not a valid option for field \"level\""]}"#
    );
    assert_eq!(api.fake.records()[0]["level"], 1, "not applied");
    assert!(api.fake.faults().is_empty(), "used up by the rejection");
    let (s, _) = api
        .patch(&format!("/rest/repProgressions/{id}"), json!({"level": 9}))
        .await;
    assert_eq!(s, 200);
    // Over HTTP, with the default status.
    let resp = api
        .client
        .post(format!("{}/__fake/faults", api.fake.url()))
        .json(&json!({"kind":"reject_writes","contains":"zzz","message":"no"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let (s, t) = api
        .post("/rest/repProgressions", json!({"repEmail": "zzz@b.c"}))
        .await;
    assert_eq!(s, 400);
    assert!(t.contains(r#""messages":["no"]"#));
    api.shutdown().await;
}

/// The Rust helpers behave as the endpoints (not counted in stats).
#[tokio::test]
async fn rust_helpers_mirror_the_endpoints() {
    let (api, _clock) = Api::manual(1_800_000_000_000, false).await;
    let id = seed(&api.fake, "a@b.c", 1, 0);
    let before = api.fake.stored_records()[0]["updatedAt"].clone();
    let r = api
        .fake
        .patch_record(&id, json!({"totalXp": 5}))
        .expect("known id");
    assert_eq!(r["totalXp"], 5);
    assert!(is_ms_iso(&r["updatedAt"]));
    assert!(api.fake.stored_records()[0]["updatedAt"].as_str() > before.as_str());
    let kept = api
        .fake
        .patch_record(
            &id,
            json!({"level": 2, "updatedAt": "2026-01-01T00:00:00.000Z"}),
        )
        .unwrap();
    assert_eq!(kept["updatedAt"], "2026-01-01T00:00:00.000Z");
    assert!(api.fake.patch_record("nope", json!({})).is_none());
    let e = api
        .fake
        .try_patch_record(&id, json!({"bogus": 1}))
        .unwrap_err();
    assert_eq!(e.status, 400);

    assert!(api.fake.soft_delete(&id));
    assert!(!api.fake.soft_delete(&id));
    assert!(api.fake.live_records().is_empty());
    assert_eq!(api.fake.records().len(), 1);
    // patch_record reaches a trashed record, which stays trashed.
    assert_eq!(
        api.fake.patch_record(&id, json!({"level": 3})).unwrap()["level"],
        3
    );
    assert!(api.fake.live_records().is_empty());
    assert!(api.fake.restore(&id));
    assert_eq!(api.fake.live_records().len(), 1);
    assert!(api.fake.destroy(&id));
    assert!(!api.fake.destroy(&id));
    assert!(api.fake.records().is_empty());
    assert_eq!(api.fake.stats().total, 0);
    api.shutdown().await;
}

/// Deletes and restores are records-API requests: counted and rate-limited
/// (common-base-query-runner.service.ts `throttleQueryExecution` runs for every common query runner).
#[tokio::test]
async fn deletes_and_restores_use_the_rate_limit() {
    let api = Api::new(FakeConfig {
        rate_limit: 2,
        ..FakeConfig::default()
    })
    .await;
    let id = seed(&api.fake, "a@b.c", 1, 0);
    let (s, _) = api
        .delete(&format!("/rest/repProgressions/{id}?soft_delete=true"))
        .await;
    assert_eq!(s, 200);
    let (s, _) = api
        .call(
            Method::PATCH,
            &format!("/rest/repProgressions/{id}/restore"),
            None,
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = api.delete(&format!("/rest/repProgressions/{id}")).await;
    assert_eq!(s, 429);
    assert_eq!(api.fake.live_records().len(), 1, "the 429 applied nothing");
    let stats = api.fake.stats();
    assert_eq!(stats.rate_limited, 1);
    assert_eq!(stats.method("DELETE"), 2);
    api.shutdown().await;
}
