// Starts the release server for one test, so a test can also stop it (the only way to cut the
// service worker's network too: Playwright's setOffline does not, microsoft/playwright#2311).
import { spawn, ChildProcess } from 'node:child_process';
import { expect, Page } from '@playwright/test';

export const DEMO_PASSWORD = 'fieldclose-demo';
export const DEMO = {
  manager: 'manager@demo.fieldclose.test',
  tech: 'tech1@demo.fieldclose.test',
  rep: 'rep1@demo.fieldclose.test',
  office: 'office@demo.fieldclose.test',
};

export interface RunningServer {
  url: string;
  stop(): Promise<void>;
}

export async function startServer(): Promise<RunningServer> {
  const bin = process.env.FIELDCLOSE_BIN;
  if (!bin) throw new Error('FIELDCLOSE_BIN is not set: run the e2e tests with `make e2e`');
  const child: ChildProcess = spawn(bin, [], {
    env: { ...process.env, LEPTOS_SITE_ADDR: '127.0.0.1:0', RUST_LOG: 'info,tower_http=warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const m = output.match(/listening on (http:\/\/[0-9.]+:\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`server exited with ${code}:\n${output}`)));
  });
  return {
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        // A graceful stop that hangs is a bug, but must not hang the suite.
        setTimeout(() => child.exitCode === null && child.kill('SIGKILL'), 10_000).unref();
      }),
  };
}

export async function signIn(page: Page, base: string, email: string, password = DEMO_PASSWORD) {
  await page.goto(`${base}/login`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

export async function hydrated(page: Page) {
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
}
