import type { ChatMessage } from "@verity/protocol/request";

// Character classes are spelled out as fixed code point ranges instead of `\p{L}` or `\s`,
// whose membership follows the engine's Unicode version: a verifier running a newer
// workerd must split every prompt exactly as the original node did.
const WORD_CHARS =
  "0-9A-Za-z\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u024F\\u0300-\\u036F\\u0370-\\u052F";
const SPACE_CHARS =
  "\\t\\n\\v\\f\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000\\uFEFF";
const TOKEN_PATTERN = new RegExp(
  `[${WORD_CHARS}]+(?:['\\u2019-][${WORD_CHARS}]+)*|[^${SPACE_CHARS}]`,
  "gu",
);
const WORD_PATTERN = new RegExp(`^[${WORD_CHARS}]`, "u");

/**
 * Splits text into Verity reference tokens: words and single punctuation marks.
 *
 * A word is a maximal run of word characters (ASCII letters and digits, Latin-1 and
 * Latin Extended-A/B letters U+00C0–U+024F except × and ÷, combining diacritics
 * U+0300–U+036F, Greek and Cyrillic U+0370–U+052F), where an apostrophe (' or ’) or a
 * hyphen between two word characters keeps the run together (`don't`, `self-made`).
 * Every other code point that is not whitespace is a token of its own, so CJK text
 * counts one token per character. Whitespace is the fixed set TAB, LF, VT, FF, CR,
 * space, U+0085, U+00A0, U+1680, U+2000–U+200A, U+2028, U+2029, U+202F, U+205F,
 * U+3000 and U+FEFF. The definition does not depend on the engine's Unicode tables.
 */
export function tokenize(text: string): string[] {
  return text.match(TOKEN_PATTERN) ?? [];
}

/** The number of tokens in `text`, as `tokenize` splits it. */
export function countTokens(text: string): number {
  let count = 0;
  TOKEN_PATTERN.lastIndex = 0;
  while (TOKEN_PATTERN.exec(text) !== null) count++;
  return count;
}

/** Whether a token is a word (as opposed to a punctuation mark). */
export function isWordToken(token: string): boolean {
  return WORD_PATTERN.test(token);
}

/**
 * Prompt tokens of a conversation: each message costs one token for its role marker plus
 * the tokens of its content, and of the name and arguments of each tool call it made.
 */
export function countMessageTokens(messages: readonly ChatMessage[]): number {
  let count = 0;
  for (const message of messages) {
    count += 1 + countTokens(message.content);
    for (const call of message.tool_calls ?? []) {
      count += countTokens(call.function.name) + countTokens(call.function.arguments);
    }
  }
  return count;
}

/** Lower-cases ASCII letters only, so the result never depends on Unicode case tables. */
export function asciiLowerCase(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x41 && code <= 0x5a) {
      return text.replace(/[A-Z]/g, (letter) => String.fromCharCode(letter.charCodeAt(0) + 32));
    }
  }
  return text;
}
