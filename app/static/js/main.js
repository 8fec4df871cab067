// Herald's browser client: sign in, the live notification list, notify a user, who is online,
// and one's own profile.

import { HeraldApi } from "./api.js";
import { LiveConnection } from "./connection.js";
import { Conversations } from "./conversations.js";
import { byId, showMessage } from "./dom.js";
import { Inbox } from "./inbox.js";
import { PreferencesPanel } from "./preferences.js";
import { PresenceList } from "./presence.js";
import { ProfilePanel } from "./profile.js";
import { PushToggle } from "./push.js";
import { TokenStore } from "./session.js";
import { Social } from "./social.js";

const PRESENCE_REFRESH_MS = 15000; // fallback: a crashed instance sends no offline frame
const CONNECTION_TEXT = {
  "signed-out": "Signed out",
  connecting: "Connecting…",
  live: "Connected",
  reconnecting: "Reconnecting…",
};

const tokens = new TokenStore();
const api = new HeraldApi(tokens, { onSessionExpired: () => sessionExpired() });
const social = new Social({ api, nodes: { feed: byId("feed"), topics: byId("topic-list") } });
const presence = new PresenceList({
  list: byId("presence-list"),
  empty: byId("presence-empty"),
  decorate: (user, node) => social.decorate(user, node),
});
const inbox = new Inbox({
  list: byId("notification-list"),
  empty: byId("inbox-empty"),
  badge: byId("unread-badge"),
  announcer: byId("announcer"),
  onMarkRead: markRead,
  onDelete: deleteNotification,
  senderName: (id) => presence.usernameOf(id),
});
const conversations = new Conversations({
  api,
  send: (frame) => connection.send(frame),
  nodes: {
    list: byId("conversation-list"),
    empty: byId("conversations-empty"),
    view: byId("conversation-view"),
    title: byId("conversation-title"),
    history: byId("message-history"),
    typing: byId("typing-indicator"),
    composer: byId("composer"),
  },
});
const profile = new ProfilePanel({
  api,
  onDeleted: () => leave("Your account was deleted.", { error: false }),
});
const push = new PushToggle({ api });
const preferences = new PreferencesPanel({ api });
const connection = new LiveConnection({
  api,
  // Notifications and messages share one id order: resume after the newest of either.
  lastSeenId: () => [inbox.newestId, conversations.newestId].filter(Boolean).sort().at(-1),
  appliedThrough: () => inbox.appliedThrough,
  onFrame: handleFrame,
  onReady: connectionReady,
  onState: showConnectionState,
  onSessionExpired: () => sessionExpired(),
});
let presenceTimer = null;
let signedIn = false;
let lastSent = null; // the notification this page sent last, which its sender may edit

const CONVERSATION_FRAMES = new Set(["message", "message.read", "typing"]);
const INBOX_CHANGES = new Set([
  "notification.updated",
  "notification.deleted",
  "notifications.read_all",
]);

function handleFrame(frame) {
  if (frame.type === "notification") {
    inbox.arrived(frame.data);
    social.notified(frame.data);
  } else if (INBOX_CHANGES.has(frame.type)) {
    inbox.applyChange(frame);
  } else if (CONVERSATION_FRAMES.has(frame.type)) {
    conversations.applyFrame(frame);
  } else if (frame.type === "presence") {
    presence.applyFrame(frame.data ?? {});
  } else if (frame.type === "error") {
    console.warn("Herald refused a frame:", frame.error);
  }
}

async function connectionReady(frame) {
  // Too much changed while away to be told: start the list afresh.
  if (frame.data.resync) inbox.clear();
  inbox.ready(frame.data);
  connection.send({ type: "presence.watch" });
  // (The feed and the topics load once, on entering: a missed post comes back as its
  // notification, and a second load racing a click would repaint a stale state.)
  await Promise.allSettled([loadNotifications(), conversations.load(), refreshPresence()]);
}

function showConnectionState(state) {
  byId("connection").dataset.state = state;
  byId("connection-text").textContent = CONNECTION_TEXT[state] ?? state;
  presence.setSelfConnected(state === "live");
}

// The newest page from REST, merged by id: catches up after a truncated resume; a
// notification a socket frame changed while the page was on its way keeps that change.
async function loadNotifications() {
  const since = inbox.mark();
  const page = await api.notifications();
  for (const notification of [...page.items].reverse()) inbox.put(notification, { since });
}

async function refreshPresence() {
  const requestedAt = performance.now();
  const page = await api.onlineUsers();
  presence.applySnapshot(page.items, requestedAt);
}

async function markRead(id) {
  const since = inbox.mark();
  try {
    inbox.put(await api.markRead(id), { since, own: true });
    showMessage(byId("inbox-message"), "");
  } catch (error) {
    showMessage(byId("inbox-message"), `Not marked read: ${error.message}`, { error: true });
  }
}

async function deleteNotification(id) {
  try {
    await api.deleteNotification(id);
    inbox.removed(id);
    showMessage(byId("inbox-message"), "Deleted.");
  } catch (error) {
    if (error.status === 404) return inbox.removed(id); // deleted elsewhere already
    showMessage(byId("inbox-message"), `Not deleted: ${error.message}`, { error: true });
  }
}

async function markAllRead() {
  const button = byId("mark-all-read");
  button.disabled = true;
  const upTo = inbox.newestId;
  const since = inbox.mark();
  try {
    if (upTo) await api.markAllRead(upTo);
    inbox.markAllRead(upTo, { since });
    showMessage(byId("inbox-message"), "");
  } catch (error) {
    showMessage(byId("inbox-message"), `Not marked read: ${error.message}`, { error: true });
  } finally {
    button.disabled = false;
  }
}

async function sendNotification(form) {
  const status = byId("notify-status");
  const username = form.elements.username.value.trim();
  const message = form.elements.message.value;
  if (!username || !message.trim()) {
    showMessage(status, "Give a username and a message.", { error: true });
    return;
  }
  showMessage(status, "Sending…");
  try {
    const user = await api.findUser(username);
    if (!user) {
      showMessage(status, `No user named “${username}”.`, { error: true });
      return;
    }
    showLastSent({ ...(await api.notify(user.id, message)), to: user.username });
    showMessage(status, `Sent to ${user.username}.`);
    form.elements.message.value = "";
    form.elements.message.focus();
  } catch (error) {
    const detail = error.status === 0 ? "Herald cannot be reached." : error.message;
    showMessage(status, `Not sent: ${[detail, ...error.details].join(" ")}`, { error: true });
  }
}

// The last notification sent from this page, with its sender's edit and retraction.
function showLastSent(notification) {
  lastSent = notification;
  byId("last-sent").hidden = !notification;
  if (!notification) return;
  byId("last-sent-message").textContent = notification.message;
  byId("last-sent-to").textContent = notification.to;
  byId("edit-message").value = notification.message;
}

async function editLastSent(form) {
  const status = byId("last-sent-status");
  const message = form.elements.message.value;
  if (!lastSent || !message.trim()) return;
  try {
    const edited = await api.editNotification(lastSent.id, { message });
    showLastSent({ ...edited, to: lastSent.to });
    showMessage(status, "Edited.");
  } catch (error) {
    showMessage(status, `Not edited: ${[error.message, ...error.details].join(" ")}`, {
      error: true,
    });
  }
}

async function retractLastSent() {
  const status = byId("last-sent-status");
  if (!lastSent) return;
  try {
    await api.deleteNotification(lastSent.id);
    const to = lastSent.to;
    showLastSent(null);
    showMessage(byId("notify-status"), `Retracted the notification to ${to}.`);
  } catch (error) {
    showMessage(status, `Not retracted: ${error.message}`, { error: true });
  }
}

async function publishPost(form) {
  const status = byId("post-status");
  try {
    await social.publish(form.elements.text.value);
    form.reset();
    showMessage(status, "Posted.");
  } catch (error) {
    showMessage(status, `Not posted: ${[error.message, ...error.details].join(" ")}`, {
      error: true,
    });
  }
}

async function createTopic(form) {
  const status = byId("topic-status");
  try {
    await social.createTopic(form.elements.key.value.trim(), form.elements.name.value.trim());
    form.reset();
    showMessage(status, "Created.");
  } catch (error) {
    showMessage(status, `Not created: ${[error.message, ...error.details].join(" ")}`, {
      error: true,
    });
  }
}

async function openConversation(form) {
  const status = byId("conversation-status");
  const username = form.elements.username.value.trim();
  if (!username) return;
  try {
    const user = await api.findUser(username);
    if (!user) {
      showMessage(status, `No user named “${username}”.`, { error: true });
      return;
    }
    showMessage(status, "");
    form.reset();
    await conversations.open(user);
  } catch (error) {
    showMessage(status, `Could not open it: ${error.message}`, { error: true });
  }
}

async function sendComposed() {
  const status = byId("composer-status");
  try {
    await conversations.sendComposed();
    showMessage(status, "");
  } catch (error) {
    const detail = error.status === 403 ? "This user does not accept messages from you." : "";
    showMessage(status, `Not sent: ${detail || [error.message, ...error.details].join(" ")}`, {
      error: true,
    });
  }
}

function loginFailure(error) {
  if (error.status === 401) return "Wrong username or password";
  if (error.status === 0) return "Herald cannot be reached. Check your connection and try again.";
  if (error.status === 429) return "Too many attempts. Wait a moment and try again.";
  return [error.message, ...error.details].join(" ");
}

function registerFailure(error) {
  if (error.status === 409) return "That username or email is already taken.";
  if (error.status === 0) return "Herald cannot be reached. Check your connection and try again.";
  return [error.message, ...error.details].join(" ");
}

async function submitting(form, work) {
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    await work();
  } finally {
    button.disabled = false;
  }
}

async function signIn(form) {
  const error = byId("login-error");
  showMessage(error, "");
  try {
    await api.login(form.elements.username.value.trim(), form.elements.password.value);
  } catch (failure) {
    showMessage(error, loginFailure(failure), { error: true });
    form.elements.password.select();
    return;
  }
  form.reset();
  await enter();
}

async function register(form) {
  const error = byId("register-error");
  showMessage(error, "");
  const { username, email, password } = form.elements;
  try {
    await api.register(username.value.trim(), email.value.trim(), password.value);
    await api.login(username.value.trim(), password.value);
  } catch (failure) {
    showMessage(error, registerFailure(failure), { error: true });
    return;
  }
  form.reset();
  await enter();
}

function showView(signedInView) {
  byId("auth-view").hidden = signedInView;
  byId("app-view").hidden = !signedInView;
  byId("session").hidden = !signedInView;
}

async function enter() {
  let me;
  try {
    me = await api.me();
  } catch (error) {
    leave(
      error.status === 401
        ? "Your session has expired. Sign in again."
        : `Could not sign in: ${error.message}`,
    );
    return;
  }
  signedIn = true;
  byId("me-name").textContent = me.username;
  inbox.clear();
  showLastSent(null);
  conversations.clear();
  conversations.signedIn(me);
  social.clear();
  social.signedIn(me);
  presence.clear();
  presence.setSelf(me);
  profile.clear();
  profile.show(me);
  push.signedIn().catch(() => push.clear());
  showView(true);
  byId("inbox-title").focus();
  try {
    await Promise.all([
      loadNotifications(),
      conversations.load(),
      social.load(),
      preferences.load(),
    ]);
  } catch (error) {
    showMessage(byId("inbox-message"), `Could not load notifications: ${error.message}`, {
      error: true,
    });
  }
  if (!signedIn) return;
  connection.start();
  clearInterval(presenceTimer);
  presenceTimer = setInterval(() => refreshPresence().catch(() => {}), PRESENCE_REFRESH_MS);
}

function leave(message = "", { error = Boolean(message) } = {}) {
  signedIn = false;
  connection.stop();
  clearInterval(presenceTimer);
  presenceTimer = null;
  push.forget(); // before the tokens go: it deletes this browser's subscription
  push.clear();
  tokens.clear();
  inbox.clear();
  conversations.clear();
  social.clear();
  presence.clear();
  profile.clear();
  preferences.clear();
  showView(false);
  showMessage(byId("login-error"), message, { error });
  byId("login-username").focus();
}

function sessionExpired() {
  if (signedIn) leave("Your session has expired. Sign in again.");
}

function onSubmit(id, handler) {
  const form = byId(id);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitting(form, () => handler(form));
  });
}

onSubmit("login-form", signIn);
onSubmit("register-form", register);
onSubmit("notify-form", sendNotification);
onSubmit("edit-form", editLastSent);
onSubmit("new-conversation-form", openConversation);
onSubmit("composer-form", sendComposed);
onSubmit("post-form", publishPost);
onSubmit("topic-form", createTopic);
onSubmit("profile-form", (form) => profile.save(form));
onSubmit("picture-form", (form) => profile.upload(form));
onSubmit("delete-account-form", (form) => profile.deleteAccount(form));
onSubmit("preferences-form", (form) => preferences.save(form));
byId("remove-picture").addEventListener("click", () => profile.removePicture());
byId("retract").addEventListener("click", retractLastSent);
byId("mark-all-read").addEventListener("click", markAllRead);
byId("logout").addEventListener("click", () => leave());

if (tokens.signedIn) {
  enter();
} else {
  showView(false);
}
