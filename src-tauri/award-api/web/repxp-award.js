// RepXP award client for web apps (the dialer, the academy): a plain ES module, no build step.
//
//   import { RepXP } from "./repxp-award.js";
//   const repxp = new RepXP();                       // http://127.0.0.1:47474, RepXP's default port
//   await repxp.pair({ onWaiting: () => show("Allow this page in RepXP") });
//   await repxp.award(50, { source: "dialer" });     // queued first, sent when RepXP answers
//   await repxp.handOver(oldItems);                  // the page's own earlier XP, once
//
// Every award is kept in this origin's localStorage until RepXP acknowledged it, under an id that
// makes a retry count once: a closed tab, a browser restart or RepXP not running loses nothing
// and counts nothing twice. The token RepXP gives this origin travels in a header, never in a URL.

const TOKEN_KEY = "repxp.token";
const OUTBOX_KEY = "repxp.outbox";
const HANDED_OVER_KEY = "repxp.handedOver";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class RepXPError extends Error {
  constructor(message, { status, state } = {}) {
    super(message);
    this.name = "RepXPError";
    this.status = status;
    this.state = state;
  }
}

export class RepXP {
  /**
   * @param {object} [options]
   * @param {string} [options.url] RepXP's award API (the port is in RepXP's award-api.json when
   *   the default one was taken).
   * @param {Storage} [options.storage] where the token and the queue live (localStorage).
   * @param {number} [options.maxBackoffMs] longest wait between two tries while RepXP is away.
   */
  constructor({ url = "http://127.0.0.1:47474", storage = globalThis.localStorage, maxBackoffMs = 30000 } = {}) {
    this.url = url.replace(/\/$/, "");
    this.storage = storage;
    this.maxBackoffMs = maxBackoffMs;
    this.flushing = null;
  }

  get paired() {
    return Boolean(this.storage.getItem(TOKEN_KEY));
  }

  /**
   * Asks RepXP to let this page award XP. The rep answers in RepXP (its tray, panel or
   * `repxp-cli web allow <origin>`); resolves once allowed, rejects with state "denied", "busy"
   * (another page is asking) or "timeout".
   */
  async pair({ onWaiting = () => {}, pollMs = 1000, timeoutMs = 10 * 60 * 1000 } = {}) {
    const asked = await this.#fetch("/v1/pair", { method: "POST" });
    const body = await asked.json().catch(() => ({}));
    if (asked.status !== 202) {
      throw new RepXPError(body.error || `pairing refused (${asked.status})`, { status: asked.status, state: body.state });
    }
    onWaiting(body);
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      await sleep(pollMs);
      const polled = await this.#fetch("/v1/pair", { headers: { "X-RepXP-Pairing": body.request } });
      const answer = await polled.json().catch(() => ({}));
      if (polled.status === 202) continue;
      if (polled.status === 200 && answer.token) {
        this.storage.setItem(TOKEN_KEY, answer.token);
        return;
      }
      throw new RepXPError(answer.error || "pairing refused", { status: polled.status, state: answer.state });
    }
    throw new RepXPError("the rep did not answer in time", { state: "timeout" });
  }

  /** Queues `amount` XP (a whole number) and sends the queue. Resolves with RepXP's answer for it. */
  async award(amount, { id = crypto.randomUUID(), source, at } = {}) {
    if (!Number.isInteger(amount) || amount <= 0) {
      throw new RepXPError(`${amount} is not a positive whole number of XP`);
    }
    this.#queue([{ kind: "xp", amount, id, ...(source ? { source } : {}), ...(at ? { at } : {}) }]);
    await this.flush();
    return { id };
  }

  /**
   * Hands XP the page kept itself before RepXP (e.g. the dialer's IndexedDB) to RepXP, once:
   * `items` are `{id, amount, at?, source?}`; each gets an id derived from its own, so handing the
   * same items over again (another tab, a lost flag) still counts each once.
   */
  async handOver(items) {
    if (this.storage.getItem(HANDED_OVER_KEY)) return { handedOver: 0 };
    const events = [];
    for (const item of items) {
      events.push({
        kind: "xp",
        amount: item.amount,
        id: await uuidFrom(`handover:${item.id}`),
        source: item.source || "handover",
        ...(item.at ? { at: item.at } : {}),
      });
    }
    this.#queue(events);
    this.storage.setItem(HANDED_OVER_KEY, new Date().toISOString());
    await this.flush();
    return { handedOver: events.length };
  }

  /** Awards still waiting for RepXP's acknowledgement. */
  pending() {
    return JSON.parse(this.storage.getItem(OUTBOX_KEY) || "[]");
  }

  /**
   * Sends the queue, oldest first, retrying with backoff while RepXP is not reachable. Rejects
   * if RepXP refuses this page (not paired, or revoked: pair again; the queue is kept).
   */
  flush() {
    this.flushing ??= this.#flush().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  async #flush() {
    let wait = 500;
    for (;;) {
      const [next] = this.pending();
      if (!next) return;
      const token = this.storage.getItem(TOKEN_KEY);
      if (!token) throw new RepXPError("not paired with RepXP: call pair() first", { state: "unpaired" });
      let r;
      try {
        r = await this.#fetch("/v1/awards", {
          method: "POST",
          headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
          body: JSON.stringify(next),
        });
      } catch {
        // RepXP is not running (or the browser blocked the call): the queue stays; try again.
        await sleep(wait);
        wait = Math.min(wait * 2, this.maxBackoffMs);
        continue;
      }
      if (r.status === 200 || r.status === 201) {
        this.#drop(next.id);
        wait = 500;
        continue;
      }
      const body = await r.json().catch(() => ({}));
      if (r.status === 403) {
        this.storage.removeItem(TOKEN_KEY);
        throw new RepXPError(body.error || "RepXP no longer accepts this page: pair again", { status: 403, state: "revoked" });
      }
      if (r.status >= 400 && r.status < 500 && r.status !== 429) {
        // RepXP will never take this one (a malformed event): drop it, keep the rest going.
        this.#drop(next.id);
        console.warn("RepXP refused an award:", body.error || r.status);
        continue;
      }
      await sleep(wait);
      wait = Math.min(wait * 2, this.maxBackoffMs);
    }
  }

  #queue(events) {
    const queued = this.pending();
    const known = new Set(queued.map((e) => e.id));
    this.storage.setItem(OUTBOX_KEY, JSON.stringify(queued.concat(events.filter((e) => !known.has(e.id)))));
  }

  #drop(id) {
    this.storage.setItem(OUTBOX_KEY, JSON.stringify(this.pending().filter((e) => e.id !== id)));
  }

  #fetch(path, init = {}) {
    // No credentials, no cache: the token header is the only authority.
    return fetch(`${this.url}${path}`, { ...init, credentials: "omit", cache: "no-store" });
  }
}

/** A UUID derived from `text` (SHA-256, shaped as a version-8 UUID): the same text, the same id. */
export async function uuidFrom(text) {
  const bytes = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))).slice(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x80;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
