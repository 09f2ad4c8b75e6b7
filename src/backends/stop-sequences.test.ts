import { describe, expect, it } from "vitest";
import { StopSequenceFilter } from "./stop-sequences";

function run(stops: string[], deltas: string[]) {
  const filter = new StopSequenceFilter(stops);
  const emitted = deltas.map((delta) => filter.push(delta));
  return { emitted, rest: filter.flush(), stopped: filter.stopped };
}

describe("StopSequenceFilter", () => {
  it("ends the text just before a stop sequence inside one delta", () => {
    expect(run(["\n\n"], ["Paris.\n\nNext"])).toEqual({
      emitted: ["Paris."],
      rest: "",
      stopped: true,
    });
  });

  it("finds a stop sequence split across deltas, holding back only its possible start", () => {
    const { emitted, rest, stopped } = run(["</answer>"], ["42</", "ans", "wer> trailing"]);
    expect(emitted).toEqual(["42", "", ""]);
    expect({ rest, stopped }).toEqual({ rest: "", stopped: true });
  });

  it("releases held-back text once it cannot be a stop sequence", () => {
    const { emitted, rest, stopped } = run(["END"], ["the E", "ND", "x"]);
    expect(emitted.join("") + rest).toBe("the ");
    expect(stopped).toBe(true);
    expect(run(["END"], ["the E", "nd"]).emitted).toEqual(["the ", "End"]);
  });

  it("stops at the earliest of several stop sequences", () => {
    expect(run(["world", "lo"], ["hello world"]).emitted).toEqual(["hel"]);
  });

  it("gives back a partial stop sequence left at the end of the stream", () => {
    expect(run(["###"], ["a #", "#"])).toEqual({ emitted: ["a ", ""], rest: "##", stopped: false });
  });

  it("passes text through untouched without stop sequences, and ignores deltas after a stop", () => {
    expect(run([], ["a", "b"]).emitted).toEqual(["a", "b"]);
    expect(run(["b"], ["ab", "c"]).emitted).toEqual(["a", ""]);
  });
});
