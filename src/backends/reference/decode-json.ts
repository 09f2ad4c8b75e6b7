import { EMAIL_DOMAINS, EMAIL_LOCAL_MAX, numberText, type SchemaNode } from "./json-schema-subset";
import { forcedPiece, type Piece, type TextSource } from "./piece";
import type { Xoshiro128 } from "./prng";

/** Values nested deeper than this many containers and choices take their smallest form. */
export const MAX_FREE_DEPTH = 4;
/** An array has at most this many items beyond `minItems`. */
export const MAX_EXTRA_ITEMS = 3;
/** A choice piece lists at most this many options in `top_logprobs`. */
export const TOP_OPTIONS = 5;

/**
 * `json_object` mode: an object of 1–3 keys, each a word of the source, whose values are
 * strings of 1–3 words, integers 0..100 or booleans.
 */
export const ANY_OBJECT: SchemaNode = { kind: "anyObject" };

const ANY_OBJECT_VALUE: SchemaNode = {
  kind: "choice",
  options: [
    { kind: "string", minLength: 0, maxLength: Number.POSITIVE_INFINITY, maxWords: 3 },
    { kind: "number", first: 0, count: 101, multiple: 1, denominator: 1 },
    { kind: "boolean" },
  ],
  smallest: 0,
};
const BOOLEAN_TEXTS = ["true", "false"] as const;
/** Generated dates: 2000-01-01 to 2029-12-28, days 1–28 of every month (always valid). */
const DATES = 30 * 12 * 28;
const SECONDS_PER_DAY = 86_400;
const UUID_LOGPROB = -122 * Math.LN2;

interface Context {
  readonly source: TextSource;
  readonly rng: Xoshiro128;
  readonly out: Output;
}

/**
 * Generates one JSON text that validates against `node` (from `compileSchema`, or
 * `ANY_OBJECT`), as pieces whose tokens, joined, are the compact JSON text (no whitespace;
 * strings escaped as `JSON.stringify` does). Deterministic: the same node, the same source
 * behaviour and the same `rng` state give the same pieces. Only `rng.below` and `rng.next`
 * are drawn, in document order, as follows (depth counts the enclosing objects, arrays and
 * choices; "free" means depth ≤ MAX_FREE_DEPTH):
 *
 * - null, a single value, a number range of one value: forced text, no draw.
 * - boolean: `below(2)`, 0 → true, 1 → false. `values`: `below(n)`, the value at that index.
 * - number: k = first + `below(count)`; the text is `numberText(k, …)`.
 * - string: `"`; if maxLength is 0, `"` and nothing else; otherwise n = 1 + `below(maxWords)`,
 *   `source.startPhrase()`, then words from `source.word()` joined by single spaces (the
 *   space starts the following word's token, like " word"), while the string has fewer than
 *   maxLength characters (code points) and fewer than n words or minLength characters. A
 *   word that would pass maxLength ends the string: dropped if it is not the first word and
 *   minLength is met, otherwise cut to the room left (after a space if 2 or more characters
 *   are left, else glued on). A cut word keeps its uncut logprob and alternatives. Then `"`.
 * - format, between forced quotes: date d = `below(10080)` → 2000 + ⌊d / 336⌋, month
 *   1 + ⌊d / 28⌋ mod 12, day 1 + d mod 28; time t = `below(86400)` → hh:mm:ssZ; date-time
 *   x = `below(870912000)` → date ⌊x / 86400⌋ "T" time (x mod 86400); uuid: four `next()`
 *   words written as 32 lowercase hex digits, then the version nibble set to 4 and the
 *   variant bits to 10; email: `startPhrase()`, one `word()` lower-cased (ASCII), reduced to
 *   a–z and 0–9 and cut to EMAIL_LOCAL_MAX ("user" if nothing is left), then one of
 *   EMAIL_DOMAINS by `below(3)`.
 * - array: `[`; when free and maxItems > minItems, the length is minItems + `below(k)` with
 *   k = min(maxItems, minItems + MAX_EXTRA_ITEMS) − minItems + 1, else minItems; items at
 *   depth + 1 separated by `,`; `]`.
 * - object: `{`; each property in order: required ones are included; optional ones are
 *   omitted when not free, else included if `below(2)` is 0; `"name":` and the value at
 *   depth + 1, separated by `,`; `}`.
 * - choice: when free, option `below(n)`, else the smallest option; the option at depth + 1.
 * - anyObject: n = 1 + `below(3)`; `{`; per key, `startPhrase()` and `word()` (a repeated
 *   key gets the suffix "_" + its index), `:`, then a value as choice of a 1–3 word string,
 *   an integer 0..100 or a boolean at depth 1; `}`.
 *
 * Pieces and logprobs: forced text is gathered into one piece until a piece of its own is
 * due (a word, a number, a boolean, a value among several, a format value). A uniform choice
 * among k has probability 1/k: a piece that shows the choice (boolean, value, number, date,
 * email domain) has logprob −ln k and lists in `top_logprobs` the first TOP_OPTIONS options
 * (in order: true/false, the schema's values, ascending numbers and dates; the chosen one in
 * the last place if not among them), a uuid only itself at −122 ln 2. A choice with no text
 * of its own (the word count, an anyOf option, an optional property, an array length, the
 * key count) adds its −ln k to the next piece (to every entry of its `top_logprobs`), so the
 * logprobs of the pieces sum to the log-probability of the answer under these draws.
 */
export function* decodeJson(
  node: SchemaNode,
  source: TextSource,
  rng: Xoshiro128,
): Generator<Piece, void, undefined> {
  const context: Context = { source, rng, out: new Output() };
  yield* value(node, 0, context);
  const last = context.out.flush();
  if (last) yield last;
}

/** Forced text gathered past this many characters is let out as a piece of its own. */
export const MAX_GATHERED_CHARS = 64;

/** Gathers forced text and the choices that no piece of their own shows. */
class Output {
  private text = "";

  get size(): number {
    return this.text.length;
  }
  private logprob = 0;
  private pending = 0;

  /** Forced text; the choices charged since the last text belong to it. */
  append(text: string): void {
    this.logprob += this.pending;
    this.pending = 0;
    this.text += text;
  }

  /** A uniform choice among k whose outcome the next text or piece shows. */
  charge(k: number): void {
    if (k > 1) this.pending -= Math.log(k);
  }

  /** The gathered text as one piece, or undefined if there is none. */
  flush(): Piece | undefined {
    if (this.text === "") return undefined;
    const piece =
      this.logprob === 0
        ? forcedPiece(this.text)
        : {
            token: this.text,
            logprob: this.logprob,
            top_logprobs: [{ token: this.text, logprob: this.logprob }],
          };
    this.text = "";
    this.logprob = 0;
    return piece;
  }

  /** `piece` with the pending choices added to its logprob and its alternatives'. */
  own(piece: Piece): Piece {
    const extra = this.pending;
    if (extra === 0) return piece;
    this.pending = 0;
    return {
      token: piece.token,
      logprob: piece.logprob + extra,
      top_logprobs: piece.top_logprobs.map((t) => ({ token: t.token, logprob: t.logprob + extra })),
    };
  }
}

function* emit(context: Context, piece: Piece): Generator<Piece, void, undefined> {
  const head = context.out.flush();
  if (head) yield head;
  yield context.out.own(piece);
}

function* value(node: SchemaNode, depth: number, context: Context): Generator<Piece, void> {
  const { out, rng } = context;
  switch (node.kind) {
    case "null":
      out.append("null");
      return;
    case "boolean":
      yield* emit(
        context,
        choicePiece(2, rng.below(2), (i) => BOOLEAN_TEXTS[i] ?? "true"),
      );
      return;
    case "values": {
      const { texts } = node;
      if (texts.length === 1) out.append(texts[0] ?? "null");
      else
        yield* emit(
          context,
          choicePiece(texts.length, rng.below(texts.length), (i) => texts[i] ?? ""),
        );
      return;
    }
    case "number": {
      const { first, count, multiple, denominator } = node;
      const textOf = (i: number) => numberText(first + i, multiple, denominator);
      if (count === 1) out.append(textOf(0));
      else yield* emit(context, choicePiece(count, rng.below(count), textOf));
      return;
    }
    case "string":
      yield* string(node, context);
      return;
    case "format":
      out.append('"');
      yield* formatValue(node.format, context);
      out.append('"');
      return;
    case "array":
      yield* array(node, depth, context);
      return;
    case "object":
      yield* object(node, depth, context);
      return;
    case "choice": {
      const n = node.options.length;
      let option = node.smallest;
      if (depth <= MAX_FREE_DEPTH) {
        option = rng.below(n);
        out.charge(n);
      }
      yield* value(at(node.options, option), depth + 1, context);
      return;
    }
    case "ref":
      yield* value(node.target, depth, context);
      return;
    case "anyObject":
      yield* anyObject(context);
      return;
  }
}

/** A uniform choice among `count` options, the `chosen`th shown; `textOf(i)` is option i. */
function choicePiece(count: number, chosen: number, textOf: (i: number) => string): Piece {
  const logprob = -Math.log(count);
  const token = textOf(chosen);
  const listed = Math.min(count, TOP_OPTIONS);
  const top: Piece["top_logprobs"] = [];
  for (let i = 0; i < listed; i++) top.push({ token: textOf(i), logprob });
  if (chosen >= listed) top[listed - 1] = { token, logprob };
  return { token, logprob, top_logprobs: top };
}

type StringNode = Extract<SchemaNode, { kind: "string" }>;

function* string(node: StringNode, context: Context): Generator<Piece, void> {
  const { out, rng, source } = context;
  const { minLength, maxLength, maxWords } = node;
  out.append('"');
  if (maxLength === 0) {
    out.append('"');
    return;
  }
  const wanted = 1 + rng.below(maxWords);
  out.charge(maxWords);
  source.startPhrase();
  let length = 0;
  for (let words = 0; words < wanted || length < minLength; words++) {
    if (length >= maxLength) break;
    const piece = source.word();
    const gap = words > 0 ? 1 : 0;
    const size = codePoints(piece.token);
    if (length + gap + size <= maxLength) {
      yield* emit(context, spaced(piece, gap === 1, piece.token));
      length += gap + size;
      continue;
    }
    if (words > 0 && length >= minLength) break;
    // The word must be cut to reach minLength without passing maxLength. The piece keeps the
    // uncut word's logprob and alternatives: the model chose the word, the schema cut it.
    const room = maxLength - length;
    const spaceFits = gap === 1 && room >= 2;
    const cut = prefix(piece.token, spaceFits ? room - 1 : room);
    yield* emit(context, spaced(piece, spaceFits, cut));
    break;
  }
  out.append('"');
}

/** `piece` with `text` as its token, escaped for a JSON string, after a space if `space`. */
function spaced(piece: Piece, space: boolean, text: string): Piece {
  if (!space && text === piece.token && !needsEscape(text)) return piece;
  const lead = space ? " " : "";
  return {
    token: lead + escapeJson(text),
    logprob: piece.logprob,
    top_logprobs: piece.top_logprobs.map((t) => ({
      token: lead + escapeJson(t.token),
      logprob: t.logprob,
    })),
  };
}

function* formatValue(
  format: Extract<SchemaNode, { kind: "format" }>["format"],
  context: Context,
): Generator<Piece, void> {
  const { rng, source } = context;
  switch (format) {
    case "date":
      yield* emit(context, choicePiece(DATES, rng.below(DATES), dateText));
      return;
    case "time":
      yield* emit(context, choicePiece(SECONDS_PER_DAY, rng.below(SECONDS_PER_DAY), timeText));
      return;
    case "date-time": {
      const count = DATES * SECONDS_PER_DAY;
      yield* emit(context, choicePiece(count, rng.below(count), dateTimeText));
      return;
    }
    case "uuid": {
      const token = uuidText(rng);
      yield* emit(context, {
        token,
        logprob: UUID_LOGPROB,
        top_logprobs: [{ token, logprob: UUID_LOGPROB }],
      });
      return;
    }
    case "email": {
      source.startPhrase();
      const word = source.word();
      yield* emit(context, {
        token: emailLocal(word.token),
        logprob: word.logprob,
        top_logprobs: word.top_logprobs.map((t) => ({
          token: emailLocal(t.token),
          logprob: t.logprob,
        })),
      });
      const domain = rng.below(EMAIL_DOMAINS.length);
      yield* emit(
        context,
        choicePiece(EMAIL_DOMAINS.length, domain, (i) => EMAIL_DOMAINS[i] ?? ""),
      );
      return;
    }
  }
}

type ArrayNode = Extract<SchemaNode, { kind: "array" }>;

function* array(node: ArrayNode, depth: number, context: Context): Generator<Piece, void> {
  const { out, rng } = context;
  const { prefix, rest, minItems, maxItems } = node;
  out.append("[");
  let length = minItems;
  const most = Math.min(maxItems, minItems + MAX_EXTRA_ITEMS);
  if (depth <= MAX_FREE_DEPTH && most > minItems) {
    const k = most - minItems + 1;
    length += rng.below(k);
    out.charge(k);
  }
  for (let i = 0; i < length; i++) {
    // Items the schema fixes whole (nulls, a const) would otherwise gather into one piece as
    // long as minItems allows, unseen by max_tokens: each piece holds at most this much.
    if (out.size >= MAX_GATHERED_CHARS) {
      const gathered = out.flush();
      if (gathered) yield gathered;
    }
    if (i > 0) out.append(",");
    // compileSchema caps maxItems at the prefix length when `rest` is null.
    const item = i < prefix.length ? at(prefix, i) : rest;
    if (item === null) throw new RangeError(`array item ${i} has no schema`);
    yield* value(item, depth + 1, context);
  }
  out.append("]");
}

type ObjectNode = Extract<SchemaNode, { kind: "object" }>;

function* object(node: ObjectNode, depth: number, context: Context): Generator<Piece, void> {
  const { out, rng } = context;
  out.append("{");
  let first = true;
  for (const property of node.properties) {
    if (!property.required) {
      if (depth > MAX_FREE_DEPTH) continue;
      const included = rng.below(2) === 0;
      out.charge(2);
      if (!included) continue;
    }
    if (!first) out.append(",");
    out.append(property.keyText);
    first = false;
    yield* value(property.node, depth + 1, context);
  }
  out.append("}");
}

function* anyObject(context: Context): Generator<Piece, void> {
  const { out, rng, source } = context;
  const count = 1 + rng.below(3);
  out.charge(3);
  out.append("{");
  const keys: string[] = [];
  for (let i = 0; i < count; i++) {
    out.append(i > 0 ? ',"' : '"');
    source.startPhrase();
    const word = source.word();
    let key = escapeJson(word.token);
    // Words never contain "_", so the suffix makes a repeated key unique.
    if (keys.includes(key)) key = `${key}_${i}`;
    keys.push(key);
    yield* emit(context, { ...spaced(word, false, word.token), token: key });
    out.append('":');
    yield* value(ANY_OBJECT_VALUE, 1, context);
  }
  out.append("}");
}

function at<T>(list: readonly T[], i: number): T {
  const item = list[i];
  if (item === undefined) throw new RangeError(`no item ${i}`);
  return item;
}

function dateText(d: number): string {
  const year = 2000 + Math.floor(d / 336);
  const month = 1 + (Math.floor(d / 28) % 12);
  const day = 1 + (d % 28);
  return `${year}-${two(month)}-${two(day)}`;
}

function timeText(t: number): string {
  return `${clock(t)}Z`;
}

function dateTimeText(x: number): string {
  return `${dateText(Math.floor(x / SECONDS_PER_DAY))}T${clock(x % SECONDS_PER_DAY)}Z`;
}

/** hh:mm:ss of second t of the day. */
function clock(t: number): string {
  return `${two(Math.floor(t / 3600))}:${two(Math.floor(t / 60) % 60)}:${two(t % 60)}`;
}

function two(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}

/** A version 4 uuid from four draws: 122 random bits. */
function uuidText(rng: Xoshiro128): string {
  let hex = "";
  for (let i = 0; i < 4; i++) hex += rng.next().toString(16).padStart(8, "0");
  // Version nibble (hex digit 12) is 4; variant bits (the top of hex digit 16) are 10.
  const variant = "89ab"[Number.parseInt(hex[16] ?? "0", 16) & 3] ?? "8";
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20)}`;
}

/** The local part of an email from a word: ASCII lower case, a–z and 0–9 only, capped. */
function emailLocal(word: string): string {
  let local = "";
  for (let i = 0; i < word.length && local.length < EMAIL_LOCAL_MAX; i++) {
    const c = word.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) local += String.fromCharCode(c + 32);
    else if ((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39)) local += word[i];
  }
  return local === "" ? "user" : local;
}

function needsEscape(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return true;
  }
  return false;
}

/** `text` as it appears inside a JSON string (JSON.stringify's escaping). */
function escapeJson(text: string): string {
  return needsEscape(text) ? JSON.stringify(text).slice(1, -1) : text;
}

function codePoints(text: string): number {
  let count = text.length;
  for (let i = 0; i + 1 < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        count--;
        i++;
      }
    }
  }
  return count;
}

/** The first `n` code points of `text`. */
function prefix(text: string, n: number): string {
  let end = 0;
  for (let taken = 0; taken < n && end < text.length; taken++) {
    const c = text.charCodeAt(end);
    const next = text.charCodeAt(end + 1);
    end += c >= 0xd800 && c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff ? 2 : 1;
  }
  return text.slice(0, end);
}
