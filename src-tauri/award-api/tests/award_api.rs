//! The local award API over real loopback HTTP into a real SQLite file: the secret is required
//! and private, a web page or a non-loopback peer is refused, bad input records nothing, and a
//! retried award is counted once.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::Path;

use repxp_award_api::{self as award_api, AwardApi, AwardApiError};
use repxp_engine::Store;
use serde_json::{json, Value};

struct Api {
    _dir: tempfile::TempDir,
    api: AwardApi,
    secret: String,
    http: reqwest::Client,
}

impl Api {
    async fn start() -> Api {
        let dir = tempfile::tempdir().expect("tempdir");
        let api = award_api::start(dir.path(), 0).await.expect("start");
        let secret = std::fs::read_to_string(dir.path().join(award_api::SECRET_FILE))
            .expect("secret file")
            .trim()
            .to_string();
        Api {
            _dir: dir,
            api,
            secret,
            http: reqwest::Client::new(),
        }
    }

    fn dir(&self) -> &Path {
        self._dir.path()
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.api.addr)
    }

    async fn post(&self, auth: Option<&str>, body: &str) -> (u16, Value) {
        let mut r = self
            .http
            .post(self.url("/v1/awards"))
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(a) = auth {
            r = r.header("authorization", a);
        }
        answer(r.send().await.expect("send")).await
    }

    fn bearer(&self) -> String {
        format!("Bearer {}", self.secret)
    }

    fn xp(&self) -> i64 {
        Store::open_dir(self.dir())
            .expect("store")
            .progression()
            .expect("view")
            .xp
    }
}

async fn answer(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).expect("stat").permissions().mode() & 0o777
}

#[tokio::test]
async fn an_award_with_the_secret_lands_once_and_shows_in_the_store() {
    let a = Api::start().await;
    let event = r#"{"kind":"xp","amount":50,"source":"dialer","id":"0193a7c0-0000-7000-8000-0000000000a1"}"#;
    let (status, body) = a.post(Some(&a.bearer()), event).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["new"], json!(true));
    assert_eq!(body["xp"], json!(50));
    assert_eq!(body["pending"], json!(1));

    // The dialer retries after a lost reply: same id, counted once.
    let (status, body) = a.post(Some(&a.bearer()), event).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["new"], json!(false));
    assert_eq!(a.xp(), 50);

    // Other kinds go through the same door.
    let (status, body) = a
        .post(
            Some(&a.bearer()),
            r#"{"kind":"boss","boss_id":"gatekeeper"}"#,
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let view: Value = answer(
        a.http
            .get(a.url("/v1/progression"))
            .header("authorization", a.bearer())
            .send()
            .await
            .expect("send"),
    )
    .await
    .1;
    assert_eq!(view["xp"], json!(50));
    assert_eq!(view["defeated_bosses"], json!(["gatekeeper"]));
    assert_eq!(view["pending"], json!(2));

    let endpoint: Value = serde_json::from_str(
        &std::fs::read_to_string(award_api::endpoint_file(a.dir())).expect("endpoint file"),
    )
    .expect("endpoint json");
    assert_eq!(endpoint["url"], json!(format!("http://{}", a.api.addr)));
    #[cfg(unix)]
    {
        assert_eq!(mode(&a.dir().join(award_api::SECRET_FILE)), 0o600);
        assert_eq!(mode(&award_api::endpoint_file(a.dir())), 0o600);
    }
}

#[tokio::test]
async fn a_missing_or_wrong_secret_is_refused_and_records_nothing() {
    let a = Api::start().await;
    let other = tempfile::tempdir().expect("tempdir");
    let other_install = award_api::load_or_create_secret(other.path()).expect("other secret");
    assert_ne!(
        other_install.expose(),
        a.secret,
        "each install has its own secret"
    );
    let mut one_off = a.secret.clone().into_bytes();
    one_off[10] = if one_off[10] == b'0' { b'1' } else { b'0' };
    let one_off = String::from_utf8(one_off).expect("hex");
    let event = r#"{"kind":"xp","amount":500}"#;
    for auth in [
        None,
        Some(String::new()),
        Some("Bearer".to_string()),
        Some("Bearer wrong".to_string()),
        Some(format!("Bearer {one_off}")),
        Some(format!("Bearer {}", &a.secret[..a.secret.len() - 1])),
        Some(format!("Bearer {}x", a.secret)),
        Some(format!("Basic {}", a.secret)),
        Some(format!("Bearer {}", other_install.expose())),
    ] {
        let (status, body) = a.post(auth.as_deref(), event).await;
        assert_eq!(status, 401, "{auth:?}: {body}");
        assert_eq!(body["ok"], json!(false));
        assert!(
            !body.to_string().contains(&a.secret),
            "the error must not echo the secret"
        );
    }
    let r = a
        .http
        .get(a.url("/v1/progression"))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(
        r.headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok()),
        Some("Bearer")
    );
    assert_eq!(a.xp(), 0, "nothing was recorded");
}

#[tokio::test]
async fn a_web_page_is_refused_even_with_the_secret() {
    let a = Api::start().await;
    let r = a
        .http
        .post(a.url("/v1/awards"))
        .header("authorization", a.bearer())
        .header("origin", "https://evil.example")
        .body(r#"{"kind":"xp","amount":500}"#)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 403);
    assert_eq!(a.xp(), 0);
}

/// A local address that is not loopback (the one the default route leaves from), if any.
fn non_loopback_ip() -> Option<IpAddr> {
    let s = UdpSocket::bind("0.0.0.0:0").ok()?;
    // connect() on UDP sends nothing; it only picks the source address by route.
    s.connect("192.0.2.200:9").ok()?;
    let ip = s.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

#[tokio::test]
async fn non_loopback_addresses_and_peers_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let public: SocketAddr = "0.0.0.0:0".parse().expect("addr");
    assert!(matches!(
        award_api::bind(public).await,
        Err(AwardApiError::NotLoopback { .. })
    ));
    let Some(ip) = non_loopback_ip() else {
        panic!("this test needs a non-loopback address to connect from (none found)");
    };
    // Serve on a non-loopback address on purpose (start() never would), then connect from it:
    // the peer check alone must refuse, even with the right secret.
    let listener = tokio::net::TcpListener::bind(SocketAddr::new(ip, 0))
        .await
        .expect("bind non-loopback");
    let api = award_api::serve(listener, dir.path()).expect("serve");
    let secret = award_api::load_or_create_secret(dir.path()).expect("secret");
    let r = reqwest::Client::new()
        .post(format!("http://{}/v1/awards", api.addr))
        .header("authorization", format!("Bearer {}", secret.expose()))
        .body(r#"{"kind":"xp","amount":500}"#)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 403);
    let xp = Store::open_dir(dir.path())
        .expect("store")
        .progression()
        .expect("view")
        .xp;
    assert_eq!(xp, 0);
}

#[tokio::test]
async fn bad_input_gets_a_clear_error_and_records_nothing() {
    let a = Api::start().await;
    let auth = a.bearer();
    for (body, want) in [
        ("", 400),
        ("{", 400),
        (r#"{"kind":"xp","amount":0}"#, 400),
        (r#"{"kind":"xp","amount":-5}"#, 400),
        (r#"{"kind":"xp","amount":"50"}"#, 400),
        (r#"{"kind":"gold","amount":5}"#, 400),
        (r#"{"kind":"xp","amount":5,"id":"not-a-uuid"}"#, 400),
        (r#"{"kind":"xp","amount":5,"at":"yesterday"}"#, 400),
    ] {
        let (status, answer) = a.post(Some(&auth), body).await;
        assert_eq!(status, want, "{body}: {answer}");
        let msg = answer["error"].as_str().expect("error text");
        assert!(!msg.is_empty() && !msg.contains('\n'), "{body}: {msg}");
    }
    let (status, _) = a.post(Some(&auth), &"x".repeat(64 * 1024)).await;
    assert_eq!(status, 413);
    // The same id with other content is a conflict, not a silent overwrite.
    let id = "0193a7c0-0000-7000-8000-0000000000b2";
    let first = format!(r#"{{"kind":"xp","amount":10,"id":"{id}"}}"#);
    let second = format!(r#"{{"kind":"xp","amount":99,"id":"{id}"}}"#);
    assert_eq!(a.post(Some(&auth), &first).await.0, 201);
    assert_eq!(a.post(Some(&auth), &second).await.0, 409);
    let r = a.http.get(a.url("/nope")).send().await.expect("send");
    assert_eq!(r.status().as_u16(), 404);
    assert_eq!(a.xp(), 10);
}

#[tokio::test]
async fn the_secret_is_kept_across_restarts_and_replaced_if_others_could_read_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = award_api::load_or_create_secret(dir.path()).expect("first");
    let again = award_api::load_or_create_secret(dir.path()).expect("again");
    assert_eq!(first, again);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.path().join(award_api::SECRET_FILE);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let rotated = award_api::load_or_create_secret(dir.path()).expect("rotated");
        assert_ne!(rotated, first, "a secret others could read is replaced");
        assert_eq!(mode(&path), 0o600);
    }
    std::fs::write(dir.path().join(award_api::SECRET_FILE), "short\n").expect("write");
    let repaired = award_api::load_or_create_secret(dir.path()).expect("repaired");
    assert_eq!(repaired.expose().len(), 64);
}

#[tokio::test]
async fn a_taken_port_falls_back_to_a_free_one_named_in_the_endpoint_file() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let dir = tempfile::tempdir().expect("tempdir");
    let api = award_api::start(dir.path(), port).await.expect("start");
    assert_ne!(api.addr.port(), port);
    let endpoint = std::fs::read_to_string(award_api::endpoint_file(dir.path())).expect("read");
    assert!(endpoint.contains(&api.addr.to_string()), "{endpoint}");
}
