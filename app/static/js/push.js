// "Notify me on this device": Web Push through the service worker at /sw.js, offered where
// the browser has it. Turning it on asks for the notifications permission, subscribes with
// Herald's VAPID key and stores the subscription; turning it off (or signing out) deletes
// it on both sides, so the next person signing in here gets none of these pushes.

import { byId, showMessage } from "./dom.js";

const WORKER_URL = "/sw.js";
const BLOCKED = "Notifications are blocked for Herald in this browser's settings.";

export function pushSupported() {
  return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
}

// The applicationServerKey as pushManager.subscribe takes it: base64url to bytes.
function keyBytes(base64url) {
  const base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

export class PushToggle {
  #api;
  #subscriptionId = null; // the server's id of this browser's subscription, when it is ours

  constructor({ api }) {
    this.#api = api;
    byId("push-toggle").addEventListener("click", () => this.toggle());
  }

  // Show the switch where the browser and the server both can push, in its current state.
  async signedIn() {
    this.#subscriptionId = null;
    if (!pushSupported()) return this.#show(false);
    try {
      await this.#api.call("GET", "/api/push/vapid-public-key");
    } catch {
      return this.#show(false); // push is off on this server
    }
    const subscription = await this.#browserSubscription();
    if (subscription) this.#subscriptionId = await this.#storedIdOf(subscription.endpoint);
    this.#show(true);
    if (Notification.permission === "denied") {
      showMessage(byId("push-status"), BLOCKED, { error: true });
    }
  }

  clear() {
    this.#show(false);
    showMessage(byId("push-status"), "");
  }

  // Signing out: this browser stops getting the user's pushes. Starts the DELETE at once,
  // while the access token is still there.
  forget() {
    const id = this.#subscriptionId;
    this.#subscriptionId = null;
    if (!id) return;
    this.#api.call("DELETE", `/api/push-subscriptions/${id}`).catch(() => {});
    this.#browserSubscription()
      .then((subscription) => subscription?.unsubscribe())
      .catch(() => {});
  }

  async toggle() {
    const button = byId("push-toggle");
    button.disabled = true;
    try {
      if (this.#subscriptionId) await this.#turnOff();
      else await this.#turnOn();
    } catch (error) {
      showMessage(byId("push-status"), `Not changed: ${error.message}`, { error: true });
    } finally {
      button.disabled = false;
      this.#show(true);
    }
  }

  async #turnOn() {
    const status = byId("push-status");
    if ((await Notification.requestPermission()) !== "granted") {
      showMessage(status, BLOCKED, { error: true });
      return;
    }
    await navigator.serviceWorker.register(WORKER_URL);
    const registration = await navigator.serviceWorker.ready;
    const { publicKey } = await this.#api.call("GET", "/api/push/vapid-public-key");
    const subscription = await registration.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: keyBytes(publicKey),
    });
    const stored = await this.#api.call("POST", "/api/push-subscriptions", subscription.toJSON());
    this.#subscriptionId = stored.id;
    showMessage(status, "This device will be notified while Herald is closed.");
  }

  async #turnOff() {
    await this.#api.call("DELETE", `/api/push-subscriptions/${this.#subscriptionId}`);
    this.#subscriptionId = null;
    await (await this.#browserSubscription())?.unsubscribe();
    showMessage(byId("push-status"), "This device will not be notified.");
  }

  async #browserSubscription() {
    const registration = await navigator.serviceWorker.getRegistration(WORKER_URL);
    return (await registration?.pushManager.getSubscription()) ?? null;
  }

  // The browser may hold a subscription another user of it made: only one of ours counts.
  async #storedIdOf(endpoint) {
    const { items } = await this.#api.call("GET", "/api/push-subscriptions");
    return items.find((item) => item.endpoint === endpoint)?.id ?? null;
  }

  #show(available) {
    byId("push-panel").hidden = !available;
    const button = byId("push-toggle");
    button.textContent = this.#subscriptionId
      ? "Stop notifying this device"
      : "Notify me on this device";
    button.setAttribute("aria-pressed", String(Boolean(this.#subscriptionId)));
  }
}
