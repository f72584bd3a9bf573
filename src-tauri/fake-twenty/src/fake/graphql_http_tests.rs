//! `POST /graphql` through real HTTP: authentication, counting, the rate limit and the injected
//! faults, as on the REST records API. Expected answers are the real June 2025 server's (Twenty
//! 7f19111, checked with tests/twenty-compat/compare.py) unless a test names another source.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use super::tests::{parse, seed, start};
use super::*;

const SELECTION: &str = "{ id name createdAt updatedAt deletedAt totalXp level defeatedBosses passedExams efficiencyMetrics lastActivityDate syncWatermarks syncRevision repEmail }";

fn cas_query() -> String {
    format!("mutation RepXPWrite($filter: RepProgressionFilterInput!, $data: RepProgressionUpdateInput!) {{ updateRepProgressions(filter: $filter, data: $data) {SELECTION} }}")
}

fn find_query() -> String {
    format!("query RepXPFind($filter: RepProgressionFilterInput!) {{ repProgressions(filter: $filter, first: 60) {{ edges {{ node {SELECTION} }} }} }}")
}

async fn gql(
    fake: &FakeTwenty,
    client: &reqwest::Client,
    key: Option<&str>,
    query: &str,
    variables: Value,
) -> (u16, String) {
    let mut rb = client
        .request(Method::POST, format!("{}/graphql", fake.url()))
        .json(&json!({"query": query, "variables": variables}));
    if let Some(k) = key {
        rb = rb.bearer_auth(k);
    }
    let resp = rb.send().await.expect("response");
    let status = resp.status().as_u16();
    (status, resp.text().await.expect("body"))
}

/// The filter RepXP's engine builds from the record it read (graphql.rs `cas_filter`).
fn cas_filter(rec: &Value) -> Value {
    let t = rec["updatedAt"].as_str().unwrap();
    let ms: u32 = t[20..23].parse().unwrap();
    json!({"and": [
        {"id": {"eq": rec["id"]}}, {"deletedAt": {"is": "NULL"}},
        {"updatedAt": {"gte": t}}, {"updatedAt": {"lt": format!("{}{:03}Z", &t[..20], ms + 1)}},
        {"syncRevision": {"eq": rec["syncRevision"]}}, {"totalXp": {"eq": rec["totalXp"]}}
    ]})
}

fn june() -> FakeConfig {
    FakeConfig::for_profile(TwentyProfile::June2025)
}

#[tokio::test]
async fn the_engines_compare_and_set_and_trash_lookup() {
    let (fake, client) = start(june()).await;
    let key = fake.api_key();
    seed(&fake, "ana@acme.test", 40, 3);
    let rec = fake.live_records()[0].clone();
    let (s, t) = gql(
        &fake,
        &client,
        Some(&key),
        &cas_query(),
        json!({"filter": cas_filter(&rec), "data": {"totalXp": 45, "syncRevision": 4}}),
    )
    .await;
    assert_eq!(s, 200, "{t}");
    assert_eq!(parse(&t)["data"]["updateRepProgressions"][0]["totalXp"], 45);
    assert_eq!(fake.live_records()[0]["totalXp"], 45);
    let (s, t) = gql(
        &fake,
        &client,
        Some(&key),
        &cas_query(),
        json!({"filter": cas_filter(&rec), "data": {"totalXp": 50}}),
    )
    .await;
    assert_eq!(
        (s, t.as_str()),
        (
            200,
            r#"{"errors":[{"message":"Records not found","extensions":{"code":"NOT_FOUND"}}],"data":{"updateRepProgressions":null}}"#
        ),
        "the stale write misses"
    );
    // The doctor's probe: nothing matches, nothing changes.
    let probe =
        json!({"filter": {"id": {"eq": "00000000-0000-4000-8000-000000000000"}}, "data": {}});
    let (_, t) = gql(&fake, &client, Some(&key), &cas_query(), probe).await;
    assert!(t.contains("NOT_FOUND"), "{t}");
    // Trashed by an admin: REST cannot see it, GraphQL finds it when asked for the trash.
    let id = rec["id"].as_str().unwrap().to_string();
    assert!(fake.soft_delete(&id));
    let (s, _, _) = super::tests::send(
        &client,
        &fake,
        Method::GET,
        &format!("/rest/repProgressions/{id}"),
        None,
    )
    .await;
    assert_eq!(s, 400);
    let f = json!({"and": [{"deletedAt": {"is": "NOT_NULL"}}, {"or": [{"id": {"eq": id}}, {"repEmail": {"ilike": "ANA@acme.test"}}]}]});
    let (_, t) = gql(
        &fake,
        &client,
        Some(&key),
        &find_query(),
        json!({"filter": f}),
    )
    .await;
    assert_eq!(
        parse(&t)["data"]["repProgressions"]["edges"][0]["node"]["id"],
        id.as_str()
    );
    let (_, t) = gql(&fake, &client, Some(&key), &cas_query(), json!({"filter": {"and": [{"id": {"eq": id}}, {"deletedAt": {"is": "NULL"}}]}, "data": {"totalXp": 1}})).await;
    assert!(
        t.contains("Records not found"),
        "never written in the trash: {t}"
    );
    let stats = fake.stats();
    assert_eq!(stats.graphql, 5);
    assert_eq!(stats.kind("update_many"), 4);
    assert_eq!(stats.kind("find_many"), 1);
    assert_eq!(stats.method("POST"), 5);
    fake.shutdown().await;
}

/// Auth, as the real server answered: a foreign token 200 `UNAUTHENTICATED` "No payload"; no
/// token: the public schema knows no records types.
#[tokio::test]
async fn graphql_auth_answers() {
    let (fake, client) = start(FakeConfig {
        expired_keys: vec!["old".into()],
        ..june()
    })
    .await;
    let (s, t) = gql(
        &fake,
        &client,
        Some("not-a-jwt"),
        &find_query(),
        json!({"filter": {}}),
    )
    .await;
    assert_eq!(
        (s, t.as_str()),
        (
            200,
            r#"{"errors":[{"message":"No payload","extensions":{"code":"UNAUTHENTICATED"}}]}"#
        )
    );
    let (s, t) = gql(
        &fake,
        &client,
        Some("old"),
        &find_query(),
        json!({"filter": {}}),
    )
    .await;
    assert_eq!(
        (s, t.as_str()),
        (
            200,
            r#"{"errors":[{"message":"Token has expired.","extensions":{"code":"UNAUTHENTICATED"}}]}"#
        )
    );
    let (s, t) = gql(&fake, &client, None, &cas_query(), json!({})).await;
    assert_eq!(
        (s, t.as_str()),
        (
            200,
            r#"{"errors":[{"message":"Unknown type \"RepProgressionFilterInput\".","locations":[{"line":1,"column":30}]},{"message":"Unknown type \"RepProgressionUpdateInput\".","locations":[{"line":1,"column":65}]},{"message":"Cannot query field \"updateRepProgressions\" on type \"Mutation\".","locations":[{"line":1,"column":95}]}]}"#
        )
    );
    assert_eq!(fake.stats().auth_failures, 3);
    // A malformed body: Express' answer.
    let resp = client
        .post(format!("{}/graphql", fake.url()))
        .bearer_auth(fake.api_key())
        .header("content-type", "application/json")
        .body("{\"query\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    assert_eq!(
        resp.text().await.unwrap(),
        r#"{"statusCode":400,"message":"Unexpected end of JSON input","error":"Bad Request"}"#
    );
    fake.shutdown().await;
}

/// The per-workspace bucket applies to GraphQL records requests too; June 2025's refusal is the
/// GraphQL throttle's (`Too many requests.`, INTERNAL_SERVER_ERROR; Inferred from
/// use-throttler.ts, see graphql/mod.rs `throttled`), the newest's `RATE_LIMITED` (Unverified).
#[tokio::test]
async fn rate_limit_applies_to_graphql() {
    for profile in TwentyProfile::ALL {
        let (fake, client) = start(FakeConfig {
            rate_limit: 2,
            ..FakeConfig::for_profile(profile)
        })
        .await;
        let key = fake.api_key();
        let (s, _, _) =
            super::tests::send(&client, &fake, Method::GET, "/rest/repProgressions", None).await;
        assert_eq!(s, 200);
        let (s, t) = gql(
            &fake,
            &client,
            Some(&key),
            &find_query(),
            json!({"filter": {}}),
        )
        .await;
        assert_eq!(s, 200, "{t}");
        assert!(parse(&t).get("errors").is_none(), "{t}");
        // An invalid document is not throttled: it never runs.
        let (s, _) = gql(&fake, &client, Some(&key), "query { nope }", json!({})).await;
        assert_eq!(s, 200);
        let (s, t) = gql(
            &fake,
            &client,
            Some(&key),
            &find_query(),
            json!({"filter": {}}),
        )
        .await;
        assert_eq!(s, 200);
        let v = parse(&t);
        assert_eq!(v["data"]["repProgressions"], Value::Null, "{t}");
        let (message, code) = match profile {
            TwentyProfile::June2025 => ("Too many requests.", "INTERNAL_SERVER_ERROR"),
            TwentyProfile::Newest => (
                "Rate limit exceeded for apiKey: 2 requests per 60s.",
                "RATE_LIMITED",
            ),
        };
        assert_eq!(v["errors"][0]["message"], message, "{profile}: {t}");
        assert_eq!(v["errors"][0]["extensions"]["code"], code);
        if profile == TwentyProfile::Newest {
            let x = &v["errors"][0]["extensions"];
            assert_eq!(
                (x["limit"].as_u64(), x["periodCount"].as_u64()),
                (Some(2), Some(60)),
                "{t}"
            );
            assert!(
                x["retryAfterMs"]
                    .as_u64()
                    .is_some_and(|ms| (1000..=30_000).contains(&ms)),
                "{t}"
            );
        }
        assert_eq!(fake.stats().rate_limited, 1);
        fake.shutdown().await;
    }
}

/// The fault kinds of `faults.rs` on GraphQL writes: a workspace that refuses values answers in
/// GraphQL's form (400 `BAD_USER_INPUT`, as a value its types refuse); another writer lands
/// before the compare-and-set, which then misses; a lost reply is applied; 5xx; reads do not take
/// write faults.
#[tokio::test]
async fn faults_apply_to_graphql_writes() {
    let (fake, client) = start(june()).await;
    let key = fake.api_key();
    seed(&fake, "ana@acme.test", 40, 3);
    let rec = fake.live_records()[0].clone();

    fake.set_fault(Fault::times(
        FaultKind::RejectWrites {
            contains: "\"level\"".into(),
            status: 400,
            message: "Value not allowed".into(),
        },
        1,
    ));
    let (s, t) = gql(
        &fake,
        &client,
        Some(&key),
        &cas_query(),
        json!({"filter": cas_filter(&rec), "data": {"level": 9}}),
    )
    .await;
    assert_eq!(
        (s, t.as_str()),
        (
            400,
            r#"{"errors":[{"message":"Value not allowed","extensions":{"code":"BAD_USER_INPUT"}}]}"#
        )
    );
    assert_eq!(fake.live_records()[0]["level"], 1, "not applied");

    fake.set_fault(Fault::times(
        FaultKind::OtherWriter(OtherWrite {
            xp: 5,
            ..OtherWrite::default()
        }),
        1,
    ));
    // A read does not take it.
    gql(
        &fake,
        &client,
        Some(&key),
        &find_query(),
        json!({"filter": {}}),
    )
    .await;
    assert_eq!(fake.faults().len(), 1);
    let (_, t) = gql(
        &fake,
        &client,
        Some(&key),
        &cas_query(),
        json!({"filter": cas_filter(&rec), "data": {"totalXp": 41}}),
    )
    .await;
    assert!(
        t.contains("Records not found"),
        "the other writer moved updatedAt: {t}"
    );
    assert_eq!(fake.live_records()[0]["totalXp"], 45);

    let rec = fake.live_records()[0].clone();
    fake.set_fault(Fault::times(FaultKind::ApplyThenDrop, 1));
    let res = client
        .post(format!("{}/graphql", fake.url()))
        .bearer_auth(&key)
        .json(&json!({"query": cas_query(), "variables": {"filter": cas_filter(&rec), "data": {"totalXp": 46}}}))
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    assert!(res.is_err(), "no answer");
    assert_eq!(fake.live_records()[0]["totalXp"], 46, "but applied");

    fake.set_fault(Fault::times(FaultKind::ServerError { status: 503 }, 1));
    let (s, _) = gql(
        &fake,
        &client,
        Some(&key),
        &find_query(),
        json!({"filter": {}}),
    )
    .await;
    assert_eq!(s, 503);
    fake.shutdown().await;
}

/// June 2025 REST next to its GraphQL, as the real server answers (compare.py): no REST
/// update-many (`Record ID not found`), `DELETE` destroys whatever `soft_delete` says, the trash
/// is invisible to REST, no restore route, a value of the wrong type is stored as null (and read
/// through GraphQL as a serialization error), TEXT columns default to `""`, `name` to
/// `"Untitled"`, a REST create leaves `position` null, duplicates are accepted, and `totalCount`
/// counts from the cursor on.
#[tokio::test]
async fn june_2025_rest_as_the_real_server() {
    use super::tests::send;
    let (fake, client) = start(june()).await;
    let (s, _, t) = send(
        &client,
        &fake,
        Method::POST,
        "/rest/repProgressions",
        Some(json!({"repEmail": "b@acme.test", "level": "high"})),
    )
    .await;
    assert_eq!(s, 201, "{t}");
    let created = parse(&t)["data"]["createRepProgression"].clone();
    assert_eq!(created["level"], Value::Null);
    assert_eq!(created["name"], "Untitled");
    assert_eq!(created["passedExams"], "");
    assert_eq!(created["position"], Value::Null);
    let id = created["id"].as_str().unwrap().to_string();
    let (_, t) = gql(
        &fake,
        &client,
        Some(&fake.api_key()),
        &find_query(),
        json!({"filter": {"id": {"eq": id}}}),
    )
    .await;
    assert_eq!(
        parse(&t)["errors"][0]["message"],
        "Int cannot represent non-integer value: NaN"
    );

    let (s, _, _) = send(
        &client,
        &fake,
        Method::POST,
        "/rest/repProgressions",
        Some(json!({"repEmail": "b@acme.test"})),
    )
    .await;
    assert_eq!(s, 201, "no unique index on 7f19111");

    let (s, _, t) = send(
        &client,
        &fake,
        Method::PATCH,
        "/rest/repProgressions?filter=repEmail%5Beq%5D%3Ab%40acme.test",
        Some(json!({"level": 2})),
    )
    .await;
    assert_eq!(
        (s, t.as_str()),
        (
            400,
            r#"{"statusCode":400,"error":"BadRequestException","messages":["Record ID not found"]}"#
        )
    );
    let (s, _, t) = send(
        &client,
        &fake,
        Method::PATCH,
        &format!("/rest/repProgressions/{id}/restore"),
        Some(json!({})),
    )
    .await;
    assert_eq!((s, t.as_str()), (400, format!(r#"{{"statusCode":400,"error":"BadRequestException","messages":["'{id}ore' is not a valid UUID"]}}"#).as_str()));

    let (s, _, _) = send(
        &client,
        &fake,
        Method::DELETE,
        &format!("/rest/repProgressions/{id}?soft_delete=true"),
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert!(
        fake.records().iter().all(|r| r["id"] != id.as_str()),
        "destroyed, not trashed"
    );

    let other = fake.live_records()[0]["id"].as_str().unwrap().to_string();
    assert!(fake.soft_delete(&other));
    for (method, path) in [
        (Method::GET, format!("/rest/repProgressions/{other}")),
        (Method::PATCH, format!("/rest/repProgressions/{other}")),
        (Method::DELETE, format!("/rest/repProgressions/{other}")),
    ] {
        let (s, _, t) = send(
            &client,
            &fake,
            method.clone(),
            &path,
            Some(json!({"level": 1})),
        )
        .await;
        assert_eq!(s, 400, "{method}: {t}");
    }
    let (_, _, t) = send(
        &client,
        &fake,
        Method::GET,
        "/rest/repProgressions?filter=deletedAt%5Bis%5D%3ANOT_NULL",
        None,
    )
    .await;
    assert_eq!(parse(&t)["totalCount"], 0, "REST never lists the trash");

    for e in ["p1@acme.test", "p2@acme.test", "p3@acme.test"] {
        fake.insert_record(json!({"repEmail": e}));
    }
    let (_, _, t) = send(
        &client,
        &fake,
        Method::GET,
        "/rest/repProgressions?filter=repEmail%5Blike%5D%3Ap%25&limit=2",
        None,
    )
    .await;
    let page = parse(&t);
    assert!(
        t.find("\"pageInfo\"").unwrap() < t.find("\"totalCount\"").unwrap(),
        "{t}"
    );
    assert_eq!(
        (
            page["totalCount"].as_u64(),
            page["pageInfo"]["hasNextPage"].as_bool()
        ),
        (Some(3), Some(true))
    );
    assert!(page["pageInfo"].get("hasPreviousPage").is_none());
    let cursor = page["pageInfo"]["endCursor"].as_str().unwrap().to_string();
    let (_, _, t) = send(&client, &fake, Method::GET, &format!("/rest/repProgressions?filter=repEmail%5Blike%5D%3Ap%25&limit=2&starting_after={cursor}"), None).await;
    let page = parse(&t);
    assert_eq!(page["totalCount"], 1, "counted from the cursor on");
    assert_eq!(page["pageInfo"]["hasNextPage"], false);
    fake.shutdown().await;
}
