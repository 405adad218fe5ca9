// The browser app (harness/web): adapter report and the kernel test table, on the browser's WebGPU.
import { defineConfig } from 'vite';

export default defineConfig({
  root: '.',
  server: { host: '127.0.0.1', strictPort: false },
  build: {
    outDir: 'dist/web',
    target: 'es2022',
    rollupOptions: { input: 'harness/web/index.html' },
  },
});
