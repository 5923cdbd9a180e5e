// The official @microsoft/signalr client, unchanged, for the conformance tests: it connects
// through the backend's negotiate (or straight to the service with skipNegotiation) and prints
// one JSON line per event on stdout. Options (argv[3], JSON): skipNegotiation with token,
// invoke (a hub method to call once connected).
"use strict";
const signalR = require("@microsoft/signalr");

const [url, optionsJson] = process.argv.slice(2);
const options = JSON.parse(optionsJson || "{}");
const emit = (event) => console.log(JSON.stringify(event));

const connectionOptions = options.skipNegotiation
  ? {
      skipNegotiation: true,
      transport: signalR.HttpTransportType.WebSockets,
      accessTokenFactory: () => options.token,
    }
  : {};
const connection = new signalR.HubConnectionBuilder()
  .withUrl(url, connectionOptions)
  .withAutomaticReconnect([0, 200, 500, 1000, 2000])
  .withKeepAliveInterval(1000)
  .configureLogging(signalR.LogLevel.Warning)
  .build();

connection.on("news", (...args) => emit({ event: "message", target: "news", args }));
connection.onreconnecting((error) => emit({ event: "reconnecting", error: error ? error.message : null }));
connection.onreconnected((connectionId) => emit({ event: "reconnected", connectionId }));
connection.onclose((error) => {
  emit({ event: "closed", error: error ? error.message : null });
  process.exit(0);
});
process.on("SIGTERM", () => connection.stop());

connection
  .start()
  .then(async () => {
    emit({ event: "connected", connectionId: connection.connectionId });
    if (options.invoke) {
      await connection.send(options.invoke, "hello");
    }
  })
  .catch((error) => {
    emit({ event: "failed", error: String(error) });
    process.exit(1);
  });
