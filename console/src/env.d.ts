/// <reference types="vite/client" />
declare module '*.vue' {
  import type { DefineComponent } from 'vue'
  const component: DefineComponent<object, object, unknown>
  export default component
}
// An Element Plus component's stylesheet, imported for its side effect (dynamically too).
declare module 'element-plus/es/components/*/style/css'
