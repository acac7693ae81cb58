import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");
const log = readFileSync(process.env.HAZARD_LOG ?? join(root, "docs/safety/hazard-log.md"), "utf8");

/** Every `` `file` › `title` `` reference in the log. */
function references(text: string): Array<{ file: string; title: string }> {
  const found: Array<{ file: string; title: string }> = [];
  for (const m of text.matchAll(/`([^`\s]+\.test\.ts)` › `([^`]+)`/g)) {
    found.push({ file: m[1] as string, title: m[2] as string });
  }
  return found;
}

/** Test titles as written in a file: `it("…"`, `test("…"`, in any quote style, possibly templated. */
function titlesIn(source: string): Set<string> {
  const titles = new Set<string>();
  for (const m of source.matchAll(/\b(?:it|test)(?:\.\w+)*\(\s*(["'`])((?:\\.|(?!\1).)*)\1/gs)) {
    titles.add((m[2] as string).replace(/\\(["'`\\])/g, "$1"));
  }
  return titles;
}

describe("hazard log", () => {
  const refs = references(log);

  it("names tests for its hazards", () => {
    expect(refs.length).toBeGreaterThanOrEqual(10);
  });

  it("every test it names still exists, by file and exact title", () => {
    const missing: string[] = [];
    for (const { file, title } of refs) {
      const path = join(root, file);
      if (!existsSync(path)) {
        missing.push(`${file} (no such file)`);
        continue;
      }
      if (!titlesIn(readFileSync(path, "utf8")).has(title)) missing.push(`${file} › ${title}`);
    }
    expect(missing).toEqual([]);
  });

  it("every row sits in its hazard's table, under the header, and no row is there twice within a hazard", () => {
    const misplaced: string[] = [];
    const seen = new Set<string>();
    const twice: string[] = [];
    let inTable = false;
    for (const line of log.split("\n")) {
      if (line.startsWith("## ")) {
        inTable = false;
        seen.clear();
      }
      if (line === "|---|---|---|") inTable = true;
      else if (line.startsWith("| ") && !line.startsWith("| cause |")) {
        if (!inTable) misplaced.push(line.slice(0, 80));
        if (seen.has(line)) twice.push(line.slice(0, 80));
        seen.add(line);
      } else if (!line.startsWith("| cause |")) inTable = false;
    }
    expect({ misplaced, twice }).toEqual({ misplaced: [], twice: [] });
  });

  it("reads a title the way the log writes it (the checker itself)", () => {
    const src = `it("a \\"quoted\\" title", () => {});\ntest('single', () => {});\nit.skip(\`tick\`, () => {});`;
    expect([...titlesIn(src)]).toEqual(['a "quoted" title', "single", "tick"]);
    expect(references("`test/x.test.ts` › `a title`")).toEqual([
      { file: "test/x.test.ts", title: "a title" },
    ]);
  });
});
