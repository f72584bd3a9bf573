//! Document validation against the workspace schema: the graphql-js 16.8 rules a client of the
//! records API can trip (`validation/rules/*.js` of the version Twenty 7f19111 ships), with their
//! messages and locations. Every rule's errors come in document order, as graphql-js reports
//! them; an invalid document answers HTTP 200 `{"errors":[{"message":…,"locations":[…]}]}`
//! (checked on the real server).
//!
//! Rules: KnownTypeNames and VariablesAreInputTypes (variable types), FieldsOnCorrectType
//! (`Cannot query field "x" on type "T".` with hints), ScalarLeafs, KnownArgumentNames,
//! ValuesOfCorrectType (literals), VariablesInAllowedPosition, NoUndefinedVariables,
//! NoUnusedVariables, LoneAnonymousOperation. Fragments and directives are refused with the
//! fake's own message (RepXP never sends them).

use std::collections::HashSet;

use super::schema::{GqlSchema, TypeDef};
use super::suggest::{did_you_mean, suggestion_list};
use super::syntax::{
    Argument, Definition, Document, OpKind, Operation, Pos, Selection, TypeRef, ValueKind,
    ValueNode, VariableDef,
};
use super::value::check_literal;

/// A validation error: message and locations.
#[derive(Debug, Clone, PartialEq)]
pub struct Invalid {
    pub message: String,
    pub pos: Vec<Pos>,
}

fn invalid(message: String, pos: Pos) -> Invalid {
    Invalid {
        message,
        pos: vec![pos],
    }
}

/// Every validation error of the document, in order.
pub fn validate(schema: &GqlSchema, doc: &Document) -> Vec<Invalid> {
    let mut errors = Vec::new();
    let ops: Vec<&Operation> = doc
        .definitions
        .iter()
        .filter_map(|d| match d {
            Definition::Operation(o) => Some(o),
            Definition::Fragment { .. } => None,
        })
        .collect();
    for d in &doc.definitions {
        match d {
            Definition::Fragment { pos, .. } => errors.push(invalid(
                "the fake Twenty does not support fragments".into(),
                *pos,
            )),
            Definition::Operation(op) => {
                if op.name.is_none() && ops.len() > 1 {
                    errors.push(invalid(
                        "This anonymous operation must be the only defined operation.".into(),
                        op.pos,
                    ));
                }
                validate_operation(schema, op, &mut errors);
            }
        }
    }
    errors
}

struct Walk<'a> {
    schema: &'a GqlSchema,
    op: &'a Operation,
    errors: &'a mut Vec<Invalid>,
    used: Vec<(String, Pos)>,
}

fn validate_operation(schema: &GqlSchema, op: &Operation, errors: &mut Vec<Invalid>) {
    for v in &op.variables {
        let base = v.ty.base();
        match schema.get(base) {
            None => {
                let names = schema.types.keys().map(String::as_str);
                let s = suggestion_list(base, names);
                errors.push(invalid(
                    format!("Unknown type \"{base}\".{}", did_you_mean(&s)),
                    v.ty_pos,
                ));
            }
            Some(t) if !t.is_input() => errors.push(invalid(
                format!(
                    "Variable \"${}\" cannot be non-input type \"{}\".",
                    v.name, v.ty
                ),
                v.ty_pos,
            )),
            Some(_) => {
                if let Some(d) = &v.default {
                    let mut e = Vec::new();
                    check_literal(schema, d, &v.ty, &mut e);
                    errors.extend(e.into_iter().map(|e| Invalid {
                        message: e.message,
                        pos: e.pos.into_iter().collect(),
                    }));
                }
            }
        }
    }
    let root = match op.kind {
        OpKind::Query => "Query",
        OpKind::Mutation => "Mutation",
        OpKind::Subscription => {
            errors.push(invalid(
                "Schema is not configured to execute subscription operation.".into(),
                op.pos,
            ));
            return;
        }
    };
    let mut walk = Walk {
        schema,
        op,
        errors,
        used: Vec::new(),
    };
    walk.selection(root, &op.selection);
    let used = std::mem::take(&mut walk.used);
    let defined: HashSet<&str> = op.variables.iter().map(|v| v.name.as_str()).collect();
    let mut reported = HashSet::new();
    for (name, pos) in &used {
        if !defined.contains(name.as_str()) && reported.insert(name.clone()) {
            let message = match &op.name {
                Some(n) => format!("Variable \"${name}\" is not defined by operation \"{n}\"."),
                None => format!("Variable \"${name}\" is not defined."),
            };
            errors.push(Invalid {
                message,
                pos: vec![*pos, op.pos],
            });
        }
    }
    for v in &op.variables {
        if !used.iter().any(|(n, _)| n == &v.name) {
            let message = match &op.name {
                Some(n) => format!(
                    "Variable \"${}\" is never used in operation \"{n}\".",
                    v.name
                ),
                None => format!("Variable \"${}\" is never used.", v.name),
            };
            errors.push(invalid(message, v.pos));
        }
    }
}

impl Walk<'_> {
    fn selection(&mut self, type_name: &str, selection: &[Selection]) {
        for s in selection {
            let f = match s {
                Selection::Fragment { pos } => {
                    self.errors.push(invalid(
                        "the fake Twenty does not support fragments".into(),
                        *pos,
                    ));
                    continue;
                }
                Selection::Field(f) => f,
            };
            if let Some(pos) = f.directive {
                self.errors.push(invalid(
                    "the fake Twenty does not support directives".into(),
                    pos,
                ));
            }
            if f.name == "__typename" {
                if f.selection.is_some() {
                    self.errors.push(invalid(
                        "Field \"__typename\" must not have a selection since type \"String!\" has no subfields.".into(),
                        f.pos,
                    ));
                }
                continue;
            }
            let Some(def) = self.schema.field(type_name, &f.name) else {
                if f.name.starts_with("__") {
                    self.errors.push(invalid(
                        "the fake Twenty does not answer introspection".into(),
                        f.pos,
                    ));
                    continue;
                }
                let names = self
                    .schema
                    .fields(type_name)
                    .iter()
                    .map(|d| d.name.as_str());
                let s = suggestion_list(&f.name, names);
                self.errors.push(invalid(
                    format!(
                        "Cannot query field \"{}\" on type \"{type_name}\".{}",
                        f.name,
                        did_you_mean(&s)
                    ),
                    f.pos,
                ));
                continue;
            };
            self.arguments(type_name, &f.name, &def.args, &f.args);
            let base = def.ty.base().to_string();
            let leaf = self.schema.get(&base).is_none_or(TypeDef::is_leaf);
            match (&f.selection, leaf) {
                // ScalarLeafsRule reports the selection set, not the field (checked: the real
                // server's column is the `{`).
                (Some(_), true) => self.errors.push(invalid(
                    format!(
                        "Field \"{}\" must not have a selection since type \"{}\" has no subfields.",
                        f.name, def.ty
                    ),
                    f.selection_pos.unwrap_or(f.pos),
                )),
                (None, false) => self.errors.push(invalid(
                    format!(
                        "Field \"{}\" of type \"{}\" must have a selection of subfields. Did you mean \"{} {{ ... }}\"?",
                        f.name, def.ty, f.name
                    ),
                    f.pos,
                )),
                (Some(sel), false) => self.selection(&base, sel),
                (None, true) => {}
            }
        }
    }

    fn arguments(
        &mut self,
        type_name: &str,
        field: &str,
        defs: &[super::schema::InputValue],
        given: &[Argument],
    ) {
        for a in given {
            let Some(def) = defs.iter().find(|d| d.name == a.name) else {
                let s = suggestion_list(&a.name, defs.iter().map(|d| d.name.as_str()));
                self.errors.push(invalid(
                    format!(
                        "Unknown argument \"{}\" on field \"{type_name}.{field}\".{}",
                        a.name,
                        did_you_mean(&s)
                    ),
                    a.pos,
                ));
                continue;
            };
            let mut e = Vec::new();
            check_literal(self.schema, &a.value, &def.ty, &mut e);
            self.errors.extend(e.into_iter().map(|e| Invalid {
                message: e.message,
                pos: e.pos.into_iter().collect(),
            }));
            self.variables_in(&a.value, &def.ty);
        }
    }

    /// Record each variable used in `v` and check its type fits where it is used.
    fn variables_in(&mut self, v: &ValueNode, ty: &TypeRef) {
        match &v.kind {
            ValueKind::Variable(name) => {
                self.used.push((name.clone(), v.pos));
                if let Some(def) = self.op.variables.iter().find(|d| &d.name == name) {
                    if self.schema.get(def.ty.base()).is_some() && !fits(def, ty) {
                        self.errors.push(Invalid {
                            message: format!(
                                "Variable \"${name}\" of type \"{}\" used in position expecting type \"{ty}\".",
                                def.ty
                            ),
                            pos: vec![def.pos, v.pos],
                        });
                    }
                }
            }
            ValueKind::List(items) => {
                let inner = match ty.nullable() {
                    TypeRef::List(i) => i.as_ref().clone(),
                    other => other.clone(),
                };
                for i in items {
                    self.variables_in(i, &inner);
                }
            }
            ValueKind::Object(fields) => {
                let fdefs = self.schema.input_fields(ty.base()).to_vec();
                for f in fields {
                    if let Some(d) = fdefs.iter().find(|d| d.name == f.name) {
                        self.variables_in(&f.value, &d.ty);
                    } else {
                        self.collect_only(&f.value);
                    }
                }
            }
            _ => {}
        }
    }

    fn collect_only(&mut self, v: &ValueNode) {
        match &v.kind {
            ValueKind::Variable(name) => self.used.push((name.clone(), v.pos)),
            ValueKind::List(items) => items.iter().for_each(|i| self.collect_only(i)),
            ValueKind::Object(fields) => fields.iter().for_each(|f| self.collect_only(&f.value)),
            _ => {}
        }
    }
}

/// graphql-js `isTypeSubTypeOf` for input positions, with the default-value allowance.
fn fits(def: &VariableDef, location: &TypeRef) -> bool {
    if let (TypeRef::NonNull(inner), false) = (location, def.ty.is_non_null()) {
        if def
            .default
            .as_ref()
            .is_some_and(|d| d.kind != ValueKind::Null)
        {
            return sub_type(&def.ty, inner);
        }
    }
    sub_type(&def.ty, location)
}

fn sub_type(var: &TypeRef, loc: &TypeRef) -> bool {
    match (var, loc) {
        (TypeRef::NonNull(v), TypeRef::NonNull(l)) => sub_type(v, l),
        (_, TypeRef::NonNull(_)) => false,
        (TypeRef::NonNull(v), l) => sub_type(v, l),
        (TypeRef::List(v), TypeRef::List(l)) => sub_type(v, l),
        (_, TypeRef::List(_)) | (TypeRef::List(_), _) => false,
        (TypeRef::Named(a), TypeRef::Named(b)) => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::graphql::syntax::parse;
    use crate::fake::metadata::{Schema, SchemaPreset};

    fn errors(q: &str) -> Vec<(String, Vec<(usize, usize)>)> {
        let schema = GqlSchema::build(&Schema::from_preset(&SchemaPreset::Full, 0));
        validate(&schema, &parse(q).unwrap())
            .into_iter()
            .map(|e| {
                (
                    e.message,
                    e.pos.iter().map(|p| (p.line, p.column)).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn repxp_queries_are_valid() {
        let sel = "{ id name createdAt updatedAt deletedAt totalXp level defeatedBosses passedExams efficiencyMetrics lastActivityDate syncWatermarks syncRevision repEmail }";
        assert!(errors(&format!("mutation RepXPWrite($filter: RepProgressionFilterInput!, $data: RepProgressionUpdateInput!) {{ updateRepProgressions(filter: $filter, data: $data) {sel} }}")).is_empty());
        assert!(errors(&format!("query RepXPFind($filter: RepProgressionFilterInput!) {{ repProgressions(filter: $filter, first: 60) {{ edges {{ node {sel} }} }} }}")).is_empty());
        assert!(errors("mutation($id: UUID!){ deleteRepProgression(id:$id){ id deletedAt createdBy { name source } } }").is_empty());
    }

    /// Messages and columns as the real server answered (Twenty 7f19111).
    #[test]
    fn field_errors_as_twenty_words_them() {
        let q = "query RepXPFind($filter: RepProgressionFilterInput!) { repProgressions(filter: $filter, first: 60) { edges { node { id nope } } } }";
        assert_eq!(
            errors(q),
            [(
                "Cannot query field \"nope\" on type \"RepProgression\". Did you mean \"name\"?"
                    .to_string(),
                vec![(1, 120)]
            )]
        );
        let q = "query RepXPFind($filter: RepProgressionFilterInput!) { repProgressions(filter: $filter, first: 60) { edges { node { id repEmail { primaryEmail additionalEmails } } } } }";
        assert_eq!(
            errors(q)[0].0,
            "Field \"repEmail\" must not have a selection since type \"String\" has no subfields."
        );
        let q = "query RepXPFind($filter: RepProgressionFilterInput!) { repProgressions(filter: $filter, first: 60) { edges { node { id createdBy } } } }";
        assert_eq!(
            errors(q)[0].0,
            "Field \"createdBy\" of type \"Actor\" must have a selection of subfields. Did you mean \"createdBy { ... }\"?"
        );
        let q = "query { repProgressions(filter: {nope: {eq: \"x\"}}, first: 1) { edges { node { id } } } }";
        assert_eq!(
            errors(q),
            [(
                "Field \"nope\" is not defined by type \"RepProgressionFilterInput\". Did you mean \"name\" or \"not\"?".to_string(),
                vec![(1, 34)]
            )]
        );
        let q = "query { repProgressions(filter: {totalXp: {eq: \"x\"}}, first: 1) { edges { node { id } } } }";
        assert_eq!(
            errors(q),
            [(
                "Int cannot represent non-integer value: \"x\"".to_string(),
                vec![(1, 48)]
            )]
        );
    }

    #[test]
    fn variables_rules() {
        let e = errors(
            "query Q($f: RepProgressionFilterInput) { repProgressions(filter: $g) { totalCount } }",
        );
        let messages: Vec<&str> = e.iter().map(|(m, _)| m.as_str()).collect();
        assert_eq!(
            messages,
            [
                "Variable \"$g\" is not defined by operation \"Q\".",
                "Variable \"$f\" is never used in operation \"Q\"."
            ]
        );
        let e = errors(
            "query Q($f: RepProgresionFilterInput) { repProgressions(filter: $f) { totalCount } }",
        );
        // The real schema has more types, so its list of hints may be longer: the best comes first.
        assert!(
            e[0].0.starts_with(
                "Unknown type \"RepProgresionFilterInput\". Did you mean \"RepProgressionFilterInput\""
            ),
            "{}",
            e[0].0
        );
        let e = errors(
            "query Q($l: [Int]) { repProgressions(filter: {level: {in: $l}}) { totalCount } }",
        );
        assert_eq!(
            e[0].0,
            "Variable \"$l\" of type \"[Int]\" used in position expecting type \"[Int!]\"."
        );
        let e = errors("mutation { updateRepProgressions(fliter: {}) { id } }");
        assert_eq!(
            e[0].0,
            "Unknown argument \"fliter\" on field \"Mutation.updateRepProgressions\". Did you mean \"filter\"?"
        );
    }
}
