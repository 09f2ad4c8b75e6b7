export { EMBEDDING_DIMENSIONS } from "./embed-text";
export { referenceBackend } from "./reference-backend";
export {
  REFERENCE_CHAT_MODEL,
  REFERENCE_EMBEDDING_MODEL,
  REFERENCE_MODELS,
} from "./reference-models";
export { countMessageTokens, countTokens, tokenize } from "./tokenize";
