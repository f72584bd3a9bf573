//! Loopback tests of the fake: real HTTP through reqwest.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use super::*;

pub(super) async fn start(config: FakeConfig) -> (FakeTwenty, reqwest::Client) {
    let fake = FakeTwenty::start(config).await.expect("bind");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    (fake, client)
}

pub(super) fn seed(fake: &FakeTwenty, email: &str, xp: i64, rev: i64) -> String {
    let r = fake.insert_record(json!({
        "repEmail": email, "totalXp": xp, "level": 1, "syncRevision": rev,
        "defeatedBosses": "[]", "syncWatermarks": "{}"
    }));
    r["id"].as_str().expect("id").to_string()
}

pub(super) async fn send(
    client: &reqwest::Client,
    fake: &FakeTwenty,
    method: reqwest::Method,
    path_and_query: &str,
    body: Option<Value>,
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut rb = client
        .request(method, format!("{}{}", fake.url(), path_and_query))
        .bearer_auth(fake.api_key());
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let resp = rb.send().await.expect("response");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.text().await.expect("body"))
}

pub(super) fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("json")
}

#[tokio::test]
async fn list_envelope_keys_in_twenty_order() {
    let (fake, client) = start(FakeConfig::default()).await;
    seed(&fake, "a@b.c", 10, 0);
    seed(&fake, "x@y.z", 20, 0);
    let (status, _, text) = send(
        &client,
        &fake,
        reqwest::Method::GET,
        "/rest/repProgressions?filter=repEmail%5Beq%5D%3A%22a%40b.c%22&limit=1&depth=0",
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        text.starts_with(r#"{"data":{"repProgressions":["#),
        "{text}"
    );
    let data_at = text.find("\"data\"").unwrap();
    let total_at = text.find("\"totalCount\"").unwrap();
    let page_at = text.find("\"pageInfo\"").unwrap();
    assert!(data_at < total_at && total_at < page_at);
    let v = parse(&text);
    assert_eq!(v["totalCount"], 1);
    assert_eq!(v["data"]["repProgressions"][0]["totalXp"], 10);
    assert_eq!(
        v["data"]["repProgressions"][0]["createdBy"]["source"],
        "API"
    );
    assert_eq!(v["pageInfo"]["hasNextPage"], false);
    fake.shutdown().await;
}

#[tokio::test]
async fn update_many_is_a_compare_and_set() {
    let (fake, client) = start(FakeConfig::default()).await;
    let id = seed(&fake, "a@b.c", 100, 4);
    let before = fake.records()[0]["updatedAt"].clone();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let hit = format!("/rest/repProgressions?filter=and(id[eq]:{id},syncRevision[eq]:4)");
    let (status, _, text) = send(
        &client,
        &fake,
        reqwest::Method::PATCH,
        &hit,
        Some(json!({"totalXp": 150, "syncRevision": 5})),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    let v = parse(&text);
    let rows = v["data"]["updateRepProgressions"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["totalXp"], 150);
    assert!(
        text.contains(r#""totalXp":150,"#),
        "integral numbers print without .0: {text}"
    );
    assert_ne!(rows[0]["updatedAt"], before, "updatedAt bumps on update");
    // The same condition again no longer matches: empty array, nothing written.
    let (status, _, text) = send(
        &client,
        &fake,
        reqwest::Method::PATCH,
        &hit,
        Some(json!({"totalXp": 999, "syncRevision": 5})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(text, r#"{"data":{"updateRepProgressions":[]}}"#);
    assert_eq!(fake.records()[0]["totalXp"], 150);
    fake.shutdown().await;
}

/// The June 2025 auth middleware (checked on the real server): 401 `UNAUTHENTICATED` "No
/// payload" for a token that is not one, 403 "Missing authentication token" without one. (The
/// profile table of answers is `profile_tests::auth_by_profile`.)
#[tokio::test]
async fn bad_key_is_401_and_missing_key_403() {
    let (fake, client) = start(FakeConfig {
        profile: TwentyProfile::June2025,
        ..FakeConfig::default()
    })
    .await;
    let resp = client
        .get(format!("{}/rest/repProgressions", fake.url()))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    assert_eq!(
        resp.text().await.unwrap(),
        r#"{"statusCode":401,"messages":["No payload"],"error":"UNAUTHENTICATED"}"#
    );
    let resp = client
        .get(format!("{}/rest/repProgressions", fake.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    assert_eq!(fake.stats().auth_failures, 2);
    fake.shutdown().await;
}

async fn hammer_until_429(
    style: RateLimitStyle,
) -> (u16, reqwest::header::HeaderMap, String, Stats) {
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    let config = FakeConfig {
        rate_limit_style: style,
        clock: clock.clone(),
        ..FakeConfig::default()
    };
    let (fake, client) = start(config).await;
    for i in 0..100 {
        let (s, _, _) = send(
            &client,
            &fake,
            reqwest::Method::GET,
            "/rest/repProgressions",
            None,
        )
        .await;
        assert_eq!(s, 200, "request {i} is within the budget");
    }
    let (s, h, text) = send(
        &client,
        &fake,
        reqwest::Method::GET,
        "/rest/repProgressions",
        None,
    )
    .await;
    // After the window the bucket is full again.
    clock.advance(60_000);
    let (again, _, _) = send(
        &client,
        &fake,
        reqwest::Method::GET,
        "/rest/repProgressions",
        None,
    )
    .await;
    assert_eq!(again, 200);
    let stats = fake.stats();
    fake.shutdown().await;
    (s, h, text, stats)
}

#[tokio::test]
async fn rate_limit_legacy_429() {
    let (s, h, text, stats) = hammer_until_429(RateLimitStyle::Legacy).await;
    assert_eq!(s, 429);
    assert_eq!(
        text,
        r#"{"statusCode":429,"error":"HttpException","messages":["Limit reached (100 tokens per 60000 ms)"]}"#
    );
    assert!(h.get("retry-after").is_none());
    assert_eq!(stats.rate_limited, 1);
    assert_eq!(stats.total, 102);
}

#[tokio::test]
async fn rate_limit_modern_429() {
    let (s, h, text, stats) = hammer_until_429(RateLimitStyle::Modern).await;
    assert_eq!(s, 429);
    let v = parse(&text);
    assert_eq!(v["error"], "RATE_LIMITED");
    assert_eq!(v["statusCode"], 429);
    assert_eq!(v["retryAfterSeconds"], 1);
    assert_eq!(h.get("retry-after").unwrap(), "1");
    assert_eq!(h.get("x-ratelimit-limit").unwrap(), "100");
    assert_eq!(h.get("x-ratelimit-remaining").unwrap(), "0");
    assert!(h.get("x-ratelimit-reset").is_some());
    assert_eq!(stats.rate_limited, 1);
}

#[tokio::test]
async fn unknown_field_on_write_and_filter_is_400() {
    let (fake, client) = start(FakeConfig::default()).await;
    let id = seed(&fake, "a@b.c", 1, 0);
    let (s, _, text) = send(
        &client,
        &fake,
        reqwest::Method::PATCH,
        &format!("/rest/repProgressions/{id}"),
        Some(json!({"bogus": 1})),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(
        text,
        r#"{"statusCode":400,"error":"BadRequestException","messages":["Object repProgression doesn't have any \"bogus\" field."]}"#
    );
    let (s, _, text) = send(
        &client,
        &fake,
        reqwest::Method::GET,
        "/rest/repProgressions?filter=bogus[eq]:1",
        None,
    )
    .await;
    assert_eq!(s, 400);
    assert!(text.contains(r#"doesn't have any \"bogus\" field."#));
    // A field missing from a partial schema is unknown too.
    let (fake2, client2) = start(FakeConfig {
        schema: SchemaPreset::partial(),
        ..FakeConfig::default()
    })
    .await;
    let (s, _, _) = send(
        &client2,
        &fake2,
        reqwest::Method::POST,
        "/rest/repProgressions",
        Some(json!({"repEmail": "a@b.c", "syncRevision": 1})),
    )
    .await;
    assert_eq!(s, 400);
    fake.shutdown().await;
    fake2.shutdown().await;
}

#[tokio::test]
async fn create_is_201_and_duplicate_rep_email_is_rejected() {
    let (fake, client) = start(FakeConfig::default()).await;
    let body =
        json!({"repEmail": "a@b.c", "totalXp": 0, "lastActivityDate": "2026-11-25T10:00:00Z"});
    let (s, _, text) = send(
        &client,
        &fake,
        reqwest::Method::POST,
        "/rest/repProgressions",
        Some(body.clone()),
    )
    .await;
    assert_eq!(s, 201, "{text}");
    let v = parse(&text);
    let rec = &v["data"]["createRepProgression"];
    assert_eq!(rec["repEmail"], "a@b.c");
    assert_eq!(rec["lastActivityDate"], "2026-11-25T10:00:00.000Z");
    assert_eq!(rec["name"], Value::Null);
    assert_eq!(rec["deletedAt"], Value::Null);
    assert_eq!(
        rec["createdBy"],
        json!({"source":"API","name":"RepXP test key","workspaceMemberId":null,"context":{}})
    );
    let (s, _, text) = send(
        &client,
        &fake,
        reqwest::Method::POST,
        "/rest/repProgressions",
        Some(body),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(
        text,
        r#"{"statusCode":400,"error":"BadRequestException","messages":["A duplicate entry was detected"]}"#
    );
    assert_eq!(fake.records().len(), 1);
    fake.shutdown().await;
}

#[tokio::test]
async fn get_one_and_not_found() {
    let (fake, client) = start(FakeConfig::default()).await;
    let id = seed(&fake, "a@b.c", 7, 0);
    let (s, _, text) = send(
        &client,
        &fake,
        reqwest::Method::GET,
        &format!("/rest/repProgressions/{id}"),
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(parse(&text)["data"]["repProgression"]["totalXp"], 7);
    let (s, _, text) = send(
        &client,
        &fake,
        reqwest::Method::GET,
        "/rest/repProgressions/00000000-0000-4000-8000-000000000000",
        None,
    )
    .await;
    assert_eq!(s, 404);
    assert!(text.contains("Record not found"));
    fake.shutdown().await;
}

#[tokio::test]
async fn apply_then_drop_applies_but_never_answers() {
    let (fake, client) = start(FakeConfig::default()).await;
    let id = seed(&fake, "a@b.c", 100, 1);
    fake.set_fault(Fault::times(FaultKind::ApplyThenDrop, 1));
    let res = client
        .patch(format!("{}/rest/repProgressions/{id}", fake.url()))
        .bearer_auth(fake.api_key())
        .json(&json!({"totalXp": 130, "syncRevision": 2}))
        .send()
        .await;
    assert!(res.is_err(), "the connection closes without a response");
    assert_eq!(fake.records()[0]["totalXp"], 130, "but the write landed");
    assert!(fake.faults().is_empty(), "a one-shot fault is used up");
    // Next request works normally.
    let (s, _, _) = send(
        &client,
        &fake,
        reqwest::Method::GET,
        "/rest/repProgressions",
        None,
    )
    .await;
    assert_eq!(s, 200);
    fake.shutdown().await;
}

#[tokio::test]
async fn admin_endpoint_sets_faults_over_http() {
    let (fake, client) = start(FakeConfig::default()).await;
    let resp = client
        .post(format!("{}/__fake/faults", fake.url()))
        .json(
            &json!([{"kind":"server_error","status":503,"times":1,"method":"GET"},
                      {"kind":"auth_failure","times":1,"method":"POST"}]),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(fake.faults().len(), 2);
    let (s, _, text) = send(
        &client,
        &fake,
        reqwest::Method::GET,
        "/rest/repProgressions",
        None,
    )
    .await;
    assert_eq!(s, 503);
    assert!(text.contains("ServiceUnavailableException"));
    let (s, _, _) = send(
        &client,
        &fake,
        reqwest::Method::POST,
        "/rest/repProgressions",
        Some(json!({"repEmail":"q@r.s"})),
    )
    .await;
    assert_eq!(s, 403);
    let (s, _, _) = send(
        &client,
        &fake,
        reqwest::Method::GET,
        "/rest/repProgressions",
        None,
    )
    .await;
    assert_eq!(s, 200);
    let state: Value = client
        .get(format!("{}/__fake/state", fake.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["stats"]["total"], 3);
    assert_eq!(state["faults"], json!([]));
    assert_eq!(state["records"], json!([]));
    let reset = client
        .post(format!("{}/__fake/reset", fake.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status().as_u16(), 200);
    assert_eq!(fake.stats().total, 0);
    fake.shutdown().await;
}

#[tokio::test]
async fn concurrent_writer_makes_the_cas_miss() {
    let (fake, client) = start(FakeConfig::default()).await;
    let id = seed(&fake, "a@b.c", 100, 3);
    fake.set_fault(Fault::times(
        FaultKind::ConcurrentWriter {
            xp: 25,
            bump_revision: true,
            add_boss: Some("hydra".into()),
            rep_email: Some("a@b.c".into()),
        },
        1,
    ));
    let (s, _, text) = send(
        &client,
        &fake,
        reqwest::Method::PATCH,
        &format!("/rest/repProgressions?filter=and(id[eq]:{id},syncRevision[eq]:3)"),
        Some(json!({"totalXp": 110, "syncRevision": 4})),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(text, r#"{"data":{"updateRepProgressions":[]}}"#);
    let r = &fake.records()[0];
    assert_eq!(r["totalXp"], 125);
    assert_eq!(r["syncRevision"], 4);
    assert_eq!(r["defeatedBosses"], "[\"hydra\"]");
    fake.shutdown().await;
}

#[tokio::test]
async fn hang_and_refuse_and_malformed() {
    let (fake, _) = start(FakeConfig::default()).await;
    let short = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    fake.set_fault(Fault::times(FaultKind::Hang, 1));
    let r = short
        .get(format!("{}/rest/repProgressions", fake.url()))
        .bearer_auth(fake.api_key())
        .send()
        .await;
    assert!(r.is_err_and(|e| e.is_timeout()));
    fake.set_fault(Fault::times(FaultKind::RefuseConnections, 1));
    let r = short
        .get(format!("{}/rest/repProgressions", fake.url()))
        .bearer_auth(fake.api_key())
        .send()
        .await;
    assert!(r.is_err());
    assert_eq!(fake.stats().connections_refused, 1);
    fake.set_fault(Fault::times(FaultKind::MalformedJson, 1));
    let r = short
        .get(format!("{}/rest/repProgressions", fake.url()))
        .bearer_auth(fake.api_key())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.json::<Value>().await.is_err());
    fake.shutdown().await;
}

/// The legacy GraphQL-proxy envelopes (`data.createOneObject`, `data.objects`). The newest
/// format has its own test: `profile_tests::metadata_envelopes_by_profile`.
#[tokio::test]
async fn metadata_lists_and_creates() {
    let (fake, client) = start(FakeConfig {
        profile: TwentyProfile::June2025,
        schema: SchemaPreset::NoObject,
        ..FakeConfig::default()
    })
    .await;
    let (s, _, text) = send(
        &client,
        &fake,
        reqwest::Method::GET,
        "/rest/repProgressions",
        None,
    )
    .await;
    assert_eq!(s, 400);
    assert!(text.contains("object 'repProgressions' not found. eg: companies"));
    let (s, _, text) = send(
        &client,
        &fake,
        reqwest::Method::POST,
        "/rest/metadata/objects",
        Some(json!({"nameSingular":"repProgression","namePlural":"repProgressions",
                    "labelSingular":"Rep progression","labelPlural":"Rep progressions","icon":"IconTrophy"})),
    )
    .await;
    assert_eq!(s, 201, "{text}");
    let object_id = parse(&text)["data"]["createOneObject"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, _, text) = send(
        &client,
        &fake,
        reqwest::Method::POST,
        "/rest/metadata/fields",
        Some(json!({"objectMetadataId": object_id, "type":"NUMBER","name":"syncRevision",
                    "label":"Sync revision","settings":{"dataType":"int","decimals":0,"type":"number"}})),
    )
    .await;
    assert_eq!(s, 201, "{text}");
    assert_eq!(parse(&text)["data"]["createOneField"]["type"], "NUMBER");
    let (s, _, text) = send(
        &client,
        &fake,
        reqwest::Method::GET,
        "/rest/metadata/objects",
        None,
    )
    .await;
    assert_eq!(s, 200);
    let v = parse(&text);
    let fields = v["data"]["objects"][0]["fields"].as_array().unwrap();
    assert!(fields.iter().any(|f| f["name"] == "syncRevision"));
    let (s, _, _) = send(
        &client,
        &fake,
        reqwest::Method::POST,
        "/rest/repProgressions",
        Some(json!({"syncRevision": 1})),
    )
    .await;
    assert_eq!(s, 201);
    assert_eq!(fake.stats().kind("metadata_create_field"), 1);
    fake.shutdown().await;
}
