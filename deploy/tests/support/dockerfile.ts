/**
 * A reader for the Dockerfile subset this repository uses: global ARGs, named stages, RUN, COPY,
 * ENV, WORKDIR, USER, EXPOSE, HEALTHCHECK, ENTRYPOINT and CMD, with flags, exec and shell forms and
 * line continuations. It is what lets the deploy checks run a Dockerfile's own steps without Docker.
 */

export interface Instruction {
  readonly keyword: string;
  /** `--name=value` flags before the arguments, e.g. `from`, `mount`, `interval`. */
  readonly flags: Readonly<Record<string, string>>;
  /** The arguments after the flags, as written. */
  readonly args: string;
  /** The arguments in exec form (`["node", "x.js"]`), when written that way. */
  readonly exec?: readonly string[];
  readonly line: number;
}

interface Stage {
  readonly name?: string;
  /** The image or earlier stage this one starts from, with global ARGs substituted. */
  readonly base: string;
  readonly instructions: readonly Instruction[];
}

export interface Dockerfile {
  readonly globalArgs: Readonly<Record<string, string>>;
  readonly stages: readonly Stage[];
}

interface LogicalLine {
  readonly text: string;
  readonly line: number;
}

function logicalLines(source: string): LogicalLine[] {
  const lines: LogicalLine[] = [];
  let pending: { text: string; line: number } | undefined;
  source.split('\n').forEach((raw, index) => {
    const trimmed = raw.trim();
    // Comments (and parser directives) may sit anywhere, even inside a continued instruction.
    if (trimmed.startsWith('#')) return;
    if (pending === undefined && trimmed === '') return;
    const continues = trimmed.endsWith('\\');
    const part = continues ? trimmed.slice(0, -1).trim() : trimmed;
    pending = pending === undefined ? { text: part, line: index + 1 } : { ...pending, text: `${pending.text} ${part}` };
    if (!continues) {
      lines.push(pending);
      pending = undefined;
    }
  });
  if (pending !== undefined) lines.push(pending);
  return lines;
}

function splitFlags(rest: string): { flags: Record<string, string>; args: string } {
  const flags: Record<string, string> = {};
  let args = rest;
  for (;;) {
    const match = /^--([a-z-]+)(?:=(\S*))?\s*/.exec(args);
    if (match === null) break;
    flags[match[1]!] = match[2] ?? 'true';
    args = args.slice(match[0].length);
  }
  return { flags, args };
}

function execForm(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  try {
    const parsed: unknown = JSON.parse(args);
    return Array.isArray(parsed) && parsed.every((item) => typeof item === 'string') ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function substitute(text: string, args: Readonly<Record<string, string>>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (whole, braced, bare) => {
    const value = args[(braced ?? bare) as string];
    return value ?? whole;
  });
}

export function parseDockerfile(source: string): Dockerfile {
  const globalArgs: Record<string, string> = {};
  const stages: { name?: string; base: string; instructions: Instruction[] }[] = [];
  for (const { text, line } of logicalLines(source)) {
    const match = /^(\S+)\s*(.*)$/.exec(text);
    if (match === null) continue;
    const keyword = match[1]!.toUpperCase();
    const rest = match[2]!;
    if (keyword === 'FROM') {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(splitFlags(rest).args);
      if (from === null) throw new Error(`line ${line}: cannot read FROM ${rest}`);
      stages.push({
        base: substitute(from[1]!, globalArgs),
        ...(from[2] === undefined ? {} : { name: from[2] }),
        instructions: [],
      });
      continue;
    }
    if (keyword === 'ARG' && stages.length === 0) {
      const [name, value] = rest.split(/=(.*)/s);
      globalArgs[name!.trim()] = (value ?? '').trim();
      continue;
    }
    const stage = stages.at(-1);
    if (stage === undefined) throw new Error(`line ${line}: ${keyword} before the first FROM`);
    const { flags, args } = splitFlags(rest);
    const exec = execForm(args);
    stage.instructions.push({ keyword, flags, args, line, ...(exec === undefined ? {} : { exec }) });
  }
  return { globalArgs, stages };
}

/** `ENV A=1 B="two words"` as pairs; the legacy `ENV A 1` form too. */
export function envPairs(args: string): Record<string, string> {
  const pairs: Record<string, string> = {};
  if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(args)) {
    const [name, ...value] = args.split(/\s+/);
    pairs[name!] = value.join(' ');
    return pairs;
  }
  for (const match of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/g)) {
    const raw = match[2]!;
    pairs[match[1]!] = /^["']/.test(raw) ? raw.slice(1, -1) : raw;
  }
  return pairs;
}

/** HEALTHCHECK's own flags, then `CMD` and the command in exec form (or shell form, wrapped in sh -c). */
export function healthcheckCommand(instruction: Instruction): string[] {
  const match = /^CMD\s+(.*)$/s.exec(instruction.args);
  if (match === null) throw new Error(`line ${instruction.line}: HEALTHCHECK without CMD`);
  return execForm(match[1]!) ?? ['/bin/sh', '-c', match[1]!];
}
