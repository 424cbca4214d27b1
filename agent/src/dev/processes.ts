/**
 * Runs `voice-agent` as a child process, for tests and the bench: from source through tsx when
 * this module is loaded from src/, from the build when loaded from dist/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);
const fromSource = here.endsWith('.ts');
const mainFile = resolve(dirname(here), fromSource ? '../main.ts' : '../main.js');
/** The repository root (agent/{src,dist}/dev -> ../../..), where tsx resolves from. */
export const REPO_ROOT = resolve(dirname(here), '../../..');

function command(args: readonly string[]): string[] {
  return fromSource ? ['--import', 'tsx', mainFile, ...args] : [mainFile, ...args];
}

/** Only what the process needs: never the parent's REDIS_URL, LIVEKIT_* and so on by accident. */
function childEnv(env: Record<string, string>): Record<string, string> {
  const base: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  if (process.env.HOME) base.HOME = process.env.HOME;
  return { ...base, ...env };
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class VoiceAgentProcess {
  readonly child: ChildProcess;
  /** stdout lines (JSON logs, EMF records). */
  readonly stdoutLines: string[] = [];
  stdout = '';
  stderr = '';
  readonly exited: Promise<ExitStatus>;
  private waiters: Array<() => void> = [];

  constructor(args: readonly string[], env: Record<string, string>) {
    this.child = spawn(process.execPath, command(args), { cwd: REPO_ROOT, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let partial = '';
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      if (this.stdout.length < 1_000_000) this.stdout += chunk;
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      this.stdoutLines.push(...parts.filter((l) => l.length > 0));
      for (const w of this.waiters.splice(0)) w();
    });
    this.child.stdout!.on('end', () => {
      if (partial) this.stdoutLines.push(partial);
    });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  /** Parsed JSON lines of stdout (non-JSON lines skipped). */
  records(): Array<Record<string, unknown>> {
    const out: Array<Record<string, unknown>> = [];
    for (const line of this.stdoutLines) {
      try {
        out.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not a log line
      }
    }
    return out;
  }

  /** Resolves with the first JSON log record matching; rejects if the process exits first or on timeout. */
  async waitForRecord(match: (r: Record<string, unknown>) => boolean, timeoutMs = 60_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    void this.exited.then(() => {
      exited = true;
      for (const w of this.waiters.splice(0)) w();
    });
    for (;;) {
      const found = this.records().find(match);
      if (found) return found;
      if (exited || this.child.exitCode !== null) throw new Error(`voice-agent exited before the expected log line; stderr: ${this.stderr.slice(-2000)}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for a log line; stderr: ${this.stderr.slice(-2000)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 200);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<ExitStatus> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}

export function spawnVoiceAgent(args: readonly string[], env: Record<string, string>): VoiceAgentProcess {
  return new VoiceAgentProcess(args, env);
}

/** Runs a command to completion. */
export async function runVoiceAgent(args: readonly string[], env: Record<string, string>): Promise<ExitStatus & { stdout: string; stderr: string }> {
  const p = new VoiceAgentProcess(args, env);
  const [status] = await Promise.all([
    p.exited,
    new Promise((r) => p.child.stdout!.once('close', r)),
    new Promise((r) => p.child.stderr!.once('close', r)),
  ]);
  return { ...status, stdout: p.stdout, stderr: p.stderr };
}
