import { describe, expect, it } from "vitest";
import { glossSentences } from "./corpus";

const LICENSE_LINE = "  1 This software and database is being provided to you, the LICENSEE, by  ";
const line = (gloss: string) => `00002684 03 n 02 object 0 physical_object 0 000 | ${gloss}  `;

describe("glossSentences", () => {
  it("splits a gloss into its definition and its quoted examples", () => {
    const file = [
      LICENSE_LINE,
      line('a tangible and visible entity; "it was full of rackets, balls and other objects"'),
    ].join("\n");
    expect(glossSentences(file)).toEqual([
      ["a", "tangible", "and", "visible", "entity", "."],
      ["it", "was", "full", "of", "rackets", ",", "balls", "and", "other", "objects", "."],
    ]);
  });

  it("skips license lines and lines without a gloss", () => {
    expect(glossSentences(`${LICENSE_LINE}\n00001740 03 n 01 entity 0 000\n`)).toEqual([]);
  });

  it("removes parenthesised asides, quotes and attributions, and keeps final ? and !", () => {
    const file = line(
      'the presence of stones (calculi) in the kidney; "how big is `that` part?"; "go away now!"- W.E. Swinton',
    );
    expect(glossSentences(file)).toEqual([
      ["the", "presence", "of", "stones", "in", "the", "kidney", "."],
      ["how", "big", "is", "that", "part", "?"],
      ["go", "away", "now", "!"],
    ]);
  });

  it("does not split at semicolons inside an example", () => {
    expect(glossSentences(line('"first we eat; then we sleep"'))).toEqual([
      ["first", "we", "eat", ";", "then", "we", "sleep", "."],
    ]);
  });

  it("drops segments that are too short or hold more than one sentence", () => {
    expect(
      glossSentences(
        line('pretty big; "so... was it?"; "Mr. Smith left early"; a valid segment here'),
      ),
    ).toEqual([["a", "valid", "segment", "here", "."]]);
  });

  it("drops trailing commas and colons before adding the final period", () => {
    expect(glossSentences(line("includes the genera Asparagus and Ruscus:"))).toEqual([
      ["includes", "the", "genera", "Asparagus", "and", "Ruscus", "."],
    ]);
  });
});
