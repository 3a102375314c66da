/**
 * The data dir holds users.csv, the broadcast queue and the TLS identity. One server at a
 * time, and the proof of "a server is running here" must die with that server.
 *
 * A pid in a file is no such proof: after a crash the pid is reused (in a container, pid 1
 * or a low pid is almost always alive), so `kill(pid, 0)` says "alive" about an unrelated
 * process and the data dir stays locked for good. Node has no flock/fcntl lock, so on Linux
 * the lock is a listening socket in the abstract namespace, named after the data dir's
 * device and inode: binding it is atomic, a second bind fails with EADDRINUSE, and the
 * kernel frees it the moment its owner exits, however it exits. `server.lock` is only a note
 * for people (pid, start time, socket name); its content is never trusted. Elsewhere the old
 * pid check remains (no abstract sockets there).
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, realpath, stat, unlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';

export const LOCK_FILE = 'server.lock';

export class DataDirInUseError extends Error {
  readonly code = 'E_DATA_DIR_IN_USE';
}

export interface DataDirLock {
  /** The abstract socket's name (without the leading NUL), or null where there is none. */
  readonly socketName: string | null;
  release(): Promise<void>;
}

export async function prepareDataDir(dir: string): Promise<DataDirLock> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const lockPath = join(dir, LOCK_FILE);
  if (process.platform !== 'linux') return pidFileLock(dir, lockPath);
  const name = await lockSocketName(dir);
  let server: Server;
  try {
    server = await bindAbstract(name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    const note = (await readFile(lockPath, 'utf8').catch(() => '')).split('\n')[0]?.trim();
    throw new DataDirInUseError(
      `data dir ${dir} is in use by a running server` +
        (note ? ` (${LOCK_FILE} says: ${note})` : '') +
        `: it holds the lock socket @${name}; find it with \`ss -xlp | grep ${name}\`, stop it, or use another --data-dir`,
    );
  }
  // The note is for people; on a full disk it may not fit, and the lock holds without it.
  await writeFile(lockPath, `pid ${process.pid} started ${new Date().toISOString()} lock socket @${name}\n`, {
    mode: 0o600,
  }).catch(() => {});
  let released = false;
  return {
    socketName: name,
    release: async () => {
      if (released) return;
      released = true;
      await unlink(lockPath).catch(() => {});
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Device and inode, so that two paths to one directory (a symlink, a bind mount) share a lock. */
async function lockSocketName(dir: string): Promise<string> {
  const real = await realpath(dir);
  const info = await stat(real);
  const digest = createHash('sha256').update(`${info.dev}:${info.ino}`).digest('hex').slice(0, 32);
  return `p2p-broadcast-lock-${digest}`;
}

function bindAbstract(name: string): Promise<Server> {
  // Anyone on the machine may connect: there is nothing to say, so hang up at once.
  const server = createServer((socket) => socket.destroy());
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(`\0${name}`, () => {
      server.off('error', reject);
      server.unref(); // the lock must not keep a finished process alive
      resolve(server);
    });
  });
}

/** Not Linux: a pid in the file, taken over when that process is gone (unsound after pid reuse). */
async function pidFileLock(dir: string, lockPath: string): Promise<DataDirLock> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(lockPath, 'wx', 0o600);
      await handle.writeFile(`${process.pid}\n`).finally(() => handle.close());
      return { socketName: null, release: () => unlink(lockPath).catch(() => {}) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number((await readFile(lockPath, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
        throw new DataDirInUseError(
          `data dir ${dir} is in use by another server (pid ${owner} in ${lockPath}); if that pid is not a p2p-server, delete ${lockPath}; else stop it or use another --data-dir`,
        );
      }
      await unlink(lockPath).catch(() => {}); // stale: its owner died without cleaning up
    }
  }
  throw new Error(`could not lock data dir ${dir}: ${lockPath} keeps coming back; check what creates it`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
