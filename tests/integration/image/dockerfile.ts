/**
 * Just enough of the Dockerfile's grammar to read our own Dockerfile: comments, `\` line continuations,
 * global ARGs with defaults, and stages (FROM … [AS name]) with their instructions.
 */

export interface DockerInstruction {
  keyword: string;
  /** Everything after the keyword, continuations joined, whitespace collapsed. */
  args: string;
}

export interface DockerStage {
  from: string;
  name?: string;
  instructions: DockerInstruction[];
}

export interface Dockerfile {
  /** ARGs before the first FROM, with their defaults. */
  args: Record<string, string>;
  stages: DockerStage[];
}

export function parseDockerfile(text: string): Dockerfile {
  const logical: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && pending === '')) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    logical.push(`${pending}${line}`.replace(/\s+/g, ' ').trim());
    pending = '';
  }
  const result: Dockerfile = { args: {}, stages: [] };
  for (const line of logical) {
    if (line === '') continue;
    const [keyword = '', ...rest] = line.split(' ');
    const args = rest.join(' ');
    const upper = keyword.toUpperCase();
    if (upper === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (m === null) throw new Error(`cannot read "${line}"`);
      result.stages.push({ from: m[1]!, ...(m[2] !== undefined ? { name: m[2] } : {}), instructions: [] });
    } else if (result.stages.length === 0) {
      if (upper !== 'ARG') throw new Error(`"${line}" comes before the first FROM`);
      const [name = '', value = ''] = args.split('=');
      result.args[name] = value;
    } else {
      result.stages.at(-1)!.instructions.push({ keyword: upper, args });
    }
  }
  return result;
}
