/**
 * A file operation on the data dir that failed, saying which file and what the operator can
 * do about it. A bare "ENOSPC: no space left on device, write" names neither.
 */
import { dirname } from 'node:path';

export class StorageError extends Error {
  /** The errno code of the cause ('ENOSPC', 'EACCES', ...), if any. */
  readonly errno: string | undefined;

  constructor(
    readonly path: string,
    action: string,
    cause: unknown,
  ) {
    const errno = (cause as NodeJS.ErrnoException | undefined)?.code;
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(`could not ${action} ${path}: ${detail}; ${adviceFor(errno, path)}`, { cause });
    this.name = 'StorageError';
    this.errno = errno;
  }
}

/** Wrap `err` once: an error that already names its file passes through. */
export function storageError(err: unknown, path: string, action: string): Error {
  return err instanceof StorageError ? err : new StorageError(path, action, err);
}

export function adviceFor(errno: string | undefined, path: string): string {
  const dir = dirname(path);
  switch (errno) {
    case 'ENOSPC':
      return `the filesystem holding ${dir} is full: free space there (\`df -h ${dir}\`) and the server carries on; no data was lost`;
    case 'EDQUOT':
      return `the disk quota of the server's user is used up: raise it or free space in ${dir}`;
    case 'EACCES':
    case 'EPERM':
      return `the server's user may not do this: check the owner and mode of ${path} and ${dir} (\`ls -ld ${dir} ${path}\`)`;
    case 'EROFS':
      return `${dir} is on a read-only filesystem: remount it read-write or use another --data-dir`;
    case 'EMFILE':
    case 'ENFILE':
      return 'too many open files: raise the limit (`ulimit -n`) or lower --max-connections';
    case 'EIO':
      return 'the disk reported an I/O error: check it (`dmesg`) before restarting';
    case undefined: // not a system call's error
    default:
      return `check the disk and the permissions of ${dir}`;
  }
}
