//! The `repProgression` object and fields RepXP needs in the Twenty workspace; `doctor` checks
//! them through the metadata API and creates what is missing.

use serde_json::{json, Value};

use super::client::{EmailField, TwentyClient, OBJECT_PLURAL, OBJECT_SINGULAR};
use super::error::TwentyError;

/// (name, label, type Twenty must have, other types accepted when reading, unique)
pub const FIELDS: [(&str, &str, &str, &[&str], bool); 9] = [
    ("repEmail", "Rep email", "TEXT", &["EMAILS"], true),
    ("totalXp", "Total XP", "NUMBER", &[], false),
    ("level", "Level", "NUMBER", &[], false),
    (
        "defeatedBosses",
        "Defeated bosses",
        "TEXT",
        &["RAW_JSON"],
        false,
    ),
    ("passedExams", "Passed exams", "TEXT", &["RAW_JSON"], false),
    (
        "efficiencyMetrics",
        "Efficiency metrics",
        "TEXT",
        &["RAW_JSON"],
        false,
    ),
    (
        "syncWatermarks",
        "Sync watermarks",
        "TEXT",
        &["RAW_JSON"],
        false,
    ),
    ("syncRevision", "Sync revision", "NUMBER", &[], false),
    (
        "lastActivityDate",
        "Last activity date",
        "DATE_TIME",
        &[],
        false,
    ),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldStatus {
    Present,
    Created,
    Missing,
    WrongType {
        found: String,
        wanted: &'static str,
    },
    /// A field RepXP needs unique (repEmail) that Twenty does not keep unique: two records could
    /// answer to one rep.
    NotUnique,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaReport {
    pub object_created: bool,
    pub object_missing: bool,
    pub fields: Vec<(&'static str, FieldStatus)>,
    /// How `repEmail` is stored, when the field exists.
    pub email_field: Option<EmailField>,
    /// The metadata API answered in the new format (dedicated controllers), not the legacy one.
    pub new_format: bool,
    /// Other custom (non-system) objects of the workspace, by plural name: what a key limited to
    /// Rep progressions must not be able to read.
    pub other_objects: Vec<String>,
}

impl SchemaReport {
    pub fn is_ready(&self) -> bool {
        !self.object_missing
            && self
                .fields
                .iter()
                .all(|(_, s)| matches!(s, FieldStatus::Present | FieldStatus::Created))
    }
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn field_body(object_id: &str, name: &str, label: &str, ty: &str, unique: bool) -> Value {
    let mut body = json!({
        "objectMetadataId": object_id,
        "type": ty,
        "name": name,
        "label": label,
        "isNullable": true,
    });
    if unique {
        body["isUnique"] = json!(true);
    }
    if ty == "NUMBER" {
        body["settings"] = json!({"dataType": "int", "decimals": 0, "type": "number"});
    }
    body
}

/// Checks the schema; with `create`, creates the object and the fields that are missing.
/// Without it nothing is changed: the report says what would be created.
pub async fn ensure(client: &TwentyClient, create: bool) -> Result<SchemaReport, TwentyError> {
    let listed = client.list_objects().await?;
    let objects = listed.items;
    let mut object = objects
        .iter()
        .find(|o| str_of(o, "nameSingular") == Some(OBJECT_SINGULAR))
        .cloned();
    let mut report = SchemaReport {
        object_created: false,
        object_missing: false,
        fields: Vec::new(),
        email_field: None,
        new_format: listed.new_format,
        other_objects: objects
            .iter()
            .filter(|o| str_of(o, "nameSingular") != Some(OBJECT_SINGULAR))
            .filter(|o| o.get("isSystem").and_then(Value::as_bool) != Some(true))
            .filter(|o| o.get("isActive").and_then(Value::as_bool) != Some(false))
            .filter_map(|o| str_of(o, "namePlural").map(str::to_string))
            .collect(),
    };
    if object.is_none() {
        if !create {
            report.object_missing = true;
            report.fields = FIELDS.iter().map(|f| (f.0, FieldStatus::Missing)).collect();
            return Ok(report);
        }
        let created = client
            .create_object(&json!({
                "nameSingular": OBJECT_SINGULAR,
                "namePlural": OBJECT_PLURAL,
                "labelSingular": "Rep progression",
                "labelPlural": "Rep progressions",
                "icon": "IconTrophy",
                "description": "A sales rep's XP, level, bosses, exams and metrics (RepXP)",
            }))
            .await?;
        report.object_created = true;
        object = Some(created);
    }
    let object = object.unwrap_or(Value::Null);
    let object_id = str_of(&object, "id")
        .ok_or_else(|| TwentyError::Malformed {
            detail: "the repProgression object has no id".into(),
        })?
        .to_string();
    // Newer servers list objects without their fields (and list fields without their object):
    // then ask the metadata GraphQL endpoint for this object's fields.
    let existing: Vec<Value> = match object.get("fields").and_then(Value::as_array) {
        Some(f) => f.clone(),
        None => client.object_fields(&object_id).await?,
    };
    report.email_field = existing
        .iter()
        .find(|f| str_of(f, "name") == Some("repEmail"))
        .and_then(|f| match str_of(f, "type") {
            Some("EMAILS") => Some(EmailField::Emails),
            Some("TEXT") => Some(EmailField::Text),
            _ => None,
        });
    for (name, label, ty, also, unique) in FIELDS {
        let found = existing.iter().find(|f| str_of(f, "name") == Some(name));
        let not_unique = unique
            && found
                .and_then(|f| f.get("isUnique"))
                .and_then(Value::as_bool)
                == Some(false);
        let status = match found.and_then(|f| str_of(f, "type")) {
            Some(t) if (t == ty || also.contains(&t)) && not_unique => FieldStatus::NotUnique,
            Some(t) if t == ty || also.contains(&t) => FieldStatus::Present,
            Some(t) => FieldStatus::WrongType {
                found: t.to_string(),
                wanted: ty,
            },
            None if create => {
                client
                    .create_field(&field_body(&object_id, name, label, ty, unique))
                    .await?;
                FieldStatus::Created
            }
            None => FieldStatus::Missing,
        };
        report.fields.push((name, status));
    }
    Ok(report)
}
