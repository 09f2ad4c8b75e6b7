import type { NormalizedRequest } from "@verity/protocol";

/** Extra time a verifier gets per embedding input it must re-execute. */
export const MS_PER_EMBEDDING_INPUT = 5;
/** Extra time per completion token a chat may generate, in all its choices. */
export const MS_PER_MAX_TOKEN = 2;

/**
 * How long a verifier has to answer a task: the base deadline plus the work of re-executing the
 * request, so that a 2,048-input embedding call gets about 10 s more than a short chat rather
 * than going silent for being large.
 */
export function taskDeadlineMs(request: NormalizedRequest, baseMs: number): number {
  const work =
    request.kind === "embedding"
      ? request.input.length * MS_PER_EMBEDDING_INPUT
      : // Every one of the n choices is re-executed.
        request.max_tokens * (request.n ?? 1) * MS_PER_MAX_TOKEN;
  return baseMs + work;
}
