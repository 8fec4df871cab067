// Herald's service worker, served at /sw.js so its scope is the whole site: it shows a
// notification Herald pushed (app/channels/push) while no tab had a live socket, and a
// click on it focuses an open Herald tab or opens one.

const ICON = "/static/img/herald.svg";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

// The payload is {type: "notification", truncated, data: <the notification as REST shows
// it>}; a push Herald did not make still shows something, as Chrome insists it must.
function readPush(data) {
  try {
    const payload = data?.json();
    if (payload?.type === "notification" && payload.data) return payload.data;
  } catch {
    // not JSON: fall through to a generic notification
  }
  return {};
}

self.addEventListener("push", (event) => {
  const notification = readPush(event.data);
  const title = notification.type ? `Herald · ${notification.type}` : "Herald";
  event.waitUntil(
    self.registration.showNotification(title, {
      body: notification.message ?? "You have a new notification.",
      icon: ICON,
      tag: notification.id, // the same notification pushed twice shows once
      timestamp: notification.createdAt ? Date.parse(notification.createdAt) : undefined,
      data: { id: notification.id ?? null },
    }),
  );
});

async function focusHerald() {
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const open = windows.find((client) => new URL(client.url).origin === self.location.origin);
  if (open) return open.focus();
  return self.clients.openWindow("/");
}

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(focusHerald());
});
