//! The fault proxy `make test-twenty` puts in front of the real Twenty, here in front of the fake:
//! it passes requests through and counts them, loses a reply after Twenty applied the write,
//! refuses a write by what its body carries, and takes the network down and back.

use fake_twenty::{FakeConfig, FakeTwenty, Fault, FaultKind, FaultProxy};
use serde_json::{json, Value};

async fn post(url: &str, key: &str, body: &Value) -> Result<(u16, Value), reqwest::Error> {
    let resp = reqwest::Client::new()
        .post(format!("{url}/graphql"))
        .bearer_auth(key)
        .json(body)
        .send()
        .await?;
    let status = resp.status().as_u16();
    Ok((status, resp.json().await.unwrap_or(Value::Null)))
}

fn create(email: &str) -> Value {
    json!({
        "query": "mutation C($data: RepProgressionCreateInput!) { createRepProgression(data: $data) { id totalXp } }",
        "variables": {"data": {"repEmail": email, "totalXp": 5}},
    })
}

#[tokio::test]
async fn the_proxy_passes_loses_refuses_and_goes_down_like_a_network() {
    let fake = FakeTwenty::start(FakeConfig::default())
        .await
        .expect("fake");
    let proxy = FaultProxy::start(&fake.url()).await.expect("proxy");
    let (url, key) = (proxy.url(), fake.api_key());

    let (status, body) = post(&url, &key, &create("a@acme.test"))
        .await
        .expect("through");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["createRepProgression"]["totalXp"], 5);
    assert_eq!(proxy.stats().total, 1);
    assert_eq!(proxy.stats().by_kind.get("graphql"), Some(&1));

    // Applied, then the reply is lost.
    proxy.set_fault(Fault::times(FaultKind::ApplyThenDrop, 1).on_writes());
    let lost = post(&url, &key, &create("b@acme.test")).await;
    assert!(lost.is_err(), "no reply: {lost:?}");
    assert_eq!(fake.live_records().len(), 2, "but Twenty applied it");

    // A write whose body carries a value the workspace refuses: GraphQL's own shape.
    proxy.set_fault(Fault::always(FaultKind::RejectWrites {
        contains: "poison".into(),
        status: 400,
        message: "Invalid value 'poison'".into(),
    }));
    let (status, body) = post(&url, &key, &create("poison@acme.test"))
        .await
        .expect("answered");
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(fake.live_records().len(), 2, "not applied");
    proxy.clear_faults();

    // The network goes down: nothing listens; then it comes back on the same address.
    proxy.set_down(true);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let down = post(&url, &key, &create("c@acme.test")).await;
    assert!(down.as_ref().is_err_and(|e| e.is_connect()), "{down:?}");
    proxy.set_down(false);
    let mut back = None;
    for _ in 0..50 {
        if let Ok(r) = post(&url, &key, &create("c@acme.test")).await {
            back = Some(r);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(back.map(|(s, _)| s), Some(200));
    assert_eq!(fake.live_records().len(), 3);
}
