/// <reference types="vitest/config" />
import { fileURLToPath, URL } from 'node:url'
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'
import Components from 'unplugin-vue-components/vite'
import { ElementPlusResolver } from 'unplugin-vue-components/resolvers'

// Element Plus components are imported on demand (with their CSS) where a template uses them.
export default defineConfig({
  base: '/console/',
  plugins: [
    vue(),
    Components({
      dts: false,
      resolvers: [ElementPlusResolver({ importStyle: 'css' })],
    }),
  ],
  resolve: {
    alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) },
  },
  server: {
    proxy: { '/admin/v1': 'http://127.0.0.1:8000' },
  },
  build: {
    target: 'es2020',
    manifest: true,
    chunkSizeWarningLimit: 900,
  },
  test: {
    include: ['src/**/*.spec.ts'],
    environment: 'node',
  },
})
