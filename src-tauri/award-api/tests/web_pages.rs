//! Web pages and the award API over real loopback HTTP, speaking as a browser does (Origin, CORS
//! and Private Network Access preflights, Host): a page the rep allowed pairs once and awards XP
//! with its own token, counted once across retries; every other page, a denied one, a
//! DNS-rebinding host name and a page holding another origin's token get nothing.

use std::path::Path;

use repxp_award_api::{self as award_api, AwardApi};
use repxp_engine::Store;
use reqwest::header::HeaderMap;
use serde_json::{json, Value};

const DIALER: &str = "https://dialer.example.com";

struct Api {
    dir: tempfile::TempDir,
    api: AwardApi,
    secret: String,
    http: reqwest::Client,
}

async fn answer(r: reqwest::Response) -> (u16, HeaderMap, Value) {
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, headers, body)
}

impl Api {
    async fn start_in(dir: tempfile::TempDir) -> Api {
        let api = award_api::start(dir.path(), 0).await.expect("start");
        let secret = std::fs::read_to_string(dir.path().join(award_api::SECRET_FILE))
            .expect("secret")
            .trim()
            .to_string();
        Api {
            dir,
            api,
            secret,
            http: reqwest::Client::new(),
        }
    }

    async fn start() -> Api {
        Api::start_in(tempfile::tempdir().expect("tempdir")).await
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.api.addr)
    }

    /// A request as a page on `origin` makes it.
    fn page(&self, method: reqwest::Method, path: &str, origin: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .header("origin", origin)
    }

    async fn ask(&self, origin: &str) -> (u16, Value) {
        let (s, _, b) = answer(
            self.page(reqwest::Method::POST, "/v1/pair", origin)
                .send()
                .await
                .expect("send"),
        )
        .await;
        (s, b)
    }

    async fn poll(&self, origin: &str, request: &str) -> (u16, Value) {
        let (s, _, b) = answer(
            self.page(reqwest::Method::GET, "/v1/pair", origin)
                .header("x-repxp-pairing", request)
                .send()
                .await
                .expect("send"),
        )
        .await;
        (s, b)
    }

    /// The rep's decision, as `repxp-cli web` sends it.
    async fn decide(&self, action: &str, origin: &str) -> u16 {
        self.http
            .post(self.url(&format!("/v1/web/{action}")))
            .bearer_auth(&self.secret)
            .json(&json!({ "origin": origin }))
            .send()
            .await
            .expect("send")
            .status()
            .as_u16()
    }

    async fn award(&self, origin: &str, token: &str, id: &str, xp: i64) -> (u16, HeaderMap, Value) {
        answer(
            self.page(reqwest::Method::POST, "/v1/awards", origin)
                .bearer_auth(token)
                .header("content-type", "application/json")
                .body(json!({"kind": "xp", "amount": xp, "id": id}).to_string())
                .send()
                .await
                .expect("send"),
        )
        .await
    }

    async fn pair(&self, origin: &str) -> String {
        let (s, b) = self.ask(origin).await;
        assert_eq!(s, 202, "{b}");
        let request = b["request"].as_str().expect("request id").to_string();
        assert_eq!(self.decide("allow", origin).await, 200);
        let (s, b) = self.poll(origin, &request).await;
        assert_eq!((s, b["state"].as_str()), (200, Some("allowed")), "{b}");
        b["token"].as_str().expect("token").to_string()
    }

    fn xp(&self) -> i64 {
        xp_in(self.dir.path())
    }
}

fn xp_in(dir: &Path) -> i64 {
    Store::open_dir(dir)
        .expect("store")
        .progression()
        .expect("view")
        .xp
}

const AWARD_ID: &str = "0d1a1e7b-0000-4000-8000-000000000001";

#[tokio::test]
async fn an_allowed_page_pairs_once_and_its_awards_land_once_with_cors_for_it_alone() {
    let a = Api::start().await;
    let (s, b) = a.ask(DIALER).await;
    assert_eq!(s, 202);
    let request = b["request"].as_str().expect("request").to_string();
    assert_eq!(
        a.poll(DIALER, &request).await.0,
        202,
        "the rep has not answered"
    );
    assert_eq!(a.decide("allow", DIALER).await, 200);
    let (s, b) = a.poll(DIALER, &request).await;
    assert_eq!(s, 200, "{b}");
    let token = b["token"].as_str().expect("token").to_string();
    assert_ne!(token, a.secret, "a token of its own, not the award secret");
    assert_eq!(a.poll(DIALER, &request).await.0, 404, "handed out once");

    let (s, h, b) = a.award(DIALER, &token, AWARD_ID, 40).await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(h["access-control-allow-origin"], DIALER);
    // A retry of the same award (the page did not see the answer) counts once.
    let (s, _, b) = a.award(DIALER, &token, AWARD_ID, 40).await;
    assert_eq!((s, b["new"].as_bool()), (200, Some(false)));
    assert_eq!(a.xp(), 40);

    // Another page holding the dialer's token gets nothing, and no CORS header to read it with.
    let (s, h, _) = a
        .award(
            "https://evil.example",
            &token,
            "0d1a1e7b-0000-4000-8000-000000000002",
            1000,
        )
        .await;
    assert_eq!(s, 403);
    assert!(h.get("access-control-allow-origin").is_none());
    // The award secret is for local programs: a page sending it is refused too.
    let (s, _, _) = a
        .award(
            DIALER,
            &a.secret.clone(),
            "0d1a1e7b-0000-4000-8000-000000000003",
            1000,
        )
        .await;
    assert_eq!(s, 403);
    assert_eq!(a.xp(), 40);

    // Kept across a restart of the app; revoked, the token stops at once.
    let dir = a.dir;
    drop(a.api);
    let a = Api::start_in(dir).await;
    let (s, _, _) = a
        .award(DIALER, &token, "0d1a1e7b-0000-4000-8000-000000000004", 5)
        .await;
    assert_eq!(s, 201);
    assert_eq!(a.decide("revoke", DIALER).await, 200);
    let (s, _, _) = a
        .award(DIALER, &token, "0d1a1e7b-0000-4000-8000-000000000005", 5)
        .await;
    assert_eq!(s, 403);
    assert_eq!(a.xp(), 45);
}

#[tokio::test]
async fn preflights_are_answered_for_allowed_origins_and_the_pairing_request_only() {
    let a = Api::start().await;
    let preflight = |path: &str, origin: &str| {
        a.page(reqwest::Method::OPTIONS, path, origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .header("access-control-request-private-network", "true")
    };
    // Anyone may ask to pair (the rep decides), so its preflight is answered, private network too.
    let (s, h, _) = answer(
        preflight("/v1/pair", "https://unknown.example")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(s, 204);
    assert_eq!(h["access-control-allow-origin"], "https://unknown.example");
    assert_eq!(h["access-control-allow-private-network"], "true");
    // Awards: not before the rep allowed the origin.
    let (s, h, _) = answer(preflight("/v1/awards", DIALER).send().await.expect("send")).await;
    assert_eq!(s, 403);
    assert!(h.get("access-control-allow-origin").is_none());
    assert!(h.get("access-control-allow-private-network").is_none());
    a.pair(DIALER).await;
    let (s, h, _) = answer(preflight("/v1/awards", DIALER).send().await.expect("send")).await;
    assert_eq!(s, 204);
    assert_eq!(h["access-control-allow-origin"], DIALER);
    assert_eq!(h["access-control-allow-private-network"], "true");
    assert!(h["access-control-allow-headers"]
        .to_str()
        .expect("text")
        .contains("authorization"));
}

#[tokio::test]
async fn one_prompt_at_a_time_and_none_after_a_deny() {
    let a = Api::start().await;
    let (s, b) = a.ask("https://spam.example").await;
    assert_eq!(s, 202);
    let request = b["request"].as_str().expect("request").to_string();
    assert_eq!(
        a.ask("https://spam.example").await.0,
        409,
        "already waiting"
    );
    assert_eq!(a.ask(DIALER).await.0, 429, "one prompt at a time");
    assert_eq!(a.decide("deny", "https://spam.example").await, 200);
    assert_eq!(a.poll("https://spam.example", &request).await.0, 403);
    for _ in 0..5 {
        assert_eq!(
            a.ask("https://spam.example").await.0,
            403,
            "no prompt after a Deny"
        );
    }
    let list: Value = a
        .http
        .get(a.url("/v1/web"))
        .bearer_auth(&a.secret)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(list["waiting"], Value::Null);
    assert_eq!(list["origins"][0]["state"], "denied");
    // The dialer may ask now.
    a.pair(DIALER).await;
    // Allowing an origin that is not asking does nothing: an origin is allowed for a page only.
    assert_eq!(a.decide("allow", "https://other.example").await, 404);
}

#[tokio::test]
async fn a_rebinding_host_name_a_page_deciding_and_a_bare_pairing_get_nothing() {
    let a = Api::start().await;
    let token = a.pair(DIALER).await;
    // A DNS-rebinding page reaches 127.0.0.1 under its own name: refused whatever it holds.
    let port = a.api.addr.port();
    let r = a
        .page(reqwest::Method::POST, "/v1/awards", DIALER)
        .header("host", format!("rebind.example:{port}"))
        .bearer_auth(&token)
        .body(json!({"kind": "xp", "amount": 5}).to_string())
        .send()
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 403);
    let r = a
        .http
        .post(a.url("/v1/pair"))
        .header("origin", "http://rebind.example")
        .header("host", format!("rebind.example:{port}"))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 403);
    // A page cannot decide which pages may award, even with a token.
    let r = a
        .page(reqwest::Method::POST, "/v1/web/allow", DIALER)
        .bearer_auth(&token)
        .json(&json!({"origin": "https://evil.example"}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 403);
    // Pairing is for pages: no Origin, no pairing.
    let r = a.http.post(a.url("/v1/pair")).send().await.expect("send");
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(a.xp(), 0);
    // The origins file holds tokens: this user only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(a.dir.path().join(award_api::web::ORIGINS_FILE))
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0);
    }
}
