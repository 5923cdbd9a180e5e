// The backend's API key, for a backend that guards /api/negotiate with one. The operator enters
// it when the negotiate is refused; it is kept for this browser tab only (sessionStorage) and
// sent as the negotiate's bearer token, never to the SignalR service.

const STORAGE_KEY = "spyh.dashboard.apiKey";

export function storedApiKey() {
  return sessionStorage.getItem(STORAGE_KEY) ?? "";
}

/** Wires the key form: a submitted key is stored, then `onKey` runs (to reconnect at once). */
export function apiKeyForm(form, input, onKey) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(STORAGE_KEY, input.value.trim());
    input.value = "";
    onKey();
  });
  return {
    /** Shown only while a negotiate is being refused for want of a key (401). */
    show(change) {
      form.hidden = !(change.state === "offline" && /\b401\b/.test(change.error ?? ""));
    },
  };
}
