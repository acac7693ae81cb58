import { afterEach, beforeEach } from "vitest";
import { tempDir } from "./tmp.js";

/**
 * A fresh temp dir for every test of the file (`.dir` follows it); after each test `before` runs
 * first (close what the test opened there), then the dir is removed.
 */
export function tempDirPerTest(before: () => void = () => {}): { dir: string } {
  const t = { dir: "" };
  let cleanup = () => {};
  beforeEach(() => {
    ({ dir: t.dir, cleanup } = tempDir());
  });
  afterEach(() => {
    try {
      before();
    } finally {
      cleanup();
    }
  });
  return t;
}
