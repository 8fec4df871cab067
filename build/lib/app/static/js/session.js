// The signed-in session's tokens, kept in sessionStorage (this tab only, gone when it closes).

const ACCESS = "herald.accessToken";
const REFRESH = "herald.refreshToken";

function storage() {
  try {
    return window.sessionStorage;
  } catch {
    return null; // storage disabled: tokens then live in memory only
  }
}

export class TokenStore {
  #memory = new Map();

  #get(key) {
    const store = storage();
    return store ? store.getItem(key) : this.#memory.get(key) ?? null;
  }

  #set(key, value) {
    const store = storage();
    if (value == null) {
      store ? store.removeItem(key) : this.#memory.delete(key);
    } else {
      store ? store.setItem(key, value) : this.#memory.set(key, value);
    }
  }

  get access() {
    return this.#get(ACCESS);
  }

  get refresh() {
    return this.#get(REFRESH);
  }

  get signedIn() {
    return Boolean(this.access && this.refresh);
  }

  save({ access_token: access, refresh_token: refresh }) {
    this.#set(ACCESS, access);
    if (refresh) this.#set(REFRESH, refresh);
  }

  clear() {
    this.#set(ACCESS, null);
    this.#set(REFRESH, null);
  }
}
