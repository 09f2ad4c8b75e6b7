import type { ChatMessage } from "@verity/protocol/request";
import { findWord, type NgramModel } from "./ngram-model";
import { asciiLowerCase, isWordToken, tokenize } from "./tokenize";

/** A prompt keyword costs 3 bits less (is 8 times likelier) until the reply uses it. */
export const KEYWORD_BONUS = 48;
/** A word that follows a keyword in the corpus costs 1 bit less until the reply uses it. */
export const RELATED_BONUS = 16;
/** How many of a keyword's best continuations count as related words. */
export const RELATED_PER_KEYWORD = 8;

// English function words, and the words people use to ask rather than to say what about.
export const STOPWORDS: ReadonlySet<string> = new Set(
  (
    "a about above after again against all also am an and any are as at be because been before " +
    "being below between both but by can cannot could did do does doing don't down during each " +
    "few for from further get give had has have having he her here hers herself him himself his " +
    "how i if in into is it it's its itself just let me more most my myself no nor not of off on " +
    "once only or other our ours ourselves out over own same she should so some such than that " +
    "the their theirs them themselves then there these they this those through to too under " +
    "until up us very was we were what when where which while who whom why will with would you " +
    "your yours yourself yourselves " +
    "tell explain describe please show write say know think want like help hi hello hey thanks " +
    "thank really something anything thing things much many make one i'm what's"
  ).split(" "),
);

/**
 * The ids of the keywords of a conversation, in the order they appear: the distinct words of
 * the last user message (the last message if no user spoke) that the model knows
 * (ASCII-case-insensitively) and that are not stopwords.
 */
export function promptKeywords(model: NgramModel, messages: readonly ChatMessage[]): number[] {
  const source =
    messages.findLast((message) => message.role === "user") ?? messages[messages.length - 1];
  const keywords: number[] = [];
  for (const token of tokenize(source?.content ?? "")) {
    if (!isWordToken(token) || STOPWORDS.has(asciiLowerCase(token))) continue;
    const id = findWord(model, token);
    if (id !== undefined && !keywords.includes(id)) keywords.push(id);
  }
  return keywords;
}

/**
 * The cost bonus of each id the reply should lean towards: KEYWORD_BONUS for the keywords,
 * RELATED_BONUS for the first RELATED_PER_KEYWORD continuations of each keyword (in the
 * model's order) that are words and not stopwords.
 */
export function keywordBonuses(
  model: NgramModel,
  keywords: readonly number[],
): Map<number, number> {
  const bonus = new Map<number, number>();
  for (const keyword of keywords) bonus.set(keyword, KEYWORD_BONUS);
  for (const keyword of keywords) {
    const end = model.bigramStart[keyword + 1] ?? 0;
    let related = 0;
    for (let e = model.bigramStart[keyword] ?? 0; e < end && related < RELATED_PER_KEYWORD; e++) {
      const id = model.bigramNext[e] ?? 0;
      const token = model.vocab[id] ?? "";
      if (!isWordToken(token) || STOPWORDS.has(asciiLowerCase(token))) continue;
      related++;
      if (!bonus.has(id)) bonus.set(id, RELATED_BONUS);
    }
  }
  return bonus;
}
