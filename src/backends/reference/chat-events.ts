import type { ChatEvent, ChatInput } from "../backend";
import { StopSequenceFilter } from "../stop-sequences";
import { Detokenizer } from "./detokenizer";
import { generateTokens } from "./generate-tokens";
import type { NgramModel } from "./ngram-model";
import { countMessageTokens } from "./tokenize";

/**
 * The events of a verity-ngram-1 completion: one delta per generated token, then `done`.
 * Text that might begin a stop sequence is held back until the next tokens settle it, so a
 * delta then carries several tokens; the output ends just before the first stop sequence
 * with finish reason "stop". `completionTokens` counts every generated token, including
 * those cut by a stop sequence; `promptTokens` is `countMessageTokens` of the messages.
 */
export function* chatEvents(
  model: NgramModel,
  input: ChatInput,
  signal?: AbortSignal,
): Generator<ChatEvent, void, undefined> {
  const detokenizer = new Detokenizer();
  const stops = new StopSequenceFilter(input.stop);
  const tokens = generateTokens(model, input);
  const promptTokens = countMessageTokens(input.messages);
  let completionTokens = 0;
  for (;;) {
    signal?.throwIfAborted();
    const step = tokens.next();
    if (step.done) {
      const rest = stops.flush();
      if (rest) yield { type: "delta", text: rest };
      yield { type: "done", finishReason: step.value, usage: { promptTokens, completionTokens } };
      return;
    }
    completionTokens++;
    const text = stops.push(detokenizer.render(model.vocab[step.value] ?? ""));
    if (text) yield { type: "delta", text };
    if (stops.stopped) {
      yield { type: "done", finishReason: "stop", usage: { promptTokens, completionTokens } };
      return;
    }
  }
}
