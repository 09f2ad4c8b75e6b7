import { SENTENCE_END_TOKENS } from "./corpus";

const NO_SPACE_BEFORE = new Set([".", ",", ";", ":", "!", "?", "%", ")", "]", "}", "/"]);
const NO_SPACE_AFTER = new Set(["(", "[", "{", "$", "/"]);

/**
 * Renders generated tokens as text, one piece per token, so that the pieces joined are the
 * reply: tokens are separated by one space, except before . , ; : ! ? % ) ] } / and after
 * ( [ { $ /, and a sentence's first token is upper-cased if it starts with an ASCII lower-case letter (a
 * sentence starts the reply and follows . ? or !).
 */
export class Detokenizer {
  #previous: string | undefined;

  /** The text that `token` adds to the reply. */
  render(token: string): string {
    const text = this.peek(token);
    this.#previous = token;
    return text;
  }

  /** The text `token` would add to the reply next, without adding it. */
  peek(token: string): string {
    const previous = this.#previous;
    const sentenceStart = previous === undefined || SENTENCE_END_TOKENS.includes(previous);
    const text = sentenceStart ? capitalize(token) : token;
    if (previous === undefined || NO_SPACE_BEFORE.has(token) || NO_SPACE_AFTER.has(previous)) {
      return text;
    }
    return ` ${text}`;
  }
}

function capitalize(token: string): string {
  const first = token.charCodeAt(0);
  return first >= 0x61 && first <= 0x7a ? String.fromCharCode(first - 32) + token.slice(1) : token;
}
