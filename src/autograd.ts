// Reverse-mode autograd. An op that may need a gradient records a GradNode
// on its output: the inputs, and a closure mapping the output's gradient to
// one gradient per input (null where an input needs none). backward() walks
// the recorded graph from the output in reverse topological order, summing
// the gradients of tensors used more than once, and adds the result into
// each leaf's .grad, as PyTorch accumulates. As in PyTorch, a graph is
// spent by its backward pass: a second backward through the same nodes is
// refused (it would add the same gradients again, silently) unless the first
// was told to keep it with { retainGraph: true }.
import type { Tensor } from './tensor';
import { keep, scope } from './scope';
import { shapeString } from './shape';

export interface GradNode {
  op: string;
  inputs: Tensor[];
  backward: (grad: Tensor) => (Tensor | null)[];
  /** set once a backward pass went through without retainGraph */
  spent?: boolean;
}

export interface BackwardOptions {
  /** keep the graph for another backward pass (PyTorch's retain_graph) */
  retainGraph?: boolean;
}

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs fn without recording anything for autograd. */
export function noGrad<T>(fn: () => T): T {
  const before = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = before;
  }
}

/**
 * Attaches a backward closure to `out` if grad mode is on and an input needs
 * a gradient. The closure runs under noGrad and inside a scope, so whatever
 * temporaries it makes are disposed once its results are taken.
 */
export function record(
  op: string,
  out: Tensor,
  inputs: Tensor[],
  backward: (grad: Tensor) => (Tensor | null)[],
): Tensor {
  if (gradEnabled && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out.node = { op, inputs, backward };
  }
  return out;
}

/** Tensors reachable from `root` through nodes, inputs before the tensors made from them. */
function topologicalOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  // Iterative DFS: deep graphs (long training unrolls) must not overflow the stack.
  const stack: [Tensor, boolean][] = [[root, false]];
  while (stack.length > 0) {
    const [t, expanded] = stack.pop()!;
    if (expanded) {
      order.push(t);
      continue;
    }
    if (visited.has(t)) continue;
    visited.add(t);
    stack.push([t, true]);
    for (const input of t.node?.inputs ?? []) {
      if (input.requiresGrad && !visited.has(input)) stack.push([input, false]);
    }
  }
  return order;
}

/**
 * The backward pass from `root`, seeded with `grad` (a view of it: the pass
 * disposes its seed) or, for a scalar root, with `ones()` (Tensor.backward
 * makes it, so that this file needs no Tensor constructor).
 */
export function runBackward(root: Tensor, grad: Tensor | undefined, ones: () => Tensor, options: BackwardOptions = {}): void {
  if (!root.requiresGrad) {
    throw new Error(`backward: tensor of shape ${shapeString(root.shape)} does not require grad (no input had requiresGrad)`);
  }
  root.storageFor('backward');
  if (grad === undefined && root.size !== 1) {
    throw new Error(
      `backward: tensor of shape ${shapeString(root.shape)} is not a scalar; pass a gradient of that shape, as in t.backward(grad)`,
    );
  }
  if (grad !== undefined && grad.shape.join() !== root.shape.join()) {
    throw new Error(`backward: gradient of shape ${shapeString(grad.shape)} does not match the tensor's ${shapeString(root.shape)}`);
  }

  const order = topologicalOrder(root);
  const spent = order.find((t) => t.node?.spent);
  if (spent) {
    throw new Error(`backward: the graph through ${spent.node!.op} (output ${shapeString(spent.shape)}) was used by an earlier backward pass; ` +
      'pass { retainGraph: true } to that first backward to go through it again, as PyTorch\'s retain_graph');
  }
  if (!options.retainGraph) for (const t of order) if (t.node) t.node.spent = true;
  noGrad(() => {
    // Every gradient held in `grads` is owned by the map and disposed when used.
    const grads = new Map<Tensor, Tensor>();
    grads.set(root, keep(grad ? grad.aliasAs(grad.shape) : ones()));

    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i];
      const g = grads.get(t);
      if (!g) continue;
      grads.delete(t);
      if (!t.node) {
        accumulateLeaf(t, g);
        continue;
      }
      const node = t.node;
      const inputGrads = scope(() => node.backward(g));
      node.inputs.forEach((input, k) => {
        let ig = inputGrads[k];
        if (!ig || !input.requiresGrad) {
          if (ig && ig !== g) ig.dispose();
          return;
        }
        if (ig.shape.join() !== input.shape.join()) {
          throw new Error(
            `backward of ${node.op}: gradient of shape ${shapeString(ig.shape)} for an input of shape ${shapeString(input.shape)}`,
          );
        }
        // The same tensor may come back twice (x * x) or be g itself (add): own a view of it.
        if (ig === g || inputGrads.indexOf(ig) !== k) ig = ig.aliasAs(ig.shape);
        keep(ig);
        const before = grads.get(input);
        if (before) {
          grads.set(input, keep(before.add(ig)));
          before.dispose();
          ig.dispose();
        } else {
          grads.set(input, ig);
        }
      });
      g.dispose();
      for (const ig of inputGrads) if (ig && !isOwned(ig, grads)) ig.dispose();
    }
  });
}

function isOwned(t: Tensor, grads: Map<Tensor, Tensor>): boolean {
  for (const g of grads.values()) if (g === t) return true;
  return false;
}

function accumulateLeaf(leaf: Tensor, g: Tensor): void {
  if (leaf.grad === null || leaf.grad.disposed) {
    leaf.grad = keep(g);
  } else {
    const sum = keep(leaf.grad.add(g));
    leaf.grad.dispose();
    g.dispose();
    leaf.grad = sum;
  }
}
