import { decodeNgramModel, type NgramModel } from "./ngram-model";
import { ENCODED_NGRAM_MODEL } from "./ngram-model.generated";

let committed: NgramModel | undefined;

/**
 * The committed verity-ngram-1 model, decoded on first use rather than at import, so that
 * importing the backend costs nothing until a request needs it.
 */
export function referenceLanguageModel(): NgramModel {
  committed ??= decodeNgramModel(ENCODED_NGRAM_MODEL);
  return committed;
}
