// Direct messages: the list of conversations, the open one's history (older pages load
// as it scrolls up), the composer, the other one's typing indicator and read ticks.

import { element } from "./dom.js";

const TYPING_SHOWN_MS = 3000; // a typing indicator fades unless sent again
const TYPING_SEND_EVERY_MS = 1000; // the server passes on one a second anyway
const PAGE = 30;

const TIME_FORMAT = new Intl.DateTimeFormat(undefined, { timeStyle: "short" });

export class Conversations {
  #me = null;
  #conversations = new Map(); // other user's id -> { user, lastMessage, unreadCount, node }
  #open = null; // { user, messages: Map(id -> { message, node }), hasOlder, readUpTo }
  #newestId = null; // of every message seen, for the socket's `since`
  #typingTimer = null;
  #typingSentAt = 0;
  #loadingOlder = false;

  // api: HeraldApi; send(frame): over the socket; nodes: the pane's elements.
  constructor({ api, send, nodes }) {
    Object.assign(this, { api, send, nodes });
    nodes.history.addEventListener("scroll", () => {
      if (nodes.history.scrollTop < 40) this.#loadOlder();
    });
    nodes.composer.addEventListener("input", () => this.#typed());
  }

  get newestId() {
    return this.#newestId;
  }

  signedIn(me) {
    this.#me = me;
  }

  clear() {
    this.#conversations.clear();
    this.#open = null;
    this.#newestId = null;
    this.nodes.list.replaceChildren();
    this.nodes.empty.hidden = false;
    this.nodes.view.hidden = true;
  }

  async load() {
    const page = await this.api.conversations();
    for (const item of [...page.items].reverse()) this.#putConversation(item);
    for (const item of page.items) this.#seen(item.lastMessage?.id);
  }

  // Open the conversation with `user` ({id, username}): its newest page, then live.
  async open(user) {
    this.#open = { user, messages: new Map(), hasOlder: false, readUpTo: null };
    const { history, title, view, typing } = this.nodes;
    title.textContent = user.username;
    typing.textContent = "";
    history.replaceChildren();
    view.hidden = false;
    this.#highlight();
    const page = await this.api.messages(user.id, { limit: PAGE });
    if (this.#open?.user.id !== user.id) return;
    this.#open.hasOlder = page.meta.hasOlder;
    for (const message of page.items) this.#append(message);
    this.#scrollToEnd();
    this.#markRead();
    this.nodes.composer.focus();
  }

  async sendComposed() {
    const text = this.nodes.composer.value;
    if (!this.#open || !text.trim()) return;
    const message = await this.api.sendMessage(this.#open.user.id, text);
    this.nodes.composer.value = "";
    this.#received(message); // the socket brings it too; once is kept
  }

  // A `message`, `message.read` or `typing` frame.
  applyFrame(frame) {
    if (frame.type === "message") this.#received(frame.data);
    else if (frame.type === "message.read") this.#receipt(frame.data);
    else if (frame.type === "typing") this.#typing(frame.data);
  }

  #received(message) {
    this.#seen(message.id);
    const otherId = message.senderId === this.#me?.id ? message.recipientId : message.senderId;
    const known = this.#conversations.get(otherId);
    const incoming = message.recipientId === this.#me?.id;
    const open = this.#open?.user.id === otherId;
    const isNew = !(open && this.#open.messages.has(message.id));
    if (open && isNew) {
      this.#append(message);
      this.#scrollToEnd();
      if (incoming) {
        this.nodes.typing.textContent = "";
        this.#markRead();
      }
    }
    if (known?.lastMessage?.id >= message.id) return; // already the list's newest
    const unread = (known?.unreadCount ?? 0) + (incoming && !open && isNew ? 1 : 0);
    this.#putConversation({
      user: known?.user ?? { id: otherId, username: this.#usernameFor(otherId) },
      lastMessage: message,
      unreadCount: unread,
    });
    if (!known) this.load().catch(() => {}); // the other's name, from the server
  }

  #receipt({ readerId, senderId, upTo }) {
    if (!upTo) return;
    if (readerId === this.#me?.id) {
      // Read on another tab or device: the list's count follows.
      this.load().catch(() => {});
      return;
    }
    if (this.#open?.user.id !== readerId) return;
    if (this.#open.readUpTo && this.#open.readUpTo >= upTo) return; // receipts only move on
    this.#open.readUpTo = upTo;
    for (const [id, item] of this.#open.messages) {
      if (id <= upTo && item.message.senderId === senderId) this.#paintTick(item, true);
    }
  }

  #typing({ from }) {
    if (this.#open?.user.id !== from) return;
    this.nodes.typing.textContent = `${this.#open.user.username} is typing…`;
    clearTimeout(this.#typingTimer);
    this.#typingTimer = setTimeout(() => {
      this.nodes.typing.textContent = "";
    }, TYPING_SHOWN_MS);
  }

  #typed() {
    if (!this.#open || Date.now() - this.#typingSentAt < TYPING_SEND_EVERY_MS) return;
    this.#typingSentAt = Date.now();
    this.send({ type: "typing", to: this.#open.user.id });
  }

  async #loadOlder() {
    const open = this.#open;
    if (!open?.hasOlder || this.#loadingOlder) return;
    const oldest = [...open.messages.keys()].sort()[0];
    this.#loadingOlder = true;
    try {
      const page = await this.api.messages(open.user.id, { limit: PAGE, before: oldest });
      if (this.#open !== open) return;
      const history = this.nodes.history;
      const fromBottom = history.scrollHeight - history.scrollTop;
      for (const message of [...page.items].reverse()) this.#append(message, { older: true });
      open.hasOlder = page.meta.hasOlder;
      history.scrollTop = history.scrollHeight - fromBottom; // stay where the reader was
    } finally {
      this.#loadingOlder = false;
    }
  }

  async #markRead() {
    const open = this.#open;
    const newestIncoming = [...open.messages.values()]
      .filter(({ message }) => message.recipientId === this.#me?.id)
      .map(({ message }) => message.id)
      .sort()
      .at(-1);
    const known = this.#conversations.get(open.user.id);
    if (known) this.#putConversation({ ...known, unreadCount: 0 });
    if (!newestIncoming) return;
    await this.api.markConversationRead(open.user.id, newestIncoming).catch(() => {});
  }

  #append(message, { older = false } = {}) {
    const open = this.#open;
    if (open.messages.has(message.id)) return;
    const mine = message.senderId === this.#me?.id;
    const node = element("li", `message ${mine ? "mine" : "theirs"}`);
    node.dataset.id = message.id;
    node.append(element("p", "message-text", message.text));
    const meta = element("p", "message-meta");
    const created = new Date(message.createdAt);
    if (!Number.isNaN(created.getTime())) meta.append(TIME_FORMAT.format(created));
    node.append(meta);
    const item = { message, node };
    open.messages.set(message.id, item);
    if (mine) {
      meta.append(element("span", "message-tick"));
      const read = message.readAt || (open.readUpTo && message.id <= open.readUpTo);
      this.#paintTick(item, Boolean(read));
    }
    const list = this.nodes.history;
    const after = older
      ? list.firstElementChild
      : [...list.children].find((child) => child.dataset.id > message.id) ?? null;
    list.insertBefore(node, after);
  }

  #paintTick(item, read) {
    const tick = item.node.querySelector(".message-tick");
    tick.textContent = read ? " ✓✓ Read" : " ✓ Sent";
    item.node.dataset.read = String(read);
  }

  #putConversation({ user, lastMessage, unreadCount }) {
    const known = this.#conversations.get(user.id);
    const node = known?.node ?? element("li", "conversation");
    node.dataset.userId = user.id;
    const button = element("button", "conversation-open button-quiet");
    button.type = "button";
    button.append(element("span", "conversation-name", user.username));
    if (unreadCount) button.append(element("span", "badge", String(unreadCount)));
    button.append(element("span", "conversation-last", lastMessage?.text ?? ""));
    button.addEventListener("click", () => this.open(user));
    node.replaceChildren(button);
    node.dataset.unread = String(unreadCount);
    this.#conversations.set(user.id, { user, lastMessage, unreadCount, node });
    // Newest activity first.
    const after = [...this.nodes.list.children].find((child) => {
      const other = this.#conversations.get(child.dataset.userId);
      return child !== node && (other?.lastMessage?.id ?? "") < (lastMessage?.id ?? "");
    });
    this.nodes.list.insertBefore(node, after ?? null);
    this.nodes.empty.hidden = true;
    this.#highlight();
  }

  #highlight() {
    for (const [id, { node }] of this.#conversations) {
      node.classList.toggle("current", this.#open?.user.id === id);
    }
  }

  #usernameFor(id) {
    return this.#conversations.get(id)?.user.username ?? "…";
  }

  #seen(id) {
    if (id && (!this.#newestId || id > this.#newestId)) this.#newestId = id;
  }

  #scrollToEnd() {
    this.nodes.history.scrollTop = this.nodes.history.scrollHeight;
  }
}
