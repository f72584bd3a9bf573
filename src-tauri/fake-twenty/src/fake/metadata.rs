//! Workspace metadata: the `repProgression` object (plus optional extra custom objects) with
//! their fields, and the metadata REST API as each server generation answers it.
//!
//! June 2025 ([`TwentyProfile::June2025`]): the GraphQL-backed metadata REST API. Shapes checked
//! on the real 7f19111 server: objects carry `dataSourceId`, fields are
//! `{id,type,name,isCustom,isActive,isSystem,isNullable,createdAt,updatedAt,defaultValue,options,
//! label,description,icon,fromRelationMetadata,toRelationMetadata}` (no `isUnique`, `settings`,
//! `objectMetadataId`: `isUnique` only through the metadata GraphQL endpoint); a TEXT field is
//! created `isNullable: false` with `defaultValue: "''"` and a custom object's `name` defaults to
//! `'Untitled'` ([`Schema::with_profile`]).
//! - packages/twenty-server/src/engine/api/rest/metadata/rest-api-metadata.controller.ts
//!   (`7f07be1`: GET -> 200, POST -> 201, body = cleanGraphQLResponse(result.data.data))
//! - packages/twenty-server/src/engine/api/rest/utils/clean-graphql-response.utils.ts
//!   (`0c103ab`: `{"data":{"objects":[...]},"pageInfo":{...}}`, edges flattened to arrays)
//! - packages/twenty-server/src/engine/api/rest/metadata/query-builder/utils/fetch-metadata-fields.utils.ts
//!   (`d201253`: the selected object/field properties)
//! - packages/twenty-server/src/engine/api/rest/metadata/query-builder/metadata-query-builder.factory.ts
//!   (`d1340b4`: create = `createOne<Object|Field>(input: {object|field: body})`, update =
//!   `updateOne<…>(input: {id, update: body})`)
//! - packages/twenty-server/src/engine/api/rest/metadata/query-builder/factories/get-metadata-variables.factory.ts
//!   (`253aa222`: `limit` default 1000, `starting_after` / `ending_before` -> `paging: {first|last,
//!   after|before}`, both -> 400 "Only one of 'endingBefore' and 'startingAfter' may be provided")
//! - every GraphQL error -> 400 `{"statusCode":400,"messages":[…],"error":"Bad Request"}`
//!   (packages/twenty-server/src/engine/api/rest/errors/RestApiException.ts, `17c3ac3c`)
//!
//! Cursors are opaque (the fake: base64 of `{"id":…}`), the order is the workspace's list order.
//!
//! Newest ([`TwentyProfile::Newest`]): the dedicated controllers of PR #20364 with the workspace
//! flag `IS_REST_METADATA_API_NEW_FORMAT_DIRECT` on (research pass 11 §1).
//! - packages/twenty-server/src/engine/metadata-modules/object-metadata/controllers/object-metadata.controller.ts
//!   and .../field-metadata/controllers/field-metadata.controller.ts (`00b50cd5`): lists
//!   `{data, pageInfo, totalCount}`, find-one / create / update answer the bare DTO, objects always
//!   inline `fields[]`, `ParseUUIDPipe` on `:id`, create 201.
//! - DTOs: .../flat-object-metadata/utils/from-flat-object-metadata-to-object-metadata-dto.util.ts
//!   (`084bfa79`) and .../flat-field-metadata/utils/from-flat-field-metadata-to-field-metadata-dto.util.ts
//!   (`0e61780c`).
//! - Paging: packages/twenty-server/src/engine/api/rest/metadata/utils/parse-metadata-rest-pagination.util.ts
//!   (`41d24255`: both cursors -> 400, a non-UUID cursor -> 400 `Invalid cursor: <value>`),
//!   .../metadata-modules/pagination/utils/build-metadata-cursor-page.util.ts (`41d24255`: cursor =
//!   the raw id), paginate-metadata-items-by-id.util.ts (`20e4faf6`: `id DESC`, `starting_after=X`
//!   -> `id < X`, `ending_before=X` -> `id > X` ascending then reversed, `limit + 1` rows), and
//!   packages/twenty-server/src/engine/api/utils/build-cursor-page.util.ts (`163788b2`: forward
//!   `hasNextPage = more`, `hasPreviousPage = starting_after given`; backward `hasNextPage =
//!   ending_before given`, `hasPreviousPage = more`). `totalCount` counts the whole set.
//! - Specs: packages/twenty-server/test/integration/rest/suites/object-metadata.integration-spec.ts and
//!   field-metadata.integration-spec.ts (`0d4d9aa6`).
//!
//! Page size ([`MetaCtx::page_size`]): 1000 in both (`DEFAULT_METADATA_REST_PAGE_SIZE` /
//! `MAX_METADATA_REST_PAGE_SIZE`, `8b2b28de`; the proxy's `limitInputFactory.create(ctx, 1000)`);
//! `FakeConfig::metadata_page_size` sets another, e.g. 60 for the early new-format iteration
//! (`parseLimitRestRequest`, default 60, spec `199dbd5f`). The fake uses it as the default **and
//! the cap** of `limit`, so a client must follow `hasNextPage` (Unverified: real servers let a larger
//! `limit` through up to their maximum).

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use super::cursor::{cursor_for, cursor_id};
use super::errors::{ordered, TwentyError};
use super::iso_ms;
use super::profile::{legacy_graphql_proxy_error, RepEmailType, TwentyProfile};

/// Which schema the fake workspace starts with.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SchemaPreset {
    /// `repProgression` exists with every RepXP field.
    #[default]
    Full,
    /// No `repProgression` object at all (`repxp doctor` must create it).
    NoObject,
    /// The object exists but these custom fields are missing.
    Without(Vec<String>),
}

impl SchemaPreset {
    /// The CLI's `--schema partial`: only repEmail, totalXp and level exist.
    pub fn partial() -> Self {
        SchemaPreset::Without(
            [
                "defeatedBosses",
                "passedExams",
                "efficiencyMetrics",
                "syncWatermarks",
                "syncRevision",
                "lastActivityDate",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        )
    }
}

/// RepXP's custom fields: (name, label, type, isUnique).
pub const REPXP_FIELDS: [(&str, &str, &str, bool); 9] = [
    ("repEmail", "Rep email", "TEXT", true),
    ("totalXp", "Total XP", "NUMBER", false),
    ("level", "Level", "NUMBER", false),
    ("defeatedBosses", "Defeated bosses", "TEXT", false),
    ("passedExams", "Passed exams", "TEXT", false),
    ("efficiencyMetrics", "Efficiency metrics", "TEXT", false),
    ("syncWatermarks", "Sync watermarks", "TEXT", false),
    ("syncRevision", "Sync revision", "NUMBER", false),
    ("lastActivityDate", "Last activity date", "DATE_TIME", false),
];

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldMeta {
    pub id: String,
    #[serde(rename = "type")]
    pub ty: String,
    pub name: String,
    pub label: String,
    pub description: Option<String>,
    pub icon: Option<String>,
    pub is_custom: bool,
    pub is_active: bool,
    pub is_system: bool,
    pub is_nullable: bool,
    pub is_unique: bool,
    pub created_at: String,
    pub updated_at: String,
    pub default_value: Value,
    pub options: Value,
    pub settings: Value,
    pub relation: Value,
    pub object_metadata_id: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    pub id: String,
    pub name_singular: String,
    pub name_plural: String,
    pub label_singular: String,
    pub label_plural: String,
    pub description: Option<String>,
    pub icon: Option<String>,
    pub is_custom: bool,
    pub is_active: bool,
    pub is_system: bool,
    pub created_at: String,
    pub updated_at: String,
    pub label_identifier_field_metadata_id: Option<String>,
    pub image_identifier_field_metadata_id: Option<String>,
    pub fields: Vec<FieldMeta>,
}

fn number_settings() -> Value {
    // NUMBER settings as the Twenty UI creates them (DESIGN.md §4; not re-read from source).
    json!({"dataType": "int", "decimals": 0, "type": "number"})
}

/// A random v4 id whose text does not start with `0000`, so it sorts above every [`low_id`].
fn high_id() -> String {
    loop {
        let id = Uuid::new_v4().to_string();
        if !id.starts_with("0000") {
            return id;
        }
    }
}

/// A valid v4 id starting with `00000000-`: below every [`high_id`] in `id DESC` order.
fn low_id() -> String {
    let mut bytes = *Uuid::new_v4().as_bytes();
    bytes[..4].fill(0);
    Uuid::from_bytes(bytes).to_string()
}

/// The canonical UUID text `uuid.validate` accepts (versions 1–8, RFC variant, nil and max), as
/// Twenty's cursor check (`parse-metadata-rest-pagination.util.ts`) and Nest's `ParseUUIDPipe` use.
pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 36 {
        return false;
    }
    let lower = s.to_ascii_lowercase();
    if lower == "00000000-0000-0000-0000-000000000000"
        || lower == "ffffffff-ffff-ffff-ffff-ffffffffffff"
    {
        return true;
    }
    let shape = b.iter().enumerate().all(|(i, c)| match i {
        8 | 13 | 18 | 23 => *c == b'-',
        _ => c.is_ascii_hexdigit(),
    });
    shape
        && (b'1'..=b'8').contains(&b[14])
        && matches!(b[19], b'8' | b'9' | b'a' | b'b' | b'A' | b'B')
}

/// June 2025 column defaults for a field created over the API (see [`Schema::with_profile`]).
fn june_2025_defaults(f: &mut FieldMeta) {
    if f.ty == "TEXT" {
        f.is_nullable = false;
        if f.default_value.is_null() {
            f.default_value = if f.name == "name" {
                json!("'Untitled'")
            } else {
                json!("''")
            };
        }
    }
}

impl FieldMeta {
    /// The value a new record holds when nothing is written: a quoted text default (`"''"`,
    /// `"'Untitled'"`) unquoted; everything else null (the fake's composites are filled elsewhere).
    pub fn column_default(&self) -> Option<Value> {
        let d = self.default_value.as_str()?;
        let inner = d.strip_prefix('\'')?.strip_suffix('\'')?;
        Some(Value::String(inner.to_string()))
    }

    fn new(object_id: &str, name: &str, label: &str, ty: &str, custom: bool, now: &str) -> Self {
        FieldMeta {
            id: Uuid::new_v4().to_string(),
            ty: ty.to_string(),
            name: name.to_string(),
            label: label.to_string(),
            description: None,
            icon: None,
            is_custom: custom,
            is_active: true,
            is_system: matches!(name, "id" | "createdBy" | "position"),
            is_nullable: !matches!(name, "id" | "createdAt" | "updatedAt" | "createdBy"),
            is_unique: name == "id",
            created_at: now.to_string(),
            updated_at: now.to_string(),
            default_value: Value::Null,
            options: Value::Null,
            settings: if ty == "NUMBER" {
                number_settings()
            } else {
                Value::Null
            },
            relation: Value::Null,
            object_metadata_id: object_id.to_string(),
        }
    }

    /// The part of a stored value a unique index holds: an EMAILS value's `primaryEmail` (the
    /// only sub-field with `isIncludedInUniqueConstraint`, emails.composite-type.ts `41d24255`;
    /// empty text is left out, as in the partial index `"<col>" != ''` of index id 16224294649,
    /// Unverified), any other non-null value as is.
    pub fn unique_key(&self, value: &Value) -> Option<Value> {
        if self.ty == "EMAILS" {
            return value
                .get("primaryEmail")
                .filter(|p| p.as_str().is_some_and(|s| !s.is_empty()))
                .cloned();
        }
        (!value.is_null()).then(|| value.clone())
    }

    /// The newest field DTO (`fromFlatFieldMetadataToFieldMetadataDto`, `0e61780c`), key order
    /// kept; `undefined` values (`description`, `icon`, `settings`) left out. `universalIdentifier`
    /// = the id and `writability` omitted (values not read: Unverified). `isCustom` is not in that
    /// DTO: the fake appends it from the older FieldMetadataDTO (a superset).
    fn dto<'a>(&'a self, workspace_id: &'a str) -> FieldDto<'a> {
        FieldDto {
            id: &self.id,
            universal_identifier: &self.id,
            label: &self.label,
            name: &self.name,
            object_metadata_id: &self.object_metadata_id,
            ty: &self.ty,
            workspace_id,
            default_value: &self.default_value,
            is_active: self.is_active,
            is_label_synced_with_name: false,
            is_system: self.is_system,
            is_ui_editable: !self.is_system,
            is_ui_read_only: self.is_system,
            options: &self.options,
            created_at: &self.created_at,
            updated_at: &self.updated_at,
            description: self.description.as_deref(),
            icon: self.icon.as_deref(),
            is_nullable: self.is_nullable,
            is_unique: self.is_unique,
            is_searchable: false,
            settings: (!self.settings.is_null()).then_some(&self.settings),
            is_custom: self.is_custom,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FieldDto<'a> {
    id: &'a str,
    universal_identifier: &'a str,
    label: &'a str,
    name: &'a str,
    object_metadata_id: &'a str,
    #[serde(rename = "type")]
    ty: &'a str,
    workspace_id: &'a str,
    default_value: &'a Value,
    is_active: bool,
    is_label_synced_with_name: bool,
    is_system: bool,
    #[serde(rename = "isUIEditable")]
    is_ui_editable: bool,
    #[serde(rename = "isUIReadOnly")]
    is_ui_read_only: bool,
    options: &'a Value,
    created_at: &'a str,
    updated_at: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    icon: Option<&'a str>,
    is_nullable: bool,
    is_unique: bool,
    is_searchable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    settings: Option<&'a Value>,
    is_custom: bool,
}

/// The newest object DTO (`fromFlatObjectMetadataToObjectMetadataDto`, `084bfa79`, key order
/// kept) plus `fields` (`ObjectMetadataWithFieldsDTO`, object-metadata.controller.ts `00b50cd5`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ObjectDto<'a> {
    id: &'a str,
    is_active: bool,
    is_custom: bool,
    is_label_synced_with_name: bool,
    is_remote: bool,
    is_searchable: bool,
    is_system: bool,
    #[serde(rename = "isUIReadOnly")]
    is_ui_read_only: bool,
    label_plural: &'a str,
    label_singular: &'a str,
    name_plural: &'a str,
    name_singular: &'a str,
    workspace_id: &'a str,
    image_identifier_field_metadata_id: Option<&'a str>,
    label_identifier_field_metadata_id: Option<&'a str>,
    created_at: &'a str,
    updated_at: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    icon: Option<&'a str>,
    fields: Vec<FieldDto<'a>>,
}

impl ObjectMeta {
    /// A custom object with Twenty's standard fields
    /// (id, name, createdAt, updatedAt, deletedAt, createdBy, position).
    pub fn custom(
        name_singular: &str,
        name_plural: &str,
        label_singular: &str,
        label_plural: &str,
        now_ms: u64,
    ) -> Self {
        Self::custom_with_id(
            Uuid::new_v4().to_string(),
            name_singular,
            name_plural,
            label_singular,
            label_plural,
            now_ms,
        )
    }

    fn custom_with_id(
        id: String,
        name_singular: &str,
        name_plural: &str,
        label_singular: &str,
        label_plural: &str,
        now_ms: u64,
    ) -> Self {
        let now = iso_ms(now_ms);
        let standard = [
            ("id", "Id", "UUID"),
            ("name", "Name", "TEXT"),
            ("createdAt", "Creation date", "DATE_TIME"),
            ("updatedAt", "Last update", "DATE_TIME"),
            ("deletedAt", "Deleted at", "DATE_TIME"),
            ("createdBy", "Created by", "ACTOR"),
            ("position", "Position", "POSITION"),
        ];
        let fields: Vec<FieldMeta> = standard
            .iter()
            .map(|(n, l, t)| FieldMeta::new(&id, n, l, t, false, &now))
            .collect();
        let label_id = fields
            .iter()
            .find(|f| f.name == "name")
            .map(|f| f.id.clone());
        ObjectMeta {
            id,
            name_singular: name_singular.to_string(),
            name_plural: name_plural.to_string(),
            label_singular: label_singular.to_string(),
            label_plural: label_plural.to_string(),
            description: None,
            icon: None,
            is_custom: true,
            is_active: true,
            is_system: false,
            created_at: now.clone(),
            updated_at: now,
            label_identifier_field_metadata_id: label_id,
            image_identifier_field_metadata_id: None,
            fields,
        }
    }

    /// The `repProgression` object for a preset, `repEmail` as TEXT (`NoObject` still builds it;
    /// callers skip it).
    pub fn rep_progression(preset: &SchemaPreset, now_ms: u64) -> Self {
        Self::rep_progression_with(preset, now_ms, RepEmailType::Text)
    }

    /// The `repProgression` object with `repEmail` of the given type (EMAILS: unique, on its
    /// `primaryEmail`). Its id starts with `00000000-`, so it comes last in the newest metadata
    /// lists (`id DESC`) and, with enough [`Schema::build`] extra objects, off the first page.
    pub fn rep_progression_with(
        preset: &SchemaPreset,
        now_ms: u64,
        rep_email_type: RepEmailType,
    ) -> Self {
        let mut o = Self::custom_with_id(
            low_id(),
            "repProgression",
            "repProgressions",
            "Rep progression",
            "Rep progressions",
            now_ms,
        );
        let now = iso_ms(now_ms);
        for (name, label, ty, unique) in REPXP_FIELDS {
            if let SchemaPreset::Without(missing) = preset {
                if missing.iter().any(|m| m == name) {
                    continue;
                }
            }
            let ty = if name == "repEmail" {
                rep_email_type.field_type()
            } else {
                ty
            };
            let mut f = FieldMeta::new(&o.id, name, label, ty, true, &now);
            f.is_unique = unique;
            o.fields.push(f);
        }
        o
    }

    /// Extra custom object number `n`: `customObject<n>` / `customObject<n>s`, the standard fields
    /// plus `notes` (TEXT) and `amount` (NUMBER). Its id never starts with `0000`.
    pub fn extra(n: usize, now_ms: u64) -> Self {
        let mut o = Self::custom_with_id(
            high_id(),
            &format!("customObject{n}"),
            &format!("customObject{n}s"),
            &format!("Custom object {n}"),
            &format!("Custom objects {n}"),
            now_ms,
        );
        let now = iso_ms(now_ms);
        o.fields
            .push(FieldMeta::new(&o.id, "notes", "Notes", "TEXT", true, &now));
        o.fields.push(FieldMeta::new(
            &o.id, "amount", "Amount", "NUMBER", true, &now,
        ));
        o
    }

    pub fn field(&self, name: &str) -> Option<&FieldMeta> {
        self.fields.iter().find(|f| f.name == name)
    }

    fn dto<'a>(&'a self, workspace_id: &'a str) -> ObjectDto<'a> {
        ObjectDto {
            id: &self.id,
            is_active: self.is_active,
            is_custom: self.is_custom,
            is_label_synced_with_name: false,
            is_remote: false,
            is_searchable: false,
            is_system: self.is_system,
            is_ui_read_only: false,
            label_plural: &self.label_plural,
            label_singular: &self.label_singular,
            name_plural: &self.name_plural,
            name_singular: &self.name_singular,
            workspace_id,
            image_identifier_field_metadata_id: self.image_identifier_field_metadata_id.as_deref(),
            label_identifier_field_metadata_id: self.label_identifier_field_metadata_id.as_deref(),
            created_at: &self.created_at,
            updated_at: &self.updated_at,
            description: self.description.as_deref(),
            icon: self.icon.as_deref(),
            fields: self.fields.iter().map(|f| f.dto(workspace_id)).collect(),
        }
    }
}

/// The workspace's objects, in list order (the legacy lists keep it).
#[derive(Debug, Clone, Default)]
pub struct Schema {
    pub objects: Vec<ObjectMeta>,
}

impl Schema {
    /// The preset alone: `repProgression` (TEXT `repEmail`) or nothing.
    pub fn from_preset(preset: &SchemaPreset, now_ms: u64) -> Self {
        Self::build(preset, now_ms, 0, RepEmailType::Text)
    }

    /// `extra_objects` custom objects ([`ObjectMeta::extra`], `customObject1`…) then, unless the
    /// preset is `NoObject`, `repProgression` **last**: last in the legacy list order, and last in
    /// the newest `id DESC` order through its low id.
    pub fn build(
        preset: &SchemaPreset,
        now_ms: u64,
        extra_objects: usize,
        rep_email_type: RepEmailType,
    ) -> Self {
        let mut objects: Vec<ObjectMeta> = (1..=extra_objects)
            .map(|n| ObjectMeta::extra(n, now_ms))
            .collect();
        if !matches!(preset, SchemaPreset::NoObject) {
            objects.push(ObjectMeta::rep_progression_with(
                preset,
                now_ms,
                rep_email_type,
            ));
        }
        Schema { objects }
    }

    /// The schema as `profile` creates fields: on June 2025 TEXT fields are not nullable and
    /// default to `''`, and `name` to `'Untitled'` (the real server's metadata for RepXP's object:
    /// `repEmail` `isNullable: false`, `defaultValue: "''"`; `name` `"'Untitled'"`), so a record
    /// created without them holds `""` and `"Untitled"`.
    pub fn with_profile(mut self, profile: TwentyProfile) -> Self {
        if profile.is_june_2025() {
            for o in &mut self.objects {
                for f in &mut o.fields {
                    june_2025_defaults(f);
                }
            }
        }
        self
    }

    pub fn by_plural(&self, plural: &str) -> Option<&ObjectMeta> {
        self.objects.iter().find(|o| o.name_plural == plural)
    }

    /// Error for an unknown object path segment, from
    /// packages/twenty-server/src/engine/api/rest/core/handlers/rest-api-base.handler.ts (`getObjectMetadata`).
    pub fn object_not_found(&self, segment: &str) -> TwentyError {
        let hint = match self.objects.iter().find(|o| o.name_singular == segment) {
            Some(o) => format!("Did you mean '{}'?", o.name_plural),
            None => "eg: companies".to_string(),
        };
        TwentyError::bad_request(&format!("object '{segment}' not found. {hint}"))
    }

    fn all_fields(&self) -> Vec<&FieldMeta> {
        self.objects.iter().flat_map(|o| o.fields.iter()).collect()
    }
}

/// How the metadata API answers (from `FakeConfig`).
#[derive(Debug, Clone, Copy)]
pub struct MetaCtx<'a> {
    pub profile: TwentyProfile,
    /// `workspaceId` in the newest DTOs.
    pub workspace_id: &'a str,
    /// Default and cap of `limit` on lists.
    pub page_size: usize,
    /// Legacy only: newer Twenty's default selection of the GraphQL proxy (docs/twenty-api.md §7):
    /// objects without `fields`, fields without `objectMetadataId`, `isUnique` and `settings`.
    pub newer_selection: bool,
    /// `FakeConfig::unique_indexes`: whether `isUnique` builds an index (and so needs distinct
    /// values).
    pub unique_indexes: bool,
}

impl MetaCtx<'_> {
    fn june_2025(&self) -> bool {
        self.profile.is_june_2025()
    }

    /// A 400 as this generation words a GraphQL-side refusal: the proxy's `Bad Request` body
    /// (legacy) or a Nest `BadRequestException` (newest).
    fn bad(&self, message: &str) -> TwentyError {
        if self.june_2025() {
            legacy_graphql_proxy_error(message)
        } else {
            TwentyError::bad_request(message)
        }
    }

    /// Newest `@Param('id', new ParseUUIDPipe())`: Nest's default message (Unverified wording).
    fn check_uuid_param(&self, id: &str) -> Result<(), TwentyError> {
        if self.june_2025() || is_uuid(id) {
            Ok(())
        } else {
            Err(TwentyError::bad_request(
                "Validation failed (uuid is expected)",
            ))
        }
    }
}

/// One page of a metadata list.
struct Page<'a, T> {
    items: Vec<&'a T>,
    has_next: bool,
    has_prev: bool,
    total: usize,
}

/// `limit`: absent -> `cap`; otherwise a non-negative integer, clamped to `cap`; anything else 400
/// `limit '<v>' is invalid. Should be an integer` (parse-metadata-rest-pagination.util.ts `41d24255`).
fn parse_limit(params: &HashMap<String, String>, cap: usize) -> Result<usize, TwentyError> {
    match params.get("limit").filter(|l| !l.is_empty()) {
        None => Ok(cap),
        Some(l) => match l.trim().parse::<u64>() {
            Ok(n) => Ok(usize::try_from(n).unwrap_or(usize::MAX).min(cap)),
            Err(_) => Err(TwentyError::bad_request(&format!(
                "limit '{l}' is invalid. Should be an integer"
            ))),
        },
    }
}

fn cursor_param<'p>(params: &'p HashMap<String, String>, key: &str) -> Option<&'p str> {
    params
        .get(key)
        .map(String::as_str)
        .filter(|c| !c.is_empty())
}

/// Newest paging: `id DESC`, raw-id cursors (see the module docs).
fn page_newest<'a, T>(
    all: Vec<&'a T>,
    id_of: fn(&T) -> &str,
    params: &HashMap<String, String>,
    cap: usize,
) -> Result<Page<'a, T>, TwentyError> {
    let after = cursor_param(params, "starting_after");
    let before = cursor_param(params, "ending_before");
    if after.is_some() && before.is_some() {
        return Err(TwentyError::bad_request(
            "'starting_after' and 'ending_before' cannot be used together.",
        ));
    }
    if let Some(bad) = [after, before].into_iter().flatten().find(|c| !is_uuid(c)) {
        return Err(TwentyError::bad_request(&format!("Invalid cursor: {bad}")));
    }
    let limit = parse_limit(params, cap)?;
    let total = all.len();
    let key = |x: &T| id_of(x).to_ascii_lowercase();
    let mut sorted = all;
    sorted.sort_by_key(|x| std::cmp::Reverse(key(x)));
    if let Some(before) = before.map(str::to_ascii_lowercase) {
        // `id > X` ascending, `limit + 1` rows, then back to descending.
        let mut above: Vec<&T> = sorted.into_iter().filter(|x| key(x) > before).collect();
        above.reverse();
        let more = above.len() > limit;
        above.truncate(limit);
        above.reverse();
        return Ok(Page {
            items: above,
            has_next: true,
            has_prev: more,
            total,
        });
    }
    let after = after.map(str::to_ascii_lowercase);
    let mut rest: Vec<&T> = sorted
        .into_iter()
        .filter(|x| after.as_ref().is_none_or(|a| key(x) < *a))
        .collect();
    let more = rest.len() > limit;
    rest.truncate(limit);
    Ok(Page {
        items: rest,
        has_next: more,
        has_prev: after.is_some(),
        total,
    })
}

/// Legacy paging: list order, `first`/`after` or `last`/`before` over opaque cursors
/// (get-metadata-variables.factory.ts `253aa222`). A cursor that is not one of the fake's
/// answers a GraphQL error through the proxy (400 "Invalid cursor", Unverified wording).
fn page_legacy<'a, T>(
    all: Vec<&'a T>,
    id_of: fn(&T) -> &str,
    params: &HashMap<String, String>,
    cap: usize,
) -> Result<Page<'a, T>, TwentyError> {
    let after = cursor_param(params, "starting_after");
    let before = cursor_param(params, "ending_before");
    if after.is_some() && before.is_some() {
        return Err(TwentyError::bad_request(
            "Only one of 'endingBefore' and 'startingAfter' may be provided",
        ));
    }
    let limit = parse_limit(params, cap)?;
    let total = all.len();
    let position = |cursor: &str| {
        cursor_id(cursor)
            .and_then(|id| all.iter().position(|x| id_of(x) == id))
            .ok_or_else(|| legacy_graphql_proxy_error("Invalid cursor"))
    };
    let (start, end) = match (after, before) {
        (_, Some(b)) => {
            let end = position(b)?;
            (end.saturating_sub(limit), end)
        }
        (Some(a), None) => {
            let start = position(a)? + 1;
            (start, (start + limit).min(total))
        }
        (None, None) => (0, limit.min(total)),
    };
    Ok(Page {
        items: all[start..end].to_vec(),
        has_next: end < total,
        has_prev: start > 0,
        total,
    })
}

/// A field as the June 2025 GraphQL proxy lists it (real answer's keys and order).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JuneField<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    ty: &'a str,
    name: &'a str,
    is_custom: bool,
    is_active: bool,
    is_system: bool,
    is_nullable: bool,
    created_at: &'a str,
    updated_at: &'a str,
    default_value: &'a Value,
    options: &'a Value,
    label: &'a str,
    description: &'a str,
    icon: &'a str,
    from_relation_metadata: Option<()>,
    to_relation_metadata: Option<()>,
}

/// An object as the June 2025 GraphQL proxy lists it (real answer's keys and order).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JuneObject<'a> {
    id: &'a str,
    data_source_id: &'a str,
    name_singular: &'a str,
    name_plural: &'a str,
    is_custom: bool,
    is_active: bool,
    is_system: bool,
    created_at: &'a str,
    updated_at: &'a str,
    label_identifier_field_metadata_id: Option<&'a str>,
    image_identifier_field_metadata_id: Option<&'a str>,
    label_singular: &'a str,
    label_plural: &'a str,
    description: Option<&'a str>,
    icon: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fields: Option<Vec<JuneField<'a>>>,
}

impl FieldMeta {
    fn june(&self) -> JuneField<'_> {
        JuneField {
            id: &self.id,
            ty: &self.ty,
            name: &self.name,
            is_custom: self.is_custom,
            is_active: self.is_active,
            is_system: self.is_system,
            is_nullable: self.is_nullable,
            created_at: &self.created_at,
            updated_at: &self.updated_at,
            default_value: &self.default_value,
            options: &self.options,
            label: &self.label,
            description: self.description.as_deref().unwrap_or(""),
            icon: self.icon.as_deref().unwrap_or(""),
            from_relation_metadata: None,
            to_relation_metadata: None,
        }
    }
}

impl ObjectMeta {
    /// `with_fields: false`: newer Twenty's proxy selection, objects without `fields`.
    fn june<'a>(&'a self, data_source_id: &'a str, with_fields: bool) -> JuneObject<'a> {
        JuneObject {
            id: &self.id,
            data_source_id,
            name_singular: &self.name_singular,
            name_plural: &self.name_plural,
            is_custom: self.is_custom,
            is_active: self.is_active,
            is_system: self.is_system,
            created_at: &self.created_at,
            updated_at: &self.updated_at,
            label_identifier_field_metadata_id: self.label_identifier_field_metadata_id.as_deref(),
            image_identifier_field_metadata_id: self.image_identifier_field_metadata_id.as_deref(),
            label_singular: &self.label_singular,
            label_plural: &self.label_plural,
            description: self.description.as_deref(),
            icon: self.icon.as_deref(),
            fields: with_fields.then(|| self.fields.iter().map(FieldMeta::june).collect()),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LegacyPageInfo {
    has_next_page: bool,
    start_cursor: Option<String>,
    end_cursor: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LegacyList<T: Serialize> {
    data: T,
    page_info: LegacyPageInfo,
}

/// `pageInfo` of the newest lists (rest-cursor-page-info.type.ts `41d24255`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NewPageInfo {
    has_next_page: bool,
    has_previous_page: bool,
    start_cursor: Option<String>,
    end_cursor: Option<String>,
}

/// `{ data, pageInfo, totalCount }` in the controllers' order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NewList<T: Serialize> {
    data: Vec<T>,
    page_info: NewPageInfo,
    total_count: usize,
}

fn legacy_page_info<T>(page: &Page<'_, T>, id_of: fn(&T) -> &str) -> LegacyPageInfo {
    LegacyPageInfo {
        has_next_page: page.has_next,
        start_cursor: page.items.first().map(|x| cursor_for(id_of(x))),
        end_cursor: page.items.last().map(|x| cursor_for(id_of(x))),
    }
}

fn new_page_info<T>(page: &Page<'_, T>, id_of: fn(&T) -> &str) -> NewPageInfo {
    NewPageInfo {
        has_next_page: page.has_next,
        has_previous_page: page.has_prev,
        start_cursor: page.items.first().map(|x| id_of(x).to_string()),
        end_cursor: page.items.last().map(|x| id_of(x).to_string()),
    }
}

fn object_id(o: &ObjectMeta) -> &str {
    &o.id
}

fn field_id(f: &FieldMeta) -> &str {
    &f.id
}

/// `GET /rest/metadata/objects` -> 200.
/// Legacy: `{"data":{"objects":[...]},"pageInfo":{hasNextPage,startCursor,endCursor}}`, each object
/// with its `fields` unless [`MetaCtx::newer_selection`] (docs/twenty-api.md §7).
/// Newest: `{"data":[...],"pageInfo":{hasNextPage,hasPreviousPage,startCursor,endCursor},"totalCount":n}`,
/// every object with `fields[]` (spec "inlines fields[] on each object").
pub fn list_objects(
    schema: &Schema,
    ctx: &MetaCtx<'_>,
    params: &HashMap<String, String>,
) -> Result<String, TwentyError> {
    let all: Vec<&ObjectMeta> = schema.objects.iter().collect();
    if !ctx.june_2025() {
        let page = page_newest(all, object_id, params, ctx.page_size)?;
        return Ok(ordered(&NewList {
            data: page.items.iter().map(|o| o.dto(ctx.workspace_id)).collect(),
            page_info: new_page_info(&page, object_id),
            total_count: page.total,
        }));
    }
    let page = page_legacy(all, object_id, params, ctx.page_size)?;
    let page_info = legacy_page_info(&page, object_id);
    let objects: Vec<JuneObject<'_>> = page
        .items
        .iter()
        .map(|o| o.june(ctx.workspace_id, !ctx.newer_selection))
        .collect();
    Ok(ordered(&LegacyList {
        data: JuneObjects { objects },
        page_info,
    }))
}

#[derive(Serialize)]
struct JuneObjects<'a> {
    objects: Vec<JuneObject<'a>>,
}

#[derive(Serialize)]
struct JuneFields<'a> {
    fields: Vec<JuneField<'a>>,
}

/// `GET /rest/metadata/objects/{id}` -> 200. Legacy `{"data":{"object":{...}}}`, unknown id 404
/// "Object does not exist" (the fake's own text). Newest: the bare object with `fields[]`; not a
/// UUID -> 400; unknown -> 404 "Object metadata not found" (`ObjectMetadataException
/// OBJECT_METADATA_NOT_FOUND`, object-metadata.controller.ts `00b50cd5`; `error` name Inferred).
pub fn get_object(schema: &Schema, ctx: &MetaCtx<'_>, id: &str) -> Result<String, TwentyError> {
    ctx.check_uuid_param(id)?;
    let found = schema.objects.iter().find(|o| o.id == id);
    if ctx.june_2025() {
        let o = found
            .ok_or_else(|| TwentyError::new(404, "NotFoundException", "Object does not exist"))?;
        return Ok(format!(
            "{{\"data\":{{\"object\":{}}}}}",
            ordered(&o.june(ctx.workspace_id, true))
        ));
    }
    let o = found
        .ok_or_else(|| TwentyError::new(404, "NotFoundException", "Object metadata not found"))?;
    Ok(ordered(&o.dto(ctx.workspace_id)))
}

/// `GET /rest/metadata/fields` -> 200, every object's fields.
/// Legacy: `{"data":{"fields":[...]},"pageInfo":{...}}`; with [`MetaCtx::newer_selection`]
/// without `objectMetadataId`, `isUnique` and `settings` (not in fetch-metadata-fields.utils.ts's
/// default field list). Newest: `{"data":[...],"pageInfo":{...},"totalCount":n}`, `id DESC`.
pub fn list_fields(
    schema: &Schema,
    ctx: &MetaCtx<'_>,
    params: &HashMap<String, String>,
) -> Result<String, TwentyError> {
    let all = schema.all_fields();
    if !ctx.june_2025() {
        let page = page_newest(all, field_id, params, ctx.page_size)?;
        return Ok(ordered(&NewList {
            data: page.items.iter().map(|f| f.dto(ctx.workspace_id)).collect(),
            page_info: new_page_info(&page, field_id),
            total_count: page.total,
        }));
    }
    let page = page_legacy(all, field_id, params, ctx.page_size)?;
    let pi = legacy_page_info(&page, field_id);
    Ok(ordered(&LegacyList {
        data: JuneFields {
            fields: page.items.iter().map(|f| f.june()).collect(),
        },
        page_info: pi,
    }))
}

/// `GET /rest/metadata/fields/{id}` -> 200. Legacy `{"data":{"field":{...}}}` (unknown: 404, the
/// fake's own text); newest the bare field, unknown 404 "Field metadata not found"
/// (field-metadata.controller.ts `00b50cd5`, `FIELD_METADATA_NOT_FOUND`; `error` name Inferred).
pub fn get_field(schema: &Schema, ctx: &MetaCtx<'_>, id: &str) -> Result<String, TwentyError> {
    ctx.check_uuid_param(id)?;
    let found = schema.all_fields().into_iter().find(|f| f.id == id);
    let f = found.ok_or_else(|| {
        let text = if ctx.june_2025() {
            "Field does not exist"
        } else {
            "Field metadata not found"
        };
        TwentyError::new(404, "NotFoundException", text)
    })?;
    if ctx.june_2025() {
        return Ok(format!("{{\"data\":{{\"field\":{}}}}}", ordered(&f.june())));
    }
    Ok(ordered(&f.dto(ctx.workspace_id)))
}

/// `POST /metadata`, the metadata GraphQL endpoint, for the one query RepXP sends: an object by
/// id with its fields, `object(id: $id) { id fields(paging: {first: 1000}) { edges { node { id
/// name type isNullable isUnique } } } }` (the shape Twenty's REST layer builds, docs/twenty-api.md
/// §7; `isUnique` is a GraphQL field of `field`, field-metadata.dto.ts `0119bed`). Every node
/// carries those five keys. GraphQL answers 200 with `errors` for anything else or an unknown id.
///
/// Reads need no DATA_MODEL permission: the object resolver has only `WorkspaceAuthGuard`, except
/// on the `icon` field and the mutations, which take `SettingsPermissionGuard(DATA_MODEL)`
/// (packages/twenty-server/src/engine/metadata-modules/object-metadata/object-metadata.resolver.ts,
/// `02a1f88e`). So a key without `data_model` gets the answer, unless the query selects `icon`
/// (then a FORBIDDEN error; its shape is Unverified).
pub fn graphql(schema: &Schema, body: &Value, data_model: bool, profile: TwentyProfile) -> String {
    let error = |message: &str, code: &str| {
        ordered(
            &json!({"errors": [{"message": message, "extensions": {"code": code}}], "data": null}),
        )
    };
    let query = body.get("query").and_then(Value::as_str).unwrap_or("");
    if !query.contains("object(id:") || !query.contains("fields(") {
        return error(
            "the fake Twenty answers only the object-with-fields metadata query",
            "GRAPHQL_VALIDATION_FAILED",
        );
    }
    if !data_model && query.contains("icon") {
        return error(profile.permission_denied_message(), "FORBIDDEN");
    }
    let id = body
        .pointer("/variables/id")
        .and_then(Value::as_str)
        .unwrap_or("");
    let Some(o) = schema.objects.iter().find(|o| o.id == id) else {
        return error("Object not found", "NOT_FOUND");
    };
    // The selection's key order, as the real server answers it.
    let edges: Vec<String> = o
        .fields
        .iter()
        .map(|f| {
            format!(
                "{{\"node\":{{\"id\":{},\"name\":{},\"type\":{},\"isNullable\":{},\"isUnique\":{}}}}}",
                ordered(&f.id),
                ordered(&f.name),
                ordered(&f.ty),
                f.is_nullable,
                f.is_unique
            )
        })
        .collect();
    format!(
        "{{\"data\":{{\"object\":{{\"id\":{},\"fields\":{{\"edges\":[{}]}}}}}}}}",
        ordered(&o.id),
        edges.join(",")
    )
}

fn str_field<'a>(body: &'a Value, key: &str) -> Option<&'a str> {
    body.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn is_camel_case(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_alphanumeric())
}

/// `POST /rest/metadata/objects` -> 201: legacy `{"data":{"createOneObject":{...}}}`, newest the
/// bare object with its default `fields[]` (object-metadata.controller.ts `00b50cd5`, `createOne`).
/// Validation texts are the fake's own.
pub fn create_object(
    schema: &mut Schema,
    ctx: &MetaCtx<'_>,
    body: &Value,
    now_ms: u64,
) -> Result<String, TwentyError> {
    let (Some(ns), Some(np), Some(ls), Some(lp)) = (
        str_field(body, "nameSingular"),
        str_field(body, "namePlural"),
        str_field(body, "labelSingular"),
        str_field(body, "labelPlural"),
    ) else {
        return Err(TwentyError::bad_request(
            "nameSingular, namePlural, labelSingular and labelPlural are required",
        ));
    };
    if !is_camel_case(ns) || !is_camel_case(np) {
        return Err(TwentyError::bad_request("Name should be in camelCase"));
    }
    if schema
        .objects
        .iter()
        .any(|o| o.name_singular == ns || o.name_plural == np)
    {
        return Err(TwentyError::bad_request("Object already exists"));
    }
    let mut o = ObjectMeta::custom(ns, np, ls, lp, now_ms);
    o.icon = str_field(body, "icon").map(str::to_string);
    o.description = str_field(body, "description").map(str::to_string);
    if ctx.june_2025() {
        o.fields.iter_mut().for_each(june_2025_defaults);
    }
    let text = if ctx.june_2025() {
        format!(
            "{{\"data\":{{\"createOneObject\":{}}}}}",
            ordered(&o.june(ctx.workspace_id, true))
        )
    } else {
        ordered(&o.dto(ctx.workspace_id))
    };
    schema.objects.push(o);
    Ok(text)
}

/// Field types the fake accepts on create (a subset of Twenty's FieldMetadataType).
const FIELD_TYPES: [&str; 10] = [
    "TEXT",
    "NUMBER",
    "NUMERIC",
    "BOOLEAN",
    "DATE_TIME",
    "DATE",
    "RAW_JSON",
    "UUID",
    "SELECT",
    "EMAILS",
];

/// `POST /rest/metadata/fields` -> 201: legacy `{"data":{"createOneField":{...}}}`, newest the bare
/// field (field-metadata.controller.ts `00b50cd5`, `createOne`). Validation texts are the fake's own.
pub fn create_field(
    schema: &mut Schema,
    ctx: &MetaCtx<'_>,
    body: &Value,
    now_ms: u64,
) -> Result<String, TwentyError> {
    let (Some(object_id), Some(ty), Some(name), Some(label)) = (
        str_field(body, "objectMetadataId"),
        str_field(body, "type"),
        str_field(body, "name"),
        str_field(body, "label"),
    ) else {
        return Err(TwentyError::bad_request(
            "objectMetadataId, type, name and label are required",
        ));
    };
    if !FIELD_TYPES.contains(&ty) {
        return Err(TwentyError::bad_request(&format!(
            "Invalid field type {ty}"
        )));
    }
    if !is_camel_case(name) {
        return Err(TwentyError::bad_request("Name should be in camelCase"));
    }
    let Some(object) = schema.objects.iter_mut().find(|o| o.id == object_id) else {
        return Err(TwentyError::bad_request("Object metadata does not exist"));
    };
    if object.field(name).is_some() {
        return Err(TwentyError::bad_request(&format!(
            "Field with name {name} already exists"
        )));
    }
    let now = iso_ms(now_ms);
    let mut f = FieldMeta::new(&object.id, name, label, ty, true, &now);
    f.is_nullable = body
        .get("isNullable")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    f.is_unique = body
        .get("isUnique")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if let Some(s) = body.get("settings").filter(|v| !v.is_null()) {
        f.settings = s.clone();
    }
    if let Some(d) = body.get("defaultValue") {
        f.default_value = d.clone();
    }
    f.description = str_field(body, "description").map(str::to_string);
    f.icon = str_field(body, "icon").map(str::to_string);
    if ctx.june_2025() && !body.get("isNullable").is_some_and(Value::is_boolean) {
        june_2025_defaults(&mut f);
    }
    let text = if ctx.june_2025() {
        format!("{{\"data\":{{\"createOneField\":{}}}}}", ordered(&f.june()))
    } else {
        ordered(&f.dto(ctx.workspace_id))
    };
    object.fields.push(f);
    Ok(text)
}

/// `PATCH` (or `PUT`) `/rest/metadata/fields/{id}` -> 200: legacy `{"data":{"updateOneField":{...}}}`
/// (`updateOneField(input: {id, update: body})`), newest the bare field (field-metadata.controller.ts
/// `00b50cd5`, `updateFieldInput: { ...update, id }`). Newest: not a UUID -> 400; an unknown id ->
/// **400** (spec field-metadata.integration-spec.ts `0d4d9aa6`, "returns 400 for an unknown id";
/// text "Field metadata not found" Unverified).
///
/// The fake applies `label`, `description`, `icon`, `isUnique`, `isNullable` and `isActive`, and
/// ignores other keys (Nest's `ValidationPipe()` without `whitelist` drops nothing and the
/// service's handling of the rest was not read). A value of the wrong JSON type -> 400
/// `<key> must be a <string|boolean> value` (class-validator wording, Unverified).
///
/// `isUnique: true` builds a non-partial unique index over every row of the object, trashed ones
/// included (generate-index-for-flat-field-metadata.util.ts `44697aa`, `indexWhereClause: null`):
/// if two rows share a value (EMAILS: `primaryEmail`), Postgres refuses and the fake answers 400
/// `Field "<name>" cannot be made unique: several records share a value` (wording Unverified).
pub fn update_field(
    schema: &mut Schema,
    ctx: &MetaCtx<'_>,
    id: &str,
    body: &Value,
    records: &HashMap<String, Vec<Value>>,
    now_ms: u64,
) -> Result<String, TwentyError> {
    ctx.check_uuid_param(id)?;
    let Some((oi, fi)) = schema
        .objects
        .iter()
        .enumerate()
        .find_map(|(oi, o)| o.fields.iter().position(|f| f.id == id).map(|fi| (oi, fi)))
    else {
        return Err(ctx.bad("Field metadata not found"));
    };
    let Some(update) = body.as_object() else {
        return Err(ctx.bad("Request body must be a JSON object"));
    };
    let text = |key: &str| -> Result<Option<Option<String>>, TwentyError> {
        match update.get(key) {
            None => Ok(None),
            Some(Value::Null) if key != "label" => Ok(Some(None)),
            Some(Value::String(s)) => Ok(Some(Some(s.clone()))),
            Some(_) => Err(ctx.bad(&format!("{key} must be a string value"))),
        }
    };
    let flag = |key: &str| -> Result<Option<bool>, TwentyError> {
        match update.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(ctx.bad(&format!("{key} must be a boolean value"))),
        }
    };
    let label = text("label")?;
    let description = text("description")?;
    let icon = text("icon")?;
    let is_unique = flag("isUnique")?;
    let is_nullable = flag("isNullable")?;
    let is_active = flag("isActive")?;
    let object = &schema.objects[oi];
    let field = &object.fields[fi];
    if ctx.unique_indexes && is_unique == Some(true) && !field.is_unique {
        let mut seen = HashSet::new();
        let rows = records
            .get(&object.name_plural)
            .map_or(&[][..], Vec::as_slice);
        let clash = rows
            .iter()
            .filter_map(|r| r.get(&field.name).and_then(|v| field.unique_key(v)))
            .any(|k| !seen.insert(k.to_string()));
        if clash {
            return Err(ctx.bad(&format!(
                "Field \"{}\" cannot be made unique: several records share a value",
                field.name
            )));
        }
    }
    let f = &mut schema.objects[oi].fields[fi];
    if let Some(Some(l)) = label {
        f.label = l;
    }
    if let Some(d) = description {
        f.description = d;
    }
    if let Some(i) = icon {
        f.icon = i;
    }
    if let Some(u) = is_unique {
        f.is_unique = u;
    }
    if let Some(n) = is_nullable {
        f.is_nullable = n;
    }
    if let Some(a) = is_active {
        f.is_active = a;
    }
    f.updated_at = iso_ms(now_ms);
    let f = &schema.objects[oi].fields[fi];
    Ok(if ctx.june_2025() {
        format!("{{\"data\":{{\"updateOneField\":{}}}}}", ordered(&f.june()))
    } else {
        ordered(&f.dto(ctx.workspace_id))
    })
}
