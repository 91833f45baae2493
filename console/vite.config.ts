/// <reference types="vitest/config" />
import { fileURLToPath, URL } from 'node:url'
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'
import Components from 'unplugin-vue-components/vite'
import { ElementPlusResolver } from 'unplugin-vue-components/resolvers'
import { routePreload } from './plugins/routePreload'

// Element Plus components are imported on demand (with their CSS) where a template uses them.
const EP_COMPONENTS = (names: string[]) =>
  new RegExp(`node_modules[\\\\/]element-plus[\\\\/]es[\\\\/]components[\\\\/](${names.join('|')})[\\\\/]`)
const EP_DATE = EP_COMPONENTS(['date-picker', 'date-picker-panel', 'time-picker', 'time-select'])
const EP_PAGES_ONLY = EP_COMPONENTS([
  'table', 'table-column', 'checkbox', 'checkbox-group', 'checkbox-button', 'color-picker', 'color-picker-panel',
  'image', 'image-viewer', 'input-number', 'switch', 'descriptions', 'descriptions-item', 'drawer', 'dialog',
  'progress', 'badge', 'timeline', 'timeline-item', 'loading', 'upload', 'pagination', 'tabs', 'tab-pane',
  'popconfirm', 'tree', 'tree-select',
])
const EP_PAGES = (id: string) => EP_PAGES_ONLY.test(id) || /node_modules[\\/](@ctrl[\\/]tinycolor|normalize-wheel-es)[\\/]/.test(id)
export default defineConfig({
  base: '/console/',
  plugins: [
    vue(),
    Components({
      dts: false,
      resolvers: [ElementPlusResolver({ importStyle: 'css' })],
    }),
    routePreload([
      { paths: ['/console/login'], modules: ['src/views/login/index.vue'], signedIn: false },
      {
        paths: ['/console', '/console/dashboard'],
        modules: [
          'src/layout/BasicLayout.vue', 'src/views/dashboard/index.vue', 'src/views/dashboard/CampaignFigures.vue',
          'src/views/dashboard/ChannelFunnel.vue', 'src/views/dashboard/ActivityFigures.vue',
        ],
        signedIn: true,
      },
    ]),
  ],
  // Compile-time flags: no Options API (every component is <script setup> or setup(); Element Plus'
  // and vue-echarts' too), no devtools or hydration details in production, vue-i18n's composition
  // API only. Less code to parse, and Vue skips the Options API set-up of every component instance.
  define: {
    __VUE_OPTIONS_API__: 'false',
    __VUE_PROD_DEVTOOLS__: 'false',
    __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: 'false',
    __VUE_I18N_LEGACY_API__: 'false',
    __VUE_I18N_FULL_INSTALL__: 'false',
    __INTLIFY_PROD_DEVTOOLS__: 'false',
  },
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
    rolldownOptions: {
      output: {
        // A few vendor chunks instead of one per Element Plus component (and its CSS): the dashboard
        // asked for about 70 files, and Chromium fetches six at a time per origin over HTTP/1.1, so the
        // figures' own requests waited behind them. The login page carries no ECharts.
        codeSplitting: {
          groups: [
            { name: 'vue', test: /node_modules[\\/](@vue|vue|vue-router|pinia|vue-i18n|@intlify)[\\/]/, priority: 5 },
            { name: 'echarts', test: /node_modules[\\/](echarts|zrender|vue-echarts|tslib)[\\/]/, priority: 4 },
            // Element Plus components no login or dashboard render needs, in chunks of their own: as one
            // vendor chunk, the two routes downloaded, compiled and ran them all (the table, the colour
            // and date pickers: about half the chunk's code). The dashboard's date picker mounts once the
            // figures have drawn, from its own chunk. The rest of node_modules is captured first, so what
            // those components share with the others (a group takes its members' dependencies) stays here.
            { name: 'element-plus', test: (id: string) => /node_modules[\\/]/.test(id) && !EP_DATE.test(id) && !EP_PAGES(id), priority: 3 },
            { name: 'element-plus-date', test: EP_DATE, priority: 2 },
            { name: 'element-plus-pages', test: EP_PAGES, priority: 1 },
          ],
        },
      },
    },
  },
  test: {
    include: ['src/**/*.spec.ts'],
    environment: 'node',
  },
})
