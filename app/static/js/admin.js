// The operator's view at /admin: live figures over the admin's own socket
// (`stats.watch`, then a `stats` frame every ADMIN_STATS_INTERVAL), and the dead
// letters with replay. It uses the session the main page signed in (this tab's).

import { HeraldApi } from "./api.js";
import { LiveConnection } from "./connection.js";
import { byId, element, showMessage } from "./dom.js";
import { TokenStore } from "./session.js";

const FIGURES = [
  ["sockets", "Sockets open (this host)"],
  ["usersOnline", "Users online"],
  ["deliveriesPerSecond", "Deliveries per second"],
  ["lagTotal", "Consumer lag (messages)"],
  ["outboxBacklog", "Outbox backlog"],
  ["outboxOldestAge", "Oldest in outbox (s)"],
  ["deadLetters", "Dead letters pending"],
];
const STATE_TEXT = {
  "signed-out": "Signed out",
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
};

const tokens = new TokenStore();
const api = new HeraldApi(tokens, { onSessionExpired: () => tell("Your session expired: sign in again.") });
let pendingLetters = null;

const connection = new LiveConnection({
  api,
  lastSeenId: () => null,
  onFrame: handleFrame,
  onReady: () => connection.send({ type: "stats.watch" }),
  onState: (state) => {
    byId("connection").dataset.state = state;
    byId("connection-text").textContent = STATE_TEXT[state] ?? state;
  },
  onSessionExpired: () => tell("Your session expired: sign in again."),
});

function tell(text) {
  const node = byId("operator-message");
  node.hidden = !text;
  node.replaceChildren();
  if (!text) return;
  node.append(text, " ");
  const link = element("a", null, "Open Herald's sign-in page");
  link.href = "/";
  node.append(link);
}

function handleFrame(frame) {
  if (frame.type === "stats") {
    showFigures(frame.data);
  } else if (frame.type === "error") {
    tell(frame.error.code === 403 ? "These figures are for admins only." : frame.error.message);
  }
}

function showFigures(data) {
  const lag = data.consumerLag ?? {};
  const figures = { ...data, lagTotal: Object.values(lag).reduce((sum, n) => sum + n, 0) };
  byId("figures").replaceChildren(
    ...FIGURES.map(([key, label]) => {
      const tile = element("div", "figure");
      tile.dataset.figure = key;
      tile.append(element("dt", null, label), element("dd", null, String(figures[key] ?? "–")));
      return tile;
    }),
  );
  byId("lag").replaceChildren(
    ...Object.entries(lag).map(([instance, count]) => {
      const row = element("li");
      row.append(element("span", null, instance), element("strong", null, String(count)));
      return row;
    }),
  );
  byId("figures-at").textContent = `updated ${new Date().toLocaleTimeString()}`;
  if (data.deadLetters !== pendingLetters) {
    pendingLetters = data.deadLetters;
    loadDeadLetters();
  }
}

async function loadDeadLetters() {
  const message = byId("dead-letters-message");
  try {
    const page = await api.call("GET", "/api/admin/dead-letters?replayed=false&per_page=50");
    byId("dead-letters").replaceChildren(...page.items.map(deadLetterRow));
    showMessage(message, page.items.length ? "" : "No dead letters pending.");
  } catch (error) {
    showMessage(message, error.message, { error: true });
  }
}

function deadLetterRow(letter) {
  const row = element("li", "dead-letter");
  row.dataset.id = letter.id;
  const replay = element("button", "button-quiet", "Replay");
  replay.type = "button";
  replay.addEventListener("click", () => replayOne(letter.id, replay));
  row.append(
    element("span", "dead-letter-error", `${letter.error} (${letter.attempts} attempts)`),
    element("time", null, new Date(letter.createdAt).toLocaleString()),
    replay,
  );
  return row;
}

async function replayOne(id, button) {
  button.disabled = true;
  try {
    await api.call("POST", `/api/admin/dead-letters/${encodeURIComponent(id)}/replay`);
    showMessage(byId("dead-letters-message"), "Replayed.");
    button.closest("li")?.remove();
  } catch (error) {
    button.disabled = false;
    showMessage(byId("dead-letters-message"), error.message, { error: true });
  }
}

byId("replay-all").addEventListener("click", async () => {
  try {
    const { count } = await api.call("POST", "/api/admin/dead-letters/replay");
    showMessage(byId("dead-letters-message"), `Replayed ${count}.`);
    loadDeadLetters();
  } catch (error) {
    showMessage(byId("dead-letters-message"), error.message, { error: true });
  }
});

if (tokens.signedIn) {
  connection.start();
} else {
  tell("Sign in as an admin first.");
}
