import { expect, test } from "bun:test";
import { JsonInputError, jsonDepth, JsonTooDeepError, MAX_JSON_DEPTH, parseJson } from "./json.ts";

test("depth counts arrays and objects, not brackets inside strings (escaped quotes included)", () => {
  expect(jsonDepth("1")).toBe(0);
  expect(jsonDepth("[]")).toBe(1);
  expect(jsonDepth('[{"a":[1,{"b":2}]}]')).toBe(4);
  expect(jsonDepth('["[[[[", "\\"[[[[", {"k]]": "{{{"}]')).toBe(2);
  expect(jsonDepth("[[[[[[[[[[", 3)).toBe(4);
});

test("parseJson takes a batch, refuses deep nesting and bad JSON, each with a message naming it", () => {
  expect(parseJson('[{"studentId":"s1","score":10}]', "request body")).toEqual([{ studentId: "s1", score: 10 }]);
  const deep = "[".repeat(MAX_JSON_DEPTH + 1) + "]".repeat(MAX_JSON_DEPTH + 1);
  expect(() => parseJson(deep, "request body")).toThrow(new JsonTooDeepError(`request body nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels`));
  expect(() => parseJson(deep, "request body")).toThrow(JsonTooDeepError);
  expect(parseJson("[".repeat(MAX_JSON_DEPTH) + "]".repeat(MAX_JSON_DEPTH), "request body")).toBeArray();
  expect(() => parseJson("[".repeat(100_000), "request body")).toThrow("deeper than");
  expect(() => parseJson("{not json", "message")).toThrow(new JsonInputError("message is not valid JSON"));
});
