import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { folderImportViolations } from './folder-imports.js';

const repository = fileURLToPath(new URL('../..', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'podeip-folder-imports-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function tree(name: string, files: Record<string, string>): string {
  const root = join(scratch, name);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe('imports between top-level folders', () => {
  it('run one way only in this repository', () => {
    expect(folderImportViolations(repository)).toEqual([]);
  });

  it('are caught when static, re-exported or dynamic, and when product code reaches the sandbox', () => {
    const root = tree('planted', {
      'api/a.ts': "import { x } from '../webhook/w.js';\nexport const a = x;\n",
      'certs/c.ts': "export { a } from '../api/a.js';\nexport * from '../binder/b.js';\n",
      'webhook/w.ts': "import type { B } from '../binder/b.js';\nexport const x = 1;\nexport type W = B;\n",
      'binder/b.ts': "export type B = number;\nexport const load = () => import('../cli/config.js');\n",
      'binder/deep/c.ts': "import '../../sandbox/s.js';\nimport { a } from '../../api/a.js';\nexport const c = a;\n",
      'sandbox/s.ts':
        "import { x } from '../webhook/w.js';\nimport { a } from '../api/a.js';\nexport const s = [x, a];\n",
      'cli/main.ts': "import { s } from '../sandbox/s.js';\nexport const later = () => import('./commands/demo.js');\n",
      'cli/commands/demo.ts': "import { s } from '../../sandbox/s.js';\nexport const d = s;\n",
      'cli/x.ts': "import 'node:fs';\nimport 'ajv';\n",
    });
    expect(folderImportViolations(root).sort()).toEqual(
      [
        'api/a.ts imports webhook/w.ts: api/ may import nothing of ours',
        'certs/c.ts imports binder/b.ts: certs/ may import api',
        'webhook/w.ts imports binder/b.ts: webhook/ may import api and certs',
        'binder/b.ts imports cli/config.ts: binder/ may import api and certs',
        'binder/deep/c.ts imports sandbox/s.ts: binder/ may import api and certs',
        'sandbox/s.ts imports webhook/w.ts: sandbox/ may import api and certs',
        'cli/main.ts imports sandbox/s.ts, which ships only with a checkout, without import()',
      ].sort(),
    );
  });
});
