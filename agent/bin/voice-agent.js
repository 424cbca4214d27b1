#!/usr/bin/env node
/* global process, URL */
// npm links a workspace's bin only if the file exists at install time; dist/ is built after
// `npm install`, so the bin is this committed stub and the code is the compiled dist/main.js.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write('voice-agent: not built yet; run `npm run build` at the repository root\n');
  process.exit(1);
}
await import(main.href);
