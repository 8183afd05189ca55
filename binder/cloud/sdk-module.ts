/**
 * The Alibaba SDK packages are CommonJS. Under Node's ESM loader a default import is the whole
 * `module.exports`, so the class is its `.default`; other loaders (and the type checker) hand the class
 * itself. This accepts both shapes.
 */
export function sdkDefaultExport<T>(module: { default: T }): T {
  return (module as { default?: T }).default ?? (module as unknown as T);
}
