//! Input values: variables (JSON) and literals (query text) coerced to the schema's input
//! types, with graphql-js 16.8's messages (`utilities/coerceInputValue.js`, `type/scalars.js`,
//! `validation/rules/ValuesOfCorrectTypeRule.js`), and the ordered JSON of answers.
//!
//! Twenty answers a variable its types refuse with **HTTP 400** and only the inner message,
//! e.g. `{"errors":[{"message":"Int cannot represent non-integer value: \"lots\"","extensions":
//! {"code":"BAD_USER_INPUT"}}]}` (checked on the real server: the `Variable "$data" got invalid
//! value …; ` prefix of graphql-js is not shown). The same mistake written as a literal is a
//! validation error: HTTP 200, `locations`, no `extensions`.
//!
//! Twenty's own scalars: `UUID` refuses a non-string ("UUID must be a string") and an invalid
//! id ("Invalid UUID") with code `GRAPHQL_VALIDATION_FAILED`
//! (packages/twenty-server/src/engine/api/graphql/workspace-schema-builder/graphql-types/scalars/uuid.scalar.ts),
//! but takes any string literal (the database then refuses it); `DateTime`, `Date`, `RawJSONScalar`,
//! `Position`, `BigFloat`, `TSVector` take what they are given here (the fake checks dates when it
//! uses them).

use std::collections::HashMap;

use serde_json::{Map, Number, Value};

use super::schema::{GqlSchema, TypeDef};
use super::suggest::{did_you_mean, suggestion_list};
use super::syntax::{Pos, TypeRef, ValueKind, ValueNode};
use crate::fake::metadata::is_uuid;

/// One refusal of an input value.
#[derive(Debug, Clone, PartialEq)]
pub struct InputError {
    pub message: String,
    /// `GRAPHQL_VALIDATION_FAILED` for Twenty's UUID scalar, `BAD_USER_INPUT` otherwise.
    pub code: &'static str,
    /// Where, for a literal.
    pub pos: Option<Pos>,
}

impl InputError {
    fn user(message: String, pos: Option<Pos>) -> Self {
        InputError {
            message,
            code: "BAD_USER_INPUT",
            pos,
        }
    }
}

/// An answer's JSON with its keys in the order GraphQL puts them (the selection's).
#[derive(Debug, Clone, PartialEq)]
pub enum Out {
    Json(Value),
    List(Vec<Out>),
    Object(Vec<(String, Out)>),
}

impl Out {
    pub fn null() -> Out {
        Out::Json(Value::Null)
    }

    pub fn write(&self, buf: &mut String) {
        match self {
            Out::Json(v) => buf.push_str(&v.to_string()),
            Out::List(items) => {
                buf.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        buf.push(',');
                    }
                    item.write(buf);
                }
                buf.push(']');
            }
            Out::Object(fields) => {
                buf.push('{');
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        buf.push(',');
                    }
                    buf.push_str(&Value::String(k.clone()).to_string());
                    buf.push(':');
                    v.write(buf);
                }
                buf.push('}');
            }
        }
    }

    pub fn text(&self) -> String {
        let mut s = String::new();
        self.write(&mut s);
        s
    }
}

/// graphql-js `inspect`: strings in double quotes, objects as `{ a: 1 }`, lists as `[1, 2]`.
pub fn inspect(v: &Value) -> String {
    inspect_depth(v, 0)
}

fn inspect_depth(v: &Value, depth: usize) -> String {
    match v {
        Value::String(s) => Value::String(s.clone()).to_string(),
        Value::Number(n) => js_number_text(n),
        Value::Array(items) => {
            if items.is_empty() {
                return "[]".to_string();
            }
            if depth >= 2 {
                return "[Array]".to_string();
            }
            let parts: Vec<String> = items.iter().map(|i| inspect_depth(i, depth + 1)).collect();
            format!("[{}]", parts.join(", "))
        }
        Value::Object(m) => {
            if m.is_empty() {
                return "{}".to_string();
            }
            if depth >= 2 {
                return "[Object]".to_string();
            }
            let parts: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{k}: {}", inspect_depth(v, depth + 1)))
                .collect();
            format!("{{ {} }}", parts.join(", "))
        }
        other => other.to_string(),
    }
}

/// A number as JavaScript's `String(n)` prints it (`42`, `1.5`, `3000000000`).
fn js_number_text(n: &Number) -> String {
    match n.as_f64() {
        Some(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e21 => format!("{}", f as i128),
        _ => n.to_string(),
    }
}

/// graphql-js `print` of a literal (for literal errors): `"x"`, `FOO`, `{a: 1}`, `[1, 2]`.
pub fn print_literal(v: &ValueNode) -> String {
    match &v.kind {
        ValueKind::Variable(n) => format!("${n}"),
        ValueKind::Int(n) | ValueKind::Float(n) => n.clone(),
        ValueKind::Str(s) => Value::String(s.clone()).to_string(),
        ValueKind::Bool(b) => b.to_string(),
        ValueKind::Null => "null".to_string(),
        ValueKind::Enum(e) => e.clone(),
        ValueKind::List(items) => {
            let parts: Vec<String> = items.iter().map(print_literal).collect();
            format!("[{}]", parts.join(", "))
        }
        ValueKind::Object(fields) => {
            let parts: Vec<String> = fields
                .iter()
                .map(|f| format!("{}: {}", f.name, print_literal(&f.value)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
    }
}

const MAX_INT: f64 = 2_147_483_647.0;
const MIN_INT: f64 = -2_147_483_648.0;

/// A JSON value as a scalar of `name` (a variable's `parseValue`).
fn parse_scalar(name: &str, v: &Value) -> Result<Value, InputError> {
    let user = |m: String| Err(InputError::user(m, None));
    match name {
        "Int" => match v.as_f64() {
            Some(f) if v.is_number() && f.fract() == 0.0 => {
                if !(MIN_INT..=MAX_INT).contains(&f) {
                    return user(format!(
                        "Int cannot represent non 32-bit signed integer value: {}",
                        inspect(v)
                    ));
                }
                Ok(Value::from(f as i64))
            }
            _ => user(format!(
                "Int cannot represent non-integer value: {}",
                inspect(v)
            )),
        },
        "Float" => match v.as_f64() {
            Some(f) if v.is_number() && f.is_finite() => Ok(v.clone()),
            _ => user(format!(
                "Float cannot represent non numeric value: {}",
                inspect(v)
            )),
        },
        "String" => match v {
            Value::String(_) => Ok(v.clone()),
            _ => user(format!(
                "String cannot represent a non string value: {}",
                inspect(v)
            )),
        },
        "Boolean" => match v {
            Value::Bool(_) => Ok(v.clone()),
            _ => user(format!(
                "Boolean cannot represent a non boolean value: {}",
                inspect(v)
            )),
        },
        "ID" => match v {
            Value::String(_) => Ok(v.clone()),
            Value::Number(n) if n.as_i64().is_some() => Ok(Value::String(n.to_string())),
            _ => user(format!("ID cannot represent value: {}", inspect(v))),
        },
        "UUID" => {
            let failed = |m: &str| InputError {
                message: m.to_string(),
                code: "GRAPHQL_VALIDATION_FAILED",
                pos: None,
            };
            match v {
                Value::String(s) if is_uuid(s) => Ok(v.clone()),
                Value::String(_) => Err(failed("Invalid UUID")),
                _ => Err(failed("UUID must be a string")),
            }
        }
        _ => Ok(v.clone()),
    }
}

/// Coerce a variable's JSON value to `ty`; every refusal is pushed to `errors`.
pub fn coerce_json(
    schema: &GqlSchema,
    v: &Value,
    ty: &TypeRef,
    errors: &mut Vec<InputError>,
) -> Value {
    match ty {
        TypeRef::NonNull(inner) => {
            if v.is_null() {
                errors.push(InputError::user(
                    format!("Expected non-nullable type \"{ty}\" not to be null."),
                    None,
                ));
                return Value::Null;
            }
            coerce_json(schema, v, inner, errors)
        }
        _ if v.is_null() => Value::Null,
        TypeRef::List(inner) => match v {
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|i| coerce_json(schema, i, inner, errors))
                    .collect(),
            ),
            one => Value::Array(vec![coerce_json(schema, one, inner, errors)]),
        },
        TypeRef::Named(name) => match schema.get(name) {
            Some(TypeDef::Input(fields)) => {
                let Value::Object(given) = v else {
                    errors.push(InputError::user(
                        format!("Expected type \"{name}\" to be an object."),
                        None,
                    ));
                    return Value::Null;
                };
                let mut out = Map::new();
                for f in fields {
                    if let Some(x) = given.get(&f.name) {
                        out.insert(f.name.clone(), coerce_json(schema, x, &f.ty, errors));
                    }
                }
                for key in given.keys() {
                    if !fields.iter().any(|f| &f.name == key) {
                        let s = suggestion_list(key, fields.iter().map(|f| f.name.as_str()));
                        errors.push(InputError::user(
                            format!(
                                "Field \"{key}\" is not defined by type \"{name}\".{}",
                                did_you_mean(&s)
                            ),
                            None,
                        ));
                    }
                }
                Value::Object(out)
            }
            Some(TypeDef::Enum(values)) => match v {
                Value::String(s) if values.contains(&s.as_str()) => v.clone(),
                Value::String(s) => {
                    let sug = suggestion_list(s, values.iter().copied());
                    errors.push(InputError::user(
                        format!(
                            "Value \"{s}\" does not exist in \"{name}\" enum.{}",
                            did_you_mean(&sug)
                        ),
                        None,
                    ));
                    Value::Null
                }
                other => {
                    errors.push(InputError::user(
                        format!(
                            "Enum \"{name}\" cannot represent non-string value: {}.",
                            inspect(other)
                        ),
                        None,
                    ));
                    Value::Null
                }
            },
            _ => match parse_scalar(name, v) {
                Ok(x) => x,
                Err(e) => {
                    errors.push(e);
                    Value::Null
                }
            },
        },
    }
}

/// A literal's value of `ty` during validation (ValuesOfCorrectTypeRule): refusals carry the
/// literal's position. Variables inside are not checked here (their use is, see `validate.rs`).
pub fn check_literal(
    schema: &GqlSchema,
    v: &ValueNode,
    ty: &TypeRef,
    errors: &mut Vec<InputError>,
) {
    if let ValueKind::Variable(_) = v.kind {
        return;
    }
    match ty {
        TypeRef::NonNull(inner) => {
            if v.kind == ValueKind::Null {
                errors.push(InputError::user(
                    format!(
                        "Expected value of type \"{ty}\", found {}.",
                        print_literal(v)
                    ),
                    Some(v.pos),
                ));
                return;
            }
            check_literal(schema, v, inner, errors);
        }
        _ if v.kind == ValueKind::Null => {}
        TypeRef::List(inner) => match &v.kind {
            ValueKind::List(items) => {
                for i in items {
                    check_literal(schema, i, inner, errors);
                }
            }
            _ => check_literal(schema, v, inner, errors),
        },
        TypeRef::Named(name) => match schema.get(name) {
            Some(TypeDef::Input(fields)) => {
                let ValueKind::Object(given) = &v.kind else {
                    errors.push(InputError::user(
                        format!(
                            "Expected value of type \"{name}\", found {}.",
                            print_literal(v)
                        ),
                        Some(v.pos),
                    ));
                    return;
                };
                for g in given {
                    match fields.iter().find(|f| f.name == g.name) {
                        Some(f) => check_literal(schema, &g.value, &f.ty, errors),
                        None => {
                            let s =
                                suggestion_list(&g.name, fields.iter().map(|f| f.name.as_str()));
                            errors.push(InputError::user(
                                format!(
                                    "Field \"{}\" is not defined by type \"{name}\".{}",
                                    g.name,
                                    did_you_mean(&s)
                                ),
                                Some(g.pos),
                            ));
                        }
                    }
                }
            }
            Some(TypeDef::Enum(values)) => match &v.kind {
                ValueKind::Enum(e) if values.contains(&e.as_str()) => {}
                ValueKind::Enum(e) => {
                    let sug = suggestion_list(e, values.iter().copied());
                    errors.push(InputError::user(
                        format!(
                            "Value \"{e}\" does not exist in \"{name}\" enum.{}",
                            did_you_mean(&sug)
                        ),
                        Some(v.pos),
                    ));
                }
                _ => {
                    let shown = print_literal(v);
                    let hint = match &v.kind {
                        ValueKind::Str(s) if values.contains(&s.as_str()) => {
                            format!(" Did you mean the enum value \"{s}\"?")
                        }
                        _ => String::new(),
                    };
                    errors.push(InputError::user(
                        format!("Enum \"{name}\" cannot represent non-enum value: {shown}.{hint}"),
                        Some(v.pos),
                    ));
                }
            },
            _ => {
                if let Err(mut e) = literal_scalar(name, v) {
                    e.pos = Some(v.pos);
                    errors.push(e);
                }
            }
        },
    }
}

/// A literal as a scalar of `name` (`parseLiteral`).
fn literal_scalar(name: &str, v: &ValueNode) -> Result<Value, InputError> {
    let shown = print_literal(v);
    let user = |m: String| Err(InputError::user(m, None));
    match (name, &v.kind) {
        ("Int", ValueKind::Int(n)) => match n.parse::<i64>() {
            Ok(i) if (MIN_INT as i64..=MAX_INT as i64).contains(&i) => Ok(Value::from(i)),
            _ => user(format!(
                "Int cannot represent non 32-bit signed integer value: {shown}"
            )),
        },
        ("Int", _) => user(format!("Int cannot represent non-integer value: {shown}")),
        ("Float", ValueKind::Int(n) | ValueKind::Float(n)) => Ok(n
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map_or(Value::Null, Value::Number)),
        ("Float", _) => user(format!("Float cannot represent non numeric value: {shown}")),
        ("String", ValueKind::Str(s)) => Ok(Value::String(s.clone())),
        ("String", _) => user(format!(
            "String cannot represent a non string value: {shown}"
        )),
        ("Boolean", ValueKind::Bool(b)) => Ok(Value::Bool(*b)),
        ("Boolean", _) => user(format!(
            "Boolean cannot represent a non boolean value: {shown}"
        )),
        ("ID", ValueKind::Str(s) | ValueKind::Int(s)) => Ok(Value::String(s.clone())),
        ("ID", _) => user(format!(
            "ID cannot represent a non-string and non-integer value: {shown}"
        )),
        ("UUID", ValueKind::Str(s)) => Ok(Value::String(s.clone())),
        ("UUID", _) => Err(InputError {
            message: "UUID must be a string".to_string(),
            code: "GRAPHQL_VALIDATION_FAILED",
            pos: None,
        }),
        (_, kind) => Ok(literal_json(kind)),
    }
}

/// A literal as plain JSON (for scalars that take anything).
fn literal_json(kind: &ValueKind) -> Value {
    match kind {
        ValueKind::Int(n) | ValueKind::Float(n) => n
            .parse::<f64>()
            .ok()
            .map(crate::fake::js_number)
            .unwrap_or(Value::Null),
        ValueKind::Str(s) | ValueKind::Enum(s) => Value::String(s.clone()),
        ValueKind::Bool(b) => Value::Bool(*b),
        ValueKind::Null | ValueKind::Variable(_) => Value::Null,
        ValueKind::List(items) => {
            Value::Array(items.iter().map(|i| literal_json(&i.kind)).collect())
        }
        ValueKind::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|f| (f.name.clone(), literal_json(&f.value.kind)))
                .collect(),
        ),
    }
}

/// The value of an argument at execution (graphql-js `valueFromAST`): literals as their type
/// reads them, variables from the coerced values; an absent variable leaves its field out
/// (`None`).
pub fn resolve(
    schema: &GqlSchema,
    v: &ValueNode,
    ty: &TypeRef,
    vars: &HashMap<String, Value>,
) -> Option<Value> {
    match &v.kind {
        ValueKind::Variable(n) => vars.get(n).cloned(),
        ValueKind::Null => Some(Value::Null),
        _ => Some(match ty {
            TypeRef::NonNull(inner) => return resolve(schema, v, inner, vars),
            TypeRef::List(inner) => match &v.kind {
                ValueKind::List(items) => Value::Array(
                    items
                        .iter()
                        .filter_map(|i| resolve(schema, i, inner, vars))
                        .collect(),
                ),
                _ => Value::Array(resolve(schema, v, inner, vars).into_iter().collect()),
            },
            TypeRef::Named(name) => match (schema.get(name), &v.kind) {
                (Some(TypeDef::Input(fields)), ValueKind::Object(given)) => {
                    let mut out = Map::new();
                    for g in given {
                        if let Some(f) = fields.iter().find(|f| f.name == g.name) {
                            if let Some(x) = resolve(schema, &g.value, &f.ty, vars) {
                                out.insert(g.name.clone(), x);
                            }
                        }
                    }
                    Value::Object(out)
                }
                (Some(TypeDef::Enum(_)), ValueKind::Enum(e)) => Value::String(e.clone()),
                _ => literal_scalar(name, v).unwrap_or(Value::Null),
            },
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::metadata::{Schema, SchemaPreset};
    use serde_json::json;

    fn schema() -> GqlSchema {
        GqlSchema::build(&Schema::from_preset(&SchemaPreset::Full, 0))
    }

    fn refusals(v: Value, ty: &str) -> Vec<String> {
        let mut errors = Vec::new();
        coerce_json(&schema(), &v, &TypeRef::named(ty), &mut errors);
        errors.into_iter().map(|e| e.message).collect()
    }

    /// Each message as the real server (Twenty 7f19111) answered it.
    #[test]
    fn variable_refusals_read_like_twenty() {
        assert_eq!(
            refusals(json!({"totalXp": "lots"}), "RepProgressionUpdateInput"),
            ["Int cannot represent non-integer value: \"lots\""]
        );
        assert_eq!(
            refusals(json!({"totalXp": 1.5}), "RepProgressionUpdateInput"),
            ["Int cannot represent non-integer value: 1.5"]
        );
        assert_eq!(
            refusals(
                json!({"totalXp": 3_000_000_000u64}),
                "RepProgressionUpdateInput"
            ),
            ["Int cannot represent non 32-bit signed integer value: 3000000000"]
        );
        assert_eq!(
            refusals(json!({"nope": {"eq": "x"}}), "RepProgressionFilterInput"),
            ["Field \"nope\" is not defined by type \"RepProgressionFilterInput\". Did you mean \"name\" or \"not\"?"]
        );
        assert_eq!(
            refusals(json!({"repEmail": {"eq": 5}}), "RepProgressionFilterInput"),
            ["String cannot represent a non string value: 5"]
        );
        assert_eq!(
            refusals(
                json!({"deletedAt": {"is": "MAYBE"}}),
                "RepProgressionFilterInput"
            ),
            ["Value \"MAYBE\" does not exist in \"FilterIs\" enum."]
        );
        assert_eq!(
            refusals(
                json!({"repEmail": {"foo": "x"}}),
                "RepProgressionFilterInput"
            ),
            ["Field \"foo\" is not defined by type \"StringFilter\"."]
        );
        let mut errors = Vec::new();
        let v = coerce_json(
            &schema(),
            &json!({"and": {"id": {"eq": "x"}}}),
            &TypeRef::named("RepProgressionFilterInput"),
            &mut errors,
        );
        assert_eq!(errors[0].message, "Invalid UUID");
        assert_eq!(errors[0].code, "GRAPHQL_VALIDATION_FAILED");
        assert!(v["and"].is_array(), "a lone object becomes a list of one");
        assert_eq!(
            refusals(
                json!({"totalXp": 42.0, "level": null}),
                "RepProgressionUpdateInput"
            ),
            Vec::<String>::new()
        );
    }

    #[test]
    fn inspect_prints_like_javascript() {
        assert_eq!(inspect(&json!("lots")), "\"lots\"");
        assert_eq!(inspect(&json!(3_000_000_000u64)), "3000000000");
        assert_eq!(
            inspect(&json!({"a": 1, "b": [1, "x"]})),
            "{ a: 1, b: [1, \"x\"] }"
        );
        assert_eq!(inspect(&json!(true)), "true");
    }

    #[test]
    fn ordered_output() {
        let o = Out::Object(vec![
            ("z".into(), Out::Json(json!(1))),
            ("a".into(), Out::List(vec![Out::null()])),
        ]);
        assert_eq!(o.text(), r#"{"z":1,"a":[null]}"#);
    }
}
