import { readdir, readFile, readlink } from 'node:fs/promises';

export interface ListeningSocket {
  readonly pid: number;
  readonly command: string;
  readonly address: string;
  readonly port: number;
}

async function parentOf(pid: number): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  // The command name is in parentheses and may hold spaces: the fields after the last ')' are plain.
  const fields = stat?.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields === undefined ? undefined : Number(fields[1]);
}

/** `pid` and every process below it. */
async function processTree(pid: number): Promise<number[]> {
  const all = (await readdir('/proc')).filter((name) => /^\d+$/.test(name)).map(Number);
  const parents = new Map(await Promise.all(all.map(async (child) => [child, await parentOf(child)] as const)));
  const tree = [pid];
  for (let index = 0; index < tree.length; index++) {
    for (const [child, parent] of parents) if (parent === tree[index]) tree.push(child);
  }
  return tree;
}

function decodeAddress(hex: string): string {
  if (hex.length === 8) {
    const bytes = Buffer.from(hex, 'hex').reverse();
    return [...bytes].join('.');
  }
  // /proc prints IPv6 as four 32-bit words, each in host (little-endian) order.
  const words = hex.match(/.{8}/g) ?? [];
  const bytes = Buffer.concat(words.map((word) => Buffer.from(word, 'hex').reverse()));
  const groups = (bytes.toString('hex').match(/.{4}/g) ?? []).map((group) => group.replace(/^0+(?=.)/, ''));
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

/**
 * Every TCP socket in LISTEN state held by `rootPid` or a process it started, read from /proc (Linux):
 * what a user would see with `ss -ltnp`.
 */
export async function listeningSockets(rootPid: number): Promise<ListeningSocket[]> {
  const owners = new Map<string, { pid: number; command: string }>();
  for (const pid of await processTree(rootPid)) {
    const command = (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '?')).trim();
    for (const fd of await readdir(`/proc/${pid}/fd`).catch(() => [] as string[])) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode !== undefined) owners.set(inode, { pid, command });
    }
  }
  const sockets: ListeningSocket[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const lines = (await readFile(table, 'utf8')).trim().split('\n').slice(1);
    for (const line of lines) {
      const [, local, , state, , , , , , inode] = line.trim().split(/\s+/);
      const owner = owners.get(inode ?? '');
      if (state !== '0A' || owner === undefined || local === undefined) continue;
      const [address, port] = local.split(':') as [string, string];
      sockets.push({ ...owner, address: decodeAddress(address), port: Number.parseInt(port, 16) });
    }
  }
  return sockets;
}
