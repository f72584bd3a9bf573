// Generated from src-tauri/src/commands/list.rs by the tests in commands.rs: do not edit.
// After changing the list: REPXP_BLESS=1 cargo test -p repxp --bin repxp commands::
// Each function calls one of the panel's commands and returns a promise of its answer,
// rejected with the command's one-line error.

const { invoke } = window.__TAURI__.core;
const { listen } = window.__TAURI__.event;

/** @typedef {Record<string, any>} Overview The JSON of `Overview` in src-tauri/src/overview.rs. */
/** @typedef {Record<string, any>} Team The JSON of `Team` in src-tauri/engine/src/team.rs. */

/**
 * Everything the panel shows. Re-checks the keychain first, so opening the panel tells the
 * truth about it.
 * @returns {Promise<Overview>}
 */
export function getOverview() {
  return invoke("get_overview");
}

/**
 * Saves the Twenty address and the rep's email, and the API key when one is given
 * (write-only: no key keeps the stored one); then syncs with them.
 * @param {string} url
 * @param {string} email
 * @param {string | null} apiKey
 * @returns {Promise<string>}
 */
export function saveSettings(url, email, apiKey) {
  return invoke("save_settings", { url, email, apiKey });
}

/**
 * Tries the given settings without saving them: one read of the rep's record, with the typed
 * key, else the stored one.
 * @param {string} url
 * @param {string} email
 * @param {string | null} apiKey
 * @returns {Promise<string>}
 */
export function testConnection(url, email, apiKey) {
  return invoke("test_connection", { url, email, apiKey });
}

/**
 * Syncs now.
 * @returns {Promise<null>}
 */
export function syncNow() {
  return invoke("sync_now");
}

/**
 * Pauses sync, or resumes it (and syncs at once).
 * @param {boolean} paused
 * @returns {Promise<null>}
 */
export function setPaused(paused) {
  return invoke("set_paused", { paused });
}

/**
 * Turns desktop notifications on or off.
 * @param {boolean} enabled
 * @returns {Promise<null>}
 */
export function setNotifications(enabled) {
  return invoke("set_notifications", { enabled });
}

/**
 * Starts RepXP at login, or stops doing so.
 * @param {boolean} enabled
 * @returns {Promise<null>}
 */
export function setAutostart(enabled) {
  return invoke("set_autostart", { enabled });
}

/**
 * The team's ranking in the rep's Twenty workspace. Read from Twenty when the panel asks and
 * the last reading is older than 5 minutes (or the settings changed), else the last reading:
 * opening the panel often costs the workspace's request budget at most one read in 5 minutes.
 * Fails with one line when the team view is hidden, RepXP is not connected, or Twenty says no.
 * @returns {Promise<Team>}
 */
export function getTeam() {
  return invoke("get_team");
}

/**
 * Shows or hides the team view (hidden: Twenty is never asked for the team).
 * @param {boolean} enabled
 * @returns {Promise<null>}
 */
export function setShowTeam(enabled) {
  return invoke("set_show_team", { enabled });
}

/**
 * The rep's answer to events held back (refused by Twenty, or "may already be on Twenty"):
 * "retry" sends them again with the next sync, "discard" drops them for good.
 * @param {string} action
 * @returns {Promise<string>}
 */
export function resolveHeld(action) {
  return invoke("resolve_held", { action });
}

/**
 * The rep's answer to a web page: "allow" or "deny" the one asking to pair, "revoke" one
 * allowed before. Returns the line to show.
 * @param {string} origin
 * @param {string} action
 * @returns {Promise<string>}
 */
export function answerWebPage(origin, action) {
  return invoke("answer_web_page", { origin, action });
}

/**
 * Calls `handler` with each new overview the app sends.
 * @param {(overview: Overview) => void} handler
 * @returns {Promise<() => void>} a function that stops listening
 */
export function onOverviewChanged(handler) {
  return listen("overview-changed", (event) => handler(event.payload));
}
