// The page's commands: the one list. Not a module: `include!`d by commands.rs (the panel's relay,
// the tray's `Handlers` trait and dispatch, the spec the tests check) and by build.rs (tauri-build's
// `allow-<name>` permissions). Adding a command is one entry here plus its method in handlers.rs;
// the tests then ask for `allow-<name>` in capabilities/default.json and for the page's bindings
// (ui/commands.gen.js) to be written again. The page passes the arguments in camelCase (Tauri's
// default), the tray gets them by these names.
//
// Each entry: `/// docs` (they go on the trait method and into the page's bindings), then
// `fn name(argument: Type, ...) -> Answer;`, Answer `()` when the page gets nothing back. A type
// other than String, bool, numbers, Option and Overview needs its JSDoc name in commands.rs.
panel_commands! {
    /// Everything the panel shows. Re-checks the keychain first, so opening the panel tells the
    /// truth about it.
    fn get_overview() -> Overview;

    /// Saves the Twenty address and the rep's email, and the API key when one is given
    /// (write-only: no key keeps the stored one); then syncs with them.
    fn save_settings(url: String, email: String, api_key: Option<String>) -> String;

    /// Tries the given settings without saving them: one read of the rep's record, with the typed
    /// key, else the stored one.
    fn test_connection(url: String, email: String, api_key: Option<String>) -> String;

    /// Syncs now.
    fn sync_now() -> ();

    /// Pauses sync, or resumes it (and syncs at once).
    fn set_paused(paused: bool) -> ();

    /// Turns desktop notifications on or off.
    fn set_notifications(enabled: bool) -> ();

    /// Starts RepXP at login, or stops doing so.
    fn set_autostart(enabled: bool) -> ();

    /// The team's ranking in the rep's Twenty workspace. Read from Twenty when the panel asks and
    /// the last reading is older than 5 minutes (or the settings changed), else the last reading:
    /// opening the panel often costs the workspace's request budget at most one read in 5 minutes.
    /// Fails with one line when the team view is hidden, RepXP is not connected, or Twenty says no.
    fn get_team() -> Team;

    /// Shows or hides the team view (hidden: Twenty is never asked for the team).
    fn set_show_team(enabled: bool) -> ();

    /// The rep's answer to events held back (refused by Twenty, or "may already be on Twenty"):
    /// "retry" sends them again with the next sync, "discard" drops them for good.
    fn resolve_held(action: String) -> String;

    /// The rep's answer to a web page: "allow" or "deny" the one asking to pair, "revoke" one
    /// allowed before. Returns the line to show.
    fn answer_web_page(origin: String, action: String) -> String;
}
