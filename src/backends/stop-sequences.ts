/**
 * Applies OpenAI `stop` semantics to streamed text: the output ends just before the first
 * occurrence of any stop sequence, which is itself never emitted. Text that might be the start
 * of a stop sequence split across deltas is held back until the next delta settles it.
 */
export class StopSequenceFilter {
  readonly #stops: string[];
  #pending = "";
  #stopped = false;

  constructor(stops: readonly string[]) {
    this.#stops = stops.filter((stop) => stop.length > 0);
  }

  /** True once a stop sequence was found; later input is ignored. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Feeds a delta; returns the text that is now safe to emit. */
  push(delta: string): string {
    if (this.#stopped) return "";
    const text = this.#pending + delta;
    let cut = -1;
    for (const stop of this.#stops) {
      const at = text.indexOf(stop);
      if (at !== -1 && (cut === -1 || at < cut)) cut = at;
    }
    if (cut !== -1) {
      this.#stopped = true;
      this.#pending = "";
      return text.slice(0, cut);
    }
    const hold = this.#partialStopLength(text);
    this.#pending = text.slice(text.length - hold);
    return text.slice(0, text.length - hold);
  }

  /** Ends the input; returns held-back text that turned out not to be a stop sequence. */
  flush(): string {
    const rest = this.#pending;
    this.#pending = "";
    return rest;
  }

  /** Length of the longest suffix of `text` that is a proper prefix of some stop sequence. */
  #partialStopLength(text: string): number {
    let longest = 0;
    for (const stop of this.#stops) {
      for (let length = Math.min(stop.length - 1, text.length); length > longest; length--) {
        if (text.endsWith(stop.slice(0, length))) {
          longest = length;
          break;
        }
      }
    }
    return longest;
  }
}
