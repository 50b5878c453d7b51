// Helpers for the Node tests that run the real triaged on loopback ports
// (the counterpart of daemon.py): start it on port 0, read the ports it bound
// from DATA_DIR/ports.json, wait until it is ready; stop it with SIGTERM.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Debian's chromium, headless, as the guide starts it.
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const plainReady = async (port) => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok;

// Starts `triaged` with `args` on a fresh data dir. `ready(port)` says when
// it serves (default: plain-HTTP /readyz answers 200).
export async function startDaemon(triaged, { args = [], ready = plainReady, prefix = 'triaged-' } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const log = fs.openSync(path.join(dir, 'triaged.log'), 'a');
  const proc = spawn(triaged, ['--data-dir', dir, '--grpc-addr', '127.0.0.1:0',
    '--http-addr', '127.0.0.1:0', ...args], { stdio: ['ignore', log, log] });
  for (let i = 0; i < 300; i++) {
    const ports = path.join(dir, 'ports.json');
    if (fs.existsSync(ports)) {
      const { http: port } = JSON.parse(fs.readFileSync(ports, 'utf8'));
      try {
        if (await ready(port)) return { proc, dir, port, base: `http://127.0.0.1:${port}` };
      } catch { /* not yet */ }
    }
    await sleep(50);
  }
  proc.kill('SIGKILL');
  throw new Error('triaged did not start: ' + fs.readFileSync(path.join(dir, 'triaged.log'), 'utf8'));
}

// SIGTERM; resolves to the exit code (0: a clean shutdown).
export async function stopDaemon(d) {
  const exited = new Promise((r) => d.proc.on('exit', r));
  d.proc.kill('SIGTERM');
  return exited;
}
