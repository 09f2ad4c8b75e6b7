import { tokenize } from "./tokenize";

/** Tokens that end a sentence; the model treats each as the end of a sentence. */
export const SENTENCE_END_TOKENS: readonly string[] = [".", "?", "!"];

// Quotes and brackets are dropped: a word-level model cannot pair them up, and unpaired
// ones make the generated text look broken.
const DROPPED_TOKENS = new Set(['"', "'", "`", "’", "(", ")", "[", "]", "{", "}"]);
const MIN_SENTENCE_WORDS = 3;

/**
 * The sentences of the glosses in a WordNet `data.*` file, each as a list of tokens that
 * ends with ".", "?" or "!".
 *
 * A gloss is the text after ` | ` on a synset line (license lines start with two spaces
 * and have none). It is split at top-level semicolons into its definition and its quoted
 * examples. Parenthesised asides are removed, text after an example's closing quote
 * (an attribution such as `- Shakespeare`) is dropped, and a segment that still holds a
 * sentence end before its last token (abbreviations, ellipses, several sentences) or has
 * fewer than three tokens is skipped. A segment without a final ".", "?" or "!" gets ".".
 */
export function glossSentences(dataFile: string): string[][] {
  const sentences: string[][] = [];
  for (const line of dataFile.split("\n")) {
    if (line.startsWith("  ")) continue;
    const bar = line.indexOf(" | ");
    if (bar < 0) continue;
    for (const segment of splitGloss(line.slice(bar + 3))) {
      const sentence = segmentSentence(segment);
      if (sentence) sentences.push(sentence);
    }
  }
  return sentences;
}

function splitGloss(gloss: string): string[] {
  const segments: string[] = [];
  let inQuote = false;
  let start = 0;
  for (let i = 0; i < gloss.length; i++) {
    const char = gloss[i];
    if (char === '"') inQuote = !inQuote;
    else if (char === ";" && !inQuote) {
      segments.push(gloss.slice(start, i));
      start = i + 1;
    }
  }
  segments.push(gloss.slice(start));
  return segments;
}

function segmentSentence(raw: string): string[] | undefined {
  let text = raw.trim();
  if (text.startsWith('"')) {
    const close = text.indexOf('"', 1);
    text = close < 0 ? text.slice(1) : text.slice(1, close);
  }
  const tokens = tokenize(removeParentheses(text)).filter((token) => !DROPPED_TOKENS.has(token));
  while (tokens.length > 0 && isTrailingPunctuation(tokens[tokens.length - 1] ?? "")) tokens.pop();
  if (tokens.length < MIN_SENTENCE_WORDS) return undefined;
  const last = tokens[tokens.length - 1] ?? "";
  if (!SENTENCE_END_TOKENS.includes(last)) tokens.push(".");
  for (let i = 0; i < tokens.length - 1; i++) {
    if (SENTENCE_END_TOKENS.includes(tokens[i] ?? "")) return undefined;
  }
  return tokens;
}

function isTrailingPunctuation(token: string): boolean {
  return /^[,:;\-/&]$/.test(token);
}

function removeParentheses(text: string): string {
  let depth = 0;
  let out = "";
  for (const char of text) {
    if (char === "(") depth++;
    else if (char === ")") depth = Math.max(0, depth - 1);
    else if (depth === 0) out += char;
  }
  return out;
}
