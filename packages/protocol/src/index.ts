export * from "./batch-proposal";
export { batchRoot } from "./batch-root";
export * from "./batch-sign-request";
export { canonicalJson, hashCanonical, JsonString } from "./canonical";
export * from "./chain-view";
export * from "./check-round-outcome";
export * from "./committee";
// The verification layer's messages (owned with the verification layer).
export * from "./heartbeat";
export { InferenceId, inferenceIdTimestamp, newInferenceId } from "./inference-id";
export * from "./merkle-leaf";
export { buildMerkleTree, type MerkleTree, proofIndices } from "./merkle-tree";
export * from "./policy";
export { ProtocolError } from "./protocol-error";
export {
  Bytes32,
  ChecksumAddress,
  RECEIPT_DOMAIN,
  RECEIPT_DOMAIN_V2,
  RECEIPT_TYPES,
  RECEIPT_TYPES_V2,
  Receipt,
  receiptDigest,
  receiptTypedDataV1,
  receiptTypedDataV2,
  SignatureHex,
  signReceipt,
  Uint256String,
  UNSET_FEE,
  UNSET_MODEL_DIGEST,
  UnsignedReceipt,
  UnsignedReceiptV1,
  UnsignedReceiptV2,
} from "./receipt";
export * from "./recover-signer";
export {
  ChatMessage,
  FunctionTool,
  JsonSchema,
  NormalizedChatRequest,
  NormalizedEmbeddingRequest,
  NormalizedRequest,
  ResponseFormat,
  requestHash,
  ToolCall,
  ToolChoice,
} from "./request";
export {
  ChatChoiceContent,
  ChatResponseContent,
  ChosenTokenLogprob,
  chatChoices,
  EmbeddingResponseContent,
  ResponseContent,
  responseHash,
} from "./response";
export * from "./round-outcome";
export * from "./settlement-batch";
export * from "./task-envelope";
export * from "./verdict";
export * from "./verification-strength";
export * from "./verification-task";
export {
  type ReceiptFailureReason,
  type ReceiptVerification,
  type VerifyReceiptOptions,
  verifyReceipt,
} from "./verify-receipt";
export * from "./verify-record";
export * from "./verity-client";
export * from "./verity-record";
