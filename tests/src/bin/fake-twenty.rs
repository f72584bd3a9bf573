//! `fake-twenty`: serve the fake Twenty until killed.
//!
//! Prints exactly `listening on http://127.0.0.1:PORT` as its first stdout line.
//!
//! Serves the records API (`/rest/{plural}`: find, create, update one/many, `DELETE` soft delete
//! with `?soft_delete=true` or destroy, `PATCH …/restore`), the metadata API and the `/__fake/`
//! admin endpoints (tests/src/fake/admin.rs).

use std::io::Write;

use clap::{Parser, ValueEnum};
use repxp_tests::{FakeConfig, FakeTwenty, RateLimitStyle, SchemaPreset};

#[derive(Clone, Copy, ValueEnum)]
enum Style {
    Legacy,
    Modern,
}

#[derive(Clone, Copy, ValueEnum)]
enum Schema {
    Full,
    None,
    Partial,
}

#[derive(Parser)]
#[command(
    name = "fake-twenty",
    about = "A fake Twenty CRM REST server for RepXP tests"
)]
struct Args {
    /// Port on 127.0.0.1 (0 = random).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Accepted API key.
    #[arg(long, default_value = "test-key")]
    api_key: String,
    /// Requests per window in the per-workspace bucket.
    #[arg(long, default_value_t = 100)]
    rate_limit: u32,
    /// Rate-limit window in milliseconds.
    #[arg(long, default_value_t = 60_000)]
    rate_window_ms: u64,
    /// 429 form: legacy (no Retry-After) or modern (Retry-After + X-RateLimit-*).
    #[arg(long, value_enum, default_value = "legacy")]
    rate_limit_style: Style,
    /// Initial metadata: full, none (no repProgression object) or partial (some fields missing).
    #[arg(long, value_enum, default_value = "full")]
    schema: Schema,
    /// Compare DATE_TIME filters plainly against the stored microseconds, like older Twenty
    /// (`updatedAt[eq]:<ms value from the API>` then matches nothing). Default: the newest
    /// one-millisecond windows.
    #[arg(long)]
    legacy_datetime_filters: bool,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let config = FakeConfig {
        port: args.port,
        api_key: args.api_key,
        rate_limit: args.rate_limit,
        rate_window_ms: args.rate_window_ms,
        rate_limit_style: match args.rate_limit_style {
            Style::Legacy => RateLimitStyle::Legacy,
            Style::Modern => RateLimitStyle::Modern,
        },
        schema: match args.schema {
            Schema::Full => SchemaPreset::Full,
            Schema::None => SchemaPreset::NoObject,
            Schema::Partial => SchemaPreset::partial(),
        },
        legacy_datetime_filters: args.legacy_datetime_filters,
        ..FakeConfig::default()
    };
    let fake = FakeTwenty::start(config).await?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on {}", fake.url())?;
        out.flush()?;
    }
    wait_for_signal().await;
    fake.shutdown().await;
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
