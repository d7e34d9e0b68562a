import { it } from 'vitest';
import { postgresBinDir } from '../../src/sandbox/postgres-server.js';

/**
 * Tests that need Debian's PostgreSQL server: they run where it is installed and are skipped,
 * named, where it is not (a developer's machine); CI sets TRIMP_REQUIRE_POSTGRES=1, and there a
 * missing server fails the suite instead.
 */
export function postgresTests(): { installed: boolean; pgIt: typeof it } {
  let installed = true;
  try {
    postgresBinDir();
  } catch {
    installed = false;
  }
  if (process.env.TRIMP_REQUIRE_POSTGRES === '1' && !installed)
    throw new Error("the PostgreSQL server is missing: .ci/run installs Debian's postgresql");
  return { installed, pgIt: installed ? it : (it.skip as unknown as typeof it) };
}
