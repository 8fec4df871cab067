"""GraphQL beside REST: `/graphql` over HTTP and WebSocket, over the same service functions."""
