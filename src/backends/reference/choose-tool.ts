import type { FunctionTool } from "@verity/protocol/request";
import type { ChatInput } from "../backend";
import { STOPWORDS } from "./prompt-keywords";
import { asciiLowerCase, isWordToken, tokenize } from "./tokenize";

/**
 * Which function verity-ngram-1 calls, if any; the rule is part of the model:
 * - no tools, or `tool_choice` "none": none;
 * - a named function: that one;
 * - otherwise each tool scores the number of distinct words it shares with the last user
 *   message, where a tool's words are its name split at `_`, `-` and lower-to-upper case
 *   changes, and its description; words are ASCII-lower-cased, stopwords are left out, and a
 *   final "s" is dropped from words of more than 3 letters, so "forecasts" meets "forecast";
 * - "auto" calls the best-scoring tool if it scores at least 1 and the conversation ends with
 *   a user message (after a tool result the model answers in words); ties go to the earliest;
 * - "required" calls the best-scoring tool, or the first when none scores.
 */
export function chooseTool(input: ChatInput): FunctionTool | undefined {
  const tools = input.tools ?? [];
  const choice = input.tool_choice ?? "auto";
  if (tools.length === 0 || choice === "none") return undefined;
  if (typeof choice === "object")
    return tools.find((t) => t.function.name === choice.function.name);

  const lastUser = input.messages.findLast((m) => m.role === "user");
  const asked = wordsOf(lastUser?.content ?? "");
  let best: FunctionTool | undefined;
  let bestScore = 0;
  for (const tool of tools) {
    const own = wordsOf(`${splitName(tool.function.name)} ${tool.function.description ?? ""}`);
    let score = 0;
    for (const word of own) if (asked.has(word)) score++;
    if (score > bestScore) {
      best = tool;
      bestScore = score;
    }
  }
  if (choice === "required") return best ?? tools[0];
  const endsWithUser = input.messages[input.messages.length - 1]?.role === "user";
  return endsWithUser ? best : undefined;
}

function splitName(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1 $2").replace(/[_-]+/g, " ");
}

function wordsOf(text: string): Set<string> {
  const words = new Set<string>();
  for (const token of tokenize(text)) {
    if (!isWordToken(token)) continue;
    const word = asciiLowerCase(token);
    if (STOPWORDS.has(word)) continue;
    words.add(word.length > 3 && word.endsWith("s") ? word.slice(0, -1) : word);
  }
  return words;
}
