// placeholder: owned by the protocol helper; ChatMessage is the normalised message shape.
export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}
