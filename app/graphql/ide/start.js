// GraphiQL on Herald's /graphql: each operation is POSTed with the token of the bar above
// (unless the headers editor sets its own Authorization), kept in sessionStorage.
(function () {
  "use strict";
  const KEY = "herald.graphiql.token";
  const field = document.getElementById("token");
  const endpoint = document.getElementById("graphiql").dataset.endpoint;
  field.value = sessionStorage.getItem(KEY) || "";
  field.addEventListener("input", () => sessionStorage.setItem(KEY, field.value.trim()));
  document.getElementById("herald-token").addEventListener("submit", (e) => e.preventDefault());

  async function fetcher(params, options) {
    const headers = { "Content-Type": "application/json", Accept: "application/json" };
    const token = field.value.trim();
    if (token) headers.Authorization = "Bearer " + token;
    Object.assign(headers, (options && options.headers) || {});
    const response = await fetch(endpoint, {
      method: "POST",
      headers,
      body: JSON.stringify(params),
    });
    return response.json();
  }

  const root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher,
      defaultQuery: "# Paste an access token above, then run:\n{\n  me { id username }\n  unreadCount\n}\n",
    }),
  );
})();
