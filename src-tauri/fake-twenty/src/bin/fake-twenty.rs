//! `fake-twenty`: serve the fake Twenty until killed.
//!
//! Prints exactly `listening on http://127.0.0.1:PORT` as its first stdout line.
//!
//! Serves the records API (`/rest/{plural}`: find, create, update one/many, `DELETE` soft delete
//! with `?soft_delete=true` or destroy, `PATCH …/restore`), the metadata API (REST and the
//! object-fields GraphQL query), `GET /client-config` and the `/__fake/` admin endpoints
//! (src/fake/admin.rs), as the Twenty chosen with `--twenty-version` answers them
//! (src/fake/profile.rs lists the differences).

use std::io::Write;

use clap::{Parser, ValueEnum};
use fake_twenty::{
    FakeConfig, FakeTwenty, RateLimitStyle, RepEmailType, SchemaPreset, TwentyProfile,
};

#[derive(Clone, Copy, ValueEnum)]
enum Version {
    /// A 2025-era server: GraphQL-proxy metadata envelope, 403 for any bad key, 400 not-found,
    /// legacy 429, plain DATE_TIME filters, no appVersion.
    Legacy,
    /// A current server: new-format metadata (`{data:[…],pageInfo,totalCount}`), 401 for a bad
    /// key, 404 not-found, modern 429, one-millisecond DATE_TIME filters, appVersion.
    Newest,
}

#[derive(Clone, Copy, ValueEnum)]
enum EmailType {
    /// TEXT, unique.
    Text,
    /// EMAILS composite (`{primaryEmail, additionalEmails}`), unique on primaryEmail.
    Emails,
}

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
    /// Which Twenty to imitate.
    #[arg(long, value_enum, default_value = "newest")]
    twenty_version: Version,
    /// Requests per window in the per-workspace bucket.
    #[arg(long, default_value_t = 100)]
    rate_limit: u32,
    /// Rate-limit window in milliseconds.
    #[arg(long, default_value_t = 60_000)]
    rate_window_ms: u64,
    /// 429 form: legacy (no Retry-After) or modern (Retry-After + X-RateLimit-*). Default: the
    /// --twenty-version's (legacy for legacy, modern for newest).
    #[arg(long, value_enum)]
    rate_limit_style: Option<Style>,
    /// Initial metadata: full, none (no repProgression object) or partial (some fields missing).
    #[arg(long, value_enum, default_value = "full")]
    schema: Schema,
    /// Compare DATE_TIME filters plainly against the stored microseconds, like older Twenty
    /// (`updatedAt[eq]:<ms value from the API>` then matches nothing). Default: the
    /// --twenty-version's (plain for legacy, one-millisecond windows for newest).
    #[arg(long)]
    legacy_datetime_filters: bool,
    /// This many extra custom objects (customObject1…) besides repProgression, which is listed
    /// after all of them.
    #[arg(long, default_value_t = 0)]
    extra_objects: usize,
    /// Metadata list page size, the default and the cap of `limit` (default 1000; 60 models the
    /// early new-format iteration).
    #[arg(long)]
    metadata_page_size: Option<usize>,
    /// Type of repProgression.repEmail.
    #[arg(long, value_enum, default_value = "text")]
    rep_email_type: EmailType,
    /// Seed a team of this many reps (rep001@acme.test …; see `FakeTwenty::seed_team`).
    #[arg(long, default_value_t = 0)]
    team: usize,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let base = FakeConfig::for_profile(match args.twenty_version {
        Version::Legacy => TwentyProfile::Legacy,
        Version::Newest => TwentyProfile::Newest,
    });
    let config = FakeConfig {
        port: args.port,
        api_key: args.api_key,
        rate_limit: args.rate_limit,
        rate_window_ms: args.rate_window_ms,
        rate_limit_style: match args.rate_limit_style {
            Some(Style::Legacy) => RateLimitStyle::Legacy,
            Some(Style::Modern) => RateLimitStyle::Modern,
            None => base.rate_limit_style,
        },
        schema: match args.schema {
            Schema::Full => SchemaPreset::Full,
            Schema::None => SchemaPreset::NoObject,
            Schema::Partial => SchemaPreset::partial(),
        },
        legacy_datetime_filters: args.legacy_datetime_filters || base.legacy_datetime_filters,
        extra_objects: args.extra_objects,
        metadata_page_size: args.metadata_page_size,
        rep_email_type: match args.rep_email_type {
            EmailType::Text => RepEmailType::Text,
            EmailType::Emails => RepEmailType::Emails,
        },
        ..base
    };
    let fake = FakeTwenty::start(config).await?;
    fake.seed_team(args.team);
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
