// The notification list (newest first, one element per id) and the unread badge, kept
// the same on every tab and device of the user by the socket's inbox frames.
//
// Changes made on several devices can arrive out of order, so each carries the number
// the server gave it (`inbox.seq`) and the state after it. The rules (those of
// app/realtime/protocol.py, and of tests/support/inbox_mirror.py):
// - a change applies to a notification only if its seq is above the last applied to it;
// - the unread count is taken only from a higher seq than the one it came from;
// - a deleted notification never comes back;
// - a new notification adds one to the count unless the count already looked at it
//   (`countedThrough`).
// Answers to this page's own requests (and REST pages) carry no seq: they apply to a
// notification only if no change reached it while the request was on its way.

import { element } from "./dom.js";

const TIME_FORMAT = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

function parseTime(value) {
  if (!value) return null;
  const hasZone = /(?:Z|[+-]\d\d:?\d\d)$/.test(value);
  const date = new Date(hasZone ? value : `${value}Z`);
  return Number.isNaN(date.getTime()) ? null : date;
}

export class Inbox {
  #items = new Map(); // id -> { notification, node }
  #seqOf = new Map(); // id -> seq of the last change applied to it
  #touched = new Map(); // id -> #clock when a change was last applied to it
  #clock = 0;
  #deleted = new Set();
  #newestId = null;
  #unread = null; // the server's count, kept by the rules above; null before the first
  #countSeq = -1;
  #countedThrough = null;
  #resumedAt = null; // seq of the last `ready`: every change up to it is applied
  #seqsSeen = new Set();

  // onMarkRead(id), onDelete(id): the page's actions; senderName(id): a display name or null.
  constructor({ list, empty, badge, announcer, onMarkRead, onDelete, senderName }) {
    Object.assign(this, { list, empty, badge, announcer, onMarkRead, onDelete, senderName });
  }

  get newestId() {
    return this.#newestId;
  }

  // The seq to resume from (`/ws?seq=`): every change up to it is applied here.
  get appliedThrough() {
    if (this.#resumedAt === null) return null;
    let seq = this.#resumedAt;
    while (this.#seqsSeen.has(seq + 1)) seq++;
    return seq;
  }

  // A token for `put` and `markAllRead`: "what this page knew when the request left".
  mark() {
    return this.#clock;
  }

  clear() {
    for (const map of [this.#items, this.#seqOf, this.#touched]) map.clear();
    this.#deleted.clear();
    this.#seqsSeen.clear();
    this.#newestId = null;
    this.#unread = null;
    this.#countSeq = -1;
    this.#countedThrough = null;
    this.#resumedAt = null;
    this.list.replaceChildren();
    this.empty.hidden = false;
    this.#paintBadge();
  }

  // A notification from a REST page, or the answer to this page's own change (`own`),
  // read after `mark()` returned `since`. Only an own change moves the count: a page
  // read from REST is already in the count the socket gave.
  put(notification, { since = this.#clock, own = false } = {}) {
    if (this.#deleted.has(notification.id)) return;
    if ((this.#touched.get(notification.id) ?? -1) > since) return; // a change is newer
    const known = this.#items.get(notification.id);
    if (known) {
      if (own && this.#unread !== null && known.notification.read !== notification.read) {
        this.#unread = Math.max(0, this.#unread + (notification.read ? -1 : 1));
      }
      this.#replace(known, notification);
    } else {
      this.#add(notification);
    }
    this.#paintBadge();
  }

  // A `notification` frame: new, live.
  arrived(notification) {
    if (this.#deleted.has(notification.id) || this.#items.has(notification.id)) return;
    this.#add(notification);
    const counted = this.#countedThrough !== null && notification.id <= this.#countedThrough;
    if (this.#unread !== null && !notification.read && !counted) this.#unread++;
    const node = this.#items.get(notification.id).node;
    node.classList.add("arrived");
    this.announcer.textContent = `New notification: ${notification.message}`;
    this.#paintBadge();
  }

  // `ready`: the count now, and where a later resume starts from.
  ready({ inbox }) {
    this.#resumedAt = inbox.seq;
    for (const seq of this.#seqsSeen) if (seq <= inbox.seq) this.#seqsSeen.delete(seq);
    this.#takeCount(inbox, { force: true });
    this.#paintBadge();
  }

  // A `notification.updated`, `notification.deleted` or `notifications.read_all` frame.
  applyChange(frame) {
    const seq = frame.inbox.seq;
    if (frame.type === "notification.updated") {
      this.#change(frame.data.id, seq, () => {
        const known = this.#items.get(frame.data.id);
        if (known) this.#replace(known, frame.data);
        else this.#add(frame.data);
      });
    } else if (frame.type === "notification.deleted") {
      this.#change(frame.id, seq, () => this.#remove(frame.id));
    } else if (frame.type === "notifications.read_all") {
      const stillUnread = new Set(frame.stillUnread);
      for (const [id, item] of this.#items) {
        if (id > frame.upTo) continue;
        this.#change(id, seq, () => {
          const read = !stillUnread.has(id);
          if (item.notification.read !== read) {
            this.#replace(item, { ...item.notification, read });
          }
        });
      }
    }
    this.#takeCount(frame.inbox);
    this.#paintBadge();
  }

  // This page deleted one: final, whatever else arrives.
  removed(id) {
    if (this.#unread !== null && this.#items.get(id)?.notification.read === false) this.#unread--;
    this.#remove(id);
    this.#paintBadge();
  }

  // This page read everything up to `upTo`: those no change reached since `since`.
  markAllRead(upTo, { since }) {
    for (const [id, item] of this.#items) {
      if (id > upTo || item.notification.read) continue;
      if ((this.#touched.get(id) ?? -1) > since) continue;
      this.#replace(item, { ...item.notification, read: true });
      if (this.#unread !== null) this.#unread = Math.max(0, this.#unread - 1);
    }
    this.#paintBadge();
  }

  #change(id, seq, apply) {
    if (this.#deleted.has(id) || (this.#seqOf.get(id) ?? 0) >= seq) return;
    this.#seqOf.set(id, seq);
    this.#touched.set(id, ++this.#clock);
    apply();
  }

  #takeCount(inbox, { force = false } = {}) {
    this.#seqsSeen.add(inbox.seq);
    if (!force && inbox.seq <= this.#countSeq) return;
    this.#countSeq = inbox.seq;
    this.#unread = inbox.unreadCount;
    this.#countedThrough = inbox.countedThrough;
  }

  #add(notification) {
    const node = this.#render(notification);
    this.#items.set(notification.id, { notification, node });
    this.#insert(node, notification.id);
    if (!this.#newestId || notification.id > this.#newestId) this.#newestId = notification.id;
    this.empty.hidden = true;
  }

  #replace(item, notification) {
    const edited = item.notification.message !== notification.message;
    item.notification = notification;
    const node = this.#render(notification);
    const hadFocus = item.node.contains(document.activeElement);
    item.node.replaceWith(node);
    item.node = node;
    if (hadFocus) node.focus(); // keep keyboard users where they were
    if (edited) this.announcer.textContent = `Notification edited: ${notification.message}`;
  }

  #remove(id) {
    this.#deleted.add(id);
    const item = this.#items.get(id);
    if (!item) return;
    const hadFocus = item.node.contains(document.activeElement);
    const next = item.node.nextElementSibling ?? item.node.previousElementSibling;
    item.node.remove();
    this.#items.delete(id);
    if (hadFocus) (next ?? this.list).focus?.(); // keep keyboard users near where they were
    this.empty.hidden = this.#items.size > 0;
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
    const edited = notification.editedAt && "edited";
    const parts = [sender && `from ${sender}`, notification.type, edited].filter(Boolean);
    if (parts.length) meta.append(` · ${parts.join(" · ")}`);
    if (edited) meta.dataset.edited = "true";
    return meta;
  }

  #paintReadState(node, notification) {
    node.classList.toggle("unread", !notification.read);
    node.dataset.read = String(notification.read);
    const action = node.querySelector(".notification-action");
    const label = `: ${notification.message.slice(0, 80)}`;
    const controls = [];
    if (notification.read) {
      controls.push(element("span", "notification-state", "Read"));
    } else {
      controls.push(this.#button("mark-read", "Mark read", label, this.onMarkRead, notification));
    }
    controls.push(this.#button("delete", "Delete", label, this.onDelete, notification));
    action.replaceChildren(...controls);
  }

  #button(className, text, label, action, notification) {
    const button = element("button", `${className} button-quiet`, text);
    button.type = "button";
    button.append(element("span", "visually-hidden", label));
    button.addEventListener("click", () => {
      button.disabled = true;
      action(notification.id).finally(() => {
        button.disabled = false;
      });
    });
    return button;
  }

  #paintBadge() {
    let unread = this.#unread;
    if (unread === null) {
      // Before the socket's first count: what the page holds.
      unread = 0;
      for (const { notification } of this.#items.values()) unread += notification.read ? 0 : 1;
    }
    this.badge.textContent = String(unread);
    this.badge.dataset.count = String(unread);
    document.title = unread ? `(${unread}) Herald` : "Herald";
  }
}
