/**
 * Typed, checked access to a node's attributes. An attribute of the wrong
 * type (strides given as one INT instead of INTS, say) or an integer that is
 * not exactly representable is a ModelFileError naming the file, the node and
 * the attribute; a missing one takes the operator's default.
 */
import { ModelFileError } from '../errors.js';
import { safeInt } from './tensor.js';
import { OnnxAttributeType, type OnnxAttribute, type OnnxGraph, type OnnxNode, type OnnxTensor } from './types.js';

const TYPE_NAMES = Object.fromEntries(Object.entries(OnnxAttributeType).map(([k, v]) => [v, k])) as Record<number, string>;

/** "node 'Conv_3' (Conv) in graph 'main'" */
export function nodeLabel(node: OnnxNode, graphPath: string): string {
  return `node '${node.name || '(unnamed)'}' (${node.op_type ?? '?'}) in graph '${graphPath}'`;
}

const utf8 = new TextDecoder();

export class NodeAttributes {
  private readonly byName = new Map<string, OnnxAttribute>();
  readonly label: string;

  constructor(
    readonly node: OnnxNode,
    graphPath: string,
    readonly file: string,
  ) {
    this.label = nodeLabel(node, graphPath);
    for (const a of node.attribute) if (a.name) this.byName.set(a.name, a);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  /** A ModelFileError about this node, for callers that check attribute values. */
  error(message: string): ModelFileError {
    return new ModelFileError(`${this.file}: ${this.label}: ${message}`);
  }

  private get(name: string, type: number, present: (a: OnnxAttribute) => boolean): OnnxAttribute | undefined {
    const a = this.byName.get(name);
    if (!a) return undefined;
    // Models written before the type field existed carry only the value: accept it when that field is present.
    const ok = a.type === undefined || a.type === OnnxAttributeType.UNDEFINED ? present(a) : a.type === type;
    if (!ok) {
      throw this.error(`attribute '${name}' must be ${TYPE_NAMES[type]}, got ${a.type === undefined ? 'no value of that type' : (TYPE_NAMES[a.type] ?? `type ${a.type}`)}`);
    }
    return a;
  }

  int(name: string, dflt: number): number;
  int(name: string): number | undefined;
  int(name: string, dflt?: number): number | undefined {
    const a = this.get(name, OnnxAttributeType.INT, (x) => x.i !== undefined);
    if (!a) return dflt;
    return safeInt(a.i ?? '0', `${this.label}: attribute '${name}'`, this.file);
  }

  ints(name: string): number[] | undefined {
    const a = this.get(name, OnnxAttributeType.INTS, (x) => x.ints.length > 0);
    return a?.ints.map((v, i) => safeInt(v, `${this.label}: attribute '${name}'[${i}]`, this.file));
  }

  float(name: string): number | undefined {
    const a = this.get(name, OnnxAttributeType.FLOAT, (x) => x.f !== undefined);
    return a ? (a.f ?? 0) : undefined;
  }

  floats(name: string): number[] | undefined {
    return this.get(name, OnnxAttributeType.FLOATS, (x) => x.floats.length > 0)?.floats;
  }

  string(name: string): string | undefined {
    const a = this.get(name, OnnxAttributeType.STRING, (x) => x.s !== undefined);
    return a ? utf8.decode(a.s ?? new Uint8Array()) : undefined;
  }

  strings(name: string): string[] | undefined {
    return this.get(name, OnnxAttributeType.STRINGS, (x) => x.strings.length > 0)?.strings.map((s) => utf8.decode(s));
  }

  tensor(name: string): OnnxTensor | undefined {
    return this.get(name, OnnxAttributeType.TENSOR, (x) => x.t !== undefined)?.t;
  }

  graph(name: string): OnnxGraph | undefined {
    return this.get(name, OnnxAttributeType.GRAPH, (x) => x.g !== undefined)?.g;
  }
}
