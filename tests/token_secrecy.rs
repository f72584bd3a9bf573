//! The API key never appears in the database, the log file, stderr (even at trace level, with
//! the HTTP libraries' logs on), the process's command line, or error messages.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use fake_twenty::{FakeConfig, FakeTwenty, Fault, FaultKind};

const CLI: &str = env!("CARGO_BIN_EXE_repxp-cli");
const KEY: &str = "sk-secrecy-3f9a7c21d4";

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn all_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).expect("ls").flatten() {
        let p = e.path();
        if p.is_dir() {
            all_files(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_key_appears_in_no_file_log_argument_or_message() {
    let f = FakeTwenty::start(FakeConfig {
        api_key: KEY.into(),
        ..FakeConfig::default()
    })
    .await
    .expect("fake");
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |args: &[&str], key: &str| {
        Command::new(CLI)
            .arg("--data-dir")
            .arg(dir.path())
            .args(args)
            .env("REPXP_TWENTY_URL", f.url())
            .env("REPXP_REP_EMAIL", "sec@acme.test")
            .env("REPXP_TWENTY_API_KEY", key)
            .env("RUST_LOG", "trace")
            .output()
            .expect("run")
    };
    let mut printed = Vec::new();
    for args in [
        &["award", "10"][..],
        &["sync"],
        &["doctor"],
        &["status", "--json"],
        &["queue", "--json"],
    ] {
        let out = run(args, KEY);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        printed.extend(out.stdout);
        printed.extend(out.stderr);
    }
    // Failures too: a revoked key, a server error, a malformed body.
    for fault in [
        FaultKind::AuthFailure,
        FaultKind::ServerError { status: 500 },
        FaultKind::MalformedJson,
    ] {
        f.set_fault(Fault::always(fault));
        run(&["award", "1"], KEY);
        let out = run(&["sync"], KEY);
        assert!(!out.status.success());
        printed.extend(out.stdout);
        printed.extend(out.stderr);
        f.clear_faults();
    }
    assert!(printed.len() > 1000, "trace logging was on");
    assert!(!contains(&printed, KEY), "the key was printed");

    // While a sync is in flight, its command line and environment-free arguments hold no key.
    f.set_fault(Fault::times(FaultKind::Delay { ms: 1500 }, 1));
    run(&["award", "2"], KEY);
    let mut child = Command::new(CLI)
        .arg("--data-dir")
        .arg(dir.path())
        .arg("sync")
        .env("REPXP_TWENTY_URL", f.url())
        .env("REPXP_REP_EMAIL", "sec@acme.test")
        .env("REPXP_TWENTY_API_KEY", KEY)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    tokio::time::sleep(Duration::from_millis(400)).await;
    // What other users of the machine see of the process (Linux: /proc; Windows has no such
    // file, and the key comes from the environment there too, as the args above show).
    #[cfg(target_os = "linux")]
    {
        let cmdline = std::fs::read(format!("/proc/{}/cmdline", child.id())).expect("cmdline");
        assert!(!contains(&cmdline, KEY));
    }
    assert!(child.wait().expect("wait").success());

    let mut files = Vec::new();
    all_files(dir.path(), &mut files);
    assert!(
        files.iter().any(|p| p.ends_with("cli.log")),
        "a log file was written: {files:?}"
    );
    for p in files {
        assert!(
            !contains(&std::fs::read(&p).expect("read"), KEY),
            "key found in {}",
            p.display()
        );
    }
}
