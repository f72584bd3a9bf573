//! Workspace metadata: the `repProgression` object and its fields, and the metadata REST API.
//!
//! Shapes follow the GraphQL-backed metadata REST API:
//! - packages/twenty-server/src/engine/api/rest/metadata/rest-api-metadata.controller.ts
//!   (GET -> 200, POST -> 201, body = cleanGraphQLResponse(result.data.data))
//! - packages/twenty-server/src/engine/api/rest/utils/clean-graphql-response.utils.ts
//!   (`{"data":{"objects":[...]},"pageInfo":{...}}`, edges flattened to arrays)
//! - packages/twenty-server/src/engine/api/rest/metadata/query-builder/utils/fetch-metadata-fields.utils.ts
//!   (the selected object/field properties)
//! - packages/twenty-server/src/engine/api/rest/metadata/query-builder/metadata-query-builder.factory.ts
//!   (create = `createOne<Object|Field>(input: {object|field: body})`)

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use super::errors::{ordered, TwentyError};
use super::iso_ms;

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

impl FieldMeta {
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
        let now = iso_ms(now_ms);
        let id = Uuid::new_v4().to_string();
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

    /// The `repProgression` object for a preset (`NoObject` still builds it; callers skip it).
    pub fn rep_progression(preset: &SchemaPreset, now_ms: u64) -> Self {
        let mut o = Self::custom(
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
            let mut f = FieldMeta::new(&o.id, name, label, ty, true, &now);
            f.is_unique = unique;
            o.fields.push(f);
        }
        o
    }

    pub fn field(&self, name: &str) -> Option<&FieldMeta> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// The workspace's objects.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    pub objects: Vec<ObjectMeta>,
}

impl Schema {
    pub fn from_preset(preset: &SchemaPreset, now_ms: u64) -> Self {
        let objects = match preset {
            SchemaPreset::NoObject => Vec::new(),
            other => vec![ObjectMeta::rep_progression(other, now_ms)],
        };
        Schema { objects }
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
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MetaPageInfo {
    has_next_page: bool,
    start_cursor: Option<String>,
    end_cursor: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListBody<T: Serialize> {
    data: T,
    page_info: MetaPageInfo,
}

#[derive(Serialize)]
struct Objects<'a> {
    objects: &'a [ObjectMeta],
}

#[derive(Serialize)]
struct Fields<'a> {
    fields: Vec<&'a FieldMeta>,
}

fn page_info(ids: &[&str]) -> MetaPageInfo {
    // Cursors are opaque; GraphQL cursor-paging encodes them in base64. Treat as opaque.
    MetaPageInfo {
        has_next_page: false,
        start_cursor: ids.first().map(|s| super::records::cursor_for(s)),
        end_cursor: ids.last().map(|s| super::records::cursor_for(s)),
    }
}

/// `GET /rest/metadata/objects` -> 200 `{"data":{"objects":[...]},"pageInfo":{...}}`.
/// With `with_fields` each object carries its `fields` array, as older servers did; without, as
/// newer ones answer when no fields selector is given (docs/twenty-api.md §7).
pub fn list_objects(schema: &Schema, with_fields: bool) -> String {
    let ids: Vec<&str> = schema.objects.iter().map(|o| o.id.as_str()).collect();
    if with_fields {
        return ordered(&ListBody {
            data: Objects {
                objects: &schema.objects,
            },
            page_info: page_info(&ids),
        });
    }
    let objects: Vec<Value> = schema
        .objects
        .iter()
        .map(|o| {
            let mut v = serde_json::to_value(o).unwrap_or(Value::Null);
            if let Some(m) = v.as_object_mut() {
                m.remove("fields");
            }
            v
        })
        .collect();
    ordered(&json!({"data": {"objects": objects}, "pageInfo": page_info(&ids)}))
}

/// `POST /metadata`, the metadata GraphQL endpoint, for the one query RepXP sends: an object by
/// id with its fields, `object(id: $id) { id fields(paging: {first: 1000}) { edges { node { id
/// name type isNullable } } } }` (the shape Twenty's REST layer builds, docs/twenty-api.md §7).
/// GraphQL answers 200 with `errors` for anything else or an unknown id.
pub fn graphql(schema: &Schema, body: &Value) -> String {
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
    let id = body
        .pointer("/variables/id")
        .and_then(Value::as_str)
        .unwrap_or("");
    let Some(o) = schema.objects.iter().find(|o| o.id == id) else {
        return error("Object not found", "NOT_FOUND");
    };
    let edges: Vec<Value> = o
        .fields
        .iter()
        .map(|f| {
            json!({"node": {"id": f.id, "name": f.name, "type": f.ty, "isNullable": f.is_nullable}})
        })
        .collect();
    ordered(&json!({"data": {"object": {"id": o.id, "fields": {"edges": edges}}}}))
}

/// `GET /rest/metadata/objects/{id}` -> 200 `{"data":{"object":{...}}}`.
pub fn get_object(schema: &Schema, id: &str) -> Result<String, TwentyError> {
    let o = schema
        .objects
        .iter()
        .find(|o| o.id == id)
        .ok_or_else(|| TwentyError::new(404, "NotFoundException", "Object does not exist"))?;
    Ok(ordered(&json!({"data": {"object": o}})))
}

/// `GET /rest/metadata/fields` -> 200 `{"data":{"fields":[...]},"pageInfo":{...}}`.
/// With `default_selection` (newer Twenty, no selector), without `objectMetadataId`, `isUnique`
/// and `settings`, which are not in fetch-metadata-fields.utils.ts's default field list.
pub fn list_fields(schema: &Schema, default_selection: bool) -> String {
    let fields: Vec<&FieldMeta> = schema
        .objects
        .iter()
        .flat_map(|o| o.fields.iter())
        .collect();
    let ids: Vec<&str> = fields.iter().map(|f| f.id.as_str()).collect();
    let pi = page_info(&ids);
    if default_selection {
        let trimmed: Vec<Value> = fields
            .iter()
            .map(|f| {
                let mut v = serde_json::to_value(f).unwrap_or(Value::Null);
                if let Some(m) = v.as_object_mut() {
                    for k in ["objectMetadataId", "isUnique", "settings"] {
                        m.remove(k);
                    }
                }
                v
            })
            .collect();
        return ordered(&json!({"data": {"fields": trimmed}, "pageInfo": pi}));
    }
    ordered(&ListBody {
        data: Fields { fields },
        page_info: pi,
    })
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

/// `POST /rest/metadata/objects` -> 201 `{"data":{"createOneObject":{...}}}`.
pub fn create_object(
    schema: &mut Schema,
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
    let text = ordered(&json!({"data": {"createOneObject": &o}}));
    schema.objects.push(o);
    Ok(text)
}

/// Field types the fake accepts on create (a subset of Twenty's FieldMetadataType).
const FIELD_TYPES: [&str; 9] = [
    "TEXT",
    "NUMBER",
    "NUMERIC",
    "BOOLEAN",
    "DATE_TIME",
    "DATE",
    "RAW_JSON",
    "UUID",
    "SELECT",
];

/// `POST /rest/metadata/fields` -> 201 `{"data":{"createOneField":{...}}}`.
pub fn create_field(schema: &mut Schema, body: &Value, now_ms: u64) -> Result<String, TwentyError> {
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
    let text = ordered(&json!({"data": {"createOneField": &f}}));
    object.fields.push(f);
    Ok(text)
}
