// Reconnect delays: exponential, capped, with jitter so clients do not all return at once.

export const RECONNECT = Object.freeze({ baseMs: 500, capMs: 5000 });

// "Equal jitter": between half and all of min(cap, base * 2^attempt).
export function reconnectDelay(attempt, { baseMs, capMs } = RECONNECT, random = Math.random) {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 20));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
