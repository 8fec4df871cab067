// Who is online: a REST snapshot after each (re)connect and every 15 s, kept current
// between snapshots by the socket's `presence` frames.

import { element } from "./dom.js";

export class PresenceList {
  #users = new Map(); // id -> { id, username, connected, changedAt, node }
  #selfId = null;

  // decorate(user, node) (optional): adds the page's controls to another user's entry.
  constructor({ list, empty, decorate }) {
    Object.assign(this, { list, empty, decorate });
  }

  setSelf(user) {
    this.#selfId = user.id;
    this.#set(user.id, user.username, false, 0);
    this.#render();
  }

  // Our own dot follows our socket, which is what "online" means to the others.
  setSelfConnected(connected) {
    const self = this.#users.get(this.#selfId);
    if (!self || self.connected === connected) return;
    self.connected = connected;
    this.#render();
  }

  clear() {
    this.#users.clear();
    this.#selfId = null;
    this.#render();
  }

  usernameOf(id) {
    return this.#users.get(id)?.username ?? null;
  }

  // A `presence` frame: the newest word on one user.
  applyFrame({ userId, username, connected }) {
    if (!userId) return;
    this.#set(userId, username, Boolean(connected), performance.now());
    this.#render();
  }

  // The online users as of `requestedAt` (performance.now() when the request left);
  // a frame that came in after that moment wins over the snapshot.
  applySnapshot(items, requestedAt) {
    const online = new Set(items.map((item) => item.id));
    for (const item of items) {
      if (!this.#newerThan(item.id, requestedAt)) this.#set(item.id, item.username, true, requestedAt);
    }
    for (const user of this.#users.values()) {
      if (!online.has(user.id) && !this.#newerThan(user.id, requestedAt)) {
        const selfStays = user.id === this.#selfId && user.connected;
        this.#set(user.id, user.username, selfStays, requestedAt);
      }
    }
    this.#render();
  }

  #newerThan(id, moment) {
    return (this.#users.get(id)?.changedAt ?? -1) > moment;
  }

  #set(id, username, connected, changedAt) {
    const user = this.#users.get(id) ?? { id, node: null };
    Object.assign(user, { username: username ?? user.username ?? id, connected, changedAt });
    this.#users.set(id, user);
  }

  #render() {
    const users = [...this.#users.values()].sort(
      (a, b) => Number(b.connected) - Number(a.connected) || a.username.localeCompare(b.username),
    );
    this.list.replaceChildren(...users.map((user) => this.#paint(user)));
    this.empty.hidden = users.some((user) => user.connected && user.id !== this.#selfId);
  }

  #paint(user) {
    user.node ??= this.#node(user);
    const { node } = user;
    node.dataset.connected = String(user.connected);
    node.querySelector(".presence-name").textContent =
      user.id === this.#selfId ? `${user.username} (you)` : user.username;
    node.querySelector(".presence-state").textContent = user.connected ? "online" : "offline";
    return node;
  }

  #node(user) {
    const node = element("li", "presence-user");
    node.dataset.userId = user.id;
    const dot = element("span", "presence-dot");
    dot.setAttribute("aria-hidden", "true");
    node.append(dot, element("span", "presence-name"), element("span", "presence-state"));
    if (user.id !== this.#selfId) this.decorate?.(user, node);
    return node;
  }
}
