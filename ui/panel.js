// RepXP panel. Reads everything from one Rust command (getOverview) and then only listens:
// the app sends a new overview whenever the progression, the queue or the sync state change.
// The API key goes one way (page -> Rust -> keychain) and is never read back.
// Rust is called only through commands.gen.js, generated from src-tauri/src/commands/list.rs.

import {
  answerWebPage,
  getOverview,
  getTeam,
  onOverviewChanged,
  resolveHeld,
  saveSettings,
  setAutostart,
  setNotifications,
  setPaused,
  setShowTeam,
  syncNow,
  testConnection,
} from "./commands.gen.js";

const $ = (id) => document.getElementById(id);

let current = null;
// Fields the rep is editing are not overwritten by live updates.
const dirty = new Set();

const fmt = new Intl.NumberFormat("en-US");

/** Same wording as the tray (engine display::relative). */
function relative(iso, now = Date.now()) {
  if (!iso) return "never";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const s = Math.floor((now - t) / 1000);
  if (s < 45) return "just now";
  if (s < 3600) return `${Math.floor((s + 30) / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  if (s < 2 * 86400) return "yesterday";
  return `${Math.floor(s / 86400)} days ago`;
}

const STATE_TEXT = {
  synced: "Synced",
  syncing: "Syncing…",
  queued: "Waiting to sync",
  offline: "Offline",
  paused: "Paused",
  error: "Sync failing",
};

function stateText(o) {
  if (!o.configured) return "Not connected";
  if (o.tray === "queued" && o.scheduler.phase === "syncing") return STATE_TEXT.syncing;
  return STATE_TEXT[o.tray] ?? o.state_label;
}

function describe(item) {
  switch (item.kind) {
    case "xp": {
      const el = document.createElement("span");
      const plus = document.createElement("span");
      plus.className = "plus";
      plus.textContent = `+${fmt.format(item.amount)} XP`;
      el.append(plus);
      if (item.source) el.append(` · ${item.source}`);
      return el;
    }
    case "boss":
      return `Boss defeated: ${item.boss_id}`;
    case "exam":
      return item.score == null
        ? `Exam passed: ${item.exam_id}`
        : `Exam passed: ${item.exam_id} (${item.score})`;
    case "metric":
      return `${item.name} = ${item.value}`;
    default:
      return item.kind;
  }
}

function renderActivity(o) {
  const list = $("activity");
  list.replaceChildren(
    ...o.activity.map((item) => {
      const li = document.createElement("li");
      li.dataset.id = item.id;
      const what = document.createElement("span");
      what.className = "what";
      what.append(describe(item));
      const when = document.createElement("span");
      when.className = "when";
      when.dataset.time = item.occurred_at;
      when.textContent = relative(item.occurred_at);
      when.title = new Date(item.occurred_at).toLocaleString();
      const chip = document.createElement("span");
      const status = item.pushed ? "pushed" : item.held ? "held" : "pending";
      chip.className = `chip ${status}`;
      chip.textContent = { pushed: "on Twenty", held: "held back", pending: "pending" }[status];
      li.append(what, chip, when);
      return li;
    }),
  );
  $("activity-empty").hidden = o.activity.length > 0;
}

const ACTIONS = {
  reenter_key: { label: "Re-enter API key", run: () => focusSettings("api-key") },
  settings: { label: "Open settings", run: () => focusSettings("url") },
  doctor: { label: "Retry", run: () => requestSync() },
  retry: { label: "Retry now", run: () => requestSync() },
};

function renderAlert(o) {
  const e = o.error;
  const box = $("alert");
  if (!e || o.settings.paused) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  const offline = e.kind === "offline" || e.kind === "timeout";
  box.classList.toggle("offline", offline);
  $("alert-title").textContent = offline ? "Can't reach Twenty" : "Sync failing";
  let message = e.message.replace(/\.?\s*$/, ".");
  if (e.next_step) message += ` ${e.next_step.replace(/\.?\s*$/, ".")}`;
  const n = o.progression.pending;
  if (offline && n > 0)
    message += ` ${fmt.format(n)} new ${n === 1 ? "item is" : "items are"} kept on this computer and sync when Twenty is back.`;
  $("alert-message").textContent = message;
  const action = ACTIONS[e.action] ?? ACTIONS.retry;
  const btn = $("alert-action");
  btn.textContent = action.label;
  btn.onclick = action.run;
}

/** A web page asking to send XP (README "Award XP from a web app"): the rep allows or denies it
 * here; Settings lists the pages decided on, an allowed one with Revoke. */
function renderWebAsk(o) {
  const web = o.web ?? { asking: null, origins: [] };
  const box = $("web-ask");
  box.hidden = !web.asking;
  if (web.asking) {
    $("web-ask-origin").textContent = `${web.asking} asks to send XP to RepXP.`;
    $("web-allow").onclick = () => answerWeb(web.asking, "allow");
    $("web-deny").onclick = () => answerWeb(web.asking, "deny");
  }
  $("web-pages").hidden = web.origins.length === 0;
  $("web-origins").replaceChildren(
    ...web.origins.map((w) => {
      const li = document.createElement("li");
      li.append(
        Object.assign(document.createElement("span"), { className: "name", textContent: w.origin, title: w.origin }),
        Object.assign(document.createElement("span"), { className: `chip ${w.state === "allowed" ? "pushed" : "pending"}`, textContent: w.state }),
      );
      const b = Object.assign(document.createElement("button"), { type: "button", className: "btn small", textContent: w.state === "allowed" ? "Revoke" : "Forget" });
      b.onclick = () => answerWeb(w.origin, "revoke");
      li.append(b);
      return li;
    }),
  );
}

async function answerWeb(origin, action) {
  try {
    await answerWebPage(origin, action);
  } catch (e) {
    $("attention").hidden = false;
    $("attention").append(Object.assign(document.createElement("p"), { className: "warning", textContent: String(e) }));
  }
}

/** Lines that need the rep's (or their admin's) eye while sync goes on; held-back events get
 * the two answers the rep can give: send them again, or drop them. */
function renderAttention(o) {
  const box = $("attention");
  const items = o.attention ?? [];
  box.hidden = items.length === 0;
  box.replaceChildren(
    ...items.map((a) => {
      const p = document.createElement("div");
      p.className = "note";
      p.dataset.kind = a.kind;
      const text = document.createElement("span");
      text.textContent = a.message.replace(/\.?\s*$/, ".");
      p.append(text);
      const answers =
        a.kind === "held_rejected" || a.kind === "held_unverified"
          ? [["retry", "Send again"], ["discard", "Drop"]]
          : a.kind === "held_other_identity"
            ? [["retry", "Send to my current record"]]
            : [];
      for (const [action, label] of answers) {
        const b = document.createElement("button");
        b.type = "button";
        b.className = "btn small";
        b.dataset.action = action;
        b.textContent = label;
        b.onclick = () => answerHeld(action);
        p.append(b);
      }
      return p;
    }),
  );
}

async function answerHeld(action) {
  try {
    await resolveHeld(action);
  } catch (e) {
    $("attention").append(Object.assign(document.createElement("p"), { className: "warning", textContent: String(e) }));
  }
}

/** One row of the Progress tab: a name, a value, and whether Twenty has it yet. */
function itemRow(name, value, pending) {
  const li = document.createElement("li");
  const n = Object.assign(document.createElement("span"), { className: "name", textContent: name });
  n.title = name;
  const v = Object.assign(document.createElement("span"), { className: "value", textContent: value ?? "" });
  const chip = document.createElement("span");
  chip.className = `chip ${pending ? "pending" : "pushed"}`;
  chip.textContent = pending ? "pending" : "on Twenty";
  li.dataset.pending = String(pending);
  li.append(n, v, chip);
  return li;
}

function fillItems(id, rows, none) {
  const list = $(id);
  if (rows.length === 0) {
    list.replaceChildren(Object.assign(document.createElement("li"), { className: "none", textContent: none }));
  } else {
    list.replaceChildren(...rows);
  }
}

const metricFmt = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });

function renderProgress(o) {
  const p = o.progression;
  const pend = p.pending_items;
  fillItems(
    "bosses",
    p.defeated_bosses.map((b) => itemRow(b, "", pend.bosses.includes(b))),
    "None yet: defeat a boss in the academy.",
  );
  fillItems(
    "exams",
    Object.entries(p.passed_exams).map(([id, r]) =>
      itemRow(id, r.score == null ? "passed" : metricFmt.format(r.score), pend.exams.includes(id)),
    ),
    "None yet.",
  );
  fillItems(
    "metrics",
    Object.entries(p.efficiency_metrics).map(([k, v]) =>
      itemRow(k.replaceAll("_", " "), metricFmt.format(v), pend.metrics.includes(k)),
    ),
    "No metrics yet: your dialer sends them.",
  );
  fillItems(
    "last-activity",
    p.last_activity
      ? [itemRow(new Date(p.last_activity).toLocaleString(), relative(p.last_activity), pend.last_activity)]
      : [],
    "Nothing yet.",
  );
}

function renderPace(o) {
  const pace = o.pace;
  const signed = (n) => (n < 0 ? `−${fmt.format(-n)}` : `+${fmt.format(n)}`);
  $("xp-today").textContent = signed(pace.xp_today);
  $("xp-week").textContent = signed(pace.xp_this_week);
  const streak = $("streak");
  streak.classList.toggle("alive", pace.streak_days > 0);
  if (pace.streak_days === 0) streak.textContent = "no streak";
  else {
    streak.textContent = `${pace.streak_days}-day streak`;
    streak.title = pace.streak_today
      ? "Days in a row with XP, today included"
      : "Days in a row with XP: earn XP today to keep it";
  }
}

let team = null;
let teamError = null;
let teamLoading = false;
let teamXp = null;

async function loadTeam() {
  if (teamLoading || !current || !current.configured || !current.settings.show_team) return renderTeam();
  teamLoading = true;
  teamXp = current.progression.xp;
  try {
    team = await getTeam();
    teamError = null;
  } catch (e) {
    teamError = String(e);
  } finally {
    teamLoading = false;
  }
  renderTeam();
  // XP moved while the answer was on its way: once more, from the tray's last reading.
  if (team && current.progression.xp !== teamXp) loadTeam();
}

function renderTeam() {
  const tab = $("tab-team");
  const shown = !!current?.settings.show_team;
  tab.hidden = !shown;
  if (!shown && tab.getAttribute("aria-selected") === "true") showTab("activity");
  const note = $("team-note");
  const list = $("team");
  if (current && !current.configured) {
    note.textContent = "Connect Twenty to see your team.";
    list.replaceChildren();
    return;
  }
  if (!team) {
    note.textContent = teamError ?? "Loading the team…";
    return;
  }
  const since = team.since ? ` · change since ${team.since}` : "";
  const me = team.members.find((m) => m.me);
  const you = me ? `You: #${me.rank} of ${team.members.length}` : `${team.members.length} reps`;
  note.textContent = `${you} · read ${relative(team.read_at)}${since}${teamError ? ` · ${teamError}` : ""}`;
  list.replaceChildren(
    ...team.members.map((m) => {
      const li = document.createElement("li");
      li.classList.toggle("me", m.me);
      li.dataset.email = m.email;
      const rank = Object.assign(document.createElement("span"), { className: "rank", textContent: `${m.rank}` });
      const who = Object.assign(document.createElement("span"), {
        className: "who",
        textContent: m.me ? `You (${m.name ?? m.email})` : (m.name ?? m.email),
      });
      who.title = m.email;
      const lvl = Object.assign(document.createElement("span"), { className: "lvl", textContent: `Lv ${m.level}` });
      const pts = Object.assign(document.createElement("span"), { className: "pts", textContent: fmt.format(m.xp) });
      li.append(rank, who, lvl, pts);
      // XP and places each in their own colour: a rep can gain XP and still drop places.
      const part = (n, text) =>
        Object.assign(document.createElement("span"), { className: n > 0 ? "up" : "down", textContent: text });
      const parts = [];
      if (m.xp_change) parts.push(part(m.xp_change, `${m.xp_change > 0 ? "+" : "−"}${fmt.format(Math.abs(m.xp_change))} XP`));
      if (m.rank_change) parts.push(part(m.rank_change, `${m.rank_change > 0 ? "▲" : "▼"}${Math.abs(m.rank_change)}`));
      if (parts.length) {
        const d = Object.assign(document.createElement("span"), { className: "delta" });
        const places = Math.abs(m.rank_change ?? 0);
        d.title = `${places ? `${m.rank_change > 0 ? "up" : "down"} ${places} place${places === 1 ? "" : "s"}` : "same place"} since ${team.since}`;
        parts.forEach((p, i) => (i ? d.append(" · ", p) : d.append(p)));
        li.append(d);
      }
      return li;
    }),
  );
  scrollToMe();
}

function scrollToMe() {
  if (!$("view-team").hidden) $("team").querySelector("li.me")?.scrollIntoView({ block: "center" });
}

function fill(id, value) {
  const el = $(id);
  if (!dirty.has(id) && document.activeElement !== el) el.value = value ?? "";
}

function renderSettings(o) {
  const s = o.settings;
  fill("url", s.twenty_url);
  fill("email", s.rep_email);
  $("url").disabled = s.url_from_env;
  $("email").disabled = s.email_from_env;
  note("url-note", s.url_from_env ? "Set by REPXP_TWENTY_URL" : "");
  note("email-note", s.email_from_env ? "Set by REPXP_REP_EMAIL" : "");

  const k = o.key;
  const keyNote = $("key-note");
  keyNote.classList.toggle("ok", k.stored);
  if (k.source === "environment") {
    keyNote.textContent = "Using REPXP_TWENTY_API_KEY from the environment";
  } else if (k.stored) {
    keyNote.textContent = "✓ Stored in the keychain. Paste a new key to replace it.";
  } else {
    keyNote.textContent = "Stored in your system keychain, never in RepXP's files.";
  }
  $("api-key").placeholder = k.stored ? "•••••••••••• (stored)" : "Paste a key from Twenty → Settings → APIs";

  const warn = $("keychain-warning");
  warn.hidden = !k.keychain_error;
  warn.textContent = k.keychain_error ? `No keychain: ${k.keychain_error}` : "";

  $("paused").checked = s.paused;
  $("notifications").checked = s.notifications;
  $("autostart").checked = s.autostart;
  $("show-team").checked = s.show_team;
  $("data-dir").textContent = o.data_dir;
}

function note(id, text) {
  const el = $(id);
  el.hidden = !text;
  el.textContent = text;
}

function render(o) {
  current = o;
  const p = o.progression;
  $("xp").textContent = o.xp_text;
  $("level").textContent = `Level ${p.level}`;
  const span = Math.max(1, p.next_level_xp - p.level_start_xp);
  const into = Math.min(span, Math.max(0, p.xp - p.level_start_xp));
  const pct = Math.round((into / span) * 100);
  $("bar-fill").style.width = `${pct}%`;
  $("bar").setAttribute("aria-valuenow", String(pct));
  $("to-next").textContent = `${fmt.format(p.next_level_xp - p.xp)} XP to level ${p.next_level}`;

  const state = $("state");
  state.dataset.tray = o.configured ? o.tray : "offline";
  $("state-text").textContent = stateText(o);

  renderTimes();
  $("queue").textContent = p.pending === 0 ? "none" : fmt.format(p.pending);
  $("sync-now").disabled = !o.configured || o.settings.paused;

  renderPace(o);
  renderWebAsk(o);
  renderAlert(o);
  renderAttention(o);
  renderActivity(o);
  renderProgress(o);
  renderSettings(o);
  renderTeam();
  // Connected just now (or the team view turned on): the first reading. Later, when the rep's
  // own XP moves or the last answer was an error, ask again: the tray reads Twenty at most every
  // 5 minutes for the same settings and otherwise answers from its last reading, with the rep's
  // row at the new XP.
  if (o.configured && o.settings.show_team && (!team || teamError || teamXp !== p.xp)) loadTeam();
  document.body.dataset.ready = "true";
}

/** Relative times move on while the panel is open (the panel only; the app itself does not tick). */
function renderTimes() {
  if (!current) return;
  const o = current;
  $("last-sync").textContent = o.configured
    ? relative(o.sync.last_success_at)
    : "—";
  for (const el of document.querySelectorAll(".when[data-time]")) {
    el.textContent = relative(el.dataset.time);
  }
}

function showTab(name) {
  for (const t of ["activity", "progress", "team", "settings"]) {
    $(`tab-${t}`).setAttribute("aria-selected", String(t === name));
    $(`view-${t}`).hidden = t !== name;
  }
}

function focusSettings(field) {
  showTab("settings");
  const el = $(field);
  el.classList.add("attention");
  el.focus();
}

function result(text, ok) {
  const r = $("form-result");
  r.hidden = false;
  r.textContent = text;
  r.className = `result ${ok ? "ok" : "err"}`;
}

async function requestSync() {
  try {
    await syncNow();
  } catch (e) {
    result(String(e), false);
  }
}

function formValues() {
  const key = $("api-key").value;
  return {
    url: $("url").value,
    email: $("email").value,
    apiKey: key.trim() ? key : null,
  };
}

async function busy(button, work) {
  button.disabled = true;
  try {
    await work();
  } finally {
    button.disabled = false;
  }
}

function wire() {
  $("tab-activity").addEventListener("click", () => showTab("activity"));
  $("tab-progress").addEventListener("click", () => showTab("progress"));
  $("tab-team").addEventListener("click", () => {
    showTab("team");
    scrollToMe();
  });
  $("tab-settings").addEventListener("click", () => showTab("settings"));
  $("sync-now").addEventListener("click", requestSync);

  for (const id of ["url", "email", "api-key"]) {
    $(id).addEventListener("input", () => {
      dirty.add(id);
      $(id).classList.remove("attention");
    });
  }

  $("test").addEventListener("click", () =>
    busy($("test"), async () => {
      result("Testing…", true);
      try {
        const { url, email, apiKey } = formValues();
        result(await testConnection(url, email, apiKey), true);
      } catch (e) {
        result(String(e), false);
      }
    }),
  );

  $("settings").addEventListener("submit", (ev) => {
    ev.preventDefault();
    busy($("save"), async () => {
      try {
        const { url, email, apiKey } = formValues();
        const msg = await saveSettings(url, email, apiKey);
        $("api-key").value = "";
        dirty.clear();
        result(msg, true);
      } catch (e) {
        result(String(e), false);
      }
    });
  });

  /**
   * @param {string} id a checkbox
   * @param {(on: boolean) => Promise<null>} command
   */
  const toggle = (id, command) =>
    $(id).addEventListener("change", async () => {
      const on = $(id).checked;
      try {
        await command(on);
      } catch (e) {
        $(id).checked = !on;
        result(String(e), false);
      }
    });
  toggle("paused", setPaused);
  toggle("notifications", setNotifications);
  toggle("autostart", setAutostart);
  toggle("show-team", async (on) => {
    await setShowTeam(on);
    if (on) setTimeout(loadTeam, 0);
  });
}

/** The first overview: where the panel opens, and the team's 5-minute reading from then on. */
function opened(o) {
  render(o);
  if (!o.configured) showTab("settings");
  // The team: once now, then every 5 minutes while the panel stays open (the tray answers
  // from its last reading when that is younger, so reopening costs nothing either).
  setInterval(loadTeam, 5 * 60_000);
}

async function start() {
  wire();
  // The panel process hands over the tray's overview with the page (window.rs), so the first
  // paint shows the rep's XP; the round trip below only catches up with what changed since.
  const first = window.__REPXP_FIRST_OVERVIEW__;
  if (first) opened(first);
  await onOverviewChanged(render);
  try {
    const o = await getOverview();
    if (first) render(o);
    else opened(o);
  } catch (e) {
    $("state-text").textContent = "Error";
    result(String(e), false);
    showTab("settings");
  }
  setInterval(renderTimes, 30_000);
}

start();
