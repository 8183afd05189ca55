/**
 * Which top-level folder may import which: the arrows between them run one way only, so each program
 * can be read, started and shipped without the folders it does not need. Reads the specifiers of every
 * static `import`, `export … from` and dynamic `import()` in the TypeScript sources.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

/** For each top-level folder, the folders it may import besides itself; absent from the map: anything. */
export const ALLOWED_IMPORTS: ReadonlyMap<string, readonly string[]> = new Map([
  ['api', []],
  ['certs', ['api']],
  ['webhook', ['api', 'certs']],
  ['binder', ['api', 'certs']],
  ['sandbox', ['api', 'certs']],
]);

/** Folders whose sources are checked; cli/ may import anything, and is read for the rule below. */
export const CHECKED_FOLDERS = ['api', 'certs', 'webhook', 'binder', 'sandbox', 'cli'] as const;

/**
 * Modules that ship only with a checkout (the published package leaves them out): the CLI's product
 * modules may reach them only by a dynamic import, which cli/main.ts guards.
 */
export function isCheckoutOnly(path: string): boolean {
  return (
    path.startsWith('sandbox/') ||
    path.startsWith('cli/demo/') ||
    path === 'cli/commands/demo.ts' ||
    path === 'cli/commands/sandbox.ts'
  );
}

interface ImportSite {
  from: string;
  to: string;
  dynamic: boolean;
}

function sourceFiles(root: string, folder: string): string[] {
  let entries;
  try {
    entries = readdirSync(join(root, folder), { withFileTypes: true, recursive: true });
  } catch {
    return [];
  }
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => relative(root, join(e.parentPath, e.name)).split(sep).join('/'));
}

/** Our own modules a file imports, as paths from the root with `.js` read as `.ts`. */
function importsOf(root: string, file: string): ImportSite[] {
  const text = readFileSync(join(root, file), 'utf8');
  const sites: ImportSite[] = [];
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const add = (specifier: ts.Expression | undefined, dynamic: boolean): void => {
    if (specifier === undefined || !ts.isStringLiteralLike(specifier) || !specifier.text.startsWith('.')) return;
    const target = relative(root, resolve(root, dirname(file), specifier.text))
      .split(sep)
      .join('/');
    sites.push({ from: file, to: target.replace(/\.js$/, '.ts'), dynamic });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) add(node.moduleSpecifier, false);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword)
      add(node.arguments[0], true);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return sites;
}

/** Every import that breaks a rule, one line each; empty when the tree keeps them all. */
export function folderImportViolations(root: string): string[] {
  const violations: string[] = [];
  for (const folder of CHECKED_FOLDERS) {
    for (const file of sourceFiles(root, folder)) {
      for (const site of importsOf(root, file)) {
        const target = site.to.split('/')[0]!;
        const allowed = ALLOWED_IMPORTS.get(folder);
        if (target !== folder && allowed !== undefined && !allowed.includes(target)) {
          const may = allowed.length === 0 ? 'nothing of ours' : allowed.join(' and ');
          violations.push(`${site.from} imports ${site.to}: ${folder}/ may import ${may}`);
        } else if (!site.dynamic && !isCheckoutOnly(site.from) && isCheckoutOnly(site.to)) {
          violations.push(`${site.from} imports ${site.to}, which ships only with a checkout, without import()`);
        }
      }
    }
  }
  return violations;
}
