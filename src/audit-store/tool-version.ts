import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../database/project-root.util';

/** The package version, recorded with every run in the audit trail. */
export const TOOL_VERSION: string = (() => {
  try {
    return String(JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')).version);
  } catch {
    return 'unknown';
  }
})();
