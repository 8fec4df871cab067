// The live WebSocket: reconnects by itself with backoff and resumes after the last
// notification seen and the last inbox change applied (`/ws?token=...&since=<id>&seq=<n>`),
// so nothing is missed and nothing stays stale.

import { reconnectDelay } from "./backoff.js";
import { SessionExpired } from "./api.js";

const READY_TIMEOUT_MS = 10000; // a socket that never says "ready" is retried
const PING_EVERY_MS = 20000; // our own check that the line still carries frames
const PONG_TIMEOUT_MS = 10000;
const REAUTH_MARGIN_MS = 60000; // send a fresh token this long before the socket's expires
const REAUTH_RETRY_MS = 10000;

// When a JWT expires, in ms since the epoch (read, not verified: the server verifies).
export function tokenExpiry(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const exp = JSON.parse(atob(payload)).exp;
    return Number.isFinite(exp) ? exp * 1000 : null;
  } catch {
    return null;
  }
}

export class LiveConnection {
  #ws = null;
  #timer = null;
  #pingTimer = null;
  #pongDeadline = null;
  #reauthTimer = null;
  #attempt = 0;
  #stopped = true;
  #state = "signed-out";
  #skipResume = false;

  // lastSeenId(): the newest notification id the page holds, or null.
  // appliedThrough() (optional): the inbox change every earlier one of which the page
  // applied, or null.
  constructor(callbacks) {
    const { api, lastSeenId, appliedThrough, onFrame, onReady, onState, onSessionExpired } =
      callbacks;
    Object.assign(this, {
      api,
      lastSeenId,
      appliedThrough,
      onFrame,
      onReady,
      onState,
      onSessionExpired,
    });
    window.addEventListener("online", () => this.#reconnectNow());
  }

  get state() {
    return this.#state;
  }

  start() {
    this.#stopped = false;
    this.#attempt = 0;
    this.#connect({ fresh: true });
  }

  stop() {
    this.#stopped = true;
    this.#clearTimers();
    this.#drop();
    this.#setState("signed-out");
  }

  // Send a frame when live; false when it could not be sent.
  send(frame) {
    if (this.#ws?.readyState !== WebSocket.OPEN) return false;
    this.#ws.send(JSON.stringify(frame));
    return true;
  }

  async #connect({ fresh = false } = {}) {
    this.#timer = null;
    if (this.#stopped) return;
    this.#setState(fresh ? "connecting" : "reconnecting");
    if (!fresh) {
      // The token may have expired while we were away; the socket has no 401 to read.
      try {
        await this.api.refreshAccessToken();
      } catch (error) {
        if (error instanceof SessionExpired) return this.onSessionExpired?.(error);
        return this.#retry();
      }
      if (this.#stopped) return;
    }
    this.#open(this.#url());
  }

  #url() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const params = new URLSearchParams({ token: this.api.tokens.access ?? "" });
    const since = this.#skipResume ? null : this.lastSeenId();
    if (since) params.set("since", since);
    const seq = this.#skipResume ? null : (this.appliedThrough?.() ?? null);
    if (seq !== null) params.set("seq", String(seq));
    return `${scheme}//${location.host}/ws?${params}`;
  }

  #open(url) {
    const ws = new WebSocket(url);
    this.#ws = ws;
    let ready = false;
    const readyTimer = setTimeout(() => ws.close(), READY_TIMEOUT_MS);
    ws.addEventListener("message", (event) => {
      if (this.#ws !== ws) return;
      this.#pongDeadline = null;
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (frame.type === "ready" && !ready) {
        ready = true;
        clearTimeout(readyTimer);
        this.#becameReady(frame);
      } else if (frame.type === "auth.ok") {
        this.#scheduleReauth(frame.data?.expiresAt * 1000);
      } else if (frame.type === "error" && !ready) {
        // The resume point was refused (e.g. deleted): start afresh; the page
        // reloads its list on "ready", so nothing is lost.
        this.#skipResume = true;
        ws.close();
      } else {
        this.onFrame(frame);
      }
    });
    ws.addEventListener("close", () => {
      clearTimeout(readyTimer);
      if (this.#ws !== ws) return;
      this.#ws = null;
      this.#stopPinging();
      clearTimeout(this.#reauthTimer);
      if (!this.#stopped) this.#retry();
    });
  }

  #becameReady(frame) {
    this.#attempt = 0;
    this.#skipResume = false;
    this.#setState("live");
    this.#startPinging();
    this.#scheduleReauth(tokenExpiry(this.api.tokens.access ?? ""));
    this.onReady(frame);
  }

  // The server closes a socket whose token expires (1008) unless it was given a
  // fresh one over the socket: do that shortly before, and no reconnect is needed.
  #scheduleReauth(expiry) {
    clearTimeout(this.#reauthTimer);
    if (!Number.isFinite(expiry)) return;
    const left = expiry - Date.now();
    const delay = Math.max(1000, left - Math.min(REAUTH_MARGIN_MS, left / 3));
    this.#reauthTimer = setTimeout(() => this.#reauthenticate(), delay);
  }

  async #reauthenticate() {
    try {
      await this.api.refreshAccessToken();
    } catch (error) {
      if (error instanceof SessionExpired) return this.onSessionExpired?.(error);
      this.#reauthTimer = setTimeout(() => this.#reauthenticate(), REAUTH_RETRY_MS);
      return;
    }
    this.send({ type: "auth", token: this.api.tokens.access });
  }

  #retry() {
    if (this.#stopped || this.#timer) return;
    const delay = reconnectDelay(this.#attempt++);
    this.#setState("reconnecting");
    this.#timer = setTimeout(() => this.#connect(), delay);
  }

  #reconnectNow() {
    if (this.#stopped || this.#state !== "reconnecting" || !this.#timer) return;
    clearTimeout(this.#timer);
    this.#connect();
  }

  #startPinging() {
    this.#stopPinging();
    this.#pingTimer = setInterval(() => {
      if (this.#pongDeadline && Date.now() > this.#pongDeadline) {
        this.#ws?.close(); // silent line: reconnect
        return;
      }
      if (this.send({ type: "ping" })) this.#pongDeadline ??= Date.now() + PONG_TIMEOUT_MS;
    }, PING_EVERY_MS);
  }

  #stopPinging() {
    clearInterval(this.#pingTimer);
    this.#pingTimer = null;
    this.#pongDeadline = null;
  }

  #clearTimers() {
    clearTimeout(this.#timer);
    clearTimeout(this.#reauthTimer);
    this.#timer = null;
    this.#stopPinging();
  }

  #drop() {
    const ws = this.#ws;
    this.#ws = null;
    ws?.close();
  }

  #setState(state) {
    if (state === this.#state) return;
    this.#state = state;
    this.onState(state);
  }
}
