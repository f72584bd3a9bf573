//! `repxp-cli sync`, `connect` and `doctor` as real processes against the fake Twenty, and the
//! API key in the real OS keychain (gnome-keyring over a private D-Bus session).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use fake_twenty::{FakeConfig, FakeTwenty, Fault, FaultKind, SchemaPreset};

const CLI: &str = env!("CARGO_BIN_EXE_repxp-cli");
const EMAIL: &str = "ana@acme.test";

fn cli(dir: &Path, env: &[(&str, &str)], stdin: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new(CLI);
    cmd.arg("--data-dir").arg(dir).args(args);
    for v in [
        "REPXP_TWENTY_API_KEY",
        "REPXP_TWENTY_URL",
        "REPXP_REP_EMAIL",
        "REPXP_DATA_DIR",
    ] {
        cmd.env_remove(v);
    }
    cmd.envs(env.iter().copied());
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn repxp-cli");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Runs the named test again inside scripts/with-session.sh (Xvfb, private D-Bus, unlocked
/// gnome-keyring) unless already inside one. Returns whether the caller should run its body.
fn in_keyring_session(test: &str) -> bool {
    // Windows Credential Manager (Wine's too) needs no session.
    if cfg!(windows) || std::env::var("REPXP_IN_SESSION").as_deref() == Ok("1") {
        return true;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/with-session.sh");
    let exe = std::env::current_exe().expect("test binary");
    let out = Command::new(script)
        .arg(exe)
        .args(["--exact", test, "--nocapture"])
        .output()
        .expect("run with-session.sh (needs xvfb, dbus-daemon, gnome-keyring: make deps-test)");
    assert!(out.status.success(), "in a keyring session: {}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("1 passed"),
        "{}",
        text(&out)
    );
    false
}

fn headless_env(f: &FakeTwenty) -> Vec<(&'static str, String)> {
    vec![
        ("REPXP_TWENTY_URL", f.url()),
        ("REPXP_REP_EMAIL", EMAIL.to_string()),
        ("REPXP_TWENTY_API_KEY", f.api_key()),
    ]
}

fn as_refs<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    v.iter().map(|(k, val)| (*k, val.as_str())).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_exits_zero_when_in_sync_and_one_line_non_zero_when_not() {
    let f = FakeTwenty::start(FakeConfig::default())
        .await
        .expect("fake");
    let dir = tempfile::tempdir().expect("tempdir");
    let env = headless_env(&f);
    let env = as_refs(&env);
    assert!(cli(dir.path(), &env, "", &["award", "75"]).status.success());
    let out = cli(dir.path(), &env, "", &["sync"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("pushed 1 events (+75 XP)"),
        "{}",
        text(&out)
    );
    assert_eq!(f.records()[0]["totalXp"], 75);

    f.set_fault(Fault::always(FaultKind::RefuseConnections));
    assert!(cli(dir.path(), &env, "", &["award", "5"]).status.success());
    let out = cli(dir.path(), &env, "", &["sync"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("1 events wait in the queue; nothing is lost")
            && err.contains("— next: ")
            && err.trim_end().ends_with("RepXP retries by itself"),
        "{err}"
    );
    let status: serde_json::Value =
        serde_json::from_slice(&cli(dir.path(), &env, "", &["status", "--json"]).stdout)
            .expect("json");
    assert_eq!(status["state"], "error");
    // The fake accepts and closes at once: to the client, a broken connection.
    let kind = status["sync"]["last_error_kind"].as_str().expect("kind");
    assert!(matches!(kind, "offline" | "interrupted"), "{kind}");
    f.clear_faults();
    assert!(cli(dir.path(), &env, "", &["sync"]).status.success());
    assert_eq!(f.records()[0]["totalXp"], 80);

    // Not connected: a clear one-line reason.
    let other = tempfile::tempdir().expect("tempdir");
    let out = cli(other.path(), &[], "", &["sync"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not connected"),
        "{}",
        text(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_creates_a_missing_schema_then_sync_works() {
    let f = FakeTwenty::start(FakeConfig {
        schema: SchemaPreset::NoObject,
        ..FakeConfig::default()
    })
    .await
    .expect("fake");
    let dir = tempfile::tempdir().expect("tempdir");
    let env = headless_env(&f);
    let env = as_refs(&env);
    assert!(cli(dir.path(), &env, "", &["award", "10"]).status.success());
    let out = cli(dir.path(), &env, "", &["sync"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("doctor"),
        "points at doctor: {}",
        text(&out)
    );

    // Doctor reports first and changes nothing; --fix creates.
    let out = cli(dir.path(), &env, "", &["doctor"]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("doctor --fix"), "{}", text(&out));
    let out = cli(dir.path(), &env, "", &["doctor", "--fix"]);
    assert!(out.status.success(), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("created the Rep progressions object"), "{t}");
    for field in [
        "repEmail",
        "totalXp",
        "syncWatermarks",
        "syncRevision",
        "lastActivityDate",
    ] {
        assert!(
            t.contains(&format!("created field {field}")),
            "{field}: {t}"
        );
    }
    // A second doctor finds everything in place.
    let again = text(&cli(dir.path(), &env, "", &["doctor"]));
    assert!(!again.contains("created"), "{again}");
    assert!(cli(dir.path(), &env, "", &["sync"]).status.success());
    assert_eq!(f.records()[0]["totalXp"], 10);
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_reports_a_bad_key() {
    let f = FakeTwenty::start(FakeConfig::default())
        .await
        .expect("fake");
    let dir = tempfile::tempdir().expect("tempdir");
    let env = [
        ("REPXP_TWENTY_URL", f.url()),
        ("REPXP_REP_EMAIL", EMAIL.to_string()),
        ("REPXP_TWENTY_API_KEY", "wrong".into()),
    ];
    let out = cli(dir.path(), &as_refs(&env), "", &["doctor"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("refused the API key"), "{}", text(&out));
}

#[test]
fn http_to_a_remote_host_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = cli(
        dir.path(),
        &[],
        "secret-key\n",
        &["connect", "--url", "http://crm.acme.com", "--email", EMAIL],
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("https is required"), "{}", text(&out));
    let out = cli(
        dir.path(),
        &[],
        "secret-key\n",
        &[
            "connect",
            "--url",
            "https://crm.acme.com",
            "--email",
            "not-an-email",
        ],
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("not a valid rep email"),
        "{}",
        text(&out)
    );
}

#[test]
fn connect_stores_the_key_in_the_os_keychain_and_nowhere_else() {
    if !in_keyring_session("connect_stores_the_key_in_the_os_keychain_and_nowhere_else") {
        return;
    }
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let f = rt
        .block_on(FakeTwenty::start(FakeConfig {
            api_key: "sk-keychain-test-8d1f0c".into(),
            ..FakeConfig::default()
        }))
        .expect("fake");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = cli(
        dir.path(),
        &[],
        "sk-keychain-test-8d1f0c\n",
        &["connect", "--url", &f.url(), "--email", EMAIL],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("stored in the OS keychain"),
        "{}",
        text(&out)
    );
    assert!(text(&out).contains("no record yet"), "{}", text(&out));
    // The key came back from the keychain: sync and doctor work with no key in the environment.
    assert!(cli(dir.path(), &[], "", &["award", "12"]).status.success());
    let out = cli(dir.path(), &[], "", &["sync"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = cli(dir.path(), &[], "", &["doctor"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("API key found (keychain)"),
        "{}",
        text(&out)
    );
    // Nowhere else: not in the database files, not in anything printed.
    for entry in std::fs::read_dir(dir.path()).expect("ls") {
        let p = entry.expect("entry").path();
        if p.is_file() {
            let bytes = std::fs::read(&p).expect("read");
            assert!(
                !bytes.windows(23).any(|w| w == b"sk-keychain-test-8d1f0c"),
                "key found in {}",
                p.display()
            );
        }
    }
    for args in [&["status", "--json"][..], &["queue"], &["doctor"]] {
        assert!(!text(&cli(dir.path(), &[], "", args)).contains("sk-keychain-test"));
    }
    // The secret-service CLI sees it under RepXP's entry (a real keyring, not a mock).
    let lookup = Command::new("secret-tool")
        .args([
            "lookup",
            "service",
            "app.repxp.desktop",
            "username",
            "twenty-api-key",
        ])
        .output();
    if let Ok(o) = lookup {
        if o.status.success() {
            assert_eq!(
                String::from_utf8_lossy(&o.stdout).trim(),
                "sk-keychain-test-8d1f0c"
            );
        }
    }
}

// Linux only: a desktop with no Secret Service. Windows and macOS always have their store.
#[cfg(target_os = "linux")]
#[test]
fn without_a_keychain_connect_says_so_and_stores_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = cli(
        dir.path(),
        &[("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")],
        "sk-no-keychain-55\n",
        &["connect", "--url", "http://127.0.0.1:9", "--email", EMAIL],
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("keychain is not available"),
        "{}",
        text(&out)
    );
    assert!(
        text(&out).contains("never stores the key in plain text"),
        "{}",
        text(&out)
    );
    for entry in std::fs::read_dir(dir.path()).expect("ls") {
        let bytes = std::fs::read(entry.expect("entry").path()).unwrap_or_default();
        assert!(!bytes.windows(17).any(|w| w == b"sk-no-keychain-55"));
    }
}
