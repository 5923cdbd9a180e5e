// The connection state in the header: live, reconnecting or offline (connecting at first), with
// how long it has been so, and a button to retry at once while offline.

import { clock, seconds } from "./format.js";

export function linkStatus(root, stateText, detailText, retryButton) {
  let current = { state: "connecting", since: Date.now() };
  return {
    show(change) {
      current = change;
    },
    draw(now) {
      root.dataset.state = current.state;
      stateText.textContent = current.state;
      retryButton.hidden = current.state !== "offline";
      if (current.state === "offline") detailText.textContent = `retrying in ${seconds(current.retryAt - now)}`;
      else if (current.state === "live") detailText.textContent = `since ${clock(current.since)}`;
      else detailText.textContent = `for ${seconds(now - current.since)}`;
    },
  };
}
