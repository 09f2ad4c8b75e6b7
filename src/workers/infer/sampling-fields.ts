import { z } from "zod";

const UINT32_MAX = 0xffff_ffff;

// The fields Chat Completions, Completions and Responses share, with OpenAI's ranges, so that one
// value means the same and is refused the same way on every route.
export const Temperature = z.number().min(0).max(2).nullish();
export const TopP = z.number().min(0).max(1).nullish();
export const Seed = z
  .number()
  .int()
  .min(0)
  .max(UINT32_MAX, { message: `must be an integer from 0 to ${UINT32_MAX}` })
  .nullish();
export const Stop = z.union([z.string().min(1), z.array(z.string().min(1)).max(4)]).nullish();
export const ChoiceCount = z.number().int().min(1).max(128).nullish();
export const Penalty = z.number().min(-2).max(2).nullish();
export const LogitBias = z.record(z.string(), z.number().min(-100).max(100)).nullish();
export const StreamOptions = z
  .strictObject({
    include_usage: z.boolean().optional(),
    include_obfuscation: z.boolean().optional(),
  })
  .nullish();
