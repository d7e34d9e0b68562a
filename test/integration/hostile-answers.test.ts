import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, jsonOf } from '../helpers/cli.js';
import { type Handler, startHostileServer } from '../helpers/hostile-server.js';

const scratch = mkdtempSync(join(tmpdir(), 'trimp-hostile-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** `validate --checks app-responsive` against a server, with a short HTTP timeout. */
async function healthAgainst(handler: Handler) {
  const server = await startHostileServer(handler);
  try {
    const config = join(scratch, 'config.yaml');
    writeFileSync(config, `state_dir: ${join(scratch, 'state')}\ntarget:\n  base_url: ${server.url}\n  http_timeout_ms: 800\n`);
    const result = await cli(['validate', '--checks', 'app-responsive', '--json', '--config', config]);
    expect(result.exitCode, result.stderr).toBe(1);
    return jsonOf<{ checks: { name: string; status: string; summary: string }[] }>(result).checks[0];
  } finally {
    await server.close();
  }
}

describe('an app that answers badly', () => {
  it('hangs half-way through its answer: the call ends at its timeout and says so', async () => {
    const check = await healthAgainst((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"status": "hea'); // ... and never the rest
    });
    expect(check).toMatchObject({ status: 'fail', summary: expect.stringMatching(/no complete answer within 800 ms/) });
  });

  it('streams without end: cut off at 16 MiB, not read into memory without bound', async () => {
    const check = await healthAgainst((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      const pump = () => {
        while (res.write(chunk)) {
          /* fill the socket */
        }
        res.once('drain', pump);
      };
      res.on('error', () => {});
      pump();
    });
    expect(check).toMatchObject({ status: 'fail', summary: expect.stringMatching(/larger than 16 MiB|no complete answer/) });
  });

  it('closes the connection mid-answer: said as such, one line', async () => {
    const check = await healthAgainst((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"status":');
      setTimeout(() => res.socket?.destroy(), 50);
    });
    expect(check).toMatchObject({ status: 'fail', summary: expect.stringMatching(/cannot reach the app .*answer stopped half-way/) });
    expect(check?.summary).not.toMatch(/\n/);
  });
});
