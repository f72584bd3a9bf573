//! The GraphQL documents the fake reads: a lexer and a recursive-descent parser for operations
//! (`query`/`mutation`, optional name, variable definitions, selection sets with aliases and
//! arguments, every value literal). Fragments and directives parse but are refused later
//! (`validate.rs`): RepXP and the test writers never send them.
//!
//! Error texts follow graphql-js 16.8 (the version Twenty 7f19111 ships, its
//! `language/lexer.js` and `language/parser.js`): `Syntax Error: Expected Name, found "{".`, with
//! the 1-based line and column of the offending token. Columns count characters.

use std::fmt;

/// A 1-based line and column in the query text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

/// A syntax error: the message without its `Syntax Error: ` prefix, and where.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("Syntax Error: {message}")]
pub struct SyntaxError {
    pub message: String,
    pub pos: Pos,
}

/// A type reference in a variable definition: `Name`, `[T]`, `T!`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeRef {
    Named(String),
    List(Box<TypeRef>),
    NonNull(Box<TypeRef>),
}

impl TypeRef {
    pub fn named(name: &str) -> TypeRef {
        TypeRef::Named(name.to_string())
    }

    pub fn non_null(self) -> TypeRef {
        TypeRef::NonNull(Box::new(self))
    }

    pub fn list(self) -> TypeRef {
        TypeRef::List(Box::new(self))
    }

    /// The innermost type name.
    pub fn base(&self) -> &str {
        match self {
            TypeRef::Named(n) => n,
            TypeRef::List(t) | TypeRef::NonNull(t) => t.base(),
        }
    }

    pub fn is_non_null(&self) -> bool {
        matches!(self, TypeRef::NonNull(_))
    }

    /// The type without its outermost `!`.
    pub fn nullable(&self) -> &TypeRef {
        match self {
            TypeRef::NonNull(t) => t,
            other => other,
        }
    }
}

impl fmt::Display for TypeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TypeRef::Named(n) => f.write_str(n),
            TypeRef::List(t) => write!(f, "[{t}]"),
            TypeRef::NonNull(t) => write!(f, "{t}!"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Query,
    Mutation,
    Subscription,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub definitions: Vec<Definition>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Definition {
    Operation(Operation),
    /// `fragment Name on Type { … }`: parsed for its position only.
    Fragment {
        name: String,
        pos: Pos,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    pub kind: OpKind,
    pub name: Option<String>,
    pub variables: Vec<VariableDef>,
    pub selection: Vec<Selection>,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VariableDef {
    pub name: String,
    pub ty: TypeRef,
    /// Where the innermost named type starts (graphql-js reports unknown types there).
    pub ty_pos: Pos,
    pub default: Option<ValueNode>,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Selection {
    Field(Field),
    /// `...Name` or `... on Type { … }`.
    Fragment {
        pos: Pos,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub alias: Option<String>,
    pub name: String,
    pub args: Vec<Argument>,
    pub selection: Option<Vec<Selection>>,
    /// Where the field starts (its alias, if any).
    pub pos: Pos,
    /// Where `@…` directives were written, if any.
    pub directive: Option<Pos>,
    /// Where its selection set opens (`{`), if any.
    pub selection_pos: Option<Pos>,
}

impl Field {
    /// The key of this field in the answer: its alias or its name.
    pub fn response_key(&self) -> &str {
        self.alias.as_deref().unwrap_or(&self.name)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Argument {
    pub name: String,
    pub value: ValueNode,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ValueNode {
    pub kind: ValueKind,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ValueKind {
    Variable(String),
    Int(String),
    Float(String),
    Str(String),
    Bool(bool),
    Null,
    Enum(String),
    List(Vec<ValueNode>),
    Object(Vec<ObjectField>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObjectField {
    pub name: String,
    pub value: ValueNode,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Punct(&'static str),
    Name(String),
    Int(String),
    Float(String),
    Str(String),
    Eof,
}

impl Tok {
    /// graphql-js `getTokenDesc`.
    fn desc(&self) -> String {
        match self {
            Tok::Punct(p) => format!("\"{p}\""),
            Tok::Name(n) => format!("Name \"{n}\""),
            Tok::Int(n) => format!("Int \"{n}\""),
            Tok::Float(n) => format!("Float \"{n}\""),
            Tok::Str(s) => format!("String \"{s}\""),
            Tok::Eof => "<EOF>".to_string(),
        }
    }
}

struct Lexer {
    chars: Vec<char>,
    i: usize,
    line: usize,
    line_start: usize,
}

impl Lexer {
    fn new(src: &str) -> Self {
        Lexer {
            chars: src.chars().collect(),
            i: 0,
            line: 1,
            line_start: 0,
        }
    }

    fn pos_at(&self, i: usize) -> Pos {
        Pos {
            line: self.line,
            column: i - self.line_start + 1,
        }
    }

    fn err(&self, at: usize, message: String) -> SyntaxError {
        SyntaxError {
            message,
            pos: self.pos_at(at),
        }
    }

    fn peek(&self, k: usize) -> Option<char> {
        self.chars.get(self.i + k).copied()
    }

    fn skip_ignored(&mut self) {
        while let Some(c) = self.peek(0) {
            match c {
                '\u{feff}' | ' ' | '\t' | ',' => self.i += 1,
                '\n' => {
                    self.i += 1;
                    self.line += 1;
                    self.line_start = self.i;
                }
                '\r' => {
                    self.i += 1;
                    if self.peek(0) == Some('\n') {
                        self.i += 1;
                    }
                    self.line += 1;
                    self.line_start = self.i;
                }
                '#' => {
                    while let Some(c) = self.peek(0) {
                        if c == '\n' || c == '\r' {
                            break;
                        }
                        self.i += 1;
                    }
                }
                _ => break,
            }
        }
    }

    /// The next token and where it starts.
    fn next(&mut self) -> Result<(Tok, Pos), SyntaxError> {
        self.skip_ignored();
        let start = self.i;
        let pos = self.pos_at(start);
        let Some(c) = self.peek(0) else {
            return Ok((Tok::Eof, pos));
        };
        let punct = match c {
            '!' => Some("!"),
            '$' => Some("$"),
            '&' => Some("&"),
            '(' => Some("("),
            ')' => Some(")"),
            ':' => Some(":"),
            '=' => Some("="),
            '@' => Some("@"),
            '[' => Some("["),
            ']' => Some("]"),
            '{' => Some("{"),
            '|' => Some("|"),
            '}' => Some("}"),
            _ => None,
        };
        if let Some(p) = punct {
            self.i += 1;
            return Ok((Tok::Punct(p), pos));
        }
        if c == '.' {
            if self.peek(1) == Some('.') && self.peek(2) == Some('.') {
                self.i += 3;
                return Ok((Tok::Punct("..."), pos));
            }
            return Err(self.err(start, "Unexpected character: \".\".".to_string()));
        }
        if c == '_' || c.is_ascii_alphabetic() {
            let mut name = String::new();
            while let Some(c) = self.peek(0) {
                if c == '_' || c.is_ascii_alphanumeric() {
                    name.push(c);
                    self.i += 1;
                } else {
                    break;
                }
            }
            return Ok((Tok::Name(name), pos));
        }
        if c == '-' || c.is_ascii_digit() {
            return self.number().map(|t| (t, pos));
        }
        if c == '"' {
            if self.peek(1) == Some('"') && self.peek(2) == Some('"') {
                return self.block_string().map(|t| (t, pos));
            }
            return self.string().map(|t| (t, pos));
        }
        let shown = if c.is_control() {
            format!("\"\\u{:04X}\"", c as u32)
        } else {
            format!("\"{c}\"")
        };
        Err(self.err(start, format!("Unexpected character: {shown}.")))
    }

    fn digits(&mut self, into: &mut String) -> Result<(), SyntaxError> {
        match self.peek(0) {
            Some(c) if c.is_ascii_digit() => {}
            other => {
                let found = other.map_or("<EOF>".to_string(), |c| format!("\"{c}\""));
                return Err(self.err(
                    self.i,
                    format!("Invalid number, expected digit but got: {found}."),
                ));
            }
        }
        while let Some(c) = self.peek(0).filter(char::is_ascii_digit) {
            into.push(c);
            self.i += 1;
        }
        Ok(())
    }

    fn number(&mut self) -> Result<Tok, SyntaxError> {
        let mut text = String::new();
        let mut float = false;
        if self.peek(0) == Some('-') {
            text.push('-');
            self.i += 1;
        }
        if self.peek(0) == Some('0') {
            text.push('0');
            self.i += 1;
            if let Some(c) = self.peek(0).filter(char::is_ascii_digit) {
                return Err(self.err(
                    self.i,
                    format!("Invalid number, unexpected digit after 0: \"{c}\"."),
                ));
            }
        } else {
            self.digits(&mut text)?;
        }
        if self.peek(0) == Some('.') {
            float = true;
            text.push('.');
            self.i += 1;
            self.digits(&mut text)?;
        }
        if matches!(self.peek(0), Some('e' | 'E')) {
            float = true;
            text.push('e');
            self.i += 1;
            if let Some(sign @ ('+' | '-')) = self.peek(0) {
                text.push(sign);
                self.i += 1;
            }
            self.digits(&mut text)?;
        }
        if let Some(c) = self
            .peek(0)
            .filter(|c| *c == '.' || *c == '_' || c.is_ascii_alphabetic())
        {
            return Err(self.err(
                self.i,
                format!("Invalid number, expected digit but got: \"{c}\"."),
            ));
        }
        Ok(if float {
            Tok::Float(text)
        } else {
            Tok::Int(text)
        })
    }

    fn string(&mut self) -> Result<Tok, SyntaxError> {
        self.i += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek(0) else {
                return Err(self.err(self.i, "Unterminated string.".to_string()));
            };
            match c {
                '"' => {
                    self.i += 1;
                    return Ok(Tok::Str(out));
                }
                '\n' | '\r' => {
                    return Err(self.err(self.i, "Unterminated string.".to_string()));
                }
                '\\' => {
                    let esc = self.peek(1);
                    let decoded = match esc {
                        Some('"') => '"',
                        Some('\\') => '\\',
                        Some('/') => '/',
                        Some('b') => '\u{8}',
                        Some('f') => '\u{c}',
                        Some('n') => '\n',
                        Some('r') => '\r',
                        Some('t') => '\t',
                        Some('u') => {
                            let hex: String = (2..6).filter_map(|k| self.peek(k)).collect();
                            match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                                Some(ch) if hex.len() == 4 => {
                                    out.push(ch);
                                    self.i += 6;
                                    continue;
                                }
                                _ => {
                                    return Err(self.err(
                                        self.i,
                                        format!("Invalid Unicode escape sequence: \"\\u{hex}\"."),
                                    ))
                                }
                            }
                        }
                        other => {
                            let shown: String = other.map(String::from).unwrap_or_default();
                            return Err(self.err(
                                self.i,
                                format!("Invalid character escape sequence: \"\\{shown}\"."),
                            ));
                        }
                    };
                    out.push(decoded);
                    self.i += 2;
                }
                c => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
    }

    /// `"""…"""`, with the common indentation removed (graphql-js `dedentBlockStringLines`,
    /// simplified: the minimum indentation of the lines after the first).
    fn block_string(&mut self) -> Result<Tok, SyntaxError> {
        self.i += 3;
        let mut raw = String::new();
        loop {
            let Some(c) = self.peek(0) else {
                return Err(self.err(self.i, "Unterminated string.".to_string()));
            };
            if c == '"' && self.peek(1) == Some('"') && self.peek(2) == Some('"') {
                self.i += 3;
                break;
            }
            if c == '\\'
                && self.peek(1) == Some('"')
                && self.peek(2) == Some('"')
                && self.peek(3) == Some('"')
            {
                raw.push_str("\"\"\"");
                self.i += 4;
                continue;
            }
            if c == '\n' {
                self.line += 1;
                self.line_start = self.i + 1;
            }
            raw.push(c);
            self.i += 1;
        }
        let lines: Vec<&str> = raw.lines().collect();
        let indent = lines
            .iter()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.len() - l.trim_start().len())
            .min()
            .unwrap_or(0);
        let mut out: Vec<String> = lines
            .iter()
            .enumerate()
            .map(|(n, l)| {
                if n == 0 {
                    l.to_string()
                } else {
                    l.chars().skip(indent).collect()
                }
            })
            .collect();
        while out.first().is_some_and(|l| l.trim().is_empty()) {
            out.remove(0);
        }
        while out.last().is_some_and(|l| l.trim().is_empty()) {
            out.pop();
        }
        Ok(Tok::Str(out.join("\n")))
    }
}

struct Parser {
    lexer: Lexer,
    tok: Tok,
    pos: Pos,
}

/// Parse a GraphQL document.
pub fn parse(src: &str) -> Result<Document, SyntaxError> {
    let mut lexer = Lexer::new(src);
    let (tok, pos) = lexer.next()?;
    let mut p = Parser { lexer, tok, pos };
    p.document()
}

impl Parser {
    fn advance(&mut self) -> Result<(Tok, Pos), SyntaxError> {
        let (next, pos) = self.lexer.next()?;
        let tok = std::mem::replace(&mut self.tok, next);
        let at = std::mem::replace(&mut self.pos, pos);
        Ok((tok, at))
    }

    fn unexpected(&self) -> SyntaxError {
        SyntaxError {
            message: format!("Unexpected {}.", self.tok.desc()),
            pos: self.pos,
        }
    }

    fn expected(&self, what: &str) -> SyntaxError {
        SyntaxError {
            message: format!("Expected {what}, found {}.", self.tok.desc()),
            pos: self.pos,
        }
    }

    fn is(&self, p: &str) -> bool {
        matches!(&self.tok, Tok::Punct(q) if *q == p)
    }

    fn expect(&mut self, p: &str) -> Result<Pos, SyntaxError> {
        if self.is(p) {
            Ok(self.advance()?.1)
        } else {
            Err(self.expected(&format!("\"{p}\"")))
        }
    }

    fn name(&mut self) -> Result<(String, Pos), SyntaxError> {
        match &self.tok {
            Tok::Name(_) => match self.advance()? {
                (Tok::Name(n), pos) => Ok((n, pos)),
                _ => Err(self.expected("Name")),
            },
            _ => Err(self.expected("Name")),
        }
    }

    fn keyword(&mut self, word: &str) -> Result<(), SyntaxError> {
        match &self.tok {
            Tok::Name(n) if n == word => self.advance().map(|_| ()),
            _ => Err(self.expected(&format!("\"{word}\""))),
        }
    }

    fn document(&mut self) -> Result<Document, SyntaxError> {
        let mut definitions = Vec::new();
        loop {
            definitions.push(self.definition()?);
            if self.tok == Tok::Eof {
                return Ok(Document { definitions });
            }
        }
    }

    fn definition(&mut self) -> Result<Definition, SyntaxError> {
        if self.is("{") {
            let pos = self.pos;
            let selection = self.selection_set()?;
            return Ok(Definition::Operation(Operation {
                kind: OpKind::Query,
                name: None,
                variables: Vec::new(),
                selection,
                pos,
            }));
        }
        let kind = match &self.tok {
            Tok::Name(n) if n == "query" => OpKind::Query,
            Tok::Name(n) if n == "mutation" => OpKind::Mutation,
            Tok::Name(n) if n == "subscription" => OpKind::Subscription,
            Tok::Name(n) if n == "fragment" => {
                let pos = self.pos;
                self.advance()?;
                let (name, _) = self.name()?;
                self.keyword("on")?;
                self.name()?;
                self.directives()?;
                self.selection_set()?;
                return Ok(Definition::Fragment { name, pos });
            }
            _ => return Err(self.unexpected()),
        };
        let pos = self.pos;
        self.advance()?;
        let name = match &self.tok {
            Tok::Name(_) => Some(self.name()?.0),
            _ => None,
        };
        let variables = if self.is("(") {
            self.variable_defs()?
        } else {
            Vec::new()
        };
        self.directives()?;
        let selection = self.selection_set()?;
        Ok(Definition::Operation(Operation {
            kind,
            name,
            variables,
            selection,
            pos,
        }))
    }

    fn variable_defs(&mut self) -> Result<Vec<VariableDef>, SyntaxError> {
        self.expect("(")?;
        let mut defs = Vec::new();
        loop {
            let pos = self.expect("$")?;
            let (name, _) = self.name()?;
            self.expect(":")?;
            let (ty, ty_pos) = self.type_ref()?;
            let default = if self.is("=") {
                self.advance()?;
                Some(self.value(true)?)
            } else {
                None
            };
            self.directives()?;
            defs.push(VariableDef {
                name,
                ty,
                ty_pos,
                default,
                pos,
            });
            if self.is(")") {
                self.advance()?;
                return Ok(defs);
            }
        }
    }

    /// A type and where its named type starts (graphql-js reports unknown types there).
    fn type_ref(&mut self) -> Result<(TypeRef, Pos), SyntaxError> {
        let (t, at) = if self.is("[") {
            self.advance()?;
            let (inner, at) = self.type_ref()?;
            self.expect("]")?;
            (TypeRef::List(Box::new(inner)), at)
        } else {
            let (name, at) = self.name()?;
            (TypeRef::Named(name), at)
        };
        if self.is("!") {
            self.advance()?;
            return Ok((TypeRef::NonNull(Box::new(t)), at));
        }
        Ok((t, at))
    }

    fn directives(&mut self) -> Result<Option<Pos>, SyntaxError> {
        let mut first = None;
        while self.is("@") {
            let pos = self.advance()?.1;
            first.get_or_insert(pos);
            self.name()?;
            if self.is("(") {
                self.arguments()?;
            }
        }
        Ok(first)
    }

    fn selection_set(&mut self) -> Result<Vec<Selection>, SyntaxError> {
        self.expect("{")?;
        let mut out = Vec::new();
        loop {
            out.push(self.selection()?);
            if self.is("}") {
                self.advance()?;
                return Ok(out);
            }
        }
    }

    fn selection(&mut self) -> Result<Selection, SyntaxError> {
        if self.is("...") {
            let pos = self.advance()?.1;
            match &self.tok {
                Tok::Name(n) if n == "on" => {
                    self.advance()?;
                    self.name()?;
                    self.directives()?;
                    self.selection_set()?;
                }
                Tok::Name(_) => {
                    self.name()?;
                    self.directives()?;
                }
                _ => {
                    self.directives()?;
                    self.selection_set()?;
                }
            }
            return Ok(Selection::Fragment { pos });
        }
        let (first, pos) = self.name()?;
        let (alias, name) = if self.is(":") {
            self.advance()?;
            (Some(first), self.name()?.0)
        } else {
            (None, first)
        };
        let args = if self.is("(") {
            self.arguments()?
        } else {
            Vec::new()
        };
        let directive = self.directives()?;
        let selection_pos = self.is("{").then_some(self.pos);
        let selection = if self.is("{") {
            Some(self.selection_set()?)
        } else {
            None
        };
        Ok(Selection::Field(Field {
            alias,
            name,
            args,
            selection,
            pos,
            directive,
            selection_pos,
        }))
    }

    fn arguments(&mut self) -> Result<Vec<Argument>, SyntaxError> {
        self.expect("(")?;
        let mut out = Vec::new();
        loop {
            let (name, pos) = self.name()?;
            self.expect(":")?;
            let value = self.value(false)?;
            out.push(Argument { name, value, pos });
            if self.is(")") {
                self.advance()?;
                return Ok(out);
            }
        }
    }

    fn value(&mut self, constant: bool) -> Result<ValueNode, SyntaxError> {
        let pos = self.pos;
        let kind = match &self.tok {
            Tok::Punct("[") => {
                self.advance()?;
                let mut items = Vec::new();
                while !self.is("]") {
                    if self.tok == Tok::Eof {
                        return Err(self.unexpected());
                    }
                    items.push(self.value(constant)?);
                }
                self.advance()?;
                ValueKind::List(items)
            }
            Tok::Punct("{") => {
                self.advance()?;
                let mut fields = Vec::new();
                while !self.is("}") {
                    let (name, fpos) = self.name()?;
                    self.expect(":")?;
                    let value = self.value(constant)?;
                    fields.push(ObjectField {
                        name,
                        value,
                        pos: fpos,
                    });
                }
                self.advance()?;
                ValueKind::Object(fields)
            }
            Tok::Punct("$") if !constant => {
                self.advance()?;
                ValueKind::Variable(self.name()?.0)
            }
            Tok::Int(_) | Tok::Float(_) | Tok::Str(_) => match self.advance()?.0 {
                Tok::Int(n) => ValueKind::Int(n),
                Tok::Float(n) => ValueKind::Float(n),
                Tok::Str(s) => ValueKind::Str(s),
                _ => ValueKind::Null,
            },
            Tok::Name(n) => {
                let kind = match n.as_str() {
                    "true" => ValueKind::Bool(true),
                    "false" => ValueKind::Bool(false),
                    "null" => ValueKind::Null,
                    other => ValueKind::Enum(other.to_string()),
                };
                self.advance()?;
                kind
            }
            _ => return Err(self.unexpected()),
        };
        Ok(ValueNode { kind, pos })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_repxp_write() {
        let q = "mutation RepXPWrite($filter: RepProgressionFilterInput!, $data: RepProgressionUpdateInput!) { updateRepProgressions(filter: $filter, data: $data) { id repEmail { primaryEmail additionalEmails } } }";
        let doc = parse(q).unwrap();
        let Definition::Operation(op) = &doc.definitions[0] else {
            panic!()
        };
        assert_eq!(op.kind, OpKind::Mutation);
        assert_eq!(op.name.as_deref(), Some("RepXPWrite"));
        assert_eq!(op.variables.len(), 2);
        assert_eq!(op.variables[0].ty.to_string(), "RepProgressionFilterInput!");
        assert_eq!(
            op.variables[0].ty_pos,
            Pos {
                line: 1,
                column: 30
            }
        );
        let Selection::Field(root) = &op.selection[0] else {
            panic!()
        };
        assert_eq!(root.name, "updateRepProgressions");
        assert_eq!(root.args.len(), 2);
        assert_eq!(
            root.args[0].value.kind,
            ValueKind::Variable("filter".into())
        );
        let sel = root.selection.as_ref().unwrap();
        assert_eq!(sel.len(), 2);
        let Selection::Field(email) = &sel[1] else {
            panic!()
        };
        assert_eq!(email.selection.as_ref().unwrap().len(), 2);
    }

    #[test]
    fn literals_aliases_and_positions() {
        let q = "query {\n  a: repProgressions(first: 2, filter: {or: [{totalXp: {gte: -1.5e3}}, {repEmail: {is: NULL}}], name: \"x\\u00e9\\n\"}) { totalCount }\n}";
        let doc = parse(q).unwrap();
        let Definition::Operation(op) = &doc.definitions[0] else {
            panic!()
        };
        let Selection::Field(f) = &op.selection[0] else {
            panic!()
        };
        assert_eq!(f.alias.as_deref(), Some("a"));
        assert_eq!(f.response_key(), "a");
        assert_eq!(f.pos, Pos { line: 2, column: 3 });
        assert_eq!(f.args[0].value.kind, ValueKind::Int("2".into()));
        let ValueKind::Object(fields) = &f.args[1].value.kind else {
            panic!()
        };
        let ValueKind::List(items) = &fields[0].value.kind else {
            panic!()
        };
        assert_eq!(items.len(), 2);
        assert_eq!(fields[1].value.kind, ValueKind::Str("xé\n".into()));
    }

    #[test]
    fn syntax_errors_say_what_graphql_js_says() {
        let e = parse("query { repProgressions(first: 1 { id } }").unwrap_err();
        assert_eq!(e.to_string(), "Syntax Error: Expected Name, found \"{\".");
        assert_eq!(
            e.pos,
            Pos {
                line: 1,
                column: 34
            }
        );
        let e = parse("query { a").unwrap_err();
        assert_eq!(e.to_string(), "Syntax Error: Expected Name, found <EOF>.");
        let e = parse("{ a(x: \"open) }").unwrap_err();
        assert_eq!(e.message, "Unterminated string.");
        let e = parse("nope { a }").unwrap_err();
        assert_eq!(e.message, "Unexpected Name \"nope\".");
        let e = parse("{ a(x: 01) }").unwrap_err();
        assert!(e.message.starts_with("Invalid number"), "{e}");
        let e = parse("{ a % }").unwrap_err();
        assert_eq!(e.message, "Unexpected character: \"%\".");
    }

    #[test]
    fn comments_commas_and_block_strings() {
        let q = "# a comment\n{ a(x: \"\"\"\n    two\n    lines\n  \"\"\"), b }";
        let doc = parse(q).unwrap();
        let Definition::Operation(op) = &doc.definitions[0] else {
            panic!()
        };
        assert_eq!(op.selection.len(), 2);
        let Selection::Field(a) = &op.selection[0] else {
            panic!()
        };
        assert_eq!(a.args[0].value.kind, ValueKind::Str("two\nlines".into()));
    }
}
