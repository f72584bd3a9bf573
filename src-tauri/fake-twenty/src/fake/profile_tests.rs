//! Loopback tests of the server-version profiles (`profile.rs`): each test names the Twenty
//! source or spec it checks (paths under packages/twenty-server/ unless written in full; commits
//! from /work/twenty-research-11.md).

use reqwest::Method;
use serde_json::{json, Value};

use super::tests::{parse, seed, start};
use super::*;

/// One request with an explicit key (`None`: no `Authorization` header).
async fn call(
    fake: &FakeTwenty,
    client: &reqwest::Client,
    method: Method,
    path: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut rb = client.request(method, format!("{}{}", fake.url(), path));
    if let Some(k) = key {
        rb = rb.bearer_auth(k);
    }
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let resp = rb.send().await.expect("response");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.text().await.expect("body"))
}

/// The same with the main key, status and body only.
async fn go(
    fake: &FakeTwenty,
    client: &reqwest::Client,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, String) {
    let key = fake.api_key();
    let (s, _, t) = call(fake, client, method, path, Some(&key), body).await;
    (s, t)
}

fn profile_config(profile: TwentyProfile) -> FakeConfig {
    FakeConfig::for_profile(profile)
}

#[test]
fn for_profile_sets_the_profile_knobs() {
    let legacy = FakeConfig::for_profile(TwentyProfile::June2025);
    assert_eq!(legacy.profile, TwentyProfile::June2025);
    assert_eq!(legacy.rate_limit_style, RateLimitStyle::Legacy);
    assert!(legacy.legacy_datetime_filters);
    assert_eq!(legacy.app_version, None);
    let newest = FakeConfig::for_profile(TwentyProfile::Newest);
    assert_eq!(newest.rate_limit_style, RateLimitStyle::Modern);
    assert!(!newest.legacy_datetime_filters);
    assert_eq!(newest.app_version.as_deref(), Some(NEWEST_APP_VERSION));
    let d = FakeConfig::default();
    assert_eq!(d.profile, TwentyProfile::Newest);
    assert_eq!(
        d.rate_limit_style,
        RateLimitStyle::Legacy,
        "the default keeps its historical 429 form"
    );
    assert_eq!(d.effective_metadata_page_size(), 1000);
    assert_eq!(d.rep_email_type, RepEmailType::Text);
    assert_eq!(d.extra_objects, 0);
}

/// Newest: object-metadata.controller.ts / field-metadata.controller.ts (`00b50cd5`) with the flag
/// on, checked against object-metadata.integration-spec.ts and field-metadata.integration-spec.ts
/// (`0d4d9aa6`: `Array.isArray(body.data)`, "inlines fields[] on each object", create 201 with the
/// bare object, PATCH field "returns 400 for an unknown id"). Legacy: the GraphQL proxy,
/// rest-api-metadata.controller.ts (`7f07be1`) + clean-graphql-response.utils.ts (`0c103ab`).
#[tokio::test]
async fn metadata_envelopes_by_profile() {
    // Newest.
    let (fake, client) = start(profile_config(TwentyProfile::Newest)).await;
    let (s, t) = go(&fake, &client, Method::GET, "/rest/metadata/objects", None).await;
    assert_eq!(s, 200, "{t}");
    assert!(t.starts_with(r#"{"data":[{"#), "{t}");
    let v = parse(&t);
    assert_eq!(v["totalCount"], 1);
    assert_eq!(
        v["pageInfo"],
        json!({"hasNextPage": false, "hasPreviousPage": false,
               "startCursor": v["data"][0]["id"], "endCursor": v["data"][0]["id"]})
    );
    let rep = &v["data"][0];
    assert_eq!(rep["nameSingular"], "repProgression");
    let rep_id = rep["id"].as_str().unwrap().to_string();
    let fields = rep["fields"].as_array().unwrap();
    let email = fields.iter().find(|f| f["name"] == "repEmail").unwrap();
    assert_eq!(email["objectMetadataId"], rep_id.as_str());
    assert_eq!(email["isUnique"], true);
    assert_eq!(email["type"], "TEXT");
    for key in [
        "id",
        "label",
        "isNullable",
        "isCustom",
        "isActive",
        "isSystem",
    ] {
        assert!(email.get(key).is_some(), "{key} in {email}");
    }
    let xp = fields.iter().find(|f| f["name"] == "totalXp").unwrap();
    assert_eq!(xp["settings"]["dataType"], "int");

    let (s, t) = go(
        &fake,
        &client,
        Method::GET,
        &format!("/rest/metadata/objects/{rep_id}"),
        None,
    )
    .await;
    assert_eq!(s, 200);
    let v = parse(&t);
    assert_eq!(v["id"], rep_id.as_str(), "bare object");
    assert!(v["fields"].as_array().unwrap().len() > 9);
    let (s, _) = go(
        &fake,
        &client,
        Method::GET,
        "/rest/metadata/objects/0b7d2b8e-6a8f-4c41-9d4e-7d2f8a1b3c4d",
        None,
    )
    .await;
    assert_eq!(s, 404);
    let (s, t) = go(
        &fake,
        &client,
        Method::GET,
        "/rest/metadata/objects/not-a-uuid",
        None,
    )
    .await;
    assert_eq!(s, 400, "{t}");

    let (s, t) = go(
        &fake,
        &client,
        Method::POST,
        "/rest/metadata/objects",
        Some(json!({"nameSingular":"badge","namePlural":"badges",
                    "labelSingular":"Badge","labelPlural":"Badges"})),
    )
    .await;
    assert_eq!(s, 201, "{t}");
    let created = parse(&t);
    assert_eq!(created["nameSingular"], "badge");
    let names: Vec<&str> = created["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"id") && names.contains(&"createdAt"),
        "{names:?}"
    );
    let (s, t) = go(
        &fake,
        &client,
        Method::POST,
        "/rest/metadata/fields",
        Some(
            json!({"objectMetadataId": created["id"], "type": "NUMBER", "name": "points",
                    "label": "Points"}),
        ),
    )
    .await;
    assert_eq!(s, 201, "{t}");
    let field = parse(&t);
    assert_eq!(field["name"], "points", "bare field");
    assert_eq!(field["objectMetadataId"], created["id"]);
    let (s, t) = go(&fake, &client, Method::GET, "/rest/metadata/fields", None).await;
    assert_eq!(s, 200);
    let v = parse(&t);
    assert!(v["data"].is_array());
    assert_eq!(
        v["totalCount"].as_u64().unwrap() as usize,
        v["data"].as_array().unwrap().len()
    );
    let fid = field["id"].as_str().unwrap();
    let (s, t) = go(
        &fake,
        &client,
        Method::PATCH,
        &format!("/rest/metadata/fields/{fid}"),
        Some(json!({"label": "Badge points", "description": "earned"})),
    )
    .await;
    assert_eq!(s, 200, "{t}");
    let v = parse(&t);
    assert_eq!(
        (v["label"].as_str(), v["description"].as_str()),
        (Some("Badge points"), Some("earned"))
    );
    let (s, _) = go(
        &fake,
        &client,
        Method::PATCH,
        "/rest/metadata/fields/0b7d2b8e-6a8f-4c41-9d4e-7d2f8a1b3c4d",
        Some(json!({"label": "x"})),
    )
    .await;
    assert_eq!(s, 400, "unknown field id on PATCH is 400, not 404");
    fake.shutdown().await;

    // Legacy.
    let (fake, client) = start(profile_config(TwentyProfile::June2025)).await;
    let (s, t) = go(&fake, &client, Method::GET, "/rest/metadata/objects", None).await;
    assert_eq!(s, 200);
    assert!(t.starts_with(r#"{"data":{"objects":[{"#), "{t}");
    let v = parse(&t);
    assert!(v.get("totalCount").is_none());
    assert_eq!(v["pageInfo"]["hasNextPage"], false);
    assert!(v["data"]["objects"][0]["fields"].is_array());
    let rep_id = v["data"]["objects"][0]["id"].as_str().unwrap().to_string();
    let (s, t) = go(
        &fake,
        &client,
        Method::GET,
        &format!("/rest/metadata/objects/{rep_id}"),
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(parse(&t)["data"]["object"]["id"], rep_id.as_str());
    let (s, t) = go(
        &fake,
        &client,
        Method::POST,
        "/rest/metadata/objects",
        Some(json!({"nameSingular":"badge","namePlural":"badges",
                    "labelSingular":"Badge","labelPlural":"Badges"})),
    )
    .await;
    assert_eq!(s, 201);
    let created = parse(&t)["data"]["createOneObject"].clone();
    assert_eq!(created["nameSingular"], "badge");
    let (s, t) = go(
        &fake,
        &client,
        Method::POST,
        "/rest/metadata/fields",
        Some(
            json!({"objectMetadataId": created["id"], "type": "NUMBER", "name": "points",
                    "label": "Points"}),
        ),
    )
    .await;
    assert_eq!(s, 201);
    let fid = parse(&t)["data"]["createOneField"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, t) = go(
        &fake,
        &client,
        Method::PATCH,
        &format!("/rest/metadata/fields/{fid}"),
        Some(json!({"label": "Badge points"})),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(parse(&t)["data"]["updateOneField"]["label"], "Badge points");
    let (s, t) = go(&fake, &client, Method::GET, "/rest/metadata/fields", None).await;
    assert_eq!(s, 200);
    assert!(parse(&t)["data"]["fields"].is_array());
    assert_eq!(fake.stats().kind("metadata_update_field"), 1);
    fake.shutdown().await;
}

/// Follows `hasNextPage` / `endCursor` through every page and returns the ids in order, checking
/// `totalCount` stays the same (newest) on every page.
async fn walk_newest(fake: &FakeTwenty, client: &reqwest::Client, first: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut path = first.to_string();
    let mut total = None;
    loop {
        let (s, t) = go(fake, client, Method::GET, &path, None).await;
        assert_eq!(s, 200, "{t}");
        let v = parse(&t);
        let count = v["totalCount"].as_u64().unwrap();
        assert_eq!(*total.get_or_insert(count), count, "totalCount is stable");
        ids.extend(
            v["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["id"].as_str().unwrap().to_string()),
        );
        if v["pageInfo"]["hasNextPage"] != true {
            return ids;
        }
        path = format!(
            "/rest/metadata/objects?starting_after={}",
            v["pageInfo"]["endCursor"].as_str().unwrap()
        );
    }
}

/// New-format paging over 150 extra objects with the early iteration's page size of 60
/// (parse-limit-rest-request.util.spec.ts `199dbd5f`): parse-metadata-rest-pagination.util.ts
/// (`41d24255`: both cursors / a non-UUID cursor -> 400), paginate-metadata-items-by-id.util.ts
/// (`20e4faf6`: `id DESC`), build-metadata-cursor-page.util.ts (`41d24255`: raw-id cursors) and
/// build-cursor-page.util.ts (`163788b2`: `hasPreviousPage`). Legacy: get-metadata-variables.factory.ts
/// (`253aa222`: `paging: {first, after}`; both cursors -> 400 "Only one of …").
#[tokio::test]
async fn metadata_paging_hides_rep_progression_past_page_one() {
    let config = |profile| FakeConfig {
        extra_objects: 150,
        metadata_page_size: Some(60),
        ..FakeConfig::for_profile(profile)
    };
    let (fake, client) = start(config(TwentyProfile::Newest)).await;
    let rep_id = fake.rep_object_id().unwrap();
    let (s, t) = go(&fake, &client, Method::GET, "/rest/metadata/objects", None).await;
    assert_eq!(s, 200);
    let first = parse(&t);
    assert_eq!(first["data"].as_array().unwrap().len(), 60);
    assert_eq!(first["totalCount"], 151);
    assert_eq!(first["pageInfo"]["hasNextPage"], true);
    assert_eq!(first["pageInfo"]["hasPreviousPage"], false);
    assert!(
        !t.contains("\"repProgression\""),
        "repProgression is not on the first page"
    );
    // A larger limit is capped at the page size.
    let (_, t) = go(
        &fake,
        &client,
        Method::GET,
        "/rest/metadata/objects?limit=500",
        None,
    )
    .await;
    assert_eq!(parse(&t)["data"].as_array().unwrap().len(), 60);

    let ids = walk_newest(&fake, &client, "/rest/metadata/objects").await;
    assert_eq!(ids.len(), 151);
    let mut sorted = ids.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(ids, sorted, "id DESC across pages");
    assert_eq!(ids.last(), Some(&rep_id), "repProgression comes last");

    // Backward from page 2's start gives page 1 again.
    let page2_start = &ids[60];
    let (_, t) = go(
        &fake,
        &client,
        Method::GET,
        &format!("/rest/metadata/objects?ending_before={page2_start}"),
        None,
    )
    .await;
    let back = parse(&t);
    let back_ids: Vec<&str> = back["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        back_ids,
        ids[..60].iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert_eq!(back["pageInfo"]["hasNextPage"], true);
    assert_eq!(back["pageInfo"]["hasPreviousPage"], false);

    let (s, t) = go(
        &fake,
        &client,
        Method::GET,
        &format!("/rest/metadata/objects?starting_after={rep_id}&ending_before={rep_id}"),
        None,
    )
    .await;
    assert_eq!(s, 400);
    assert!(
        t.contains("'starting_after' and 'ending_before' cannot be used together."),
        "{t}"
    );
    let (s, t) = go(
        &fake,
        &client,
        Method::GET,
        "/rest/metadata/objects?starting_after=abc",
        None,
    )
    .await;
    assert_eq!(s, 400);
    assert!(t.contains("Invalid cursor: abc"), "{t}");
    // The field list pages the same way.
    let (_, t) = go(&fake, &client, Method::GET, "/rest/metadata/fields", None).await;
    let v = parse(&t);
    assert_eq!(v["data"].as_array().unwrap().len(), 60);
    assert_eq!(v["totalCount"], 150 * 9 + 16);
    fake.shutdown().await;

    // Legacy: list order, repProgression last, opaque cursors.
    let (fake, client) = start(config(TwentyProfile::June2025)).await;
    let mut path = "/rest/metadata/objects".to_string();
    let mut names = Vec::new();
    loop {
        let (s, t) = go(&fake, &client, Method::GET, &path, None).await;
        assert_eq!(s, 200, "{t}");
        let v = parse(&t);
        let page: Vec<String> = v["data"]["objects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["nameSingular"].as_str().unwrap().to_string())
            .collect();
        if names.is_empty() {
            assert_eq!(page.len(), 60);
            assert!(!page.iter().any(|n| n == "repProgression"));
        }
        names.extend(page);
        if v["pageInfo"]["hasNextPage"] != true {
            break;
        }
        let cursor = v["pageInfo"]["endCursor"].as_str().unwrap();
        assert!(!is_uuid_text(cursor), "legacy cursors are opaque: {cursor}");
        path = format!("/rest/metadata/objects?starting_after={cursor}");
    }
    assert_eq!(names.len(), 151);
    assert_eq!(names.last().map(String::as_str), Some("repProgression"));
    let (s, t) = go(
        &fake,
        &client,
        Method::GET,
        "/rest/metadata/objects?starting_after=x&ending_before=y",
        None,
    )
    .await;
    assert_eq!(s, 400);
    assert!(
        t.contains("Only one of 'endingBefore' and 'startingAfter' may be provided"),
        "{t}"
    );
    fake.shutdown().await;

    // Without a page size every object fits on one page.
    let (fake, client) = start(FakeConfig {
        extra_objects: 150,
        ..FakeConfig::default()
    })
    .await;
    let (_, t) = go(&fake, &client, Method::GET, "/rest/metadata/objects", None).await;
    let v = parse(&t);
    assert_eq!(v["data"].as_array().unwrap().len(), 151);
    assert_eq!(v["pageInfo"]["hasNextPage"], false);
    fake.shutdown().await;
}

fn is_uuid_text(s: &str) -> bool {
    metadata::is_uuid(s)
}

/// Not found. Legacy find-one: rest-api-find-one.handler.ts (`0380223f`, `handle()`) and the spec
/// rest-api-core-find-one.integration-spec.ts (`08ce2f83`: 400 BadRequestException "Record not
/// found"); legacy update-one: rest-api-update-one.handler.ts (`999629ce`, `findOneOrFail`) and
/// rest-api-core-update.integration-spec.ts (`f0f12a06`: 400 `EntityNotFoundError` "Could not find
/// any entity of type …"), trashed rows included (research Q4). Newest: find-one spec (`12cb8dc`)
/// and common-query-runner-to-rest-api-exception-handler.util.ts: 404 NotFoundException.
#[tokio::test]
async fn not_found_by_profile() {
    let missing = "0b7d2b8e-6a8f-4c41-9d4e-7d2f8a1b3c4d";
    let (fake, client) = start(profile_config(TwentyProfile::June2025)).await;
    let (s, t) = go(
        &fake,
        &client,
        Method::GET,
        &format!("/rest/repProgressions/{missing}"),
        None,
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(
        t,
        r#"{"statusCode":400,"error":"BadRequestException","messages":["Record not found"]}"#
    );
    let (s, t) = go(
        &fake,
        &client,
        Method::PATCH,
        &format!("/rest/repProgressions/{missing}"),
        Some(json!({"totalXp": 1})),
    )
    .await;
    assert_eq!(s, 400);
    let v = parse(&t);
    assert_eq!(v["error"], "EntityNotFoundError");
    let message = v["messages"][0].as_str().unwrap();
    assert!(
        message.starts_with("Could not find any entity of type \"repProgression\" matching:")
            && message.contains(missing),
        "{message}"
    );
    let id = seed(&fake, "a@b.c", 5, 0);
    assert!(fake.soft_delete(&id));
    let (s, t) = go(
        &fake,
        &client,
        Method::PATCH,
        &format!("/rest/repProgressions/{id}"),
        Some(json!({"totalXp": 1})),
    )
    .await;
    assert_eq!(s, 400, "legacy findOneOrFail does not see the trash: {t}");
    assert!(t.contains("EntityNotFoundError"));
    assert_eq!(fake.patch_record(&id, json!({"totalXp": 2})), None);
    fake.shutdown().await;

    let (fake, client) = start(profile_config(TwentyProfile::Newest)).await;
    for method in [Method::GET, Method::PATCH] {
        let (s, t) = go(
            &fake,
            &client,
            method,
            &format!("/rest/repProgressions/{missing}"),
            Some(json!({"totalXp": 1})),
        )
        .await;
        assert_eq!(
            (s, t.as_str()),
            (
                404,
                r#"{"statusCode":404,"error":"NotFoundException","messages":["Record not found"]}"#
            )
        );
    }
    fake.shutdown().await;
}

/// Both profiles (June 2025 answers checked on the real 7f19111 server): rest-core.middleware.ts +
/// middleware.service.ts (`45b288cd`, `writeRestResponseOnExceptionCaught`),
/// access-token.service.ts (`a0c8ee5f`, "Missing authentication token", FORBIDDEN_EXCEPTION),
/// jwt-wrapper.service.ts (`f286f269`, "No payload" / "Token invalid.", UNAUTHENTICATED) and
/// get-auth-exception-rest-status.util.ts (`124a02e5`: FORBIDDEN_EXCEPTION 403, UNAUTHENTICATED 401).
#[tokio::test]
async fn auth_by_profile() {
    let (fake, client) = start(profile_config(TwentyProfile::Newest)).await;
    let path = "/rest/repProgressions";
    let (s, _, t) = call(&fake, &client, Method::GET, path, Some("wrong"), None).await;
    assert_eq!(
        (s, t.as_str()),
        (
            401,
            r#"{"statusCode":401,"messages":["No payload"],"error":"UNAUTHENTICATED"}"#
        )
    );
    let (s, _, t) = call(
        &fake,
        &client,
        Method::GET,
        path,
        Some("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"),
        None,
    )
    .await;
    assert_eq!(
        (s, t.as_str()),
        (
            401,
            r#"{"statusCode":401,"messages":["Token invalid."],"error":"UNAUTHENTICATED"}"#
        )
    );
    let (s, _, t) = call(&fake, &client, Method::GET, path, None, None).await;
    assert_eq!(
        (s, t.as_str()),
        (
            403,
            r#"{"statusCode":403,"messages":["Missing authentication token"],"error":"FORBIDDEN_EXCEPTION"}"#
        )
    );
    let (s, _, t) = call(
        &fake,
        &client,
        Method::GET,
        "/rest/metadata/objects",
        Some("wrong"),
        None,
    )
    .await;
    assert_eq!(s, 401, "{t}");
    // The metadata GraphQL endpoint answers auth errors inside a 200.
    let (s, _, t) = call(
        &fake,
        &client,
        Method::POST,
        "/metadata",
        Some("wrong"),
        Some(json!({"query": "query { object(id: $id) { id fields(paging: {first: 1000}) { edges { node { id } } } } }"})),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        parse(&t)["errors"][0]["extensions"]["code"],
        "UNAUTHENTICATED"
    );
    // The auth-failure fault keeps its 403 "Forbidden resource".
    fake.set_fault(Fault::times(FaultKind::AuthFailure, 1));
    let key = fake.api_key();
    let (s, _, t) = call(&fake, &client, Method::GET, path, Some(&key), None).await;
    assert_eq!(s, 403);
    assert!(t.contains("Forbidden resource"));
    assert_eq!(fake.stats().auth_failures, 6);
    fake.shutdown().await;

    let (fake, client) = start(FakeConfig {
        expired_keys: vec!["expired-token".into()],
        revoked_keys: vec!["revoked-key".into()],
        ..profile_config(TwentyProfile::June2025)
    })
    .await;
    for (key, status, body) in [
        (
            Some("wrong"),
            401,
            r#"{"statusCode":401,"messages":["No payload"],"error":"UNAUTHENTICATED"}"#,
        ),
        (
            Some("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"),
            401,
            r#"{"statusCode":401,"messages":["Token invalid."],"error":"UNAUTHENTICATED"}"#,
        ),
        (
            None,
            403,
            r#"{"statusCode":403,"messages":["Missing authentication token"],"error":"FORBIDDEN_EXCEPTION"}"#,
        ),
        (
            Some("expired-token"),
            401,
            r#"{"statusCode":401,"messages":["Token has expired."],"error":"UNAUTHENTICATED"}"#,
        ),
        (
            Some("revoked-key"),
            403,
            r#"{"statusCode":403,"messages":["This API Key is revoked"],"error":"FORBIDDEN_EXCEPTION"}"#,
        ),
    ] {
        let (s, _, t) = call(&fake, &client, Method::GET, path, key, None).await;
        assert_eq!((s, t.as_str()), (status, body), "{key:?}");
    }
    // GraphQL: 200 with the message and `UNAUTHENTICATED`.
    let q = json!({"query": "query { repProgressions(first: 1) { totalCount } }"});
    let (s, _, t) = call(
        &fake,
        &client,
        Method::POST,
        "/graphql",
        Some("expired-token"),
        Some(q.clone()),
    )
    .await;
    assert_eq!(
        (s, t.as_str()),
        (
            200,
            r#"{"errors":[{"message":"Token has expired.","extensions":{"code":"UNAUTHENTICATED"}}]}"#
        )
    );
    // The auth-failure fault answers as for a revoked key.
    fake.set_fault(Fault::times(FaultKind::AuthFailure, 1));
    let key = fake.api_key();
    let (s, _, t) = call(&fake, &client, Method::GET, path, Some(&key), None).await;
    assert_eq!(
        (s, t.as_str()),
        (
            403,
            r#"{"statusCode":403,"messages":["This API Key is revoked"],"error":"FORBIDDEN_EXCEPTION"}"#
        )
    );
    assert_eq!(fake.stats().auth_failures, 7);
    fake.shutdown().await;
}

fn emails_config(profile: TwentyProfile) -> FakeConfig {
    FakeConfig {
        rep_email_type: RepEmailType::Emails,
        ..FakeConfig::for_profile(profile)
    }
}

/// `repEmail` as EMAILS: emails.composite-type.ts (`41d24255`: `primaryEmail` TEXT in the unique
/// constraint, `additionalEmails` RAW_JSON), transform-emails-value.util.ts (lower-cased on write),
/// emails-domain-canonicalization.integration-spec.ts (`0ea80165`: read back as the nested
/// object), parse-filter.util.ts (`0849483d`: `field.subField`), filter-arg-processor.service.ts
/// (`0c49deef`: `Sub field "eq" not found for composite type: EMAILS`; legacy text from index ids
/// 6420480194 / 56791404744), canonicalize-emails-filter-value.util.ts (`0ea80165`: newest
/// lower-cases `eq` values; older servers do not), generate-index-for-flat-field-metadata.util.ts
/// (`44697aa`: non-partial unique index, the trash still holds the value).
#[tokio::test]
async fn emails_rep_email_by_profile() {
    for profile in TwentyProfile::ALL {
        let (fake, client) = start(emails_config(profile)).await;
        // The metadata says EMAILS, unique (GraphQL answers the same in both profiles).
        let rep_id = fake.rep_object_id().unwrap();
        let q = json!({"query": "query RepXPObjectFields($id: UUID!) { object(id: $id) { id fields(paging: { first: 1000 }) { edges { node { id name type isNullable isUnique } } } } }",
                       "variables": {"id": rep_id}});
        let (s, t) = go(&fake, &client, Method::POST, "/metadata", Some(q)).await;
        assert_eq!(s, 200);
        let v = parse(&t);
        let node = v["data"]["object"]["fields"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["node"])
            .find(|n| n["name"] == "repEmail")
            .unwrap()
            .clone();
        assert_eq!(
            (node["type"].as_str(), node["isUnique"].as_bool()),
            (Some("EMAILS"), Some(true))
        );

        // Write: stored lower-cased, read back nested.
        let (s, t) = go(
            &fake,
            &client,
            Method::POST,
            "/rest/repProgressions",
            Some(json!({"repEmail": {"primaryEmail": "A@B.c", "additionalEmails": null}, "totalXp": 3})),
        )
        .await;
        assert_eq!(s, 201, "{profile}: {t}");
        let rec = parse(&t)["data"]["createRepProgression"].clone();
        assert_eq!(
            rec["repEmail"],
            json!({"primaryEmail": "a@b.c", "additionalEmails": null})
        );
        let id = rec["id"].as_str().unwrap().to_string();
        let (s, t) = go(
            &fake,
            &client,
            Method::POST,
            "/rest/repProgressions",
            Some(json!({"repEmail": "x@y.z"})),
        )
        .await;
        assert_eq!(s, 400, "a bare string for EMAILS: {t}");

        // Filters on the sub-field.
        let count = |filter: &'static str| {
            let (fake, client) = (&fake, &client);
            async move {
                let (s, t) = go(
                    fake,
                    client,
                    Method::GET,
                    &format!("/rest/repProgressions?filter={filter}"),
                    None,
                )
                .await;
                assert_eq!(s, 200, "{filter}: {t}");
                parse(&t)["totalCount"].as_u64().unwrap()
            }
        };
        assert_eq!(count(r#"repEmail.primaryEmail[eq]:"a@b.c""#).await, 1);
        assert_eq!(count(r#"repEmail.primaryEmail[ilike]:"A@B.C""#).await, 1);
        let upper_eq = count(r#"repEmail.primaryEmail[eq]:"A@B.C""#).await;
        assert_eq!(
            upper_eq,
            u64::from(profile == TwentyProfile::Newest),
            "{profile}: only the newest lower-cases eq values"
        );
        assert_eq!(count(r#"repEmail.primaryEmail[neq]:"a@b.c""#).await, 0);

        // `repEmail[eq]` names no sub-field.
        let (s, t) = go(
            &fake,
            &client,
            Method::GET,
            r#"/rest/repProgressions?filter=repEmail[eq]:"a@b.c""#,
            None,
        )
        .await;
        assert_eq!(s, 400);
        let expected = match profile {
            TwentyProfile::June2025 => "Sub field metadata not found for composite type: EMAILS",
            TwentyProfile::Newest => r#"Sub field \"eq\" not found for composite type: EMAILS"#,
        };
        assert!(t.contains(expected), "{profile}: {t}");

        // A partial update keeps primaryEmail.
        let (s, t) = go(
            &fake,
            &client,
            Method::PATCH,
            &format!("/rest/repProgressions/{id}"),
            Some(json!({"repEmail": {"additionalEmails": ["Other@B.c"]}})),
        )
        .await;
        assert_eq!(s, 200, "{t}");
        assert_eq!(
            parse(&t)["data"]["updateRepProgression"]["repEmail"],
            json!({"primaryEmail": "a@b.c", "additionalEmails": ["other@b.c"]})
        );

        // Unique on primaryEmail, case-folded on write, and the trash still holds it. June 2025
        // keeps `isUnique` in the metadata only: the duplicate is created.
        let dup = json!({"repEmail": {"primaryEmail": "a@B.C"}});
        let (s, t) = go(
            &fake,
            &client,
            Method::POST,
            "/rest/repProgressions",
            Some(dup.clone()),
        )
        .await;
        if profile == TwentyProfile::June2025 {
            assert_eq!(s, 201, "no unique index on 7f19111: {t}");
            fake.shutdown().await;
            continue;
        }
        assert_eq!(s, 400);
        assert!(t.contains("A duplicate entry was detected"), "{t}");
        assert!(fake.soft_delete(&id));
        let (s, _) = go(
            &fake,
            &client,
            Method::POST,
            "/rest/repProgressions",
            Some(dup.clone()),
        )
        .await;
        assert_eq!(
            s, 400,
            "{profile}: the trashed record keeps its primaryEmail"
        );
        assert!(fake.destroy(&id));
        let (s, t) = go(
            &fake,
            &client,
            Method::POST,
            "/rest/repProgressions",
            Some(dup),
        )
        .await;
        assert_eq!(s, 201, "{t}");
        // A seeded string becomes the composite.
        let seeded = fake.insert_record(json!({"repEmail": "Seed@X.y"}));
        assert_eq!(
            seeded["repEmail"],
            json!({"primaryEmail": "seed@x.y", "additionalEmails": null})
        );
        fake.shutdown().await;
    }
}

/// 402: usage-limit-to-rest-api-exception-handler.util.ts (`123fc19f`) and its spec (`ace2093b`:
/// "answers 402 without retry headers when the credit allowance is exhausted"), and
/// workspace-plan-required.guard.ts with its HTTP spec (`72b0ad41`: `GET /rest/companies` -> 402,
/// `code: "BILLING_PLAN_REQUIRED"`).
#[tokio::test]
async fn payment_required_faults() {
    let (fake, client) = start(FakeConfig::default()).await;
    fake.set_fault(Fault::always(FaultKind::QuotaExhausted));
    let key = fake.api_key();
    let (s, h, t) = call(
        &fake,
        &client,
        Method::GET,
        "/rest/repProgressions",
        Some(&key),
        None,
    )
    .await;
    assert_eq!(s, 402);
    assert_eq!(
        t,
        r#"{"statusCode":402,"error":"QUOTA_EXHAUSTED","messages":["Credit allowance exhausted for this billing period"],"limitKind":"quota","exhaustedKind":"allowance","scope":{"spenderType":"workspace","spenderId":null,"operationType":"ALL"},"limit":5000,"remaining":0,"periodCount":null,"periodUnit":null,"retryAfterSeconds":86400}"#
    );
    assert!(h.get("retry-after").is_none());
    // Writes too; metadata and /client-config are not affected.
    let (s, _) = go(
        &fake,
        &client,
        Method::POST,
        "/rest/repProgressions",
        Some(json!({"repEmail": "a@b.c"})),
    )
    .await;
    assert_eq!(s, 402);
    assert!(fake.records().is_empty());
    let (s, _) = go(&fake, &client, Method::GET, "/rest/metadata/objects", None).await;
    assert_eq!(s, 200);
    let (s, _, _) = call(&fake, &client, Method::GET, "/client-config", None, None).await;
    assert_eq!(s, 200);
    // A bad key is still refused first.
    let (s, _, _) = call(
        &fake,
        &client,
        Method::GET,
        "/rest/repProgressions",
        Some("x"),
        None,
    )
    .await;
    assert_eq!(s, 401);
    fake.clear_faults();
    let (s, _) = go(&fake, &client, Method::GET, "/rest/repProgressions", None).await;
    assert_eq!(s, 200);

    fake.set_fault(Fault::times(FaultKind::PlanRequired, 1));
    let (s, h, t) = call(
        &fake,
        &client,
        Method::GET,
        "/rest/repProgressions",
        Some(&key),
        None,
    )
    .await;
    assert_eq!(
        (s, t.as_str()),
        (
            402,
            r#"{"statusCode":402,"error":"PaymentRequiredException","messages":["Workspace subscription plan is required"],"code":"BILLING_PLAN_REQUIRED"}"#
        )
    );
    assert!(h.get("retry-after").is_none());
    let (s, _) = go(&fake, &client, Method::GET, "/rest/repProgressions", None).await;
    assert_eq!(s, 200, "times: 1 is used up");
    fake.shutdown().await;
}

/// Newest: a key whose role may only read repProgressions. Records: permissions.utils.ts
/// (`validateOperationIsPermittedOrThrow`), field-permissions.integration-spec.ts (`d1340b48`: 400
/// "Entity performing the request does not have permission"). Metadata:
/// `SettingsPermissionGuard(DATA_MODEL)` on object-metadata.controller.ts (`00b50cd5`) +
/// permissions-rest-api-exception.filter.ts (`41d24255`) -> 403. The GraphQL object query itself
/// is not DATA_MODEL-guarded (object-metadata.resolver.ts `02a1f88e`). June 2025:
/// [`member_role_on_june_2025`].
#[tokio::test]
async fn restricted_key_by_profile() {
    for profile in [TwentyProfile::Newest] {
        let config = FakeConfig {
            extra_objects: 1,
            restricted_keys: vec![
                RestrictedKey {
                    key: "reader".into(),
                    name: "Reader".into(),
                    data_model: false,
                    read: vec!["repProgressions".into()],
                    update: vec![],
                },
                RestrictedKey {
                    key: "writer".into(),
                    name: "RepXP writer".into(),
                    data_model: true,
                    read: vec!["repProgressions".into()],
                    update: vec!["repProgressions".into()],
                },
            ],
            ..FakeConfig::for_profile(profile)
        };
        let (fake, client) = start(config).await;
        let id = seed(&fake, "a@b.c", 1, 0);
        let denied_text = profile.permission_denied_message();
        let records_denied = format!(
            r#"{{"statusCode":400,"error":"BadRequestException","messages":["{denied_text}"]}}"#
        );
        let reader = Some("reader");

        let (s, _, _) = call(
            &fake,
            &client,
            Method::GET,
            "/rest/repProgressions",
            reader,
            None,
        )
        .await;
        assert_eq!(s, 200);
        for (method, path, body) in [
            (
                Method::PATCH,
                "/rest/repProgressions?filter=id[eq]:0b7d2b8e-6a8f-4c41-9d4e-7d2f8a1b3c4d"
                    .to_string(),
                Some(json!({"totalXp": 9})),
            ),
            (
                Method::POST,
                "/rest/repProgressions".to_string(),
                Some(json!({"repEmail": "n@b.c"})),
            ),
            (
                Method::DELETE,
                format!("/rest/repProgressions/{id}?soft_delete=true"),
                None,
            ),
            (Method::GET, "/rest/customObject1s".to_string(), None),
        ] {
            let (s, _, t) = call(&fake, &client, method.clone(), &path, reader, body).await;
            assert_eq!(
                (s, t.as_str()),
                (400, records_denied.as_str()),
                "{profile} {method} {path}"
            );
        }
        assert_eq!(fake.live_records().len(), 1, "nothing was written");

        let (s, _, t) = call(
            &fake,
            &client,
            Method::GET,
            "/rest/metadata/objects",
            reader,
            None,
        )
        .await;
        let expected = (
            403,
            r#"{"statusCode":403,"error":"PermissionsException","messages":["Entity performing the request does not have permission"],"code":"PERMISSION_DENIED"}"#,
        );
        assert_eq!((s, t.as_str()), expected, "{profile}");
        let rep_id = fake.rep_object_id().unwrap();
        let q = json!({"query": "query RepXPObjectFields($id: UUID!) { object(id: $id) { id fields(paging: { first: 1000 }) { edges { node { id name type isNullable isUnique } } } } }",
                       "variables": {"id": rep_id}});
        let (s, _, t) = call(&fake, &client, Method::POST, "/metadata", reader, Some(q)).await;
        assert_eq!(s, 200);
        assert!(parse(&t)["data"]["object"]["fields"].is_object(), "{t}");

        // The writer: records of its object, metadata, records named after it.
        let writer = Some("writer");
        let (s, _, t) = call(
            &fake,
            &client,
            Method::POST,
            "/rest/repProgressions",
            writer,
            Some(json!({"repEmail": "w@b.c"})),
        )
        .await;
        assert_eq!(s, 201, "{t}");
        assert_eq!(
            parse(&t)["data"]["createRepProgression"]["createdBy"]["name"],
            "RepXP writer"
        );
        let (s, _, _) = call(
            &fake,
            &client,
            Method::GET,
            "/rest/metadata/objects",
            writer,
            None,
        )
        .await;
        assert_eq!(s, 200);
        let (s, _, _) = call(
            &fake,
            &client,
            Method::GET,
            "/rest/customObject1s",
            writer,
            None,
        )
        .await;
        assert_eq!(s, 400);
        // The main key keeps full access.
        let (s, _) = go(&fake, &client, Method::GET, "/rest/customObject1s", None).await;
        assert_eq!(s, 200);
        assert_eq!(fake.stats().permission_denied, 6);
        fake.shutdown().await;
    }
}

/// June 2025: API keys bypass roles; a member's token with the Guest role (read only) is what a
/// restricted token stands for. Checked on the real 7f19111 server with the Guest's token: REST
/// ignores the role (its PATCH, POST and DELETE went through), GraphQL refuses writes with 200
/// `FORBIDDEN` "User does not have permission" and `data: {<field>: null}`, GraphQL reads pass,
/// metadata reads pass and a metadata write answers the proxy's 400.
#[tokio::test]
async fn member_role_on_june_2025() {
    let (fake, client) = start(FakeConfig {
        restricted_keys: vec![RestrictedKey {
            key: "guest".into(),
            name: "Phil Schiler".into(),
            data_model: false,
            read: vec!["repProgressions".into()],
            update: vec![],
        }],
        ..FakeConfig::for_profile(TwentyProfile::June2025)
    })
    .await;
    let id = seed(&fake, "a@b.c", 1, 0);
    let guest = Some("guest");
    let (s, _, t) = call(
        &fake,
        &client,
        Method::PATCH,
        &format!("/rest/repProgressions/{id}"),
        guest,
        Some(json!({"totalXp": 43})),
    )
    .await;
    assert_eq!(s, 200, "REST does not check roles on 7f19111: {t}");
    let write = json!({"query": "mutation($f: RepProgressionFilterInput!, $d: RepProgressionUpdateInput!) { updateRepProgressions(filter: $f, data: $d) { id } }",
        "variables": {"f": {"id": {"eq": "00000000-0000-4000-8000-000000000000"}}, "d": {}}});
    let (s, _, t) = call(
        &fake,
        &client,
        Method::POST,
        "/graphql",
        guest,
        Some(write.clone()),
    )
    .await;
    assert_eq!(
        (s, t.as_str()),
        (
            200,
            r#"{"errors":[{"message":"User does not have permission","extensions":{"code":"FORBIDDEN"}}],"data":{"updateRepProgressions":null}}"#
        )
    );
    let (s, t) = go(&fake, &client, Method::POST, "/graphql", Some(write)).await;
    assert_eq!(
        (s, t.as_str()),
        (
            200,
            r#"{"errors":[{"message":"Records not found","extensions":{"code":"NOT_FOUND"}}],"data":{"updateRepProgressions":null}}"#
        ),
        "the API key bypasses roles; nothing matched"
    );
    let read = json!({"query": "query { repProgressions { totalCount } }"});
    let (s, _, t) = call(&fake, &client, Method::POST, "/graphql", guest, Some(read)).await;
    assert_eq!(
        (s, t.as_str()),
        (200, r#"{"data":{"repProgressions":{"totalCount":1}}}"#)
    );
    let (s, _, _) = call(
        &fake,
        &client,
        Method::GET,
        "/rest/metadata/objects",
        guest,
        None,
    )
    .await;
    assert_eq!(s, 200);
    let (s, _, t) = call(
        &fake,
        &client,
        Method::POST,
        "/rest/metadata/fields",
        guest,
        Some(json!({"objectMetadataId": fake.rep_object_id(), "type": "TEXT", "name": "zz", "label": "Zz"})),
    )
    .await;
    assert_eq!(
        (s, t.as_str()),
        (
            400,
            r#"{"statusCode":400,"messages":["User does not have permission"],"error":"Bad Request"}"#
        )
    );
    assert_eq!(fake.stats().permission_denied, 2);
    fake.shutdown().await;

    // With the workspace flag IS_PERMISSIONS_V2_ENABLED on, REST checks the role too.
    let (fake, client) = start(FakeConfig {
        restricted_keys: vec![RestrictedKey {
            key: "guest".into(),
            name: "Phil Schiler".into(),
            data_model: false,
            read: vec!["repProgressions".into()],
            update: vec![],
        }],
        permissions_v2: true,
        ..FakeConfig::for_profile(TwentyProfile::June2025)
    })
    .await;
    let id = seed(&fake, "a@b.c", 1, 0);
    let (s, _, t) = call(
        &fake,
        &client,
        Method::PATCH,
        &format!("/rest/repProgressions/{id}"),
        Some("guest"),
        Some(json!({"totalXp": 43})),
    )
    .await;
    assert_eq!(
        (s, t.as_str()),
        (
            400,
            r#"{"statusCode":400,"error":"BadRequestException","messages":["User does not have permission"]}"#
        )
    );
    // Per-object permissions are checked when a statement runs: update-many looks for rows
    // first (NOT_FOUND when none), its UPDATE is refused; a create is refused.
    let write = |filter: Value| {
        json!({"query": "mutation($f: RepProgressionFilterInput!, $d: RepProgressionUpdateInput!) { updateRepProgressions(filter: $f, data: $d) { id } }",
        "variables": {"f": filter, "d": {}}})
    };
    let refused = |op: &str| {
        format!(
            r#"{{"errors":[{{"message":"User does not have permission","extensions":{{"code":"FORBIDDEN"}}}}],"data":{{"{op}":null}}}}"#
        )
    };
    for (filter, answer) in [
        (
            json!({"id": {"eq": "00000000-0000-4000-8000-000000000000"}}),
            r#"{"errors":[{"message":"Records not found","extensions":{"code":"NOT_FOUND"}}],"data":{"updateRepProgressions":null}}"#.to_string(),
        ),
        (json!({"id": {"eq": id}}), refused("updateRepProgressions")),
    ] {
        let (s, _, t) =
            call(&fake, &client, Method::POST, "/graphql", Some("guest"), Some(write(filter))).await;
        assert_eq!((s, t), (200, answer));
    }
    // A NUL character: the role first, then PostgreSQL's refusal of the value; nothing made.
    let nul = json!({"query": "mutation($d: RepProgressionCreateInput!) { createRepProgression(data: $d) { id } }",
        "variables": {"d": {"repEmail": "\u{0}", "name": "\u{0}"}}});
    let (s, _, t) = call(
        &fake,
        &client,
        Method::POST,
        "/graphql",
        Some("guest"),
        Some(nul.clone()),
    )
    .await;
    assert_eq!((s, t), (200, refused("createRepProgression")));
    let (s, t) = go(&fake, &client, Method::POST, "/graphql", Some(nul)).await;
    assert_eq!(
        (s, t.as_str()),
        (
            200,
            r#"{"errors":[{"message":"invalid byte sequence for encoding \"UTF8\": 0x00","extensions":{"code":"INTERNAL_SERVER_ERROR"}}],"data":{"createRepProgression":null}}"#
        )
    );
    assert_eq!(fake.live_records().len(), 1, "nothing was created");
    fake.shutdown().await;
}

/// `GET /client-config`: client-config.controller.ts (`b8a9f65d`, public), client-config.service.ts
/// (`c856e0d5`: `appVersion: APP_VERSION`, `sentry.release`); June 2025 as the real 7f19111
/// source build answered: no `appVersion`, `"sentry":{}`. Not rate-limited, no key.
#[tokio::test]
async fn client_config_by_profile() {
    for profile in TwentyProfile::ALL {
        let (fake, client) = start(FakeConfig {
            rate_limit: 1,
            ..FakeConfig::for_profile(profile)
        })
        .await;
        for _ in 0..3 {
            let (s, _, t) = call(&fake, &client, Method::GET, "/client-config", None, None).await;
            assert_eq!(s, 200, "{t}");
            let v = parse(&t);
            match profile {
                TwentyProfile::Newest => assert_eq!(v["appVersion"], NEWEST_APP_VERSION),
                TwentyProfile::June2025 => {
                    assert!(v.get("appVersion").is_none());
                    assert_eq!(v["sentry"], json!({}));
                    assert_eq!(v["api"]["mutationMaximumAffectedRecords"], 100);
                }
            }
        }
        let (s, _) = go(&fake, &client, Method::GET, "/rest/repProgressions", None).await;
        assert_eq!(s, 200, "the bucket's one token is still there");
        let stats = fake.stats();
        assert_eq!(stats.kind("client_config"), 3);
        assert_eq!(stats.rate_limited, 0);
        let state: Value = client
            .get(format!("{}/__fake/state", fake.url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(state["profile"], profile.name());
        fake.shutdown().await;
    }
    let (fake, client) = start(FakeConfig {
        app_version: None,
        ..FakeConfig::default()
    })
    .await;
    let (_, _, t) = call(&fake, &client, Method::GET, "/client-config", None, None).await;
    assert!(
        parse(&t).get("appVersion").is_none(),
        "unset APP_VERSION is left out"
    );
    fake.shutdown().await;
}

/// `PATCH /rest/metadata/fields/{id}` with `isUnique`: field-metadata.controller.ts (`00b50cd5`,
/// `updateFieldInput: { ...update, id }`); the unique index is not partial
/// (generate-index-for-flat-field-metadata.util.ts `44697aa`), so duplicate values refuse it.
/// June 2025 builds no index (`isUnique` is metadata only, `FakeConfig::unique_indexes`), so it
/// takes the flag whatever the rows hold (Unverified: the real server's schema was not
/// changed), and lists fields without `isUnique`: the metadata GraphQL endpoint says it.
#[tokio::test]
async fn making_rep_email_unique_needs_distinct_values() {
    for profile in TwentyProfile::ALL {
        let (fake, client) = start(FakeConfig::for_profile(profile)).await;
        let rep_id = fake.rep_object_id().unwrap();
        let (_, t) = go(
            &fake,
            &client,
            Method::GET,
            &format!("/rest/metadata/objects/{rep_id}"),
            None,
        )
        .await;
        let v = parse(&t);
        let object = if profile.is_june_2025() {
            &v["data"]["object"]
        } else {
            &v
        };
        let field_id = object["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == "repEmail")
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let patch = |unique: bool| {
            let (fake, client, field_id) = (&fake, &client, &field_id);
            async move {
                go(
                    fake,
                    client,
                    Method::PATCH,
                    &format!("/rest/metadata/fields/{field_id}"),
                    Some(json!({"isUnique": unique})),
                )
                .await
            }
        };
        let (s, t) = patch(false).await;
        assert_eq!(s, 200, "{t}");
        let a = seed(&fake, "same@b.c", 1, 0);
        seed(&fake, "same@b.c", 2, 0);
        if profile.is_june_2025() {
            let (s, t) = patch(true).await;
            assert_eq!(s, 200, "no index to build: {t}");
            let field = &parse(&t)["data"]["updateOneField"];
            assert!(field.get("isUnique").is_none(), "{field}");
            let q = json!({"query": "query RepXPObjectFields($id: UUID!) { object(id: $id) { id fields(paging: { first: 1000 }) { edges { node { id name type isNullable isUnique } } } } }",
                           "variables": {"id": rep_id}});
            let (_, t) = go(&fake, &client, Method::POST, "/metadata", Some(q)).await;
            assert!(
                t.contains(r#""name":"repEmail","type":"TEXT","isNullable":false,"isUnique":true"#),
                "{t}"
            );
            fake.shutdown().await;
            continue;
        }
        let (s, t) = patch(true).await;
        assert_eq!(s, 400, "{profile}: {t}");
        assert!(t.contains("cannot be made unique"), "{t}");
        assert!(fake.destroy(&a));
        let (s, t) = patch(true).await;
        assert_eq!(s, 200, "{t}");
        assert_eq!(parse(&t)["isUnique"], true);
        let (s, _) = go(
            &fake,
            &client,
            Method::PATCH,
            &format!("/rest/metadata/fields/{field_id}"),
            Some(json!({"isUnique": "yes"})),
        )
        .await;
        assert_eq!(s, 400);
        fake.shutdown().await;
    }
}
