/**
 * Shader reflection: the only module that imports `wgsl_reflect`. It turns
 * WGSL into plain data (entry points, bindings, uniform layouts, overrides)
 * from which bind group layouts are built and uniforms written.
 */
import { WgslReflect } from 'wgsl_reflect/wgsl_reflect.module.js';
import { GpuValidationError } from '../errors.js';

export type BindingKind = 'uniform' | 'storage' | 'read-only-storage';

/** A scalar or vector member of a uniform struct, at its reflected byte offset. */
export interface UniformField {
  name: string;
  offset: number;
  /** Scalar type: 'u32' | 'i32' | 'f32'. */
  scalar: 'u32' | 'i32' | 'f32';
  /** Number of components (1 for a scalar, 2-4 for vecN). */
  components: number;
}

export interface BindingInfo {
  group: number;
  binding: number;
  name: string;
  kind: BindingKind;
  /** For uniform bindings: the struct's byte size and fields. */
  uniformSize?: number;
  fields?: UniformField[];
}

export interface EntryPointInfo {
  name: string;
  workgroupSize: [number, number, number] | null;
  /** Names of the bindings this entry point uses. */
  uses: string[];
  overrides: string[];
}

export interface ShaderReflection {
  bindings: BindingInfo[];
  entryPoints: EntryPointInfo[];
  overrides: string[];
}

const cache = new Map<string, ShaderReflection>();

function parseField(name: string, typeName: string, offset: number, where: string): UniformField {
  const m = /^(?:vec([234])<)?(u32|i32|f32)>?$/.exec(typeName.replace(/\s/g, ''));
  const alias = /^vec([234])([uif])$/.exec(typeName);
  if (alias) {
    const scalar = ({ u: 'u32', i: 'i32', f: 'f32' } as const)[alias[2] as 'u' | 'i' | 'f'];
    return { name, offset, scalar, components: Number(alias[1]) };
  }
  if (!m) throw new GpuValidationError(`${where}: uniform member '${name}' has type ${typeName}; only u32/i32/f32 scalars and vectors are supported`);
  return { name, offset, scalar: m[2] as UniformField['scalar'], components: m[1] ? Number(m[1]) : 1 };
}

/** Reflect a WGSL module (cached by source text). `label` names the shader in errors. */
export function reflectShader(code: string, label: string): ShaderReflection {
  const hit = cache.get(code);
  if (hit) return hit;
  let r: WgslReflect;
  try {
    r = new WgslReflect(code);
  } catch (e) {
    throw new GpuValidationError(`shader ${label} could not be parsed for reflection: ${(e as Error).message}`);
  }
  const bindings: BindingInfo[] = [];
  for (const u of r.uniforms) {
    const members = u.members ?? [];
    bindings.push({
      group: u.group,
      binding: u.binding,
      name: u.name,
      kind: 'uniform',
      uniformSize: u.size,
      fields: members.map((m) => parseField(m.name, m.type.getTypeName(), m.offset, `shader ${label}`)),
    });
  }
  for (const s of r.storage) {
    if (String(s.type.name).startsWith('texture')) continue; // storage textures: not used by peir
    bindings.push({
      group: s.group,
      binding: s.binding,
      name: s.name,
      kind: s.access === 'read_write' || s.access === 'write' ? 'storage' : 'read-only-storage',
    });
  }
  bindings.sort((a, b) => a.group - b.group || a.binding - b.binding);
  const entryPoints: EntryPointInfo[] = r.entry.compute.map((f) => ({
    name: f.name,
    workgroupSize: f.workgroupSize,
    uses: f.resources.map((v) => v.name),
    overrides: f.overrides.map((o) => o.name),
  }));
  const out: ShaderReflection = { bindings, entryPoints, overrides: r.overrides.map((o) => o.name) };
  cache.set(code, out);
  return out;
}
