//! The workspace GraphQL schema Twenty generates from the metadata, for the fake's objects.
//!
//! Names and shapes were read by introspection on the real server (Twenty 7f19111,
//! `__type(name: "RepProgressionFilterInput")` etc.) and in its source:
//! packages/twenty-server/src/engine/api/graphql/workspace-schema-builder/services/type-mapper.service.ts
//! (field type → scalar: NUMBER is `Int` when `settings.dataType` is `int`, else `Float`; the
//! filter types), and the resolver names of
//! packages/twenty-server/src/engine/api/graphql/workspace-resolver-builder/factories/ (every root
//! argument is nullable: `updateRepProgression(id: UUID, data: RepProgressionUpdateInput)`).
//!
//! Per object (`repProgression` / `repProgressions`, capitalised `RepProgression`):
//! - Query: `repProgressions(first, last, before, after, limit, filter, orderBy)` →
//!   `RepProgressionConnection` (`totalCount`, `edges { node cursor }`, `pageInfo`),
//!   `repProgression(filter)` → `RepProgression`.
//! - Mutation: `createRepProgression(data, upsert)`, `createRepProgressions(data, upsert)`,
//!   `updateRepProgression(id, data)`, `updateRepProgressions(data, filter)`,
//!   `deleteRepProgression(id)`, `deleteRepProgressions(filter)`, `destroyRepProgression(id)`,
//!   `destroyRepProgressions(filter)`, `restoreRepProgression(id)`, `restoreRepProgressions(filter)`.
//!
//! Not modelled (the fake's objects have no such fields): relation connections (`favorites`,
//! `attachments`, …), `searchVector`, the aggregate fields of connections (`sumTotalXp`, …).

use std::collections::BTreeMap;

use super::syntax::TypeRef;
use crate::fake::metadata::{FieldMeta, ObjectMeta, Schema};

/// What a root field does, on which object (`namePlural`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootOp {
    FindMany,
    FindOne,
    CreateOne,
    CreateMany,
    UpdateOne,
    UpdateMany,
    DeleteOne,
    DeleteMany,
    DestroyOne,
    DestroyMany,
    RestoreOne,
    RestoreMany,
}

impl RootOp {
    pub fn is_write(self) -> bool {
        !matches!(self, RootOp::FindMany | RootOp::FindOne)
    }

    /// The `Stats::by_kind` name, the same as the REST endpoint's.
    pub fn kind(self) -> &'static str {
        match self {
            RootOp::FindMany => "find_many",
            RootOp::FindOne => "find_one",
            RootOp::CreateOne => "create_one",
            RootOp::CreateMany => "create_many",
            RootOp::UpdateOne => "update_one",
            RootOp::UpdateMany => "update_many",
            RootOp::DeleteOne | RootOp::DestroyOne => "delete_one",
            RootOp::DeleteMany | RootOp::DestroyMany => "delete_many",
            RootOp::RestoreOne => "restore_one",
            RootOp::RestoreMany => "restore_many",
        }
    }
}

/// One field of an output type, with its arguments.
#[derive(Debug, Clone)]
pub struct FieldDef {
    pub name: String,
    pub ty: TypeRef,
    pub args: Vec<InputValue>,
    /// For root fields: what it does and on which object.
    pub root: Option<(RootOp, String)>,
}

/// An argument or an input-object field.
#[derive(Debug, Clone)]
pub struct InputValue {
    pub name: String,
    pub ty: TypeRef,
}

#[derive(Debug, Clone)]
pub enum TypeDef {
    Scalar,
    Enum(Vec<&'static str>),
    Object(Vec<FieldDef>),
    Input(Vec<InputValue>),
}

impl TypeDef {
    pub fn is_leaf(&self) -> bool {
        matches!(self, TypeDef::Scalar | TypeDef::Enum(_))
    }

    pub fn is_input(&self) -> bool {
        !matches!(self, TypeDef::Object(_))
    }
}

/// The schema of one workspace.
#[derive(Debug, Clone, Default)]
pub struct GqlSchema {
    pub types: BTreeMap<String, TypeDef>,
}

const SCALARS: [&str; 14] = [
    "String",
    "Int",
    "Float",
    "Boolean",
    "ID",
    "UUID",
    "DateTime",
    "Date",
    "RawJSONScalar",
    "Position",
    "BigFloat",
    "TSVector",
    "Cursor",
    "ConnectionCursor",
];

fn input(name: &str, ty: TypeRef) -> InputValue {
    InputValue {
        name: name.to_string(),
        ty,
    }
}

fn named(n: &str) -> TypeRef {
    TypeRef::named(n)
}

fn field(name: &str, ty: TypeRef) -> FieldDef {
    FieldDef {
        name: name.to_string(),
        ty,
        args: Vec::new(),
        root: None,
    }
}

/// `repProgression` → `RepProgression`.
pub fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// The scalar a field's values have in answers and inputs (type-mapper.service.ts
/// `mapToScalarType`).
fn scalar_of(f: &FieldMeta) -> Option<&'static str> {
    Some(match f.ty.as_str() {
        "UUID" => "UUID",
        "TEXT" | "SELECT" | "RICH_TEXT" => "String",
        "DATE_TIME" => "DateTime",
        "DATE" => "Date",
        "BOOLEAN" => "Boolean",
        "NUMBER" => number_scalar(f),
        "NUMERIC" => "BigFloat",
        "POSITION" => "Position",
        "RAW_JSON" => "RawJSONScalar",
        "TS_VECTOR" => "TSVector",
        _ => return None,
    })
}

/// `getNumberScalarType(settings.dataType)`: `Int` for `int`, `Float` otherwise.
fn number_scalar(f: &FieldMeta) -> &'static str {
    match f.settings.get("dataType").and_then(|v| v.as_str()) {
        Some("int") => "Int",
        _ => "Float",
    }
}

/// The filter type of a field (`mapToFilterType`; composites get `<Type>FilterInput`).
fn filter_type_of(f: &FieldMeta) -> Option<&'static str> {
    Some(match f.ty.as_str() {
        "UUID" => "UUIDFilter",
        "TEXT" | "SELECT" | "RICH_TEXT" => "StringFilter",
        "DATE_TIME" | "DATE" => "DateFilter",
        "BOOLEAN" => "BooleanFilter",
        "NUMBER" => {
            if number_scalar(f) == "Int" {
                "IntFilter"
            } else {
                "FloatFilter"
            }
        }
        "NUMERIC" => "BigFloatFilter",
        "POSITION" => "FloatFilter",
        "RAW_JSON" => "RawJsonFilter",
        "TS_VECTOR" => "TSVectorFilter",
        "EMAILS" => "EmailsFilterInput",
        "ACTOR" => "ActorFilterInput",
        _ => return None,
    })
}

impl GqlSchema {
    /// The schema for every object of the workspace.
    pub fn build(schema: &Schema) -> GqlSchema {
        let mut s = GqlSchema::default();
        for name in SCALARS {
            s.types.insert(name.to_string(), TypeDef::Scalar);
        }
        s.add_common();
        let mut query = Vec::new();
        let mut mutation = Vec::new();
        for o in &schema.objects {
            s.add_object(o, &mut query, &mut mutation);
        }
        s.types.insert("Query".into(), TypeDef::Object(query));
        s.types.insert("Mutation".into(), TypeDef::Object(mutation));
        s
    }

    pub fn get(&self, name: &str) -> Option<&TypeDef> {
        self.types.get(name)
    }

    /// The fields of an output type (empty for anything else).
    pub fn fields(&self, type_name: &str) -> &[FieldDef] {
        match self.types.get(type_name) {
            Some(TypeDef::Object(f)) => f,
            _ => &[],
        }
    }

    pub fn field(&self, type_name: &str, field: &str) -> Option<&FieldDef> {
        self.fields(type_name).iter().find(|f| f.name == field)
    }

    /// The fields of an input object type (empty for anything else).
    pub fn input_fields(&self, type_name: &str) -> &[InputValue] {
        match self.types.get(type_name) {
            Some(TypeDef::Input(f)) => f,
            _ => &[],
        }
    }

    fn add_common(&mut self) {
        let is = || named("FilterIs");
        let ops = |scalar: &str| -> Vec<InputValue> {
            let mut v: Vec<InputValue> = ["eq", "gt", "gte"]
                .iter()
                .map(|op| input(op, named(scalar)))
                .collect();
            v.push(input("in", named(scalar).non_null().list()));
            for op in ["lt", "lte", "neq"] {
                v.push(input(op, named(scalar)));
            }
            v
        };
        let mut string_filter = ops("String");
        for op in ["startsWith", "like", "ilike", "regex", "iregex"] {
            string_filter.push(input(op, named("String")));
        }
        string_filter.push(input("is", is()));
        self.types
            .insert("StringFilter".into(), TypeDef::Input(string_filter));
        for (name, scalar) in [
            ("IntFilter", "Int"),
            ("FloatFilter", "Float"),
            ("DateFilter", "Date"),
            ("UUIDFilter", "UUID"),
            ("BigFloatFilter", "BigFloat"),
        ] {
            let mut f = ops(scalar);
            f.push(input("is", is()));
            self.types.insert(name.into(), TypeDef::Input(f));
        }
        self.types.insert(
            "BooleanFilter".into(),
            TypeDef::Input(vec![input("eq", named("Boolean")), input("is", is())]),
        );
        self.types.insert(
            "RawJsonFilter".into(),
            TypeDef::Input(vec![input("is", is()), input("like", named("String"))]),
        );
        self.types.insert(
            "TSVectorFilter".into(),
            TypeDef::Input(vec![input("search", named("String"))]),
        );
        self.types.insert(
            "EmailsFilterInput".into(),
            TypeDef::Input(vec![
                input("primaryEmail", named("StringFilter")),
                input("additionalEmails", named("RawJsonFilter")),
            ]),
        );
        // Unverified: the fields of ActorSourceEnumFilter were not read.
        self.types.insert(
            "ActorSourceEnumFilter".into(),
            TypeDef::Input(vec![
                input("eq", named("ActorSourceEnum")),
                input("neq", named("ActorSourceEnum")),
                input("in", named("ActorSourceEnum").non_null().list()),
                input("is", is()),
            ]),
        );
        self.types.insert(
            "ActorFilterInput".into(),
            TypeDef::Input(vec![
                input("source", named("ActorSourceEnumFilter")),
                input("workspaceMemberId", named("UUIDFilter")),
                input("name", named("StringFilter")),
                input("context", named("RawJsonFilter")),
            ]),
        );
        for name in ["EmailsCreateInput", "EmailsUpdateInput"] {
            self.types.insert(
                name.into(),
                TypeDef::Input(vec![
                    input("primaryEmail", named("String")),
                    input("additionalEmails", named("RawJSONScalar")),
                ]),
            );
        }
        for name in ["ActorCreateInput", "ActorUpdateInput"] {
            self.types.insert(
                name.into(),
                TypeDef::Input(vec![
                    input("source", named("ActorSourceEnum")),
                    input("context", named("RawJSONScalar")),
                ]),
            );
        }
        let direction = || named("OrderByDirection");
        self.types.insert(
            "EmailsOrderByInput".into(),
            TypeDef::Input(vec![
                input("primaryEmail", direction()),
                input("additionalEmails", direction()),
            ]),
        );
        self.types.insert(
            "ActorOrderByInput".into(),
            TypeDef::Input(vec![
                input("source", direction()),
                input("workspaceMemberId", direction()),
                input("name", direction()),
                input("context", direction()),
            ]),
        );
        self.types.insert(
            "FilterIs".into(),
            TypeDef::Enum(vec!["NULL", "NOT_NULL", "NotNull", "Null"]),
        );
        self.types.insert(
            "OrderByDirection".into(),
            TypeDef::Enum(vec![
                "AscNullsFirst",
                "AscNullsLast",
                "DescNullsFirst",
                "DescNullsLast",
            ]),
        );
        self.types.insert(
            "ActorSourceEnum".into(),
            TypeDef::Enum(vec![
                "EMAIL", "CALENDAR", "WORKFLOW", "API", "IMPORT", "MANUAL", "SYSTEM", "WEBHOOK",
            ]),
        );
        self.types.insert(
            "PageInfo".into(),
            TypeDef::Object(vec![
                field("hasNextPage", named("Boolean").non_null()),
                field("hasPreviousPage", named("Boolean").non_null()),
                field("startCursor", named("ConnectionCursor")),
                field("endCursor", named("ConnectionCursor")),
            ]),
        );
        self.types.insert(
            "Actor".into(),
            TypeDef::Object(vec![
                field("source", named("ActorSourceEnum")),
                field("workspaceMemberId", named("UUID")),
                field("name", named("String")),
                field("context", named("RawJSONScalar")),
            ]),
        );
        self.types.insert(
            "Emails".into(),
            TypeDef::Object(vec![
                field("primaryEmail", named("String")),
                field("additionalEmails", named("RawJSONScalar")),
            ]),
        );
    }

    fn add_object(
        &mut self,
        o: &ObjectMeta,
        query: &mut Vec<FieldDef>,
        mutation: &mut Vec<FieldDef>,
    ) {
        let ty = capitalize(&o.name_singular);
        let plural = capitalize(&o.name_plural);
        let filter = format!("{ty}FilterInput");
        let create = format!("{ty}CreateInput");
        let update = format!("{ty}UpdateInput");
        let order = format!("{ty}OrderByInput");
        let connection = format!("{ty}Connection");
        let edge = format!("{ty}Edge");

        let mut out_fields = Vec::new();
        let mut filter_fields = Vec::new();
        let mut create_fields = Vec::new();
        let mut update_fields = Vec::new();
        let mut order_fields = Vec::new();
        for f in &o.fields {
            let (out, create_ty, update_ty, order_ty) = match f.ty.as_str() {
                "EMAILS" => (
                    "Emails",
                    "EmailsCreateInput",
                    "EmailsUpdateInput",
                    "EmailsOrderByInput",
                ),
                "ACTOR" => (
                    "Actor",
                    "ActorCreateInput",
                    "ActorUpdateInput",
                    "ActorOrderByInput",
                ),
                _ => match scalar_of(f) {
                    Some(s) => (s, s, s, "OrderByDirection"),
                    None => continue,
                },
            };
            let input_ty = |t: &str| if f.name == "id" { "ID" } else { t }.to_string();
            out_fields.push(field(&f.name, named(out)));
            if let Some(ft) = filter_type_of(f) {
                filter_fields.push(input(&f.name, named(ft)));
            }
            create_fields.push(input(&f.name, TypeRef::Named(input_ty(create_ty))));
            update_fields.push(input(&f.name, TypeRef::Named(input_ty(update_ty))));
            order_fields.push(input(&f.name, named(order_ty)));
        }
        filter_fields.push(input("and", named(&filter).list()));
        filter_fields.push(input("or", named(&filter).list()));
        filter_fields.push(input("not", named(&filter)));
        self.types.insert(ty.clone(), TypeDef::Object(out_fields));
        self.types
            .insert(filter.clone(), TypeDef::Input(filter_fields));
        self.types
            .insert(create.clone(), TypeDef::Input(create_fields));
        self.types
            .insert(update.clone(), TypeDef::Input(update_fields));
        self.types
            .insert(order.clone(), TypeDef::Input(order_fields));
        self.types.insert(
            edge.clone(),
            TypeDef::Object(vec![
                field("node", named(&ty)),
                field("cursor", named("Cursor")),
            ]),
        );
        self.types.insert(
            connection.clone(),
            TypeDef::Object(vec![
                field("totalCount", named("Int")),
                field("edges", named(&edge).non_null().list()),
                field("pageInfo", named("PageInfo")),
            ]),
        );

        let root = |name: String, ty: TypeRef, args: Vec<InputValue>, op: RootOp| FieldDef {
            name,
            ty,
            args,
            root: Some((op, o.name_plural.clone())),
        };
        let id_arg = || vec![input("id", named("UUID"))];
        let filter_arg = || vec![input("filter", named(&filter))];
        query.push(root(
            o.name_plural.clone(),
            named(&connection),
            vec![
                input("first", named("Int")),
                input("last", named("Int")),
                input("before", named("String")),
                input("after", named("String")),
                input("limit", named("Int")),
                input("filter", named(&filter)),
                input("orderBy", named(&order).list()),
            ],
            RootOp::FindMany,
        ));
        query.push(root(
            o.name_singular.clone(),
            named(&ty),
            filter_arg(),
            RootOp::FindOne,
        ));
        mutation.push(root(
            format!("create{plural}"),
            named(&ty).list(),
            vec![
                input("data", named(&create).non_null().list()),
                input("upsert", named("Boolean")),
            ],
            RootOp::CreateMany,
        ));
        mutation.push(root(
            format!("create{ty}"),
            named(&ty),
            vec![
                input("data", named(&create)),
                input("upsert", named("Boolean")),
            ],
            RootOp::CreateOne,
        ));
        mutation.push(root(
            format!("update{ty}"),
            named(&ty),
            vec![input("id", named("UUID")), input("data", named(&update))],
            RootOp::UpdateOne,
        ));
        mutation.push(root(
            format!("delete{ty}"),
            named(&ty),
            id_arg(),
            RootOp::DeleteOne,
        ));
        mutation.push(root(
            format!("update{plural}"),
            named(&ty).list(),
            vec![
                input("data", named(&update)),
                input("filter", named(&filter)),
            ],
            RootOp::UpdateMany,
        ));
        mutation.push(root(
            format!("delete{plural}"),
            named(&ty).list(),
            filter_arg(),
            RootOp::DeleteMany,
        ));
        mutation.push(root(
            format!("destroy{ty}"),
            named(&ty),
            id_arg(),
            RootOp::DestroyOne,
        ));
        mutation.push(root(
            format!("destroy{plural}"),
            named(&ty).list(),
            filter_arg(),
            RootOp::DestroyMany,
        ));
        mutation.push(root(
            format!("restore{ty}"),
            named(&ty),
            id_arg(),
            RootOp::RestoreOne,
        ));
        mutation.push(root(
            format!("restore{plural}"),
            named(&ty).list(),
            filter_arg(),
            RootOp::RestoreMany,
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::metadata::SchemaPreset;

    #[test]
    fn rep_progression_types_as_introspected() {
        let s = GqlSchema::build(&Schema::from_preset(&SchemaPreset::Full, 0));
        let total = s.field("RepProgression", "totalXp").unwrap();
        assert_eq!(total.ty.to_string(), "Int", "NUMBER with dataType int");
        let filter: Vec<&str> = s
            .input_fields("RepProgressionFilterInput")
            .iter()
            .map(|f| f.name.as_str())
            .collect();
        assert!(filter.ends_with(&["and", "or", "not"]), "{filter:?}");
        assert_eq!(
            s.input_fields("RepProgressionUpdateInput")
                .iter()
                .find(|f| f.name == "id")
                .unwrap()
                .ty
                .to_string(),
            "ID"
        );
        let m = s.field("Mutation", "updateRepProgressions").unwrap();
        assert_eq!(m.ty.to_string(), "[RepProgression]");
        assert_eq!(m.root, Some((RootOp::UpdateMany, "repProgressions".into())));
        let q = s.field("Query", "repProgressions").unwrap();
        assert_eq!(q.args.len(), 7);
        assert_eq!(
            s.input_fields("StringFilter")
                .iter()
                .map(|f| f.name.as_str())
                .collect::<Vec<_>>(),
            [
                "eq",
                "gt",
                "gte",
                "in",
                "lt",
                "lte",
                "neq",
                "startsWith",
                "like",
                "ilike",
                "regex",
                "iregex",
                "is"
            ]
        );
    }
}
