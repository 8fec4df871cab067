// Herald's REST API: JSON in and out, the bearer token attached, one refresh on a 401.

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || (status ? `HTTP ${status}` : "Cannot reach Herald."));
    this.status = status; // 0 when the server could not be reached
    this.body = body;
  }

  // Per-field messages of a 422, flattened to "field: message".
  get details() {
    const lines = [];
    const walk = (value, path) => {
      if (Array.isArray(value)) {
        for (const item of value) walk(item, path);
      } else if (value && typeof value === "object") {
        for (const [key, inner] of Object.entries(value)) {
          walk(inner, key === "json" || key === "query" ? path : key);
        }
      } else if (value != null) {
        lines.push(path ? `${path}: ${value}` : String(value));
      }
    };
    walk(this.body?.errors, "");
    return lines;
  }
}

export class SessionExpired extends ApiError {}

export class HeraldApi {
  #refreshing = null;

  constructor(tokens, { onSessionExpired } = {}) {
    this.tokens = tokens;
    this.onSessionExpired = onSessionExpired ?? (() => {});
  }

  // `body` goes as JSON; a FormData (an upload) goes as multipart, its type set by fetch.
  async #send(method, path, { body, bearer } = {}) {
    const headers = { Accept: "application/json" };
    const multipart = body instanceof FormData;
    if (body !== undefined && !multipart) headers["Content-Type"] = "application/json";
    if (bearer) headers.Authorization = `Bearer ${bearer}`;
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body === undefined || multipart ? body : JSON.stringify(body),
        cache: "no-store",
      });
    } catch {
      throw new ApiError(0, null);
    }
    const data = await response.json().catch(() => null);
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }

  // A signed-in call: on a 401 the access token is refreshed once and the call repeated.
  async call(method, path, body) {
    try {
      return await this.#send(method, path, { body, bearer: this.tokens.access });
    } catch (error) {
      if (error.status !== 401) throw error;
    }
    await this.refreshAccessToken();
    return this.#send(method, path, { body, bearer: this.tokens.access });
  }

  // One refresh at a time, however many calls got a 401 together.
  refreshAccessToken() {
    this.#refreshing ??= this.#refresh().finally(() => {
      this.#refreshing = null;
    });
    return this.#refreshing;
  }

  async #refresh() {
    const refresh = this.tokens.refresh;
    if (!refresh) throw this.#expired(null);
    try {
      const tokens = await this.#send("POST", "/api/token/refresh", { bearer: refresh });
      this.tokens.save(tokens);
      return tokens.access_token;
    } catch (error) {
      if (error.status === 401 || error.status === 422) throw this.#expired(error.body);
      throw error;
    }
  }

  #expired(body) {
    this.tokens.clear();
    const error = new SessionExpired(401, body ?? { message: "Your session has expired." });
    this.onSessionExpired(error);
    return error;
  }

  async login(name, password) {
    const field = name.includes("@") ? "email" : "username";
    const tokens = await this.#send("POST", "/api/login", { body: { [field]: name, password } });
    this.tokens.save(tokens);
    return tokens;
  }

  register(username, email, password) {
    return this.#send("POST", "/api/register", { body: { username, email, password } });
  }

  me() {
    return this.call("GET", "/api/users/me");
  }

  // `{ username, email, displayName, bio }`, any of them: the user as it is now.
  updateProfile(changes) {
    return this.call("PATCH", "/api/users/me", changes);
  }

  uploadPicture(file) {
    const form = new FormData();
    form.append("picture", file);
    return this.call("PUT", "/api/users/me/picture", form);
  }

  removePicture() {
    return this.call("DELETE", "/api/users/me/picture");
  }

  deleteAccount(password) {
    return this.call("DELETE", "/api/users/me", { password });
  }

  findUser(username) {
    const query = new URLSearchParams({ username });
    return this.call("GET", `/api/users?${query}`).then((page) => page.items[0] ?? null);
  }

  onlineUsers() {
    return this.call("GET", "/api/users?online=true&per_page=100");
  }

  notifications() {
    return this.call("GET", "/api/notifications?per_page=50");
  }

  unreadCount() {
    return this.call("GET", "/api/notifications/unread-count").then((body) => body.count);
  }

  markRead(id) {
    return this.call("PUT", `/api/notifications/${encodeURIComponent(id)}`, { read: true });
  }

  // Up to `upTo` (the newest the page shows), so one arriving meanwhile stays unread.
  markAllRead(upTo) {
    return this.call("POST", "/api/notifications/read-all", upTo ? { upTo } : {});
  }

  // The recipient's delete from their inbox, or the sender's retraction.
  deleteNotification(id) {
    return this.call("DELETE", `/api/notifications/${encodeURIComponent(id)}`);
  }

  // The sender's edit: `{ message }` and/or `{ data }`.
  editNotification(id, changes) {
    return this.call("PATCH", `/api/notifications/${encodeURIComponent(id)}`, changes);
  }

  posts() {
    return this.call("GET", "/api/posts?per_page=30");
  }

  publish(text) {
    return this.call("POST", "/api/posts", { text });
  }

  following(userId) {
    return this.call("GET", `/api/users/${encodeURIComponent(userId)}/following?per_page=100`);
  }

  follow(userId) {
    return this.call("PUT", `/api/users/${encodeURIComponent(userId)}/follow`);
  }

  unfollow(userId) {
    return this.call("DELETE", `/api/users/${encodeURIComponent(userId)}/follow`);
  }

  topics() {
    return this.call("GET", "/api/topics?per_page=100");
  }

  createTopic(key, name) {
    return this.call("POST", "/api/topics", { key, name });
  }

  joinTopic(key) {
    return this.call("PUT", `/api/topics/${encodeURIComponent(key)}/subscription`);
  }

  leaveTopic(key) {
    return this.call("DELETE", `/api/topics/${encodeURIComponent(key)}/subscription`);
  }

  conversations() {
    return this.call("GET", "/api/conversations?per_page=50");
  }

  // `{ limit, before, after }`: a page of the conversation with `userId`, oldest first.
  messages(userId, { limit = 30, before, after } = {}) {
    const query = new URLSearchParams({ limit: String(limit) });
    if (before) query.set("before", before);
    if (after) query.set("after", after);
    return this.call("GET", `/api/conversations/${encodeURIComponent(userId)}/messages?${query}`);
  }

  sendMessage(userId, text) {
    return this.call("POST", `/api/conversations/${encodeURIComponent(userId)}/messages`, {
      text,
    });
  }

  markConversationRead(userId, upTo) {
    return this.call("PUT", `/api/conversations/${encodeURIComponent(userId)}/read`, { upTo });
  }

  notify(userId, message) {
    return this.call("POST", "/api/notifications", { userId, message });
  }
}
