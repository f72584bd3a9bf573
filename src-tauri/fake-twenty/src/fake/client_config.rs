//! `GET /client-config`: the public configuration the front end loads, the one place a client can
//! read the server's version without a key (research pass 11 §6).
//!
//! - packages/twenty-server/src/engine/core-modules/client-config/client-config.controller.ts
//!   (`b8a9f65d` `@Controller('/client-config')`; `064be293` `ApiPath.ClientConfig`), guarded by
//!   `PublicEndpointGuard, NoPermissionGuard`: no key needed.
//! - Newest body: packages/twenty-server/src/engine/core-modules/client-config/services/client-config.service.ts
//!   (`c856e0d5`, `getClientConfig`): `appVersion: APP_VERSION` first, then `billing`,
//!   `authProviders`, `signInPrefilled`, …, `sentry: {environment, release: APP_VERSION, dsn}`, ….
//!   Keys whose config value is unset are `undefined` and so left out by `JSON.stringify`.
//! - June 2025 (7f19111, answered by the real server): **no** `appVersion`; `sentry.release` is
//!   the `SENTRY_RELEASE` setting, unset on a source build, so `"sentry":{}` there. The keys are
//!   the real answer's (`billing`, `authProviders`, `signInPrefilled`, … `isConfigVariablesInDbEnabled`).
//!
//! The fake answers a plausible subset of keys with values of its own (an instance with billing
//! off, password sign-in only); only `appVersion` and `sentry.release` are meant to be read.
//! Not rate-limited, no key checked, counted in `Stats` as kind "client_config".

use serde_json::{json, Map, Value};

use super::errors::ordered;
use super::profile::TwentyProfile;

/// The `/client-config` body for `profile`; `app_version` is the newest profile's `APP_VERSION`
/// and, on June 2025, the `SENTRY_RELEASE` a deployment may set (`None`: unset, so `appVersion`
/// and `sentry.release` are left out, as on the source build checked).
pub fn body(profile: TwentyProfile, app_version: Option<&str>) -> String {
    if profile.is_june_2025() {
        return june_2025_body(app_version);
    }
    let release = app_version;
    // serde_json without `preserve_order` sorts map keys; build the top level by hand to keep
    // the service's order.
    let mut parts: Vec<(&str, Value)> = Vec::new();
    if let (TwentyProfile::Newest, Some(v)) = (profile, app_version) {
        parts.push(("appVersion", json!(v)));
    }
    parts.push((
        "billing",
        json!({"isBillingEnabled": false, "billingUrl": "", "trialPeriods": [
            {"duration": 30, "isCreditCardRequired": true},
            {"duration": 7, "isCreditCardRequired": false}
        ]}),
    ));
    parts.push((
        "authProviders",
        json!({"google": false, "magicLink": false, "password": true, "microsoft": false, "sso": []}),
    ));
    parts.push(("signInPrefilled", json!(false)));
    parts.push(("isMultiWorkspaceEnabled", json!(false)));
    parts.push(("isEmailVerificationRequired", json!(false)));
    parts.push(("support", json!({"supportDriver": "NONE"})));
    let mut sentry = Map::new();
    if let Some(r) = release {
        sentry.insert("release".into(), json!(r));
    }
    parts.push(("sentry", Value::Object(sentry)));
    parts.push(("captcha", json!({})));
    parts.push(("api", json!({"mutationMaximumAffectedRecords": 100})));
    parts.push(("analyticsEnabled", json!(false)));
    let fields: Vec<String> = parts
        .iter()
        .map(|(k, v)| format!("{}:{}", ordered(k), ordered(v)))
        .collect();
    format!("{{{}}}", fields.join(","))
}

/// The real 7f19111 server's answer (values of the source build checked, `sentry.release` only
/// when set).
fn june_2025_body(release: Option<&str>) -> String {
    let sentry = match release {
        Some(r) => json!({ "release": r }),
        None => json!({}),
    };
    let parts: Vec<(&str, Value)> = vec![
        (
            "billing",
            json!({"isBillingEnabled": false, "trialPeriods": [
                {"duration": 30, "isCreditCardRequired": true},
                {"duration": 7, "isCreditCardRequired": false}
            ]}),
        ),
        (
            "authProviders",
            json!({"google": false, "magicLink": false, "password": true, "microsoft": false, "sso": []}),
        ),
        ("signInPrefilled", json!(false)),
        ("isMultiWorkspaceEnabled", json!(false)),
        ("isEmailVerificationRequired", json!(false)),
        ("defaultSubdomain", json!("app")),
        ("frontDomain", json!("127.0.0.1")),
        ("debugMode", json!(false)),
        ("support", json!({"supportDriver": "NONE"})),
        ("sentry", sentry),
        ("captcha", json!({})),
        ("api", json!({"mutationMaximumAffectedRecords": 100})),
        ("isAttachmentPreviewEnabled", json!(true)),
        ("analyticsEnabled", json!(false)),
        ("canManageFeatureFlags", json!(false)),
        ("publicFeatureFlags", json!([])),
        ("isMicrosoftMessagingEnabled", json!(false)),
        ("isMicrosoftCalendarEnabled", json!(false)),
        ("isGoogleMessagingEnabled", json!(false)),
        ("isGoogleCalendarEnabled", json!(false)),
        ("isConfigVariablesInDbEnabled", json!(false)),
    ];
    let fields: Vec<String> = parts
        .iter()
        .map(|(k, v)| format!("{}:{}", ordered(k), ordered(v)))
        .collect();
    format!("{{{}}}", fields.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_keys_by_profile() {
        let v: Value = serde_json::from_str(&body(TwentyProfile::Newest, Some("v9.9.9"))).unwrap();
        assert_eq!(v["appVersion"], "v9.9.9");
        assert_eq!(v["sentry"]["release"], "v9.9.9");
        let text = body(TwentyProfile::Newest, Some("v9.9.9"));
        assert!(
            text.starts_with(r#"{"appVersion":"v9.9.9","billing":"#),
            "{text}"
        );
        let v: Value = serde_json::from_str(&body(TwentyProfile::Newest, None)).unwrap();
        assert!(v.get("appVersion").is_none());
        assert!(v["sentry"].get("release").is_none());
        let v: Value = serde_json::from_str(&body(TwentyProfile::June2025, None)).unwrap();
        assert!(v.get("appVersion").is_none());
        assert_eq!(
            v["sentry"],
            serde_json::json!({}),
            "as the real source build"
        );
        let v: Value =
            serde_json::from_str(&body(TwentyProfile::June2025, Some("v0.54.0"))).unwrap();
        assert!(v.get("appVersion").is_none());
        assert_eq!(v["sentry"]["release"], "v0.54.0");
    }
}
