import { z } from "zod";

const MAX_INPUTS = 2048;

/** The body of `POST /v1/embeddings`. Token-array inputs are not supported: there is no shared tokenizer. */
export const EmbeddingBody = z.strictObject({
  model: z.string().min(1),
  input: z.union([
    z.string().min(1, { message: "must not be empty" }),
    z
      .array(z.string().min(1, { message: "must not be empty" }))
      .min(1)
      .max(MAX_INPUTS),
  ]),
  encoding_format: z.enum(["float", "base64"]).optional(),
  user: z.string().max(256).optional(),
});
export type EmbeddingBody = z.output<typeof EmbeddingBody>;
