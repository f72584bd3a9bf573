//! `doctor`'s schema check against both shapes of Twenty's metadata API: objects listed with
//! their fields (older servers) and without them (newer servers, which also list fields without
//! their object): then the fields come from the metadata GraphQL endpoint, and only the fields
//! really missing are created.

mod common;

use common::*;
use fake_twenty::{FakeConfig, FakeTwenty, SchemaPreset, TwentyProfile};
use repxp_engine::twenty::schema::{ensure, FieldStatus};

async fn fake_with(newer_metadata_selection: bool) -> FakeTwenty {
    // The June 2025 metadata layer (GraphQL proxy) is the one that can list objects without fields.
    FakeTwenty::start(FakeConfig {
        schema: SchemaPreset::partial(),
        newer_metadata_selection,
        profile: TwentyProfile::June2025,
        ..FakeConfig::default()
    })
    .await
    .expect("fake")
}

fn count(r: &repxp_engine::twenty::schema::SchemaReport, want: &FieldStatus) -> usize {
    r.fields.iter().filter(|(_, s)| s == want).count()
}

#[tokio::test]
async fn a_server_that_lists_newer_metadata_selection_gets_only_the_missing_fields_created() {
    let f = fake_with(true).await;
    let c = client(&f);
    let missing = match SchemaPreset::partial() {
        SchemaPreset::Without(m) => m.len(),
        _ => unreachable!("partial() is a Without"),
    };
    let report = ensure(&c, true).await.expect("ensure");
    assert!(report.is_ready(), "{report:?}");
    assert_eq!(count(&report, &FieldStatus::Created), missing, "{report:?}");
    assert_eq!(
        count(&report, &FieldStatus::Present),
        report.fields.len() - missing,
        "repEmail, totalXp and level were there already: {report:?}"
    );
    let stats = f.stats();
    assert_eq!(stats.kind("metadata_create_field"), missing as u64);
    assert!(
        stats.kind("metadata_graphql") >= 1,
        "fields came from GraphQL"
    );

    // Run again: everything is present, nothing is created twice.
    let again = ensure(&c, true).await.expect("ensure again");
    assert_eq!(count(&again, &FieldStatus::Present), again.fields.len());
    assert_eq!(f.stats().kind("metadata_create_field"), missing as u64);

    // And the sync works on the schema it made.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = store(dir.path());
    award(&mut s, 75);
    sync(&mut s, &c).await.expect("sync");
    assert_eq!(remote_xp(&f), 75);
}

#[tokio::test]
async fn a_server_that_lists_objects_with_fields_needs_no_graphql() {
    let f = fake_with(false).await;
    let c = client(&f);
    let report = ensure(&c, true).await.expect("ensure");
    assert!(report.is_ready(), "{report:?}");
    assert_eq!(f.stats().kind("metadata_graphql"), 0);
}
