// A graphql-ws client (the reference graphql-transport-ws implementation, not Herald's):
// subscribes to QUERY at URL with TOKEN in connection_init, prints each event as a JSON
// line, and exits after COUNT events, or prints {"closed": code} when the server closes.
//
// Usage: node subscribe.mjs URL TOKEN QUERY COUNT
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [url, token, query, count] = process.argv.slice(2);
let received = 0;
const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: { token },
  retryAttempts: 0,
  lazy: true,
  on: {
    connected: () => console.log(JSON.stringify({ connected: true })),
    closed: (event) => {
      console.log(JSON.stringify({ closed: event.code }));
      process.exit(0);
    },
  },
});
client.subscribe(
  { query },
  {
    next: (result) => {
      console.log(JSON.stringify(result));
      received += 1;
      if (received >= Number(count)) {
        client.dispose();
        process.exit(0);
      }
    },
    error: (error) => {
      console.log(JSON.stringify({ error: String(error?.code ?? error?.message ?? error) }));
    },
    complete: () => {},
  },
);
