// Lines Dawn prints on stderr that say nothing to a user: on a machine
// without a display server (XDG_RUNTIME_DIR), and when it skips a Vulkan
// driver it cannot use (Mesa's lavapipe) before finding SwiftShader, and
// the blank lines between them.
const NOISE = [
  /XDG_RUNTIME_DIR is invalid/,
  /Vulkan shaderUniform\*ArrayDynamicIndexing required/,
  /^ - While initializing adapter/,
  /^\s+at InitializeImpl \(/,
];

export function isDawnNoise(line: string): boolean {
  return line.trim() === '' || NOISE.some((re) => re.test(line));
}
