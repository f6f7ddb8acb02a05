/** WGSL files are imported as text, the same way by esbuild (text loader) and vitest (plugin in vitest.config.ts). */
declare module '*.wgsl' {
  const source: string;
  export default source;
}
