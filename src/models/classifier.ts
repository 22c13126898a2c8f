// A small LeNet-style image classifier: two 5×5 convolutions, each followed
// by ReLU and 2×2 max pooling, then three fully connected layers. It is the
// simplest conv net worth teaching with, and it is also the feature
// extractor for scoring generated images (src/train/score.ts): features(x)
// is the 64-wide penultimate layer, the activations a Fréchet distance is
// computed on.
//
// Shapes below are for a batch of n images, C channels, size s, width w
// (for s = 32, w = 8: [n,C,32,32] → [n,8,32,32] → [n,8,16,16]
// → [n,16,12,12] → [n,16,6,6] → [n,576] → [n,128] → [n,64] → [n,classes]).
// Imports go to the modules themselves, not '../index', so the public API
// can re-export this file without an import cycle.
import type { Tensor } from '../tensor';
import { Module } from '../nn/module';
import { Conv2d, Linear } from '../nn/layers';
import { maxPool2d } from '../ops/pool';

export interface ClassifierConfig {
  channels: 1 | 3;
  /** images are size × size; at least 12 so the second conv has room */
  size: number;
  classes: number;
  /** channels of the first conv; the second has twice as many (default 8) */
  width?: number;
}

/** Width of the penultimate features, the rows score.ts compares. */
export const FEATURE_DIM = 64;

/** Side of the feature map that reaches Flatten, for input images of side `size`. */
export function flattenedSide(size: number): number {
  const afterPool1 = Math.floor(size / 2); // conv1 keeps the size (padding 2), pool halves it
  const afterConv2 = afterPool1 - 4;       // a 5×5 conv without padding loses 2 px per side
  return Math.floor(afterConv2 / 2);
}

export class Classifier extends Module {
  readonly config: Required<ClassifierConfig>;
  conv1: Conv2d;
  conv2: Conv2d;
  fc1: Linear;
  fc2: Linear;
  head: Linear;

  constructor(config: ClassifierConfig) {
    super();
    const { channels, size, classes, width = 8 } = config;
    if (channels !== 1 && channels !== 3) throw new Error(`Classifier: channels must be 1 or 3, got ${channels}`);
    if (!Number.isInteger(size) || size < 12) throw new Error(`Classifier: size must be an integer ≥ 12, got ${size}`);
    if (!Number.isInteger(classes) || classes < 2) throw new Error(`Classifier: classes must be an integer ≥ 2, got ${classes}`);
    if (!Number.isInteger(width) || width < 1) throw new Error(`Classifier: width must be a positive integer, got ${width}`);
    this.config = { channels, size, classes, width };
    const side = flattenedSide(size);
    this.conv1 = new Conv2d(channels, width, 5, { padding: 2 });
    this.conv2 = new Conv2d(width, 2 * width, 5);
    this.fc1 = new Linear(2 * width * side * side, 128);
    this.fc2 = new Linear(128, FEATURE_DIM);
    this.head = new Linear(FEATURE_DIM, classes);
  }

  /** x [n, C, s, s] → the penultimate features [n, 64]. */
  features(x: Tensor): Tensor {
    const { channels, size } = this.config;
    if (x.rank !== 4 || x.shape[1] !== channels || x.shape[2] !== size || x.shape[3] !== size) {
      throw new Error(`Classifier: expected images [n, ${channels}, ${size}, ${size}], got [${x.shape.join(', ')}]`);
    }
    let h = this.conv1.forward(x).relu();   // [n, w, s, s]
    h = maxPool2d(h, 2);                    // [n, w, s/2, s/2]
    h = this.conv2.forward(h).relu();       // [n, 2w, s/2 − 4, s/2 − 4]
    h = maxPool2d(h, 2);                    // [n, 2w, side, side], side = (s/2 − 4)/2
    h = h.flatten(1);                       // [n, 2w·side²]
    h = this.fc1.forward(h).relu();         // [n, 128]
    return this.fc2.forward(h).relu();      // [n, 64]
  }

  /** x [n, C, s, s] → logits [n, classes]. */
  override forward(x: Tensor): Tensor {
    return this.head.forward(this.features(x));
  }
}
