// Keeps the page subscribed to the hub the backend's negotiate names, whatever the network does.
//
// The SignalR client reconnects by itself after a drop ("reconnecting"), re-running the whole
// negotiate each time. When it gives up, when the service ends the connection for good (a Close
// without allowReconnect, as for an expired token) or when a start fails (an expired token is
// refused with 401), the page is "offline" and starts afresh after a backoff: a new negotiate
// through the backend, hence a new token. Handlers are registered once and survive every reconnect: in
// serverless mode the connection itself is the subscription.

const HUB_URL = "/api"; // the client negotiates with POST /api/negotiate
const RECONNECT_DELAYS_MS = [0, 2_000, 10_000, 30_000];
const RESTART_DELAYS_MS = [1_000, 2_000, 5_000, 10_000, 30_000];

/**
 * Connects, and keeps connecting. `handlers` maps hub targets to functions of the invocation's
 * arguments; `apiKey()` is the backend's API key for the negotiate ("" for none); `onChange` gets
 * {state, since, error?, retryAt?} on every change of state. Returns {retryNow}, which starts at
 * once when offline.
 */
export function openHubLink(handlers, apiKey, onChange) {
  const { HubConnectionBuilder, HubConnectionState, LogLevel } = globalThis.signalR;
  const connection = new HubConnectionBuilder()
    // The client sends this to the backend only: after the negotiate's redirect it presents the
    // service's own access token, and goes back to this one for the next negotiate.
    .withUrl(HUB_URL, { accessTokenFactory: apiKey })
    .withAutomaticReconnect(RECONNECT_DELAYS_MS)
    .configureLogging(LogLevel.Warning)
    .build();
  for (const [target, handle] of Object.entries(handlers)) connection.on(target, handle);

  let everLive = false;
  let failures = 0;
  let retryTimer;
  const report = (state, details = {}) => onChange({ state, since: Date.now(), ...details });

  async function start() {
    clearTimeout(retryTimer);
    if (connection.state !== HubConnectionState.Disconnected) return;
    report(everLive ? "reconnecting" : "connecting");
    try {
      await connection.start();
    } catch (error) {
      retryLater(error);
      return;
    }
    everLive = true;
    failures = 0;
    report("live");
  }

  function retryLater(error) {
    const delay = RESTART_DELAYS_MS[Math.min(failures, RESTART_DELAYS_MS.length - 1)];
    failures += 1;
    report("offline", { error: error?.message, retryAt: Date.now() + delay });
    retryTimer = setTimeout(start, delay);
  }

  connection.onreconnecting((error) => report("reconnecting", { error: error?.message }));
  connection.onreconnected(() => report("live"));
  connection.onclose(retryLater);
  start();
  return { retryNow: start };
}
