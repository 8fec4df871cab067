// The notification list (newest first, one element per id) and the unread badge.

import { element } from "./dom.js";

const TIME_FORMAT = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

function parseTime(value) {
  if (!value) return null;
  const hasZone = /(?:Z|[+-]\d\d:?\d\d)$/.test(value);
  const date = new Date(hasZone ? value : `${value}Z`);
  return Number.isNaN(date.getTime()) ? null : date;
}

const RESYNC_AFTER_MS = 500;

export class Inbox {
  #items = new Map(); // id -> { notification, node }
  #newestId = null;
  // While the page holds every notification of the user, the badge counts the unread
  // ones it holds: exact, whatever order frames and REST answers come in. Otherwise it
  // shows the server's count, moved by local changes and re-read shortly after them.
  #complete = false;
  #serverUnread = 0;
  #localChanges = 0; // bumped by every local change, so a stale server count is not applied
  #resyncTimer = null;

  // senderName(id): a display name for a sender id, or null when unknown.
  // fetchUnread(): the server's unread count.
  constructor({ list, empty, badge, announcer, onMarkRead, senderName, fetchUnread }) {
    Object.assign(this, { list, empty, badge, announcer, onMarkRead, senderName, fetchUnread });
  }

  get newestId() {
    return this.#newestId;
  }

  clear() {
    clearTimeout(this.#resyncTimer);
    this.#items.clear();
    this.#newestId = null;
    this.#complete = false;
    this.#serverUnread = 0;
    this.#localChanges++;
    this.list.replaceChildren();
    this.empty.hidden = false;
    this.#paintBadge();
  }

  // Add or update one notification; `live` ones (socket, own actions) move the badge.
  // Returns true when it was new to the page.
  put(notification, { live = false } = {}) {
    const known = this.#items.get(notification.id);
    if (known) {
      this.#update(known, notification, live);
      return false;
    }
    const node = this.#render(notification);
    this.#items.set(notification.id, { notification, node });
    this.#insert(node, notification.id);
    if (!this.#newestId || notification.id > this.#newestId) this.#newestId = notification.id;
    this.empty.hidden = true;
    if (live && !notification.read) {
      this.#changeUnread(+1);
      node.classList.add("arrived");
      this.announcer.textContent = `New notification: ${notification.message}`;
    }
    this.#paintBadge();
    return true;
  }

  // After a page from REST was put: `total` is how many notifications the user has.
  loaded(total) {
    this.#complete = total <= this.#items.size;
    this.#paintBadge();
  }

  markAllRead() {
    for (const item of this.#items.values()) {
      if (!item.notification.read) this.#update(item, { ...item.notification, read: true }, false);
    }
    this.#localChanges++;
    this.#serverUnread = 0;
    this.#paintBadge();
  }

  // Take the server's count, unless the page changed it meanwhile (then ask again).
  async syncUnread() {
    for (let tries = 0; tries < 3 && !this.#complete; tries++) {
      const before = this.#localChanges;
      const count = await this.fetchUnread();
      if (before === this.#localChanges) {
        this.#serverUnread = count;
        break;
      }
    }
    this.#paintBadge();
  }

  #update(item, notification, live) {
    const wasRead = item.notification.read;
    item.notification = notification;
    if (wasRead === notification.read) return;
    if (live) this.#changeUnread(notification.read ? -1 : +1);
    this.#paintReadState(item.node, notification);
    this.#paintBadge();
  }

  #insert(node, id) {
    // Ids are time-ordered (UUIDv7), the order the server's `since` uses too.
    const after = [...this.list.children].find((child) => child.dataset.id < id);
    this.list.insertBefore(node, after ?? null);
  }

  #render(notification) {
    const node = element("li", "notification");
    node.dataset.id = notification.id;
    node.tabIndex = -1;
    node.append(
      element("p", "notification-message", notification.message),
      this.#meta(notification),
      element("div", "notification-action"),
    );
    this.#paintReadState(node, notification);
    return node;
  }

  #meta(notification) {
    const meta = element("p", "notification-meta");
    const created = parseTime(notification.createdAt);
    if (created) {
      const time = element("time", null, TIME_FORMAT.format(created));
      time.dateTime = created.toISOString();
      meta.append(time);
    }
    const sender = this.senderName(notification.senderId);
    const parts = [sender && `from ${sender}`, notification.type].filter(Boolean);
    if (parts.length) meta.append(` · ${parts.join(" · ")}`);
    return meta;
  }

  #paintReadState(node, notification) {
    node.classList.toggle("unread", !notification.read);
    node.dataset.read = String(notification.read);
    const action = node.querySelector(".notification-action");
    if (notification.read) {
      const hadFocus = action.contains(document.activeElement);
      action.replaceChildren(element("span", "notification-state", "Read"));
      if (hadFocus) node.focus(); // keep keyboard users where they were
      return;
    }
    const button = element("button", "mark-read button-quiet", "Mark read");
    button.type = "button";
    button.append(element("span", "visually-hidden", `: ${notification.message.slice(0, 80)}`));
    button.addEventListener("click", () => {
      button.disabled = true;
      this.onMarkRead(notification.id).finally(() => {
        button.disabled = false;
      });
    });
    action.replaceChildren(button);
  }

  #changeUnread(delta) {
    this.#localChanges++;
    this.#serverUnread = Math.max(0, this.#serverUnread + delta);
    if (this.#complete) return;
    // A count read just before this change may not have included it, or may have:
    // ask again once things are quiet.
    clearTimeout(this.#resyncTimer);
    this.#resyncTimer = setTimeout(() => this.syncUnread().catch(() => {}), RESYNC_AFTER_MS);
  }

  #paintBadge() {
    let unread = this.#serverUnread;
    if (this.#complete) {
      unread = 0;
      for (const { notification } of this.#items.values()) unread += notification.read ? 0 : 1;
    }
    this.badge.textContent = String(unread);
    this.badge.dataset.count = String(unread);
    document.title = unread ? `(${unread}) Herald` : "Herald";
  }
}
