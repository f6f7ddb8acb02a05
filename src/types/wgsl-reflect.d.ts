/**
 * wgsl_reflect's package "main" is a CommonJS file marked as an ES module, which
 * Node refuses to load; its ES module build is imported by path instead.
 */
declare module 'wgsl_reflect/wgsl_reflect.module.js' {
  export * from 'wgsl_reflect';
}
