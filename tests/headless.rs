//! `repxp-cli run`, the sync without the tray, as a dialer on a server runs it: the real binary
//! against the fake Twenty over loopback, awards made by other processes (`repxp-cli award`, the
//! award API), one runner per data directory, and a clean exit on SIGTERM (what systemd sends).
//! Signals make this a Unix test; on Windows `run` stops on Ctrl-C.
#![cfg(unix)]

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use repxp_award_api as award_api;
use repxp_cli::headless::WAITING_FOR_TRAY;
use repxp_engine::instance::{self, Claimed, Role};
use serde_json::Value;
use support::laptops::*;

const ANA: &str = "ana@acme.test";
const SYNCING: &str = "repxp-cli run: syncing";
/// The scheduler pushes 2 s after an award; this bounds a loaded CI machine, not the design.
const PUSHED_WITHIN: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq)]
enum Stream {
    Out,
    Err,
}

/// A running `repxp-cli run`, its output read line by line as it comes.
struct Runner {
    child: Child,
    lines: mpsc::Receiver<(Stream, String)>,
    seen: Vec<(Stream, String)>,
}

impl Runner {
    /// `award_port`: `REPXP_AWARD_PORT` (`off` unless the test uses the API: parallel tests would
    /// fight over the default port).
    fn start(l: &Laptop, award_port: &str) -> Runner {
        let mut child = Command::new(CLI)
            .arg("--data-dir")
            .arg(&l.data)
            .arg("run")
            .env("REPXP_TWENTY_URL", &l.url)
            .env("REPXP_REP_EMAIL", &l.email)
            .env("REPXP_TWENTY_API_KEY", &l.key)
            .env("REPXP_STATE_DIR", &l.state)
            .env("REPXP_HTTP_TIMEOUT_MS", "2000")
            .env("REPXP_AWARD_PORT", award_port)
            .env_remove("REPXP_DATA_DIR")
            .env_remove("REPXP_CRASHPOINT")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start repxp-cli run");
        let (tx, lines) = mpsc::channel();
        let out = child.stdout.take().expect("stdout");
        let err = child.stderr.take().expect("stderr");
        for (stream, pipe) in [
            (Stream::Out, Box::new(out) as Box<dyn std::io::Read + Send>),
            (Stream::Err, Box::new(err)),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    if tx.send((stream, line)).is_err() {
                        return;
                    }
                }
            });
        }
        Runner {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn drain(&mut self) {
        while let Ok(l) = self.lines.try_recv() {
            self.seen.push(l);
        }
    }

    fn output(&mut self) -> String {
        self.drain();
        self.seen
            .iter()
            .map(|(_, l)| l.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn has(&mut self, stream: Stream, needle: &str) -> bool {
        self.drain();
        self.seen
            .iter()
            .any(|(s, l)| *s == stream && l.contains(needle))
    }

    /// The first line of `stream` containing `needle`, waiting for it up to `within`.
    fn wait_for(&mut self, stream: Stream, needle: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            self.drain();
            if let Some((_, l)) = self
                .seen
                .iter()
                .find(|(s, l)| *s == stream && l.contains(needle))
            {
                return l.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self
                .lines
                .recv_timeout(left.min(Duration::from_millis(200)))
            {
                Ok(l) => self.seen.push(l),
                Err(_) if Instant::now() >= deadline => {
                    let status = self.child.try_wait().ok().flatten();
                    panic!(
                        "no {stream:?} line with {needle:?} within {within:?} (exit: {status:?}); output:\n{}",
                        self.output()
                    );
                }
                Err(_) => {}
            }
        }
    }

    /// SIGTERM, as `systemctl --user stop` sends it; the exit status within `within`.
    fn terminate(&mut self, within: Duration) -> ExitStatus {
        let sent = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM {}", self.pid());
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "still running {within:?} after SIGTERM; output:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops it and checks it left the way a service manager wants: exit 0, no panic.
    fn stop_cleanly(&mut self) {
        let started = Instant::now();
        let status = self.terminate(Duration::from_secs(5));
        let out = self.output();
        assert_eq!(
            status.code(),
            Some(0),
            "SIGTERM is a clean exit: {status:?}\n{out}"
        );
        assert!(!out.contains("panicked"), "{out}");
        eprintln!("stopped in {:?}", started.elapsed());
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `f` until it answers, up to `within`.
fn eventually<T>(within: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Ana's total on Twenty, once her record exists.
fn remote_xp(t: &Twenty) -> Option<i64> {
    live(t, ANA).first().and_then(|r| r["totalXp"].as_i64())
}

/// Waits for Twenty to hold `xp` for Ana and returns how long it took.
fn pushed(t: &Twenty, xp: i64, runner: &mut Runner) -> Duration {
    let since = Instant::now();
    if eventually(PUSHED_WITHIN, || (remote_xp(t) == Some(xp)).then_some(())).is_none() {
        panic!(
            "Twenty has {:?} XP for Ana, not {xp}, {PUSHED_WITHIN:?} later; runner output:\n{}",
            remote_xp(t),
            runner.output()
        );
    }
    since.elapsed()
}

#[test]
fn an_award_from_another_process_is_pushed_by_the_runner_within_seconds() {
    let t = twenty();
    let l = Laptop::new(&t, ANA);
    let mut runner = Runner::start(&l, "off");
    let line = runner.wait_for(Stream::Out, SYNCING, Duration::from_secs(10));
    assert!(
        line.ends_with("(Ctrl-C to stop)") && line.contains(&l.data.display().to_string()),
        "{line}"
    );

    l.award(40);
    let took = pushed(&t, 40, &mut runner);
    eprintln!("award 40 reached Twenty {took:?} after `repxp-cli award` returned");
    // The local queue hears of it too (the acknowledgement follows the write).
    assert!(
        eventually(PUSHED_WITHIN, || (l.status()["pending"] == 0).then_some(())).is_some(),
        "{}",
        l.status()
    );

    // A second award: the newest event changed again, so it is pushed again.
    l.award(2);
    let took = pushed(&t, 42, &mut runner);
    eprintln!("award 2 reached Twenty {took:?} after `repxp-cli award` returned");
    assert_eq!(live(&t, ANA).len(), 1);
    runner.stop_cleanly();
}

#[test]
fn an_award_through_the_award_api_is_pushed_by_the_runner() {
    let t = twenty();
    let l = Laptop::new(&t, ANA);
    // Any free port; the runner writes the one it took to the endpoint file.
    let mut runner = Runner::start(&l, "0");
    runner.wait_for(Stream::Out, SYNCING, Duration::from_secs(10));
    let url = eventually(Duration::from_secs(10), || endpoint(&l.data))
        .unwrap_or_else(|| panic!("no award API endpoint; output:\n{}", runner.output()));
    let secret = std::fs::read_to_string(l.data.join(award_api::SECRET_FILE))
        .expect("the award API's secret")
        .trim()
        .to_string();

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (status, body): (u16, Value) = rt.block_on(async {
        let r = reqwest::Client::new()
            .post(format!("{url}/v1/awards"))
            .bearer_auth(&secret)
            .header("content-type", "application/json")
            .body(r#"{"kind":"xp","amount":25,"source":"dialer","id":"0193a7c0-0000-7000-8000-0000000000b7"}"#)
            .send()
            .await
            .expect("POST /v1/awards");
        let status = r.status().as_u16();
        (status, r.json().await.expect("json answer"))
    });
    assert_eq!(status, 201, "{body}");
    let took = pushed(&t, 25, &mut runner);
    eprintln!("the API's award reached Twenty {took:?} after its 201");
    runner.stop_cleanly();
}

fn endpoint(data: &Path) -> Option<String> {
    let text = std::fs::read_to_string(data.join(award_api::ENDPOINT_FILE)).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    v["url"].as_str().map(str::to_string)
}

#[test]
fn a_second_runner_waits_while_the_first_syncs_and_takes_over_when_it_stops() {
    let t = twenty();
    let l = Laptop::new(&t, ANA);
    let mut first = Runner::start(&l, "off");
    first.wait_for(Stream::Out, SYNCING, Duration::from_secs(10));

    let mut second = Runner::start(&l, "off");
    let waiting = second.wait_for(
        Stream::Err,
        "waiting for it to quit",
        Duration::from_secs(10),
    );
    assert!(
        waiting.contains(&format!("pid {}", first.pid())),
        "names the runner it waits for: {waiting}"
    );

    l.award(40);
    pushed(&t, 40, &mut first);
    assert!(
        !second.has(Stream::Out, SYNCING),
        "the waiting runner never started syncing: {}",
        second.output()
    );

    // The first one stops (a redeploy, a crash restart): the waiting one takes over.
    first.stop_cleanly();
    second.wait_for(Stream::Out, SYNCING, Duration::from_secs(10));
    l.award(2);
    pushed(&t, 42, &mut second);
    second.stop_cleanly();
    assert_eq!(remote_xp(&t), Some(42), "every award counted once");
}

#[test]
fn a_runner_stopped_while_waiting_exits_cleanly_without_syncing() {
    let t = twenty();
    let l = Laptop::new(&t, ANA);
    let Claimed::Mine(tray) = instance::try_claim(&l.data, Role::Tray).expect("claim") else {
        panic!("a fresh data directory is free");
    };
    let mut runner = Runner::start(&l, "off");
    runner.wait_for(Stream::Err, WAITING_FOR_TRAY, Duration::from_secs(10));
    l.award(40);
    runner.stop_cleanly();
    assert!(!runner.has(Stream::Out, SYNCING), "{}", runner.output());
    assert_eq!(
        t.fake.stats().total,
        0,
        "a runner that never held the data never talked to Twenty"
    );
    drop(tray);
}

#[test]
fn the_runner_waits_for_the_tray_and_syncs_once_it_quits() {
    let t = twenty();
    let l = Laptop::new(&t, ANA);
    // This test process plays the tray: it holds the data directory as the tray app does.
    let Claimed::Mine(tray) = instance::try_claim(&l.data, Role::Tray).expect("claim") else {
        panic!("a fresh data directory is free");
    };
    let mut runner = Runner::start(&l, "off");
    let line = runner.wait_for(Stream::Err, WAITING_FOR_TRAY, Duration::from_secs(10));
    assert_eq!(line, WAITING_FOR_TRAY, "one line, nothing else on it");
    // Awarded while the tray "runs" (and, in this test, never pushes).
    l.award(40);
    assert!(!runner.has(Stream::Out, SYNCING), "{}", runner.output());
    assert_eq!(
        t.fake.stats().total,
        0,
        "nothing synced while the tray holds the data"
    );

    // The rep quits the tray: the runner takes over and pushes what was waiting.
    drop(tray);
    runner.wait_for(Stream::Out, SYNCING, Duration::from_secs(10));
    pushed(&t, 40, &mut runner);
    assert_eq!(
        instance::holder(&l.data).map(|h| (h.role, h.pid)),
        Some((Role::Headless, runner.pid())),
        "the runner says who holds the data now"
    );
    runner.stop_cleanly();
    assert_eq!(
        instance::holder(&l.data),
        None,
        "a runner that stopped leaves no owner behind"
    );
}

/// `repxp-cli web` as the rep uses it while the runner serves the award API.
fn web(l: &Laptop, args: &[&str]) -> (bool, String) {
    let out = Command::new(CLI)
        .arg("--data-dir")
        .arg(&l.data)
        .arg("web")
        .args(args)
        .env_remove("REPXP_DATA_DIR")
        .output()
        .expect("run repxp-cli web");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn a_page_paired_with_repxp_cli_web_awards_xp_that_reaches_twenty() {
    let t = twenty();
    let l = Laptop::new(&t, ANA);
    let (ok, said) = web(&l, &["list"]);
    assert!(!ok && said.contains("RepXP is not running"), "{said}");
    let mut runner = Runner::start(&l, "0");
    runner.wait_for(Stream::Out, SYNCING, Duration::from_secs(10));
    let url = eventually(Duration::from_secs(10), || endpoint(&l.data))
        .unwrap_or_else(|| panic!("no award API endpoint; output:\n{}", runner.output()));
    let dialer = "https://dialer.example.com";
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let http = reqwest::Client::new();
    let asked: Value = rt.block_on(async {
        http.post(format!("{url}/v1/pair"))
            .header("origin", dialer)
            .send()
            .await
            .expect("pair")
            .json()
            .await
            .expect("json")
    });
    let request = asked["request"].as_str().expect("request id").to_string();
    let (ok, said) = web(&l, &["list"]);
    assert!(
        ok && said.contains(&format!("asking to pair now: {dialer}")),
        "{said}"
    );
    let (ok, said) = web(&l, &["allow", "https://not-asking.example"]);
    assert!(!ok && said.contains("is not asking to pair"), "{said}");
    let (ok, said) = web(&l, &["allow", dialer]);
    assert!(ok, "{said}");
    let token = rt.block_on(async {
        let v: Value = http
            .get(format!("{url}/v1/pair"))
            .header("origin", dialer)
            .header("x-repxp-pairing", &request)
            .send()
            .await
            .expect("poll")
            .json()
            .await
            .expect("json");
        v["token"].as_str().expect("token").to_string()
    });
    let status = rt.block_on(async {
        http.post(format!("{url}/v1/awards"))
            .header("origin", dialer)
            .bearer_auth(&token)
            .body(r#"{"kind":"xp","amount":30,"id":"0193a7c0-0000-7000-8000-0000000000c1"}"#)
            .send()
            .await
            .expect("award")
            .status()
            .as_u16()
    });
    assert_eq!(status, 201);
    pushed(&t, 30, &mut runner);
    let (ok, said) = web(&l, &["list"]);
    assert!(ok && said.contains(&format!("allowed  {dialer}")), "{said}");
    assert!(!said.contains(&token), "the list never shows a token");
    let (ok, said) = web(&l, &["revoke", dialer]);
    assert!(ok && said.contains("may no longer award XP"), "{said}");
    runner.stop_cleanly();
}
