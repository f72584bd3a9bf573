//! `fake-twenty`: serve the fake Twenty until killed.
//!
//! Prints exactly `listening on http://127.0.0.1:PORT` as its first stdout line.
//!
//! Serves the records API (`/rest/{plural}`: find, create, update one/many, `DELETE` soft delete
//! with `?soft_delete=true` or destroy, `PATCH …/restore`; the June 2025 server has only find,
//! create, update one and destroy there), the records GraphQL API (`POST /graphql`), the metadata
//! API (REST and the object-fields GraphQL query), `GET /client-config` and the `/__fake/` admin
//! endpoints (src/fake/admin.rs), as the Twenty chosen with `--twenty-version` answers them
//! (src/fake/profile.rs lists the differences).

use std::io::Write;

use clap::{Parser, ValueEnum};
use fake_twenty::{
    FakeConfig, FakeTwenty, RateLimitStyle, RepEmailType, RestrictedKey, SchemaPreset,
    TwentyProfile,
};

#[derive(Clone, Copy, ValueEnum)]
enum Version {
    /// Upstream twentyhq/twenty 7f19111 of 2025-06-09 (between v0.54 and v0.55; a July 2025
    /// build answers alike), checked against a real one: no REST update-many, soft delete or
    /// restore, REST blind to the trash, GraphQL for those; GraphQL-proxy metadata envelope, 400
    /// not-found, no unique indexes, plain DATE_TIME filters, no appVersion.
    #[value(name = "2025-06")]
    June2025,
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
    /// The key's name, written to `createdBy.name` of the records it creates.
    #[arg(long, default_value = "RepXP test key")]
    api_key_name: String,
    /// A token answered as expired (401 "Token has expired."); repeatable.
    #[arg(long)]
    expired_key: Vec<String>,
    /// An API key answered as revoked (403 "This API Key is revoked"); repeatable.
    #[arg(long)]
    revoked_key: Vec<String>,
    /// A token whose role may read every record and change none (Twenty's Guest role; on
    /// 2025-06 a workspace member's token); repeatable.
    #[arg(long)]
    read_only_key: Vec<String>,
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
    /// --twenty-version's (legacy for 2025-06, modern for newest).
    #[arg(long, value_enum)]
    rate_limit_style: Option<Style>,
    /// Initial metadata: full, none (no repProgression object) or partial (some fields missing).
    #[arg(long, value_enum, default_value = "full")]
    schema: Schema,
    /// Compare DATE_TIME filters plainly against the stored microseconds, like older Twenty
    /// (`updatedAt[eq]:<ms value from the API>` then matches nothing). Default: the
    /// --twenty-version's (plain for 2025-06, one-millisecond windows for newest).
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
        Version::June2025 => TwentyProfile::June2025,
        Version::Newest => TwentyProfile::Newest,
    });
    let config = FakeConfig {
        port: args.port,
        api_key: args.api_key,
        api_key_name: args.api_key_name,
        expired_keys: args.expired_key,
        revoked_keys: args.revoked_key,
        restricted_keys: args
            .read_only_key
            .into_iter()
            .map(|key| RestrictedKey {
                key,
                name: "Read-only member".into(),
                data_model: false,
                read: vec!["repProgressions".into()],
                update: Vec::new(),
            })
            .collect(),
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
