//! The page's commands. They are declared once, in commands/list.rs; the `panel_commands!` macro
//! below makes from that list:
//!
//! - the panel process's Tauri commands and their [`invoke_handler`]: each takes its typed
//!   arguments from the page and relays them to the tray process ([`PanelLink`]);
//! - [`Handlers`], what the tray process implements (handlers.rs), one method per command, and
//!   [`dispatch`], which decodes a relayed command and calls its method;
//! - in tests, the spec that capabilities/default.json (each command its own `allow-<name>`
//!   permission, granted to the panel's window) and the page's bindings (ui/commands.gen.js) must
//!   agree with.
//!
//! build.rs reads the same list for tauri-build, which makes those permissions. Errors reach the
//! page as one line (`Result<_, String>`); nothing here panics.

use std::future::Future;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tauri::ipc::Invoke;
use tauri::State;

use crate::overview::Overview;
use repxp_control::link::PanelLink;
use repxp_control::PanelCommand;
use repxp_engine::team::Team;

/// The event the page listens to; its payload is a full [`Overview`].
pub const OVERVIEW_EVENT: &str = "overview-changed";

macro_rules! panel_commands {
    ($(
        $(#[doc = $doc:literal])*
        fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $answer:ty;
    )*) => {
        /// The panel process's side: one Tauri command per entry, which relays its arguments to
        /// the tray and hands back the tray's answer. Only [`invoke_handler`] names them.
        mod relay {
            use super::*;

            $(
                $(#[doc = $doc])*
                #[tauri::command]
                async fn $name(
                    link: State<'_, PanelLink>,
                    $($arg: $ty),*
                ) -> Result<Value, String> {
                    #[derive(Serialize)]
                    struct Args { $($arg: $ty),* }
                    link.call(PanelCommand::encode(stringify!($name), &Args { $($arg),* })?)
                        .await
                }
            )*

            /// The panel process's invoke handler: the listed commands and nothing else.
            pub fn invoke_handler() -> impl Fn(Invoke) -> bool + Send + Sync + 'static {
                tauri::generate_handler![$($name),*]
            }
        }

        pub use relay::invoke_handler;

        /// What each command does, in the tray process (handlers.rs implements it).
        pub trait Handlers: Sync {
            $(
                $(#[doc = $doc])*
                fn $name(&self, $($arg: $ty),*)
                    -> impl Future<Output = Result<$answer, String>> + Send;
            )*
        }

        /// Runs one relayed command in the tray process; its answer goes back to the page as is.
        pub async fn dispatch(
            handlers: &impl Handlers,
            command: PanelCommand,
        ) -> Result<Value, String> {
            match command.name.as_str() {
                $(
                    stringify!($name) => {
                        #[derive(Deserialize)]
                        #[serde(deny_unknown_fields)]
                        struct Args { $($arg: $ty),* }
                        let Args { $($arg),* } = command.decode()?;
                        answer(handlers.$name($($arg),*).await)
                    }
                )*
                other => Err(format!("RepXP does not know the command {other:?}; restart RepXP")),
            }
        }

        /// The list as data, for the tests.
        #[cfg(test)]
        const SPECS: &[tests::Spec] = &[$(
            tests::Spec {
                name: stringify!($name),
                doc: concat!($($doc, "\n"),*),
                args: &[$((stringify!($arg), stringify!($ty))),*],
                answer: stringify!($answer),
            }
        ),*];

        /// A tray that answers every command with an error naming the command and the arguments
        /// it received, so the tests see what [`dispatch`] decoded.
        #[cfg(test)]
        struct Echo;

        #[cfg(test)]
        impl Handlers for Echo {
            $(
                async fn $name(&self, $($arg: $ty),*) -> Result<$answer, String> {
                    #[derive(Serialize)]
                    struct Args { $($arg: $ty),* }
                    Err(repxp_control::line(&PanelCommand::encode(
                        stringify!($name),
                        &Args { $($arg),* },
                    )?))
                }
            )*
        }
    };
}

include!("commands/list.rs");

fn answer(result: Result<impl Serialize, String>) -> Result<Value, String> {
    result.and_then(|v| serde_json::to_value(v).map_err(|e| format!("internal error: {e}")))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use serde_json::json;

    use super::*;

    pub struct Spec {
        pub name: &'static str,
        pub doc: &'static str,
        /// (name, Rust type) of each argument.
        pub args: &'static [(&'static str, &'static str)],
        pub answer: &'static str,
    }

    const BINDINGS: &str = "ui/commands.gen.js";
    const BLESS: &str = "REPXP_BLESS";

    fn root() -> &'static Path {
        Path::new(env!("CARGO_MANIFEST_DIR"))
    }

    /// A Rust type of the list as JSDoc (Tauri passes them as JSON).
    fn js_type(rust: &str) -> String {
        if let Some(inner) = rust
            .strip_prefix("Option<")
            .and_then(|t| t.strip_suffix('>'))
        {
            return format!("{} | null", js_type(inner));
        }
        match rust {
            "String" => "string",
            "bool" => "boolean",
            "u8" | "u16" | "u32" | "u64" | "i8" | "i16" | "i32" | "i64" | "f32" | "f64" => "number",
            "()" => "null",
            "Overview" => "Overview",
            "Team" => "Team",
            other => panic!(
                "commands.rs's js_type has no JSDoc name for {other}: add one (and a typedef to \
                 bindings() if it is a struct)"
            ),
        }
        .to_string()
    }

    /// A value of a Rust type of the list, as JSON.
    fn sample(rust: &str) -> Value {
        match js_type(rust).as_str() {
            "string" => json!("some text"),
            "boolean" => json!(true),
            "number" => json!(7),
            t if t.ends_with(" | null") => Value::Null,
            other => panic!("no sample of {other} for the tests"),
        }
    }

    /// `api_key` -> `apiKey`: how the page names an argument (Tauri's default) and a function.
    fn camel(snake: &str) -> String {
        let mut out = String::new();
        let mut upper = false;
        for c in snake.chars() {
            if c == '_' {
                upper = true;
            } else if upper {
                out.extend(c.to_uppercase());
                upper = false;
            } else {
                out.push(c);
            }
        }
        out
    }

    /// The page's bindings: one function per command, JSDoc-typed from the list.
    fn bindings() -> String {
        let mut js = String::from(
            "// Generated from src-tauri/src/commands/list.rs by the tests in commands.rs: do not edit.\n\
             // After changing the list: REPXP_BLESS=1 cargo test -p repxp --bin repxp commands::\n\
             // Each function calls one of the panel's commands and returns a promise of its answer,\n\
             // rejected with the command's one-line error.\n\
             \n\
             const { invoke } = window.__TAURI__.core;\n\
             const { listen } = window.__TAURI__.event;\n\
             \n\
             /** @typedef {Record<string, any>} Overview The JSON of `Overview` in src-tauri/src/overview.rs. */\n\
             /** @typedef {Record<string, any>} Team The JSON of `Team` in src-tauri/engine/src/team.rs. */\n",
        );
        for spec in SPECS {
            js.push_str("\n/**\n");
            for line in spec.doc.lines() {
                js.push_str(&format!(" * {}\n", line.trim()).replace(" * \n", " *\n"));
            }
            let params: Vec<String> = spec.args.iter().map(|(n, _)| camel(n)).collect();
            for ((_, ty), name) in spec.args.iter().zip(&params) {
                js.push_str(&format!(" * @param {{{}}} {name}\n", js_type(ty)));
            }
            js.push_str(&format!(
                " * @returns {{Promise<{}>}}\n */\n",
                js_type(spec.answer)
            ));
            let args = if params.is_empty() {
                String::new()
            } else {
                format!(", {{ {} }}", params.join(", "))
            };
            js.push_str(&format!(
                "export function {}({}) {{\n  return invoke(\"{}\"{args});\n}}\n",
                camel(spec.name),
                params.join(", "),
                spec.name
            ));
        }
        js.push_str(
            &[
                "",
                "/**",
                " * Calls `handler` with each new overview the app sends.",
                " * @param {(overview: Overview) => void} handler",
                " * @returns {Promise<() => void>} a function that stops listening",
                " */",
                "export function onOverviewChanged(handler) {",
                &format!(
                    "  return listen(\"{OVERVIEW_EVENT}\", (event) => handler(event.payload));"
                ),
                "}",
                "",
            ]
            .join("\n"),
        );
        js
    }

    #[test]
    fn the_page_bindings_are_written_from_the_list() {
        let path = root().join(BINDINGS);
        let want = bindings();
        if std::env::var_os(BLESS).is_some() {
            std::fs::write(&path, &want).expect("write the bindings");
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "{BINDINGS} is not what commands/list.rs makes; write it again with \
             `{BLESS}=1 cargo test -p repxp --bin repxp commands::`"
        );
    }

    #[test]
    fn capabilities_grant_each_command_its_own_permission_and_nothing_else() {
        let path = root().join("capabilities/default.json");
        let text = std::fs::read_to_string(&path).expect("capabilities/default.json");
        let cap: Value = serde_json::from_str(&text).expect("json");
        let granted: BTreeSet<&str> = cap["permissions"]
            .as_array()
            .expect("permissions")
            .iter()
            .filter_map(Value::as_str)
            .filter(|p| !p.starts_with("core:event:"))
            .collect();
        let listed: Vec<String> = SPECS
            .iter()
            .map(|s| format!("allow-{}", s.name.replace('_', "-")))
            .collect();
        let listed: BTreeSet<&str> = listed.iter().map(String::as_str).collect();
        let missing: Vec<_> = listed.difference(&granted).collect();
        let extra: Vec<_> = granted.difference(&listed).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "capabilities/default.json must grant the panel exactly the commands of \
             commands/list.rs; missing: {missing:?}, not a command: {extra:?}"
        );
        assert_eq!(cap["windows"], json!([crate::window::LABEL]));
    }

    #[test]
    fn the_page_calls_commands_only_through_its_bindings() {
        for entry in std::fs::read_dir(root().join("ui")).expect("ui/") {
            let path = entry.expect("entry").path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if !name.ends_with(".js") || format!("ui/{name}") == BINDINGS {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("read");
            for raw in ["__TAURI__", "invoke("] {
                assert!(
                    !text.contains(raw),
                    "ui/{name} uses {raw}: call the functions of {BINDINGS} instead"
                );
            }
        }
    }

    fn run(command: Value) -> Result<Value, String> {
        let command = serde_json::from_value(command).expect("a PanelCommand");
        tauri::async_runtime::block_on(dispatch(&Echo, command))
    }

    #[test]
    fn each_command_reaches_its_handler_with_its_arguments() {
        assert!(!SPECS.is_empty());
        for spec in SPECS {
            let args: serde_json::Map<String, Value> = spec
                .args
                .iter()
                .map(|(n, ty)| (n.to_string(), sample(ty)))
                .collect();
            let sent = json!({ "name": spec.name, "args": args });
            let got = run(sent.clone()).expect_err("Echo answers with an error");
            let mut want = sent;
            if args.is_empty() {
                want.as_object_mut().expect("object").remove("args");
            }
            assert_eq!(
                serde_json::from_str::<Value>(&got).expect("json"),
                want,
                "{}",
                spec.name
            );
        }
        // As `make test-gui`'s ctl sends it: no `args` for a command without arguments.
        assert!(run(json!({ "name": "get_overview" }))
            .expect_err("echo")
            .contains("get_overview"));
    }

    #[test]
    fn unknown_commands_and_arguments_are_refused_with_one_line() {
        let err = run(json!({ "name": "format_disk" })).expect_err("unknown");
        assert!(
            err.contains("does not know the command \"format_disk\""),
            "{err}"
        );
        let err =
            run(json!({ "name": "set_paused", "args": { "pause": true } })).expect_err("misnamed");
        assert!(err.starts_with("set_paused: bad arguments"), "{err}");
        let err = run(json!({ "name": "set_paused", "args": { "paused": "yes" } }))
            .expect_err("mistyped");
        assert!(err.starts_with("set_paused: bad arguments"), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }
}
