import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A real, tiny filesystem (tmpfs of `bytes`) so "disk full" is the kernel's ENOSPC, not a SQLite
 * page limit. Needs root (CAP_SYS_ADMIN); returns undefined where mounting is not permitted.
 */
export function mountSmallFs(bytes: number): { dir: string; cleanup: () => void } | undefined {
  const dir = mkdtempSync(join(tmpdir(), "pkb-hub-smallfs-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${bytes},mode=0700`, "tmpfs", dir], {
      stdio: "ignore",
    });
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
  return {
    dir,
    cleanup: () => {
      execFileSync("umount", [dir], { stdio: "ignore" });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
