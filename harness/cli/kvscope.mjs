#!/usr/bin/env node
// `npx kvscope <command>`: runs the Deno program harness/cli/main.ts with WebGPU enabled.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const candidates = [
  join(root, 'node_modules', 'deno', 'deno'),
  join(root, 'node_modules', '@deno', `linux-${process.arch === 'arm64' ? 'arm64' : 'x64'}-glibc`, 'deno'),
];
const deno = candidates.find((p) => existsSync(p)) ?? 'deno';
const env = { ...process.env };
// wgpu's Vulkan loader wants a runtime dir; root shells on servers often have none.
if (!env.XDG_RUNTIME_DIR) env.XDG_RUNTIME_DIR = '/tmp';
const args = ['run', '-A', '--unstable-webgpu', '--config', join(root, 'deno.json'), join(root, 'harness', 'cli', 'main.ts'), ...process.argv.slice(2)];
const r = spawnSync(deno, args, { stdio: 'inherit', env, cwd: process.cwd() });
if (r.error) {
  console.error(`kvscope: could not start Deno (${deno}): ${r.error.message}. Run \`npm install\` in ${root} first.`);
  process.exit(127);
}
process.exit(r.status ?? 1);
