/** Protobuf schemas (.proto) are imported as text, like WGSL: esbuild's text loader, and the plugin in vitest.config.ts. */
declare module '*.proto' {
  const source: string;
  export default source;
}
