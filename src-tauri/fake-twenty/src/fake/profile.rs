//! Server-version profiles: which Twenty the fake imitates.
//!
//! A customer may run a 2025 server or a current one, and one server answers differently per
//! workspace (feature flags). [`TwentyProfile`] picks one consistent set of answers. What changes
//! between the two profiles (each answer cites its source where it is built):
//!
//! | Area | [`TwentyProfile::June2025`] (run here, answers checked) | [`TwentyProfile::Newest`] (read in source) |
//! |---|---|---|
//! | Metadata REST | GraphQL proxy: `{data:{objects:[…]},pageInfo}`, opaque cursors, fields without `isUnique`/`settings` (`metadata.rs`) | dedicated controllers, flag `IS_REST_METADATA_API_NEW_FORMAT_DIRECT` on: `{data:[…],pageInfo,totalCount}`, raw-id cursors, `id DESC` |
//! | Bad / missing key | 401 `UNAUTHENTICATED` / 403 "Missing authentication token"; expired 401, revoked 403 | the same |
//! | REST update-many, soft delete, restore | none: `PATCH` without id 400 "Record ID not found", `DELETE` destroys, no restore route | `PATCH ?filter=`, `DELETE ?soft_delete=true`, `PATCH …/restore` |
//! | REST and the trash | trashed records invisible (find, update, delete) | find-one 404, updates reach them |
//! | Record not found | 400 "Record not found"; update-one / delete 400 `EntityNotFoundError` | 404 "Record not found" |
//! | REST values of the wrong type | stored as null (`"lots"`), numeric text read as a number | 400 |
//! | Unique fields | `isUnique` is metadata only: no index, duplicates accepted | non-partial unique index |
//! | GraphQL update-many, nothing matched | `NOT_FOUND` "Records not found", trashed rows never selected | `[]`, trashed rows matched |
//! | Roles | API keys bypass every role; a member's role applies to GraphQL only | every key has a role, REST and GraphQL |
//! | Permission denied | "User does not have permission" | "Entity performing the request does not have permission" |
//! | EMAILS `repEmail[eq]` | `Sub field metadata not found for composite type: EMAILS` | `Sub field "eq" not found for composite type: EMAILS` |
//! | EMAILS filter values | taken as sent | `eq`/`neq`/`in` on `primaryEmail` lower-cased |
//! | `/client-config` | no `appVersion`, `sentry: {}` | `appVersion` |
//!
//! The 429 form and the DATE_TIME filter generation stay independent knobs
//! (`FakeConfig::rate_limit_style`, `FakeConfig::legacy_datetime_filters`);
//! `FakeConfig::for_profile` sets them to the profile's values. docs/twenty-api.md §11 lists
//! what the fake still answers differently from the real 2025 server, and why.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::errors::{ordered, TwentyError};

/// Which Twenty server the fake imitates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum TwentyProfile {
    /// Upstream twentyhq/twenty `7f19111` of 2025-06-09, between v0.54 and v0.55; a July 2025
    /// build (≈ v1.1) answers alike. Run for real on the development machines
    /// (../shared/tools/real-twenty/) and checked request by request
    /// (tests/twenty-compat/compare.py, docs/twenty-api.md §11). REST has no update-many, no soft
    /// delete, no restore and cannot see trashed records; GraphQL (`POST /graphql`) has them.
    #[serde(rename = "2025-06")]
    June2025,
    /// Current server (read in source, 2026): dedicated metadata controllers with
    /// IS_REST_METADATA_API_NEW_FORMAT_DIRECT on (new format), modern 429, 404 not found, newest
    /// DATE_TIME filters, REST update-many / soft delete / restore, "Entity performing the request
    /// does not have permission", `Sub field "eq" not found for composite type: EMAILS`,
    /// appVersion in /client-config.
    #[default]
    Newest,
}

impl TwentyProfile {
    /// Every profile, oldest first (for tests that run against each).
    pub const ALL: [TwentyProfile; 2] = [TwentyProfile::June2025, TwentyProfile::Newest];

    /// "2025-06" or "newest" (the `--twenty-version` value, and the serde form).
    pub fn name(self) -> &'static str {
        match self {
            TwentyProfile::June2025 => "2025-06",
            TwentyProfile::Newest => "newest",
        }
    }

    pub(crate) fn is_june_2025(self) -> bool {
        self == TwentyProfile::June2025
    }

    /// The ORM's permission message: `PermissionsExceptionMessage.PERMISSION_DENIED` in
    /// packages/twenty-server/src/engine/metadata-modules/permissions/permissions.exception.ts
    /// (`88fbb41c`: "Entity performing the request does not have permission"; older `018f7e08`:
    /// "User does not have permission"). Research pass 11 §5b.
    pub fn permission_denied_message(self) -> &'static str {
        match self {
            TwentyProfile::June2025 => "User does not have permission",
            TwentyProfile::Newest => "Entity performing the request does not have permission",
        }
    }

    /// A REST records request the key's role does not allow (newest only: on 7f19111 REST never
    /// checks roles, see [`RestrictedKey`]): **400** with the permission message, asserted by
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
    /// June 2025: the GraphQL proxy turns every GraphQL error into 400
    /// `{"statusCode":400,"messages":[…],"error":"Bad Request"}`
    /// (packages/twenty-server/src/engine/api/rest/errors/RestApiException.ts, `17c3ac3c`).
    /// Checked on the real server: a Guest member's token creating a field gets
    /// `{"statusCode":400,"messages":["User does not have permission"],"error":"Bad Request"}`,
    /// while its metadata reads succeed (the fake asks `data_model` for writes only on this
    /// profile, see `server.rs`).
    pub(crate) fn metadata_permission_denied(self) -> TwentyError {
        match self {
            TwentyProfile::June2025 => legacy_graphql_proxy_error(self.permission_denied_message()),
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
    /// found for composite type: ${type}`, INVALID_ARGS_FILTER -> 400). June 2025: the TypeORM-era
    /// parser threw `Sub field metadata not found for composite type: EMAILS` (research §2, index
    /// ids 6420480194, 56791404744; the 400 is Inferred).
    pub(crate) fn composite_sub_field_not_found(self, sub_field: &str, ty: &str) -> TwentyError {
        match self {
            TwentyProfile::June2025 => TwentyError::bad_request(&format!(
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

    /// "2025-06" or "newest" (ASCII case-insensitive).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TwentyProfile::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("unknown Twenty version '{s}': expected 2025-06 or newest"))
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

/// An extra accepted token whose role is limited (research pass 11 §5a/§5b).
///
/// **Newest**: an API key with a role (`assignRoleToApiKey`). **June 2025**: API keys bypass every
/// role there (packages/twenty-server/src/engine/api/graphql/graphql-query-runner/interfaces/base-resolver-service.ts
/// and api/rest/core/interfaces/rest-api-base.handler.ts: `shouldBypassPermissionChecks =
/// isDefined(apiKey)`; metadata-modules/permissions/permissions.service.ts), so a restricted token
/// stands for a **workspace member's access token** whose role is limited, as the real server's
/// Guest (`canReadAllObjectRecords` only). On that version roles are role-wide (no
/// per-object permissions without `IS_PERMISSIONS_V2_ENABLED`), only GraphQL checks them
/// (`validateObjectRecordPermissionsOrThrow`: 200 `FORBIDDEN` "User does not have permission";
/// checked with the Guest's token), and REST does not (the Guest's REST `PATCH`, `POST` and
/// `DELETE` succeeded on the real server); metadata reads need no setting permission, writes do.
///
/// `read` lists the object `namePlural`s the role may read; `update` those it may create, update,
/// soft delete, destroy and restore. Twenty keeps four separate flags per object
/// (`canReadObjectRecords`, `canUpdateObjectRecords`, `canSoftDeleteObjectRecords`,
/// `canDestroyObjectRecords`: packages/twenty-server/src/engine/metadata-modules/object-permission/dtos/upsert-object-permissions.input.ts,
/// `13cc0257`); **the fake's simplification** is that soft delete, destroy and restore need
/// `update` too. Twenty refuses a role that may write without reading
/// (`CANNOT_GIVE_WRITING_PERMISSION_WITHOUT_READING_PERMISSION`); the fake does not check, so list
/// a written object in `read` as well. `data_model` is the role's DATA_MODEL setting permission,
/// which the metadata REST API requires (June 2025: for writes only). Records created with the
/// token get `createdBy.name = name`.
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
            "NEWEST".parse::<TwentyProfile>().unwrap(),
            TwentyProfile::Newest
        );
        assert_eq!(
            serde_json::to_value(TwentyProfile::June2025).unwrap(),
            serde_json::json!("2025-06")
        );
        assert!("2025".parse::<TwentyProfile>().is_err());
        assert!("legacy".parse::<TwentyProfile>().is_err());
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
        let e = TwentyProfile::June2025.metadata_permission_denied();
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
