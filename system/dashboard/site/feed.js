// The live signal feed: newest first, with contract, side, score and the detector's reason.
// Signals past their expiry stay listed, greyed and marked: the edge will no longer trade them.

import { clock, contractLabel } from "./format.js";

const SHOWN = 200;

function row(signal) {
  const item = document.createElement("li");
  item.dataset.signalId = signal.id;
  item.dataset.expiresAt = String(signal.expiresAt);
  const when = document.createElement("time");
  when.dateTime = new Date(signal.createdAt).toISOString();
  when.textContent = clock(signal.createdAt);
  const contract = document.createElement("span");
  contract.className = `contract ${signal.contract.right === "C" ? "call" : "put"}`;
  contract.textContent = `${signal.side} ${contractLabel(signal.contract)}`;
  const score = document.createElement("span");
  score.className = "score";
  score.textContent = signal.score.toFixed(1);
  score.title = "Anomaly score (robust standard deviations)";
  const reason = document.createElement("span");
  reason.className = "reason";
  reason.textContent = signal.reason;
  item.append(when, contract, score, reason);
  return item;
}

export function feed(list, count, empty) {
  let drawnVersion = -1;
  return function draw(store, now) {
    if (store.signalsVersion !== drawnVersion) {
      drawnVersion = store.signalsVersion;
      list.replaceChildren(...store.signals.slice(-SHOWN).reverse().map(row));
      count.textContent = `${store.signals.length || "none"} in the last hour`;
      empty.hidden = store.signals.length > 0;
    }
    for (const item of list.children) item.classList.toggle("expired", Number(item.dataset.expiresAt) <= now);
  };
}
