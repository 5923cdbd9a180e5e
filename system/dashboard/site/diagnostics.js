// The small diagnostics panel: what arrived, what was ignored and why, how often the link came back.

import { clock } from "./format.js";

export class Diagnostics {
  #fields;
  #received = 0;
  #malformed = 0;
  #duplicates = 0;
  #reconnects = 0;
  #wasLive = false;

  constructor(fields) {
    this.#fields = fields; // {received, malformed, duplicates, reconnects, problem}: elements
  }

  received() {
    this.#received += 1;
    this.#fields.received.textContent = String(this.#received);
  }

  malformed(target, problem) {
    this.#malformed += 1;
    this.#fields.malformed.textContent = String(this.#malformed);
    this.#problem(`malformed '${target}' message ignored: ${problem}`);
  }

  duplicate() {
    this.#duplicates += 1;
    this.#fields.duplicates.textContent = String(this.#duplicates);
  }

  /** A change of the connection state, as the hub link reports it. */
  link({ state, error }) {
    if (state === "live" && this.#wasLive) {
      this.#reconnects += 1;
      this.#fields.reconnects.textContent = String(this.#reconnects);
    }
    this.#wasLive ||= state === "live";
    if (error) this.#problem(`${state}: ${error}`);
  }

  #problem(text) {
    this.#fields.problem.textContent = `${clock(Date.now())} ${text}`;
  }
}
