import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, statfsSync } from 'node:fs';
import { open } from 'node:fs/promises';

const CHUNK = 1024 * 1024;

/** SHA-256 of a file, read in 1 MiB chunks (flat memory whatever the size). */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, CHUNK, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
    }
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

/**
 * Copies `from` to a new file `to` (which must not exist), hashing the bytes as they pass, and
 * fsyncs it before returning: the hash is of exactly what was written and is on disk.
 */
export async function copyHashed(from: string, to: string, mode: number): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  const source = await open(from, 'r');
  let bytes = 0;
  try {
    const target = await open(to, 'wx', mode);
    try {
      const buffer = Buffer.allocUnsafe(CHUNK);
      for (;;) {
        const { bytesRead } = await source.read(buffer, 0, CHUNK, null);
        if (bytesRead === 0) break;
        const chunk = buffer.subarray(0, bytesRead);
        hash.update(chunk);
        let written = 0;
        while (written < bytesRead) written += (await target.write(chunk, written, bytesRead - written)).bytesWritten;
        bytes += bytesRead;
      }
      await target.sync();
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
  return { sha256: hash.digest('hex'), bytes };
}

/** Flushes a file's bytes, or a directory's entries (a rename or a new file is durable only then). */
export function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Bytes free for an unprivileged writer on the file system holding `path`. */
export function freeBytes(path: string): number {
  const stats = statfsSync(path);
  return stats.bavail * stats.bsize;
}

/**
 * The same SHA-256, computed on another thread: started before a `quick_check` (which holds the
 * main thread), the two read the file at once on two cores instead of one after the other.
 */
export function sha256FileInWorker(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    import('node:worker_threads')
      .then(({ Worker }) => {
        const worker = new Worker(
          `const { createHash } = require('node:crypto');
           const { openSync, readSync, closeSync } = require('node:fs');
           const { parentPort, workerData } = require('node:worker_threads');
           const hash = createHash('sha256');
           const fd = openSync(workerData, 'r');
           const buffer = Buffer.allocUnsafe(1024 * 1024);
           try {
             for (let n; (n = readSync(fd, buffer, 0, buffer.length, null)) > 0; ) hash.update(buffer.subarray(0, n));
           } finally {
             closeSync(fd);
           }
           parentPort.postMessage(hash.digest('hex'));`,
          { eval: true, workerData: path },
        );
        worker.once('message', (digest: string) => resolve(digest));
        worker.once('error', reject);
        worker.once('exit', (code) => {
          if (code !== 0) reject(new Error(`the hashing thread exited with ${code}`));
        });
      })
      .catch(reject);
  });
}
