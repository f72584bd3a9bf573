//! Server-version profiles: which Twenty the fake imitates.
//!
//! A customer may run a 2025-era server or a current one, and one server answers differently per
//! workspace (feature flags). [`TwentyProfile`] picks one consistent set of answers. What changes
//! between the two profiles (each answer cites its source where it is built):
//!
//! | Area | [`TwentyProfile::Legacy`] | [`TwentyProfile::Newest`] |
//! |---|---|---|
//! | Metadata REST | GraphQL proxy: `{data:{objects:[…]}}`, opaque cursors (`metadata.rs`) | dedicated controllers, flag `IS_REST_METADATA_API_NEW_FORMAT_DIRECT` on: `{data:[…],pageInfo,totalCount}`, raw-id cursors, `id DESC` |
//! | Bad / missing key | 403 "Forbidden resource" | 401 `UNAUTHENTICATED` / 403 "Missing authentication token" |
//! | Record not found | 400 "Record not found"; update-one 400 `EntityNotFoundError` | 404 "Record not found" |
//! | Permission denied | "User does not have permission" | "Entity performing the request does not have permission" |
//! | EMAILS `repEmail[eq]` | `Sub field metadata not found for composite type: EMAILS` | `Sub field "eq" not found for composite type: EMAILS` |
//! | EMAILS filter values | taken as sent | `eq`/`neq`/`in` on `primaryEmail` lower-cased |
//! | `/client-config` | no `appVersion`, `sentry.release` | `appVersion` |
//!
//! The 429 form and the DATE_TIME filter generation stay independent knobs
//! (`FakeConfig::rate_limit_style`, `FakeConfig::legacy_datetime_filters`);
//! `FakeConfig::for_profile` sets them to the profile's values.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::errors::{ordered, TwentyError};

/// Which Twenty server the fake imitates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum TwentyProfile {
    /// 2025-era server: metadata REST proxied to GraphQL (legacy envelope), legacy 429, find-one
    /// 400 "Record not found", DATE_TIME plain filters, 403 "Forbidden resource" for any bad key,
    /// "User does not have permission", "Sub field metadata not found for composite type: EMAILS",
    /// no appVersion in /client-config.
    Legacy,
    /// Current server: dedicated metadata controllers with IS_REST_METADATA_API_NEW_FORMAT_DIRECT
    /// on (new format), modern 429, 404 not found, newest DATE_TIME filters, 401 for a bad key,
    /// "Entity performing the request does not have permission",
    /// `Sub field "eq" not found for composite type: EMAILS`, appVersion in /client-config.
    #[default]
    Newest,
}

impl TwentyProfile {
    /// Every profile, oldest first (for tests that run against each).
    pub const ALL: [TwentyProfile; 2] = [TwentyProfile::Legacy, TwentyProfile::Newest];

    /// "legacy" or "newest" (the `--twenty-version` value, and the serde form).
    pub fn name(self) -> &'static str {
        match self {
            TwentyProfile::Legacy => "legacy",
            TwentyProfile::Newest => "newest",
        }
    }

    pub(crate) fn is_legacy(self) -> bool {
        self == TwentyProfile::Legacy
    }

    /// The ORM's permission message: `PermissionsExceptionMessage.PERMISSION_DENIED` in
    /// packages/twenty-server/src/engine/metadata-modules/permissions/permissions.exception.ts
    /// (`88fbb41c`: "Entity performing the request does not have permission"; older `018f7e08`:
    /// "User does not have permission"). Research pass 11 §5b.
    pub fn permission_denied_message(self) -> &'static str {
        match self {
            TwentyProfile::Legacy => "User does not have permission",
            TwentyProfile::Newest => "Entity performing the request does not have permission",
        }
    }

    /// A records request the key's role does not allow: **400** with the permission message in
    /// both profiles, asserted by
    /// packages/twenty-server/test/integration/rest/suites/field-permissions.integration-spec.ts
    /// (`d1340b48`: `.expect(400)`, "Entity performing the request does not have permission";
    /// `01746b31`: "User does not have permission"). The status comes from
    /// packages/twenty-server/src/engine/api/rest/rest-api-exception.filter.ts (`b8a9f65d`,
    /// `3094ba40`: no HttpException status -> 400). `error` = "BadRequestException" is Unverified
    /// (the spec checks only status and message).
    pub(crate) fn records_permission_denied(self) -> TwentyError {
        TwentyError::bad_request(self.permission_denied_message())
    }

    /// A metadata REST request by a key whose role lacks the DATA_MODEL setting.
    ///
    /// Newest: `SettingsPermissionGuard(DATA_MODEL)` on both controllers
    /// (packages/twenty-server/src/engine/metadata-modules/object-metadata/controllers/object-metadata.controller.ts
    /// and .../field-metadata/controllers/field-metadata.controller.ts, `00b50cd5`) throws
    /// `PermissionsException(PERMISSION_DENIED)`, and `PermissionsRestApiExceptionFilter`
    /// (packages/twenty-server/src/engine/metadata-modules/permissions/utils/permissions-rest-api-exception.filter.ts,
    /// `41d24255`) answers 403. Body Inferred (research §5c):
    /// `{"statusCode":403,"error":"PermissionsException","messages":[…],"code":"PERMISSION_DENIED"}`.
    ///
    /// Legacy: the GraphQL proxy turns every GraphQL error into 400
    /// `{"statusCode":400,"messages":[…],"error":"Bad Request"}`
    /// (packages/twenty-server/src/engine/api/rest/errors/RestApiException.ts, `17c3ac3c`). The
    /// proxy's default selection includes `icon`, whose resolver is guarded by
    /// `SettingsPermissionGuard(DATA_MODEL)` (object-metadata.resolver.ts `02a1f88e`), so even a
    /// read fails (Inferred).
    pub(crate) fn metadata_permission_denied(self) -> TwentyError {
        match self {
            TwentyProfile::Legacy => legacy_graphql_proxy_error(self.permission_denied_message()),
            TwentyProfile::Newest => TwentyError {
                status: 403,
                body: ordered(&CodedBody {
                    status_code: 403,
                    error: "PermissionsException",
                    messages: [self.permission_denied_message()],
                    code: "PERMISSION_DENIED",
                }),
                headers: Vec::new(),
            },
        }
    }

    /// `repEmail[eq]:"x"` on an EMAILS field: `eq` is taken for a sub-field name.
    /// Newest: packages/twenty-server/src/engine/api/common/common-args-processors/filter-arg-processor/filter-arg-processor.service.ts
    /// (`0c49deef`, `validateAndTransformCompositeFieldFilter`: `Sub field "${subFieldKey}" not
    /// found for composite type: ${type}`, INVALID_ARGS_FILTER -> 400). Legacy: the TypeORM-era
    /// parser threw `Sub field metadata not found for composite type: EMAILS` (research §2, index
    /// ids 6420480194, 56791404744; the 400 is Inferred).
    pub(crate) fn composite_sub_field_not_found(self, sub_field: &str, ty: &str) -> TwentyError {
        match self {
            TwentyProfile::Legacy => TwentyError::bad_request(&format!(
                "Sub field metadata not found for composite type: {ty}"
            )),
            TwentyProfile::Newest => TwentyError::bad_request(&format!(
                "Sub field \"{sub_field}\" not found for composite type: {ty}"
            )),
        }
    }
}

/// A 400 from the old GraphQL-proxy metadata controller: `RestApiException`
/// (packages/twenty-server/src/engine/api/rest/errors/RestApiException.ts, `17c3ac3c`), keys in its
/// order, double quotes in the message turned into single quotes (`formatMessage`).
pub(crate) fn legacy_graphql_proxy_error(message: &str) -> TwentyError {
    let message = message.replace('"', "'");
    TwentyError {
        status: 400,
        body: ordered(&ProxyBody {
            status_code: 400,
            messages: [&message],
            error: "Bad Request",
        }),
        headers: Vec::new(),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CodedBody<'a> {
    status_code: u16,
    error: &'a str,
    messages: [&'a str; 1],
    code: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProxyBody<'a> {
    status_code: u16,
    messages: [&'a str; 1],
    error: &'a str,
}

impl fmt::Display for TwentyProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for TwentyProfile {
    type Err = String;

    /// "legacy" or "newest" (ASCII case-insensitive).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TwentyProfile::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("unknown Twenty version '{s}': expected legacy or newest"))
    }
}

/// The type of the `repProgression` object's `repEmail` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum RepEmailType {
    /// TEXT, unique (what `repxp doctor` creates).
    #[default]
    Text,
    /// EMAILS, the composite an admin gets by picking "Emails" in Twenty's UI: sub-fields
    /// `primaryEmail` (TEXT, in the unique constraint) and `additionalEmails` (RAW_JSON), unique
    /// on `primaryEmail`
    /// (packages/twenty-shared/src/types/composite-types/emails.composite-type.ts, `41d24255`).
    Emails,
}

impl RepEmailType {
    /// "text" or "emails".
    pub fn name(self) -> &'static str {
        match self {
            RepEmailType::Text => "text",
            RepEmailType::Emails => "emails",
        }
    }

    /// The field metadata type: "TEXT" or "EMAILS".
    pub fn field_type(self) -> &'static str {
        match self {
            RepEmailType::Text => "TEXT",
            RepEmailType::Emails => "EMAILS",
        }
    }
}

impl FromStr for RepEmailType {
    type Err = String;

    /// "text" or "emails" (ASCII case-insensitive).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [RepEmailType::Text, RepEmailType::Emails]
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("unknown repEmail type '{s}': expected text or emails"))
    }
}

/// An extra accepted API key whose role is limited (research pass 11 §5a/§5b).
///
/// `read` lists the object `namePlural`s the role may read; `update` those it may create, update,
/// soft delete, destroy and restore. Twenty keeps four separate flags per object
/// (`canReadObjectRecords`, `canUpdateObjectRecords`, `canSoftDeleteObjectRecords`,
/// `canDestroyObjectRecords`: packages/twenty-server/src/engine/metadata-modules/object-permission/dtos/upsert-object-permissions.input.ts,
/// `13cc0257`); **the fake's simplification** is that soft delete, destroy and restore need
/// `update` too. Twenty refuses a role that may write without reading
/// (`CANNOT_GIVE_WRITING_PERMISSION_WITHOUT_READING_PERMISSION`); the fake does not check, so list
/// a written object in `read` as well. `data_model` is the role's DATA_MODEL setting permission,
/// which the metadata REST API requires. Records created by the key get `createdBy.name = name`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RestrictedKey {
    pub key: String,
    pub name: String,
    pub data_model: bool,
    pub read: Vec<String>,
    pub update: Vec<String>,
}

impl RestrictedKey {
    /// May the role read records of `plural`?
    pub fn may_read(&self, plural: &str) -> bool {
        self.read.iter().any(|o| o == plural)
    }

    /// May the role create / update / delete / restore records of `plural`?
    pub fn may_update(&self, plural: &str) -> bool {
        self.update.iter().any(|o| o == plural)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_serialize() {
        for p in TwentyProfile::ALL {
            assert_eq!(p.name().parse::<TwentyProfile>().unwrap(), p);
            assert_eq!(
                serde_json::to_value(p).unwrap(),
                serde_json::json!(p.name())
            );
        }
        assert_eq!(TwentyProfile::default(), TwentyProfile::Newest);
        assert_eq!(
            "Legacy".parse::<TwentyProfile>().unwrap(),
            TwentyProfile::Legacy
        );
        assert!("2025".parse::<TwentyProfile>().is_err());
        assert_eq!(
            "emails".parse::<RepEmailType>().unwrap(),
            RepEmailType::Emails
        );
        assert_eq!(
            serde_json::to_value(RepEmailType::Text).unwrap(),
            serde_json::json!("text")
        );
    }

    #[test]
    fn permission_bodies() {
        let e = TwentyProfile::Newest.metadata_permission_denied();
        assert_eq!(e.status, 403);
        assert_eq!(
            e.body,
            r#"{"statusCode":403,"error":"PermissionsException","messages":["Entity performing the request does not have permission"],"code":"PERMISSION_DENIED"}"#
        );
        let e = TwentyProfile::Legacy.metadata_permission_denied();
        assert_eq!(
            e.body,
            r#"{"statusCode":400,"messages":["User does not have permission"],"error":"Bad Request"}"#
        );
        let e = TwentyProfile::Newest.records_permission_denied();
        assert_eq!(
            e.body,
            r#"{"statusCode":400,"error":"BadRequestException","messages":["Entity performing the request does not have permission"]}"#
        );
    }
}
